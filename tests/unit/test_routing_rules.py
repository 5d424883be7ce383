"""Routing's rules one by one, at their edges: which bytes each signature proves, what a
declared type or extension claims, when text is text, what an unsure model may decide,
and what a refusal says."""

from __future__ import annotations

import pytest

from prism.errors import ErrorCode, PermanentError
from prism.modality import Modality
from prism.routing import (
    HEAD_BYTES,
    SUPPORTED,
    TAIL_BYTES,
    ContentGuess,
    Route,
    route,
    sniff_magic,
)
from prism.routing.kinds import declared_label, kind_of
from prism.routing.policy import DECLARED_SUPPORT
from prism.routing.text import is_text, text_label, utf8_text
from prism.settings import load_settings

LIMITS = load_settings({})


def u32le(value: int) -> bytes:
    return value.to_bytes(4, "little")


def bmp(dib_size: int = 40, reserved: bytes = bytes(4), length: int = 64) -> bytes:
    return (b"BM" + u32le(length) + reserved + u32le(54) + u32le(dib_size)).ljust(length, b"\0")


def pe(pointer: int = 0x80, signature: bytes = b"PE\0\0", length: int = 0x100) -> bytes:
    head = bytearray(b"MZ".ljust(length, b"\0"))
    head[0x3C:0x40] = u32le(pointer)
    head[pointer : pointer + 4] = signature
    return bytes(head[:length])


def ogg(payload: bytes, segments: int = 1) -> bytes:
    return b"OggS" + bytes(22) + bytes([segments]) + bytes([30] * segments) + payload + bytes(40)


def zipped(member: bytes, signature: bytes = b"PK\x03\x04") -> bytes:
    return signature + bytes(26) + member + bytes(20)


@pytest.mark.parametrize(
    ("head", "label"),
    [
        (b"RIFF\0\0\0\0WAVEfmt ", "wav"),
        (b"RF64\0\0\0\0WAVEfmt ", "wav"),
        (b"RIFF\0\0\0\0WAVE", "wav"),  # just long enough
        (b"RIFF\0\0\0\0WEBPVP8 ", "webp"),
        (b"RIFF\0\0\0\0AVI LIST", "avi"),
        (b"RIFF\0\0\0\0ACONanih", "riff"),
        (b"FORM\0\0\0\0AIFFCOMM", "aiff"),
        (b"FORM\0\0\0\0AIFCCOMM", "aiff"),
        (ogg(b"\x01vorbis"), "ogg"),
        (ogg(b"OpusHead"), "opus"),
        (ogg(b"\x7fFLAC"), "oggother"),
        (ogg(b"OpusHead", segments=3), "opus"),  # after the whole segment table
        (b"OggS" + bytes(22) + b"\x00\x01", "oggother"),  # just long enough
        (zipped(b"word/document.xml"), "docx"),
        (zipped(b"xl/workbook.xml"), "xlsx"),
        (zipped(b"ppt/slides/1.xml"), "pptx"),
        (zipped(b"[Content_Types].xml"), "ooxml"),
        (zipped(b"mimetypeapplication/epub+zip"), "epub"),
        (zipped(b"mimetypeapplication/vnd.oasis.opendocument.text"), "odf"),
        (zipped(b"AndroidManifest.xml"), "apk"),
        (zipped(b"META-INF/MANIFEST.MF"), "jar"),
        (zipped(b"photo.jpg"), "zip"),
        (zipped(b"", b"PK\x05\x06"), "zip"),
        (zipped(b"", b"PK\x07\x08"), "zip"),
        (b"\0\0\0\x18ftypheic" + bytes(8), "heic"),
        (b"\0\0\0\x18ftypavif" + bytes(8), "avif"),
        (b"\0\0\0\x18ftypM4A " + bytes(8), "m4a"),
        (b"\0\0\0\x18ftypisom" + bytes(8), "mp4"),
        (bmp(), "bmp"),
        (bmp(124), "bmp"),
        (bmp(12, length=18), "bmp"),
        (pe(), "pebin"),
        (pe(0x40, length=0x44), "pebin"),
        (b"\xff\xfb\x90\x64" + bytes(8), "mp3"),
        (b"\xff\xf3\x14\xc4" + bytes(8), "mp3"),
        (b"\xff\xfb\x90\x64", "mp3"),  # a frame header alone
        (b"\xff\xfb\x98\x64" + bytes(8), "mp3"),  # 48 kHz
        (b"\xff\xfb\x94\x67" + bytes(8), "mp3"),  # 32 kHz, CCITT emphasis
        (b"\xff\xe3\x90\x65" + bytes(8), "mp3"),  # MPEG 2.5, 50/15 µs emphasis
        (bytes(257) + b"ustar\x0000", "tar"),
    ],
)
def test_each_signature_proves_its_label(head: bytes, label: str) -> None:
    assert sniff_magic(head) == label


