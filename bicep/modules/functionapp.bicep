// The Function App on Flex Consumption. Every connection is identity-based: the
// settings name service URIs and the identity's client id, never a key.
@description('Flex Consumption plan name.')
param planName string

@description('Function App name.')
param appName string

@description('Region of the plan and the app.')
param location string

@description('Tags applied to both; the app also gets the azd service tag.')
param tags object

@description('Resource id of the user-assigned identity the app runs as.')
param identityId string

@description('Client id of that identity, for identity-based connections.')
param identityClientId string

@description('Storage account for the host, the inputs and the queues.')
param storageAccountName string

@description('Container holding the deployment package.')
param deploymentContainerName string

@description('Container inputs are uploaded to.')
param incomingContainerName string

@description('Container rejected inputs are moved to.')
param quarantineContainerName string

@description('Queue of image jobs.')
param imageQueueName string

@description('Queue of audio jobs.')
param audioQueueName string

@description('Queue of text jobs.')
param textQueueName string

@description('Queue of document (PDF) jobs.')
param documentQueueName string

@description('Queue of video jobs.')
param videoQueueName string

@description('Cosmos DB account endpoint.')
param cosmosEndpoint string

@description('Cosmos DB database name.')
param cosmosDatabaseName string

@description('Cosmos DB container of results.')
param resultsContainerName string

@description('Cosmos DB container of cached predictions.')
param cacheContainerName string

@description('Application Insights connection string (not a secret: ingestion needs an Entra token).')
param appInsightsConnectionString string

// Not 512: Prism's models and runtime alone take ~600 MB (PRISM_RESIDENT_MEMORY_MB).
@allowed([
  2048
  4096
])
@description('Instance memory in MB (2048 = one core).')
param instanceMemoryMB int = 2048

@minValue(1)
@maxValue(1000)
@description('Maximum instances for the whole app.')
param maximumInstanceCount int = 40

@minValue(0)
@description('Always-ready instances of the HTTP group.')
param alwaysReadyHttpInstances int = 1

@minValue(1)
@description('Concurrent HTTP requests per instance.')
param httpPerInstanceConcurrency int = 16

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

