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

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Literal, Protocol

from prism.errors import ErrorCode, PermanentError
from prism.inference.sessions import ModelUnavailableError, get_session
from prism.modalities.base import Modality

if TYPE_CHECKING:
    from prism.inference.registry import ModelSpec
    from prism.settings import Settings

DetectedBy = Literal["magic", "text", "magika", "declared"]

# How much of each end of a file routing reads: magika looks at up to 4096 bytes of each.
HEAD_BYTES = 4096
TAIL_BYTES = 4096

SUPPORTED = (
    "images (PNG, JPEG, GIF, WebP, BMP, TIFF), audio (WAV, FLAC, Ogg Vorbis/Opus, MP3, AIFF), "
    "text (UTF-8: plain, JSON, CSV, HTML, Markdown, XML)"
)
# Text may hold tabs, line breaks, form feeds and ANSI colour escapes; more than this
# share of other C0 control bytes means binary data that happens to decode.
MAX_CONTROL_SHARE = 0.01
_ALLOWED_CONTROLS = b"\t\n\r\x0b\x0c\x1b"
_CONTROL_BYTES = bytes(b for b in range(32) if b not in _ALLOWED_CONTROLS) + b"\x7f"
# magika's probability for a declared type below which the content rules it out.
DECLARED_SUPPORT = 0.1
TOP_GUESSES = 5
MAX_CELL_WORDS = 4


@dataclass(frozen=True)
class Route:
    modality: Modality
    media_type: str
    detected_by: DetectedBy


@dataclass(frozen=True)
class Kind:
    """What a content label means here; ``modality`` None means recognised but refused."""

    label: str
    media_type: str
    modality: Modality | None
    description: str
    refusal: ErrorCode = ErrorCode.UNSUPPORTED_TYPE


def _kinds(*kinds: Kind) -> dict[str, Kind]:
    return {kind.label: kind for kind in kinds}


_I, _A, _T = Modality.IMAGE, Modality.AUDIO, Modality.TEXT
_OOXML = "application/vnd.openxmlformats-officedocument"
# Labels follow magika's label space, so magic bytes and the model share one table.
KINDS = _kinds(
    Kind("png", "image/png", _I, "PNG images"),
    Kind("jpeg", "image/jpeg", _I, "JPEG images"),
    Kind("gif", "image/gif", _I, "GIF images"),
    Kind("webp", "image/webp", _I, "WebP images"),
    Kind("bmp", "image/bmp", _I, "BMP images"),
    Kind("tiff", "image/tiff", _I, "TIFF images"),
    Kind("wav", "audio/wav", _A, "WAV audio"),
    Kind("flac", "audio/flac", _A, "FLAC audio"),
    Kind("ogg", "audio/ogg", _A, "Ogg Vorbis audio"),
    Kind("opus", "audio/ogg; codecs=opus", _A, "Ogg Opus audio"),
    Kind("mp3", "audio/mpeg", _A, "MP3 audio"),
    Kind("aiff", "audio/aiff", _A, "AIFF audio"),
    Kind("txt", "text/plain", _T, "plain text"),
    Kind("json", "application/json", _T, "JSON"),
    Kind("csv", "text/csv", _T, "CSV"),
    Kind("tsv", "text/tab-separated-values", _T, "TSV"),
    Kind("html", "text/html", _T, "HTML"),
    Kind("markdown", "text/markdown", _T, "Markdown"),
    Kind("xml", "application/xml", _T, "XML"),
    Kind("pdf", "application/pdf", None, "PDF documents"),
    Kind("zip", "application/zip", None, "ZIP archives"),
    Kind("docx", f"{_OOXML}.wordprocessingml.document", None, "Word documents"),
    Kind("xlsx", f"{_OOXML}.spreadsheetml.sheet", None, "Excel spreadsheets"),
    Kind("pptx", f"{_OOXML}.presentationml.presentation", None, "PowerPoint presentations"),
    Kind("ooxml", _OOXML, None, "Office Open XML documents"),
    Kind("odf", "application/vnd.oasis.opendocument", None, "OpenDocument files"),
    Kind("epub", "application/epub+zip", None, "EPUB books"),
    Kind("jar", "application/java-archive", None, "Java archives"),
    Kind("apk", "application/vnd.android.package-archive", None, "Android packages"),
    Kind("doc", "application/x-ole-storage", None, "legacy Office documents (doc/xls/ppt/msi)"),
    Kind("rtf", "application/rtf", None, "RTF documents"),
    Kind("postscript", "application/postscript", None, "PostScript documents"),
    Kind("gzip", "application/gzip", None, "gzip archives"),
    Kind("bzip", "application/x-bzip2", None, "bzip2 archives"),
    Kind("xz", "application/x-xz", None, "xz archives"),
    Kind("zstd", "application/zstd", None, "Zstandard archives"),
    Kind("sevenzip", "application/x-7z-compressed", None, "7-Zip archives"),
    Kind("rar", "application/vnd.rar", None, "RAR archives"),
    Kind("tar", "application/x-tar", None, "tar archives"),
    Kind("cab", "application/vnd.ms-cab-compressed", None, "CAB archives"),
    Kind("elf", "application/x-elf", None, "ELF executables"),
    Kind("pebin", "application/vnd.microsoft.portable-executable", None, "Windows executables"),
    Kind("macho", "application/x-mach-binary", None, "Mach-O executables"),
    Kind("javabytecode", "application/java-vm", None, "Java class files"),
    Kind("wasm", "application/wasm", None, "WebAssembly modules"),
    Kind("sqlite", "application/vnd.sqlite3", None, "SQLite databases"),
    Kind("psd", "image/vnd.adobe.photoshop", None, "Photoshop images"),
    Kind("heic", "image/heic", None, "HEIC images"),
    Kind("avif", "image/avif", None, "AVIF images"),
    Kind("jp2", "image/jp2", None, "JPEG 2000 images"),
    Kind("ico", "image/x-icon", None, "icons"),
    Kind("svg", "image/svg+xml", None, "SVG images"),
    Kind("m4a", "audio/mp4", None, "M4A/AAC audio"),
    Kind("midi", "audio/midi", None, "MIDI files"),
    Kind("oggother", "application/ogg", None, "Ogg streams of other codecs (FLAC, Speex, video)"),
    Kind("mp4", "video/mp4", None, "MP4/QuickTime media"),
    Kind("mkv", "video/x-matroska", None, "WebM/Matroska media"),
    Kind("webm", "video/webm", None, "WebM/Matroska media"),
    Kind("avi", "video/x-msvideo", None, "AVI video"),
    Kind("flv", "video/x-flv", None, "Flash video"),
    Kind("riff", "application/octet-stream", None, "RIFF files other than WAV/WebP"),
    Kind("utf16", "text/plain; charset=utf-16", None, "UTF-16 text", ErrorCode.INVALID_ENCODING),
    Kind("nonutf8", "text/plain", None, "text that is not UTF-8", ErrorCode.INVALID_ENCODING),
    Kind("unknown", "application/octet-stream", None, "unidentified or random binary data"),
)