@pytest.mark.parametrize(
    "head",
    [
        b"RIFF\0\0\0\0WAV",  # shorter than a RIFF header
        b"FORM\0\0\0\0ILBMBODY",
        b"JUNK\0\0\0\0AIFFCOMM",  # an AIFF form type outside a FORM chunk
        b"XY" + bmp()[2:],  # a bitmap's fields without "BM"
        b"OggS" + bytes(23),  # no segment table yet
        b"\0\0\0\x18ftyqheic",
        bmp(41),  # no DIB header of that size
        bmp(reserved=b"\0\0\0\1"),  # "BM" then text-like fields
        bmp()[:17],
        pe(signature=b"NE\0\0"),
        b"XZ" + pe()[2:],  # a PE header without "MZ"
        pe(length=63),
        b"\xff\xfb\x90",  # a frame header cut short
        b"\xff\xcb\x90\x64" + bytes(8),  # no frame sync
        b"\xfe\xfb\x90\x64" + bytes(8),  # nor without its first byte
        b"\xff\xeb\x90\x64" + bytes(8),  # version 1 is reserved
        b"\xff\xf9\x90\x64" + bytes(8),  # layer 0 is reserved
        b"\xff\xfb\x00\x64" + bytes(8),  # free bitrate
        b"\xff\xfb\xf0\x64" + bytes(8),  # bitrate 15 is forbidden
        b"\xff\xfb\x9c\x64" + bytes(8),  # sample rate 3 is reserved
        b"\xff\xfb\x90\x66" + bytes(8),  # emphasis 2 is reserved
        bytes(256) + b"ustar\x0000",
        b"BM is how this note starts, and MZ is how the next one does.",
    ],
)
def test_bytes_that_only_look_like_a_signature_prove_nothing(head: bytes) -> None:
    assert sniff_magic(head) is None


@pytest.mark.parametrize(
    ("name", "declared_type", "label"),
    [
        (None, "image/JPG; charset=binary", "jpeg"),  # parameters and case do not matter
        (None, "audio/x-wav", "wav"),  # an alias
        (None, "application/pdf", "pdf"),
        ("a.png", "application/octet-stream", "png"),  # generic types defer to the name
        ("a.wav", "binary/octet-stream", "wav"),
        ("a.wav", "", "wav"),
        ("x.pdf", "text/plain", "txt"),  # a specific type wins over the name
        ("x.pdf", "application/x-unheard-of", None),
        ("PHOTO.PNG", None, "png"),
        ("dir\\notes.md", None, "markdown"),
        ("backup.tar.gz", None, "gzip"),
        ("clip.mov", None, "mp4"),
        ("data.json", None, "json"),
        ("data.xml", None, "xml"),
        ("README", None, None),
        ("a.xyz", None, None),
        ("archive.", None, None),
        (None, None, None),
    ],
)
def test_a_declared_type_or_extension_claims_a_label(
    name: str | None, declared_type: str | None, label: str | None
) -> None:
    assert declared_label(name, declared_type) == label


def test_a_textual_label_without_a_kind_of_its_own_is_text_and_others_are_refused() -> None:
    python, weird = kind_of("python"), kind_of("weird")
    assert (python.label, python.media_type, python.modality, python.description) == (
        "python",
        "text/plain",
        Modality.TEXT,
        "python text",
    )
    assert (weird.label, weird.media_type, weird.modality, weird.description) == (
        "weird",
        "application/octet-stream",
        None,
        "weird files",
    )


