"""What a content label means here: its media type, the modality that serves it (or
none: recognised but refused), and which labels a declared type or extension claims.
Labels follow magika's label space, so magic bytes and the model share one table."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

from prism.errors import ErrorCode
from prism.modality import Modality

SUPPORTED = (
    "images (PNG, JPEG, GIF, WebP, BMP, TIFF), audio (WAV, FLAC, Ogg Vorbis/Opus, MP3, AIFF), "
    "text (UTF-8: plain, JSON, CSV, HTML, Markdown, XML), documents (PDF), "
    "video (MP4/MOV, WebM/MKV)"
)


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
_D, _V = Modality.DOCUMENT, Modality.VIDEO
_OOXML = "application/vnd.openxmlformats-officedocument"
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
    Kind("pdf", "application/pdf", _D, "PDF documents"),
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
    Kind("mp4", "video/mp4", _V, "MP4/QuickTime video"),
    Kind("mkv", "video/x-matroska", _V, "WebM/Matroska video"),
    Kind("webm", "video/webm", _V, "WebM/Matroska video"),
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
