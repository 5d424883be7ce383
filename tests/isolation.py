"""Runs that share one local stack (tests, benchmarks) each get containers, queues and
a Cosmos DB database of their own, named after a tag."""

from __future__ import annotations

from prism.settings import Env, Settings
from prism.storage import BlobStore, MessageQueues


def own_resources(tag: str) -> dict[str, str]:
    """The app settings that name this run's own containers, queues and database."""
    return {
        Env.INCOMING_CONTAINER: f"{tag}-in",
        Env.QUARANTINE_CONTAINER: f"{tag}-q",
        Env.IMAGE_QUEUE: f"{tag}-image",
        Env.AUDIO_QUEUE: f"{tag}-audio",
        Env.TEXT_QUEUE: f"{tag}-text",
        Env.DOCUMENT_QUEUE: f"{tag}-document",
        Env.VIDEO_QUEUE: f"{tag}-video",
        Env.COSMOS_DATABASE: tag,
    }


def provision(blobs: BlobStore, queues: MessageQueues, settings: Settings) -> None:
    """Creates the incoming and quarantine containers and every modality's queue."""
    for container in (settings.incoming_container, settings.quarantine_container):
        blobs.ensure_container(container)
    for queue in settings.modality_queues.values():
        queues.ensure_queue(queue)
