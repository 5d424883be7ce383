"""The kinds of input Prism routes and serves, each with its own queue and function."""

from __future__ import annotations

from enum import StrEnum


class Modality(StrEnum):
    IMAGE = "image"
    AUDIO = "audio"
    TEXT = "text"
    DOCUMENT = "document"
    VIDEO = "video"


# The modality of documents for inputs rejected before a modality was known.
UNROUTED = "unrouted"
# Every modality a result document may have.
RESULT_MODALITIES = (*(m.value for m in Modality), UNROUTED)
