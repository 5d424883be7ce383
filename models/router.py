"""The router model: magika's content-type classifier, copied from its wheel as fp32."""

from __future__ import annotations

import shutil
from typing import Any

from models.common import BuildContext, package_file


def build(ctx: BuildContext) -> dict[str, Any]:
    upstream = ctx.entry["upstream"]
    shutil.copyfile(package_file(upstream["file"], upstream["sha256"]), ctx.output("fp32.onnx"))
    shutil.copyfile(
        package_file(upstream["config"], upstream["config_sha256"]),
        ctx.model_dir / "config.min.json",
    )
    ctx.report("router: copied magika's model (kept fp32, see the manifest)")
    return {}
