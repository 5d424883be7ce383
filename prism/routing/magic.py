"""Magic bytes: the content labels a file's first bytes prove, checked a little deeper
where a signature alone also starts ordinary text (``BM``, ``MZ``)."""

from __future__ import annotations

from collections.abc import Callable

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
