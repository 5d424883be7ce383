// Prism: everything one environment needs, deployed with `azd up`.
// Naming follows the azd samples: an abbreviation plus a token unique to the
// subscription, environment and region, so environments never collide.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; used in resource names and tags.')
param environmentName string

// Regions that offer Flex Consumption, as listed by the @allowed of
// Azure-Samples/functions-quickstart-python-http-azd infra/main.bicep (commit 7ed4638,
// 2025-11-24) without its early-access region eastus2euap, which ordinary
// subscriptions cannot use. Microsoft's current list:
// `az functionapp list-flexconsumption-locations`.
@minLength(1)
@allowed([
  'australiaeast'
  'australiasoutheast'
  'brazilsouth'
  'canadacentral'
  'centralindia'
  'centralus'
  'eastasia'
  'eastus'
  'eastus2'
  'francecentral'
  'germanywestcentral'
  'italynorth'
  'japaneast'
  'koreacentral'
  'northcentralus'
  'northeurope'
  'norwayeast'
  'southafricanorth'
  'southcentralus'
  'southeastasia'
  'southindia'
  'spaincentral'
  'swedencentral'
  'uaenorth'
  'uksouth'
  'ukwest'
  'westcentralus'
  'westeurope'
  'westus'
  'westus2'
  'westus3'
])
@metadata({
  azd: {
    type: 'location'
  }
})
@description('Azure region for every resource: one that offers Flex Consumption. Archive tier needs an LRS/GRS account, which every region offers.')
param location string

// Not 512: Prism's models and runtime alone take ~600 MB (PRISM_RESIDENT_MEMORY_MB).
@allowed([
  2048
  4096
])
@description('Flex Consumption instance memory in MB: 2048 gives one core, which the int8 ONNX sessions use fully.')
param instanceMemoryMB int = 2048

@minValue(1)
@maxValue(1000)
@description('Upper bound on instances across the app: a cost ceiling for a burst of uploads.')
param maximumInstanceCount int = 40

@minValue(0)
@maxValue(10)
@description('Always-ready instances for the HTTP group only: interactive calls skip the model-loading cold start; queue work tolerates it, so it gets none.')
param alwaysReadyHttpInstances int = 1

@minValue(1)
@maxValue(1000)
@description('Concurrent HTTP requests per instance. Python defaults to 1, which leaves the in-process micro-batcher nothing to batch.')
param httpPerInstanceConcurrency int = 16

@minValue(30)
@maxValue(730)
@description('Days Log Analytics keeps logs.')
param logRetentionDays int = 30

@minValue(1)
@description('Days a result document lives in Cosmos DB before TTL removes it.')
param resultsTtlDays int = 365

@allowed([
  'small'
  'large'
])
@description('Scale preset: small = serverless Cosmos DB (up to 1 TB and 5,000-20,000 RU/s per container); large = autoscale provisioned throughput up to resultsMaxThroughput. `prism plan --files-per-day N` says which a volume needs.')
param scalePreset string = 'small'

@minValue(1000)
@description('Large preset only: the results container\'s autoscale maximum RU/s; set the one `prism plan --files-per-day N` prints. Cosmos DB accepts no maximum below max(1,000, 10 RU/s per GB stored, a tenth of the highest maximum ever set), and raises a lower one by itself as the container grows, after which a deployment that sets the lower value again is refused. The default fits up to 1 TB of results.')
param resultsMaxThroughput int = 10000

@minValue(1)
@description('Days a cached prediction lives in Cosmos DB; a model version bump makes old entries unreachable anyway.')
param cacheTtlDays int = 30

@minValue(1)
@description('Failed executions per 15 minutes that page the operator.')
param failureAlertThreshold int = 5

@minValue(1)
@description('Executions per hour above which the operator is told (a cost guard against runaway uploads or retry storms).')
param executionVolumeAlertThreshold int = 100000

