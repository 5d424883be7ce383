"""The kinds of input Prism routes and serves, each with its own queue and function."""

from __future__ import annotations

from enum import StrEnum


class Modality(StrEnum):
    IMAGE = "image"
    AUDIO = "audio"
    TEXT = "text"
    DOCUMENT = "document"
    VIDEO = "video"