# magika's textual labels (is_text in its knowledge base) without a Kind above: text in
# some language or notation. They route to text when the bytes are UTF-8.
_TEXTUAL = """aidl appleplist asm asp autohotkey autoit awk batch bazel bib c clojure cmake cobol
    coffeescript cpp cs csproj css dart diff dm dockerfile dxf elixir eml erb erlang fortran
    gemfile gemspec gitattributes gitmodules go gradle groovy handlebars haskell hcl htaccess
    ics ignorefile ini internetshortcut ipynb java javascript jinja jsonl julia kotlin latex
    lisp lua m3u m4 makefile matlab mht mum objectivec ocaml pascal pem perl php po
    powershell prolog proteindb proto python r randomtxt rdf rst ruby rust scala scss sgml
    shell smali solidity sql srt stltext sum swift tcl textproto toml twig typescript vba
    vcxproj verilog vhdl vtt vue winregistry yaml yara zig"""
TEXTUAL_LABELS = frozenset(_TEXTUAL.split())

_EXTENSIONS = {
    "jpg": "jpeg", "jpe": "jpeg", "jfif": "jpeg", "tif": "tiff", "oga": "ogg", "mpga": "mp3",
    "aif": "aiff", "aifc": "aiff", "text": "txt", "log": "txt", "htm": "html", "xhtml": "html",
    "md": "markdown", "markdown": "markdown", "tgz": "gzip", "gz": "gzip", "bz2": "bzip",
    "7z": "sevenzip", "exe": "pebin", "dll": "pebin", "so": "elf", "xls": "doc", "ppt": "doc",
    "msi": "doc", "odt": "odf", "ods": "odf", "odp": "odf", "ps": "postscript", "zst": "zstd",
    "m4b": "m4a", "mov": "mp4", "mid": "midi", "class": "javabytecode", "db": "sqlite",
    "heif": "heic",
}  # fmt: skip
_MEDIA_TYPE_ALIASES = {
    "image/jpg": "jpeg", "image/pjpeg": "jpeg", "image/x-ms-bmp": "bmp", "audio/x-wav": "wav",
    "audio/wave": "wav", "audio/vnd.wave": "wav", "audio/x-flac": "flac", "audio/mp3": "mp3",
    "audio/x-aiff": "aiff", "application/x-pdf": "pdf", "text/x-markdown": "markdown",
    "text/xml": "xml", "application/x-zip-compressed": "zip", "application/x-gzip": "gzip",
    "audio/opus": "opus", "application/msword": "doc", "audio/x-m4a": "m4a",
}  # fmt: skip
_MEDIA_TYPES = {kind.media_type: kind.label for kind in reversed(KINDS.values())}
_GENERIC_MEDIA_TYPES = frozenset({"application/octet-stream", "binary/octet-stream", ""})


