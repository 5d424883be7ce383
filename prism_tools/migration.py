"""Bring stored results up to the current schema: ``prism migrate-results``.

Two jobs, one walk:

- **copy** (source ≠ target): every document of the v1 ``results`` container
  (partitioned on ``/modality``, schema 1: the text embedding as 384 JSON floats, no
  ``search`` field) is upgraded and upserted into the configured results container
  (``results-v2``, partitioned on ``/id``);
- **backfill in place** (source = target): results written before the ``search``
  field existed get one.

Upgrading a document (:func:`upgrade_document`) changes only what the schema changed:
schema 1's float embedding becomes the compact int8 form (:func:`prism.embedding.
encode_embedding`, the code the pipeline writes with), ``schema_version`` becomes 2,
and an ``ok`` result with something to be found by gets its ``search`` field from
:func:`prism.search.search_field`, the function the pipeline calls at write time (one
text-model call for an audio transcript or an image's labels; none for text). Ids,
labels, transcripts, timestamps and every other field are kept as they are; Cosmos
DB's system properties (``_rid``, ``_etag``…) are dropped, the target sets its own.

Idempotent and resumable. Ids are deterministic and kept, so writing a document twice
leaves one document; and before upgrading, each id is point-read in the target
(~1 RU): a document already current there (schema 2, with its ``search`` field or
nothing to be found by) is counted and left alone, without a model call or a write.
A run that stops halfway (a crash, or a storage fault that outlasts its retries) is
simply run again: what it wrote is skipped, nothing is lost or duplicated.

The source is walked in id order (:meth:`DocumentContainer.page_by_id`), which needs no
index beyond the one Cosmos DB always keeps on ``id`` (the v1 container has no
composite index for the listing's order) and sees documents the listing would not (a
document without ``created_at``). A document that is not a Prism result, or is
malformed, is skipped with its reason and counted; it never stops the run.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from prism.errors import PermanentError, TransientError
from prism.modality import RESULT_MODALITIES
from prism.results import (
    RESULT_ID,
    SCHEMA_VERSION,
    SCHEMA_VERSIONS,
    public_view,
)
from prism.search import SEARCH_FIELD, Embed, search_field, searchable_text
from prism.storage.documents import DocumentContainer
from prism.storage.errors import ContainerNotFoundError, StorageRequestError

# The v1 container, which the Bicep of before this schema created.
DEFAULT_SOURCE = "results"
DEFAULT_PAGE_SIZE = 100
# Attempts per storage call (a page read, a point read, an upsert) before the run stops.
DEFAULT_ATTEMPTS = 5
# Backoff between attempts: 0.5 s, 1 s, 2 s, 4 s… (at most 8 s).
FIRST_BACKOFF_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 8.0
# How many skipped documents the report names (every one is counted).
MAX_SKIPPED_LISTED = 100

T = TypeVar("T")


class NotMigratable(ValueError):
    """The document is not a Prism result, or is malformed: skipped with this reason."""


class MigrationStopped(TransientError):
    """A storage fault outlasted its retries. Nothing is half-written: run the same
    command again and it resumes (documents already migrated are skipped)."""


@dataclass(frozen=True)
class Skipped:
    id: str | None
    reason: str


@dataclass
class MigrationReport:
    """What a run did (or, with ``dry_run``, would do)."""

    source: str
    target: str
    dry_run: bool
    read: int = 0
    upgraded: int = 0  # written to the target (dry run: would be written)
    already_current: int = 0  # current in the target already: no write
    searchable_added: int = 0  # of the upgraded, those given a search field
    embedded: int = 0  # text-model calls made (dry run: that would be made)
    unsearchable: int = 0  # upgraded without a search field: the text model refused its words
    skipped: Counter[str] = field(default_factory=Counter)
    skipped_examples: list[Skipped] = field(default_factory=list)
    last_id: str | None = None  # the last source document looked at
    stopped: str | None = None  # why the run stopped before the end (None: it finished)

    def skip(self, document_id: str | None, reason: str) -> None:
        self.skipped[reason] += 1
        if len(self.skipped_examples) < MAX_SKIPPED_LISTED:
            self.skipped_examples.append(Skipped(document_id, reason))

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    @property
    def finished(self) -> bool:
        return self.stopped is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "target": self.target,
            "in_place": self.source == self.target,
            "dry_run": self.dry_run,
            "finished": self.finished,
            "stopped": self.stopped,
            "read": self.read,
            "upgraded": self.upgraded,
            "already_current": self.already_current,
            "searchable_added": self.searchable_added,
            "embedded": self.embedded,
            "unsearchable": self.unsearchable,
            "skipped": self.skipped_total,
            "skipped_by_reason": dict(sorted(self.skipped.items())),
            "skipped_examples": [{"id": s.id, "reason": s.reason} for s in self.skipped_examples],
            "last_id": self.last_id,
        }


# ---- one document ----------------------------------------------------------------------


def _check_result(document: Mapping[str, Any]) -> None:
    """NotMigratable unless ``document`` has the shape of a Prism result document."""
    document_id = document.get("id")
    if not isinstance(document_id, str) or not RESULT_ID.fullmatch(document_id):
        raise NotMigratable("not a Prism result: its id is not a result id")
    version = document.get("schema_version")
    if isinstance(version, bool) or version not in SCHEMA_VERSIONS:
        raise NotMigratable("not a Prism result: no known schema_version")
    if document.get("modality") not in RESULT_MODALITIES:
        raise NotMigratable("not a Prism result: no known modality")
    status = document.get("status")
    if status not in ("ok", "rejected"):
        raise NotMigratable("not a Prism result: status is neither ok nor rejected")
    if status == "ok" and not isinstance(document.get("result"), dict):
        raise NotMigratable("malformed: an ok result without its result object")
    if status == "rejected" and not isinstance(document.get("error"), dict):
        raise NotMigratable("malformed: a rejection without its error object")
    if not isinstance(document.get("created_at"), str):
        raise NotMigratable("malformed: no created_at (the listing orders by it)")


def _compact_embedding(stored: Any) -> dict[str, Any]:
    """A text result's embedding in the current (int8) form: schema 1's float list
    encoded as the pipeline encodes, or an already compact one checked."""
    from prism.embedding import decode_embedding, encode_embedding

    if isinstance(stored, list):
        if not all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
            for v in stored
        ):
            raise NotMigratable("malformed: the embedding is not a list of finite numbers")
        try:
            return encode_embedding(stored)
        except ValueError as exc:
            raise NotMigratable(f"malformed: the embedding cannot be encoded ({exc})") from None
    try:
        decode_embedding(stored)
    except ValueError:
        raise NotMigratable("malformed: the embedding is neither floats nor int8") from None
    return dict(stored)


def wants_search(document: Mapping[str, Any]) -> bool:
    """Whether the pipeline would give this result a ``search`` field: an ``ok`` text
    result with an embedding, or an ``ok`` audio or image result with words."""
    result = document.get("result")
    if document.get("status") != "ok" or not isinstance(result, dict):
        return False
    modality = str(document.get("modality"))
    if modality == "text":
        return isinstance(result.get("embedding"), Mapping)
    try:
        return searchable_text(modality, result) is not None
    except (KeyError, TypeError, ValueError):
        return True  # upgrading it will say what is wrong


def is_current(document: Mapping[str, Any]) -> bool:
    """Schema 2, and its ``search`` field if it has something to be found by."""
    version = document.get("schema_version")
    return (
        not isinstance(version, bool)
        and version == SCHEMA_VERSION
        and (SEARCH_FIELD in document or not wants_search(document))
    )


@dataclass(frozen=True)
class Upgrade:
    document: dict[str, Any]
    embedded: bool  # the text model was called for its words
    searchable_added: bool  # it gained a search field
    unsearchable: bool  # it wanted one, and the text model refused its words


def upgrade_document(document: Mapping[str, Any], embed: Embed | None) -> Upgrade:
    """``document`` in the current schema (see the module docstring); NotMigratable if
    it is not a Prism result or is malformed. ``embed`` (the text model) is called
    only for the words of an audio or image result lacking its search field; None
    counts the call without making it (a dry run: the field is left out)."""
    _check_result(document)
    upgraded = public_view(dict(document))
    result = upgraded.get("result")
    if upgraded["modality"] == "text" and isinstance(result, dict) and "embedding" in result:
        upgraded["result"] = result = {
            **result,
            "embedding": _compact_embedding(result["embedding"]),
        }
    upgraded["schema_version"] = SCHEMA_VERSION
    if SEARCH_FIELD in upgraded or upgraded["status"] != "ok" or not isinstance(result, dict):
        return Upgrade(upgraded, embedded=False, searchable_added=False, unsearchable=False)
    modality = str(upgraded["modality"])
    try:
        words = searchable_text(modality, result)
    except (KeyError, TypeError, ValueError):
        raise NotMigratable(f"malformed: the {modality} result's words cannot be read") from None
    needs_model = words is not None
    if embed is None:
        if needs_model:
            return Upgrade(upgraded, embedded=True, searchable_added=True, unsearchable=False)
        embed = _no_model
    try:
        found = search_field(modality, result, embed)
    except PermanentError:
        # As at write time (prism.pipeline.record): words the text model refuses leave
        # the result ok and unsearchable, never failed.
        return Upgrade(upgraded, embedded=True, searchable_added=False, unsearchable=True)
    except ValueError:
        raise NotMigratable("malformed: the embedding is not a stored embedding") from None
    if found is not None:
        upgraded[SEARCH_FIELD] = found
    return Upgrade(
        upgraded, embedded=needs_model, searchable_added=found is not None, unsearchable=False
    )


def _no_model(texts: Any) -> Any:
    raise AssertionError("no text-model call is needed for a text result")


# ---- the run -----------------------------------------------------------------------------


def with_retries(
    operation: Callable[[], T],
    what: str,
    *,
    attempts: int,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """``operation``, retried on a TransientError up to ``attempts`` times in all with
    a doubling backoff; then MigrationStopped, naming ``what`` and the last fault."""
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    delay = FIRST_BACKOFF_SECONDS
    for attempt in range(1, attempts + 1):
        try:
            return operation()
        except TransientError as exc:
            if attempt == attempts:
                raise MigrationStopped(
                    f"{what} failed {attempts} times (last: {exc.message}); nothing is "
                    "half-written: run the same command again to resume — documents "
                    "already migrated are skipped"
                ) from exc
            sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF_SECONDS)
    raise AssertionError("unreachable")


def migrate_results(
    source: DocumentContainer,
    target: DocumentContainer,
    embed: Embed | None,
    *,
    dry_run: bool = False,
    page_size: int = DEFAULT_PAGE_SIZE,
    attempts: int = DEFAULT_ATTEMPTS,
    sleep: Callable[[float], None] = time.sleep,
    progress: Callable[[MigrationReport], None] | None = None,
) -> MigrationReport:
    """Upgrade every document of ``source`` and upsert it into ``target`` (the same
    container: a backfill in place), skipping what is current there already. A dry
    run reads and counts but writes nothing and calls no model (``embed`` may be
    None). A storage fault that outlasts ``attempts`` stops the run: the report's
    ``stopped`` says why, and running again resumes."""
    if embed is None and not dry_run:
        raise ValueError("a migration that writes needs the text model (embed)")
    in_place = source is target or (source.database, source.container) == (
        target.database,
        target.container,
    )
    report = MigrationReport(source.container, target.container, dry_run)
    after: str | None = None
    try:
        while True:
            page = with_retries(
                partial(source.page_by_id, limit=page_size, after_id=after),
                f"reading {source.container} after id {after}",
                attempts=attempts,
                sleep=sleep,
            )
            if not page:
                break
            for document in page:
                _migrate_one(
                    document, target, embed, report,
                    in_place=in_place, dry_run=dry_run, attempts=attempts, sleep=sleep,
                )  # fmt: skip
                after = report.last_id = str(document.get("id"))
            if progress is not None:
                progress(report)
    except MigrationStopped as exc:
        report.stopped = exc.message
    except TransientError as exc:  # the text model's, say: nothing is half-written either
        report.stopped = f"{exc.message}; run the same command again to resume"
    except ContainerNotFoundError as exc:
        report.stopped = exc.message
    return report


def _migrate_one(
    document: dict[str, Any],
    target: DocumentContainer,
    embed: Embed | None,
    report: MigrationReport,
    *,
    in_place: bool,
    dry_run: bool,
    attempts: int,
    sleep: Callable[[float], None],
) -> None:
    report.read += 1
    document_id = document.get("id")
    shown_id = document_id if isinstance(document_id, str) else None
    try:
        _check_result(document)
    except NotMigratable as exc:
        report.skip(shown_id, str(exc))
        return
    assert isinstance(document_id, str)
    if in_place:
        base = document
    else:
        stored = with_retries(
            lambda: target.read(document_id, document_id),
            f"reading {target.container}/{document_id}",
            attempts=attempts,
            sleep=sleep,
        )
        # The target's copy is what users read now (the pipeline may have written the
        # same id since): upgrade that one when there is one.
        base = document if stored is None or _not_result(stored) else stored
    ours = in_place or base is not document  # base is the target's own copy
    if ours and is_current(base):
        report.already_current += 1
        return
    try:
        upgrade = upgrade_document(base, None if dry_run else embed)
    except NotMigratable as exc:
        report.skip(shown_id, str(exc))
        return
    report.embedded += upgrade.embedded
    if ours and upgrade.document == public_view(base):
        # Nothing would change: a result whose words the text model refuses at every
        # attempt is as current as it can be.
        report.already_current += 1
        report.unsearchable += upgrade.unsearchable
        return
    if not dry_run:
        try:
            with_retries(
                lambda: target.upsert(upgrade.document),
                f"writing {target.container}/{document_id}",
                attempts=attempts,
                sleep=sleep,
            )
        except ContainerNotFoundError:
            raise
        except StorageRequestError as exc:
            # This document only (e.g. too large for the target): the rest go on.
            report.skip(shown_id, f"refused by the target: {exc.message}")
            return
    report.upgraded += 1
    report.searchable_added += upgrade.searchable_added
    report.unsearchable += upgrade.unsearchable


def _not_result(document: Mapping[str, Any]) -> bool:
    try:
        _check_result(document)
    except NotMigratable:
        return True
    return False


__all__ = [
    "DEFAULT_ATTEMPTS",
    "DEFAULT_PAGE_SIZE",
    "DEFAULT_SOURCE",
    "MigrationReport",
    "MigrationStopped",
    "NotMigratable",
    "Skipped",
    "Upgrade",
    "is_current",
    "migrate_results",
    "upgrade_document",
    "wants_search",
    "with_retries",
]
