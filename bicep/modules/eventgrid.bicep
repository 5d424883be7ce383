// The system topic of the storage account. Its subscription (BlobCreated in the
// incoming container, complete writes only) targets the blob extension's webhook,
// whose key exists only after the code is deployed, so
// scripts/create-eventgrid-subscription.sh (.ps1 on Windows) creates it post-deploy, as
// the Flex samples do. Events it cannot deliver are dead-lettered into a container with
// the topic's own identity, so an outage longer than Event Grid's 24 h of retries loses
// nothing.
@description('System topic name.')
param name string

@description('Region of the storage account (a system topic lives with its source).')
param location string

@description('Tags applied to the topic.')
param tags object

@description('Storage account whose blob events the topic publishes.')
param storageAccountName string

@description('Container in that account that receives dead-lettered events.')
param deadLetterContainerName string

// Built-in role id (tests/iac/builtin_roles.py checks it against Microsoft's list).
var storageBlobDataContributor = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' existing = {
  parent: account
  name: 'default'
}

resource deadLetterContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = {
  parent: blobService
  name: deadLetterContainerName
}

resource topic 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: name
  location: location
  tags: tags
  // Writes dead letters: shared keys are off on the account, so only an identity can.
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    source: account.id
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

// Storage Blob Data Contributor on the dead-letter container only: Event Grid writes
// the undeliverable events there as the topic's identity.
resource topicDeadLetterWriter 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(deadLetterContainer.id, topic.id, storageBlobDataContributor)
  scope: deadLetterContainer
  properties: {
    principalId: topic.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataContributor)
  }
}

output name string = topic.name
output deadLetterContainerId string = deadLetterContainer.id
