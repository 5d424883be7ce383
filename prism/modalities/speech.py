"""Speech to text: Whisper (tiny.en by default, or multilingual base), int8 ONNX, greedy
decoding.

Runs only on the speech the VAD found: its spans are packed, in order, into windows of
at most 29.5 s of the recording, and a span longer than that is cut into pieces, so
silence before, between and after speech costs nothing unless it sits inside a window.
Whisper hears each window with 0.25 s of the recording on either side (its context is
30 s). Each window is one transcript segment with its start and end.

features: Whisper's log-mel spectrogram (80 Slaney mel bands, 25 ms Hann window, 10 ms
hop, the window zero-padded to 30 s), in NumPy — the filter bank is a build asset.
encode: the encoder graph returns every decoder layer's cross-attention keys and
values, computed once per window.
decode: one token per decoder call, its self-attention cache growing a position per
call and held in ONNX Runtime between calls (:class:`Whisper`), greedy, from
``<|startoftranscript|><|notimestamps|>`` (an English-only model) or
``<|startoftranscript|><|xx|><|transcribe|><|notimestamps|>`` (a multilingual one,
``xx`` the configured language); the tokens Whisper never emits in text are
suppressed, and a window's token budget grows with its length, so a hallucination loop
stops early.
language: with ``auto`` a multilingual model's first step (after start of transcript)
picks the language token with the highest logit, per window, and decoding goes on from
that token; the transcript records the language, set or detected.
detokenize: ``tokenizers`` with the model's own ``tokenizer.json``.
No torch and no transformers at run time.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from prism.errors import ConfigurationError
from prism.onnx.registry import ModelSpec, Precision
from prism.onnx.sessions import get_session

if TYPE_CHECKING:
    import numpy as np

SAMPLE_RATE = 16_000
WINDOW_SECONDS = 30.0
N_FFT = 400
HOP = 160
FRAMES = 3000  # 30 s of 10 ms hops
# Tokens a window may produce: Whisper's own cap (half its 448 positions), and at most
# TOKENS_PER_SECOND per second of the window plus a few, far above real speech (~3–4).
MAX_WINDOW_TOKENS = 224
TOKENS_PER_SECOND = 8
EXTRA_TOKENS = 16
WINDOWS_PER_CALL = 4
# Audio Whisper hears on each side of a window, where the recording has it: the VAD's
# spans end 30 ms after the last speech frame, which can clip a word's tail (measured:
# "where the speech is" became "where must be, kids" on a span cut that close).
CONTEXT_SECONDS = 0.25
AUTO = "auto"
# Whisper's language codes in the order of its language tokens (<|en|> = 50259 …; the
# build checks the tokenizer against this list), so a language is validated from the
# manifest alone, before any model file is read.
WHISPER_LANGUAGES = (
    "en", "zh", "de", "es", "ru", "ko", "fr", "ja", "pt", "tr", "pl", "ca", "nl", "ar",
    "sv", "it", "id", "hi", "fi", "vi", "he", "uk", "el", "ms", "cs", "ro", "da", "hu",
    "ta", "no", "th", "ur", "hr", "bg", "lt", "la", "mi", "ml", "cy", "sk", "te", "fa",
    "lv", "bn", "sr", "az", "sl", "kn", "et", "mk", "br", "eu", "is", "hy", "ne", "mn",
    "bs", "kk", "sq", "sw", "gl", "mr", "pa", "si", "km", "sn", "yo", "so", "af", "oc",
    "ka", "be", "tg", "sd", "gu", "am", "yi", "lo", "uz", "fo", "ht", "ps", "tk", "nn",
    "mt", "sa", "lb", "my", "bo", "tl", "mg", "as", "tt", "haw", "ln", "ha", "ba", "jw",
    "su",
)  # fmt: skip


def check_language(language: str, model: str, *, multilingual: bool) -> None:
    """Raise ConfigurationError unless ``model`` can transcribe ``language`` (a Whisper
    language code, or ``auto`` for a multilingual model)."""
    from prism.settings import Env

    if not multilingual:
        if language != "en":
            raise ConfigurationError(
                f"{Env.SPEECH_LANGUAGE}={language!r}: {model} is an English-only model, "
                f"so the language is 'en'; for another language (or 'auto') set "
                f"{Env.SPEECH_MODEL} to a multilingual model (whisper-base)"
            )
        return
    if language != AUTO and language not in WHISPER_LANGUAGES:
        raise ConfigurationError(
            f"{Env.SPEECH_LANGUAGE}={language!r} is not a Whisper language: 'auto' or one "
            f"of {', '.join(WHISPER_LANGUAGES)}"
        )


def plan_windows(
    spans: Sequence[tuple[int, int]], sample_rate: int, max_seconds: float = WINDOW_SECONDS
) -> list[tuple[int, int]]:
    """Windows (sample spans) over the speech ``spans``: consecutive spans share a window
    while the window, from its first span's start to its last span's end, lasts at most
    ``max_seconds``; a span longer than that is cut into pieces that do."""
    limit = int(max_seconds * sample_rate)
    pieces: list[tuple[int, int]] = []
    for span_start, end in spans:
        start = span_start
        while end - start > limit:
            pieces.append((start, start + limit))
            start += limit
        if end > start:
            pieces.append((start, end))
    windows: list[tuple[int, int]] = []
    for start, end in pieces:
        if windows and end - windows[-1][0] <= limit:
            windows[-1] = (windows[-1][0], end)
        else:
            windows.append((start, end))
    return windows


def log_mel(samples: np.ndarray, filters: np.ndarray) -> np.ndarray:
    """Whisper's (80, 3000) log-mel features of up to 30 s of 16 kHz audio."""
    import numpy as np

    audio = np.zeros(int(WINDOW_SECONDS * SAMPLE_RATE), dtype=np.float32)
    audio[: min(samples.size, audio.size)] = samples[: audio.size]
    padded = np.pad(audio, N_FFT // 2, mode="reflect")
    window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP][:FRAMES]
    power = np.abs(np.fft.rfft(frames * window, axis=1)) ** 2
    mel = filters.astype(np.float32) @ power.T.astype(np.float32)
    log_spec = np.log10(np.maximum(mel, 1e-10))
    log_spec = np.maximum(log_spec, log_spec.max() - 8.0)
    features: np.ndarray = ((log_spec + 4.0) / 4.0).astype(np.float32)
    return features


