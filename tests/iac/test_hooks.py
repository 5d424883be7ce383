"""The hooks azd runs (azure.yaml) work on macOS, Linux and Windows without root.

azd runs the prepackage hook before it provisions anything, on the machine of whoever
types `azd up`: a hook that needs apt-get, sudo or a system package stops the deploy on
macOS, Windows and any Linux without root. These tests expand each hook into what it
really runs — `make -n -B <target>` for a make target, the script's text for a script —
and look for those. The postdeploy script is run against stand-ins for `az` and `azd`.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

from tests.deployment import left_out

from .conftest import ROOT

# What a hook must never run: root, a system package manager, the test-only system
# packages, or the dev environment (.venv holds the test tooling, not the build's).
FORBIDDEN = {
    "root": re.compile(r"\bsudo\b|\bdoas\b|-Verb\s+RunAs"),
    "a system package manager": re.compile(r"\b(apt-get|apt|dpkg|dnf|yum|brew|choco|winget)\b"),
    "a test-only system package": re.compile(r"\b(espeak-ng|chromium|system-deps)\b"),
    "the dev environment": re.compile(r"(^|[\s'\"/\\])\.venv[/\\]"),
}


def _hooks() -> dict[str, dict[str, Any]]:
    """Every hook of azure.yaml, project-level and per service, by name."""
    config = yaml.safe_load((ROOT / "azure.yaml").read_text("utf-8"))
    hooks = {f"project {name}": hook for name, hook in (config.get("hooks") or {}).items()}
    for service, definition in config["services"].items():
        for name, hook in (definition.get("hooks") or {}).items():
            hooks[f"service {service} {name}"] = hook
    return hooks


# `echo "…"` and its continued quoted arguments: a message may name apt-get or sudo
# (what to install yourself) without running them.
_ECHOED = re.compile(r"""\becho((?:\s|\\\n)+(?:"[^"]*"|'[^']*'))+""")


def _without_comments(text: str) -> str:
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    return _ECHOED.sub("echo", "\n".join(lines))


def expand(command: str, directory: Path = ROOT) -> str:
    """What a hook command runs: a make target's recipes with every prerequisite
    (`make -n -B` prints them without running any), or a script's text."""
    words = command.split()
    if words[0] == "make":
        completed = subprocess.run(
            ["make", "-n", "-B", *words[1:]],
            cwd=directory,
            capture_output=True,
            text=True,
            check=True,
        )
        return _without_comments(completed.stdout)
    script = directory / words[0]
    assert script.is_file(), f"{command}: no such script"
    return _without_comments(script.read_text("utf-8"))


def root_or_system_problems(
    command: str, directory: Path = ROOT, allowed: frozenset[str] = frozenset()
) -> list[str]:
    text = expand(command, directory)
    return [
        f"{command}: runs {what} ({match.group(0).strip()!r})"
        for what, pattern in FORBIDDEN.items()
        if what not in allowed
        for match in [pattern.search(text)]
        if match
    ]


def test_azure_yaml_declares_the_hooks_this_project_needs() -> None:
    assert set(_hooks()) == {"service api prepackage", "project postdeploy"}


@pytest.mark.parametrize("name", sorted(_hooks()))
def test_every_hook_has_a_posix_and_a_windows_form(name: str) -> None:
    hook = _hooks()[name]
    assert hook["posix"]["shell"] == "sh"
    assert hook["windows"]["shell"] == "pwsh"


@pytest.mark.parametrize(
    "command",
    sorted({hook[os_][key] for hook in _hooks().values() for os_ in hook for key in ("run",)}),
)
def test_no_hook_needs_root_or_a_system_package(command: str) -> None:
    assert root_or_system_problems(command) == []


def test_the_readmes_first_command_needs_no_root_or_system_package() -> None:
    # `make demo` sets up and uses the dev environment; it must not need root, a system
    # package manager or the test-only packages (those stay with `make test`).
    assert root_or_system_problems("make demo", allowed=frozenset({"the dev environment"})) == []


def test_the_model_build_as_it_was_is_reported(tmp_path: Path) -> None:
    # The Makefile as issue 15 found it: `models` depended on `system-deps`, which ran
    # apt-get, and built with the dev environment's prism.
    (tmp_path / "Makefile").write_text(
        "BIN := .venv/bin\n"
        "system-deps:\n"
        "\t@command -v espeak-ng >/dev/null || apt-get install -y espeak-ng chromium\n"
        "setup:\n\ttrue\n"
        "models: setup system-deps\n"
        "\t$(BIN)/prism models build\n",
        encoding="utf-8",
    )

    problems = root_or_system_problems("make models", tmp_path)

    assert [p.split(" runs ")[1].split(" (")[0] for p in problems] == [
        "a system package manager",
        "a test-only system package",
        "the dev environment",
    ]


def test_scripts_the_hooks_run_exist_and_the_posix_ones_are_executable() -> None:
    for hook in _hooks().values():
        for os_, form in hook.items():
            first = form["run"].split()[0]
            if first == "make":
                continue
            script = ROOT / first
            assert script.is_file(), form["run"]
            if os_ == "posix":
                assert script.stat().st_mode & stat.S_IXUSR, f"{first} is not executable"


