"""The inference functions: one async queue trigger per modality queue, so each
modality scales on its own (queue-triggered functions scale one by one on Flex).

A raised exception makes the host retry the message; after ``maxDequeueCount`` it
moves to ``<queue>-poison``. Only faults outside the input raise: bad input is recorded
as a rejected result by the core, and a message that is not a valid Prism job goes
straight to the poison queue, marked unprocessable (retrying it cannot help, dropping it
would lose it, and replaying it would loop).
"""

from __future__ import annotations

import logging

import azure.functions as func

bp = func.Blueprint()
logger = logging.getLogger("prism.functions.inference")

# (function name, the app setting naming its queue, the modality it serves)
QUEUES = (
    ("infer_image", "PRISM_IMAGE_QUEUE", "image"),
    ("infer_audio", "PRISM_AUDIO_QUEUE", "audio"),
    ("infer_text", "PRISM_TEXT_QUEUE", "text"),
    ("infer_document", "PRISM_DOCUMENT_QUEUE", "document"),
    ("infer_video", "PRISM_VIDEO_QUEUE", "video"),
)


async def handle(message: func.QueueMessage, modality: str) -> None:
    from prism.jobs import InvalidJobError, Job, unprocessable_envelope
    from prism.pipeline import get_pipeline
    from prism.storage import poison_queue_name
    from prism.threads import in_storage

    pipeline = get_pipeline()
    body = message.get_body()
    try:
        job = Job.from_json(body)
        if job.modality != modality:
            raise InvalidJobError(f"a {job.modality} job on the {modality} queue")
    except InvalidJobError as error:
        # It can never succeed: poison it now, marked so that replay skips it. Storage
        # calls block, so they run off the event loop other invocations share.
        poison = poison_queue_name(pipeline.settings.modality_queues[modality])
        await in_storage(pipeline.queues.ensure_queue, poison)
        await in_storage(pipeline.queues.send, poison, unprocessable_envelope(body, error))
        logger.error("message %s refused (%s); moved to %s", message.id, error.message, poison)
        return
    logger.info(
        "job %s (attempt %s)",
        job.id,
        message.dequeue_count,
        extra={"invocation_message_id": message.id, "blob": job.blob, "result_id": job.id},
    )
    await pipeline.process(job)


def _register(function_name: str, queue_setting: str, modality: str) -> None:
    @bp.function_name(function_name)
    @bp.queue_trigger(
        arg_name="message", queue_name=f"%{queue_setting}%", connection="PRISM_STORAGE"
    )
    async def run(message: func.QueueMessage) -> None:
        await handle(message, modality)


for _name, _setting, _modality in QUEUES:
    _register(_name, _setting, _modality)
