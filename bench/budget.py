"""What the whole local stack holds, and whether it stalls, under three mixes of files:

* **hostile** — files that pass every stated limit but cost far more than they say (a
  212-byte PNG of 20,000 × 2 pixels, a 5 KB PDF of twenty 2,399-point pages, a 200 KB
  PDF whose content inflates to 200 MB, sixteen
  photos just under 40 megapixels at once, an hour of sound stamped 0 s in a 1 MB
  Matroska file, key frames stamped 0 s, 24 videos at once, texts the shaping step
  choked on: JSON nested 9,000 deep, a CSV cell of 200,000 characters, 1 MiB of ``<``
  and of ``a(``);
* **limits** — the legitimate worst case: files at each stated limit (40-megapixel
  photos, 1 MiB texts, ten minutes of sound, PDFs of twenty pages to OCR, a video of
  ten minutes), every modality at once, as many as host.json lets run;
* **paused** — the limits mix's photos and texts, with storage (Azurite) stopped for
  30 s while they are in flight, and ``/api/v1/health`` asked meanwhile.

Each mix is dropped into ``incoming`` of a private local stack served by the local host
(Microsoft's worker runtime, the real models), while this process samples the resident
memory of the host and its worker from /proc every 0.1 s (and reads the kernel's exact
per-process peaks, VmHWM, at the end) and asks ``GET /api/v1/models`` — a route that
touches no storage and no model — every 0.25 s: its longest answer is the longest stall
of an unrelated route. Results are counted by status and code.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.pipeline import private_stack, stack_environment
from prism.settings import PROJECT_ROOT, load_settings
from prism_local.localstack import devhost_command
from prism_local.localstack.processes import free_port

SAMPLES = PROJECT_ROOT / "samples"
RESULTS_DIR = PROJECT_ROOT / "bench" / "results"
FUNCTION_KEY = "bench-budget-key"
MIB = 1024 * 1024
SAMPLE_EVERY_S = 0.1
PROBE_EVERY_S = 0.25
FLEX_MEMORY_MB = 2048
STORAGE_PAUSE_S = 30.0  # the "paused" mix: storage stopped this long, files in flight
# One of each modality, sent to a host before a mix: every model loaded.
PRELOADED = ("cat.jpg", "review.txt", "greeting.flac", "scanned.pdf", "launch.mp4")
STALLED_S = 240  # no new result for this long: the rest are lost (or stuck)


# ---- the files -----------------------------------------------------------------------------


def photo(seed: int, width: int = 7999, height: int = 4999) -> bytes:
    """A ``width``×``height`` JPEG, distinct per ``seed`` (no cache hits), smooth."""
    from PIL import Image

    gradient = Image.linear_gradient("L").resize((width, height))
    shade = Image.new("L", (width, height), seed * 7 % 256)
    picture = Image.merge(
        "RGB", (gradient, shade, gradient.transpose(Image.Transpose.FLIP_TOP_BOTTOM))
    )
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=85)
    return out.getvalue()


def noise_video(seed: int, seconds: int, *, size: tuple[int, int] = (640, 360)) -> bytes:
    """An H.264 MP4 of ``seconds`` one-per-second noise frames (key frames every 2 s)
    over ``seconds`` of quiet noise: a large file that decodes every part of the path."""
    import av
    import numpy as np

    rng = np.random.default_rng(seed)
    out = io.BytesIO()
    with av.open(out, mode="w", format="mp4") as output:
        stream = output.add_stream("libx264", rate=1)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.codec_context.gop_size = 2
        stream.codec_context.thread_count = 1
        sound = output.add_stream("aac", rate=16_000)
        sound.layout = "mono"
        for _ in range(seconds):
            pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
            output.mux(stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")))
        output.mux(stream.encode())
        samples = (rng.standard_normal((1, seconds * 16_000)) * 0.01).astype(np.float32)
        frame = av.AudioFrame.from_ndarray(samples, format="flt", layout="mono")
        frame.sample_rate = 16_000
        resampler = av.AudioResampler(format=sound.format, layout="mono", rate=16_000)
        for resampled in resampler.resample(frame) + resampler.resample(None):
            output.mux(sound.encode(resampled))
        output.mux(sound.encode())
    return out.getvalue()


def hostile_mix(quick: bool = False) -> list[tuple[str, bytes]]:
    from tests.fixtures import costs, hostile, pdfs

    if quick:  # one small file of each kind the full mix has
        return [
            ("wide-20000x2.png", hostile.png_bomb(20_000, 2)),
            ("posters-1x842pt.pdf", costs.blank_pages_pdf(1, 842)),
            ("minute-stamped-zero.mkv", hostile.mkv_sound_stamped_zero(60)),
            ("keyframes-stamped-zero.webm", hostile.key_frames_stamped_zero(4)),
            ("nested-900.json", b"[" * 900 + b"]" * 900),
            ("photo-1mp.jpg", photo(0, 1200, 800)),
            ("clip-0.mp4", noise_video(0, 2, size=(160, 90))),
        ]
    files = [
        ("wide-20000x2.png", hostile.png_bomb(20_000, 2)),
        ("wide-40000x1.png", hostile.png_bomb(40_000, 1)),
        ("posters-20x2399pt.pdf", costs.blank_pages_pdf(20, 2399)),
        ("content-inflating-200mb.pdf", pdfs.content_bomb_pdf(200)),
        ("hour-stamped-zero.mkv", hostile.mkv_sound_stamped_zero(3600)),
        ("keyframes-stamped-zero.webm", hostile.key_frames_stamped_zero(400)),
        ("nested-9000.json", b"[" * 9000 + b"]" * 9000),
        ("cell-200k.csv", b"name,notes\nx," + b"y" * 200_000 + b"\n"),
        ("angles.md", b"# Title\n\n" + b"<" * (MIB - 16)),
        ("calls.txt", b"a(" * (MIB // 2 - 8)),
    ]
    files += [(f"photo-40mp-{i}.jpg", photo(i)) for i in range(16)]
    files += [(f"clip-{i}.mp4", noise_video(i, 8)) for i in range(24)]
    return files


def limits_mix(quick: bool = False) -> list[tuple[str, bytes]]:
    from tests.fixtures import costs

    prose = (SAMPLES / "review.txt").read_bytes().replace(b"\n", b" ")
    if quick:  # one small file of each modality
        return [
            ("photo-1mp-0.jpg", photo(100, 1200, 800)),
            ("text-16kib-0.txt", (prose * (16 * 1024 // len(prose) + 1))[: 16 * 1024]),
            ("sound-5s-0.flac", costs.noise_flac(5)),
            ("scans-1p-0.pdf", costs.blank_pages_pdf(1, 595)),
            ("video-3s.mp4", noise_video(1000, 3, size=(160, 90))),
        ]
    files = [(f"photo-40mp-{i}.jpg", photo(100 + i)) for i in range(8)]
    files += [(f"text-1mib-{i}.txt", (b"%d " % i + prose * (MIB // len(prose) + 1))[:MIB])
              for i in range(16)]  # fmt: skip
    files += [(f"sound-600s-{i}.flac", costs.noise_flac(600, seed=i)) for i in range(4)]
    files += [(f"scans-20p-{i}.pdf", costs.blank_pages_pdf(20, 595 + i)) for i in range(4)]
    files += [("video-590s.mp4", noise_video(1000, 590, size=(320, 180)))]
    return files


# ---- measuring the stack -------------------------------------------------------------------


def _status_kib(pid: int, field_name: str) -> int:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1])
    return 0


def _descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (the host's worker)."""
    found, frontier = [pid], [pid]
    while frontier:
        parent = frontier.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                found.append(child)
                frontier.append(child)
    return found


