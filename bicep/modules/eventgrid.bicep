// The system topic of the storage account. Its subscription (BlobCreated in the
// incoming container, complete writes only) targets the blob extension's webhook,
// whose key exists only after the code is deployed, so
// scripts/create-eventgrid-subscription.sh creates it post-deploy, as the Flex samples do.
@description('System topic name.')
param name string

@description('Region of the storage account (a system topic lives with its source).')
param location string

@description('Tags applied to the topic.')
param tags object

@description('Storage account whose blob events the topic publishes.')
param storageAccountName string

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource topic 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: name
  location: location
  tags: tags
  properties: {
    source: account.id
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

output name string = topic.name