# ---- magic bytes ------------------------------------------------------------------------

_PREFIXES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"fLaC", "flac"),
    (b"ID3", "mp3"),
    (b"%PDF-", "pdf"),
    (b"{\\rtf", "rtf"),
    (b"%!PS", "postscript"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "doc"),
    (b"\x1f\x8b\x08", "gzip"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"(\xb5/\xfd", "zstd"),
    (b"7z\xbc\xaf\x27\x1c", "sevenzip"),
    (b"Rar!\x1a\x07", "rar"),
    (b"MSCF\x00\x00\x00\x00", "cab"),
    (b"\x7fELF", "elf"),
    (b"\xfe\xed\xfa\xce", "macho"),
    (b"\xfe\xed\xfa\xcf", "macho"),
    (b"\xce\xfa\xed\xfe", "macho"),
    (b"\xcf\xfa\xed\xfe", "macho"),
    (b"\xca\xfe\xba\xbe", "javabytecode"),
    (b"\x00asm", "wasm"),
    (b"SQLite format 3\x00", "sqlite"),
    (b"8BPS", "psd"),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "jp2"),
    (b"\x1aE\xdf\xa3", "mkv"),
    (b"FLV\x01", "flv"),
    (b"MThd", "midi"),
    (b"\xff\xfe", "utf16"),
    (b"\xfe\xff", "utf16"),
)
_BMP_HEADER_SIZES = frozenset({12, 40, 52, 56, 64, 108, 124})
_RIFF_FORMS = {b"WAVE": "wav", b"WEBP": "webp", b"AVI ": "avi"}
_OGG_CODECS = ((b"\x01vorbis", "ogg"), (b"OpusHead", "opus"))
_ZIP_MEMBERS = (
    (b"word/", "docx"),
    (b"xl/", "xlsx"),
    (b"ppt/", "pptx"),
    (b"[Content_Types].xml", "ooxml"),
    (b"mimetypeapplication/epub+zip", "epub"),
    (b"mimetypeapplication/vnd.oasis.opendocument", "odf"),
    (b"AndroidManifest.xml", "apk"),
    (b"META-INF/MANIFEST.MF", "jar"),
)
_FTYP_BRANDS = {
    b"heic": "heic", b"heix": "heic", b"mif1": "heic", b"msf1": "heic", b"avif": "avif",
    b"M4A ": "m4a", b"M4B ": "m4a",
}  # fmt: skip


def _u16le(data: bytes, offset: int) -> int:
    return int.from_bytes(data[offset : offset + 2], "little")


def _u32le(data: bytes, offset: int) -> int:
    return int.from_bytes(data[offset : offset + 4], "little")


def _riff(head: bytes) -> str | None:
    if head[:4] in (b"RIFF", b"RF64") and len(head) >= 12:
        return _RIFF_FORMS.get(head[8:12], "riff")
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "aiff"
    return None


def _ogg(head: bytes) -> str | None:
    if not head.startswith(b"OggS") or len(head) < 28:
        return None
    payload = head[27 + head[26] :]  # after the first page's segment table
    return next((label for magic, label in _OGG_CODECS if payload.startswith(magic)), "oggother")


