"""Unit fixtures: a model directory laid out like the build's, from installed wheels.

Until ``prism models build`` has run, the router and audio tests need the model files
at the names the registry expects. They are copied out of the installed packages
(located with ``find_spec``, which does not import them: importing silero_vad would
import torch). The silero fp32 file stands in for the int8 one.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

from prism.onnx.registry import ModelSpec, model_for


def package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        pytest.skip(f"the {name} package is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("models")
    magika = package_dir("magika") / "models" / "standard_v3_3"
    router = root / "magika-standard-v3-3"
    router.mkdir()
    shutil.copyfile(magika / "model.onnx", router / "magika-standard-v3-3.fp32.onnx")
    shutil.copyfile(magika / "config.min.json", router / "config.min.json")
    silero = package_dir("silero_vad") / "data" / "silero_vad_16k_sequence.onnx"
    audio = root / "silero-vad-16k"
    audio.mkdir()
    for precision in ("int8", "fp32"):
        shutil.copyfile(silero, audio / f"silero-vad-16k.{precision}.onnx")
    return root


@pytest.fixture(scope="session")
def router_spec(model_dir: Path) -> ModelSpec:
    return model_for("router", model_dir)


@pytest.fixture(scope="session")
def audio_spec(model_dir: Path) -> ModelSpec:
    return model_for("audio", model_dir)
