"""A file's state by its name (``GET /api/v1/files``): the result of its current
version, pending while it has none, or — once it left the container — the newest
result that name got; and reading every result, page by page."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

import pytest

from prism.errors import ErrorCode, PermanentError
from prism.queries import every_result, file_state, find_latest_by_blob
from prism.results import blob_result_id
from prism.storage import BlobStore, DocumentContainer
from prism.storage.blobs import BlobInfo
from prism.storage.errors import NotFoundError, StorageRequestError
from tests.fakes import FakeDocuments


class Incoming:
    """Blob properties for the names it holds; the service's errors for the others."""

    def __init__(self, **etags: str) -> None:
        self.etags = etags
        self.asked: list[tuple[str, str]] = []

    def properties(self, container: str, name: str) -> BlobInfo:
        self.asked.append((container, name))
        if name.endswith("."):
            raise StorageRequestError(f"{name}: the service refuses a trailing dot")
        if name not in self.etags:
            raise NotFoundError(f"{container}/{name}")
        return BlobInfo(container, name, self.etags[name], 1, None, datetime.now(UTC))


def result(container: str, name: str, etag: str, created: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": blob_result_id(container, name, etag),
        "created_at": created,
        "status": "ok",
        "source": {"kind": "blob", "blob": name, "etag": etag},
        "_etag": "system property",
        **fields,
    }


def lookup(results: FakeDocuments, blobs: Incoming, name: str) -> Any:
    return find_latest_by_blob(
        cast(DocumentContainer, results), cast(BlobStore, blobs), "incoming", name
    )


def test_a_file_whose_current_version_has_a_result_is_done_with_that_result() -> None:
    results = FakeDocuments()
    results.upsert(result("incoming", "a.txt", '"1"', "2026-01-01T00:00:00.000Z"))
    current = result("incoming", "a.txt", '"2"', "2026-01-02T00:00:00.000Z")
    results.upsert(current)
    found = lookup(results, Incoming(**{"a.txt": '"2"'}), "a.txt")
    assert (found.name, found.state, found.id) == ("a.txt", "done", current["id"])
    assert found.result == {k: v for k, v in current.items() if k != "_etag"}


def test_a_file_whose_current_version_has_no_result_yet_is_pending() -> None:
    results = FakeDocuments()
    older = result("incoming", "a.txt", '"1"', "2026-01-01T00:00:00.000Z")
    results.upsert(older)  # the result of the version it replaced is not its
    found = lookup(results, Incoming(**{"a.txt": '"2"'}), "a.txt")
    assert (found.name, found.state, found.id, found.result) == (
        "a.txt",
        "pending",
        blob_result_id("incoming", "a.txt", '"2"'),
        None,
    )


@pytest.mark.parametrize("name", ["gone.txt", "odd-name."], ids=["not_found", "refused_name"])
def test_a_file_no_longer_there_is_gone_with_the_newest_result_of_its_name(name: str) -> None:
    results = FakeDocuments()
    results.upsert(result("incoming", name, '"1"', "2026-01-01T00:00:00.000Z"))
    newest = result("incoming", name, '"2"', "2026-01-03T00:00:00.000Z")
    results.upsert(newest)
    results.upsert(result("incoming", "other.txt", '"9"', "2026-01-09T00:00:00.000Z"))
    found = lookup(results, Incoming(), name)
    assert (found.name, found.state, found.id) == (name, "gone", newest["id"])
    assert found.result is not None and "_etag" not in found.result


def test_a_name_with_neither_a_file_nor_a_result_is_not_found() -> None:
    blobs = Incoming()
    assert lookup(FakeDocuments(), blobs, "never.txt") is None
    assert blobs.asked == [("incoming", "never.txt")]
    with pytest.raises(PermanentError) as caught:
        file_state(cast(DocumentContainer, FakeDocuments()), cast(BlobStore, blobs),
                   "incoming", "never.txt")  # fmt: skip
    assert caught.value.code is ErrorCode.NOT_FOUND
    assert caught.value.message == "no file and no result with this name"


def test_a_files_state_holds_its_name_state_id_and_result() -> None:
    results = FakeDocuments()
    current = result("incoming", "a.txt", '"1"', "2026-01-01T00:00:00.000Z")
    results.upsert(current)
    blobs = Incoming(**{"a.txt": '"1"'})
    state = file_state(
        cast(DocumentContainer, results), cast(BlobStore, blobs), "incoming", "a.txt"
    )
    assert state == {
        "name": "a.txt",
        "state": "done",
        "id": current["id"],
        "result": {k: v for k, v in current.items() if k != "_etag"},
    }


def test_every_result_is_read_once_newest_first_a_page_at_a_time() -> None:
    results = FakeDocuments()
    for n in range(7):
        # Two results per second: equal times are ordered by id.
        results.upsert({"id": f"{n:064x}", "created_at": f"2026-01-01T00:00:0{n // 2}.000Z"})
    read = [int(str(d["id"]), 16) for d in every_result(cast(DocumentContainer, results), 2)]
    assert read == [6, 5, 4, 3, 2, 1, 0]
    assert list(every_result(cast(DocumentContainer, FakeDocuments()))) == []


class AskedLimits(FakeDocuments):
    def __init__(self) -> None:
        super().__init__()
        self.limits: list[int] = []

    def page(self, conditions: Any = (), **kwargs: Any) -> list[dict[str, object]]:
        self.limits.append(kwargs["limit"])
        return super().page(conditions, **kwargs)


def test_the_fallback_for_a_file_no_longer_there_reads_one_document() -> None:
    results = AskedLimits()
    for n in range(3):
        results.upsert(result("incoming", "gone.txt", f'"{n}"', f"2026-01-0{n + 1}T00:00:00.000Z"))
    assert lookup(results, Incoming(), "gone.txt").state == "gone"
    assert results.limits == [1]