@description('E-mail address alerts go to; empty sends them nowhere but the portal.')
param alertEmail string = ''

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
  application: 'prism'
}

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: 'id-prism-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    workspaceName: 'log-prism-${resourceToken}'
    appInsightsName: 'appi-prism-${resourceToken}'
    location: location
    tags: tags
    retentionInDays: logRetentionDays
    identityPrincipalId: identity.outputs.principalId
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: 'stprism${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: 'app-package-${resourceToken}'
    identityPrincipalId: identity.outputs.principalId
    workspaceId: monitoring.outputs.workspaceId
  }
}

module cosmos 'modules/cosmos.bicep' = {
  name: 'cosmos'
  scope: rg
  params: {
    name: 'cosmos-prism-${resourceToken}'
    location: location
    tags: tags
    identityPrincipalId: identity.outputs.principalId
    resultsTtlDays: resultsTtlDays
    cacheTtlDays: cacheTtlDays
    scalePreset: scalePreset
    resultsMaxThroughput: resultsMaxThroughput
  }
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionapp'
  scope: rg
  params: {
    planName: 'plan-prism-${resourceToken}'
    appName: 'func-prism-${resourceToken}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    deploymentContainerName: storage.outputs.deploymentContainerName
    incomingContainerName: storage.outputs.incomingContainerName
    quarantineContainerName: storage.outputs.quarantineContainerName
    imageQueueName: storage.outputs.imageQueueName
    audioQueueName: storage.outputs.audioQueueName
    textQueueName: storage.outputs.textQueueName
    documentQueueName: storage.outputs.documentQueueName
    videoQueueName: storage.outputs.videoQueueName
    cosmosEndpoint: cosmos.outputs.endpoint
    cosmosDatabaseName: cosmos.outputs.databaseName
    resultsContainerName: cosmos.outputs.resultsContainerName
    cacheContainerName: cosmos.outputs.cacheContainerName
    appInsightsConnectionString: monitoring.outputs.appInsightsConnectionString
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    alwaysReadyHttpInstances: alwaysReadyHttpInstances
    httpPerInstanceConcurrency: httpPerInstanceConcurrency
  }
}

module eventGrid 'modules/eventgrid.bicep' = {
  name: 'eventgrid'
  scope: rg
  params: {
    name: 'evgt-prism-${resourceToken}'
    location: location
    tags: tags
    storageAccountName: storage.outputs.name
    deadLetterContainerName: storage.outputs.deadLetterContainerName
  }
}

module alerts 'modules/alerts.bicep' = {
  name: 'alerts'
  scope: rg
  params: {
    location: location
    tags: tags
    namePrefix: 'prism-${resourceToken}'
    workspaceId: monitoring.outputs.workspaceId
    appInsightsId: monitoring.outputs.appInsightsId
    failureAlertThreshold: failureAlertThreshold
    executionVolumeAlertThreshold: executionVolumeAlertThreshold
    alertEmail: alertEmail
  }
}

module workbook 'modules/workbook.bicep' = {
  name: 'workbook'
  scope: rg
  params: {
    location: location
    tags: tags
    appInsightsId: monitoring.outputs.appInsightsId
    workspaceId: monitoring.outputs.workspaceId
    instanceMemoryMB: instanceMemoryMB
  }
}

// Read by azd (as environment values) and by scripts/create-eventgrid-subscription.*.
output AZURE_LOCATION string = location
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_INCOMING_CONTAINER string = storage.outputs.incomingContainerName
output AZURE_EVENTGRID_SYSTEM_TOPIC string = eventGrid.outputs.name
output AZURE_DEADLETTER_CONTAINER string = storage.outputs.deadLetterContainerName
output AZURE_DEADLETTER_CONTAINER_ID string = eventGrid.outputs.deadLetterContainerId
output AZURE_COSMOS_ENDPOINT string = cosmos.outputs.endpoint
output AZURE_WORKBOOK_ID string = workbook.outputs.id
