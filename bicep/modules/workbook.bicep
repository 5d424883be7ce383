// The operator's view in the portal: an Application Insights workbook over the
// metrics the app emits. The layout is bicep/workbook/workbook.json and each query a
// .kql file in bicep/workbook/queries/: tests check their metric and dimension names
// against the code.
@description('Region of the workbook.')
param location string

@description('Tags applied to the workbook.')
param tags object

@description('Application Insights component the workbook belongs to and queries.')
param appInsightsId string

@description('Log Analytics workspace holding the storage queue logs (poison queues).')
param workspaceId string

@description('Flex Consumption instance memory in MB, for the cost estimate.')
param instanceMemoryMB int

@description('Name shown in the portal.')
param displayName string = 'Prism pipeline'

var layout = loadJsonContent('../workbook/workbook.json')
var queries = {
  items: loadTextContent('../workbook/queries/items.kql')
  latency: loadTextContent('../workbook/queries/latency.kql')
  rejections: loadTextContent('../workbook/queries/rejections.kql')
  cache: loadTextContent('../workbook/queries/cache.kql')
  batches: loadTextContent('../workbook/queries/batches.kql')
  poison: loadTextContent('../workbook/queries/poison.kql')
  cost: replace(loadTextContent('../workbook/queries/cost.kql'), '__INSTANCE_MEMORY_MB__', string(instanceMemoryMB))
}
var workspaceType = 'microsoft.operationalinsights/workspaces'
// The layout's header (title, parameters) as it is; each query item gets its query
// text and the resource it runs against.
var queryItems = [for item in layout.queries: union(item, {
  content: union(item.content, {
    query: queries[item.name]
    crossComponentResources: [
      item.content.resourceType == workspaceType ? workspaceId : appInsightsId
    ]
  })
})]

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  // Workbook names must be GUIDs: one per component, stable across deployments.
  name: guid(appInsightsId, 'prism-workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: displayName
    category: 'workbook'
    sourceId: appInsightsId
    serializedData: string({
      version: layout.version
      items: concat(layout.header, queryItems)
    })
    version: '1.0'
  }
}

output id string = workbook.id