def test_what_the_package_hook_builds_ships_and_its_environment_does_not() -> None:
    # azd zips the project as .funcignore says: models/build/ must be in it, the build
    # environment (gigabytes of torch) must not.
    assert not left_out(PurePosixPath("models/build/silero-vad-16k/silero-vad-16k.int8.onnx"))
    assert not left_out(PurePosixPath("models/build/lock.json"))
    assert left_out(PurePosixPath(".venv-build/lib/python3.11/site-packages/torch/__init__.py"))


# ---- the postdeploy hook, run against stand-ins for az and azd ---------------------

ENVIRONMENT = {
    "AZURE_RESOURCE_GROUP": "rg-test",
    "AZURE_FUNCTION_APP_NAME": "func-prism-test",
    "AZURE_EVENTGRID_SYSTEM_TOPIC": "evgt-prism-test",
    "AZURE_INCOMING_CONTAINER": "incoming",
    "AZURE_DEADLETTER_CONTAINER": "eventgrid-deadletter",
    "AZURE_DEADLETTER_CONTAINER_ID": "/subscriptions/s/resourceGroups/rg-test/providers/"
    "Microsoft.Storage/storageAccounts/stprismtest/blobServices/default/containers/"
    "eventgrid-deadletter",
}


def _stand_ins(directory: Path, key_after: int) -> Path:
    """`azd env get-values` prints ENVIRONMENT; `az functionapp keys list` answers an
    empty key ``key_after`` times, then a key; `az eventgrid ...` records its arguments."""
    bin_dir = directory / "bin"
    bin_dir.mkdir()
    values = "".join(f"echo '{name}=\"{value}\"'\n" for name, value in ENVIRONMENT.items())
    (bin_dir / "azd").write_text(f"#!/bin/sh\n{values}", encoding="utf-8")
    (bin_dir / "az").write_text(
        "#!/bin/sh\n"
        f'calls="{directory}/key-calls"\n'
        'if [ "$1" = functionapp ]; then\n'
        '  echo x >> "$calls"\n'
        f'  if [ "$(wc -l < "$calls")" -gt {key_after} ]; then echo secret-key; fi\n'
        "  exit 0\n"
        "fi\n"
        f'printf "%s\\n" "$@" > "{directory}/subscription-args"\n',
        encoding="utf-8",
    )
    for tool in ("az", "azd"):
        (bin_dir / tool).chmod(0o755)
    return bin_dir


def _run_postdeploy(tmp_path: Path, key_after: int, wait: int) -> subprocess.CompletedProcess[str]:
    bin_dir = _stand_ins(tmp_path, key_after)
    return subprocess.run(
        [str(ROOT / "scripts" / "create-eventgrid-subscription.sh")],
        env={
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "KEY_WAIT_SECONDS": str(wait),
            "KEY_POLL_SECONDS": "0",
        },
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_postdeploy_waits_for_the_key_then_subscribes_with_a_dead_letter(tmp_path: Path) -> None:
    # The key appears on the fourth look: the script as it was gave up on the first.
    completed = _run_postdeploy(tmp_path, key_after=3, wait=10)

    assert completed.returncode == 0, completed.stderr
    assert (tmp_path / "key-calls").read_text().count("x") == 4
    args = (tmp_path / "subscription-args").read_text().splitlines()
    assert args[args.index("--endpoint") + 1].endswith(
        "/runtime/webhooks/blobs?functionName=Host.Functions.ingest&code=secret-key"
    )
    apis = args[args.index("data.api") + 2 : args.index("--max-delivery-attempts")]
    assert apis == ["PutBlob", "PutBlockList", "CopyBlob", "PutBlobFromUrl", "FlushWithClose"]
    assert args[args.index("--deadletter-identity") + 1] == "systemassigned"
    assert (
        args[args.index("--deadletter-identity-endpoint") + 1]
        == (ENVIRONMENT["AZURE_DEADLETTER_CONTAINER_ID"])
    )


def test_postdeploy_gives_up_after_its_bound_and_says_what_to_do(tmp_path: Path) -> None:
    completed = _run_postdeploy(tmp_path, key_after=10_000_000, wait=1)

    assert completed.returncode == 1
    assert "no blobs_extension key after 1s" in completed.stderr
    assert not (tmp_path / "subscription-args").exists()


def test_the_windows_postdeploy_script_matches_the_posix_one() -> None:
    # No pwsh here to run it: the same filter, dead letter and bounded wait, by text.
    posix = (ROOT / "scripts" / "create-eventgrid-subscription.sh").read_text("utf-8")
    windows = (ROOT / "scripts" / "create-eventgrid-subscription.ps1").read_text("utf-8")
    for text in (posix, windows):
        assert "StringIn PutBlob PutBlockList CopyBlob PutBlobFromUrl FlushWithClose" in text
        assert "--deadletter-identity systemassigned" in text
        assert "AZURE_DEADLETTER_CONTAINER_ID" in text
        assert "KEY_WAIT_SECONDS" in text
        assert "--max-delivery-attempts 30" in text
