# The Windows form of scripts/create-eventgrid-subscription.sh (azd's postdeploy hook):
# creates (or updates) the Event Grid subscription that feeds the Event Grid-source blob
# trigger. Its endpoint carries the blobs_extension system key, which exists only once
# the code is deployed and the host has started, so this waits for it (bounded).
#
# Reads the azd environment (`azd env get-values`); override FUNCTION_NAME if the
# blob-triggered function is renamed, KEY_WAIT_SECONDS (and KEY_POLL_SECONDS) to wait
# longer for the key.
$ErrorActionPreference = 'Stop'

foreach ($line in (azd env get-values)) {
    if ($line -match '^([^=]+)=(.*)$') {
        Set-Item -Path "env:$($Matches[1])" -Value ($Matches[2] -replace '^"|"$')
    }
}
$functionName = if ($env:FUNCTION_NAME) { $env:FUNCTION_NAME } else { 'ingest' }
$subscriptionName = if ($env:SUBSCRIPTION_NAME) { $env:SUBSCRIPTION_NAME } else { 'incoming-blob-created' }
$keyWaitSeconds = if ($env:KEY_WAIT_SECONDS) { [int]$env:KEY_WAIT_SECONDS } else { 600 }
$pollSeconds = if ($env:KEY_POLL_SECONDS) { [int]$env:KEY_POLL_SECONDS } else { 15 }

# The host creates the key on its first start after the deploy, which on Flex can take
# minutes (cold start, package mount); until then the query answers an empty string or
# an error, so both mean "not yet".
$clock = [System.Diagnostics.Stopwatch]::StartNew()
while ($true) {
    # stderr lines arrive as error records: keep them apart from the key.
    $output = az functionapp keys list `
        --resource-group $env:AZURE_RESOURCE_GROUP `
        --name $env:AZURE_FUNCTION_APP_NAME `
        --query 'systemKeys.blobs_extension' --output tsv 2>&1
    $failed = $LASTEXITCODE -ne 0
    $key = ($output | Where-Object { $_ -isnot [System.Management.Automation.ErrorRecord] }) -join ''
    if (-not $failed -and $key) { break }
    $waited = [int]$clock.Elapsed.TotalSeconds
    if ($waited -ge $keyWaitSeconds) {
        if ($failed) { Write-Host "az: $($output -join ' ')" } else { Write-Host 'the app has no blobs_extension key yet' }
        throw ("no blobs_extension key after ${keyWaitSeconds}s: is the app running with its " +
            "blob trigger? Open https://$($env:AZURE_FUNCTION_APP_NAME).azurewebsites.net once, " +
            'then run ./scripts/create-eventgrid-subscription.ps1 again (see docs/deploy.md).')
    }
    Write-Host "waiting for the blobs_extension key (${waited}s of ${keyWaitSeconds}s)"
    Start-Sleep -Seconds $pollSeconds
}

$endpoint = "https://$($env:AZURE_FUNCTION_APP_NAME).azurewebsites.net/runtime/webhooks/blobs" +
    "?functionName=Host.Functions.$functionName&code=$key"
# On Windows `az` is a batch file, and cmd.exe would split the URL at its '&': quote it
# once more, as the Flex samples' post-up.ps1 does.
if ($IsWindows -or $env:OS -eq 'Windows_NT') { $endpoint = "`"$endpoint`"" }

# Complete writes only: PutBlob and PutBlockList (SDK uploads), CopyBlob and
# PutBlobFromUrl (server-side copies), FlushWithClose (Data Lake writers). Events still
# undelivered after 30 attempts or 24 h go to the dead-letter container, written with
# the system topic's identity; `prism replay-deadletter` routes them again.
az eventgrid system-topic event-subscription create `
    --resource-group $env:AZURE_RESOURCE_GROUP `
    --system-topic-name $env:AZURE_EVENTGRID_SYSTEM_TOPIC `
    --name $subscriptionName `
    --endpoint-type webhook `
    --endpoint $endpoint `
    --included-event-types Microsoft.Storage.BlobCreated `
    --subject-begins-with "/blobServices/default/containers/$($env:AZURE_INCOMING_CONTAINER)/" `
    --advanced-filter data.api StringIn PutBlob PutBlockList CopyBlob PutBlobFromUrl FlushWithClose `
    --max-delivery-attempts 30 `
    --event-ttl 1440 `
    --deadletter-identity systemassigned `
    --deadletter-identity-endpoint $env:AZURE_DEADLETTER_CONTAINER_ID `
    --output none
if ($LASTEXITCODE -ne 0) { throw "az eventgrid system-topic event-subscription create failed ($LASTEXITCODE)" }

Write-Host "Event Grid subscription $subscriptionName -> $functionName ready (dead letters: $($env:AZURE_DEADLETTER_CONTAINER))"
