"""The HTTP API's typed contract: what each route takes and what it answers.

Each route's query parameters are one pydantic model (:class:`Parameters`): the route
parses its query with it, and :mod:`prism.openapi` generates the document's parameters
from the same model, so what the document says a route takes and what the route
accepts cannot drift apart. The answers are models too; the document's schemas are
generated from them, and the contract tests hold the running app to them.

A query parameter arrives as text, so every kind here says exactly which texts it
takes: a number is ASCII digits (``int`` would take ``'１０'`` and ``' 1_0 '``), a time is
an RFC 3339 date or date-time (any offset, converted to UTC), free text is bounded and
holds no control character (in a log line they would forge another).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    WithJsonSchema,
)
from pydantic_core import ErrorDetails

from prism.errors import ErrorCode, PermanentError
from prism.modality import RESULT_MODALITIES, Modality
from prism.params import KEY_PARAMETER, is_ascii_number
from prism.queries import DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT, MAX_TOKEN_CHARS, ResultFilter
from prism.results import RESULT_ID, SCHEMA_VERSIONS
from prism.search import DEFAULT_SEARCH_LIMIT, MAX_QUERY_CHARS, MAX_SEARCH_LIMIT, SearchRequest
from prism.storage.blobs import MAX_BLOB_NAME_CHARS

# The header that may carry a function key (the query's is KEY_PARAMETER).
KEY_HEADER = "x-functions-key"

STATUSES = ("ok", "rejected")

# No C0 or C1 control character, line or paragraph separator (lone surrogates cannot
# arrive: a query is UTF-8).
_PRINTABLE = r"^[^\u0000-\u001f\u007f-\u009f\u2028\u2029]*$"
# RFC 3339: a full-date, or a date-time with seconds and an offset ("T" and "Z" may be
# lower case, section 5.6).
_RFC3339 = re.compile(
    r"(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})"
    r"(?:[Tt](?P<time>[0-9]{2}:[0-9]{2}:[0-9]{2})(?P<fraction>\.[0-9]+)?"
    r"(?P<offset>[Zz]|[+-][0-9]{2}:[0-9]{2}))?"
)


def _ascii_number(raw: Any) -> Any:
    if isinstance(raw, str) and not is_ascii_number(raw):
        raise ValueError("must be a whole number written in digits 0-9")
    return raw


def stored_time(raw: Any) -> Any:
    """An RFC 3339 date (midnight UTC) or date-time (any offset) in the form result
    documents store (``2026-11-30T16:08:55.123Z``), so it compares as text with theirs.
    A leap second (``:60``) counts as the last millisecond of its minute."""
    if not isinstance(raw, str):
        return raw
    match = _RFC3339.fullmatch(raw)
    if match is None:
        raise ValueError("must be an RFC 3339 date or date-time: 2026-11-30, 2026-11-30T16:08:55Z")
    try:
        if match["time"] is None:
            moment = datetime.combine(date.fromisoformat(match["date"]), datetime.min.time(), UTC)
        else:
            leap = match["time"].endswith(":60")
            clock = match["time"][:-2] + "59" if leap else match["time"]
            fraction = "999" if leap else (match["fraction"] or ".")[1:4].ljust(3, "0")
            offset = "+00:00" if match["offset"] in "Zz" else match["offset"]
            moment = datetime.fromisoformat(f"{match['date']}T{clock}.{fraction}{offset}")
        utc = moment.astimezone(UTC)
    except ValueError:
        raise ValueError("is not a real date or time") from None
    except OverflowError:  # in UTC before year 1 or after 9999
        raise ValueError("is outside the years 1 to 9999 once in UTC") from None
    return utc.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _visible(text: str) -> str:
    """The words of a query, trimmed: there must be a letter or a digit among them."""
    if not any(character.isalnum() for character in text):
        raise ValueError("must hold a letter or a digit")
    return text.strip()


def _member_of(choices: tuple[str, ...]) -> Any:
    """A check that a text is one of ``choices``, naming them all when it is not."""

    def check(value: str) -> str:
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return value

    return AfterValidator(check)


def _choice_schema(choices: tuple[str, ...]) -> WithJsonSchema:
    return WithJsonSchema({"type": "string", "enum": list(choices)})


MODALITIES = tuple(modality.value for modality in Modality)
ERROR_CODES = tuple(code.value for code in ErrorCode)

# The kinds of parameter, each with the JSON schema the document gives it.

UtcTime = Annotated[
    str,
    BeforeValidator(stored_time),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "format": "date"},
                {"type": "string", "format": "date-time"},
            ],
            "description": "an RFC 3339 date (midnight UTC) or date-time with its offset",
        }
    ),
]
BlobName = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_BLOB_NAME_CHARS, pattern=_PRINTABLE)
]
ResultId = Annotated[str, StringConstraints(pattern=RESULT_ID.pattern)]
# An upload's or a posted file's name: any text (it is made safe before it is stored or
# logged), empty for none.
FileName = Annotated[str, StringConstraints(max_length=MAX_BLOB_NAME_CHARS)]
_TOKEN = r"^[A-Za-z0-9_-]+$"
# What a text that fails its pattern must be, in words.
_PATTERN_RULES = {
    _PRINTABLE: "must not contain control characters",
    _TOKEN: "must be letters, digits, - and _: a continuation this API issued",
}
Token = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TOKEN_CHARS, pattern=_TOKEN)]
AnyModality = Annotated[str, _member_of(MODALITIES), _choice_schema(MODALITIES)]
ResultModality = Annotated[str, _member_of(RESULT_MODALITIES), _choice_schema(RESULT_MODALITIES)]
ErrorCodeValue = Annotated[str, _member_of(ERROR_CODES), _choice_schema(ERROR_CODES)]
ListSize = Annotated[int, Field(ge=1, le=MAX_LIST_LIMIT), BeforeValidator(_ascii_number)]
SearchSize = Annotated[int, Field(ge=1, le=MAX_SEARCH_LIMIT), BeforeValidator(_ascii_number)]


class Parameters(BaseModel):
    """A route's query parameters. Unknown ones are refused: a mistyped filter
    (``modalty=text``) would otherwise list everything."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, regex_engine="python-re", use_attribute_docstrings=True
    )

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> Self:
        """The parameters of a request (the function key aside), or a coded 400 that
        names every one that is wrong and what it takes."""
        values = {name: value for name, value in params.items() if name != KEY_PARAMETER}
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            reasons = [_reason(cls, error) for error in exc.errors()]
            raise PermanentError(ErrorCode.BAD_REQUEST, "; ".join(reasons)) from None


