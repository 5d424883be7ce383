"""Prism against the open tools a user would otherwise run, side by side in one run, on
inputs this bench makes and Prism's build never saw.

* **Speech** — Prism's Whisper (tiny.en, and base where built) against faster-whisper
  (CTranslate2, int8) loading the very weight files Prism's build converts, at 1 and 2
  threads. Both decode greedily, without timestamps, over the whole recording. Clips:
  held-out sentences in eSpeak NG voices the build's gate never uses, at other speeds,
  some under noise, and a long passage with pauses (more than one 30 s window).
* **OCR** — Prism's PP-OCRv4 against Tesseract 5 (``--psm 3``), one thread: pages set in
  the Liberation fonts (the build sets its pages in DejaVu and Pillow's font) at 9–14 pt
  and 200–300 dpi — prose, two columns, a table, a receipt — each also degraded like a
  scan (0.8–1.5° rotation, blur, noise, JPEG quality 40), and photos with words on them.

Each measurement is a fresh process (:mod:`bench.peer_run`) reading every input of its
kind; rounds are shuffled and the figures are medians. CPU seconds are the process's
and its children's (Tesseract runs as a process per page, as its command line is
used), the model loaded; the first call is a new process's wait for its first answer;
peak RSS is the process's own high-water mark (or its largest child's).
Error rates: words (:func:`models.speech.word_error_rate`) and characters, whitespace
runs as one space (:func:`models.ocr.character_error_rate`).

The peers are the bench's, never the app's: Tesseract from Debian (installed here when
missing and this user may), faster-whisper in ``.venv-peers``
(``bench/requirements-peers.txt``). ``--quick`` installs nothing and runs whichever
peer is already there; a missing peer is reported, with why, not measured.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from models.common import sha256_of
from prism.onnx.registry import load_manifest, model_named
from prism.settings import PROJECT_ROOT, get_settings

PEERS_VENV = PROJECT_ROOT / ".venv-peers"
PEERS_REQUIREMENTS = Path(__file__).with_name("requirements-peers.txt")
RUNNER = Path(__file__).with_name("peer_run.py")
ROUNDS = 3
THREADS = (1, 2)
SPEECH_MODELS = ("whisper-tiny-en", "whisper-base")
SAMPLE_RATE = 16_000

# Sentences the build's gate never speaks (models.datasets.TRANSCRIBED), without numbers.
SENTENCES = (
    "The library opens late on Thursdays because the staff meet in the morning.",
    "Please leave the parcel with the neighbour if nobody answers the door.",
    "A cold wind came down the valley and the farmers brought the sheep inside.",
    "She checked the invoice twice before she signed the contract.",
    "Our flight was delayed, so we had dinner at the airport.",
    "The committee will publish its report at the end of the month.",
    "He painted the fence green and planted roses along the path.",
    "Turn left at the bakery and the museum is on your right.",
)
# (eSpeak NG voice, words a minute, noise SNR in dB or None): none is a gate voice.
VOICES = (
    ("en-gb-scotland", 150, None),
    ("en-us-nyc", 160, 20.0),
    ("en-029", 150, None),
    ("en-gb-x-rp", 170, 15.0),
)

PROSE = (
    "Municipal water meters are read every quarter, and the bill follows within two "
    "weeks. Residents who find an unusual charge may ask for a second reading at no "
    "cost. The office keeps records for six years, after which they are destroyed. "
    "Payment can be made online, by post or at the counter on weekdays between nine "
    "and four. Late payments carry a fee of two percent per month, capped at thirty "
    "dollars. Questions about your account should quote the number printed at the top "
    "of this letter."
)
COLUMNS = (
    "The harbour was quiet before dawn. Fishing boats rocked against the pier while gulls "
    "waited on the posts for the first catch of the day.",
    "By noon the market was full. Traders called out prices for mackerel and crab, and "
    "children carried baskets between the stalls for a few coins.",
)
TABLE = (
    ("Item", "Qty", "Price"),
    ("Paper", "12", "4.50"),
    ("Stapler", "1", "8.99"),
    ("Folders", "30", "15.00"),
    ("Toner", "2", "64.20"),
)
RECEIPT = (
    "CORNER GROCERY",
    "Milk 2L 1.89",
    "Bread 2.40",
    "Apples 1kg 3.15",
    "Coffee 7.99",
    "TOTAL 15.43",
    "THANK YOU",
)
PHOTO_LINES = (("OPEN DAILY", "Fresh Bread"), ("PLATFORM 4", "Northbound"), ("NO PARKING",))


@dataclass(frozen=True)
class Item:
    """One input: its file and the text it holds."""

    kind: str  # "clean", "scanned", "photo" or "speech"
    path: Path
    text: str
    layout: str = ""  # a page's: prose, columns, table or receipt


# ---- the peers ----------------------------------------------------------------------


def debian[T](package: str, present: Callable[[], T | None], quick: bool) -> tuple[T | None, str]:
    """What ``present`` finds, after installing ``package`` from Debian when it finds
    nothing (never in ``--quick``; only as root or with sudo without a password), or
    None and why not."""
    found = present()
    if found or quick:
        return found, "" if found else f"{package} is not installed (--quick installs nothing)"
    command = ["apt-get", "install", "-y", "--no-install-recommends", package]
    if os.geteuid() != 0:
        if not shutil.which("sudo"):
            return None, f"{package} is not installed, and this user cannot install it"
        command = ["sudo", "-n", *command]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    found = present()
    return found, "" if found else f"apt-get install {package} failed: {done.stderr[-300:]}"


def liberation_fonts() -> list[Path] | None:
    found = sorted(Path("/usr/share/fonts/truetype").glob("liberation*/Liberation*-Regular.ttf"))
    return found or None


def peers_python(quick: bool) -> tuple[Path | None, str]:
    """The peers environment's interpreter, made when missing (not in ``--quick``); it
    counts as made once its requirements installed (a stamp, so a half-made one is
    made again)."""
    python, stamp = PEERS_VENV / "bin" / "python", PEERS_VENV / ".installed"
    if stamp.is_file() or quick:
        return (python, "") if stamp.is_file() else (None, "no .venv-peers (--quick)")
    base = shutil.which("python3.11") or shutil.which("python3")
    if base is None:
        return None, "no python3 to make .venv-peers with"
    for command in (
        [base, "-m", "venv", str(PEERS_VENV)],
        [str(python), "-m", "pip", "install", "-q", "-r", str(PEERS_REQUIREMENTS)],
    ):
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            return None, f"{' '.join(command[:3])} failed: {done.stderr.strip()[-300:]}"
    stamp.touch()
    return python, ""


def whisper_directory(python: Path, model: str, work: Path) -> Path:
    """A CTranslate2 model directory for faster-whisper, from the files in the peers
    environment that Prism's manifest names for ``model``, each hash-checked."""
    [entry] = [e for e in load_manifest()["models"] if e["name"] == model]
    upstream = entry["upstream"]
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
    )  # fmt: skip
    target = work / model
    target.mkdir(parents=True, exist_ok=True)
    weights = target / "model.bin"
    parts = [part["file"] for part in upstream.get("parts", [])] or [upstream["file"]]
    with weights.open("wb") as out:
        for part in parts:
            with (site / part).open("rb") as handle:
                shutil.copyfileobj(handle, out, 1 << 20)
    if sha256_of(weights) != upstream["sha256"]:
        raise RuntimeError(f"{model}: the peers' model.bin is not the one Prism converts")
    folder = (site / upstream["config"]).parent
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        shutil.copyfile(folder / name, target / name)
    return target


