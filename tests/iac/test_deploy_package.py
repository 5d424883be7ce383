"""What Azure runs is the deployment package plus `requirements.txt`, installed alone.

Every module the app can import — from `function_app.py`, following every import of
the project's own code, the ones inside functions too — must ship in the package (not
be left out by `.funcignore`) and, when it is a third-party module, come from a
distribution `requirements.txt` installs. A dev-only dependency on a run-time path
(`jsonschema` under the console's lifecycle view, once) fails here, offline.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
from pathlib import Path, PurePosixPath

import pytest
from packaging.requirements import Requirement

from prism.onnx.registry import MANIFEST_PATH, load_manifest, read_lock
from tests.deployment import left_out, package_files

ROOT = Path(__file__).resolve().parents[2]
FIRST_PARTY = ("function_app", "functions", "prism", "models")
# What the package holds: the Functions layer and the core, the host's configuration and
# requirements, the built models and the lifecycle policy the console reads.
# The local platform and the tools, and the core under them (the model build, which the
# CLI starts, runs in its own environment).
TOOLS = ("prism", "prism_local", "prism_tools")
PACKAGED_TOP_LEVEL = {
    "function_app.py", "host.json", "requirements.txt", "functions", "prism", "models",
    "lifecycle_policies",
}  # fmt: skip


def _requirement_lines(path: Path) -> list[str]:
    lines = []
    for raw in path.read_text("utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line.startswith("-r "):
            lines += _requirement_lines(path.parent / line[3:].strip())
        elif line:
            lines.append(line)
    return lines


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def distribution_closure(requirements: list[str]) -> frozenset[str]:
    """The named distributions and everything they require, as installed here."""
    pending = [Requirement(line) for line in requirements]
    found: set[str] = set()
    while pending:
        requirement = pending.pop()
        name = _canonical(requirement.name)
        # Extras are never requested by requirements.txt; other markers as here.
        if name in found or not (
            requirement.marker is None or requirement.marker.evaluate({"extra": ""})
        ):
            continue
        found.add(name)
        try:
            dependencies = importlib.metadata.requires(requirement.name) or []
        except importlib.metadata.PackageNotFoundError:
            dependencies = []  # not installed here: only its own name is known
        pending += [Requirement(text) for text in dependencies]
    return frozenset(found)


def _module_file(module: str) -> Path | None:
    base = ROOT.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports(path: Path, module: str) -> set[str]:
    """Absolute names of every module ``path`` imports, at any depth of its code."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            names.add(target)
            # `from package import submodule` imports the submodule too.
            names.update(f"{target}.{alias.name}" for alias in node.names)
    return names


def reachable_imports(
    entries: tuple[str, ...] = ("function_app",), first_party: tuple[str, ...] = FIRST_PARTY
) -> tuple[dict[str, str], dict[str, str]]:
    """(first-party module -> the module that imports it, third-party top-level name ->
    the first-party module that imports it), from ``entries``. Other project packages
    (the model build, for the tools: its own environment) are neither."""
    first: dict[str, str] = dict.fromkeys(entries, "(entry point)")
    third: dict[str, str] = {}
    pending = list(entries)
    while pending:
        module = pending.pop()
        path = _module_file(module)
        if path is None:
            continue
        for name in _imports(path, module):
            top = name.partition(".")[0]
            if top in first_party:
                if _module_file(name) is not None and name not in first:
                    first[name] = module
                    pending.append(name)
            elif top not in (*sys.stdlib_module_names, *FIRST_PARTY, *TOOLS, "__future__"):
                third.setdefault(top, module)
    return first, third


def test_every_module_the_app_imports_ships_in_the_package() -> None:
    first, _ = reachable_imports()
    missing = [
        f"{module} (imported by {importer})"
        for module, importer in sorted(first.items())
        if left_out(PurePosixPath(_module_file(module).relative_to(ROOT).as_posix()))  # type: ignore[union-attr]
    ]
    assert len(first) > 20  # the walk found the app's modules
    assert missing == []


def unprovided_imports(
    runtime: frozenset[str], entries: tuple[str, ...] = ("function_app",)
) -> list[str]:
    """Third-party modules ``entries`` import (the app by default) that no distribution in
    ``runtime`` installs."""
    _, third = reachable_imports(entries, FIRST_PARTY if entries == ("function_app",) else TOOLS)
    distributions = importlib.metadata.packages_distributions()
    return [
        f"{name} (imported by {importer}; from {', '.join(distributions.get(name, ['?']))})"
        for name, importer in sorted(third.items())
        if not any(_canonical(dist) in runtime for dist in distributions.get(name, []))
    ]