def window_token_budget(seconds: float) -> int:
    return min(MAX_WINDOW_TOKENS, math.ceil(seconds * TOKENS_PER_SECOND) + EXTRA_TOKENS)


@dataclass(frozen=True)
class Generation:
    """The decoding constants of one Whisper model (the build's ``generation.json``).
    ``languages`` (code → token) is empty for an English-only model."""

    start_of_transcript: int
    no_timestamps: int
    end_of_text: int
    suppress: tuple[int, ...]
    suppress_at_start: tuple[int, ...]
    positions: int  # the decoder's positions: prompt and text together
    transcribe: int | None = None
    languages: dict[str, int] = field(default_factory=dict, hash=False)

    @property
    def multilingual(self) -> bool:
        return bool(self.languages)

    @property
    def prompt(self) -> tuple[int, ...]:
        """The English prompt (see :meth:`prompt_for`)."""
        return self.prompt_for("en")

    def prompt_for(self, language: str) -> tuple[int, ...]:
        """The tokens decoding starts from. With ``auto`` the language token is a
        placeholder: the first decoder step chooses it."""
        if not self.multilingual:
            check_language(language, "this model", multilingual=False)
            return (self.start_of_transcript, self.no_timestamps)
        if self.transcribe is None:
            raise ConfigurationError(
                "a multilingual model's generation.json has no transcribe token"
            )
        if language == AUTO:
            slot = self.languages["en"]
        elif language in self.languages:
            slot = self.languages[language]
        else:
            raise ConfigurationError(f"the model has no language token for {language!r}")
        return (self.start_of_transcript, slot, self.transcribe, self.no_timestamps)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Generation:
        transcribe = data.get("transcribe")
        return cls(
            int(data["start_of_transcript"]),
            int(data["no_timestamps"]),
            int(data["end_of_text"]),
            tuple(int(i) for i in data["suppress"]),
            tuple(int(i) for i in data["suppress_at_start"]),
            int(data["positions"]),
            None if transcribe is None else int(transcribe),
            {str(code): int(token) for code, token in data.get("languages", {}).items()},
        )


@dataclass(frozen=True)
class Decoded:
    """One window's text tokens and the language it was transcribed in."""

    tokens: list[int]
    language: str


def greedy_decode(
    whisper: Decoder,
    features: np.ndarray,
    generation: Generation,
    budgets: Sequence[int],
    *,
    language: str = "en",
) -> list[list[int]]:
    """Text tokens of each window of ``features`` (batch, 80, 3000), greedily."""
    decoded = decode_windows(whisper, features, generation, budgets, language=language)
    return [window.tokens for window in decoded]


