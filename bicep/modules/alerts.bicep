// Alerts an operator acts on: inputs that failed five times (poison queues), failing
// executions, and an execution volume far above normal (a cost guard).
@description('Region of the alert rules.')
param location string

@description('Tags applied to the alerts.')
param tags object

@description('Prefix of every alert name.')
param namePrefix string

@description('Log Analytics workspace holding the storage queue logs.')
param workspaceId string

@description('Application Insights component holding the function executions.')
param appInsightsId string

@minValue(1)
@description('Failed executions per 15 minutes that raise the failure alert.')
param failureAlertThreshold int = 5

@minValue(1)
@description('Executions per hour that raise the volume alert.')
param executionVolumeAlertThreshold int = 100000

@description('E-mail address the alerts go to; empty means portal only.')
param alertEmail string = ''

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = if (!empty(alertEmail)) {
  name: '${namePrefix}-operators'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'prism-ops'
    enabled: true
    emailReceivers: [
      {
        name: 'operator'
        emailAddress: alertEmail
        useCommonAlertSchema: true
      }
    ]
  }
}

var actions = empty(alertEmail) ? [] : [
  actionGroup.id
]

// Every message written to a *-poison queue is an input the pipeline gave up on.
// StorageQueueLogs exists in the workspace only once the queue logs' diagnostic setting
// has sent its first rows, and Azure validates a rule's query when it creates the rule:
// in a deployment that creates the workspace too, validation would refuse the rule.
resource poisonMessages 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${namePrefix}-poison-messages'
  location: location
  tags: tags
  properties: {
    displayName: 'Prism: messages moved to a poison queue'
    severity: 2
    enabled: true
    scopes: [
      workspaceId
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT15M'
    criteria: {
      allOf: [
        {
          query: 'StorageQueueLogs | where OperationName == "PutMessage" and ObjectKey contains "-poison"'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    skipQueryValidation: true
    actions: {
      actionGroups: actions
    }
  }
}

resource functionFailures 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${namePrefix}-function-failures'
  location: location
  tags: tags
  properties: {
    displayName: 'Prism: failing function executions'
    severity: 2
    enabled: true
    scopes: [
      appInsightsId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      allOf: [
        {
          query: 'requests | where success == false'
          timeAggregation: 'Count'
          operator: 'GreaterThanOrEqual'
          threshold: failureAlertThreshold
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: {
      actionGroups: actions
    }
  }
}

resource executionVolume 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${namePrefix}-execution-volume'
  location: location
  tags: tags
  properties: {
    displayName: 'Prism: execution volume above the expected ceiling'
    severity: 3
    enabled: true
    scopes: [
      appInsightsId
    ]
    evaluationFrequency: 'PT1H'
    windowSize: 'PT1H'
    criteria: {
      allOf: [
        {
          query: 'requests'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: executionVolumeAlertThreshold
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: {
      actionGroups: actions
    }
  }
}
