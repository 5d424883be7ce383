"""Offline checks of the Bicep templates (there is no Bicep CLI here).

Each check returns a list of problems naming the file, the line and what is wrong, so
the suite can print them all and the broken-copy tests can assert on the message.
tree-sitter-bicep gives a full syntax tree; the checks walk it instead of matching text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import tree_sitter_bicep
from tree_sitter import Language, Node, Parser

API_VERSION = re.compile(r"^[A-Za-z0-9.]+/[A-Za-z0-9./]+@\d{4}-\d{2}-\d{2}(-preview)?$")

# Properties every deployment must keep, by resource type: path -> expected literal.
SECURITY_BASELINE: dict[str, dict[str, str]] = {
    "Microsoft.Storage/storageAccounts": {
        "properties.allowSharedKeyAccess": "false",
        "properties.minimumTlsVersion": "'TLS1_2'",
        "properties.allowBlobPublicAccess": "false",
        "properties.supportsHttpsTrafficOnly": "true",
    },
    "Microsoft.DocumentDB/databaseAccounts": {"properties.disableLocalAuth": "true"},
    "Microsoft.Insights/components": {"properties.DisableLocalAuth": "true"},
    "Microsoft.OperationalInsights/workspaces": {"properties.features.disableLocalAuth": "true"},
    "Microsoft.Web/sites": {
        "properties.httpsOnly": "true",
        "properties.siteConfig.minTlsVersion": "'1.2'",
        "properties.siteConfig.ftpsState": "'Disabled'",
    },
}


@cache
def _parser() -> Parser:
    return Parser(Language(tree_sitter_bicep.language()))


def _text(node: Node) -> str:
    return (node.text or b"").decode("utf-8")


def _walk(node: Node) -> Iterator[Node]:
    yield node
    for child in node.children:
        yield from _walk(child)


def _string_value(node: Node | None) -> str | None:
    """The value of a plain string literal (no interpolation), else ``None``."""
    if node is None or node.type != "string":
        return None
    parts = node.named_children
    if any(part.type != "string_content" for part in parts):
        return None
    return "".join(_text(part) for part in parts)


@dataclass(frozen=True)
class BicepFile:
    path: Path
    root: Node

    @classmethod
    def read(cls, path: Path) -> BicepFile:
        return cls(path, _parser().parse(path.read_bytes()).root_node)

    def where(self, node: Node) -> str:
        return f"{self.path.name}:{node.start_point[0] + 1}"

    def declarations(self, kind: str) -> list[Node]:
        return [node for node in self.root.named_children if node.type == kind]

    def resources(self) -> Iterator[tuple[Node, str, Node | None]]:
        """(declaration, type string, body object) of every resource."""
        for node in self.declarations("resource_declaration"):
            type_node = next(c for c in node.named_children if c.type == "string")
            body = next((c for c in node.named_children if c.type == "object"), None)
            yield node, _string_value(type_node) or _text(type_node), body

    def params(self) -> dict[str, bool]:
        """Declared parameter names -> whether they have a default."""
        declared = {}
        for node in self.declarations("parameter_declaration"):
            name = _text(node.named_children[0])
            declared[name] = node.named_children[-1].type != "type"
        return declared


def property_node(body: Node | None, path: str) -> Node | None:
    """The value node at a dotted property path in an object literal."""
    node = body
    for key in path.split("."):
        if node is None or node.type != "object":
            return None
        node = next(
            (
                prop.named_children[1]
                for prop in node.named_children
                if prop.type == "object_property" and _text(prop.named_children[0]) == key
            ),
            None,
        )
    return node


def syntax_problems(bicep: BicepFile) -> list[str]:
    problems = []
    for node in _walk(bicep.root):
        if node.is_missing:
            problems.append(f"{bicep.where(node)}: syntax error (missing {node.type})")
        elif node.is_error:
            problems.append(f"{bicep.where(node)}: syntax error (unexpected {_text(node)[:40]!r})")
    return problems


def description_problems(bicep: BicepFile) -> list[str]:
    """Every parameter carries ``@description`` (azd shows it when prompting)."""
    problems = []
    for node in bicep.declarations("parameter_declaration"):
        decorators = node.prev_named_sibling
        described = (
            decorators is not None
            and decorators.type == "decorators"
            and any(
                _text(call.named_children[0]) == "description"
                for call in _walk(decorators)
                if call.type == "call_expression"
            )
        )
        if not described:
            problems.append(
                f"{bicep.where(node)}: parameter {_text(node.named_children[0])} "
                "has no @description"
            )
    return problems


def api_version_problems(bicep: BicepFile) -> list[str]:
    return [
        f"{bicep.where(node)}: resource {_text(node.named_children[0])} has no pinned API "
        f"version (@YYYY-MM-DD) in {resource_type!r}"
        for node, resource_type, _ in bicep.resources()
        if not API_VERSION.match(resource_type)
    ]


def module_param_problems(bicep: BicepFile) -> list[str]:
    """Modules get only parameters they declare, and every parameter without a default."""
    problems = []
    for node in bicep.declarations("module_declaration"):
        target = _string_value(next(c for c in node.named_children if c.type == "string"))
        if target is None:
            continue
        module = BicepFile.read(bicep.path.parent / target)
        declared = module.params()
        params = property_node(next(c for c in node.named_children if c.type == "object"), "params")
        passed = (
            set()
            if params is None
            else {
                _text(prop.named_children[0])
                for prop in params.named_children
                if prop.type == "object_property"
            }
        )
        problems += [
            f"{bicep.where(node)}: module {target} has no parameter {name!r}"
            for name in sorted(passed - declared.keys())
        ]
        problems += [
            f"{bicep.where(node)}: module {target} needs parameter {name!r}"
            for name, has_default in sorted(declared.items())
            if not has_default and name not in passed
        ]
    return problems


def load_json_targets(bicep: BicepFile) -> list[Path]:
    targets = []
    for node in _walk(bicep.root):
        if node.type == "call_expression" and _text(node.named_children[0]) == "loadJsonContent":
            argument = _string_value(node.named_children[1].named_children[0])
            if argument is not None:
                targets.append((bicep.path.parent / argument).resolve())
    return targets


def security_problems(bicep: BicepFile) -> list[str]:
    problems = []
    for node, resource_type, body in bicep.resources():
        expected = SECURITY_BASELINE.get(resource_type.split("@")[0], {})
        if _text(node).split("=", 1)[0].rstrip().endswith("existing"):
            continue
        for path, value in expected.items():
            found = property_node(body, path)
            if found is None or _text(found) != value:
                actual = "missing" if found is None else _text(found)
                problems.append(
                    f"{bicep.where(node)}: {resource_type.split('@')[0]} {path.rsplit('.', 1)[-1]} "
                    f"must be {value}, is {actual}"
                )
    return problems


def literal_container_names(bicep: BicepFile) -> set[str]:
    names = set()
    for _, resource_type, body in bicep.resources():
        if resource_type.startswith("Microsoft.Storage/storageAccounts/blobServices/containers@"):
            name = _string_value(property_node(body, "name"))
            if name is not None:
                names.add(name)
    return names


def last_access_tracking(bicep: BicepFile) -> bool:
    for _, resource_type, body in bicep.resources():
        if resource_type.startswith("Microsoft.Storage/storageAccounts/blobServices@"):
            flag = property_node(body, "properties.lastAccessTimeTrackingPolicy.enable")
            return flag is not None and _text(flag) == "true"
    return False


def app_setting_names(bicep: BicepFile) -> set[str]:
    names = set()
    for _, resource_type, body in bicep.resources():
        if resource_type.startswith("Microsoft.Web/sites@"):
            settings = property_node(body, "properties.siteConfig.appSettings")
            for item in [] if settings is None else settings.named_children:
                name = _string_value(property_node(item, "name"))
                if name is not None:
                    names.add(name)
    return names
