"""The CloudFormation resource schemas that cfn-lint ships, as the shim's source of truth.

cfn-lint carries the registry schema of every resource type per region (properties, `required`,
`readOnlyProperties`, `createOnlyProperties`, `primaryIdentifier`, and the `Fn::GetAtt`
attributes it derives from them). The shim uses them to stay honest where moto is silent:

- a resource type that no schema knows is rejected at CreateChangeSet, as CloudFormation
  rejects it ("Unrecognized resource types");
- `Fn::GetAtt` on an attribute the type does not have is rejected the same way;
- every resource's resolved properties are validated against its schema before it is
  created or updated, and a violation fails the resource with CloudFormation's
  "Properties validation failed" message (moto itself accepts anything);
- the generic model answers exactly the attributes the schema lists, and a change to a
  create-only property replaces the resource.

Values are coerced the way CloudFormation coerces template scalars before it validates them:
a number or boolean given as a string (and a number given where a string is wanted) is fine.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import jsonschema
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER
from cfnlint.schema.manager import ResourceNotFoundError


@functools.cache
def resource_schema(region: str, type_name: str) -> dict[str, Any] | None:
    """The registry schema of `type_name` in `region`, or None when no schema knows it."""
    try:
        return PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, type_name).schema
    except ResourceNotFoundError:
        return None


def is_known_type(region: str, type_name: str) -> bool:
    return resource_schema(region, type_name) is not None


@functools.cache
def getatt_pointers(region: str, type_name: str) -> dict[str, str]:
    """`Fn::GetAtt` attribute name -> JSON pointer into the schema's properties."""
    try:
        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, type_name)
    except ResourceNotFoundError:
        return {}
    return dict(schema.get_atts)


def has_attribute(region: str, type_name: str, attribute: str) -> bool:
    if type_name == "AWS::CloudFormation::Stack" and attribute.startswith("Outputs."):
        return True
    return attribute in getatt_pointers(region, type_name)


def attribute_schema(region: str, type_name: str, attribute: str) -> dict[str, Any]:
    """The schema of one `Fn::GetAtt` attribute (for its JSON type), `{}` when unknown."""
    schema = resource_schema(region, type_name)
    pointer = getatt_pointers(region, type_name).get(attribute)
    if not schema or not pointer:
        return {}
    node: Any = schema
    for part in pointer.strip("/").split("/"):
        node = _deref(schema, node)
        if part == "properties" and "properties" in node:
            node = node["properties"]
            continue
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, dict) and "properties" in node and part in node["properties"]:
            node = node["properties"][part]
        else:
            return {}
    return _deref(schema, node)


def _deref(root: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node and node["$ref"].startswith("#/"):
        target: Any = root
        for part in node["$ref"][2:].split("/"):
            target = target[part]
        node = target
    return node


def primary_identifier(region: str, type_name: str) -> list[str]:
    schema = resource_schema(region, type_name) or {}
    return [p.removeprefix("/properties/") for p in schema.get("primaryIdentifier", [])]


def read_only_properties(region: str, type_name: str) -> set[str]:
    schema = resource_schema(region, type_name) or {}
    return {p.removeprefix("/properties/") for p in schema.get("readOnlyProperties", [])}


def create_only_paths(region: str, type_name: str) -> list[tuple[str, ...]]:
    """Property paths whose change replaces the resource (`("HealthCheckConfig", "Type")`)."""
    schema = resource_schema(region, type_name) or {}
    return [
        tuple(p.removeprefix("/properties/").split("/"))
        for p in schema.get("createOnlyProperties", [])
    ]


def _at(node: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and part == "*":
            return node
        else:
            return None
    return node


def replacing_paths(
    region: str, type_name: str, old: dict[str, Any], new: dict[str, Any]
) -> list[tuple[str, ...]]:
    """The create-only paths whose value differs between two property sets."""
    return [
        path for path in create_only_paths(region, type_name) if _at(old, path) != _at(new, path)
    ]


def _is_number_string(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        float(value)
    except ValueError:
        return False
    return True


def _is_integer(checker: Any, value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    if isinstance(value, float):
        return value.is_integer()
    return isinstance(value, str) and value.strip().lstrip("-").isdigit()


def _is_number(checker: Any, value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, (int, float)) or _is_number_string(value)


def _is_boolean(checker: Any, value: Any) -> bool:
    return isinstance(value, bool) or (
        isinstance(value, str) and value.lower() in ("true", "false")
    )


def _is_string(checker: Any, value: Any) -> bool:
    return isinstance(value, (str, int, float)) or isinstance(value, bool)


_TYPE_CHECKER = jsonschema.Draft7Validator.TYPE_CHECKER.redefine_many(
    {
        "integer": _is_integer,
        "number": _is_number,
        "boolean": _is_boolean,
        "string": _is_string,
    }
)

# Only these keywords are checked. They are what CloudFormation's own schema validation
# checks; cfn-lint's extensions (and value-range keywords on numbers given as strings,
# which the type checker above accepts) are left to cfn-lint, which judges the templates
# anyway.
_CHECKED_KEYWORDS = (
    "$ref",
    "type",
    "required",
    "properties",
    "additionalProperties",
    "patternProperties",
    "items",
    "enum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "oneOf",
    "anyOf",
    "allOf",
)


@functools.cache
def _validator(region: str, type_name: str) -> Any:
    schema = resource_schema(region, type_name)
    if schema is None:
        return None
    validators = {
        keyword: jsonschema.Draft7Validator.VALIDATORS[keyword] for keyword in _CHECKED_KEYWORDS
    }
    validator_class = jsonschema.validators.create(
        meta_schema=jsonschema.Draft7Validator.META_SCHEMA,
        validators=validators,
        type_checker=_TYPE_CHECKER,
    )
    # Read-only properties are outputs; the schema's `required` never lists them.
    return validator_class(schema)


def property_errors(region: str, type_name: str, properties: dict[str, Any]) -> list[str]:
    """Schema violations of `properties`, in the form CloudFormation reports them
    (`#/Path: message`), empty when they are valid or no schema knows the type."""
    validator = _validator(region, type_name)
    if validator is None:
        return []
    errors = []
    read_only = read_only_properties(region, type_name)
    for key in sorted(read_only & set(properties)):
        errors.append(f"#: extraneous key [{key}] is not permitted")
    for error in sorted(validator.iter_errors(properties), key=lambda e: list(e.path)):
        path = "/".join(str(p) for p in error.absolute_path)
        where = f"#/{path}" if path else "#"
        if error.validator == "required":
            missing = error.message.split("'")[1] if "'" in error.message else error.message
            errors.append(f"{where}: required key [{missing}] not found")
        elif error.validator == "additionalProperties" and isinstance(error.instance, dict):
            patterns = list(error.schema.get("patternProperties", {}))
            for key in sorted(error.instance):
                declared = key in error.schema.get("properties", {})
                if not declared and not any(re.search(p, key) for p in patterns):
                    errors.append(f"{where}: extraneous key [{key}] is not permitted")
        elif error.validator == "enum":
            errors.append(f"{where}: {error.instance} is not a valid enum value")
        else:
            errors.append(f"{where}: {error.message}")
    return errors
