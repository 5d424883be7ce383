#!/usr/bin/env sh
# Creates (or updates) the Event Grid subscription that feeds the Event Grid-source
# blob trigger, as the Flex Consumption samples do after `azd deploy`: the endpoint
# carries the blobs_extension system key, which exists only once the code is deployed
# and the host has started, so this waits for it (a bounded poll, not one try).
# scripts/create-eventgrid-subscription.ps1 does the same on Windows.
#
# Reads the azd environment (`azd env get-values`); override FUNCTION_NAME if the
# blob-triggered function is renamed, KEY_WAIT_SECONDS (and KEY_POLL_SECONDS) to wait
# longer for the key.
set -eu

eval "$(azd env get-values)"
FUNCTION_NAME="${FUNCTION_NAME:-ingest}"
SUBSCRIPTION_NAME="${SUBSCRIPTION_NAME:-incoming-blob-created}"
KEY_WAIT_SECONDS="${KEY_WAIT_SECONDS:-600}"
KEY_POLL_SECONDS="${KEY_POLL_SECONDS:-15}"

# The host creates the key on its first start after the deploy, which on Flex can take
# minutes (cold start, package mount); until then the query answers an empty string or
# an error, so both mean "not yet".
errors=$(mktemp)
trap 'rm -f "$errors"' EXIT
start=$(date +%s)
while :; do
  if key=$(az functionapp keys list \
    --resource-group "$AZURE_RESOURCE_GROUP" \
    --name "$AZURE_FUNCTION_APP_NAME" \
    --query "systemKeys.blobs_extension" --output tsv 2>"$errors"); then
    [ -n "$key" ] && break
    why="the app has no blobs_extension key yet"
  else
    why="az: $(cat "$errors")"
  fi
  waited=$(($(date +%s) - start))
  if [ "$waited" -ge "$KEY_WAIT_SECONDS" ]; then
    echo "$why" >&2
    echo "no blobs_extension key after ${KEY_WAIT_SECONDS}s: is the app running with its blob" >&2
    echo "trigger? Open https://${AZURE_FUNCTION_APP_NAME}.azurewebsites.net once, then run" >&2
    echo "./scripts/create-eventgrid-subscription.sh again (see docs/deploy.md)." >&2
    exit 1
  fi
  echo "waiting for the blobs_extension key (${waited}s of ${KEY_WAIT_SECONDS}s)"
  sleep "$KEY_POLL_SECONDS"
done

endpoint="https://${AZURE_FUNCTION_APP_NAME}.azurewebsites.net/runtime/webhooks/blobs?functionName=Host.Functions.${FUNCTION_NAME}&code=${key}"

# Complete writes only: PutBlob and PutBlockList (SDK uploads), CopyBlob and
# PutBlobFromUrl (server-side copies), FlushWithClose (Data Lake writers). Anything else
# would fire on partial uploads. Events still undelivered after 30 attempts or 24 h go
# to the dead-letter container, written with the system topic's identity (its role is
# in bicep/modules/eventgrid.bicep); `prism replay-deadletter` routes them again.
az eventgrid system-topic event-subscription create \
  --resource-group "$AZURE_RESOURCE_GROUP" \
  --system-topic-name "$AZURE_EVENTGRID_SYSTEM_TOPIC" \
  --name "$SUBSCRIPTION_NAME" \
  --endpoint-type webhook \
  --endpoint "$endpoint" \
  --included-event-types Microsoft.Storage.BlobCreated \
  --subject-begins-with "/blobServices/default/containers/${AZURE_INCOMING_CONTAINER}/" \
  --advanced-filter data.api StringIn PutBlob PutBlockList CopyBlob PutBlobFromUrl FlushWithClose \
  --max-delivery-attempts 30 \
  --event-ttl 1440 \
  --deadletter-identity systemassigned \
  --deadletter-identity-endpoint "$AZURE_DEADLETTER_CONTAINER_ID" \
  --output none

echo "Event Grid subscription ${SUBSCRIPTION_NAME} -> ${FUNCTION_NAME} ready (dead letters: ${AZURE_DEADLETTER_CONTAINER})"