def test_text_holds_no_nul_and_at_most_one_control_byte_in_a_hundred() -> None:
    def text(data: bytes) -> bool:
        return is_text(data, utf8_text(data, len(data), b""))

    assert text(b"a" * 99 + b"\x01")
    assert not text(b"a" * 98 + b"\x01\x02")
    assert text(b"\t\n\r\x0b\x0c\x1b[31mcoloured\x1b[0m" + b"a" * 20)
    assert not text(b"words\x00words")
    assert not text(b"a" * 200 + b"\x00")  # one NUL is binary, however rare
    assert not text(b"a" * 200 + b"\x7f\x7f\x7f")


def test_a_character_cut_at_either_end_of_a_partial_read_is_still_text() -> None:
    body = "naïve café ".encode() * 50  # 13 bytes a time; "ï" is bytes 2 and 3
    head, tail = body[:94], body[-101:]  # both cut inside an "ï"
    assert head.endswith(b"\xc3") and tail.startswith(b"\xaf")
    assert utf8_text(head, len(body), tail) is not None
    assert utf8_text(head, len(head), b"") is None  # the whole file: no cut is allowed
    assert utf8_text(head, len(body), b"\xc3" + b"\xff" + b"a" * 10) is None
    # No character has more than three continuation bytes: four are not a cut character.
    assert utf8_text(head, len(body), b"\x80\x80\x80" + b"abc") is not None
    assert utf8_text(head, len(body), b"\x80\x80\x80\x80" + b"abc") is None


@pytest.mark.parametrize(
    ("text", "complete", "label"),
    [
        ('{"a": [1, 2]}', True, "json"),
        (' \n{"a": 1}', True, "json"),  # after blank lines
        ('\ufeff<?xml version="1.0"?><a/>', True, "xml"),  # after a byte order mark
        ('{"a": [1, 2', True, "txt"),  # the whole file, and not JSON
        ('{"a": [1, 2', False, "json"),  # only a head: cannot be parsed yet
        ("[" * 100_000 + "]" * 100_000, True, "txt"),  # deeper than the parser goes
        ("\ufeff  <!DOCTYPE html><p>x", True, "html"),
        ('<?xml version="1.0"?><a/>', True, "xml"),
        ("# Title\n\nwords", True, "markdown"),
        ("see [the docs](https://example.com/a)", True, "markdown"),
        ("a,b,c\n1,2,3\n4,5,6\n", True, "csv"),
        ("a\tb\n1\t2\n", True, "tsv"),
        ("a,b\n" * 6 + "no table here", True, "csv"),  # six lines are looked at
        ("a,b\n1,2\n3,4,5", False, "csv"),  # the cut last line does not count
        ("a,b\n1,2", False, "txt"),  # nor does it make a table of one line
        ("a,b\n1,2\n3,4\n5,6,7", False, "csv"),  # the cut last line does not count
        ("a,b\n1,2\n3,4\n5,6,7", True, "txt"),
        ("one, two\n", True, "txt"),  # one line is not a table
        ("a\nb\n", True, "txt"),  # one column is not a table
        ("x, one two three four five\ny, z\n", True, "txt"),  # prose has long cells
        ("x, one two three four\ny, z\n", True, "csv"),
        ("just some words", True, "txt"),
        ('X<?xml version="1.0"?>', True, "txt"),  # a declaration after other text
    ],
)
def test_common_text_formats_are_told_from_their_first_characters(
    text: str, complete: bool, label: str
) -> None:
    assert text_label(text, complete) == label


class FixedGuess:
    """A content classifier that always answers the same thing."""

    def __init__(self, guess: ContentGuess) -> None:
        self.guess = guess
        self.asked: list[tuple[bytes, bytes, int]] = []

    def classify(self, head: bytes, tail: bytes, size: int) -> ContentGuess:
        self.asked.append((head, tail, size))
        return self.guess