def test_every_third_party_module_the_app_imports_comes_from_requirements_txt() -> None:
    _, third = reachable_imports()
    runtime = distribution_closure(_requirement_lines(ROOT / "requirements.txt"))

    assert {"azure", "numpy", "onnxruntime", "jsonschema"} <= third.keys()
    assert unprovided_imports(runtime) == []


def tool_modules() -> tuple[str, ...]:
    return tuple(
        ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for package in ("prism_local", "prism_tools")
        for path in sorted((ROOT / package).rglob("*.py"))
        if "_generated" not in path.parts
    )


def test_every_third_party_module_the_tools_import_comes_from_requirements_tools_txt() -> None:
    runtime = distribution_closure(_requirement_lines(ROOT / "requirements-tools.txt"))
    _, third = reachable_imports(tool_modules(), TOOLS)

    assert {"tqdm", "matplotlib", "h11", "grpc_tools", "cryptography", "numpy"} <= third.keys()
    assert unprovided_imports(runtime, tool_modules()) == []


def test_a_dev_only_import_on_the_run_time_path_is_reported() -> None:
    # requirements.txt as it was before jsonschema moved there from requirements-dev.txt.
    lines = _requirement_lines(ROOT / "requirements.txt")
    before = [line for line in lines if not line.startswith("jsonschema")]

    missing = unprovided_imports(distribution_closure(before))

    assert [entry.split(" ")[0] for entry in missing] == ["jsonschema"]


def test_azd_has_the_platform_install_requirements_txt() -> None:
    # Remote build: the platform installs requirements.txt for Linux and Python 3.13;
    # azd's default is not what the deployment relies on, so it is pinned.
    import yaml

    config = yaml.safe_load((ROOT / "azure.yaml").read_text("utf-8"))
    functions = [s for s in config["services"].values() if s["host"] == "function"]
    assert functions and all(service.get("remoteBuild") is True for service in functions)


def test_the_package_holds_the_functions_layer_and_the_core_and_no_tool_code() -> None:
    files = package_files()
    code = {path for path in files if path.suffix == ".py"}
    assert {path.parts[0] for path in files} == PACKAGED_TOP_LEVEL
    assert PurePosixPath("function_app.py") in code
    assert all(path.parts[0] in {"function_app.py", "functions", "prism"} for path in code)
    # The local platform, the tools, the model build's code, tests and benchmarks: out.
    for name in ("prism_local", "prism_tools", "tests", "bench", "scripts", "bicep"):
        assert (ROOT / name).is_dir() and all(path.parts[0] != name for path in files)
    assert not any(part == "__pycache__" for path in files for part in path.parts)


def test_every_model_ships_the_graphs_it_runs_and_no_reference_it_does_not() -> None:
    model_dir = ROOT / "models" / "build"
    lock = read_lock(model_dir)
    if lock is None:
        pytest.skip("the models are not built here (make models)")
    files = set(package_files())
    assert PurePosixPath("models/manifest.json") in files
    checked = 0
    for entry in load_manifest(MANIFEST_PATH)["models"]:
        if entry["name"] not in lock["models"]:
            continue  # an optional model this build left out
        stems = [f"{entry['name']}.{part}" for part in entry.get("parts", ())] or [entry["name"]]
        for stem in stems:
            for precision in ("int8", "fp32"):
                path = PurePosixPath(f"models/build/{entry['name']}/{stem}.{precision}.onnx")
                runs = precision == entry["runtime_precision"]
                assert (path in files) == runs, f"{path}: runs={runs}"
                checked += 1
    assert checked >= 14


def test_a_new_top_level_folder_stays_out_of_the_package_until_it_is_named(
    tmp_path: Path,
) -> None:
    (tmp_path / ".funcignore").write_text((ROOT / ".funcignore").read_text("utf-8"), "utf-8")
    for relative in ("function_app.py", "prism/jobs.py", "prism/__pycache__/jobs.pyc",
                     "new_tool/cli.py", "notes.md", "models/build.py",
                     "models/build/lock.json", "models/build/x/x.fp32.onnx"):  # fmt: skip
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text("x", "utf-8")

    assert package_files(tmp_path) == [
        PurePosixPath("function_app.py"),
        PurePosixPath("models/build/lock.json"),
        PurePosixPath("prism/jobs.py"),
    ]
