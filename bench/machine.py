"""Where and when a benchmark's figures were measured, and how busy the machine was (the
project's machines are shared): written into every results file."""

from __future__ import annotations

import os
import platform
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def load_average() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def machine() -> dict[str, Any]:
    """CPU, cores, memory, Python, and the load when the run started."""
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor() or platform.machine(),
    ) if Path("/proc/cpuinfo").is_file() else platform.processor()  # fmt: skip
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory, 1),
        "python": platform.python_version(),
        "system": platform.platform(),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_average_before": load_average(),
    }


@contextmanager
def recorded_machine() -> Iterator[dict[str, Any]]:
    """The machine of the run inside the block, its load after it added on the way out."""
    where = machine()
    yield where
    where["load_average_after"] = load_average()
