"""Routing over a generated corpus, with honest and lying names and content types."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prism.errors import ErrorCode, PermanentError
from prism.modality import Modality
from prism.onnx.registry import ModelSpec
from prism.routing import ContentGuess, MagikaClassifier, Route, route
from prism.settings import load_settings
from tests.fixtures.corpus import Sample, audio_bytes, build_corpus, random_bytes

CORPUS = build_corpus()
LIMITS = load_settings(environ={})
ERROR_CODES = set(ErrorCode)


@pytest.fixture(scope="session")
def magika(router_spec: ModelSpec) -> MagikaClassifier:
    return MagikaClassifier(router_spec)


@pytest.fixture(scope="session")
def magika_package() -> Any:
    """The magika package itself: the reference our reimplementation must match."""
    from magika import Magika

    return Magika()


def route_whole(data: bytes, classifier: MagikaClassifier | None = None, **kwargs: object) -> Route:
    return route(data, size=len(data), magika=classifier, settings=LIMITS, **kwargs)  # type: ignore[arg-type]


def lying_extension(sample: Sample) -> str:
    return "report.pdf" if sample.modality is not None else "photo.jpg"


def expected_detector(sample: Sample) -> str:
    kinds = {
        "image": "magic",
        "audio": "magic",
        "text": "text",
        "document": "magic",
        "video": "magic",
    }
    return kinds[str(sample.modality)]


@pytest.mark.parametrize("sample", [s for s in CORPUS if s.modality], ids=lambda s: s.label)
@pytest.mark.parametrize("naming", ["no name", "true extension", "lying extension", "lying type"])
def test_supported_content_routes_by_content_whatever_it_is_called(
    sample: Sample, naming: str, magika: MagikaClassifier
) -> None:
    names = {
        "no name": {},
        "true extension": {"name": f"upload.{sample.extension}"},
        "lying extension": {"name": lying_extension(sample)},
        "lying type": {"declared_type": "application/zip"},
    }
    result = route_whole(sample.data, magika, **names[naming])
    assert result == Route(Modality(sample.modality), sample.media_type, expected_detector(sample))  # type: ignore[arg-type]


@pytest.mark.parametrize("sample", [s for s in CORPUS if not s.modality], ids=lambda s: s.label)
@pytest.mark.parametrize("name", [None, "upload.{ext}", "photo.jpg", "notes.txt", "voice.wav"])
def test_unsupported_content_is_refused_even_when_named_as_supported(
    sample: Sample, name: str | None, magika: MagikaClassifier
) -> None:
    with pytest.raises(PermanentError) as caught:
        route_whole(sample.data, magika, name=name and name.format(ext=sample.extension))
    assert caught.value.code is ErrorCode.UNSUPPORTED_TYPE
    assert "supported: images (PNG" in caught.value.message


def test_a_refusal_names_what_is_supported_documents_included() -> None:
    with pytest.raises(PermanentError) as caught:
        route_whole(next(s.data for s in CORPUS if s.label == "zip"))
    assert caught.value.message.startswith("ZIP archives are not supported yet; supported:")
    assert "audio (WAV" in caught.value.message
    assert "text (UTF-8" in caught.value.message
    assert "documents (PDF)" in caught.value.message


def test_pdf_named_jpg_is_a_document() -> None:
    pdf = next(s.data for s in CORPUS if s.label == "pdf")
    assert route_whole(pdf, name="scan.JPG").modality is Modality.DOCUMENT


def test_png_named_txt_is_an_image() -> None:
    png = next(s.data for s in CORPUS if s.label == "png")
    assert route_whole(png, name="notes.txt", declared_type="text/plain").modality is Modality.IMAGE


def test_random_bytes_are_refused_by_magika() -> None:
    data = random_bytes(4096, seed=11)
    with pytest.raises(PermanentError) as caught:
        route_whole(data)
    assert caught.value.code is ErrorCode.UNSUPPORTED_TYPE


def test_empty_file_is_empty() -> None:
    with pytest.raises(PermanentError) as caught:
        route(b"", size=0, settings=LIMITS)
    assert caught.value.code is ErrorCode.EMPTY


@pytest.mark.parametrize(
    ("label", "limit_field"),
    [("png", "max_image_bytes"), ("wav", "max_audio_bytes"), ("txt", "max_text_bytes")],
)
def test_each_modality_has_its_own_size_cap(label: str, limit_field: str) -> None:
    data = next(s.data for s in CORPUS if s.label == label)
    tight = load_settings(environ={}, **{limit_field: len(data) - 1})
    with pytest.raises(PermanentError) as caught:
        route(data, size=len(data), settings=tight)
    assert caught.value.code is ErrorCode.TOO_LARGE
    assert route(
        data, size=len(data), settings=load_settings(environ={}, **{limit_field: len(data)})
    )


def test_large_text_is_routed_from_its_head_with_a_character_cut_at_the_boundary() -> None:
    text = ("Grüße aus Köln — ünïcödé " * 400).encode("utf-8")
    cut = next(i for i in range(4000, 4096) if text[i] & 0xC0 == 0x80)
    with pytest.raises(UnicodeDecodeError):
        text[:cut].decode("utf-8")  # the head really ends inside a character
    result = route(text[:cut], size=len(text), tail=text[-1023:], settings=LIMITS)
    assert result == Route(Modality.TEXT, "text/plain", "text")


def test_text_whose_tail_is_binary_is_not_text() -> None:
    data = b"plain words " * 400 + random_bytes(2048)
    with pytest.raises(PermanentError):
        route(data[:4096], size=len(data), tail=data[-1024:], settings=LIMITS)


@pytest.mark.parametrize(
    "text", [b"BMW and Mercedes make cars.\n" * 3, b"MZ is a postcode prefix.\n" * 10]
)
def test_text_that_starts_like_a_binary_signature_is_text(text: bytes) -> None:
    assert route_whole(text).modality is Modality.TEXT


def test_text_with_nul_bytes_is_not_text(magika: MagikaClassifier) -> None:
    data = b"name\x00value\x00" * 100
    with pytest.raises(PermanentError) as caught:
        route_whole(data, magika)
    assert caught.value.code is ErrorCode.UNSUPPORTED_TYPE


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be"])
def test_utf16_text_asks_for_utf8(encoding: str, magika: MagikaClassifier) -> None:
    data = ("Hello, this is text. " * 50).encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data
    with pytest.raises(PermanentError) as caught:
        route_whole(data, magika)
    assert caught.value.code is ErrorCode.INVALID_ENCODING
    assert "UTF-8" in caught.value.message


def test_latin1_text_is_recognised_by_magika_and_asks_for_utf8(magika: MagikaClassifier) -> None:
    data = "Café crème, brûlée, naïve façade — déjà vu.\n".replace("—", "-").encode("latin-1")
    with pytest.raises(PermanentError) as caught:
        route_whole(data * 30, magika)
    assert caught.value.code is ErrorCode.INVALID_ENCODING


def test_mp3_without_id3_tag_is_found_by_its_frame_header() -> None:
    mp3 = audio_bytes("MP3", "MPEG_LAYER_III")
    assert mp3[:3] != b"ID3"
    assert route_whole(mp3) == Route(Modality.AUDIO, "audio/mpeg", "magic")


def test_ogg_with_another_codec_is_refused() -> None:
    page = b"OggS\x00\x02" + bytes(20) + b"\x01\x2a" + b"\x80theora" + bytes(40)
    with pytest.raises(PermanentError) as caught:
        route_whole(page)
    assert "Ogg streams of other codecs" in caught.value.message


class FixedGuess:
    """A content classifier that always answers the same (unsure) thing."""

    def __init__(self, guess: ContentGuess) -> None:
        self.guess = guess

    def classify(self, head: bytes, tail: bytes, size: int) -> ContentGuess:
        return self.guess


UNSURE_MP3 = ContentGuess("mp3", 0.3, False, (("mp3", 0.3), ("randombytes", 0.25)))
ODD_BYTES = b"\x00\x01" + random_bytes(200, seed=3)


def test_unsure_model_lets_a_declared_type_it_does_not_rule_out_decide() -> None:
    result = route(ODD_BYTES, size=len(ODD_BYTES), name="a.mp3", magika=FixedGuess(UNSURE_MP3))
    assert result == Route(Modality.AUDIO, "audio/mpeg", "declared")


@pytest.mark.parametrize("name", ["a.png", None])
def test_unsure_model_refuses_when_the_declared_type_is_ruled_out_or_absent(
    name: str | None,
) -> None:
    with pytest.raises(PermanentError) as caught:
        route(ODD_BYTES, size=len(ODD_BYTES), name=name, magika=FixedGuess(UNSURE_MP3))
    assert caught.value.code is ErrorCode.UNSUPPORTED_TYPE


def test_confident_model_beats_the_declared_type() -> None:
    sure_zip = FixedGuess(ContentGuess("zip", 0.99, True, (("zip", 0.99),)))
    with pytest.raises(PermanentError):
        route(ODD_BYTES, size=len(ODD_BYTES), name="a.mp3", magika=sure_zip)


@pytest.mark.parametrize("sample", CORPUS, ids=lambda s: s.label)
def test_features_match_the_magika_package(sample: Sample, magika: MagikaClassifier) -> None:
    import io

    from magika import Magika
    from magika.types.seekable import Seekable

    padded = b"  \n\t" + sample.data + b"\n\n   "
    config = magika.config
    reference = Magika._extract_features_from_seekable(
        Seekable(io.BytesIO(padded)), 1024, 0, 1024, 256, config.block_size, False
    )
    head, tail = padded[:4096], padded[-4096:]
    assert magika.features(head, tail, len(padded)) == reference.beg + reference.end


@pytest.mark.parametrize("sample", CORPUS, ids=lambda s: s.label)
def test_magika_predictions_match_the_magika_package(
    sample: Sample, magika: MagikaClassifier, magika_package: Any
) -> None:
    expected = magika_package.identify_bytes(sample.data).prediction
    guess = magika.classify(sample.data[:4096], sample.data[-4096:], len(sample.data))
    assert guess.label == str(expected.dl.label) or guess.label == "unknown"
    assert guess.score == pytest.approx(expected.score, abs=1e-4)


def _route_or_error(
    data: bytes, classifier: MagikaClassifier, name: str | None = None
) -> Route | PermanentError:
    try:
        return route(
            data[:4096], size=len(data), tail=data[-1024:], name=name, magika=classifier,
            settings=LIMITS,
        )  # fmt: skip
    except PermanentError as error:
        return error


def _is_route_or_coded_refusal(outcome: Route | PermanentError) -> bool:
    if isinstance(outcome, Route):
        return True
    return outcome.code in ERROR_CODES and bool(outcome.message)


FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@settings(FUZZ, max_examples=150)
@given(data=st.binary(min_size=1, max_size=6000), name=st.sampled_from([None, "a.jpg", "b.txt"]))
def test_any_bytes_give_a_route_or_a_coded_refusal(
    data: bytes, name: str | None, magika: MagikaClassifier
) -> None:
    assert _is_route_or_coded_refusal(_route_or_error(data, magika, name))


@settings(FUZZ, max_examples=100)
@given(prefix=st.sampled_from([s.data[:64] for s in CORPUS]), rest=st.binary(max_size=600))
def test_magic_prefixes_with_garbage_give_a_route_or_a_coded_refusal(
    prefix: bytes, rest: bytes, magika: MagikaClassifier
) -> None:
    assert _is_route_or_coded_refusal(_route_or_error(prefix + rest, magika))


def test_importing_routing_and_audio_loads_no_heavy_library() -> None:
    heavy = ["numpy", "onnxruntime", "librosa", "soundfile", "soxr", "magika", "PIL"]
    code = (
        "import sys, prism.routing, prism.modalities.audio\n"
        f"print([m for m in {heavy!r} if m in sys.modules])"
    )
    root = Path(__file__).resolve().parents[2]
    output = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    ).stdout
    assert output.strip() == "[]"