BINARY = b"\x00\x01\x02" + bytes(range(3, 200))


def unsure(label: str, *top: tuple[str, float]) -> FixedGuess:
    return FixedGuess(ContentGuess(label, 0.3, False, top or ((label, 0.3),)))


def route_binary(name: str | None, classifier: FixedGuess | None) -> Route:
    return route(BINARY, size=len(BINARY), name=name, magika=classifier, settings=LIMITS)


def test_an_unsure_model_lets_a_declared_type_decide_from_the_support_threshold_up() -> None:
    at = unsure("mp3", ("mp3", 0.5), ("wav", DECLARED_SUPPORT))
    assert route_binary("a.wav", at) == Route(Modality.AUDIO, "audio/wav", "declared")
    below = unsure("mp3", ("mp3", 0.5), ("wav", DECLARED_SUPPORT - 0.01))
    with pytest.raises(PermanentError):
        route_binary("a.wav", below)


def test_an_unsure_model_never_lets_a_refused_declared_type_decide() -> None:
    guess = unsure("zip", ("zip", 0.5), ("docx", 0.4))
    with pytest.raises(PermanentError) as caught:
        route_binary("a.docx", guess)
    assert caught.value.code is ErrorCode.UNSUPPORTED_TYPE


def test_an_unsure_model_still_tells_text_from_binary() -> None:
    # Content whose bytes are not UTF-8 text: text by the model, refused as not UTF-8.
    with pytest.raises(PermanentError) as caught:
        route_binary(None, unsure("python"))
    assert caught.value.code is ErrorCode.INVALID_ENCODING
    with pytest.raises(PermanentError) as binary:
        route_binary(None, unsure("pebin"))
    assert binary.value.code is ErrorCode.UNSUPPORTED_TYPE
    assert "unidentified or random binary data" in binary.value.message


def test_a_confident_model_decides_and_without_one_unknown_bytes_are_refused() -> None:
    sure = FixedGuess(ContentGuess("mp3", 0.99, True, (("mp3", 0.99),)))
    assert route_binary("a.png", sure) == Route(Modality.AUDIO, "audio/mpeg", "magika")
    with pytest.raises(PermanentError) as caught:
        route_binary("a.mp3", None)
    assert caught.value.code is ErrorCode.UNSUPPORTED_TYPE
    assert "unidentified or random binary data are not supported yet" in caught.value.message


def test_the_model_sees_the_head_the_tail_and_the_size() -> None:
    guess = FixedGuess(ContentGuess("mp3", 0.99, True, (("mp3", 0.99),)))
    route(BINARY, size=10_000, tail=b"the tail", magika=guess, settings=LIMITS)
    assert guess.asked == [(BINARY, b"the tail", 10_000)]


def test_the_tail_is_read_only_when_the_magic_bytes_do_not_decide() -> None:
    reads: list[int] = []

    def tail() -> bytes:
        reads.append(1)
        return b"words"

    png = b"\x89PNG\r\n\x1a\n" + bytes(100)
    assert route(png, size=10_000, tail=tail, settings=LIMITS).detected_by == "magic"
    assert reads == []
    assert route(b"plain words", size=10_000, tail=tail, settings=LIMITS).detected_by == "text"
    assert reads == [1]


@pytest.mark.parametrize("shift", range(4))
def test_text_whose_tail_starts_inside_a_four_byte_character_is_text(shift: int) -> None:
    # A four-byte character (an emoji) has three continuation bytes: at one of these
    # shifts the last 4 KiB start right after its first byte. (Only two were skipped.)
    body = b"plain words " * 400 + "😀".encode() * 2000 + b"!" * shift
    tail = body[-TAIL_BYTES:]
    found = route(body[:HEAD_BYTES], size=len(body), tail=tail, settings=LIMITS)
    assert found == Route(Modality.TEXT, "text/plain", "text")


def test_a_whole_small_file_that_is_not_json_is_plain_text() -> None:
    broken = b'{"a": [1, 2'
    assert route(broken, size=len(broken), settings=LIMITS).media_type == "text/plain"
    assert route(broken, size=10_000, settings=LIMITS).media_type == "application/json"


