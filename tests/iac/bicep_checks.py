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
        "properties.allowedCopyScope": "'AAD'",
    },
    "Microsoft.DocumentDB/databaseAccounts": {"properties.disableLocalAuth": "true"},
    "Microsoft.Insights/components": {"properties.DisableLocalAuth": "true"},
    "Microsoft.OperationalInsights/workspaces": {"properties.features.disableLocalAuth": "true"},
    "Microsoft.Web/sites": {
        "properties.httpsOnly": "true",
        "properties.siteConfig.minTlsVersion": "'1.2'",
        "properties.siteConfig.ftpsState": "'Disabled'",
        "properties.siteConfig.scmMinTlsVersion": "'1.2'",
    },
    "Microsoft.Web/sites/basicPublishingCredentialsPolicies": {"properties.allow": "false"},
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
        """(declaration, type string, body object) of every resource; the body of a
        conditional (``= if (...) {...}``) or looped (``= [for ...: {...}]``) resource is
        the object inside."""
        for node in self.declarations("resource_declaration"):
            type_node = next(c for c in node.named_children if c.type == "string")
            yield node, _string_value(type_node) or _text(type_node), _body(node)

    def variables(self) -> dict[str, Node]:
        """Variable name -> its value expression."""
        return {
            _text(node.named_children[0]): node.named_children[-1]
            for node in self.declarations("variable_declaration")
        }

    def decorator_argument(self, param: str, decorator: str) -> Node | None:
        """The argument of ``@decorator(...)`` on parameter ``param``, if it has one."""
        for node in self.declarations("parameter_declaration"):
            if _text(node.named_children[0]) != param:
                continue
            decorators = node.prev_named_sibling
            if decorators is None or decorators.type != "decorators":
                return None
            for call in _walk(decorators):
                if call.type == "call_expression" and _text(call.named_children[0]) == decorator:
                    arguments = call.named_children[1].named_children
                    return arguments[0] if arguments else None
        return None

    def param_default(self, param: str) -> Node | None:
        for node in self.declarations("parameter_declaration"):
            if _text(node.named_children[0]) == param and node.named_children[-1].type != "type":
                return node.named_children[-1]
        return None

    def params(self) -> dict[str, bool]:
        """Declared parameter names -> whether they have a default."""
        declared = {}
        for node in self.declarations("parameter_declaration"):
            name = _text(node.named_children[0])
            declared[name] = node.named_children[-1].type != "type"
        return declared


def _body(resource: Node) -> Node | None:
    for child in resource.named_children:
        if child.type == "object":
            return child
        if child.type in ("if_statement", "for_statement"):
            return next((c for c in child.named_children if c.type == "object"), None)
    return None


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


def _property_names(node: Node | None) -> dict[str, Node]:
    """Key -> value of an object literal (empty for anything else)."""
    if node is None or node.type != "object":
        return {}
    return {
        _text(prop.named_children[0]): prop.named_children[1]
        for prop in node.named_children
        if prop.type == "object_property"
    }


def _literal(bicep: BicepFile, node: Node | None) -> str | None:
    """The value of a string, number or boolean literal, directly or through a variable
    (``None`` for any other expression)."""
    if node is None:
        return None
    if node.type == "identifier":
        value = bicep.variables().get(_text(node))
        return None if value is None else _literal(bicep, value)
    if node.type in ("number", "boolean"):
        return _text(node)
    return _string_value(node)


def literal_value(bicep: BicepFile, node: Node | None) -> object:
    """An object, array or literal as Python data (strings, ints, bools, lists, dicts),
    through variables; ``None`` if any part of it is another expression."""
    if node is None:
        return None
    if node.type == "identifier":
        return literal_value(bicep, bicep.variables().get(_text(node)))
    if node.type == "object":
        value = {key: literal_value(bicep, item) for key, item in _property_names(node).items()}
        return None if None in value.values() else value
    if node.type == "array":
        items = [literal_value(bicep, item) for item in node.named_children]
        return None if None in items else items
    if node.type == "boolean":
        return _text(node) == "true"
    if node.type == "number":
        return int(_text(node))
    return _string_value(node)


def container_resources(bicep: BicepFile) -> dict[str, Node]:
    """Symbolic name -> ``properties.resource`` of every Cosmos DB SQL container."""
    return {
        _text(node.named_children[0]): resource
        for node, resource_type, body in bicep.resources()
        if resource_type.startswith(
            "Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@"
        )
        and (resource := property_node(body, "properties.resource")) is not None
    }


# ---- role definition ids ----------------------------------------------------------

GUID = re.compile(r"^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$")
_ROLE_ID_FUNCTIONS = ("subscriptionResourceId", "resourceId", "tenantResourceId")


