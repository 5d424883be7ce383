"""Fault-injection tools: a local host that can be killed, a TCP link that can be cut,
a mixed set of files, and the convergence check every fault test ends with."""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from prism.client import Submission
from prism_local.devhost.host import LEASE_SETTING
from prism_local.localstack import devhost_command
from prism_local.localstack.processes import free_port
from tests.e2e.conftest import PipelineUnderTest

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
# A killed host's leased messages reappear after this long (the real host: 10 minutes).
SHORT_LEASE_SECONDS = "8"
SHORT_LEASE = {LEASE_SETTING: SHORT_LEASE_SECONDS}


def mixed_files(directory: Path, count: int) -> list[Path]:
    """``count`` files cycling over every sample, good and bad; text files get a line of
    their own so that they are distinct inputs, not cache hits of one another."""
    samples = sorted(p for p in SAMPLES.rglob("*") if p.is_file() and p.name != "README.md")
    files = []
    for index in range(count):
        sample = samples[index % len(samples)]
        data = sample.read_bytes()
        if sample.suffix in (".txt", ".md") and sample.parent == SAMPLES:
            data += f"\nCopy number {index}.\n".encode()
        path = directory / f"{index:04d}-{sample.name}"
        path.write_bytes(data)
        files.append(path)
    return files


class Host:
    """``python -m prism_local.devhost serve`` as a child process, logging to a file."""

    def __init__(self, environ: Mapping[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = log_path.open("w")
        self.port = free_port(None)
        self.process = subprocess.Popen(
            devhost_command("serve", "--port", str(self.port)),
            env=dict(environ), stdout=self._log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def worker_pid(self) -> int | None:
        """The PID of the host's language worker (its one child process), if it runs."""
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue  # ended while listed
            if int(fields[1]) == self.process.pid and fields[0] != "Z":
                return int(stat.parent.name)
        return None

    def kill(self) -> None:
        """SIGKILL: no clean-up, in-flight invocations and leases left as they are."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        self._log.close()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=60)
        self._log.close()


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def assert_converged(pipeline: PipelineUnderTest, submissions: Sequence[Submission]) -> None:
    """Every file has exactly one document — a result or a coded rejection — and no
    queue or poison queue holds anything."""
    documents = pipeline.documents()
    counts = Counter(d["id"] for d in documents)
    assert [i for i, n in counts.items() if n > 1] == [], "duplicate documents"
    assert set(counts) == {s.id for s in submissions}, "missing or unexpected documents"
    for document in documents:
        assert document["status"] == "ok" or document["error"]["code"], document
    assert pipeline.queue_depths() == dict.fromkeys(pipeline.queue_depths(), 0)


class Link:
    """A loopback TCP forwarder in front of a service, which can be cut and restored:
    the service stays up with its data while its clients see it gone."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._up = threading.Event()
        self._up.set()
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            if not self._up.is_set():
                client.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            with self._lock:
                self._sockets |= {client, upstream}
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass  # the link was cut, or one end hung up: either way this pump is done
        finally:
            for end in (source, sink):
                with self._lock:
                    self._sockets.discard(end)
                end.close()

    def cut(self) -> None:
        """Drop every open connection and refuse new ones until :meth:`restore`."""
        self._up.clear()
        with self._lock:
            ends, self._sockets = set(self._sockets), set()
        for end in ends:
            with contextlib.suppress(OSError):  # already closed by its peer
                end.shutdown(socket.SHUT_RDWR)
            end.close()

    def restore(self) -> None:
        self._up.set()

    def close(self) -> None:
        self.cut()
        self._listener.close()
