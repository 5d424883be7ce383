from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest

from prism_local.localstack import AzuriteInfo, CosmosInfo, DevhostInfo, LocalStack, StackState
from prism_local.localstack.certificate import write_self_signed_certificate
from prism_local.localstack.processes import LOOPBACK, ProcessFiles, free_port, is_running, stop

STATE = StackState(
    azurite=AzuriteInfo(pid=10, blob_port=1, queue_port=2, table_port=3),
    cosmos=CosmosInfo(pid=11, port=4, certificate="cert.pem"),
    devhost=DevhostInfo(pid=12, http_port=5, app="function_app"),
)


def test_state_round_trips_through_json() -> None:
    assert StackState.from_json(STATE.to_json()) == STATE


def test_app_settings_point_the_storage_and_cosmos_connections_at_the_stack() -> None:
    settings = STATE.app_settings()

    assert settings["PRISM_STORAGE"] == settings["AzureWebJobsStorage"]
    assert "BlobEndpoint=http://127.0.0.1:1/devstoreaccount1;" in settings["PRISM_STORAGE"]
    assert "QueueEndpoint=http://127.0.0.1:2/devstoreaccount1;" in settings["PRISM_STORAGE"]
    assert settings["PRISM_COSMOS__accountEndpoint"] == "https://127.0.0.1:4/"
    assert settings["PRISM_COSMOS__key"]


def test_a_taken_preferred_port_gives_another_free_one() -> None:
    with socket.socket() as taken:
        taken.bind((LOOPBACK, 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert free_port(preferred=port) != port


def test_a_port_held_only_in_time_wait_is_free_again() -> None:
    # A server that closes its side first leaves its port in TIME_WAIT, as a killed
    # emulator's does.
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        accepted, _ = listener.accept()
        accepted.close()
        client.recv(1)  # the server's FIN: its side is closed first
        client.close()
    assert time_wait_on(port)
    assert free_port(preferred=port) == port


def time_wait_on(port: int) -> bool:
    """Whether a TCP connection on this local port is in TIME_WAIT (state 06)."""
    rows = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return any(r.split()[1].endswith(f":{port:04X}") and r.split()[3] == "06" for r in rows)


def test_status_of_a_stack_never_started_shows_nothing_running(tmp_path: Path) -> None:
    rows = LocalStack(tmp_path).status()
    assert [(r.name, r.running) for r in rows] == [
        ("azurite", False),
        ("cosmos", False),
        ("devhost", False),
    ]


def test_stop_signals_only_a_process_whose_command_line_matches(tmp_path: Path) -> None:
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        # Until it has exec'd, the child shows this process's command line: wait for
        # that state, not for a time (a slow machine takes longer to get there).
        cmdline = Path(f"/proc/{sleeper.pid}/cmdline")
        for _ in range(1000):
            if b"time.sleep(60)" in cmdline.read_bytes():
                break
            time.sleep(0.01)
        else:
            pytest.fail("the child never exec'd its own command line")
        files = ProcessFiles(tmp_path / "x.pid", tmp_path / "x.log")
        files.pid_path.write_text(str(sleeper.pid))

        assert not stop(files, marker="azurite/dist/src/azurite.js")  # not ours: left alone
        assert sleeper.poll() is None
        files.pid_path.write_text(str(sleeper.pid))
        assert stop(files, marker="time.sleep(60)")
        assert sleeper.wait(timeout=10) is not None
        assert not files.pid_path.exists()
    finally:
        sleeper.kill()
        sleeper.wait()


def test_garbage_pid_file_reads_as_no_process(tmp_path: Path) -> None:
    files = ProcessFiles(tmp_path / "x.pid", tmp_path / "x.log")
    files.pid_path.write_text("not a pid")
    assert files.read_pid() is None
    assert not is_running(os.getpid() + 10_000_000, "anything")


def test_generated_certificate_and_key_form_a_pair_and_the_key_is_private(tmp_path: Path) -> None:
    certificate, key = write_self_signed_certificate(tmp_path)

    context = ssl.create_default_context(cafile=str(certificate))
    context.load_cert_chain(certificate, key)  # the pair matches
    assert key.stat().st_mode & 0o077 == 0  # the private key is private