def _squashed(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _role_reference(
    bicep: BicepFile, expression: Node | None, roles: dict[str, str], kind: str, where: str
) -> list[str]:
    """Problems with one role id expression: it must resolve to a literal id from
    ``roles`` (name -> id), and a variable holding it must be named after that role."""
    if expression is None:
        return [f"{where}: {kind} has no roleDefinitionId"]
    holder = expression if expression.type == "identifier" else None
    role_id = _literal(bicep, expression)
    if role_id is None:
        return [f"{where}: {kind} roleDefinitionId {_text(expression)!r} is not a literal id"]
    names = {value.lower(): name for name, value in roles.items()}
    name = names.get(role_id.lower())
    if name is None:
        return [f"{where}: {kind} role id {role_id} is not a built-in role in the table"]
    if holder is not None and _squashed(_text(holder)) != _squashed(name):
        return [f"{where}: variable {_text(holder)} holds the id of {name!r}"]
    return []


def role_problems(
    bicep: BicepFile, azure_roles: dict[str, str], cosmos_roles: dict[str, str]
) -> list[str]:
    """Every role a role assignment grants is a built-in role whose id matches its name,
    and every GUID literal in the file is one of those ids."""
    problems = []
    for node, resource_type, body in bicep.resources():
        where = bicep.where(node)
        role = property_node(body, "properties.roleDefinitionId")
        if resource_type.startswith("Microsoft.Authorization/roleAssignments@"):
            reference = None
            if role is not None and role.type == "call_expression":
                function, arguments = role.named_children[0], role.named_children[1]
                args = arguments.named_children
                if (
                    _text(function) in _ROLE_ID_FUNCTIONS
                    and len(args) == 2
                    and _string_value(args[0]) == "Microsoft.Authorization/roleDefinitions"
                ):
                    reference = args[1]
            if reference is None and role is not None:
                problems.append(
                    f"{where}: role assignment roleDefinitionId {_text(role)!r} is not "
                    "subscriptionResourceId('Microsoft.Authorization/roleDefinitions', <id>)"
                )
                continue
            problems += _role_reference(bicep, reference, azure_roles, "role assignment", where)
        elif resource_type.startswith("Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@"):
            # '${account.id}/sqlRoleDefinitions/${<id>}': the id is the last interpolation.
            parts = [] if role is None else role.named_children
            reference = (
                parts[-1].named_children[0] if parts and parts[-1].type == "interpolation" else None
            )
            problems += _role_reference(
                bicep, reference, cosmos_roles, "Cosmos DB role assignment", where
            )
    known = {value.lower() for value in (*azure_roles.values(), *cosmos_roles.values())}
    for node in _walk(bicep.root):
        value = _string_value(node)
        if value is not None and GUID.match(value) and value.lower() not in known:
            problems.append(f"{bicep.where(node)}: {value} is not a built-in role id in the table")
    return problems


# ---- Cosmos DB containers ---------------------------------------------------------

# A path of one or more segments, no trailing slash, no wildcard or index-path suffix.
COSMOS_PATH = re.compile(r"^(/[^/\s*?\[\]]+)+$")
COSMOS_INDEXING_MODES = ("consistent", "none")  # 'lazy' is retired and refused on serverless


def _paths(bicep: BicepFile, node: Node | None) -> list[str | None]:
    """The items of an array of path strings."""
    if node is None or node.type != "array":
        return []
    return [_literal(bicep, item) for item in node.named_children]


def _index_paths(bicep: BicepFile, node: Node | None) -> list[str | None]:
    """The ``path`` of each item of an includedPaths/excludedPaths array."""
    if node is None or node.type != "array":
        return []
    return [_literal(bicep, property_node(item, "path")) for item in node.named_children]


def _composite_index_problems(bicep: BicepFile, where: str, composite: Node | None) -> list[str]:
    """A composite index names two or more plain paths, each ascending or descending."""
    problems = []
    for index in [] if composite is None else composite.named_children:
        entries = index.named_children if index.type == "array" else []
        if len(entries) < 2:
            problems.append(f"{where}: a composite index takes two or more paths")
        for entry in entries:
            path = _literal(bicep, property_node(entry, "path"))
            order = _literal(bicep, property_node(entry, "order")) or "ascending"
            if path is None or not COSMOS_PATH.match(path):
                problems.append(
                    f"{where}: composite index path {path!r} is not a plain path like '/ts'"
                )
            if order not in ("ascending", "descending"):
                problems.append(
                    f"{where}: composite index order {order!r} is not ascending or descending"
                )
    return problems


def cosmos_container_problems(bicep: BicepFile) -> list[str]:
    """Rules Cosmos DB enforces when it creates a SQL container, which nothing offline
    would otherwise see: a TTL needs indexing that is not 'none'; 'none' takes no paths
    and automatic off; 'consistent' names the root path '/*' as included or excluded;
    partition key, unique key and composite index paths are plain paths, in the number
    their kind takes, and a composite index orders each path ascending or descending."""
    problems = []
    for node, resource_type, body in bicep.resources():
        if not resource_type.startswith(
            "Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@"
        ):
            continue
        where = f"{bicep.where(node)}: container {_text(node.named_children[0])}"
        resource = property_node(body, "properties.resource")
        fields = _property_names(resource)
        policy = _property_names(fields.get("indexingPolicy"))
        mode = _literal(bicep, policy.get("indexingMode")) or "consistent"
        if mode not in COSMOS_INDEXING_MODES:
            problems.append(f"{where}: indexingMode {mode!r} is not one of {COSMOS_INDEXING_MODES}")
        if "defaultTtl" in fields and mode == "none":
            problems.append(
                f"{where}: defaultTtl needs an index: Cosmos DB refuses TTL with indexingMode "
                "'none' (use 'consistent' with every path excluded)"
            )
        included = _index_paths(bicep, policy.get("includedPaths"))
        excluded = _index_paths(bicep, policy.get("excludedPaths"))
        if mode == "none":
            if _literal(bicep, policy.get("automatic")) != "false":
                problems.append(f"{where}: indexingMode 'none' needs automatic: false")
            if included or excluded:
                problems.append(f"{where}: indexingMode 'none' takes no included or excluded paths")
        elif policy and "/*" not in included + excluded:
            problems.append(f"{where}: the indexing policy must include or exclude '/*'")
        key = _property_names(fields.get("partitionKey"))
        kind = _literal(bicep, key.get("kind"))
        key_paths = _paths(bicep, key.get("paths"))
        if not key_paths:
            problems.append(f"{where}: partitionKey has no paths")
        problems += [
            f"{where}: partition key path {path!r} is not a plain path like '/tenant'"
            for path in key_paths
            if path is None or not COSMOS_PATH.match(path)
        ]
        if kind == "Hash" and len(key_paths) != 1:
            problems.append(f"{where}: a 'Hash' partition key takes exactly one path")
        elif kind == "MultiHash":
            if not 2 <= len(key_paths) <= 3:
                problems.append(f"{where}: a 'MultiHash' partition key takes two or three paths")
            if _literal(bicep, key.get("version")) != "2":
                problems.append(f"{where}: a 'MultiHash' partition key needs version: 2")
        elif kind not in ("Hash", "MultiHash"):
            problems.append(f"{where}: partitionKey kind {kind!r} is not 'Hash' or 'MultiHash'")
        problems += _composite_index_problems(bicep, where, policy.get("compositeIndexes"))
        unique = property_node(resource, "uniqueKeyPolicy.uniqueKeys")
        seen: set[tuple[str | None, ...]] = set()
        for item in [] if unique is None else unique.named_children:
            paths = _paths(bicep, property_node(item, "paths"))
            if not 1 <= len(paths) <= 16:
                problems.append(f"{where}: a unique key takes 1 to 16 paths")
            problems += [
                f"{where}: unique key path {path!r} is not a plain path like '/email'"
                for path in paths
                if path is None or not COSMOS_PATH.match(path)
            ]
            if tuple(paths) in seen:
                problems.append(f"{where}: unique key {paths} is listed twice")
            seen.add(tuple(paths))
    return problems


# ---- Flex Consumption ---------------------------------------------------------------


def _allowed_ints(bicep: BicepFile, node: Node | None) -> tuple[set[int], list[str]]:
    """The values an int expression can take: a literal, or a parameter's ``@allowed``
    list and default. Returns (values, problems)."""
    if node is None:
        return set(), ["is missing"]
    if node.type == "number":
        return {int(_text(node))}, []
    if node.type == "identifier" and _text(node) in bicep.params():
        name = _text(node)
        allowed = bicep.decorator_argument(name, "allowed")
        if allowed is None or allowed.type != "array":
            return set(), [f"comes from parameter {name}, which has no @allowed list"]
        values = {int(_text(item)) for item in allowed.named_children if item.type == "number"}
        default = bicep.param_default(name)
        if default is not None and default.type == "number":
            values.add(int(_text(default)))
        return values, []
    literal = _literal(bicep, node)
    if literal is not None and literal.lstrip("-").isdigit():
        return {int(literal)}, []
    return set(), [f"{_text(node)!r} cannot be checked offline"]


def flex_problems(
    bicep: BicepFile,
    deprecated_settings: frozenset[str],
    deprecated_site_config: frozenset[str],
    memory_sizes: frozenset[int],
    runtimes: dict[str, frozenset[str]],
) -> list[str]:
    """A Flex Consumption app (a site with ``functionAppConfig``) sets none of the app
    settings or site properties the plan deprecates, asks for an instance size the plan
    has, and a runtime version it runs."""
    problems = []
    for node, resource_type, body in bicep.resources():
        config = property_node(body, "properties.functionAppConfig")
        if not resource_type.startswith("Microsoft.Web/sites@") or config is None:
            continue
        where = f"{bicep.where(node)}: Flex Consumption app {_text(node.named_children[0])}"
        settings = property_node(body, "properties.siteConfig.appSettings")
        for item in [] if settings is None else settings.named_children:
            name = _literal(bicep, property_node(item, "name"))
            if name is not None and name.upper() in deprecated_settings:
                problems.append(f"{where}: app setting {name} is deprecated on Flex Consumption")
        problems += [
            f"{where}: siteConfig.{key} is deprecated on Flex Consumption"
            for key in _property_names(property_node(body, "properties.siteConfig"))
            if key in deprecated_site_config
        ]
        memory = property_node(config, "scaleAndConcurrency.instanceMemoryMB")
        sizes, why = _allowed_ints(bicep, memory)
        problems += [f"{where}: instanceMemoryMB {reason}" for reason in why]
        problems += [
            f"{where}: instanceMemoryMB {size} is not a Flex Consumption size "
            f"({', '.join(map(str, sorted(memory_sizes)))})"
            for size in sorted(sizes - memory_sizes)
        ]
        runtime = _literal(bicep, property_node(config, "runtime.name"))
        version = _literal(bicep, property_node(config, "runtime.version"))
        if runtime not in runtimes:
            problems.append(f"{where}: runtime {runtime!r} is not one the table knows")
        elif version not in runtimes[runtime]:
            problems.append(
                f"{where}: {runtime} {version} does not run on Flex Consumption "
                f"({', '.join(sorted(runtimes[runtime]))})"
            )
    return problems


def publishing_credential_problems(bicep: BicepFile) -> list[str]:
    """Every site declares both basic publishing credential policies (``ftp``, ``scm``):
    left out, the platform default applies, which has allowed basic authentication."""
    sites = {
        _text(node.named_children[0]): node
        for node, resource_type, _ in bicep.resources()
        if resource_type.startswith("Microsoft.Web/sites@")
        and not _text(node).split("=", 1)[0].rstrip().endswith("existing")
    }
    declared: dict[str, set[str]] = {name: set() for name in sites}
    for _, resource_type, body in bicep.resources():
        if resource_type.startswith("Microsoft.Web/sites/basicPublishingCredentialsPolicies@"):
            parent = property_node(body, "parent")
            name = _string_value(property_node(body, "name"))
            if parent is not None and _text(parent) in declared and name is not None:
                declared[_text(parent)].add(name)
    return [
        f"{bicep.where(sites[site])}: site {site} has no basicPublishingCredentialsPolicies "
        f"{policy!r} resource (basic authentication would stay allowed)"
        for site, names in declared.items()
        for policy in ("ftp", "scm")
        if policy not in names
    ]


# Log Analytics tables a diagnostic setting fills: Azure Monitor creates each in the
# workspace when its first rows arrive, so in a deployment that creates the workspace
# (or the setting) they do not exist yet when the alert rules are created.
TABLES_CREATED_BY_THEIR_FIRST_ROWS = frozenset(
    {"StorageBlobLogs", "StorageQueueLogs", "StorageTableLogs", "StorageFileLogs",
     "AzureDiagnostics"}
)  # fmt: skip


def query_validation_problems(bicep: BicepFile) -> list[str]:
    """A scheduled query rule that reads a table created by its first rows sets
    ``skipQueryValidation: true``: Azure validates the query when it creates the rule,
    and refuses one naming a table the workspace does not have yet."""
    problems = []
    for node, resource_type, body in bicep.resources():
        if not resource_type.startswith("Microsoft.Insights/scheduledQueryRules@"):
            continue
        criteria = property_node(body, "properties.criteria.allOf")
        queries = [] if criteria is None else criteria.named_children
        tables = {
            re.split(r"[\s|]", query.strip(), maxsplit=1)[0]
            for item in queries
            if (query := _literal(bicep, property_node(item, "query"))) is not None
        }
        late = sorted(tables & TABLES_CREATED_BY_THEIR_FIRST_ROWS)
        skip = property_node(body, "properties.skipQueryValidation")
        if late and (skip is None or _text(skip) != "true"):
            problems.append(
                f"{bicep.where(node)}: alert {_text(node.named_children[0])} queries "
                f"{', '.join(late)}, which exists only once its first rows arrive: set "
                "skipQueryValidation: true or creating the rule fails"
            )
    return problems
