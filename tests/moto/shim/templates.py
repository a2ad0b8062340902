"""Template checks CloudFormation makes when a change set is created, before anything runs.

moto creates a change set for any template and fails later (or never): a `Ref` to a missing
resource surfaces as an HTTP 500 or a silently empty value. CloudFormation answers these
synchronously with a `ValidationError` (or `InsufficientCapabilitiesException`), and so does
the shim, with CloudFormation's messages:

- the template is YAML or JSON and has a `Resources` section;
- `TemplateBody` is at most 51,200 bytes (larger templates must come from S3, at most 1 MB);
- every resource type exists (a registry schema knows it) — "Unrecognized resource types";
- every `Ref`, `Fn::GetAtt`, `Fn::Sub` variable and `DependsOn` names a parameter, a
  pseudo parameter or a resource — "Unresolved resource dependencies [..] in the Resources
  block of the template" (or the Outputs block);
- every `Fn::GetAtt` names an attribute the type has;
- resources do not depend on each other in a cycle — "Circular dependency between resources";
- at most 500 resources, 200 parameters, 200 outputs;
- every parameter without a default gets a value, no unknown parameter is passed, and each
  value meets its constraints (Number, AllowedValues, AllowedPattern, Min/MaxLength,
  Min/MaxValue);
- IAM resources are acknowledged with CAPABILITY_IAM, or CAPABILITY_NAMED_IAM when one of
  them has a custom name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import yaml
from moto.cloudformation.exceptions import CloudFormationError, ValidationError
from moto.cloudformation.parsing import get_model_map
from moto.cloudformation.utils import yaml_tag_constructor

from . import schemas

TEMPLATE_BODY_LIMIT = 51_200
TEMPLATE_URL_LIMIT = 1_000_000
RESOURCE_LIMIT = 500
PARAMETER_LIMIT = 200
OUTPUT_LIMIT = 200

PSEUDO_PARAMETERS = {
    "AWS::AccountId",
    "AWS::NotificationARNs",
    "AWS::NoValue",
    "AWS::Partition",
    "AWS::Region",
    "AWS::StackId",
    "AWS::StackName",
    "AWS::URLSuffix",
}

# IAM types that need CAPABILITY_IAM, and the property that gives each a custom name
# (which needs CAPABILITY_NAMED_IAM instead).
IAM_NAME_PROPERTY = {
    "AWS::IAM::AccessKey": None,
    "AWS::IAM::Group": "GroupName",
    "AWS::IAM::InstanceProfile": "InstanceProfileName",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
    "AWS::IAM::Policy": None,
    "AWS::IAM::Role": "RoleName",
    "AWS::IAM::User": "UserName",
    "AWS::IAM::UserToGroupAddition": None,
}


class InsufficientCapabilities(CloudFormationError):
    code = "InsufficientCapabilitiesException"


def parse_template(body: str) -> dict[str, Any]:
    """The template as moto reads it (short-form intrinsics expanded), or CloudFormation's
    format error."""
    yaml.add_multi_constructor("", yaml_tag_constructor)
    try:
        parsed = yaml.load(body, Loader=yaml.Loader)
    except yaml.YAMLError as error:
        try:
            parsed = json.loads(body)
        except ValueError:
            mark = getattr(error, "problem_mark", None)
            where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
            raise ValidationError(
                message=f"Template format error: YAML not well-formed.{where}"
            ) from None
    if not isinstance(parsed, dict):
        raise ValidationError(message="Template format error: JSON not well-formed.")
    return parsed


def check_body_size(body: str) -> None:
    if len(body.encode()) > TEMPLATE_BODY_LIMIT:
        raise ValidationError(
            message=(
                "1 validation error detected: Value at 'templateBody' failed to satisfy "
                f"constraint: Member must have length less than or equal to {TEMPLATE_BODY_LIMIT}"
            )
        )


def check_url_size(body: str) -> None:
    if len(body.encode()) > TEMPLATE_URL_LIMIT:
        raise ValidationError(
            message=f"Template may not exceed {TEMPLATE_URL_LIMIT} bytes in size."
        )


_S3_HOST = r"(?:s3|s3[.-][a-z0-9-]+)\.amazonaws\.com(?:\.cn)?"


def fetch_template_url(url: str, account: str, partition: str) -> str:
    """The template a TemplateURL points at. CloudFormation takes only S3 object URLs,
    virtual-hosted (`https://bucket.s3.region.amazonaws.com/key`) or path-style
    (`https://s3.region.amazonaws.com/bucket/key`); moto's own parser took the first label
    of any host as the bucket, so a dotted bucket name or a wrong host went unnoticed."""
    from urllib.parse import unquote, urlparse

    from moto.s3.exceptions import S3ClientError
    from moto.s3.models import s3_backends

    parsed = urlparse(url)
    host = parsed.netloc.lower()
    path = unquote(parsed.path.lstrip("/"))
    virtual = re.fullmatch(rf"(.+)\.{_S3_HOST}", host)
    if parsed.scheme in ("https", "http") and virtual:
        bucket, key = virtual.group(1), path
    elif parsed.scheme in ("https", "http") and re.fullmatch(_S3_HOST, host) and "/" in path:
        bucket, key = path.split("/", 1)
    else:
        raise ValidationError(message="TemplateURL must be a supported URL.")
    try:
        stored = s3_backends[account][partition].get_object(bucket, key)
    except S3ClientError as error:
        raise ValidationError(message=f"S3 error: {getattr(error, 'message', error)}") from None
    if stored is None:
        raise ValidationError(message="S3 error: The specified key does not exist.")
    return stored.value.decode("utf-8")


def references(node: Any) -> Iterator[tuple[str, str | None]]:
    """Every (name, attribute) the node refers to: `Ref` and `${Name}` give no attribute,
    `Fn::GetAtt` and `${Name.Attr}` give one."""
    if isinstance(node, dict):
        if len(node) == 1 and "Ref" in node and isinstance(node["Ref"], str):
            yield node["Ref"], None
            return
        if len(node) == 1 and "Fn::GetAtt" in node:
            target = node["Fn::GetAtt"]
            parts = target.split(".") if isinstance(target, str) else list(target)
            if parts and isinstance(parts[0], str):
                attribute = ".".join(str(p) for p in parts[1:]) if len(parts) > 1 else ""
                yield parts[0], attribute
            for part in parts[1:]:
                if not isinstance(part, str):
                    yield from references(part)
            return
        if len(node) == 1 and "Fn::Sub" in node:
            sub = node["Fn::Sub"]
            text, local = (
                (sub, {}) if isinstance(sub, str) else (sub[0], sub[1] if len(sub) > 1 else {})
            )
            if isinstance(local, dict):
                for value in local.values():
                    yield from references(value)
            if isinstance(text, str):
                for variable in re.findall(r"\$\{([^!}][^}]*)\}", text):
                    variable = variable.strip()
                    if variable in local:
                        continue
                    if "." in variable and not variable.startswith("AWS::"):
                        name, attribute = variable.split(".", 1)
                        yield name, attribute
                    else:
                        yield variable, None
            return
        for value in node.values():
            yield from references(value)
    elif isinstance(node, list):
        for item in node:
            yield from references(item)


def resource_dependencies(resources: dict[str, Any], name: str) -> set[str]:
    """The resources `name` needs first: what it refers to, and its DependsOn."""
    definition = resources[name]
    depends = definition.get("DependsOn") or []
    found = {depends} if isinstance(depends, str) else set(depends)
    for target, _ in references(
        {k: v for k, v in definition.items() if k not in ("DependsOn", "Metadata")}
    ):
        if target in resources:
            found.add(target)
    found.discard(name)
    return found


def dependency_order(resources: dict[str, Any]) -> list[str]:
    """Resources in an order where each comes after everything it depends on (template order
    among independent ones); raises CloudFormation's error on a cycle."""
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            cycle = path[path.index(name) :]
            raise ValidationError(
                message=f"Circular dependency between resources: [{', '.join(sorted(set(cycle)))}]"
            )
        state[name] = 1
        for dependency in sorted(resource_dependencies(resources, name)):
            visit(dependency, path + [dependency])
        state[name] = 2
        order.append(name)

    for name in resources:
        visit(name, [name])
    return order


