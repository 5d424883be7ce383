"""``prism_local.devhost``: the local Functions host.

It runs the real ``function_app`` against the local emulators the way the Functions
host runs it on Azure (see :mod:`prism_local.devhost.host`), for ``prism up`` and for the
integration tests — the func CLI cannot be installed here, though anyone who has it can
still ``func start`` the same app.

This package is the host layer, outside the core: every invocation goes to Microsoft's
Python worker runtime (``azure-functions-runtime``) in a process of its own, which
builds the objects functions receive, as on Azure; nothing in the core imports it.
"""

from __future__ import annotations

from prism_local.devhost.config import HostConfig, QueueOptions, load_local_settings
from prism_local.devhost.host import DevHost, HostStats
from prism_local.devhost.indexing import FunctionSpec
from prism_local.devhost.launch import build_host, prepare_environment
from prism_local.devhost.worker import RuntimeWorker, Worker, worker_package

__all__ = [
    "DevHost",
    "FunctionSpec",
    "HostConfig",
    "HostStats",
    "QueueOptions",
    "RuntimeWorker",
    "Worker",
    "build_host",
    "load_local_settings",
    "prepare_environment",
    "worker_package",
]