def _reason(model: type[BaseModel], error: ErrorDetails) -> str:
    name = ".".join(str(part) for part in error["loc"])
    if error["type"] == "extra_forbidden":
        # The caller's text: echoed short (a name may be any length).
        shown = repr(name) if len(name) <= 40 else f"{name[:37]!r}..."
        return f"unknown parameter {shown}; this route takes {', '.join(model.model_fields)}"
    pattern = str(error.get("ctx", {}).get("pattern"))
    what = _PATTERN_RULES.get(pattern, error["msg"].removeprefix("Value error, "))
    return f"{name}: {what}"


class InferParameters(Parameters):
    """``POST /v1/infer``."""

    name: FileName = ""
    """The file's name: only its extension is used, as a hint."""
    modality: AnyModality | None = None
    """Skip routing and use this modality."""


class UploadParameters(Parameters):
    """``POST /v1/files``."""

    name: FileName = ""
    """The file's name (its last segment, made safe, is kept)."""


class FileParameters(Parameters):
    """``GET /v1/files``."""

    name: BlobName
    """The blob's exact name in the incoming container."""


class ListParameters(Parameters):
    """``GET /v1/results``. Every filter given must hold; ``since`` is inclusive and
    ``until`` exclusive, so a range that holds no time lists nothing."""

    modality: ResultModality | None = None
    """Only this modality (unrouted: rejected before routing)."""
    status: Annotated[str, _member_of(STATUSES), _choice_schema(STATUSES)] | None = None
    """Only ok or only rejected results."""
    error_code: ErrorCodeValue | None = None
    """Only rejections with this code."""
    since: UtcTime | None = None
    """Created at or after this time."""
    until: UtcTime | None = None
    """Created before this time."""
    blob: BlobName | None = None
    """Only results of the blob with exactly this name."""
    prefix: BlobName | None = None
    """Only results of blobs whose name starts with this."""
    limit: ListSize = DEFAULT_LIST_LIMIT
    """Results per page."""
    continuation: Token | None = None
    """The `continuation` of the previous page, with the same filters; a value of this form
    that this API did not issue for these filters is 400 invalid_continuation."""

    def result_filter(self) -> ResultFilter:
        """The filter these parameters ask for."""
        return ResultFilter(
            modality=self.modality,
            status=self.status,
            error_code=self.error_code,
            since=self.since,
            until=self.until,
            blob=self.blob,
            prefix=self.prefix,
        )


