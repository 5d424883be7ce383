"""Reading results back: one by id (a point read), pages of the newest that meet a
filter, and a blob's result by its name.

Pages run across partitions (results are partitioned on their own id, see
docs/scale.md) in the order of the container's composite index, newest first, and
resume after the last document of the previous page. The caller gets that position
as an opaque continuation token, which names the filter it was issued for: a token
that is garbled, forged or another query's is refused with ``invalid_continuation``
(400) before any storage call, never a 500.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from prism.errors import ErrorCode, PermanentError
from prism.results import RESULT_ID, blob_result_id, public_view, read_result
from prism.storage.blobs import BlobStore
from prism.storage.clients import RESULTS_ORDER_BY
from prism.storage.documents import DocumentContainer, Keyset, Where
from prism.storage.errors import NotFoundError, StorageRequestError

DEFAULT_LIST_LIMIT = 20
MAX_LIST_LIMIT = 500  # a page of ~1.5 KB documents stays under 1 MB
MAX_TOKEN_CHARS = 512

TOKEN_VERSION = 1
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9_-]+")
_STORED_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z")


@dataclass(frozen=True)
class ResultFilter:
    """What a listing keeps; every field optional, all of them must hold.

    ``since`` is inclusive and ``until`` exclusive (UTC, as stored: a range that holds
    no time keeps nothing); ``blob`` is an exact blob name, ``prefix`` the start of one.
    """

    modality: str | None = None
    status: str | None = None
    error_code: str | None = None
    since: str | None = None
    until: str | None = None
    blob: str | None = None
    prefix: str | None = None

    def conditions(self) -> list[Where]:
        """The filter as conditions on the indexed fields."""
        conditions = []
        if self.modality is not None:
            conditions.append(Where("modality", "=", self.modality))
        if self.status is not None:
            conditions.append(Where("status", "=", self.status))
        if self.error_code is not None:
            conditions.append(Where("error.code", "=", self.error_code))
        if self.since is not None:
            conditions.append(Where(RESULTS_ORDER_BY, ">=", self.since))
        if self.until is not None:
            conditions.append(Where(RESULTS_ORDER_BY, "<", self.until))
        if self.blob is not None:
            conditions.append(Where("source.blob", "=", self.blob))
        if self.prefix is not None:
            conditions.append(Where("source.blob", "startswith", self.prefix))
        return conditions

    def digest(self) -> str:
        """Names this filter in a continuation token (a token resumes one query only)."""
        canonical = json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def encode_continuation(last: Mapping[str, Any], filters: ResultFilter) -> str:
    """The token that resumes a listing after ``last`` (a document of its page)."""
    payload = {"v": TOKEN_VERSION, "t": last[RESULTS_ORDER_BY], "i": last["id"],
               "f": filters.digest()}  # fmt: skip
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _invalid(why: str) -> PermanentError:
    return PermanentError(
        ErrorCode.INVALID_CONTINUATION,
        f"the continuation token is not one this API issued for these filters ({why}); "
        "list again without it",
    )


def decode_continuation(token: str, filters: ResultFilter) -> Keyset:
    """Where a listing resumes; ``invalid_continuation`` for anything but a token this
    module issued for ``filters``. Its values travel as query parameters, never as
    SQL text, so even a well-formed forgery can only start a listing somewhere."""
    if not 1 <= len(token) <= MAX_TOKEN_CHARS or not _TOKEN_CHARS.fullmatch(token):
        raise _invalid("not a token")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        payload = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError):  # UnicodeDecodeError and JSONDecodeError too
        raise _invalid("not a token") from None
    if not isinstance(payload, dict) or set(payload) != {"v", "t", "i", "f"}:
        raise _invalid("not a token")
    if type(payload["v"]) is not int or payload["v"] != TOKEN_VERSION:  # True == 1
        raise _invalid("a token of another version")
    created, document_id = payload["t"], payload["i"]
    if not (isinstance(created, str) and _STORED_TIME.fullmatch(created)):
        raise _invalid("not a position")
    if not (isinstance(document_id, str) and RESULT_ID.fullmatch(document_id)):
        raise _invalid("not a position")
    if payload["f"] != filters.digest():
        raise _invalid("issued for other filters")
    return Keyset(created, document_id)


@dataclass(frozen=True)
class ResultPage:
    results: list[dict[str, Any]]
    continuation: str | None  # None: this is the last page

    def to_dict(self) -> dict[str, Any]:
        return {
            "results": self.results,
            "count": len(self.results),
            "continuation": self.continuation,
        }


def find_result(results: DocumentContainer, document_id: str) -> dict[str, Any] | None:
    """A result by id, or None. An id that cannot be a result id (the API passes on what
    a caller typed) never reaches storage; any other is one point read (~1 RU)."""
    if not RESULT_ID.match(document_id):
        return None
    document = read_result(results, document_id)
    return None if document is None else public_view(document)


def list_results(
    results: DocumentContainer,
    filters: ResultFilter | None = None,
    limit: int = DEFAULT_LIST_LIMIT,
    continuation: str | None = None,
) -> ResultPage:
    """One page of the newest results that meet ``filters``; its ``continuation``
    gives the next page (None after the last)."""
    filters = filters or ResultFilter()
    if not 1 <= limit <= MAX_LIST_LIMIT:
        raise PermanentError(
            ErrorCode.BAD_REQUEST, f"limit must be between 1 and {MAX_LIST_LIMIT}: {limit}"
        )
    after = None if continuation is None else decode_continuation(continuation, filters)
    # One more than asked tells whether another page follows, without an empty last page.
    found = results.page(
        filters.conditions(), order_by=RESULTS_ORDER_BY, limit=limit + 1, after=after
    )
    page = [public_view(document) for document in found[:limit]]
    more = len(found) > limit
    return ResultPage(page, encode_continuation(page[-1], filters) if more else None)


@dataclass(frozen=True)
class BlobLookup:
    """A blob's latest result by its name.

    ``state``: ``done`` (its current version has a result), ``pending`` (it is in the
    incoming container and its current version has none yet), or ``gone`` (no longer
    in the container — quarantined or deleted — and this is the newest result any
    version of that name got). Not found at all is None, not a lookup.
    """

    name: str
    state: str
    id: str
    result: dict[str, Any] | None


def find_latest_by_blob(
    results: DocumentContainer, blobs: BlobStore, container: str, name: str
) -> BlobLookup | None:
    """The result of the blob's current version: its properties give its etag, which
    names its result id, then one point read. A blob no longer in ``container`` falls
    back to the newest result recorded under its name (one indexed query)."""
    try:
        info = blobs.properties(container, name)
    except (NotFoundError, StorageRequestError):
        # Not there — or a name the storage service refuses outright (a trailing dot,
        # a segment over 254 characters), which no blob in the container can have.
        newest = results.page([Where("source.blob", "=", name)], order_by=RESULTS_ORDER_BY, limit=1)
        if not newest:
            return None
        document = public_view(newest[0])
        return BlobLookup(name, "gone", str(document["id"]), document)
    document_id = blob_result_id(container, name, info.etag)
    stored = read_result(results, document_id)
    if stored is None:
        return BlobLookup(name, "pending", document_id, None)
    return BlobLookup(name, "done", document_id, public_view(stored))


def file_state(
    results: DocumentContainer, blobs: BlobStore, container: str, name: str
) -> dict[str, Any]:
    """``GET /api/v1/files``: the file's state and its result; ``not_found`` if neither
    the blob nor any result of that name exists."""
    found = find_latest_by_blob(results, blobs, container, name)
    if found is None:
        raise PermanentError(ErrorCode.NOT_FOUND, "no file and no result with this name")
    return {"name": found.name, "state": found.state, "id": found.id, "result": found.result}


def every_result(results: DocumentContainer, page_size: int = 500) -> Iterator[dict[str, Any]]:
    """Every result document, newest first, a page at a time (checks and benchmarks that
    must see them all; a user lists them page by page through the API)."""
    after: Keyset | None = None
    while page := results.page(order_by=RESULTS_ORDER_BY, limit=page_size, after=after):
        yield from page
        last = page[-1]
        after = Keyset(str(last[RESULTS_ORDER_BY]), str(last["id"]))
