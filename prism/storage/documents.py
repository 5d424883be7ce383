"""Cosmos DB containers of JSON documents: results and the prediction cache.

Only what both Azure Cosmos DB and the local emulator do: point reads, upserts,
conditional creates (409), etag-conditioned replaces (412), parameterised queries in
one partition (:meth:`DocumentContainer.query`, which always carries the partition-key
predicate: the emulator ignores the partition key of a query that lacks one), and
pages across partitions (:meth:`DocumentContainer.page`) ordered by a field and the id,
resumed after the last (field, id) a page ended on (keyset paging). No TTL (the emulator
stores it and never applies it), no GROUP BY/DISTINCT/OFFSET.

What real Cosmos DB demands and the emulator does not check is kept here and in the
container's published layout (:mod:`prism.storage.clients`): an ORDER BY on two fields
needs a composite index in exactly that order, and a filter on a path excluded from
indexing is refused. Both are checked offline against the Bicep by tests/iac.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from azure.core import MatchConditions
from azure.cosmos import PartitionKey
from azure.cosmos.exceptions import CosmosResourceExistsError, CosmosResourceNotFoundError

from prism.storage.errors import translated

if TYPE_CHECKING:
    from azure.cosmos import ContainerProxy, CosmosClient

# One query at a time per process: the sync Cosmos DB SDK shares a query's response
# headers between threads (seen here: "OrderedDict mutated during iteration" in
# azure-cosmos 4.17's __QueryFeed when the results list and the console's counters ran
# in two threads at once). Queries are for people listing results, never on the
# pipeline's path, so serialising them costs the pipeline nothing.
_QUERIES = threading.Lock()
_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Cosmos ids may not contain these; deterministic ids are hex, so this guards callers'.
_FORBIDDEN_ID_CHARACTERS = re.compile(r"[/\\?#]")


def deterministic_id(*parts: str) -> str:
    """The same parts give the same id, so a redelivered job overwrites its document
    instead of adding a second one. Parts are length-prefixed: ("ab","c") ≠ ("a","bc")."""
    digest = hashlib.sha256()
    for part in parts:
        encoded = part.encode()
        digest.update(len(encoded).to_bytes(8, "big"))
        digest.update(encoded)
    return digest.hexdigest()


def _field(path: str) -> str:
    name = path.removeprefix("/")
    if not path.startswith("/") or not _FIELD.match(name):
        raise ValueError(f"partition key path must be one top-level field like /modality: {path}")
    return name


Scalar = str | int | float | bool
# Comparisons a page may filter on; "startswith" is Cosmos DB's STARTSWITH (a prefix).
OPERATORS = ("=", "<", "<=", ">", ">=", "startswith")


def field_reference(path: str) -> str:
    """``error.code`` → ``c.error.code``; each segment must be a plain name, so nothing a
    caller typed can reach the SQL text (values always travel as parameters)."""
    segments = path.split(".")
    if not all(_FIELD.match(segment) for segment in segments):
        raise ValueError(f"a field path is dot-separated names like error.code: {path!r}")
    return "c." + ".".join(segments)


@dataclass(frozen=True)
class Where:
    """One condition of a page: the field at ``path`` (dot-separated) ``op`` ``value``.

    As in Cosmos DB, a missing field, null, or a value of another type never matches
    (a string never compares with a number).
    """

    path: str
    op: str
    value: Scalar

    def __post_init__(self) -> None:
        field_reference(self.path)
        if self.op not in OPERATORS:
            raise ValueError(f"operator must be one of {OPERATORS}: {self.op!r}")
        if self.op == "startswith" and not isinstance(self.value, str):
            raise ValueError("startswith takes a string")


@dataclass(frozen=True)
class Keyset:
    """Where the previous page ended: the order field's value and the id of its last
    document. The next page holds what sorts strictly after it."""

    value: str
    id: str


class DocumentContainer:
    """One Cosmos DB container, partitioned by a top-level field.

    The database and container are created on first use when ``create_if_missing``
    (the local emulator, key auth). On Azure they come from Bicep: a managed identity
    with a data-plane role cannot create them.
    """

    def __init__(
        self,
        client: CosmosClient | Callable[[], CosmosClient],
        database: str,
        container: str,
        partition_key_path: str,
        *,
        create_if_missing: bool,
        indexing_policy: Mapping[str, Any] | None = None,
    ) -> None:
        # A factory defers connecting until the first call, so a process whose Cosmos DB
        # is down still starts and does the work that does not need it (e.g. routing).
        self._client = client
        self.database = database
        self.container = container
        self.partition_key_field = _field(partition_key_path)
        self.create_if_missing = create_if_missing
        # Used when this process creates the container (the local emulator); on Azure
        # the Bicep declares the same policy (tests/iac compares them).
        self.indexing_policy = dict(indexing_policy) if indexing_policy else None
        self._proxy: ContainerProxy | None = None
        self._lock = threading.Lock()

    @property
    def _container(self) -> ContainerProxy:
        if self._proxy is None:
            with self._lock:
                if self._proxy is None:
                    self._proxy = self._open()
        return self._proxy

    @property
    def client(self) -> CosmosClient:
        if callable(self._client):
            self._client = self._client()
        return self._client

    def _open(self) -> ContainerProxy:
        if not self.create_if_missing:
            return self.client.get_database_client(self.database).get_container_client(
                self.container
            )
        with translated(f"create Cosmos DB container {self.database}/{self.container}"):
            try:
                database = self.client.create_database_if_not_exists(self.database)
                return database.create_container_if_not_exists(
                    self.container,
                    PartitionKey(path=f"/{self.partition_key_field}"),
                    indexing_policy=self.indexing_policy,
                )
            except CosmosResourceExistsError:
                # Another worker created it between the existence check and the create
                # (the *_if_not_exists calls are not atomic): it exists, so use it.
                return self.client.get_database_client(self.database).get_container_client(
                    self.container
                )

    def _partition_value(self, document: Mapping[str, Any]) -> Any:
        if self.partition_key_field not in document:
            raise ValueError(f"document lacks its partition key {self.partition_key_field!r}")
        if not isinstance(document.get("id"), str) or _FORBIDDEN_ID_CHARACTERS.search(
            document["id"]
        ):
            raise ValueError(
                f"document id must be a string without / \\ ? #: {document.get('id')!r}"
            )
        return document[self.partition_key_field]

    def upsert(self, document: Mapping[str, Any]) -> dict[str, Any]:
        """Create or overwrite; returns the stored document (with ``_etag``)."""
        self._partition_value(document)
        with translated(f"upsert {self.container}/{document['id']}"):
            return dict(self._container.upsert_item(dict(document)))

    def create(self, document: Mapping[str, Any]) -> dict[str, Any] | None:
        """Create only if no document has this id in its partition; None if one does (409).

        First writer wins: use it where a redelivery must not overwrite what the first
        delivery stored.
        """
        self._partition_value(document)
        with translated(f"create {self.container}/{document['id']}"):
            try:
                return dict(self._container.create_item(dict(document)))
            except CosmosResourceExistsError:
                return None

    def replace(self, document: Mapping[str, Any], *, if_match: str) -> dict[str, Any]:
        """Overwrite only the version ``if_match`` names; a concurrent change since →
        :class:`~prism.storage.errors.ConditionFailedError`."""
        self._partition_value(document)
        with translated(f"replace {self.container}/{document['id']}"):
            return dict(
                self._container.replace_item(
                    document["id"],
                    dict(document),
                    etag=if_match,
                    match_condition=MatchConditions.IfNotModified,
                )
            )

    def read(self, document_id: str, partition_value: Any) -> dict[str, Any] | None:
        """Point read (the cheapest Cosmos DB operation); None if absent."""
        with translated(f"read {self.container}/{document_id}"):
            try:
                return dict(self._container.read_item(document_id, partition_key=partition_value))
            except CosmosResourceNotFoundError:
                return None

    def delete(self, document_id: str, partition_value: Any) -> bool:
        with translated(f"delete {self.container}/{document_id}"):
            try:
                self._container.delete_item(document_id, partition_key=partition_value)
            except CosmosResourceNotFoundError:
                return False
        return True

    def query(
        self,
        partition_value: Any,
        *,
        where: str = "",
        parameters: Mapping[str, Any] | None = None,
        order_by: str | None = None,
        descending: bool = True,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Documents of one partition. ``where`` is an extra SQL condition over ``c``
        using ``@name`` parameters (never formatted values); ``order_by`` a top-level field.
        """
        if limit is not None and limit < 1:
            raise ValueError(f"limit must be at least 1: {limit}")
        sql = ["SELECT"]
        if limit is not None:
            sql.append(f"TOP {int(limit)}")
        sql.append(f"* FROM c WHERE c.{self.partition_key_field} = @partition")
        if where:
            sql.append(f"AND ({where})")
        if order_by is not None:
            sql.append(f"ORDER BY c.{_field('/' + order_by)} {'DESC' if descending else 'ASC'}")
        bound = [{"name": "@partition", "value": partition_value}]
        for name, value in (parameters or {}).items():
            if not name.startswith("@") or name == "@partition":
                raise ValueError(f"query parameters are named @something (not @partition): {name}")
            bound.append({"name": name, "value": value})
        with translated(f"query {self.container}"), _QUERIES:
            return [
                dict(item)
                for item in self._container.query_items(
                    " ".join(sql), parameters=bound, partition_key=partition_value
                )
            ]

    def page(
        self,
        conditions: Sequence[Where] = (),
        *,
        order_by: str,
        limit: int,
        after: Keyset | None = None,
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` documents of every partition that meet all ``conditions``,
        ordered by ``order_by`` then ``id``, both descending, starting strictly after
        ``after``. Pages never skip or repeat a document that stays put, however many
        partitions the container has (keyset paging; Cosmos DB has no OFFSET worth its
        RUs, and the emulator none at all).

        Real Cosmos DB serves this ORDER BY only from a composite index
        ``(order_by DESC, id DESC)``, and filters only on indexed paths: the container's
        layout must declare both (see :mod:`prism.storage.clients`).
        """
        if not 1 <= limit <= 1000:
            raise ValueError(f"limit must be between 1 and 1000: {limit}")
        order = field_reference(order_by)
        clauses, bound = where_clauses(conditions)
        if after is not None:
            clauses.append(f"({order} < @after OR ({order} = @after AND c.id < @after_id))")
            bound += [{"name": "@after", "value": after.value},
                      {"name": "@after_id", "value": after.id}]  # fmt: skip
        sql = f"SELECT TOP {int(limit)} * FROM c"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += f" ORDER BY {order} DESC, c.id DESC"
        with translated(f"query {self.container}"), _QUERIES:
            return [
                dict(item)
                for item in self._container.query_items(
                    sql, parameters=bound, enable_cross_partition_query=True
                )
            ]

    def page_by_id(self, *, limit: int, after_id: str | None = None) -> list[dict[str, Any]]:
        """Up to ``limit`` documents of every partition in ascending ``id`` order,
        starting strictly after ``after_id``: a walk over a whole container that needs
        no index of its own. Cosmos DB always indexes ``id``, so this runs on any
        container whatever its indexing policy — the v1 ``results`` container has no
        composite index, so :meth:`page`'s two-field ORDER BY is refused there — and
        finds documents that lack the fields :meth:`page` orders by."""
        if not 1 <= limit <= 1000:
            raise ValueError(f"limit must be between 1 and 1000: {limit}")
        sql = f"SELECT TOP {int(limit)} * FROM c"
        bound: list[dict[str, Any]] = []
        if after_id is not None:
            sql += " WHERE c.id > @after_id"
            bound.append({"name": "@after_id", "value": after_id})
        sql += " ORDER BY c.id ASC"
        with translated(f"query {self.container}"), _QUERIES:
            return [
                dict(item)
                for item in self._container.query_items(
                    sql, parameters=bound, enable_cross_partition_query=True
                )
            ]

    def nearest(
        self,
        vector_path: str,
        vector: Sequence[float],
        conditions: Sequence[Where] = (),
        *,
        fields: Sequence[str],
        limit: int,
    ) -> list[dict[str, Any]]:
        """Real Cosmos DB only (the local emulator has no ``VectorDistance``): up to
        ``limit`` documents of every partition nearest to ``vector``, see
        :func:`nearest_query`. The container needs a vector embedding policy at
        ``vector_path`` (set when it is created) and, at scale, a vector index."""
        sql, bound = nearest_query(vector_path, vector, conditions, fields=fields, limit=limit)
        with translated(f"vector search {self.container}"), _QUERIES:
            return [
                dict(item)
                for item in self._container.query_items(
                    sql, parameters=bound, enable_cross_partition_query=True
                )
            ]


def where_clauses(
    conditions: Sequence[Where], start: int = 0
) -> tuple[list[str], list[dict[str, Any]]]:
    """``conditions`` as SQL clauses over ``c`` and their bound parameters (``@p0``…):
    field paths are checked names, values always parameters."""
    clauses: list[str] = []
    bound: list[dict[str, Any]] = []
    for index, condition in enumerate(conditions, start):
        name = f"@p{index}"
        reference = field_reference(condition.path)
        if condition.op == "startswith":
            clauses.append(f"STARTSWITH({reference}, {name})")
        else:
            clauses.append(f"{reference} {condition.op} {name}")
        bound.append({"name": name, "value": condition.value})
    return clauses, bound


def nearest_query(
    vector_path: str,
    vector: Sequence[float],
    conditions: Sequence[Where],
    *,
    fields: Sequence[str],
    limit: int,
) -> tuple[str, list[dict[str, Any]]]:
    """The SQL text and parameters of a vector search: the ``limit`` documents that meet
    ``conditions`` nearest to ``vector`` by the container's vector policy at
    ``vector_path`` (its distance function; for cosine, most similar first), each as
    ``fields`` and its ``score``. Cosmos DB's ``VectorDistance`` ranks through the
    container's vector index; ``TOP`` is required with an ORDER BY on it."""
    if not 1 <= limit <= 1000:
        raise ValueError(f"limit must be between 1 and 1000: {limit}")
    if not vector:
        raise ValueError("a vector search needs a vector")
    path = field_reference(vector_path)
    projection = ", ".join(
        f"{field_reference(field)} AS {field.replace('.', '_')}" for field in fields
    )
    clauses, bound = where_clauses(conditions)
    sql = f"SELECT TOP @limit {projection}, VectorDistance({path}, @vector) AS score FROM c"
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    sql += f" ORDER BY VectorDistance({path}, @vector)"
    bound = [{"name": "@limit", "value": int(limit)},
             {"name": "@vector", "value": list(vector)}, *bound]  # fmt: skip
    return sql, bound