class SearchParameters(Parameters):
    """``GET /v1/search``."""

    q: Annotated[
        str,
        StringConstraints(min_length=1, max_length=MAX_QUERY_CHARS, pattern=_PRINTABLE),
        AfterValidator(_visible),
        WithJsonSchema(
            {
                "type": "string",
                "minLength": 1,
                "maxLength": MAX_QUERY_CHARS,
                # A letter or digit: \w but the underscore (Unicode, as Python reads it).
                "pattern": _PRINTABLE.replace("*$", r"*[^\W_]") + _PRINTABLE[1:],
            }
        ),
    ]
    """What to look for, in words (at least one letter or digit)."""
    modality: AnyModality | None = None
    """Only this modality."""
    since: UtcTime | None = None
    """Created at or after this time."""
    until: UtcTime | None = None
    """Created before this time."""
    limit: SearchSize = DEFAULT_SEARCH_LIMIT
    """Hits to return."""

    def request(self) -> SearchRequest:
        """The search these parameters ask for."""
        filters = ResultFilter(modality=self.modality, since=self.since, until=self.until)
        return SearchRequest(self.q, tuple(filters.conditions()), self.limit)


def query_words(raw: str, name: str = "q") -> str:
    """The words of a search from a caller (``prism search QUERY`` too), by the rule
    ``GET /api/v1/search`` applies to ``q``: trimmed, 1 to 500 characters without control
    characters, at least one letter or digit. A query of nothing but spaces, zero-width
    or other format characters, punctuation or symbols has no words to search by: its
    embedding is noise, and its nearest results arbitrary. ``name`` is what the caller
    calls it, in the message."""
    try:
        return SearchParameters.from_params({"q": raw}).q
    except PermanentError as error:
        raise PermanentError(error.code, name + error.message.removeprefix("q")) from None


# ---- answers -----------------------------------------------------------------------