def detect_language(logits: np.ndarray, languages: dict[str, int]) -> list[str]:
    """Each row's language: the language token with the highest logit, the other
    tokens aside (Whisper's own detection, from the step after start of transcript)."""
    import numpy as np

    codes = list(languages)
    columns = np.array([languages[code] for code in codes])
    return [codes[int(i)] for i in np.asarray(logits)[:, columns].argmax(axis=1)]


class Whisper:
    """Whisper's two graphs run as a pair, every cache kept inside ONNX Runtime.

    :meth:`start` encodes a batch of windows with IO binding and binds the encoder's
    outputs (each decoder layer's cross-attention keys and values) as the decoder's
    inputs as they are; each decoder step's self-attention caches, one position longer,
    are bound as the next step's inputs. No cache is ever copied out to NumPy: a step
    takes its tokens in and gives its logits out. The graphs keep every cache in the
    layout attention reads, so a step does not copy them either (``models/speech.py``).
    """

    def __init__(self, encoder: Any, decoder: Any) -> None:
        self.encoder, self.decoder = encoder, decoder
        self.cross = [meta.name for meta in encoder.get_outputs()]
        # The self-attention caches: the decoder's inputs the encoder does not give,
        # each with its shape (ints, "batch", and the growing "past" axis).
        self.caches = {
            meta.name: meta.shape
            for meta in decoder.get_inputs()
            if meta.name != "tokens" and meta.name not in self.cross
        }

    def start(self, features: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
        """Encode ``features`` (batch, 80, 3000); the step function of the batch:
        ``tokens`` (batch, 1) in, the next token's logits (batch, vocabulary) out."""
        import numpy as np

        batch = features.shape[0]
        encoding = self.encoder.io_binding()
        encoding.bind_cpu_input("mel", features)
        for name in self.cross:
            encoding.bind_output(name, "cpu")
        self.encoder.run_with_iobinding(encoding)
        binding = self.decoder.io_binding()
        for name, value in zip(self.cross, encoding.get_outputs(), strict=True):
            binding.bind_ortvalue_input(name, value)
        # ONNX Runtime reads bound NumPy arrays in place: they must outlive the binding.
        bound = {
            name: np.zeros(
                [batch if dim == "batch" else 0 if isinstance(dim, str) else dim for dim in shape],
                dtype=np.float32,
            )
            for name, shape in self.caches.items()
        }
        for name, array in bound.items():
            binding.bind_cpu_input(name, array)
        outputs = ["logits", *(f"new_{name}" for name in self.caches)]

        def step(tokens: np.ndarray) -> np.ndarray:
            bound["tokens"] = tokens
            binding.bind_cpu_input("tokens", tokens)
            for name in outputs:
                binding.bind_output(name, "cpu")
            self.decoder.run_with_iobinding(binding)
            logits, *grown = binding.get_outputs()
            for name, value in zip(self.caches, grown, strict=True):
                binding.bind_ortvalue_input(name, value)
            return np.array(logits.numpy(), dtype=np.float32)  # a copy of its own, writable

        return step


class Decoder(Protocol):
    def start(self, features: np.ndarray) -> Callable[[np.ndarray], np.ndarray]: ...


def decode_windows(
    whisper: Decoder,
    features: np.ndarray,
    generation: Generation,
    budgets: Sequence[int],
    *,
    language: str = "en",
) -> list[Decoded]:
    """Each window of ``features`` (batch, 80, 3000) decoded greedily in ``language``
    (or, with ``auto`` on a multilingual model, the language detected per window)."""
    import numpy as np

    step = whisper.start(features)
    batch = features.shape[0]
    # One prompt per window: with "auto", position 1 (the language) is each window's own.
    prompt = np.tile(np.array(generation.prompt_for(language), dtype=np.int64), (batch, 1))
    detect = language == AUTO and generation.multilingual
    languages = [language] * batch
    tokens: list[list[int]] = [[] for _ in range(batch)]
    done = np.zeros(batch, dtype=bool)
    current = prompt[:, :1].copy()
    never = never_first = np.zeros(0, dtype=bool)
    for position in range(min(generation.positions, prompt.shape[1] + max(budgets))):
        logits = step(current)
        if position == 0:
            never, never_first = _never_chosen(generation, logits.shape[1])
            if detect:
                languages = detect_language(logits, generation.languages)
                prompt[:, 1] = [generation.languages[code] for code in languages]
        if position + 1 < prompt.shape[1]:
            current = prompt[:, position + 1 : position + 2].copy()
            continue
        logits[:, never_first if position + 1 == prompt.shape[1] else never] = -np.inf
        chosen = logits.argmax(axis=1)
        for index in range(batch):
            if done[index]:
                continue
            if chosen[index] == generation.end_of_text or len(tokens[index]) >= budgets[index]:
                done[index] = True
            else:
                tokens[index].append(int(chosen[index]))
        if done.all():
            break
        current = np.where(done, generation.end_of_text, chosen).astype(np.int64)[:, None]
    return [Decoded(ids, code) for ids, code in zip(tokens, languages, strict=True)]


def _never_chosen(generation: Generation, vocabulary: int) -> tuple[np.ndarray, np.ndarray]:
    """The tokens never chosen: the suppressed ones and every special token (end of text
    and above) but end of text itself; at the first text position, also those
    suppressed at the start. Worked out once per batch, not at every step."""
    import numpy as np

    never = np.zeros(vocabulary, dtype=bool)
    never[list(generation.suppress)] = True
    never[generation.end_of_text + 1 :] = True
    never_first = never.copy()
    never_first[list(generation.suppress_at_start)] = True
    return never, never_first


_SPACES = re.compile(r"\s+")


def is_multilingual(spec: ModelSpec) -> bool:
    """Whether the manifest says ``spec`` transcribes languages other than English."""
    return bool(spec.entry.get("multilingual", False))


class SpeechTranscriber:
    """Whisper on the speech spans of one recording (see the module docstring)."""

    def __init__(
        self,
        spec: ModelSpec,
        *,
        threads: int,
        precision: Precision | None = None,
        language: str = "en",
    ) -> None:
        check_language(language, spec.name, multilingual=is_multilingual(spec))
        self.spec = spec
        self.threads = threads
        self.precision = precision
        self.language = language
        self._assets: tuple[Any, Any, Generation] | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    def _load(self) -> tuple[Any, Any, Generation]:
        if self._assets is None:
            import numpy as np
            from tokenizers import Tokenizer

            filters = np.load(self.spec.asset("mel_filters.npy"), allow_pickle=False)
            tokenizer = Tokenizer.from_file(str(self.spec.asset("tokenizer.json")))
            generation = Generation.from_json(
                json.loads(self.spec.asset("generation.json").read_text("utf-8"))
            )
            self._assets = (filters, tokenizer, generation)
        return self._assets

    def transcribe(self, samples: np.ndarray, spans: Sequence[tuple[int, int]]) -> dict[str, Any]:
        """``{"text", "segments": [{"start", "end", "text"}]}`` for 16 kHz ``samples``
        whose speech lies in ``spans`` (sample offsets)."""
        import numpy as np

        context = int(CONTEXT_SECONDS * SAMPLE_RATE)
        windows = plan_windows(spans, SAMPLE_RATE, WINDOW_SECONDS - 2 * CONTEXT_SECONDS)
        if not windows:
            return self._transcript([], [], None if self.language == AUTO else self.language)
        filters, tokenizer, generation = self._load()
        precision = self.precision or self.spec.runtime_precision
        whisper = Whisper(
            get_session(self.spec.onnx_path(precision, "encoder"), self.threads),
            get_session(self.spec.onnx_path(precision, "decoder"), self.threads),
        )
        segments: list[dict[str, Any]] = []
        texts: list[str] = []
        spoken: Counter[str] = Counter()  # samples of speech per language
        for first in range(0, len(windows), WINDOWS_PER_CALL):
            group = windows[first : first + WINDOWS_PER_CALL]
            features = np.stack(
                [
                    log_mel(samples[max(0, start - context) : end + context], filters)
                    for start, end in group
                ]
            )
            budgets = [window_token_budget((end - start) / SAMPLE_RATE) for start, end in group]
            decoded = decode_windows(whisper, features, generation, budgets, language=self.language)
            for (start, end), window in zip(group, decoded, strict=True):
                spoken[window.language] += end - start
                text = tokenizer.decode(window.tokens, skip_special_tokens=True)
                text = _SPACES.sub(" ", text).strip()
                if text:
                    texts.append(text)
                    segment = {
                        "start": round(start / SAMPLE_RATE, 3),
                        "end": round(end / SAMPLE_RATE, 3),
                        "text": text,
                    }
                    if self.language == AUTO:
                        segment["language"] = window.language
                    segments.append(segment)
        # Set, or detected: the language of the most speech.
        language = spoken.most_common(1)[0][0] if self.language == AUTO else self.language
        return self._transcript(texts, segments, language)

    def _transcript(
        self, texts: list[str], segments: list[dict[str, Any]], language: str | None
    ) -> dict[str, Any]:
        return {
            "text": " ".join(texts),
            "segments": segments,
            "model": self.name,
            "language": language,
        }
