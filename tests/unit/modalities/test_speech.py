"""Speech to text without the model: windows over speech, Whisper's features, greedy
decoding against scripted sessions, and the engine's speech setting."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from prism.errors import ConfigurationError
from prism.inference.engine import Engine
from prism.modalities.speech import (
    FRAMES,
    MAX_WINDOW_TOKENS,
    WHISPER_LANGUAGES,
    Generation,
    SpeechTranscriber,
    check_language,
    decode_windows,
    detect_language,
    greedy_decode,
    log_mel,
    plan_windows,
    window_token_budget,
)
from prism.modality import Modality
from prism.onnx.registry import model_named
from prism.settings import Settings

RATE = 16_000


def seconds(*spans: tuple[float, float]) -> list[tuple[int, int]]:
    return [(int(start * RATE), int(end * RATE)) for start, end in spans]


# ---- windows over the speech ----------------------------------------------------------


def test_no_speech_gives_no_window() -> None:
    assert plan_windows([], RATE) == []


def test_nearby_speech_spans_share_a_window() -> None:
    assert plan_windows(seconds((1, 4), (6, 10), (12, 20)), RATE) == seconds((1, 20))


def test_a_window_never_spans_more_than_30_seconds() -> None:
    windows = plan_windows(seconds((0, 10), (15, 25), (29, 40), (41, 45)), RATE)
    assert windows == seconds((0, 25), (29, 45))
    assert all(end - start <= 30 * RATE for start, end in windows)


def test_a_span_longer_than_a_window_is_cut_into_windows() -> None:
    assert plan_windows(seconds((5, 70)), RATE) == seconds((5, 35), (35, 65), (65, 70))


def test_silence_between_windows_is_never_transcribed() -> None:
    windows = plan_windows(seconds((0, 2), (100, 102)), RATE)
    assert windows == seconds((0, 2), (100, 102))


def test_the_token_budget_grows_with_the_window_up_to_whispers_cap() -> None:
    assert window_token_budget(1.0) < window_token_budget(10.0) <= MAX_WINDOW_TOKENS
    assert window_token_budget(30.0) == MAX_WINDOW_TOKENS


# ---- features -------------------------------------------------------------------------


def reference_frame(audio: np.ndarray, filters: np.ndarray, index: int) -> np.ndarray:
    """One frame of Whisper's log-mel before its clamp: reflect-padded, periodic Hann,
    power spectrum through the filter bank, log10."""
    padded = np.zeros(30 * RATE, dtype=np.float64)
    padded[: audio.size] = audio
    padded = np.pad(padded, 200, mode="reflect")
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(400) / 400)
    spectrum = np.abs(np.fft.rfft(padded[index * 160 : index * 160 + 400] * window)) ** 2
    result: np.ndarray = np.log10(np.maximum(filters @ spectrum, 1e-10))
    return result


def test_log_mel_matches_a_frame_by_frame_reference() -> None:
    rng = np.random.default_rng(0)
    audio = (0.1 * rng.standard_normal(3 * RATE)).astype(np.float32)
    filters = np.abs(rng.standard_normal((80, 201))).astype(np.float32) * 0.01
    features = log_mel(audio, filters)
    assert features.shape == (80, FRAMES) and features.dtype == np.float32
    floor = (features.min() * 4.0) - 4.0  # the clamp: max − 8 in log10 units
    for index in (0, 1, 150, 299):
        expected = np.maximum(reference_frame(audio, filters, index), floor)
        np.testing.assert_allclose(features[:, index], (expected + 4.0) / 4.0, atol=2e-4)


def test_log_mel_pads_short_audio_with_silence_and_cuts_long_audio_at_30_seconds() -> None:
    filters = np.full((80, 201), 0.01, dtype=np.float32)
    tone = np.sin(np.arange(40 * RATE) * 0.1).astype(np.float32)
    np.testing.assert_array_equal(log_mel(tone, filters), log_mel(tone[: 30 * RATE], filters))
    short = log_mel(tone[:RATE], filters)
    assert short[:, 10].mean() > short[:, 2000].mean()  # speech, then the padding


# ---- greedy decoding ------------------------------------------------------------------

VOCABULARY = 16
POSITIONS = 8
GENERATION = Generation(
    start_of_transcript=10,
    no_timestamps=11,
    end_of_text=9,
    suppress=(3,),
    suppress_at_start=(4,),
    positions=POSITIONS,
)


class ScriptedDecoder:
    """Logits from a script: ``wanted[row][step]`` is the best token for that row at that
    step (later entries repeat the last); ``runner_up`` comes second everywhere."""

    def __init__(self, wanted: list[list[int]], runner_up: int = 5) -> None:
        self.wanted, self.runner_up = wanted, runner_up
        self.fed: list[np.ndarray] = []
        self.positions: list[int] = []

    def start(self, features: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
        assert features.shape == (len(self.wanted), 80, FRAMES)
        self.fed.clear()
        self.positions.clear()

        def step(tokens: np.ndarray) -> np.ndarray:
            position = len(self.fed)  # the cache holds one position per step so far
            self.fed.append(tokens.copy())
            self.positions.append(position)
            logits = np.zeros((tokens.shape[0], VOCABULARY), np.float32)
            for row, script in enumerate(self.wanted):
                logits[row, self.runner_up] = 1.0
                logits[row, script[min(position, len(script) - 1)]] = 2.0
            return logits

        return step


def decode(decoder: ScriptedDecoder, budgets: list[int]) -> list[list[int]]:
    features = np.zeros((len(budgets), 80, FRAMES), np.float32)
    return greedy_decode(decoder, features, GENERATION, budgets)


def test_the_prompt_is_fed_first_and_each_chosen_token_next() -> None:
    # Steps 0–1 read the prompt; the tokens chosen at steps 1, 2, 3 are 6, 7, end.
    decoder = ScriptedDecoder([[0, 6, 7, 9]])
    assert decode(decoder, [10]) == [[6, 7]]
    assert [int(fed[0, 0]) for fed in decoder.fed] == [10, 11, 6, 7]
    assert decoder.positions == [0, 1, 2, 3]


def test_suppressed_and_special_tokens_are_never_chosen() -> None:
    # 3 is suppressed, 12 is a special token above end of text, 4 only at the start.
    assert decode(ScriptedDecoder([[0, 4, 3, 12, 4, 9]]), [10]) == [[5, 5, 5, 4]]


def test_a_window_stops_at_its_token_budget() -> None:
    assert decode(ScriptedDecoder([[0, 7]]), [3]) == [[7, 7, 7]]


def test_windows_of_a_batch_finish_independently() -> None:
    decoder = ScriptedDecoder([[0, 6, 9], [0, 7, 7, 8, 9]])
    assert decode(decoder, [10, 10]) == [[6], [7, 7, 8]]
    # A finished row is fed end of text while the other goes on.
    assert [int(fed[0, 0]) for fed in decoder.fed[3:]] == [9, 9]


def test_decoding_never_runs_past_the_cache() -> None:
    decoder = ScriptedDecoder([[0, 7]])
    # Positions 1 … POSITIONS − 1 each choose a token; none is fed past the cache.
    assert len(decode(decoder, [100])[0]) == POSITIONS - 1
    assert max(decoder.positions) == POSITIONS - 1


# ---- the transcriber and the engine's setting ----------------------------------------


def test_audio_without_speech_is_not_transcribed(tmp_path: Path) -> None:
    # No model files exist here: with no span to transcribe, none is opened.
    transcriber = SpeechTranscriber(model_named("whisper-tiny-en", tmp_path), threads=1)
    result = transcriber.transcribe(np.zeros(RATE, np.float32), [])
    assert result == {"text": "", "segments": [], "model": "whisper-tiny-en", "language": "en"}
    # Nothing heard, nothing detected.
    detecting = SpeechTranscriber(model_named("whisper-base", tmp_path), threads=1, language="auto")
    assert detecting.transcribe(np.zeros(RATE, np.float32), [])["language"] is None


def test_the_speech_model_setting_is_part_of_the_audio_configuration(tmp_path: Path) -> None:
    settings = Settings(model_dir=tmp_path)
    on = Engine(settings).config_digest(Modality.AUDIO)
    off = Engine(replace(settings, speech_model="none")).config_digest(Modality.AUDIO)
    assert on != off


def test_speech_model_none_gives_audio_without_a_transcriber(tmp_path: Path) -> None:
    engine = Engine(Settings(model_dir=tmp_path, speech_model="none"))
    assert getattr(engine.handler(Modality.AUDIO), "transcriber", "missing") is None
    engine = Engine(Settings(model_dir=tmp_path))
    transcriber = getattr(engine.handler(Modality.AUDIO), "transcriber", None)
    assert isinstance(transcriber, SpeechTranscriber)
    assert transcriber.name == "whisper-tiny-en"


def test_a_speech_model_that_is_not_one_is_a_configuration_error(tmp_path: Path) -> None:
    engine = Engine(Settings(model_dir=tmp_path, speech_model="efficientnet-lite0"))
    with pytest.raises(ConfigurationError, match="not a speech model"):
        engine.handler(Modality.AUDIO)


# ---- languages --------------------------------------------------------------------------

# A multilingual scripted model: language tokens above the transcribe token, as Whisper's.
MULTILINGUAL = replace(GENERATION, transcribe=8, languages={"en": 12, "de": 13, "es": 14})


def test_an_english_only_model_starts_from_start_of_transcript_and_no_timestamps() -> None:
    assert GENERATION.prompt_for("en") == GENERATION.prompt == (10, 11)
    assert not GENERATION.multilingual


def test_a_multilingual_model_is_told_the_language_and_to_transcribe() -> None:
    assert MULTILINGUAL.multilingual
    assert MULTILINGUAL.prompt_for("de") == (10, 13, 8, 11)
    assert MULTILINGUAL.prompt_for("en") == MULTILINGUAL.prompt == (10, 12, 8, 11)
    with pytest.raises(ConfigurationError, match="no language token"):
        MULTILINGUAL.prompt_for("fr")


@pytest.mark.parametrize("language", ["de", "auto"])
def test_an_english_only_model_refuses_another_language(language: str) -> None:
    with pytest.raises(ConfigurationError, match="English-only"):
        check_language(language, "whisper-tiny-en", multilingual=False)
    with pytest.raises(ConfigurationError, match="PRISM_SPEECH_LANGUAGE"):
        GENERATION.prompt_for(language)
    check_language("en", "whisper-tiny-en", multilingual=False)


def test_a_multilingual_model_takes_whisper_languages_or_auto() -> None:
    for language in ("en", "de", "es", "haw", "auto"):
        check_language(language, "whisper-base", multilingual=True)
    for wrong in ("", "EN", "german", "xx"):
        with pytest.raises(ConfigurationError, match="not a Whisper language"):
            check_language(wrong, "whisper-base", multilingual=True)
    assert len(WHISPER_LANGUAGES) == len(set(WHISPER_LANGUAGES)) == 99


def test_the_language_token_of_highest_logit_wins_other_tokens_aside() -> None:
    logits = np.zeros((2, VOCABULARY), np.float32)
    logits[0, [5, 13, 14]] = [9.0, 1.0, 2.0]  # a text token scores highest: not a language
    logits[1, [12, 13]] = [3.0, 2.0]
    assert detect_language(logits, MULTILINGUAL.languages) == ["es", "en"]


def test_auto_detects_each_windows_language_at_the_first_step_and_decodes_in_it() -> None:
    # Step 0 (after start of transcript) scores the languages: row 0 German, row 1 Spanish;
    # the chosen token is fed at position 1, then transcribe, no timestamps, then text.
    decoder = ScriptedDecoder([[13, 0, 0, 6, 9], [14, 0, 0, 7, 7, 9]])
    features = np.zeros((2, 80, FRAMES), np.float32)
    decoded = decode_windows(decoder, features, MULTILINGUAL, [10, 10], language="auto")
    assert [(d.tokens, d.language) for d in decoded] == [([6], "de"), ([7, 7], "es")]
    assert [fed[:, 0].tolist() for fed in decoder.fed[:4]] == [[10, 10], [13, 14], [8, 8], [11, 11]]


def test_a_set_language_is_fed_as_is_and_never_detected() -> None:
    decoder = ScriptedDecoder([[14, 0, 0, 6, 9]])  # step 0 prefers Spanish: ignored
    features = np.zeros((1, 80, FRAMES), np.float32)
    [decoded] = decode_windows(decoder, features, MULTILINGUAL, [10], language="de")
    assert (decoded.tokens, decoded.language) == ([6], "de")
    assert [int(fed[0, 0]) for fed in decoder.fed[:4]] == [10, 13, 8, 11]


def test_the_speech_language_is_part_of_the_audio_configuration(tmp_path: Path) -> None:
    settings = Settings(model_dir=tmp_path, speech_model="whisper-base")
    digests = {
        Engine(replace(settings, speech_language=language)).config_digest(Modality.AUDIO)
        for language in ("en", "de", "auto")
    }
    assert len(digests) == 3


def test_the_engine_refuses_a_language_its_speech_model_cannot_transcribe(tmp_path: Path) -> None:
    engine = Engine(Settings(model_dir=tmp_path, speech_language="de"))
    with pytest.raises(ConfigurationError, match="English-only"):
        engine.config_digest(Modality.AUDIO)
    with pytest.raises(ConfigurationError, match="English-only"):
        engine.handler(Modality.AUDIO)
    engine = Engine(Settings(model_dir=tmp_path, speech_model="whisper-base", speech_language="de"))
    transcriber = getattr(engine.handler(Modality.AUDIO), "transcriber", None)
    assert isinstance(transcriber, SpeechTranscriber) and transcriber.language == "de"
