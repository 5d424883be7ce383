"""The routing policy: magic bytes first, then text, then magika only when neither
decided; a declared type only breaks ties; per-modality size caps once the modality is
known."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from prism.errors import ErrorCode, PermanentError
from prism.modality import Modality
from prism.routing.kinds import SUPPORTED, Kind, declared_label, kind_of
from prism.routing.magic import sniff_magic
from prism.routing.magika import ContentClassifier
from prism.routing.text import is_text, text_label, utf8_text

if TYPE_CHECKING:
    from prism.settings import Settings

DetectedBy = Literal["magic", "text", "magika", "declared"]

# How much of each end of a file routing reads: magika looks at up to 4096 bytes of each.
HEAD_BYTES = 4096
TAIL_BYTES = 4096
# magika's probability for a declared type below which the content rules it out.
DECLARED_SUPPORT = 0.1
_T = Modality.TEXT


@dataclass(frozen=True)
class Route:
    modality: Modality
    media_type: str
    detected_by: DetectedBy


def _refuse(kind: Kind, declared: str | None) -> PermanentError:
    if kind.refusal is ErrorCode.INVALID_ENCODING:
        # Text, just not UTF-8: say how to fix it; the list of formats would not help.
        return PermanentError(
            kind.refusal, "the text is not UTF-8 (e.g. Latin-1 or UTF-16): save it as UTF-8"
        )
    claimed = ""
    if declared is not None and declared != kind.label:
        claimed = f"the file is declared as {kind_of(declared).description} but its content is "
        claimed += f"{kind.description}: "
    message = f"{claimed}{kind.description} are not supported yet"
    return PermanentError(kind.refusal, f"{message}; supported: {SUPPORTED}")


def _cap(modality: Modality, settings: Settings) -> int:
    caps = {
        Modality.IMAGE: settings.max_image_bytes,
        Modality.AUDIO: settings.max_audio_bytes,
        Modality.TEXT: settings.max_text_bytes,
        Modality.DOCUMENT: settings.max_document_bytes,
        Modality.VIDEO: settings.max_video_bytes,
    }
    return caps[modality]


def _by_magika(
    head: bytes, tail: bytes, size: int, classifier: ContentClassifier | None, declared: str | None
) -> tuple[str, DetectedBy]:
    if classifier is None:
        return "unknown", "magika"
    guess = classifier.classify(head, tail, size)
    if guess.confident:
        return guess.label, "magika"
    # Unsure content may still be what was declared, unless the model rules it out.
    if (
        declared is not None
        and kind_of(declared).modality is not None
        and guess.probability(declared) >= DECLARED_SUPPORT
    ):
        return declared, "declared"
    # magika's own fallback: even an unsure model tells text from binary reliably.
    return ("txt" if kind_of(guess.label).modality is _T else "unknown"), "magika"


def route(
    head: bytes,
    *,
    size: int,
    name: str | None = None,
    declared_type: str | None = None,
    tail: bytes | Callable[[], bytes] = b"",
    magika: ContentClassifier | None = None,
    settings: Settings | None = None,
) -> Route:
    """Route a file by its content; raise a coded PermanentError when it cannot be served.

    ``head`` is the file's first bytes (4096 give magika its full view; the whole file
    when smaller), ``tail`` its last bytes (up to 4096 are used) or a function that reads
    them — called only when the magic bytes do not decide, so routing a large image
    costs no second read — and ``size`` its length.
    """
    if size == 0:
        raise PermanentError(ErrorCode.EMPTY, "the file is empty")
    if size < 0 or len(head) > size or not head:
        raise ValueError(f"head of {len(head)} bytes does not fit a file of {size} bytes")
    if settings is None:
        from prism.settings import get_settings

        settings = get_settings()
    declared = declared_label(name, declared_type)
    label = sniff_magic(head)
    detected_by: DetectedBy = "magic"
    if label is None:
        if callable(tail):
            tail = tail()
        text = utf8_text(head, size, tail)
        if is_text(head, text):
            assert text is not None
            label, detected_by = text_label(text, len(head) >= size), "text"
            if label == "txt" and declared is not None and kind_of(declared).modality is _T:
                label = declared  # content is text; the declared format refines it
        else:
            label, detected_by = _by_magika(head, tail, size, magika, declared)
            if kind_of(label).modality is _T and text is None:
                label = "nonutf8"  # the text modality reads strict UTF-8 only
    kind = kind_of(label)
    if kind.modality is None:
        raise _refuse(kind, declared)
    limit = _cap(kind.modality, settings)
    if size > limit:
        raise PermanentError(
            ErrorCode.TOO_LARGE,
            f"the {kind.description} file is {size} bytes; the limit for {kind.modality} "
            f"is {limit} bytes",
        )
    return Route(kind.modality, kind.media_type, detected_by)
