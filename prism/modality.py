"""The kinds of input Prism routes and serves, each with its own queue and function.

A leaf that imports nothing: routing, settings, results and storage name modalities,
and the handlers in ``prism.modalities`` build on all of them. Inside that package the
enum would make routing and settings import a package that imports them (a cycle the
acyclic contract in pyproject.toml refuses), so it stays below everything.
"""

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
