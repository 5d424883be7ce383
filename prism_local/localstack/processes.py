"""Background processes owned by the local stack: spawn with a log and a PID file,
wait until they listen, stop them by PID.

A PID file outlives the process it names, and the kernel reuses PIDs, so every check
also matches the process's command line against a marker (the script it runs) before
treating it as ours: ``prism down`` must never signal a stranger.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from prism.errors import TransientError

LOOPBACK = "127.0.0.1"
_POLL_SECONDS = 0.05


@dataclass(frozen=True)
class ProcessFiles:
    """Where one managed process keeps its PID and its log."""

    pid_path: Path
    log_path: Path

    def read_pid(self) -> int | None:
        try:
            return int(self.pid_path.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"


def free_port(preferred: int | None = None) -> int:
    """``preferred`` if it is free on the loopback address, else one the kernel picks.

    The port is released before the caller binds it; a process that loses the race
    fails to start, which :func:`wait_until_listening` reports. A port held only by
    connections in TIME_WAIT (a server that just died) is free: the probe asks with
    SO_REUSEADDR, as the servers bind (Node's and asyncio's both set it), so a restart
    gets its default ports back and ``UseDevelopmentStorage=true`` clients keep working.
    """
    for port in (preferred, 0):
        if port is None:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((LOOPBACK, port))
            except OSError:
                continue
            return int(probe.getsockname()[1])
    raise TransientError("no free loopback port")


def spawn(
    argv: Sequence[str], files: ProcessFiles, *, cwd: Path, env: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start ``argv`` detached (own session, so a terminal's Ctrl-C does not reach it)."""
    files.log_path.parent.mkdir(parents=True, exist_ok=True)
    files.pid_path.parent.mkdir(parents=True, exist_ok=True)
    with files.log_path.open("ab") as log:
        process = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=None if env is None else dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    files.pid_path.write_text(f"{process.pid}\n")
    return process


def is_running(pid: int, marker: str) -> bool:
    """Whether ``pid`` is alive and its command line contains ``marker``."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return False
    except OSError:
        # No /proc (macOS): fall back to "some process has this PID".
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    if not cmdline:  # a zombie: exited, not yet reaped by its parent
        return False
    return marker in cmdline.replace(b"\0", b" ").decode(errors="replace")


def stop(files: ProcessFiles, marker: str, timeout: float = 10.0) -> bool:
    """Stop the process named by ``files`` (SIGTERM, then SIGKILL). True if one was running."""
    pid = files.read_pid()
    was_running = pid is not None and is_running(pid, marker)
    if pid is not None and was_running:
        _signal(pid, signal.SIGTERM)
        if not _wait_for_exit(pid, marker, timeout):
            _signal(pid, signal.SIGKILL)
            _wait_for_exit(pid, marker, timeout)
    files.pid_path.unlink(missing_ok=True)
    return was_running


def start(
    argv: Sequence[str],
    files: ProcessFiles,
    ports: Iterable[int],
    *,
    cwd: Path,
    timeout: float,
    env: Mapping[str, str] | None = None,
) -> int:
    """Spawn ``argv`` and wait until it listens on ``ports``; its PID.

    On failure the child is killed through its handle, not by PID and marker: until it
    has exec'd, the child still shows this Python process's command line.
    """
    process = spawn(argv, files, cwd=cwd, env=env)
    try:
        _wait_until_listening(process, ports, files, timeout)
    except BaseException:
        process.kill()
        process.wait()
        files.pid_path.unlink(missing_ok=True)
        raise
    return process.pid


def _wait_until_listening(
    process: subprocess.Popen[bytes], ports: Iterable[int], files: ProcessFiles, timeout: float
) -> None:
    """Block until every port accepts a connection; fail early if the process dies."""
    pending = list(ports)
    deadline = time.monotonic() + timeout
    while pending:
        if process.poll() is not None:
            raise TransientError(
                f"{files.log_path.name}: the process exited while starting:\n{files.log_tail()}"
            )
        if time.monotonic() > deadline:
            raise TransientError(
                f"{files.log_path.name}: ports {pending} not listening after {timeout:.0f} s:\n"
                f"{files.log_tail()}"
            )
        pending = [port for port in pending if not _accepts(port)]
        if pending:
            time.sleep(_POLL_SECONDS)


def _accepts(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((LOOPBACK, port)) == 0


def _signal(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)


def _wait_for_exit(pid: int, marker: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        # Reap it if it is our own child (a test session), so it does not linger as a zombie.
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        if not is_running(pid, marker):
            return True
        time.sleep(_POLL_SECONDS)
    return False