# ---- the inputs ---------------------------------------------------------------------


def write_wav(path: Path, audio: np.ndarray) -> None:
    pcm = (np.clip(audio, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(pcm.tobytes())


def speech_items(work: Path, quick: bool) -> list[Item]:
    from models.datasets import speak

    rng = np.random.default_rng(25)
    items = []
    pairs = [(SENTENCES[i], VOICES[i % len(VOICES)]) for i in range(len(SENTENCES))]
    for index, (text, (voice, rate, snr)) in enumerate(pairs[:1] if quick else pairs):
        audio = speak(text, SAMPLE_RATE, voice=voice, words_per_minute=rate)
        pad = np.zeros(SAMPLE_RATE // 2, dtype=np.float32)
        audio = np.concatenate([pad, audio, pad])
        if snr is not None:
            power = float(np.mean(audio**2)) / 10 ** (snr / 10)
            audio = audio + rng.normal(0.0, np.sqrt(power), audio.size).astype(np.float32)
        items.append(Item("speech", work / f"clip-{index:02d}.wav", text))
        write_wav(items[-1].path, audio)
    if not quick:  # a passage longer than one window, with pauses between sentences
        pieces = []
        for index, text in enumerate(SENTENCES):
            pieces.append(np.zeros(int(rng.uniform(1.0, 2.5) * SAMPLE_RATE), np.float32))
            pieces.append(
                speak(text, SAMPLE_RATE, voice=VOICES[index % 2][0], words_per_minute=155)
            )
        items.append(Item("speech", work / "passage.wav", " ".join(SENTENCES)))
        write_wav(items[-1].path, np.concatenate(pieces))
    return items


def _wrap(draw: Any, text: str, font: Any, width: int) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        candidate = f"{line} {word}".strip()
        if line and draw.textlength(candidate, font=font) > width:
            lines.append(line)
            line = word
        else:
            line = candidate
    return [*lines, line] if line else lines


def load_font(path: Path | None, size: int) -> Any:
    """The font at ``path``, or Pillow's own where the held-out fonts are missing."""
    from PIL import ImageFont

    return ImageFont.truetype(str(path), size) if path else ImageFont.load_default(size)


def page(layout: str, font_path: Path | None, points: int, dpi: int) -> tuple[Any, str]:
    """A white page of ``layout`` and the text it holds, in reading order."""
    from PIL import Image, ImageDraw

    size = round(points * dpi / 72)
    font = load_font(font_path, size)
    width, margin, leading = round(6.5 * dpi), round(0.6 * dpi), round(size * 1.45)
    image = Image.new("RGB", (width, round(4.5 * dpi)), "white")
    draw = ImageDraw.Draw(image)
    text_width = width - 2 * margin
    if layout == "prose":
        lines = _wrap(draw, PROSE, font, text_width)
        for row, line in enumerate(lines):
            draw.text((margin, margin + row * leading), line, fill="black", font=font)
        return image, PROSE
    if layout == "columns":
        gutter = round(0.4 * dpi)
        column = (text_width - gutter) // 2
        for index, text in enumerate(COLUMNS):
            x = margin + index * (column + gutter)
            for row, line in enumerate(_wrap(draw, text, font, column)):
                draw.text((x, margin + row * leading), line, fill="black", font=font)
        return image, " ".join(COLUMNS)
    if layout == "table":
        cell = text_width // 3
        for row, cells in enumerate(TABLE):
            for col, value in enumerate(cells):
                draw.text((margin + col * cell, margin + row * leading), value, "black", font)
        return image, " ".join(" ".join(cells) for cells in TABLE)
    # a receipt: a narrow strip, name left and price right
    image = Image.new("RGB", (round(3.2 * dpi), margin * 2 + leading * len(RECEIPT)), "white")
    draw = ImageDraw.Draw(image)
    for row, line in enumerate(RECEIPT):
        name, _, price = line.rpartition(" ") if any(c.isdigit() for c in line) else (line, "", "")
        y = margin + row * leading
        draw.text((margin, y), name, fill="black", font=font)
        if price:
            right = image.width - margin - draw.textlength(price, font=font)
            draw.text((right, y), price, fill="black", font=font)
    return image, " ".join(RECEIPT)


def scanned(image: Any, rng: random.Random) -> Any:
    """``image`` as a scanner leaves it: tilted 0.8–1.5°, blurred, noisy, JPEG 40."""
    import io

    from PIL import Image, ImageFilter

    angle = rng.uniform(0.8, 1.5) * rng.choice((-1, 1))
    tilted = image.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor="white")
    blurred = np.asarray(tilted.filter(ImageFilter.GaussianBlur(0.7)), dtype=np.float32)
    noise = np.random.default_rng(rng.randrange(2**32)).normal(0, 10, blurred.shape)
    noisy = Image.fromarray(np.clip(blurred + noise, 0, 255).astype(np.uint8))
    buffer = io.BytesIO()
    noisy.save(buffer, "JPEG", quality=40)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def photo(index: int, lines: tuple[str, ...], font_path: Path | None) -> bytes:
    """Words on a photo, three ways: a painted sign (the fixture Prism's tests use),
    letters with an outline straight on the picture (a poster), and a paper label
    tilted 4°; each softened and saved as a JPEG, as a camera leaves it."""
    import io

    from PIL import Image, ImageDraw, ImageFilter

    from tests.fixtures.media import SAMPLES, sign_photo

    if index % 3 == 0:
        return sign_photo(list(lines))
    picture = Image.open(SAMPLES / ("rocket.webp", "cat.jpg")[index % 2]).convert("RGB")
    picture = picture.resize((720, round(720 * picture.height / picture.width)))
    draw = ImageDraw.Draw(picture)
    font = load_font(font_path, 54)
    if index % 3 == 1:
        for row, line in enumerate(lines):
            draw.text((360, 90 + 80 * row), line, fill="white", font=font, anchor="mm",
                      stroke_width=3, stroke_fill="black")  # fmt: skip
    else:
        draw.rectangle((150, 60, 570, 60 + 80 * len(lines) + 20), fill=(236, 230, 214))
        for row, line in enumerate(lines):
            draw.text((360, 110 + 80 * row), line, fill=(30, 30, 40), font=font, anchor="mm")
        picture = picture.rotate(4, resample=Image.Resampling.BICUBIC, fillcolor=(0, 0, 0))
    out = io.BytesIO()
    picture.filter(ImageFilter.GaussianBlur(0.8)).save(out, "JPEG", quality=70)
    return out.getvalue()


def ocr_items(work: Path, quick: bool) -> tuple[list[Item], str]:
    """The pages and photos, and the fonts they are set in."""
    rng = random.Random(25)
    liberation, why_not = debian("fonts-liberation", liberation_fonts, quick)
    fonts: list[Path | None] = list(liberation) if liberation else [None]
    used = "Liberation" if liberation else f"Pillow's own, not held out ({why_not})"
    layouts = ("prose", "columns", "table", "receipt")
    items = []
    for index, layout in enumerate(layouts[:1] if quick else layouts * 2):
        font = fonts[index % len(fonts)]
        image, text = page(layout, font, rng.choice((9, 10, 11, 12, 14)), rng.choice((200, 300)))
        items.append(Item("clean", work / f"page-{index:02d}.png", text, layout))
        image.save(items[-1].path)
        items.append(Item("scanned", work / f"scan-{index:02d}.jpg", text, layout))
        scanned(image, rng).save(items[-1].path, quality=95)
    for index, lines in enumerate(PHOTO_LINES[:1] if quick else PHOTO_LINES):
        items.append(Item("photo", work / f"photo-{index}.jpg", " ".join(lines)))
        items[-1].path.write_bytes(photo(index, lines, fonts[index % len(fonts)]))
    return items, used


# ---- measuring ----------------------------------------------------------------------


@dataclass(frozen=True)
class Config:
    """One engine on one group of inputs: ``command`` is the runner's engine and model
    argument (:mod:`bench.peer_run`)."""

    group: str  # "speech", "pages" or "photos"
    engine: str  # "prism", "faster-whisper" or "tesseract"
    model: str  # the Prism model the row stands beside (speech) or the OCR settings
    threads: int
    command: tuple[str, str]


def run_runner(python: Path, config: Config, items: list[Item]) -> Any:
    engine, model = config.command
    done = subprocess.run(
        [str(python), str(RUNNER), engine, model, str(config.threads)]
        + [str(item.path) for item in items],
        capture_output=True, text=True, check=False, cwd=PROJECT_ROOT,
        env={**os.environ, "OMP_NUM_THREADS": str(config.threads)},
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"{engine} {model}: {done.stderr.strip()[-800:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def error_rate(kind: str, references: list[str], texts: list[str]) -> float:
    from models.ocr import character_error_rate
    from models.speech import word_error_rate

    rate = word_error_rate if kind == "speech" else character_error_rate
    return rate(references, texts)


def summarise(config: Config, runs: list[dict[str, Any]], items: list[Item]) -> dict[str, Any]:
    """The medians of a configuration's rounds, and its error rate per kind of input."""
    row: dict[str, Any] = {
        "group": config.group, "engine": config.engine, "model": config.model,
        "threads": config.threads,
    }  # fmt: skip
    for key in ("cpu_s", "wall_s", "first_call_s", "peak_rss_mb"):
        row[key] = round(statistics.median(run[key] for run in runs), 3)
    row["cpu_s_per_input"] = round(row["cpu_s"] / len(items), 3)
    texts = runs[-1]["texts"]
    for kind in dict.fromkeys(item.kind for item in items):
        picked = [i for i, item in enumerate(items) if item.kind == kind]
        rate = error_rate(kind, [items[i].text for i in picked], [texts[i] for i in picked])
        row[f"error_{kind}"] = round(rate, 4)
    layouts = dict.fromkeys(item.layout for item in items if item.layout)
    if layouts:  # clean and scanned pages together, per layout
        row["error_by_layout"] = {
            layout: round(
                error_rate(
                    "page",
                    [item.text for item in items if item.layout == layout],
                    [
                        text
                        for item, text in zip(items, texts, strict=True)
                        if item.layout == layout
                    ],
                ),
                4,
            )
            for layout in layouts
        }
    row["texts"] = texts
    return row


def configs(
    python: Path | None, tesseract_path: str | None, work: Path, quick: bool
) -> tuple[list[Config], list[str]]:
    """What to measure, and the speech models left out (not built)."""
    chosen: list[Config] = []
    skipped = []
    model_dir = get_settings().model_dir
    for model in SPEECH_MODELS[:1] if quick else SPEECH_MODELS:
        if not model_named(model, model_dir).onnx_path("int8", "decoder").is_file():
            skipped.append(model)
            continue
        folder = whisper_directory(python, model, work / "ct2") if python else None
        for threads in THREADS[:1] if quick else THREADS:
            chosen.append(Config("speech", "prism", model, threads, ("prism-speech", model)))
            if folder is not None:
                command = ("faster-whisper", str(folder))
                chosen.append(Config("speech", "faster-whisper", model, threads, command))
    for group, settings in (("pages", "document"), ("photos", "photo")):
        chosen.append(Config(group, "prism", settings, 1, ("prism-ocr", settings)))
        if tesseract_path is not None:
            chosen.append(Config(group, "tesseract", settings, 1, ("tesseract", tesseract_path)))
    return chosen, skipped


def run(quick: bool = False) -> dict[str, Any]:
    python, no_python = peers_python(quick)
    tesseract_path, no_tesseract = debian("tesseract-ocr", lambda: shutil.which("tesseract"), quick)
    rounds = 1 if quick else ROUNDS
    with tempfile.TemporaryDirectory(prefix="prism-peers-") as directory:
        work = Path(directory)
        inputs = {"speech": speech_items(work, quick)}
        pages, fonts = ocr_items(work, quick)
        inputs["pages"] = [item for item in pages if item.kind != "photo"]
        inputs["photos"] = [item for item in pages if item.kind == "photo"]
        chosen, skipped = configs(python, tesseract_path, work, quick)
        runs: list[list[dict[str, Any]]] = [[] for _ in chosen]
        order = list(range(len(chosen)))
        shuffler = random.Random(25)
        for _ in range(rounds):
            shuffler.shuffle(order)
            for index in order:
                config = chosen[index]
                items = inputs[config.group]
                runner = python if config.engine == "faster-whisper" else sys.executable
                runs[index].append(run_runner(Path(str(runner)), config, items))
        rows = [summarise(c, r, inputs[c.group]) for c, r in zip(chosen, runs, strict=True)]
        described = {
            "speech_clips": len(inputs["speech"]),
            "speech_seconds": round(sum(_seconds(i.path) for i in inputs["speech"]), 1),
            "speech_words": sum(len(i.text.split()) for i in inputs["speech"]),
            "pages": len(inputs["pages"]),
            "photos": len(inputs["photos"]),
            "fonts": fonts,
        }
    return {
        "rounds": rounds,
        "peers": {
            "faster-whisper": {"absent": no_python}
            if no_python
            else {"version": _peer_version(python, "faster_whisper")},
            "tesseract": {"absent": no_tesseract}
            if no_tesseract
            else {"version": _tesseract_version(tesseract_path)},
        },
        "speech_models_not_built": skipped,
        "inputs": described,
        "rows": rows,
    }


def _seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as recording:
        return recording.getnframes() / recording.getframerate()


def _peer_version(python: Path | None, package: str) -> str:
    assert python is not None
    code = f"import importlib.metadata as m; print(m.version({package!r}))"
    done = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True)
    return f"{package} {done.stdout.strip()}"


def _tesseract_version(path: str | None) -> str:
    assert path is not None
    done = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
    return (done.stdout or done.stderr).splitlines()[0]


def render(report: dict[str, Any]) -> str:
    """Two tables: speech (error rate, CPU and wall seconds, RSS, first call, and the
    peer's figures over Prism's) and OCR (CER per kind of page, CPU per page, RSS)."""
    lines = [f"peers: {report['peers']}; inputs: {report['inputs']}; rounds: {report['rounds']}"]
    rows = report["rows"]
    lines.append(
        f"{'speech':<17}{'engine':<16}{'thr':>4}{'WER':>8}{'CPU s':>8}{'wall s':>8}"
        f"{'RSS MB':>8}{'first s':>8}{'peer/Prism CPU':>16}{'wall':>7}"
    )
    for row in (r for r in rows if r["group"] == "speech"):
        prism = next(
            r for r in rows
            if (r["group"], r["engine"], r["model"], r["threads"])
            == ("speech", "prism", row["model"], row["threads"])
        )  # fmt: skip
        ratio = f"{row['cpu_s'] / prism['cpu_s']:>16.2f}{row['wall_s'] / prism['wall_s']:>7.2f}"
        lines.append(
            f"{row['model']:<17}{row['engine']:<16}{row['threads']:>4}"
            f"{100 * row['error_speech']:>7.1f}%{row['cpu_s']:>8.2f}{row['wall_s']:>8.2f}"
            f"{row['peak_rss_mb']:>8.0f}{row['first_call_s']:>8.2f}"
            + (ratio if row["engine"] != "prism" else "")
        )
    lines.append(
        f"{'OCR':<10}{'engine':<12}{'CER clean':>10}{'scanned':>9}{'photos':>9}"
        f"{'CPU s/input':>13}{'RSS MB':>8}"
    )
    for row in (r for r in rows if r["group"] != "speech"):
        cells = "".join(
            f"{100 * row[key]:>8.1f}%" if key in row else f"{'':>9}"
            for key in ("error_clean", "error_scanned", "error_photo")
        )
        lines.append(
            f"{row['group']:<10}{row['engine']:<12} {cells}"
            f"{row['cpu_s_per_input']:>13.2f}{row['peak_rss_mb']:>8.0f}"
        )
        if "error_by_layout" in row:
            layouts = ", ".join(f"{k} {100 * v:.1f} %" for k, v in row["error_by_layout"].items())
            lines.append(f"{'':<10}CER by layout, clean and scanned: {layouts}")
    return "\n".join(lines)