var blobUri = account.properties.primaryEndpoints.blob
var queueUri = account.properties.primaryEndpoints.queue
var tableUri = account.properties.primaryEndpoints.table
// ONNX Runtime threads per session: the instance's core share (2048 MB = 1 core).
var intraOpThreads = instanceMemoryMB == 4096 ? 2 : 1

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  // checkov:skip=CKV_AZURE_225:Zone redundancy on FC1 is regional and priced per always-ready instance; at-least-once delivery lets failed work retry after a zonal outage.
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource app 'Microsoft.Web/sites@2024-04-01' = {
  name: appName
  // checkov:skip=CKV_AZURE_17:Client certificates are not used by the HTTP API, which is called with function keys over TLS 1.2.
  location: location
  // checkov:skip=CKV_AZURE_212:Flex Consumption scales out by instance count (maximumInstanceCount), not by a minimum worker count.
  tags: union(tags, {
    'azd-service-name': 'api'
  })
  // checkov:skip=CKV_AZURE_222:The app must be reachable publicly: Event Grid delivers blob events to its webhook and clients call the HTTP API.
  kind: 'functionapp,linux'
  // checkov:skip=CKV_AZURE_213:Flex Consumption has no App Service health-check probe; the platform replaces failed instances itself.
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    siteConfig: {
      minTlsVersion: '1.2'
      // The SCM endpoint (azd publishes through it) takes the same TLS floor.
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      appSettings: [
        {
          name: 'AzureWebJobsStorage__credential'
          value: 'managedidentity'
        }
        {
          name: 'AzureWebJobsStorage__clientId'
          value: identityClientId
        }
        {
          name: 'AzureWebJobsStorage__blobServiceUri'
          value: blobUri
        }
        {
          name: 'AzureWebJobsStorage__queueServiceUri'
          value: queueUri
        }
        {
          name: 'AzureWebJobsStorage__tableServiceUri'
          value: tableUri
        }
        {
          name: 'PRISM_STORAGE__credential'
          value: 'managedidentity'
        }
        {
          name: 'PRISM_STORAGE__clientId'
          value: identityClientId
        }
        {
          name: 'PRISM_STORAGE__blobServiceUri'
          value: blobUri
        }
        {
          name: 'PRISM_STORAGE__queueServiceUri'
          value: queueUri
        }
        {
          name: 'PRISM_INCOMING_CONTAINER'
          value: incomingContainerName
        }
        {
          name: 'PRISM_QUARANTINE_CONTAINER'
          value: quarantineContainerName
        }
        {
          name: 'PRISM_IMAGE_QUEUE'
          value: imageQueueName
        }
        {
          name: 'PRISM_AUDIO_QUEUE'
          value: audioQueueName
        }
        {
          name: 'PRISM_TEXT_QUEUE'
          value: textQueueName
        }
        {
          name: 'PRISM_DOCUMENT_QUEUE'
          value: documentQueueName
        }
        {
          name: 'PRISM_VIDEO_QUEUE'
          value: videoQueueName
        }
        {
          name: 'PRISM_COSMOS__accountEndpoint'
          value: cosmosEndpoint
        }
        {
          name: 'PRISM_COSMOS__credential'
          value: 'managedidentity'
        }
        {
          name: 'PRISM_COSMOS__clientId'
          value: identityClientId
        }
        {
          name: 'PRISM_COSMOS_DATABASE'
          value: cosmosDatabaseName
        }
        {
          name: 'PRISM_RESULTS_CONTAINER'
          value: resultsContainerName
        }
        {
          name: 'PRISM_CACHE_CONTAINER'
          value: cacheContainerName
        }
        {
          name: 'PRISM_INTRA_OP_THREADS'
          value: string(intraOpThreads)
        }
        // The memory budget files share (prism.budget) follows the instance size.
        {
          name: 'PRISM_INSTANCE_MEMORY_MB'
          value: string(instanceMemoryMB)
        }
        // glibc's allocator, read by the worker process at start: a block of 1 MB or more
        // is mapped on its own and returned when freed, and two arenas serve every thread.
        // With the defaults memory a file freed stayed with the process: docs/budgets.md.
        {
          name: 'MALLOC_ARENA_MAX'
          value: '2'
        }
        {
          name: 'MALLOC_MMAP_THRESHOLD_'
          value: '1048576'
        }
        // Micro-batching per modality (defaults from the benchmark, see README
        // "Performance"); one model call in flight per core the instance owns.
        {
          name: 'PRISM_BATCHES_IN_FLIGHT'
          value: string(intraOpThreads)
        }
        {
          name: 'PRISM_IMAGE_BATCH_SIZE'
          value: '1'
        }
        {
          name: 'PRISM_IMAGE_BATCH_WAIT_MS'
          value: '0'
        }
        {
          name: 'PRISM_AUDIO_BATCH_SIZE'
          value: '1'
        }
        {
          name: 'PRISM_AUDIO_BATCH_WAIT_MS'
          value: '0'
        }
        {
          name: 'PRISM_TEXT_BATCH_SIZE'
          value: '16'
        }
        {
          name: 'PRISM_TEXT_BATCH_WAIT_MS'
          value: '0'
        }
        {
          name: 'PRISM_TEXT_BATCH_MIN_BACKLOG'
          value: '8'
        }
        {
          name: 'PRISM_BATCH_QUEUE_LIMIT'
          value: '256'
        }
        {
          name: 'PRISM_CACHE_ENTRIES'
          value: '2048'
        }
        // Search ranks with Cosmos DB's vector index, which cosmos.bicep declares on the
        // results container (the local emulator has none and scans instead).
        {
          name: 'PRISM_SEARCH'
          value: 'vector'
        }
        // Only audio, documents (OCR costs seconds a page) and videos look predictions
        // up in Cosmos DB: for images and text the model costs less than a lookup and a
        // miss's entry write (bench/cache.py).
        {
          name: 'PRISM_SHARED_CACHE'
          value: 'audio;document;video'
        }
        {
          name: 'AZURE_CLIENT_ID'
          value: identityClientId
        }
        {
          name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
          value: appInsightsConnectionString
        }
        {
          name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
          value: 'Authorization=AAD;ClientId=${identityClientId}'
        }
      ]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${blobUri}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
        alwaysReady: [
          {
            name: 'http'
            instanceCount: alwaysReadyHttpInstances
          }
        ]
        triggers: {
          http: {
            perInstanceConcurrency: httpPerInstanceConcurrency
          }
        }
      }
      runtime: {
        name: 'python'
        version: '3.13'
      }
    }
  }
}

// No publishing passwords: FTP and SCM basic authentication are off, so deployments
// (azd included) authenticate with Entra tokens only.
resource ftpBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: app
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: app
  name: 'scm'
  properties: {
    allow: false
  }
}

output name string = app.name
output id string = app.id