def _zip(head: bytes) -> str | None:
    if head[:4] not in (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08"):
        return None
    return next((label for member, label in _ZIP_MEMBERS if member in head), "zip")


def _ftyp(head: bytes) -> str | None:
    if head[4:8] != b"ftyp":
        return None
    return _FTYP_BRANDS.get(head[8:12], "mp4")


def _bmp(head: bytes) -> str | None:
    # "BM" alone also starts ordinary text; the reserved fields and the DIB header size
    # make it a bitmap.
    if head[:2] == b"BM" and len(head) >= 18 and head[6:10] == b"\x00\x00\x00\x00":
        return "bmp" if _u32le(head, 14) in _BMP_HEADER_SIZES else None
    return None


def _pe(head: bytes) -> str | None:
    # "MZ" alone also starts ordinary text; a PE file points at its "PE\0\0" header.
    if head[:2] != b"MZ" or len(head) < 64:
        return None
    offset = _u32le(head, 0x3C)
    return "pebin" if head[offset : offset + 4] == b"PE\x00\x00" else None


def _mpeg_audio(head: bytes) -> str | None:
    """An MPEG audio frame header (layer I–III): sync, and no reserved field values."""
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return None
    version, layer = (head[1] >> 3) & 3, (head[1] >> 1) & 3
    bitrate, sample_rate, emphasis = head[2] >> 4, (head[2] >> 2) & 3, head[3] & 3
    valid = version != 1 and layer != 0 and bitrate not in (0, 15)
    return "mp3" if valid and sample_rate != 3 and emphasis != 2 else None


def _tar(head: bytes) -> str | None:
    return "tar" if head[257:262] == b"ustar" else None


_SNIFFERS: tuple[Callable[[bytes], str | None], ...] = (
    _riff, _ogg, _zip, _ftyp, _bmp, _pe, _mpeg_audio, _tar,
)  # fmt: skip


def sniff_magic(head: bytes) -> str | None:
    """The content label that the head's magic bytes prove, or None."""
    for prefix, label in _PREFIXES:
        if head.startswith(prefix):
            return label
    for sniff in _SNIFFERS:
        found = sniff(head)
        if found is not None:
            return found
    return None


# ---- text -------------------------------------------------------------------------------

_MARKDOWN = re.compile(r"^(#{1,6} \S|```|\* \S|- \S|> \S|\d+\. \S)|\[[^\]\n]+\]\([^)\s]+\)", re.M)
_HTML = re.compile(r"<!doctype html|<html[\s>]|<head[\s>]|<body[\s>]", re.I)


def _utf8_text(head: bytes, size: int, tail: bytes) -> str | None:
    """The head as text if the bytes are strict UTF-8 text, else None."""
    complete = len(head) >= size
    try:
        # Not final unless the head is the whole file: a character cut at the end is fine.
        text = codecs.getincrementaldecoder("utf-8")("strict").decode(head, final=complete)
        if tail and not complete:
            # The tail may start inside a character: skip up to 3 continuation bytes.
            start = next((i for i in range(min(3, len(tail))) if tail[i] & 0xC0 != 0x80), 0)
            tail[start:].decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text


def _is_text(head: bytes, text: str | None) -> bool:
    if text is None or "\x00" in text:
        return False
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    return controls <= MAX_CONTROL_SHARE * len(head)


def _text_label(text: str, complete: bool) -> str:
    """Tell common text formats apart from the first characters, cheaply."""
    start = text.lstrip("\ufeff \t\r\n")[:1024]
    if start[:1] in ("{", "["):
        if not complete:
            return "json"
        try:
            json.loads(text)
        except (ValueError, RecursionError):  # nesting deeper than the parser's stack
            return "txt"
        return "json"
    if _HTML.search(start):
        return "html"
    if start.startswith("<?xml"):
        return "xml"
    if _MARKDOWN.search(start):
        return "markdown"
    lines = [line for line in start.splitlines()[:6] if line.strip()]
    if not complete and len(lines) > 1:
        lines = lines[:-1]  # the last line of a partial head may be cut short
    for separator, label in ((",", "csv"), ("\t", "tsv")):
        rows = [line.split(separator) for line in lines]
        # Prose has commas too: a table has the same column count on every line and
        # short cells.
        same_width = len(rows) >= 2 and len({len(row) for row in rows}) == 1 and len(rows[0]) > 1
        if same_width and all(len(cell.split()) <= MAX_CELL_WORDS for row in rows for cell in row):
            return label
    return "txt"


# ---- magika -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ContentGuess:
    """A content classifier's answer: its best label and the top alternatives."""

    label: str
    score: float
    confident: bool
    top: tuple[tuple[str, float], ...] = ()

    def probability(self, label: str) -> float:
        return next((score for name, score in self.top if name == label), 0.0)


class ContentClassifier(Protocol):
    def classify(self, head: bytes, tail: bytes, size: int) -> ContentGuess:
        """Guess the content type from the file's head, tail and size."""


@dataclass(frozen=True)
class MagikaConfig:
    """The parts of magika's ``config.min.json`` that inference needs."""

    labels: tuple[str, ...]
    block_size: int
    min_file_size: int
    medium_threshold: float
    thresholds: dict[str, float]
    overwrite: dict[str, str]


class MagikaClassifier:
    """magika's standard model run through our own session and feature extraction.

    The magika package would bring its own session (using every core) and CLI; this
    reimplements its feature extraction (v2: first and last block, whitespace-stripped,
    padded) on top of the shared session cache, with one thread.
    """

    def __init__(self, spec: ModelSpec, *, threads: int = 1) -> None:
        self.spec = spec
        self.threads = threads
        params = spec.preprocessing
        self.beg_size = int(params["beg_size"])
        self.end_size = int(params["end_size"])
        self.padding = int(params["padding_token"])
        self._config: MagikaConfig | None = None

    @property
    def config(self) -> MagikaConfig:
        if self._config is None:
            with self.spec.asset("config.min.json").open(encoding="utf-8") as handle:
                raw = json.load(handle)
            expected = {"beg_size": self.beg_size, "end_size": self.end_size, "mid_size": 0,
                        "padding_token": self.padding, "use_inputs_at_offsets": False}  # fmt: skip
            wrong = {key: raw.get(key) for key, value in expected.items() if raw.get(key) != value}
            if wrong:
                raise ModelUnavailableError(
                    f"{self.spec.name}: config.min.json disagrees with the manifest: {wrong}"
                )
            self._config = MagikaConfig(
                labels=tuple(str(label) for label in raw["target_labels_space"]),
                block_size=int(raw["block_size"]),
                min_file_size=int(raw["min_file_size_for_dl"]),
                medium_threshold=float(raw["medium_confidence_threshold"]),
                thresholds={str(k): float(v) for k, v in raw["thresholds"].items()},
                overwrite={str(k): str(v) for k, v in raw["overwrite_map"].items()},
            )
        return self._config

    def features(self, head: bytes, tail: bytes, size: int) -> list[int] | None:
        """The model input (first then last bytes), or None when too few bytes remain
        after stripping whitespace for the model to say anything."""
        config = self.config
        block = config.block_size
        # magika reads one block from each end; a head holding the whole file is both.
        end_source = head[:size][-block:] if len(head) >= size else tail[-block:]
        beg = list(head[:block].lstrip()[: self.beg_size])
        end = list(end_source.rstrip()[-self.end_size :]) if self.end_size else []
        if size < config.min_file_size or len(beg) < config.min_file_size:
            return None
        beg_padding = [self.padding] * (self.beg_size - len(beg))
        return beg + beg_padding + [self.padding] * (self.end_size - len(end)) + end

    def classify(self, head: bytes, tail: bytes, size: int) -> ContentGuess:
        import numpy as np

        features = self.features(head, tail, size)
        if features is None:
            # magika's rule for a few bytes is "text if they decode"; ours also refuses
            # NUL and control bytes, as the text sniffing does.
            few = head[:size]
            label = "txt" if _is_text(few, _utf8_text(few, size, b"")) else "unknown"
            return ContentGuess(label, 1.0, True, ((label, 1.0),))
        config = self.config
        session = get_session(self.spec.onnx_path(), self.threads)
        (scores,) = session.run(None, {"bytes": np.asarray([features], dtype=np.int32)})
        probabilities = np.asarray(scores, dtype=np.float32)[0]
        order = np.argsort(probabilities)[::-1][:TOP_GUESSES]
        top = tuple((config.labels[int(i)], float(probabilities[i])) for i in order)
        best, score = top[0]
        threshold = config.thresholds.get(best, config.medium_threshold)
        return ContentGuess(config.overwrite.get(best, best), score, score >= threshold, top)


# ---- routing ----------------------------------------------------------------------------


def kind_of(label: str) -> Kind:
    if label in KINDS:
        return KINDS[label]
    if label in TEXTUAL_LABELS:
        return Kind(label, "text/plain", Modality.TEXT, f"{label} text")
    return Kind(label, "application/octet-stream", None, f"{label} files")


def declared_label(name: str | None, declared_type: str | None) -> str | None:
    """The label a content type (preferred) or a file extension claims, if known."""
    media_type = (declared_type or "").split(";")[0].strip().lower()
    if media_type not in _GENERIC_MEDIA_TYPES:
        return _MEDIA_TYPE_ALIASES.get(media_type) or _MEDIA_TYPES.get(media_type)
    suffix = PurePosixPath((name or "").replace("\\", "/")).suffix.lower().lstrip(".")
    if not suffix:
        return None
    return _EXTENSIONS.get(suffix) or (suffix if suffix in KINDS else None)


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
        text = _utf8_text(head, size, tail)
        if _is_text(head, text):
            assert text is not None
            label, detected_by = _text_label(text, len(head) >= size), "text"
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
