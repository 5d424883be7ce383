"""One input end to end, in named stages, shared by the blob/queue path and the HTTP path.

- **ingest** (:mod:`.ingest`, blob event): route from properties and ranged reads → a
  job on the modality's queue, or a rejected result and the blob moved to quarantine
  (:mod:`.quarantine`).
- **process** (:mod:`.process`, queue message): already done? → what the file will cost,
  reserved from the instance's budget → download that blob version → predict → record.
- **predict** (:mod:`.predict`): sha256 and model → prediction cache → single flight →
  micro-batch → the modality's decode → validate → preprocess → infer → postprocess.
- **record** (:mod:`.record`): the result document, written once; the first write stands.
- **HTTP inference** (:mod:`.http_inference`): route (or the given modality) → already
  done? → budget, refused at once when spent → the same predict and record.

:mod:`.assembly` wires the stages over one set of clients into the process's
:class:`Pipeline`.

Failure semantics: a :class:`~prism.errors.PermanentError` (bad input) becomes a
rejected result and is never retried; a :class:`~prism.errors.TransientError`
propagates so the queue redelivers, and after ``maxDequeueCount`` the message lands in
``<queue>-poison``. Result ids are deterministic, so a redelivered job finds its result
and stops, and of two workers racing on one input the second's create fails (409) and
it keeps the first's result.
"""

from prism.pipeline.assembly import Pipeline, build_pipeline, get_pipeline

__all__ = ["Pipeline", "build_pipeline", "get_pipeline"]
