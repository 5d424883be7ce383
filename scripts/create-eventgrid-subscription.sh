#!/usr/bin/env sh
# Creates (or updates) the Event Grid subscription that feeds the Event Grid-source
# blob trigger, as the Flex Consumption samples do after `azd deploy`: the endpoint
# carries the blobs_extension system key, which exists only once the code is deployed.
#
# Reads the azd environment (`azd env get-values`); override FUNCTION_NAME if the
# blob-triggered function is renamed.
set -eu

eval "$(azd env get-values)"
FUNCTION_NAME="${FUNCTION_NAME:-ingest}"
SUBSCRIPTION_NAME="${SUBSCRIPTION_NAME:-incoming-blob-created}"

key=$(az functionapp keys list \
  --resource-group "$AZURE_RESOURCE_GROUP" \
  --name "$AZURE_FUNCTION_APP_NAME" \
  --query "systemKeys.blobs_extension" --output tsv)
if [ -z "$key" ]; then
  echo "no blobs_extension key yet: is the app deployed with its blob trigger?" >&2
  exit 1
fi

endpoint="https://${AZURE_FUNCTION_APP_NAME}.azurewebsites.net/runtime/webhooks/blobs?functionName=Host.Functions.${FUNCTION_NAME}&code=${key}"

# Complete writes only: PutBlob and PutBlockList (SDK uploads), CopyBlob, and
# FlushWithClose (Data Lake writers). Anything else would fire on partial uploads.
az eventgrid system-topic event-subscription create \
  --resource-group "$AZURE_RESOURCE_GROUP" \
  --system-topic-name "$AZURE_EVENTGRID_SYSTEM_TOPIC" \
  --name "$SUBSCRIPTION_NAME" \
  --endpoint-type webhook \
  --endpoint "$endpoint" \
  --included-event-types Microsoft.Storage.BlobCreated \
  --subject-begins-with "/blobServices/default/containers/${AZURE_INCOMING_CONTAINER}/" \
  --advanced-filter data.api StringIn PutBlob PutBlockList CopyBlob FlushWithClose \
  --max-delivery-attempts 30 \
  --event-ttl 1440 \
  --output none

echo "Event Grid subscription ${SUBSCRIPTION_NAME} -> ${FUNCTION_NAME} ready"