@dataclass
class Watch:
    """Resident memory of the host and its worker, and the models route's answers."""

    host_pid: int
    base_url: str
    peak_total_mb: float = 0.0
    peak_by_pid_mb: dict[int, float] = field(default_factory=dict)
    probe_ms: list[float] = field(default_factory=list)
    probe_errors: int = 0
    series: list[tuple[float, float]] = field(default_factory=list)  # (s, MB) each second
    _stop: threading.Event = field(default_factory=threading.Event)

    def sample(self) -> None:
        start = time.monotonic()
        while not self._stop.is_set():
            pids = _descendants(self.host_pid)
            total = 0.0
            for pid in pids:
                rss = _status_kib(pid, "VmRSS") / 1024
                total += rss
                self.peak_by_pid_mb[pid] = max(self.peak_by_pid_mb.get(pid, 0.0), rss)
            self.peak_total_mb = max(self.peak_total_mb, total)
            elapsed = time.monotonic() - start
            if not self.series or elapsed - self.series[-1][0] >= 1.0:
                self.series.append((round(elapsed, 1), round(total, 1)))
            self._stop.wait(SAMPLE_EVERY_S)

    def probe(self) -> None:
        while not self._stop.is_set():
            start = time.perf_counter()
            try:
                _request(self.base_url + "/v1/models", timeout=120)
            except (OSError, urllib.error.URLError):
                self.probe_errors += 1
            self.probe_ms.append((time.perf_counter() - start) * 1000)
            self._stop.wait(PROBE_EVERY_S)

    def kernel_peaks_mb(self) -> dict[int, float]:
        """Each live process's exact peak resident set (VmHWM), in MB."""
        return {pid: _status_kib(pid, "VmHWM") / 1024 for pid in _descendants(self.host_pid)}

    @contextmanager
    def running(self) -> Iterator[Watch]:
        threads = [threading.Thread(target=self.sample, daemon=True),
                   threading.Thread(target=self.probe, daemon=True)]  # fmt: skip
        for thread in threads:
            thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            for thread in threads:
                thread.join(timeout=150)


