// Cosmos DB: the results and the prediction cache. Keys are disabled; the app's identity
// gets the data-plane role only. Two scale presets (`prism plan` says which a daily
// volume needs, docs/scale.md): 'small' is serverless (billed per request unit; up to
// 1 TB and 5,000-20,000 RU/s per container), 'large' is autoscale provisioned
// throughput (billed per hour for the highest RU/s, between 10 % of the maximum and the
// maximum). Moving an existing account between the two is a migration Azure runs, not
// an in-place change of this template.
@description('Cosmos DB account name.')
param name string

@description('Region of the account.')
param location string

@description('Tags applied to the account.')
param tags object

@description('Principal id of the Function App identity.')
param identityPrincipalId string

@minValue(1)
@description('Days a result document lives before TTL removes it.')
param resultsTtlDays int = 365

@allowed([
  'small'
  'large'
])
@description('Scale preset: small = serverless; large = autoscale provisioned throughput.')
param scalePreset string = 'small'

@minValue(1000)
@description('Large preset only: the results container\'s autoscale maximum RU/s; set the one `prism plan --files-per-day N` prints. Cosmos DB accepts no maximum below max(1,000, 10 RU/s per GB stored, a tenth of the highest maximum ever set), and raises a lower one by itself as the container grows, after which a deployment that sets the lower value again is refused. The default fits up to 1 TB of results.')
param resultsMaxThroughput int = 10000

@minValue(1)
@description('Days a cached prediction lives before TTL removes it.')
param cacheTtlDays int = 30

var databaseName = 'prism'
var secondsPerDay = 86400
var serverless = scalePreset == 'small'
// Autoscale settings per container on the large preset; serverless takes none.
var resultsOptions = serverless ? {} : {
  autoscaleSettings: {
    maxThroughput: resultsMaxThroughput
  }
}
// The cache is point reads and small writes: the smallest autoscale range is plenty.
// Cosmos DB's minimum (10 RU/s per GB stored) stays under 1,000 while the cache holds
// under 100 GB; `prism plan` says at which volume it would not.
var cacheOptions = serverless ? {} : {
  autoscaleSettings: {
    maxThroughput: 1000
  }
}
// Cosmos DB Built-in Data Contributor: read and write items, no account management.
var cosmosDbBuiltInDataContributor = '00000000-0000-0000-0000-000000000002'

resource account 'Microsoft.DocumentDB/databaseAccounts@2024-11-15' = {
  // checkov:skip=CKV_AZURE_99:The Flex Consumption app has no fixed outbound IP or VNet in this topology; local auth is off, so only Entra identities with the data role get in.
  name: name
  // checkov:skip=CKV_AZURE_101:Public network access is needed for the reason given for CKV_AZURE_99.
  location: location
  tags: tags
  kind: 'GlobalDocumentDB'
  properties: {
    databaseAccountOfferType: 'Standard'
    disableLocalAuth: true
    disableKeyBasedMetadataWriteAccess: true
    minimalTlsVersion: 'Tls12'
    publicNetworkAccess: 'Enabled'
    // EnableNoSQLVectorSearch: VectorDistance and the results container's vector policy
    // (GET /api/v1/search). An account created without it gets it on the next deployment.
    capabilities: serverless ? [
      {
        name: 'EnableServerless'
      }
      {
        name: 'EnableNoSQLVectorSearch'
      }
    ] : [
      {
        name: 'EnableNoSQLVectorSearch'
      }
    ]
    consistencyPolicy: {
      defaultConsistencyLevel: 'Session'
    }
    locations: [
      {
        locationName: location
        failoverPriority: 0
        isZoneRedundant: false
      }
    ]
  }
}

resource database 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases@2024-11-15' = {
  parent: account
  name: databaseName
  properties: {
    resource: {
      id: databaseName
    }
  }
}

// Results: partitioned on their own id (docs/scale.md). Every lookup the pipeline makes
// is a point read by id, writes spread over every partition, and a logical partition
// holds one document, far under the 20 GB cap at any rate. Lists are pages across
// partitions ordered by (created_at, id) descending, which Cosmos DB serves only from
// the composite index below; only the paths the queries filter on are indexed (a
// filter on an excluded path is refused; every indexed path costs write RUs).
// prism/storage/clients.py holds the same policy for the local emulator; tests/iac
// compares the two. The container is 'results-v2': a partition key cannot change in
// place, so a deployment that still has the old '/modality' container keeps it beside
// this one until it is copied over and deleted (docs/scale.md, "Moving from v1").
// Search by meaning (prism/search.py): every ok result carries `search.vector`, the 384
// int8 codes of its compact text-model embedding, ranked by VectorDistance (cosine) over
// the diskANN vector index. Cosmos DB accepts a new vector path in an existing
// container's vector embedding policy, so a 'results-v2' created before this policy
// existed takes it on the next deployment; results written before then need their
// `search` field backfilled (docs/scale.md, "Search on an existing deployment").
resource results 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@2024-11-15' = {
  parent: database
  name: 'results-v2'
  properties: {
    resource: {
      id: 'results-v2'
      partitionKey: {
        paths: [
          '/id'
        ]
        kind: 'Hash'
      }
      defaultTtl: resultsTtlDays * secondsPerDay
      vectorEmbeddingPolicy: {
        vectorEmbeddings: [
          {
            path: '/search/vector'
            dataType: 'int8'
            dimensions: 384
            distanceFunction: 'cosine'
          }
        ]
      }
      indexingPolicy: {
        indexingMode: 'consistent'
        automatic: true
        includedPaths: [
          {
            path: '/modality/?'
          }
          {
            path: '/status/?'
          }
          {
            path: '/created_at/?'
          }
          {
            path: '/error/code/?'
          }
          {
            path: '/source/blob/?'
          }
        ]
        excludedPaths: [
          {
            path: '/*'
          }
        ]
        compositeIndexes: [
          [
            {
              path: '/created_at'
              order: 'descending'
            }
            {
              path: '/id'
              order: 'descending'
            }
          ]
        ]
        vectorIndexes: [
          {
            path: '/search/vector'
            type: 'diskANN'
          }
        ]
      }
    }
    options: resultsOptions
  }
}

// The prediction cache is only ever point-read by id (the content hash), so no path is
// indexed. Indexing stays 'consistent' with every path excluded: Cosmos DB refuses a
// default TTL on a container whose indexing mode is 'none'.
resource cache 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@2024-11-15' = {
  parent: database
  name: 'predictions'
  properties: {
    resource: {
      id: 'predictions'
      partitionKey: {
        paths: [
          '/id'
        ]
        kind: 'Hash'
      }
      defaultTtl: cacheTtlDays * secondsPerDay
      indexingPolicy: {
        indexingMode: 'consistent'
        automatic: true
        includedPaths: []
        excludedPaths: [
          {
            path: '/*'
          }
        ]
      }
    }
    options: cacheOptions
  }
}

// Cosmos DB Built-in Data Contributor on the account's data plane.
resource appDataContributor 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2024-11-15' = {
  parent: account
  name: guid(account.id, identityPrincipalId, cosmosDbBuiltInDataContributor)
  properties: {
    principalId: identityPrincipalId
    roleDefinitionId: '${account.id}/sqlRoleDefinitions/${cosmosDbBuiltInDataContributor}'
    scope: account.id
  }
}

output endpoint string = account.properties.documentEndpoint
output databaseName string = database.name
output resultsContainerName string = results.name
output cacheContainerName string = cache.name
