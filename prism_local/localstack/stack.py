"""The local stack: Azurite and the Cosmos DB emulator (and, for ``prism up``, the
local Functions host) as background processes on loopback ports.

Everything lives under one state directory (``.prism/`` by default)::

    stack.json          what runs where (read by ``prism status``, the tests, the devhost)
    run/<name>.pid      one PID file per process, written the moment it is spawned
    logs/<name>.log     its output
    azurite/            Azurite's data (survives restarts)
    cosmos/             the emulator's generated certificate (its data lives in memory)

PID files, not ``stack.json``, decide what ``stop`` signals: a start that failed half
way has PID files but no ``stack.json``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from prism.errors import ConfigurationError, TransientError
from prism.settings import PROJECT_ROOT, Env
from prism.storage.clients import blob_store
from prism.storage.connections import StorageConnection
from prism.storage.receipts import forget_every_receipt
from prism_local.localstack import processes
from prism_local.localstack.certificate import write_self_signed_certificate
from prism_local.localstack.processes import LOOPBACK, ProcessFiles

DEFAULT_STATE_DIR = PROJECT_ROOT / ".prism"
# Where uploads through the stack are announced (prism.storage.blob_events).
BLOB_EVENTS_QUEUE = "prism-blob-created"

# Azurite's fixed development account (public, documented, works only against Azurite).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
# The Cosmos DB emulator's well-known key (public); the SDK insists on valid base64.
COSMOS_EMULATOR_KEY = (
    "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw=="
)

# The ports tools expect by default (`UseDevelopmentStorage=true`, the official Cosmos
# emulator), so `func start` with the example settings finds a stack `prism up` started.
# Taken only when free; test sessions always take kernel-chosen ports.
DEFAULT_PORTS = {"blob": 10000, "queue": 10001, "table": 10002, "cosmos": 8081}

AZURITE_MARKER = "azurite/dist/src/azurite.js"
COSMOS_MARKER = "localstack/cosmos-emulator.mjs"
DEVHOST_MARKER = "-m prism_local.devhost"
START_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class AzuriteInfo:
    pid: int
    blob_port: int
    queue_port: int
    table_port: int

    @property
    def connection_string(self) -> str:
        base = f"http://{LOOPBACK}"
        return (
            f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};"
            f"AccountKey={AZURITE_KEY};"
            f"BlobEndpoint={base}:{self.blob_port}/{AZURITE_ACCOUNT};"
            f"QueueEndpoint={base}:{self.queue_port}/{AZURITE_ACCOUNT};"
            f"TableEndpoint={base}:{self.table_port}/{AZURITE_ACCOUNT};"
        )


@dataclass(frozen=True)
class CosmosInfo:
    pid: int
    port: int
    certificate: str

    @property
    def endpoint(self) -> str:
        return f"https://{LOOPBACK}:{self.port}/"

    @property
    def key(self) -> str:
        return COSMOS_EMULATOR_KEY


@dataclass(frozen=True)
class DevhostInfo:
    pid: int
    http_port: int
    app: str

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.http_port}"


@dataclass(frozen=True)
class StackState:
    """What runs where; serialised as ``stack.json``."""

    azurite: AzuriteInfo
    cosmos: CosmosInfo
    devhost: DevhostInfo | None = None

    def app_settings(self) -> dict[str, str]:
        """The app settings that point a Functions app (or a test) at this stack."""
        return {
            Env.WEBJOBS_STORAGE: self.azurite.connection_string,
            Env.STORAGE_CONNECTION: self.azurite.connection_string,
            Env.COSMOS_ENDPOINT: self.cosmos.endpoint,
            Env.COSMOS_KEY: self.cosmos.key,
            Env.LOCAL_BLOB_EVENTS_QUEUE: BLOB_EVENTS_QUEUE,
        }

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StackState:
        devhost = data.get("devhost")
        return cls(
            azurite=AzuriteInfo(**data["azurite"]),
            cosmos=CosmosInfo(**data["cosmos"]),
            devhost=None if devhost is None else DevhostInfo(**devhost),
        )


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    pid: int | None
    running: bool
    where: str


class LocalStack:
    """Start, stop and inspect the stack kept in ``state_dir``."""

    def __init__(
        self,
        state_dir: Path = DEFAULT_STATE_DIR,
        *,
        project_root: Path = PROJECT_ROOT,
        prefer_default_ports: bool = True,
        cosmos_arguments: Sequence[str] = (),
    ) -> None:
        self.state_dir = state_dir
        self.project_root = project_root
        self.prefer_default_ports = prefer_default_ports
        self.cosmos_arguments = tuple(cosmos_arguments)  # extra wrapper flags (benchmarks)
        self.state_path = state_dir / "stack.json"
        # Blobs the last start() found already processed and set to run again.
        self.redelivered = 0

    def files(self, name: str) -> ProcessFiles:
        return ProcessFiles(
            pid_path=self.state_dir / "run" / f"{name}.pid",
            log_path=self.state_dir / "logs" / f"{name}.log",
        )

    # -- state -------------------------------------------------------------------------

    def read_state(self) -> StackState | None:
        try:
            return StackState.from_json(json.loads(self.state_path.read_text()))
        except FileNotFoundError:
            return None

    def _write_state(self, state: StackState) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        temporary = self.state_path.with_suffix(".tmp")
        temporary.write_text(json.dumps(state.to_json(), indent=2) + "\n")
        temporary.replace(self.state_path)  # readers never see half a file

    def running_state(self) -> StackState | None:
        """The recorded state if both emulators it names are still running."""
        state = self.read_state()
        if state is None:
            return None
        if processes.is_running(state.azurite.pid, AZURITE_MARKER) and processes.is_running(
            state.cosmos.pid, COSMOS_MARKER
        ):
            return state
        return None

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> StackState:
        """Start both emulators, or return the running ones (idempotent)."""
        state = self.running_state()
        if state is not None:
            return state
        self.stop()  # a half-started or crashed stack: clear it before starting anew
        node = _node_executable()
        ensure_node_packages(self.project_root)
        try:
            state = StackState(azurite=self._start_azurite(node), cosmos=self._start_cosmos(node))
            # The Cosmos DB emulator keeps documents in memory: it always starts empty,
            # while Azurite keeps its data folder. Receipts left there would stop the
            # blobs whose results were lost from ever running again; forgotten, every
            # blob still in the incoming container is processed anew.
            store = blob_store(StorageConnection(connection_string=state.azurite.connection_string))
            self.redelivered = forget_every_receipt(store)
        except BaseException:
            self.stop()
            raise
        self._write_state(state)
        return state

    def start_devhost(
        self, app: str, settings_file: Path, app_dir: Path | None = None
    ) -> StackState:
        """Run ``prism_local.devhost serve`` on the app in ``app_dir`` (default: the project)
        against the running emulators (idempotent)."""
        state = self.start()
        if state.devhost is not None and processes.is_running(state.devhost.pid, DEVHOST_MARKER):
            return state
        port = processes.free_port(7071 if self.prefer_default_ports else None)
        files = self.files("devhost")
        argv = devhost_command(
            "serve",
            "--app", app,
            "--state-dir", str(self.state_dir),
            "--port", str(port),
            app_dir=app_dir or self.project_root,
            settings_file=settings_file,
        )  # fmt: skip
        pid = processes.start(
            argv, files, [port], cwd=self.project_root, timeout=START_TIMEOUT_SECONDS
        )
        state = StackState(state.azurite, state.cosmos, DevhostInfo(pid, port, app))
        self._write_state(state)
        return state

    def stop(self) -> list[str]:
        """Stop everything this state directory started; the names of what was running."""
        stopped = [
            name
            for name, marker in (
                ("devhost", DEVHOST_MARKER),
                ("azurite", AZURITE_MARKER),
                ("cosmos", COSMOS_MARKER),
            )
            if processes.stop(self.files(name), marker)
        ]
        self.state_path.unlink(missing_ok=True)
        return stopped

    def status(self) -> list[ServiceStatus]:
        state = self.read_state()
        if state is None:
            return [
                ServiceStatus(name, None, False, "-") for name in ("azurite", "cosmos", "devhost")
            ]
        azurite, cosmos = state.azurite, state.cosmos
        rows = [
            ServiceStatus(
                "azurite",
                azurite.pid,
                processes.is_running(azurite.pid, AZURITE_MARKER),
                f"blob :{azurite.blob_port}  queue :{azurite.queue_port}  "
                f"table :{azurite.table_port}",
            ),
            ServiceStatus(
                "cosmos",
                cosmos.pid,
                processes.is_running(cosmos.pid, COSMOS_MARKER),
                cosmos.endpoint,
            ),
        ]
        devhost = state.devhost
        rows.append(
            ServiceStatus("devhost", None, False, "-")
            if devhost is None
            else ServiceStatus(
                "devhost",
                devhost.pid,
                processes.is_running(devhost.pid, DEVHOST_MARKER),
                f"{devhost.url}  app {devhost.app}",
            )
        )
        return rows

    # -- the emulators -------------------------------------------------------------------

    def _port(self, service: str) -> int:
        return processes.free_port(DEFAULT_PORTS[service] if self.prefer_default_ports else None)

    def restart_azurite(self) -> StackState:
        """Start Azurite again on its recorded ports and data folder (after it died or
        was stopped: fault tests kill it mid-run), keeping the Cosmos DB emulator."""
        state = self.read_state()
        if state is None:
            raise ConfigurationError("the stack is not started")
        old = state.azurite
        ports = (old.blob_port, old.queue_port, old.table_port)
        state = replace(state, azurite=self._start_azurite(_node_executable(), ports))
        self._write_state(state)
        return state

    def _start_azurite(self, node: str, ports: tuple[int, int, int] | None = None) -> AzuriteInfo:
        blob, queue, table = ports or (self._port("blob"), self._port("queue"), self._port("table"))
        location = self.state_dir / "azurite"
        location.mkdir(parents=True, exist_ok=True)
        script = self.project_root / "node_modules" / AZURITE_MARKER
        argv = [
            node, str(script),
            "--blobHost", LOOPBACK, "--blobPort", str(blob),
            "--queueHost", LOOPBACK, "--queuePort", str(queue),
            "--tableHost", LOOPBACK, "--tablePort", str(table),
            "--location", str(location),
            # Current SDKs send API versions newer than Azurite knows.
            "--skipApiVersionCheck", "--loose",
            # Telemetry would try the network; access logs cost throughput.
            "--disableTelemetry", "--silent",
        ]  # fmt: skip
        files = self.files("azurite")
        pid = processes.start(
            argv, files, [blob, queue, table], cwd=self.project_root, timeout=START_TIMEOUT_SECONDS
        )
        return AzuriteInfo(pid=pid, blob_port=blob, queue_port=queue, table_port=table)

    def _start_cosmos(self, node: str) -> CosmosInfo:
        port = self._port("cosmos")
        certificate, key = write_self_signed_certificate(self.state_dir / "cosmos")
        script = self.project_root / COSMOS_MARKER
        argv = [
            node, str(script),
            "--host", LOOPBACK, "--port", str(port),
            "--cert", str(certificate), "--key", str(key),
            *self.cosmos_arguments,
        ]  # fmt: skip
        files = self.files("cosmos")
        pid = processes.start(
            argv, files, [port], cwd=self.project_root, timeout=START_TIMEOUT_SECONDS
        )
        return CosmosInfo(pid=pid, port=port, certificate=str(certificate))


def devhost_command(
    mode: str,
    *options: str,
    app_dir: Path = PROJECT_ROOT,
    settings_file: Path | None = None,
) -> list[str]:
    """``python -m prism_local.devhost MODE`` on the app in ``app_dir`` (default: this
    project's, with its example settings)."""
    settings = settings_file or app_dir / "local.settings.example.json"
    return [
        sys.executable, "-m", "prism_local.devhost", mode,
        "--app-dir", str(app_dir),
        "--settings", str(settings),
        *options,
    ]  # fmt: skip


def _node_executable() -> str:
    node = shutil.which("node")
    if node is None:
        raise ConfigurationError("Node.js is not on the PATH; the emulators need node >= 20")
    return node


def ensure_node_packages(project_root: Path = PROJECT_ROOT) -> None:
    """``npm ci`` unless ``node_modules`` is up to date with ``package-lock.json``.

    Uses the same stamp as the Makefile (``node_modules/.installed``), so either may
    install and the other sees it.
    """
    lock = project_root / "package-lock.json"
    stamp = project_root / "node_modules" / ".installed"
    if stamp.exists() and stamp.stat().st_mtime >= lock.stat().st_mtime:
        return
    npm = shutil.which("npm")
    if npm is None:
        raise ConfigurationError("npm is not on the PATH; install Node.js >= 20 with npm")
    result = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund"],
        cwd=project_root,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise TransientError(f"npm ci failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    stamp.touch()