def _request(url: str, *, method: str = "GET", body: bytes | None = None,
             timeout: float = 60) -> tuple[int, bytes]:  # fmt: skip
    request = urllib.request.Request(url, data=body, method=method)
    request.add_header("x-functions-key", FUNCTION_KEY)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@contextmanager
def served(environ: dict[str, str], log: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = free_port(None)
    with log.open("w") as output:
        process = subprocess.Popen(devhost_command("serve", "--port", str(port)), env=environ,
                                   stdout=output, stderr=subprocess.STDOUT)  # fmt: skip
        base_url = f"http://127.0.0.1:{port}/api"
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    _request(base_url + "/v1/health", timeout=5)
                    break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(log.read_text()[-4000:]) from None
                    time.sleep(0.2)
            yield process, base_url
        finally:
            process.terminate()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()


@dataclass
class Host:
    """A private stack's ``incoming``, served by the local host with its models loaded."""

    state: Any  # StackState
    client: Any  # prism.client.Client
    container: str
    process: subprocess.Popen[bytes]
    base_url: str
    idle_mb: float  # host and worker, every model loaded, before any file


@contextmanager
def hosting(tag: str, log: Path, *, preload: bool = True) -> Iterator[Host]:
    """A stack (:func:`private_stack`) and the local host serving it, its output in
    ``log``, every model loaded first (``preload``): what is resident whatever the files."""
    from prism.client import connect
    from prism.storage import CosmosConnection, StorageConnection
    from tests.isolation import provision

    with private_stack() as state:
        environ = {**stack_environment(state, f"budget{tag}"), "PRISM_FUNCTION_KEY": FUNCTION_KEY}
        settings = load_settings(environ)
        # From the stack's settings, as the pipeline suite does: uploads are announced as
        # BlobCreated events, so the host sees them at once (a bare connection string
        # left them to the host's listing every 30 s, which padded every mix's time).
        storage = StorageConnection.from_environ(environ)
        cosmos = CosmosConnection.from_environ(environ)
        client = connect(settings, storage=storage, cosmos=cosmos)
        provision(client.blobs, client.queues, settings)
        log.parent.mkdir(parents=True, exist_ok=True)
        with served(environ, log) as (process, base_url):
            for sample in PRELOADED if preload else ():
                _request(f"{base_url}/v1/infer?name={sample}", method="POST",
                         body=(SAMPLES / sample).read_bytes(), timeout=300)  # fmt: skip
            idle_mb = sum(_status_kib(pid, "VmRSS") for pid in _descendants(process.pid)) / 1024
            yield Host(state, client, settings.incoming_container, process, base_url, idle_mb)


def run_mix(
    name: str, files: list[tuple[str, bytes]], host: Host, *, pause_storage_s: float = 0.0,
    timeout_s: float = 1800, poll_s: float = 2.0,
) -> dict[str, Any]:  # fmt: skip
    """Drop ``files`` into ``host``'s ``incoming`` (each named after the mix) and measure
    (see the module docstring); with ``pause_storage_s``, storage (Azurite) is then
    stopped that long, with files in flight, and ``/api/v1/health`` is asked once while
    it is. Results are counted every ``poll_s``."""
    from prism.queries import every_result

    names = {f"{name}-{file_name}" for file_name, _ in files}
    watch = Watch(host.process.pid, host.base_url)
    with watch.running():
        start = time.perf_counter()
        for file_name, data in files:
            host.client.blobs.upload(host.container, f"{name}-{file_name}", data)
        health = (
            _pause(host.state.azurite.pid, pause_storage_s, host.base_url)
            if pause_storage_s
            else None
        )
        done = _wait_for(lambda: _blob_results(host.client, names), len(files), timeout_s, poll_s)
        elapsed = time.perf_counter() - start
        kernel = watch.kernel_peaks_mb()
    documents = [d for d in every_result(host.client.results) if _of_mix(d, names)]
    outcomes = Counter(
        d["status"] if d["status"] == "ok" else f"rejected: {d['error']['code']}" for d in documents
    )
    return {
        "files": len(files),
        "bytes": sum(len(data) for _, data in files),
        "results": len(documents),
        "all_done": done,
        "outcomes": dict(sorted(outcomes.items())),
        "seconds": round(elapsed, 1),
        "idle_with_models_mb": round(host.idle_mb, 1),
        "peak_host_and_worker_mb": round(watch.peak_total_mb, 1),
        "kernel_peak_by_process_mb": {str(pid): round(mb, 1) for pid, mb in kernel.items()},
        "kernel_peak_sum_mb": round(sum(kernel.values()), 1),
        "longest_models_route_ms": round(max(watch.probe_ms, default=0.0), 1),
        "models_route_answers": len(watch.probe_ms),
        "models_route_errors": watch.probe_errors,
        "flex_memory_mb": FLEX_MEMORY_MB,
        "host_and_worker_mb_each_second": watch.series,
        **({"storage_paused_s": pause_storage_s, "health_while_paused": health} if health else {}),
    }


def _of_mix(document: dict[str, Any], names: set[str]) -> bool:
    source = document.get("source", {})
    return bool(source.get("kind") == "blob" and source.get("name") in names)


def _pause(azurite_pid: int, seconds: float, base_url: str) -> dict[str, Any]:
    """Stop storage for ``seconds`` (SIGSTOP: it accepts connections and never answers,
    the worst way a service fails); ask /health once meanwhile. Always resumed."""
    os.kill(azurite_pid, signal.SIGSTOP)
    try:
        time.sleep(min(5.0, seconds / 2))  # let the in-flight calls hang first
        start = time.perf_counter()
        try:
            status: int | str = _request(base_url + "/v1/health", timeout=120)[0]
        except OSError:  # no answer within two minutes
            status = "no answer"
        answered_ms = (time.perf_counter() - start) * 1000
        time.sleep(max(0.0, seconds - min(5.0, seconds / 2) - answered_ms / 1000))
    finally:
        os.kill(azurite_pid, signal.SIGCONT)
    return {"status": status, "ms": round(answered_ms, 1)}


def _blob_results(client: Any, names: set[str]) -> int:
    from prism.queries import every_result

    return sum(1 for d in every_result(client.results) if _of_mix(d, names))


def _wait_for(count: Callable[[], int], wanted: int, timeout_s: float, poll_s: float = 2.0) -> bool:
    """Wait until ``count()`` reaches ``wanted``; False if it does not within
    ``timeout_s``, or stops growing for ``STALLED_S`` (files lost to the poison queue
    never get a result)."""
    deadline = time.monotonic() + timeout_s
    last, changed = -1, time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - changed < STALLED_S:
        now = count()
        if now >= wanted:
            return True
        if now != last:
            last, changed = now, time.monotonic()
        time.sleep(poll_s)
    return False


def paused_mix(quick: bool = False) -> list[tuple[str, bytes]]:
    """Photos and texts in flight (downloads, result writes) when storage stops."""
    return [item for item in limits_mix(quick) if item[0].startswith(("photo", "text"))]


def run(
    mixes: tuple[str, ...] = ("hostile", "limits", "paused"),
    *,
    quick: bool = False,
    log_dir: Path = RESULTS_DIR,
) -> dict[str, Any]:
    """Each mix on a stack and host of its own (their memory peaks are the mix's alone).

    ``quick``: a few small files of the same kinds, one mix after another on one host
    (budget-quick.log) with no model loaded first; without the paused mix, whose files
    are the limits mix's: what it adds, storage stopped, costs up to the host's 30 s
    poll deadline whatever the files (tests/unit/test_bench.py drives its pause)."""
    makers = {"hostile": hostile_mix, "limits": limits_mix, "paused": paused_mix}
    pauses = {"paused": STORAGE_PAUSE_S}
    if quick:
        mixes = tuple(name for name in mixes if name != "paused")
    report = {}
    with ExitStack() as stack:
        shared = (
            stack.enter_context(hosting("quick", log_dir / "budget-quick.log", preload=False))
            if quick
            else None
        )
        for name in mixes:
            with (
                nullcontext(shared) if shared else hosting(name, log_dir / f"budget-{name}.log")
            ) as host:
                report[name] = run_mix(
                    name, makers[name](quick), host, pause_storage_s=pauses.get(name, 0.0),
                    poll_s=0.25 if quick else 2.0,
                )  # fmt: skip
    return report


def render(report: dict[str, Any]) -> str:
    rows = [f"{'mix':8}  {'files':>5}  {'peak host+worker':>16}  {'kernel peaks':>12}  "
            f"{'longest /models':>15}  {'seconds':>7}  outcomes"]  # fmt: skip
    for name in ("hostile", "limits", "paused"):
        if name not in report:
            continue
        r = report[name]
        rows.append(
            f"{name:8}  {r['files']:>5}  {r['peak_host_and_worker_mb']:>13.0f} MB  "
            f"{r['kernel_peak_sum_mb']:>9.0f} MB  {r['longest_models_route_ms']:>12.0f} ms  "
            f"{r['seconds']:>7.0f}  {json.dumps(r['outcomes'])}"
        )
        if "health_while_paused" in r:
            health = r["health_while_paused"]
            paused = r["storage_paused_s"]
            rows.append(f"          storage stopped {paused:.0f} s: /health answered "
                        f"{health['status']} in {health['ms']:.0f} ms")  # fmt: skip
    return "\n".join(rows)


if __name__ == "__main__":
    import sys

    chosen = tuple(sys.argv[1:]) or ("hostile", "limits")
    result = run(chosen)
    print(render(result))
    print(json.dumps(result, indent=2))
