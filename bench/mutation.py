"""``python -m bench.mutation`` (``make mutation``): mutation testing of the core's
decisions with mutmut, scored per module and written to bench/results/mutation.json.

mutmut (configured in pyproject.toml, ``[tool.mutmut]``) copies ``prism/`` and ``tests/``
into ``mutants/``, mutates the modules of ``only_mutate`` there and runs, for each
mutant, the unit tests that reach the mutated function. The tree itself is never
modified. What else the unit tests read (``models/manifest.json``, ``host.json``,
``README.md``, ``.funcignore``…) is copied into ``mutants/`` from here. Every run starts
from an empty ``mutants/``: mutmut's incremental cache keeps verdicts across changes to
the tests, and the figures must be those of the tree as it is.

A mutant is *killed* when a test fails, or times out (the mutant made a test hang: the
tests told it apart). Mutants no unit test reaches ("no tests") count as survivors.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from importlib.metadata import version
from pathlib import Path
from typing import Any

from bench.machine import recorded_machine

ROOT = Path(__file__).resolve().parents[1]
MUTANTS = ROOT / "mutants"
RESULTS_DIR = ROOT / "bench" / "results"
MUTMUT = Path(sys.executable).with_name("mutmut")
# mutmut copies these into mutants/ itself; the rest of the tree is copied too (code that
# finds files from its own path must find them beside the mutated prism/), except the
# large directories, which are linked, and caches.
COPIED_BY_MUTMUT = frozenset({"prism", "tests", "pyproject.toml"})
LINKED = frozenset({"node_modules", ".venv", ".venv-build", ".venv-checkov", "test-artifacts"})
LEFT_OUT = frozenset(
    {"mutants", ".git", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache",
     ".hypothesis"}
)  # fmt: skip
# The built models (~1 GB) are linked into the copy of models/.
MODELS_BUILD = Path("models") / "build"
DETECTED = ("killed", "timeout")
# "    prism.routing.policy.x_route__mutmut_12: survived" (methods: "xǁClassǁname").
_RESULT_LINE = re.compile(r"^\s*(?P<name>\S+)__mutmut_(?P<n>\d+): (?P<status>.+?)\s*$")


def _left_out(directory: str, names: list[str]) -> set[str]:
    left = {"__pycache__"}
    if Path(directory) == ROOT / MODELS_BUILD.parent:
        left.add(MODELS_BUILD.name)
    return left & set(names)


def prepare() -> None:
    """An empty mutants/ holding a copy of the tree beside what mutmut copies itself."""
    shutil.rmtree(MUTANTS, ignore_errors=True)
    MUTANTS.mkdir()
    for entry in sorted(ROOT.iterdir()):
        target = MUTANTS / entry.name
        if entry.name in COPIED_BY_MUTMUT | LEFT_OUT:
            continue
        if entry.name in LINKED:
            target.symlink_to(Path("..") / entry.name)
        elif entry.is_dir():
            shutil.copytree(entry, target, symlinks=True, ignore=_left_out)
        else:
            shutil.copy2(entry, target)
    if (ROOT / MODELS_BUILD).exists():
        (MUTANTS / MODELS_BUILD).symlink_to(Path("../..") / MODELS_BUILD)


def module_of(function: str) -> str:
    """``prism.queries.xǁResultFilterǁdigest`` → ``prism.queries``."""
    parts = function.split(".")
    while parts and not parts[-1].startswith(("x_", "xǁ")):
        parts.pop()
    return ".".join(parts[:-1])


def statuses() -> dict[str, str]:
    """Every mutant of the last run and its status, as ``mutmut results`` reports it."""
    listed = subprocess.run(
        [str(MUTMUT), "results", "--all", "true"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    found = {}
    for line in listed.splitlines():
        if match := _RESULT_LINE.match(line):
            found[f"{match['name']}__mutmut_{match['n']}"] = match["status"]
    return found


def score(found: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Per module: mutants by status, how many the tests detected, and the share."""
    by_module: dict[str, Counter[str]] = {}
    for mutant, status in found.items():
        by_module.setdefault(module_of(mutant.split("__mutmut_")[0]), Counter())[status] += 1
    report = {}
    for module, counts in sorted(by_module.items()):
        total = sum(counts.values())
        detected = sum(counts[status] for status in DETECTED)
        report[module] = {
            "total": total,
            "killed": detected,
            "score": round(detected / total, 3) if total else None,
            "statuses": dict(sorted(counts.items())),
        }
    return report


def render(modules: dict[str, dict[str, Any]]) -> str:
    rows = [("module", "killed", "total", "score", "survived", "no tests")]
    for module, figures in modules.items():
        statuses = figures["statuses"]
        rows.append((
            module, str(figures["killed"]), str(figures["total"]),
            f"{100 * figures['score']:.0f} %", str(statuses.get("survived", 0)),
            str(statuses.get("no tests", 0)),
        ))  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in
                  enumerate(zip(row, widths, strict=True)))
        for row in rows
    )  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.mutation", description=__doc__)
    parser.add_argument("--output", default="mutation", help="results file name, no .json")
    parser.add_argument(
        "--max-children", type=int, default=None, help="mutants tested at once (default: cores)"
    )
    args = parser.parse_args()
    prepare()
    command = [str(MUTMUT), "run"]
    if args.max_children is not None:
        command += ["--max-children", str(args.max_children)]
    with recorded_machine() as where:
        start = time.perf_counter()
        run = subprocess.run(command, cwd=ROOT, check=False)
        seconds = time.perf_counter() - start
    if run.returncode != 0:
        print(f"mutmut run failed ({run.returncode})", file=sys.stderr)
        return run.returncode
    found = statuses()
    modules = score(found)
    survivors = sorted(m for m, status in found.items() if status not in DETECTED)
    print(f"\nmutation score per module ({len(found)} mutants, {seconds / 60:.1f} min)")
    print(render(modules))
    report = {
        "tool": f"mutmut {version('mutmut')}",
        "seconds": round(seconds, 1),
        "mutants": len(found),
        "modules": modules,
        "survivors": survivors,
        "machine": where,
    }
    RESULTS_DIR.mkdir(exist_ok=True)
    target = RESULTS_DIR / f"{args.output}.json"
    target.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"(written to bench/results/{target.name}; `mutmut show <name>` shows a mutant)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