def check_template(template: dict[str, Any], region: str) -> None:
    """The synchronous checks of CreateChangeSet (see the module documentation)."""
    resources = template.get("Resources")
    if not isinstance(resources, dict) or not resources:
        raise ValidationError(
            message="Template format error: At least one Resources member must be defined."
        )
    parameters = template.get("Parameters") or {}
    outputs = template.get("Outputs") or {}
    if len(resources) > RESOURCE_LIMIT:
        raise ValidationError(
            message=f"Template format error: Number of resources, {len(resources)}, is greater than maximum allowed, {RESOURCE_LIMIT}"
        )
    if len(parameters) > PARAMETER_LIMIT:
        raise ValidationError(
            message=f"Template format error: Number of parameters, {len(parameters)}, is greater than maximum allowed, {PARAMETER_LIMIT}"
        )
    if len(outputs) > OUTPUT_LIMIT:
        raise ValidationError(
            message=f"Template format error: Number of outputs, {len(outputs)}, is greater than maximum allowed, {OUTPUT_LIMIT}"
        )

    unknown = sorted(
        {
            definition.get("Type")
            for definition in resources.values()
            if not _known_type(str(definition.get("Type")), region)
        },
        key=str,
    )
    if unknown:
        raise ValidationError(
            message=f"Template format error: Unrecognized resource types: [{', '.join(map(str, unknown))}]"
        )

    known = set(parameters) | PSEUDO_PARAMETERS | set(resources)
    for block, section in (("Resources", resources), ("Outputs", outputs)):
        missing: list[str] = []
        for definition in section.values():
            body = (
                definition
                if block == "Outputs"
                else {k: v for k, v in definition.items() if k != "DependsOn"}
            )
            depends = definition.get("DependsOn") if block == "Resources" else None
            for target in [depends] if isinstance(depends, str) else depends or []:
                if target not in resources and target not in missing:
                    missing.append(target)
            for target, attribute in references(body):
                if attribute is None and target not in known and target not in missing:
                    missing.append(target)
                if attribute is not None:
                    if target not in resources:
                        if target not in missing:
                            missing.append(target)
                        continue
                    check_attribute(resources, target, attribute, region)
        if missing:
            raise ValidationError(
                message=f"Template format error: Unresolved resource dependencies [{', '.join(missing)}] in the {block} block of the template"
            )
    dependency_order(resources)


