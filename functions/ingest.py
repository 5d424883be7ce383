"""The router: an Event Grid blob trigger on the incoming container.

It receives an SDK ``BlobClient`` (not the content), so routing reads only the blob's
properties and a few kilobytes from each end, however large the file is.
"""

from __future__ import annotations

import azure.functions as func
from azurefunctions.extensions.bindings import blob

bp = func.Blueprint()


@bp.function_name("ingest")
@bp.blob_trigger(
    arg_name="client",
    path="%PRISM_INCOMING_CONTAINER%/{name}",
    connection="PRISM_STORAGE",
    source=func.BlobSource.EVENT_GRID,
)
def ingest(client: blob.BlobClient) -> None:
    from prism.pipeline import get_pipeline

    get_pipeline().ingest(client.container_name, client.blob_name)
