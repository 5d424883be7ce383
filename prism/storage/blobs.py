"""Blob storage: a small interface and its Azure Storage adapter (Azurite locally)."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import BlobProperties, ContentSettings

from prism.errors import TransientError
from prism.storage.errors import ConditionFailedError, translated

if TYPE_CHECKING:
    from azure.storage.blob import BlobClient, BlobServiceClient

logger = logging.getLogger("prism.storage.blobs")

# A same-account copy is usually done when the request returns; past this, give up and
# let the message be retried rather than hold an invocation for a large copy.
# Azure Storage's longest blob name.
MAX_BLOB_NAME_CHARS = 1024
COPY_TIMEOUT_SECONDS = 60.0
_COPY_POLL_SECONDS = 0.2
# Azure Storage keeps at most 10 index tags on a blob (Set Blob Tags: 400 TagsTooLarge).
MAX_TAGS_PER_BLOB = 10
# Reads and conditional writes of a blob's tags before a lost race is an error.
TAG_WRITE_ATTEMPTS = 3
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def is_storable_blob_name(name: str) -> bool:
    """Whether a blob can have this name. Control characters cannot be uploaded, and
    empty, '.' or '..' segments are resolved away in the request URL — acting on such a
    name would reach some other blob, possibly in another container."""
    if not 0 < len(name) <= MAX_BLOB_NAME_CHARS or _CONTROL.search(name):
        return False
    return all(segment not in ("", ".", "..") for segment in name.split("/"))


@dataclass(frozen=True)
class BlobInfo:
    container: str
    name: str
    etag: str
    size: int
    content_type: str | None
    last_modified: datetime
    metadata: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_properties(cls, container: str, properties: BlobProperties) -> BlobInfo:
        return cls(
            container=container,
            name=properties.name,
            etag=properties.etag,
            size=properties.size,
            content_type=properties.content_settings.content_type,
            last_modified=properties.last_modified,
            metadata=dict(properties.metadata or {}),
        )


class BlobStore(Protocol):
    """What the pipeline needs from blob storage. ``if_match`` takes an etag: the call
    then applies only to that version of the blob (else HTTP 412 →
    :class:`~prism.storage.errors.ConditionFailedError`)."""

    def ensure_container(self, container: str) -> None: ...

    def upload(
        self,
        container: str,
        name: str,
        data: bytes,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
        overwrite: bool = True,
    ) -> BlobInfo: ...

    def properties(self, container: str, name: str) -> BlobInfo: ...

    def container_exists(self, container: str) -> bool: ...

    def read_range(
        self, container: str, name: str, offset: int, length: int, *, if_match: str | None = None
    ) -> bytes: ...

    def read_head(self, container: str, name: str, length: int) -> tuple[BlobInfo, bytes]: ...

    def download(self, container: str, name: str, *, if_match: str | None = None) -> bytes: ...

    def set_tags(
        self, container: str, name: str, tags: Mapping[str, str], *, if_match: str | None = None
    ) -> bool:
        """Add ``tags`` to the blob's own, keeping every other tag it has; False (and
        nothing changed) when together they would pass :data:`MAX_TAGS_PER_BLOB`."""
        ...

    def tags(self, container: str, name: str) -> dict[str, str]: ...

    def copy(
        self,
        container: str,
        name: str,
        target_container: str,
        target_name: str | None = None,
        *,
        if_match: str | None = None,
    ) -> BlobInfo: ...

    def move(
        self,
        container: str,
        name: str,
        target_container: str,
        target_name: str | None = None,
        *,
        if_match: str | None = None,
    ) -> BlobInfo: ...

    def delete(self, container: str, name: str, *, if_match: str | None = None) -> bool: ...

    def list(self, container: str, prefix: str | None = None) -> Iterator[BlobInfo]: ...


def _tags_unchanged(tags: Mapping[str, str]) -> str | None:
    """An ``x-ms-if-tags`` condition that holds while every one of ``tags`` has its
    value (None for no tags: nothing to hold). Tag keys and values cannot contain
    quotes (Azure accepts letters, digits, space and + - . / : = _), so none is
    escaped."""
    if not tags:
        return None
    return " AND ".join(f"\"{key}\" = '{value}'" for key, value in sorted(tags.items()))


def _condition(if_match: str | None, prefix: str = "") -> dict[str, Any]:
    if if_match is None:
        return {}
    return {f"{prefix}etag": if_match, f"{prefix}match_condition": MatchConditions.IfNotModified}


class AzureBlobStore:
    """:class:`BlobStore` over ``azure-storage-blob``; every error leaves as a Prism error."""

    def __init__(self, service: BlobServiceClient) -> None:
        self.service = service

    def client(self, container: str, name: str) -> BlobClient:
        """The SDK client of one blob (what an SDK-type blob binding hands a function)."""
        return self.service.get_blob_client(container, name)

    def container_exists(self, container: str) -> bool:
        with translated(f"properties of container {container}"):
            return bool(self.service.get_container_client(container).exists())

    def ensure_container(self, container: str) -> None:
        # Exists already, or another worker won the race to create it: both fine.
        with translated(f"create container {container}"), suppress(ResourceExistsError):
            self.service.create_container(container)

    def upload(
        self,
        container: str,
        name: str,
        data: bytes,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
        overwrite: bool = True,
    ) -> BlobInfo:
        with translated(f"upload {container}/{name}"):
            result = self.client(container, name).upload_blob(
                data,
                overwrite=overwrite,
                content_settings=ContentSettings(content_type=content_type),
                metadata=dict(metadata or {}),
            )
        return BlobInfo(
            container=container,
            name=name,
            etag=str(result["etag"]),
            size=len(data),
            content_type=content_type,
            last_modified=result["last_modified"],
            metadata=dict(metadata or {}),
        )

    def properties(self, container: str, name: str) -> BlobInfo:
        with translated(f"properties of {container}/{name}"):
            properties = self.client(container, name).get_blob_properties()
        return BlobInfo.from_properties(container, properties)

    def read_range(
        self, container: str, name: str, offset: int, length: int, *, if_match: str | None = None
    ) -> bytes:
        """Up to ``length`` bytes from ``offset``: shorter at the end of the blob, empty
        past it. Never transfers more than the range. With ``if_match`` only from that
        version (another → :class:`ConditionFailedError`)."""
        if offset < 0 or length < 1:
            raise ValueError(f"bad range offset={offset} length={length}")
        with translated(f"read {container}/{name}[{offset}:{offset + length}]"):
            try:
                client = self.client(container, name)
                data: bytes = client.download_blob(offset, length, **_condition(if_match)).readall()
                return data
            except HttpResponseError as exc:
                if exc.status_code == 416:  # the range starts at or past the end
                    return b""
                raise

    def read_head(self, container: str, name: str, length: int) -> tuple[BlobInfo, bytes]:
        """The blob's properties and its first ``length`` bytes in one request (a ranged
        download answers with the whole blob's properties)."""
        if length < 1:
            raise ValueError(f"bad head length {length}")
        with translated(f"read the head of {container}/{name}"):
            try:
                downloader = self.client(container, name).download_blob(0, length)
            except HttpResponseError as exc:
                if exc.status_code != 416:  # 416: an empty blob has no byte 0
                    raise
                return self.properties(container, name), b""
            head = downloader.readall()
        info = BlobInfo.from_properties(container, downloader.properties)
        # A ranged answer's size is the range's; the blob's is after the "/" of
        # Content-Range ("bytes 0-4095/104857600").
        total = int(str(downloader.properties.content_range).rsplit("/", 1)[1])
        return replace(info, size=total), head

    def download(self, container: str, name: str, *, if_match: str | None = None) -> bytes:
        with translated(f"download {container}/{name}"):
            data: bytes = (
                self.client(container, name).download_blob(**_condition(if_match)).readall()
            )
            return data

    def set_tags(
        self, container: str, name: str, tags: Mapping[str, str], *, if_match: str | None = None
    ) -> bool:
        """Add ``tags`` to the tags the blob has (a key it has already takes the new
        value): Set Blob Tags replaces the whole set, and the tags a client put on its
        own blob are its own. False, changing nothing, when the union would pass
        Azure's :data:`MAX_TAGS_PER_BLOB`: the client's tags win over Prism's.

        A read-modify-write. Tags are a sub-resource without an etag of their own
        (setting them changes neither the blob's ETag nor its Last-Modified), so the
        write is conditioned on what was read — ``x-ms-if-tags``: every tag read still
        has the value read — and, with ``if_match``, on the blob version
        (``x-ms-blob-if-match``). A lost race (412) reads again, up to
        :data:`TAG_WRITE_ATTEMPTS` times, then raises :class:`ConditionFailedError`.
        What no condition can see: a tag *added* by another writer between the read
        and the write (the tag condition cannot say "no other tag"), which the write
        then drops; a client that tags at upload (``x-ms-tags``) never races this.
        (Azurite ignores both conditions; Azure honours them.)"""
        for _ in range(TAG_WRITE_ATTEMPTS - 1):
            with suppress(ConditionFailedError):  # lost a race: read again
                return self._add_tags(container, name, tags, if_match)
        return self._add_tags(container, name, tags, if_match)

    def _add_tags(
        self, container: str, name: str, tags: Mapping[str, str], if_match: str | None
    ) -> bool:
        """One read of the blob's tags and one write of the union, conditioned on it."""
        client = self.client(container, name)
        blob_version = _condition(if_match)
        with translated(f"tags of {container}/{name}"):
            current = dict(client.get_blob_tags(**blob_version))
        merged = {**current, **tags}
        if merged == current:
            return True  # a redelivery: nothing to write
        if len(merged) > MAX_TAGS_PER_BLOB:
            logger.warning(
                "%s/%s keeps its %d tags: adding %s would pass Azure's %d per blob",
                container, name, len(current), ", ".join(sorted(tags)), MAX_TAGS_PER_BLOB,
            )  # fmt: skip
            return False
        with translated(f"tag {container}/{name}"):
            client.set_blob_tags(
                merged, if_tags_match_condition=_tags_unchanged(current), **blob_version
            )
        return True

    def tags(self, container: str, name: str) -> dict[str, str]:
        with translated(f"tags of {container}/{name}"):
            return dict(self.client(container, name).get_blob_tags())

    def copy(
        self,
        container: str,
        name: str,
        target_container: str,
        target_name: str | None = None,
        *,
        if_match: str | None = None,
    ) -> BlobInfo:
        """Server-side copy within the account: no bytes pass through this process."""
        target = self.client(target_container, target_name or name)
        operation = f"copy {container}/{name} to {target_container}/{target.blob_name}"
        with translated(operation):
            copy = target.start_copy_from_url(
                self.client(container, name).url, **_condition(if_match, prefix="source_")
            )
            deadline = time.monotonic() + COPY_TIMEOUT_SECONDS
            status = str(copy["copy_status"])
            while status == "pending":
                if time.monotonic() > deadline:
                    target.abort_copy(str(copy["copy_id"]))
                    raise TransientError(f"{operation}: not done after {COPY_TIMEOUT_SECONDS} s")
                time.sleep(_COPY_POLL_SECONDS)
                status = str(target.get_blob_properties().copy.status)
            if status != "success":
                raise TransientError(f"{operation}: copy ended {status}")
            return BlobInfo.from_properties(target_container, target.get_blob_properties())

    def move(
        self,
        container: str,
        name: str,
        target_container: str,
        target_name: str | None = None,
        *,
        if_match: str | None = None,
    ) -> BlobInfo:
        """Copy, then delete the source. With ``if_match`` both steps apply only to that
        version, so a newer upload under the same name is neither moved nor lost."""
        moved = self.copy(container, name, target_container, target_name, if_match=if_match)
        self.delete(container, name, if_match=if_match)
        return moved

    def delete(self, container: str, name: str, *, if_match: str | None = None) -> bool:
        """Delete the blob and its snapshots; False if it did not exist."""
        with translated(f"delete {container}/{name}"):
            try:
                self.client(container, name).delete_blob(
                    delete_snapshots="include", **_condition(if_match)
                )
            except ResourceNotFoundError:
                return False
        return True

    def list(self, container: str, prefix: str | None = None) -> Iterator[BlobInfo]:
        with translated(f"list {container}"):
            for properties in self.service.get_container_client(container).list_blobs(
                name_starts_with=prefix
            ):
                yield BlobInfo.from_properties(container, properties)
