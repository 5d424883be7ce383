"""The benchmarks' own plumbing, without models or emulators: every modality has real
inputs of its own kind (issue 24: the batching suite handed sentences to the document
modality, half an hour into ``make bench``), the end-to-end files cover every modality
they claim from the first few, the paused mix's storage stop resumes what it stopped,
and the suites' results land where ``prism plan`` looks for them. Running every suite
on a tiny budget is ``tests/integration/test_bench_quick.py``."""

from __future__ import annotations

import http.server
import subprocess
import threading
from collections import Counter
from pathlib import Path

import pytest

import bench.__main__
from bench import batching, budget, pipeline
from prism.modality import Modality
from prism.routing import route
from prism_tools.commands import measurements


@pytest.mark.parametrize("modality", list(Modality))
def test_every_modality_has_real_inputs_of_its_own_kind(modality: Modality) -> None:
    inputs = batching.payloads(modality)
    assert inputs
    routed = {route(data[:4096], size=len(data), name="input").modality for data in inputs}
    assert routed == {modality}


def test_the_batching_suite_measures_the_modalities_that_batch() -> None:
    assert set(batching.MODALITIES) == {Modality.IMAGE, Modality.AUDIO, Modality.TEXT}
    assert batching.QUICK.items is not None
    assert batching.QUICK.items <= 2
    assert batching.QUICK.rounds == 1


def test_the_end_to_end_files_have_every_modality_from_the_third_and_the_shares_per_ten() -> None:
    kinds = [route(data[:4096], size=len(data), name=name).modality.value
             for name, data in pipeline.mixed_files(10)]  # fmt: skip
    assert set(kinds[:3]) == {"image", "audio", "text"}
    assert Counter(kinds) == {"image": 4, "audio": 1, "text": 5}


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def test_the_paused_mix_stops_storage_asks_health_and_always_resumes_it() -> None:
    storage = subprocess.Popen(["sleep", "30"])
    seen: list[str] = []  # the storage process's state when health is asked

    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(_state(storage.pid))
            self.send_response(503)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        answer = budget._pause(storage.pid, 0.2, f"http://127.0.0.1:{server.server_address[1]}")
        assert seen == ["T"]  # asked while storage was stopped
        assert answer["status"] == 503
        assert _state(storage.pid) in {"S", "R"}  # and running again after
    finally:
        server.shutdown()
        server.server_close()
        storage.kill()
        storage.wait()


def test_an_unknown_suite_is_refused_before_anything_runs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        bench.__main__.main(["--only", "models,nonsense"])
    assert exited.value.code == 2
    assert "unknown suite nonsense" in capsys.readouterr().err


def test_results_go_where_plan_and_cost_read_them_and_quick_ones_elsewhere() -> None:
    assert bench.__main__.RESULTS_DIR == measurements.LOCAL_DIR
    assert bench.__main__.QUICK_RESULTS_DIR.parent == measurements.LOCAL_DIR
    assert measurements.LOCAL_DIR.parent / "reference" == measurements.REFERENCE_DIR


def test_a_peer_row_is_the_median_of_its_rounds_and_errors_per_kind_and_layout() -> None:
    from bench.peers import Config, Item, render, summarise

    items = [
        Item("clean", Path("a.png"), "one two", "prose"),
        Item("scanned", Path("b.jpg"), "one two", "prose"),
        Item("clean", Path("c.png"), "abcd", "table"),
    ]
    rounds = [
        {
            "texts": ["x", "x", "x"],
            "cpu_s": 9.0,
            "wall_s": 9.0,
            "first_call_s": 3.0,
            "peak_rss_mb": 90,
        },
        {
            "texts": ["one two", "one twx", "abcd"],
            "cpu_s": 3.0,
            "wall_s": 4.0,
            "first_call_s": 1.0,
            "peak_rss_mb": 70,
        },
        {
            "texts": ["one two", "one twx", "abcd"],
            "cpu_s": 6.0,
            "wall_s": 5.0,
            "first_call_s": 2.0,
            "peak_rss_mb": 80,
        },
    ]
    row = summarise(Config("pages", "tesseract", "document", 1, ("tesseract", "t")), rounds, items)
    assert (row["cpu_s"], row["wall_s"], row["peak_rss_mb"], row["cpu_s_per_input"]) == (
        6,
        5,
        80,
        2,
    )
    # Errors from the last round's texts: one character of seven on the scanned page.
    assert (row["error_clean"], row["error_scanned"]) == (0, round(1 / 7, 4))
    assert row["error_by_layout"] == {"prose": round(1 / 14, 4), "table": 0}
    table = render({"peers": {}, "inputs": {}, "rounds": 3, "rows": [row]})
    assert "prose 7.1 %, table 0.0 %" in table


def test_the_peer_speech_row_says_how_fast_the_peer_is_against_prism() -> None:
    from bench.peers import render

    def row(engine: str, cpu: float, wall: float) -> dict[str, object]:
        return {
            "group": "speech", "engine": engine, "model": "whisper-tiny-en", "threads": 1,
            "error_speech": 0.1, "cpu_s": cpu, "wall_s": wall, "peak_rss_mb": 300,
            "first_call_s": 1.0,
        }  # fmt: skip

    table = render(
        {
            "peers": {},
            "inputs": {},
            "rounds": 1,
            "rows": [row("prism", 4, 4), row("faster-whisper", 5, 6)],
        }
    )
    peer_line = next(line for line in table.splitlines() if "faster-whisper" in line)
    assert peer_line.split()[-2:] == ["1.25", "1.50"]


def test_quick_never_installs_a_missing_peer_and_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    from bench import peers

    def no_install(*args: object, **kwargs: object) -> None:
        raise AssertionError("--quick ran a command")

    monkeypatch.setattr("bench.peers.subprocess.run", no_install)
    assert peers.debian("tesseract-ocr", lambda: None, quick=True) == (
        None,
        "tesseract-ocr is not installed (--quick installs nothing)",
    )
    assert peers.debian("tesseract-ocr", lambda: "/usr/bin/tesseract", quick=False) == (
        "/usr/bin/tesseract",
        "",
    )
    assert peers.peers_python(quick=True)[0] in {None, peers.PEERS_VENV / "bin" / "python"}
