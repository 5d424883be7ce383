"""The FunctionRpc messages (``function_rpc.proto``) as Python classes.

Microsoft's worker runtime ships no generated messages: the host side brings them
(``properties["protos"]`` of the init request). They are generated here with
grpcio-tools on first use, and again whenever the ``.proto`` changes (its hash is
recorded beside the output); the output is a build product, never committed.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import sys
import tempfile
from functools import lru_cache
from pathlib import Path
from types import ModuleType

from prism.errors import ConfigurationError

PROTO = Path(__file__).with_name("function_rpc.proto")
GENERATED_DIR = Path(__file__).with_name("_generated")
MODULE = "function_rpc_pb2"


def _proto_hash() -> str:
    return hashlib.sha256(PROTO.read_bytes()).hexdigest()


def generate(target: Path = GENERATED_DIR) -> Path:
    """Compile the ``.proto`` into ``target`` (atomically: a concurrent reader sees the
    old module or the new one, never half of one); the generated file."""
    from grpc_tools import protoc  # build-time tool: imported only to generate

    well_known = Path(protoc.__file__).with_name("_proto")
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target) as scratch:
        status = protoc.main(
            ["protoc", f"-I{PROTO.parent}", f"-I{well_known}", f"--python_out={scratch}",
             str(PROTO)]
        )  # fmt: skip
        if status != 0:
            raise ConfigurationError(f"protoc failed on {PROTO.name} (exit {status})")
        (Path(scratch) / f"{MODULE}.py").replace(target / f"{MODULE}.py")
    (target / "__init__.py").touch()
    stamp = target / "proto.sha256"
    stamp.with_suffix(".tmp").write_text(_proto_hash())
    os.replace(stamp.with_suffix(".tmp"), stamp)
    return target / f"{MODULE}.py"


def is_current(target: Path = GENERATED_DIR) -> bool:
    stamp = target / "proto.sha256"
    return (
        (target / f"{MODULE}.py").is_file()
        and stamp.is_file()
        and (stamp.read_text().strip() == _proto_hash())
    )


@lru_cache(maxsize=1)
def messages() -> ModuleType:
    """The generated message module (``StreamingMessage``, ``TypedData``, …)."""
    if not is_current():
        generate()
    name = f"{__name__}._generated.{MODULE}"
    sys.modules.pop(name, None)
    return importlib.import_module(name)
