"""Content sniffing: which modality (image, audio, text) a file goes to, or why none.

Order of evidence, cheapest first:

1. magic bytes in the head (fixed signatures, a few checked a little deeper so that
   text starting with ``BM`` or ``MZ`` is not taken for a bitmap or an executable);
2. text: the head is strict UTF-8 (a multi-byte character cut at the head boundary is
   allowed) with no NUL and almost no control characters;
3. magika's content-type model, only when neither decided.

A declared type (content type or file extension) never overrides the content: it only
shapes the error message and breaks a tie when magika is unsure but does not rule the
declared type out. Size caps apply per modality once the modality is known.
"""

from prism.routing.kinds import SUPPORTED, Kind, kind_of
from prism.routing.magic import sniff_magic
from prism.routing.magika import ContentClassifier, ContentGuess, MagikaClassifier
from prism.routing.policy import HEAD_BYTES, TAIL_BYTES, DetectedBy, Route, route

__all__ = [
    "HEAD_BYTES",
    "SUPPORTED",
    "TAIL_BYTES",
    "ContentClassifier",
    "ContentGuess",
    "DetectedBy",
    "Kind",
    "MagikaClassifier",
    "Route",
    "kind_of",
    "route",
    "sniff_magic",
]