def test_a_tail_read_on_demand_decides_like_a_tail_given() -> None:
    with pytest.raises(PermanentError) as caught:
        route(b"plain words", size=10_000, tail=lambda: b"\xff\xfe\x00\x01", settings=LIMITS)
    assert caught.value.code is ErrorCode.UNSUPPORTED_TYPE


def test_a_declared_content_type_counts_like_a_name() -> None:
    archive = zipped(b"photo.jpg")
    with pytest.raises(PermanentError) as caught:
        route(archive, size=len(archive), declared_type="application/pdf", settings=LIMITS)
    assert "declared as PDF documents" in caught.value.message


def test_plain_text_takes_the_text_format_its_name_declares() -> None:
    words = b"plain words, nothing more"
    as_markdown = route(words, size=len(words), name="notes.md", settings=LIMITS)
    assert as_markdown == Route(Modality.TEXT, "text/markdown", "text")
    as_image = route(words, size=len(words), name="photo.png", settings=LIMITS)
    assert as_image == Route(Modality.TEXT, "text/plain", "text")


def test_a_file_of_exactly_its_modalitys_limit_is_routed_one_byte_more_is_too_large() -> None:
    limits = load_settings({}, max_text_bytes=100)
    assert route(b"words", size=100, settings=limits).modality is Modality.TEXT
    with pytest.raises(PermanentError) as caught:
        route(b"words", size=101, settings=limits)
    assert caught.value.code is ErrorCode.TOO_LARGE
    assert caught.value.message == (
        "the plain text file is 101 bytes; the limit for text is 100 bytes"
    )


@pytest.mark.parametrize(
    ("head", "size"), [(b"", 5), (b"abc", 2), (b"abc", -1)], ids=["no_head", "head_past", "neg"]
)
def test_a_head_that_cannot_be_the_files_is_a_programming_error(head: bytes, size: int) -> None:
    with pytest.raises(ValueError, match="does not fit"):
        route(head, size=size, settings=LIMITS)


def test_an_empty_file_is_refused_as_empty() -> None:
    with pytest.raises(PermanentError) as caught:
        route(b"", size=0, settings=LIMITS)
    assert (caught.value.code, caught.value.message) == (ErrorCode.EMPTY, "the file is empty")


def test_a_refusal_names_the_content_what_it_was_declared_as_and_what_is_supported() -> None:
    archive = zipped(b"photo.jpg")
    with pytest.raises(PermanentError) as lying:
        route(archive, size=len(archive), name="report.pdf", settings=LIMITS)
    assert lying.value.message == (
        "the file is declared as PDF documents but its content is ZIP archives: "
        f"ZIP archives are not supported yet; supported: {SUPPORTED}"
    )
    with pytest.raises(PermanentError) as honest:
        route(archive, size=len(archive), name="photos.zip", settings=LIMITS)
    assert honest.value.message == f"ZIP archives are not supported yet; supported: {SUPPORTED}"


def test_text_that_is_not_utf8_is_told_how_to_fix_it() -> None:
    utf16 = "words".encode("utf-16")
    with pytest.raises(PermanentError) as caught:
        route(utf16, size=len(utf16), name="notes.pdf", settings=LIMITS)
    assert caught.value.code is ErrorCode.INVALID_ENCODING
    assert caught.value.message == (
        "the text is not UTF-8 (e.g. Latin-1 or UTF-16): save it as UTF-8"
    )


def test_a_guess_gives_the_probability_of_any_label_it_ranked() -> None:
    guess = ContentGuess("mp3", 0.5, False, (("mp3", 0.5), ("wav", 0.2)))
    assert guess.probability("wav") == 0.2
    assert guess.probability("png") == 0.0


def test_utf8_with_too_many_control_bytes_is_text_when_an_unsure_model_says_so() -> None:
    noisy = b"a\x01" * 50  # UTF-8, but half of it control bytes: the sniffing refuses it
    found = route(noisy, size=len(noisy), magika=unsure("python"), settings=LIMITS)
    assert found == Route(Modality.TEXT, "text/plain", "magika")
