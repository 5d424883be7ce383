"""What :meth:`AzureBlobStore.set_tags` asks of the service: a read of the blob's tags,
then one write of the union conditioned on what was read. Azurite ignores the
conditions (``x-ms-if-tags``, ``x-ms-blob-if-match``), so they are checked here on the
requests themselves; ``tests/integration/test_storage_blobs.py`` checks the merge
against Azurite."""

from __future__ import annotations

from typing import Any, cast

import pytest
from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError

from prism.storage import AzureBlobStore, ConditionFailedError
from prism.storage.blobs import MAX_TAGS_PER_BLOB, TAG_WRITE_ATTEMPTS
from tests.unit.storage.test_errors import Response


class TaggedBlob:
    """The SDK's BlobClient, for tags only: records every call; a write whose tag
    condition no longer holds (another writer changed a tag) fails with 412."""

    def __init__(self, tags: dict[str, str]) -> None:
        self.tags = tags
        self.reads: list[dict[str, Any]] = []
        self.writes: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.before_write: list[dict[str, str]] = []  # another writer's tags, one per write

    def get_blob_tags(self, **kwargs: Any) -> dict[str, str]:
        self.reads.append(kwargs)
        return dict(self.tags)

    def set_blob_tags(self, tags: dict[str, str], **kwargs: Any) -> None:
        self.writes.append((tags, kwargs))
        if self.before_write:
            self.tags = self.before_write.pop(0)
            raise HttpResponseError(message="ConditionNotMet", response=Response(412))
        self.tags = dict(tags)


class Service:
    def __init__(self, blob: TaggedBlob) -> None:
        self.blob = blob

    def get_blob_client(self, container: str, name: str) -> TaggedBlob:
        return self.blob


def store_of(blob: TaggedBlob) -> AzureBlobStore:
    return AzureBlobStore(cast(Any, Service(blob)))


def test_the_write_holds_only_while_every_tag_read_keeps_its_value() -> None:
    blob = TaggedBlob({"owner": "alice", "project": "p-7"})

    assert store_of(blob).set_tags("incoming", "b", {"prism-tiering": "on"})

    ((written, conditions),) = blob.writes
    assert written == {"owner": "alice", "project": "p-7", "prism-tiering": "on"}
    assert conditions == {"if_tags_match_condition": "\"owner\" = 'alice' AND \"project\" = 'p-7'"}


def test_with_an_etag_both_the_read_and_the_write_are_for_that_blob_version() -> None:
    blob = TaggedBlob({})

    store_of(blob).set_tags("incoming", "b", {"prism-tiering": "on"}, if_match='"0x1"')

    version = {"etag": '"0x1"', "match_condition": MatchConditions.IfNotModified}
    assert blob.reads == [version]
    assert blob.writes == [({"prism-tiering": "on"}, {"if_tags_match_condition": None, **version})]


def test_a_race_lost_to_another_writer_reads_again_and_keeps_its_tag() -> None:
    blob = TaggedBlob({"owner": "alice"})
    blob.before_write = [{"owner": "bob"}]  # changed between our read and our write

    assert store_of(blob).set_tags("incoming", "b", {"prism-tiering": "on"})

    assert blob.tags == {"owner": "bob", "prism-tiering": "on"}
    assert [conditions["if_tags_match_condition"] for _, conditions in blob.writes] == [
        "\"owner\" = 'alice'",
        "\"owner\" = 'bob'",
    ]


def test_races_lost_every_time_end_in_a_condition_failed_error() -> None:
    blob = TaggedBlob({"owner": "alice"})
    blob.before_write = [{"owner": str(i)} for i in range(TAG_WRITE_ATTEMPTS)]

    with pytest.raises(ConditionFailedError):
        store_of(blob).set_tags("incoming", "b", {"prism-tiering": "on"})

    assert len(blob.writes) == TAG_WRITE_ATTEMPTS


def test_a_tag_already_set_is_not_written_again() -> None:
    blob = TaggedBlob({"owner": "alice", "prism-tiering": "on"})

    assert store_of(blob).set_tags("incoming", "b", {"prism-tiering": "on"})

    assert blob.writes == []


def test_a_tag_that_would_be_one_too_many_is_not_added(caplog: pytest.LogCaptureFixture) -> None:
    own = {f"client-{i}": str(i) for i in range(MAX_TAGS_PER_BLOB)}
    blob = TaggedBlob(own)

    assert not store_of(blob).set_tags("incoming", "b", {"prism-tiering": "on"})

    assert blob.writes == []
    assert "keeps its 10 tags" in caplog.text
