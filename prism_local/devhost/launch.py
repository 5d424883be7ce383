"""Assemble a :class:`DevHost` for an app directory: settings into the environment
first (the app's functions read them), then import and index the app."""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from pathlib import Path

from prism.settings import load_settings
from prism_local.devhost.config import HostConfig, load_local_settings
from prism_local.devhost.host import DevHost
from prism_local.devhost.worker import RuntimeWorker
from prism_local.localstack import LocalStack

EXAMPLE_SETTINGS = "local.settings.example.json"
DEVELOPMENT_STORAGE = "usedevelopmentstorage=true"


def prepare_environment(
    settings_file: Path,
    state_dir: Path | None = None,
    environ: MutableMapping[str, str] | None = None,
) -> None:
    """Put ``local.settings.json`` ``Values`` into the environment (variables already
    set win, as with ``func start``), then point the connections at the running local
    stack in ``state_dir``, if one runs there (its ports are chosen at start).

    Settings the app would refuse raise :class:`ConfigurationError` naming each: the host
    does not start an app that would fail every job."""
    env = os.environ if environ is None else environ
    values = load_local_settings(settings_file, settings_file.with_name(EXAMPLE_SETTINGS))
    for name, value in values.items():
        env.setdefault(name, value)
    load_settings(env)
    if state_dir is None:
        return
    state = LocalStack(state_dir).running_state()
    if state is None:
        return
    env.update(state.app_settings())
    # "UseDevelopmentStorage=true" means the local emulator at its default ports; the
    # stack's ports may differ, so every connection that says so gets the real one.
    for name, value in list(env.items()):
        if value.strip().lower() == DEVELOPMENT_STORAGE:
            env[name] = state.azurite.connection_string


def build_host(app: str, app_dir: Path) -> DevHost:
    """A host for the app whose entry point is ``app`` (a module, e.g. ``function_app``)
    in ``app_dir``, with ``app_dir/host.json``; the worker indexes it when the host
    starts. Call after :func:`prepare_environment`."""
    module = app.partition(":")[0]
    worker = RuntimeWorker(app_dir, script_file=f"{module}.py")
    return DevHost(worker, HostConfig.from_file(app_dir / "host.json"))