class Answer(BaseModel):
    """An answer's shape. Fields an answer does not declare are a bug: refused."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


class ErrorDetail(Answer):
    code: ErrorCodeValue
    message: Annotated[str, StringConstraints(min_length=1)]


class Error(Answer):
    """Every error the API itself answers."""

    error: ErrorDetail


class Source(Answer):
    kind: Literal["blob", "http"]
    name: str
    size: Annotated[int, Field(ge=0)]
    media_type: str | None = None
    container: str | None = None
    blob: str | None = None
    etag: str | None = None


class StoredSearch(Answer):
    vector: list[int]
    words: str | None = None


class Result(Answer):
    """One result document per input (prism/results.py)."""

    id: ResultId
    schema_version: Literal[SCHEMA_VERSIONS]  # type: ignore[valid-type]
    modality: ResultModality
    status: Literal["ok", "rejected"]
    source: Source
    content_sha256: str | None = None
    model: dict[str, Any] | None = None
    timings_ms: dict[str, float] = {}
    cache: Literal["hit", "miss"] | None = None
    result: dict[str, Any] | None = None
    """The modality's result: labels (image), segments and transcript (audio), embedding
    and labels (text), pages (document), frames (video)."""
    error: ErrorDetail | None = None
    created_at: datetime
    search: StoredSearch | None = None
    """What search ranks the result by."""


class ResultList(Answer):
    """One page of results, newest first; `continuation` resumes after it (null on the
    last)."""

    results: list[Result]
    count: Annotated[int, Field(ge=0, le=MAX_LIST_LIMIT)]
    continuation: Token | None


class FileState(Answer):
    """A file of the incoming container by its name: `done` (its current version has a
    result), `pending` (none yet), or `gone` (no longer in the container: the newest
    result of its name)."""

    name: str
    state: Literal["done", "pending", "gone"]
    id: ResultId
    result: Result | None


class SearchHit(Answer):
    id: ResultId
    name: str
    """The blob's or the posted file's name."""
    modality: Modality
    score: Annotated[float, Field(ge=-1, le=1)]
    """Cosine similarity to the query."""
    matched: str
    """The words compared with the query (a transcript, labels), or `embedding` for a
    text file."""
    created_at: datetime


class SearchResults(Answer):
    """Stored results nearest in meaning to the query, best first. `backend` says how
    they were ranked: `vector` (Cosmos DB VectorDistance) or `scan` (an exact scan, the
    local emulator)."""

    query: str
    backend: Literal["vector", "scan"]
    results: list[SearchHit]
    count: Annotated[int, Field(ge=0, le=MAX_SEARCH_LIMIT)]


class Upload(Answer):
    """The file is in the incoming container; its result will have `id`."""

    id: ResultId
    blob: str
    name: str
    size: Annotated[int, Field(ge=0)]


class ModalityCounters(Answer):
    processed: Annotated[int, Field(ge=0)]
    rejected: Annotated[int, Field(ge=0)]
    cache_hits: Annotated[int, Field(ge=0)]
    p50_ms: float | None
    p95_ms: float | None


class QueueDepth(Answer):
    modality: str
    queue: str
    depth: Annotated[int, Field(ge=0)]
    poison_queue: str
    poison_depth: Annotated[int, Field(ge=0)]


class Stats(Answer):
    """Counters of the newest `window` results of each modality, and the queue depths."""

    window: Annotated[int, Field(ge=1)]
    modalities: dict[str, ModalityCounters]
    queues: list[QueueDepth]


class Health(Answer):
    """Whether each dependency answers, nothing more (details are `prism doctor`'s)."""

    status: Literal["ok", "degraded"]
    checks: dict[str, bool]


class ModelRow(Answer):
    """A manifest model joined with what its build recorded (prism.onnx.registry)."""

    name: str
    role: str
    modality: str
    version: str
    runtime_precision: str
    built: bool
    fp32_bytes: Annotated[int, Field(ge=0)] | None
    int8_bytes: Annotated[int, Field(ge=0)] | None
    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")] | None
    """The runtime graph's (or, for several, the hash of their hashes)."""
    gate: dict[str, float | int]
    """The quantization gate's measurements (empty until built)."""
    gate_thresholds: dict[str, dict[Literal["min", "max"], float] | int]
    """What each measurement must reach ({"min": x} or {"max": x}), and min_eval_items."""
    gate_passed: bool


class Models(Answer):
    models: list[ModelRow]


class LifecycleDay(Answer):
    day: Annotated[int, Field(ge=0)]
    gigabytes: dict[str, float]
    cumulative_cost: float
    baseline_cumulative_cost: float


class Lifecycle(Answer):
    """The lifecycle policy simulated over a year of the example workload beside keeping
    everything hot (prism lifecycle simulate)."""

    model_config = ConfigDict(extra="allow")  # the simulation's own summary rides along
    days: Annotated[int, Field(ge=1)]
    currency: str
    savings_percent: float | None = None
    policy_file: str
    workload_file: str
    series: list[LifecycleDay]
