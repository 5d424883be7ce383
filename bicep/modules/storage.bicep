// Storage: inputs, quarantine, the app package, the modality queues, host state,
// and the lifecycle policy shipped in lifecycle_policies/ (the file the simulator costs).
@description('Storage account name (3-24 lowercase letters and digits).')
param name string

@description('Region of the account.')
param location string

@description('Tags applied to the account.')
param tags object

@description('Container Flex Consumption deploys the app package from.')
param deploymentContainerName string

@description('Principal id of the Function App identity.')
param identityPrincipalId string

@description('Log Analytics workspace receiving queue logs (the poison-queue alert reads them).')
param workspaceId string

@minValue(1)
@maxValue(365)
@description('Days a deleted blob or container stays recoverable (billed while it does).')
param softDeleteDays int = 7

var modalityQueues = [
  'image-jobs'
  'audio-jobs'
  'text-jobs'
  'document-jobs'
  'video-jobs'
]

// Built-in role definition ids (names in the comments where they are assigned).
var storageBlobDataOwner = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
var storageQueueDataContributor = '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
var storageTableDataContributor = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  // checkov:skip=CKV_AZURE_59:Event Grid webhooks, azd deployment and the Flex host reach the account over its public endpoint; with shared keys off only Entra identities holding a role get in.
  location: location
  // checkov:skip=CKV_AZURE_35:Default-deny needs a VNet-integrated plan and private endpoints; this template targets the public Flex Consumption topology with identity-only access.
  tags: tags
  kind: 'StorageV2'
  // checkov:skip=CKV_AZURE_206:LRS on purpose: the archive tier the lifecycle policy uses is not offered on ZRS/GZRS, and raw inputs can be uploaded again.
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    defaultToOAuthAuthentication: true
    allowCrossTenantReplication: false
    // Server-side copies into the account (CopyBlob, PutBlobFromUrl) only from sources
    // in the same Entra tenant: a stolen SAS elsewhere cannot feed the pipeline.
    allowedCopyScope: 'AAD'
    publicNetworkAccess: 'Enabled'
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: softDeleteDays
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: softDeleteDays
    }
    // Off: the default policy ages inputs by modification time (they are write-once).
    lastAccessTimeTrackingPolicy: {
      enable: false
    }
  }
}

resource incoming 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: 'incoming'
  properties: {
    publicAccess: 'None'
  }
}

resource quarantine 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: 'quarantine'
  properties: {
    publicAccess: 'None'
  }
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

// Event Grid writes BlobCreated events it could not deliver here (after its retries,
// or at once on a 400/401/403/413), as JSON arrays under <SUBSCRIPTION>/<y>/<m>/<d>/<h>/;
// `prism replay-deadletter` routes their blobs again.
resource deadLetterContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: 'eventgrid-deadletter'
  properties: {
    publicAccess: 'None'
  }
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [
  for queue in modalityQueues: {
    parent: queueService
    name: queue
  }
]

// Created up front so the poison-queue alert has something to watch from day one
// (the Functions host would otherwise create them on the first failure).
resource poisonQueues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [
  for queue in modalityQueues: {
    parent: queueService
    name: '${queue}-poison'
  }
]

resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    policy: loadJsonContent('../../lifecycle_policies/default.json')
  }
  dependsOn: [
    incoming
    quarantine
  ]
}

// Queue writes and deletes go to Log Analytics: the poison-queue alert counts writes
// to `*-poison` queues.
resource queueDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'queue-logs'
  scope: queueService
  properties: {
    workspaceId: workspaceId
    logs: [
      {
        category: 'StorageWrite'
        enabled: true
      }
      {
        category: 'StorageDelete'
        enabled: true
      }
    ]
  }
}

// Storage Blob Data Owner: the Functions host keeps leases and blob-trigger receipts in
// AzureWebJobsStorage, and Flex reads its package; the ingest function moves rejected
// inputs to quarantine. The host's documented minimum for identity-based storage is Owner.
resource appBlobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, identityPrincipalId, storageBlobDataOwner)
  scope: account
  properties: {
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataOwner)
  }
}

// Storage Queue Data Contributor: queue triggers read and delete, the router enqueues.
resource appQueueContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, identityPrincipalId, storageQueueDataContributor)
  scope: account
  properties: {
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageQueueDataContributor)
  }
}

// Storage Table Data Contributor: the host's AzureWebJobsStorage table service
// (diagnostic events), as in the Flex samples.
resource appTableContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, identityPrincipalId, storageTableDataContributor)
  scope: account
  properties: {
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageTableDataContributor)
  }
}

output name string = account.name
output id string = account.id
output blobEndpoint string = account.properties.primaryEndpoints.blob
output deploymentContainerName string = deploymentContainer.name
output incomingContainerName string = incoming.name
output quarantineContainerName string = quarantine.name
output deadLetterContainerName string = deadLetterContainer.name
output imageQueueName string = queues[0].name
output audioQueueName string = queues[1].name
output textQueueName string = queues[2].name
output documentQueueName string = queues[3].name
output videoQueueName string = queues[4].name
