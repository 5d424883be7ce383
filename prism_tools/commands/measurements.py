"""Which benchmark results ``prism cost`` and ``prism plan`` answer from, and how they say so.

``make bench`` writes this machine's own results to ``bench/results/`` (``local``). A
fresh clone has none, so the project ships the results of one ``make bench`` run on the
project's machine in ``bench/reference/`` (``reference``; each file records the machine
and when it was measured). The commands use the local results when every file they need
is there, else the reference ones — never a mix of the two, so a plan's figures come
from one run on one machine. ``--bench-dir`` names a directory to use whatever it holds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prism.settings import PROJECT_ROOT

LOCAL_DIR = PROJECT_ROOT / "bench" / "results"
REFERENCE_DIR = PROJECT_ROOT / "bench" / "reference"
# What prism_tools.cost.model.measured_from_bench cannot do without; documents.json and speech.json
# refine the figures where they exist.
REQUIRED = ("batching.json", "models.json", "pipeline.json", "media.json")
OPTIONAL = ("documents.json", "speech.json")


@dataclass(frozen=True)
class Measurements:
    """The directory of results the figures come from, and what it is."""

    directory: Path
    source: str  # "local" (make bench on this machine, or --bench-dir) or "reference"
    recorded: str | None  # the day the oldest file used was measured (UTC), if recorded
    machine: str | None  # what the files say they were measured on
    files: tuple[str, ...]
    note: str | None = None  # why local results present were not used

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "directory": _shown(self.directory),
            "recorded": self.recorded,
            "machine": self.machine,
            "files": list(self.files),
            "note": self.note,
        }

    def describe(self) -> str:
        """One line for the text output."""
        what = {"local": "local", "reference": "the project's reference"}[self.source]
        when = f" of {self.recorded}" if self.recorded else ""
        where = f" on {self.machine}" if self.machine else ""
        line = f"Measurements: {what} benchmark results ({_shown(self.directory)}{when}{where})."
        if self.source == "reference":
            line += " Run `make bench` to plan from this machine's own."
        return line + (f" {self.note}" if self.note else "")


def measurements(given: Path | None = None) -> Measurements:
    """``given`` (``--bench-dir``) as it is; else :data:`LOCAL_DIR` if it holds every
    required file; else :data:`REFERENCE_DIR`."""
    local, reference = LOCAL_DIR, REFERENCE_DIR
    if given is not None:
        shipped = given.resolve() == reference.resolve()
        return _described(given, "reference" if shipped else "local")
    present = [name for name in (*REQUIRED, *OPTIONAL) if (local / name).is_file()]
    if all(name in present for name in REQUIRED):
        return _described(local, "local")
    note = None
    if present:
        missing = [name for name in REQUIRED if name not in present]
        note = (
            f"{_shown(local)} has {', '.join(present)} but not {', '.join(missing)}: "
            "`make bench` writes them all (`python -m bench --only` runs some suites)."
        )
    return _described(reference, "reference", note)


def _described(directory: Path, source: str, note: str | None = None) -> Measurements:
    files = tuple(name for name in (*REQUIRED, *OPTIONAL) if (directory / name).is_file())
    machines = [_machine(directory / name) for name in files]
    started = sorted(m["started"] for m in machines if isinstance(m.get("started"), str))
    described = list(dict.fromkeys(d for m in machines if (d := _machine_text(m))))
    return Measurements(
        directory=directory,
        source=source,
        recorded=started[0][:10] if started else None,
        machine="; ".join(described) or None,
        files=files,
        note=note,
    )


def _machine(path: Path) -> dict[str, Any]:
    """The ``machine`` block bench/machine.py writes into every results file."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # read (and refused, with its reason) by prism_tools.cost.model
    machine = document.get("machine") if isinstance(document, dict) else None
    return machine if isinstance(machine, dict) else {}


def _machine_text(machine: dict[str, Any]) -> str | None:
    if not machine.get("cpu"):
        return None
    parts = [str(machine["cpu"])]
    if machine.get("cores"):
        parts.append(f"{machine['cores']} cores")
    if machine.get("memory_gib"):
        parts.append(f"{machine['memory_gib']} GiB")
    return ", ".join(parts)


def _shown(directory: Path) -> str:
    """A path inside the project relative to it (as the README names it)."""
    try:
        return str(directory.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(directory)