def _known_type(type_name: str, region: str) -> bool:
    return (
        type_name in get_model_map()
        or type_name.startswith("Custom::")
        or type_name == "AWS::CloudFormation::CustomResource"
        or schemas.is_known_type(region, type_name)
    )


def check_attribute(resources: dict[str, Any], name: str, attribute: str, region: str) -> None:
    type_name = resources[name].get("Type", "")
    if type_name.startswith("Custom::") or type_name == "AWS::CloudFormation::CustomResource":
        return
    if not schemas.is_known_type(region, type_name):
        return  # moto-only types (rare) keep moto's own check
    if not schemas.has_attribute(region, type_name, attribute):
        raise ValidationError(
            message=f"Template error: resource {name} does not support attribute type {attribute} in Fn::GetAtt"
        )


def resolve_parameters(
    template: dict[str, Any],
    given: dict[str, str],
    previous: dict[str, Any] | None,
    use_previous: set[str],
) -> dict[str, str]:
    """The value of every template parameter (given, previous, or default) as CloudFormation
    checks them, raising its ValidationError on a missing, unknown or invalid one."""
    declared = template.get("Parameters") or {}
    unknown = [name for name in list(given) + sorted(use_previous) if name not in declared]
    if unknown:
        raise ValidationError(
            message=f"Parameters: [{', '.join(unknown)}] do not exist in the template"
        )
    resolved: dict[str, str] = {}
    missing = []
    for name, spec in declared.items():
        if name in use_previous:
            if previous is None or name not in previous:
                raise ValidationError(
                    message=f"Invalid input for parameter key {name}. Cannot specify usePreviousValue as true for a parameter key not in the previous template"
                )
            value = previous[name]
            resolved[name] = ",".join(value) if isinstance(value, list) else str(value)
        elif name in given:
            resolved[name] = str(given[name])
        elif "Default" in spec:
            default = spec["Default"]
            resolved[name] = (
                ",".join(map(str, default)) if isinstance(default, list) else str(default)
            )
        else:
            missing.append(name)
            continue
        check_parameter_value(name, spec, resolved[name])
    if missing:
        raise ValidationError(message=f"Parameters: [{', '.join(missing)}] must have values")
    return resolved


def check_parameter_value(name: str, spec: dict[str, Any], value: str) -> None:
    kind = spec.get("Type", "String")
    items = value.split(",") if kind in ("CommaDelimitedList", "List<Number>") else [value]
    for item in items:
        if kind in ("Number", "List<Number>"):
            try:
                number = float(item)
            except ValueError:
                raise ValidationError(message=f"Parameter '{name}' must be a number") from None
            if "MinValue" in spec and number < float(spec["MinValue"]):
                raise ValidationError(
                    message=f"Parameter '{name}' must be a number not less than {spec['MinValue']}"
                )
            if "MaxValue" in spec and number > float(spec["MaxValue"]):
                raise ValidationError(
                    message=f"Parameter '{name}' must be a number not greater than {spec['MaxValue']}"
                )
        if "AllowedValues" in spec and item not in [str(v) for v in spec["AllowedValues"]]:
            raise ValidationError(message=f"Parameter '{name}' must be one of AllowedValues")
        if "AllowedPattern" in spec and not re.fullmatch(spec["AllowedPattern"], item):
            raise ValidationError(
                message=f"Parameter '{name}' must match pattern {spec['AllowedPattern']}"
            )
        if "MinLength" in spec and len(item) < int(spec["MinLength"]):
            raise ValidationError(
                message=f"Parameter '{name}' must contain at least {spec['MinLength']} characters"
            )
        if "MaxLength" in spec and len(item) > int(spec["MaxLength"]):
            raise ValidationError(
                message=f"Parameter '{name}' must contain at most {spec['MaxLength']} characters"
            )


def check_capabilities(template: dict[str, Any], capabilities: list[str]) -> None:
    needed = None
    for definition in (template.get("Resources") or {}).values():
        type_name = definition.get("Type")
        if type_name not in IAM_NAME_PROPERTY:
            continue
        name_property = IAM_NAME_PROPERTY[type_name]
        if name_property and name_property in (definition.get("Properties") or {}):
            needed = "CAPABILITY_NAMED_IAM"
        elif needed is None:
            needed = "CAPABILITY_IAM"
    if needed is None:
        return
    if needed == "CAPABILITY_NAMED_IAM" and "CAPABILITY_NAMED_IAM" in capabilities:
        return
    if needed == "CAPABILITY_IAM" and (
        "CAPABILITY_IAM" in capabilities or "CAPABILITY_NAMED_IAM" in capabilities
    ):
        return
    raise InsufficientCapabilities(f"Requires capabilities : [{needed}]")
