"""Stack operations as CloudFormation runs them: change sets, resource events, rollback.

moto 5.2.5 runs a change set by handing the template to its resource map and hoping: a
resource that fails raises out of ExecuteChangeSet as an HTTP 500 and leaves the stack half
made; change-set stacks never get their outputs; only stack-level events are recorded;
`Changes` ignores parameters; a resource type without an update method becomes `None` in the
stack on update; removed resources are deleted even under `DeletionPolicy: Retain`; and
CreateChangeSet of an unchanged stack answers "No updates are to be performed" (UpdateStack's
error) instead of a FAILED change set. This module replaces that lifecycle with one that
follows CloudFormation's documented behaviour, still creating every resource through moto's
models (or the generic model):

- CreateChangeSet checks the template synchronously (`templates.check_template`), resolves
  and checks parameters, works out `Changes` (Add / Modify / Remove, with Replacement and
  per-property Details from the schemas' create-only properties, parameter changes
  included), and marks a change set with no changes FAILED with CloudFormation's reason
  "The submitted information didn't contain changes. Submit different information to create
  a change set." (ExecutionStatus UNAVAILABLE). Default ChangeSetType is UPDATE, as on AWS.
- ExecuteChangeSet (and CreateStack/UpdateStack) create, update and delete resources in
  dependency order, record per-resource events (`*_IN_PROGRESS`, `*_COMPLETE`, `*_FAILED`,
  `DELETE_SKIPPED`), validate each resource's resolved properties against its schema, update
  only resources whose resolved properties changed, replace where a create-only property
  changed, respect DeletionPolicy/UpdateReplacePolicy Retain, evaluate the outputs, and on a
  failure roll back (ROLLBACK_COMPLETE for a new stack, UPDATE_ROLLBACK_COMPLETE for an
  update), reporting the failed resource's reason in the events.
- DeleteStack deletes in reverse dependency order, skips retained resources, and leaves the
  stack DELETE_FAILED (with the reason) when a resource cannot be deleted.
- Change sets are looked up per stack (moto matched a name across all stacks), listed per
  stack, and executing one deletes the stack's other change sets.

Everything is synchronous: an operation has finished when its call returns, so a poller sees
the final status on its first DescribeStacks.
"""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from moto.cloudformation import models as cfn_models
from moto.cloudformation import parsing
from moto.cloudformation.exceptions import CloudFormationError, ValidationError
from moto.cloudformation.models import ChangeSet, CloudFormationBackend, Event, Stack
from moto.cloudformation.parsing import OutputMap, ResourceMap, clean_json
from moto.cloudformation.responses import CloudFormationResponse
from moto.cloudformation.utils import (
    generate_changeset_id,
    generate_stack_id,
    validate_create_change_set,
)
from moto.core.responses import ActionResult, EmptyResult
from moto.core.utils import utcnow

from . import generic, schemas, templates, values

log = logging.getLogger("ingest_moto")

# One stack operation at a time: moto's backends are plain dicts, and the server is threaded
# (the tool may deploy both regions at once). Reads stay unlocked.
LOCK = threading.RLock()

NO_CHANGES = (
    "The submitted information didn't contain changes. "
    "Submit different information to create a change set."
)
# Statuses in which a stack can take an UPDATE change set.
UPDATABLE = {
    "CREATE_COMPLETE",
    "UPDATE_COMPLETE",
    "UPDATE_ROLLBACK_COMPLETE",
    "IMPORT_COMPLETE",
    "IMPORT_ROLLBACK_COMPLETE",
}


class InvalidChangeSetStatus(CloudFormationError):
    code = "InvalidChangeSetStatusException"


class ChangeSetNotFound(CloudFormationError):
    code = "ChangeSetNotFoundException"


class ResourceFailure(Exception):
    """A resource could not be created, updated or deleted; `reason` is what the event says."""

    def __init__(self, logical_id: str, reason: str):
        super().__init__(f"{logical_id}: {reason}")
        self.logical_id = logical_id
        self.reason = reason


# --- resources -----------------------------------------------------------------------------


def _stack_of(resource_map: ResourceMap) -> Stack | None:
    backend = cfn_models.cloudformation_backends[resource_map._account_id][
        resource_map._region_name
    ]
    return backend.stacks.get(resource_map.stack_id) or backend.deleted_stacks.get(
        resource_map.stack_id
    )


@dataclass
class MapState:
    """The shim's bookkeeping on one stack's resource map."""

    created: list[str] = field(default_factory=list)  # logical ids, in creation order
    properties: dict[str, dict[str, Any]] = field(default_factory=dict)  # resolved, as last applied
    status: dict[str, str] = field(default_factory=dict)  # what ListStackResources answers
    reason: dict[str, str] = field(default_factory=dict)  # why a resource failed to delete
    generation: dict[str, int] = field(default_factory=dict)  # replacements so far (name seeds)
    updated: dict[str, Any] = field(default_factory=dict)  # last change, per resource

    def forget(self, logical_id: str) -> None:
        if logical_id in self.created:
            self.created.remove(logical_id)
        for table in (self.properties, self.status, self.reason, self.updated):
            table.pop(logical_id, None)


def _state(resource_map: ResourceMap) -> MapState:
    if not hasattr(resource_map, "_shim"):
        resource_map._shim = MapState()  # type: ignore[attr-defined]
    return resource_map._shim  # type: ignore[attr-defined]


def record_event(
    stack: Stack | None,
    logical_id: str,
    physical_id: str | None,
    resource_type: str,
    status: str,
    reason: str | None = None,
    properties: Any = None,
) -> None:
    if stack is None:
        return
    event = Event(
        stack_id=stack.stack_id,
        stack_name=stack.name,
        logical_resource_id=logical_id,
        physical_resource_id=physical_id or "",
        resource_type=resource_type,
        resource_status=status,
        resource_status_reason=reason,
        resource_properties=None if properties is None else _json(properties),
    )
    event.sendToSns(stack.account_id, stack.region_name, stack.notification_arns)
    stack.events.append(event)


def _json(value: Any) -> str:
    import json

    return json.dumps(value, default=str, sort_keys=True)


def _stack_event(stack: Stack, status: str, reason: str | None = None) -> None:
    """Moves the stack to `status`, with its event; DescribeStacks then answers the reason of
    a failure (StackStatusReason) and when the stack last changed (LastUpdatedTime)."""
    stack.status = status
    stack.stack_status_reason = reason if ("FAILED" in status or "ROLLBACK" in status) else None  # type: ignore[attr-defined]
    if status.startswith("UPDATE") and status.endswith("_IN_PROGRESS"):
        stack.last_updated_time = utcnow()  # type: ignore[attr-defined]
    if status == "DELETE_COMPLETE":
        stack.deletion_time = utcnow()  # type: ignore[attr-defined]
    event = Event(
        stack_id=stack.stack_id,
        stack_name=stack.name,
        logical_resource_id=stack.name,
        physical_resource_id=stack.stack_id,
        resource_type="AWS::CloudFormation::Stack",
        resource_status=status,
        resource_status_reason=reason,
        resource_properties=None,
    )
    event.sendToSns(stack.account_id, stack.region_name, stack.notification_arns)
    stack.events.append(event)


def _physical_id(resource: Any) -> str:
    value = getattr(resource, "physical_resource_id", None)
    return "" if value is None else str(value)


def _reason(error: BaseException) -> str:
    """What a failed resource's event says: the service error's message and code."""
    message = getattr(error, "message", None) or str(error) or type(error).__name__
    code = getattr(error, "code", None)
    if isinstance(code, str) and code not in message:
        return f"{message} (Error Code: {code})"
    return message


def _resolve(resource_map: ResourceMap, logical_id: str) -> dict[str, Any]:
    definition = copy.deepcopy(resource_map._resource_json_map[logical_id])
    definition["Properties"] = definition.get("Properties") or {}
    resolved = clean_json(definition, resource_map)
    resolved.setdefault("Properties", {})
    return resolved


def _validate(region: str, type_name: str, logical_id: str, properties: dict[str, Any]) -> None:
    errors = schemas.property_errors(region, type_name, properties)
    if errors:
        raise ResourceFailure(
            logical_id,
            f"Properties validation failed for resource {logical_id} with message:\n[{', '.join(errors)}]",
        )


def _model_class(type_name: str) -> Any:
    return parsing.resource_class_from_type(type_name)


def _physical_name(
    resource_map: ResourceMap,
    model: Any,
    type_name: str,
    properties: dict[str, Any],
    logical_id: str,
) -> str:
    name_property = model.cloudformation_name_type() if model is not None else ""
    if name_property and properties.get(name_property):
        return properties[name_property]
    state = _state(resource_map)
    seed = f"{resource_map.stack_id}/{logical_id}/{state.generation.get(logical_id, 0)}"
    stack_name = resource_map["AWS::StackName"]
    if type_name == "AWS::S3::Bucket":
        return values.generated_name(stack_name, logical_id, seed, 63).lower()
    if type_name in ("AWS::IAM::Role", "AWS::Lambda::Function", "AWS::SQS::Queue"):
        return values.generated_name(
            stack_name, logical_id, seed, 64 if type_name != "AWS::SQS::Queue" else 80
        )
    return values.generated_name(stack_name, logical_id, seed)


def create_resource(resource_map: ResourceMap, logical_id: str) -> Any:
    """Creates one resource through its model, with events; raises ResourceFailure."""
    definition = resource_map._resource_json_map[logical_id]
    type_name = definition["Type"]
    stack = _stack_of(resource_map)
    state = _state(resource_map)
    record_event(stack, logical_id, None, type_name, "CREATE_IN_PROGRESS")
    try:
        resolved = _resolve(resource_map, logical_id)
        properties = resolved["Properties"]
        _validate(resource_map._region_name, type_name, logical_id, properties)
        model = _model_class(type_name)
        name = _physical_name(resource_map, model, type_name, properties, logical_id)
        resource = model.create_from_cloudformation_json(
            name,
            resolved,
            resource_map._account_id,
            resource_map._region_name,
            LogicalId=logical_id,
            StackId=resource_map.stack_id,
            ResourceType=type_name,
            Generation=state.generation.get(logical_id, 0),
        )
        if resource is None:
            raise ResourceFailure(logical_id, f"moto's model of {type_name} created nothing")
        resource.cf_resource_type = type_name
        resource.logical_resource_id = logical_id
    except ResourceFailure as failure:
        record_event(stack, logical_id, None, type_name, "CREATE_FAILED", failure.reason)
        raise
    except Exception as error:
        log.debug("create %s failed", logical_id, exc_info=True)
        reason = _reason(error)
        record_event(stack, logical_id, None, type_name, "CREATE_FAILED", reason)
        raise ResourceFailure(logical_id, reason) from error
    resource_map._parsed_resources[logical_id] = resource
    if logical_id not in state.created:
        state.created.append(logical_id)
    state.properties[logical_id] = copy.deepcopy(properties)
    state.status[logical_id] = "CREATE_COMPLETE"
    state.updated[logical_id] = utcnow()
    record_event(stack, logical_id, _physical_id(resource), type_name, "CREATE_COMPLETE")
    return resource


def _has_update(model: Any) -> bool:
    return not hasattr(model.update_from_cloudformation_json, "__isabstractmethod__")


def update_resource(
    resource_map: ResourceMap, logical_id: str, old_definition: dict[str, Any]
) -> bool:
    """Updates one resource if its resolved properties changed; returns whether it did."""
    definition = resource_map._resource_json_map[logical_id]
    type_name = definition["Type"]
    state = _state(resource_map)
    original = resource_map._parsed_resources[logical_id]
    stack = _stack_of(resource_map)
    try:
        resolved = _resolve(resource_map, logical_id)
    except Exception as error:
        reason = _reason(error)
        record_event(stack, logical_id, _physical_id(original), type_name, "UPDATE_FAILED", reason)
        raise ResourceFailure(logical_id, reason) from error
    properties = resolved["Properties"]
    if properties == state.properties.get(logical_id) and old_definition.get("Type") == type_name:
        return False
    record_event(stack, logical_id, _physical_id(original), type_name, "UPDATE_IN_PROGRESS")
    try:
        _validate(resource_map._region_name, type_name, logical_id, properties)
        model = _model_class(type_name)
        replace = old_definition.get("Type") != type_name or (
            not issubclass(model, generic.GenericResource) and not _has_update(model)
        )
        if replace:
            resource = _replace(resource_map, logical_id, original, old_definition, resolved, model)
        else:
            name = _physical_name(resource_map, model, type_name, properties, logical_id)
            resource = model.update_from_cloudformation_json(
                original_resource=original,
                new_resource_name=name,
                cloudformation_json=resolved,
                account_id=resource_map._account_id,
                region_name=resource_map._region_name,
            )
            if resource is None:
                raise ResourceFailure(logical_id, f"moto's model of {type_name} updated to nothing")
            if isinstance(resource, generic.GenericResource):
                state.generation[logical_id] = resource.generation
        resource.cf_resource_type = type_name
        resource.logical_resource_id = logical_id
    except ResourceFailure as failure:
        record_event(
            stack, logical_id, _physical_id(original), type_name, "UPDATE_FAILED", failure.reason
        )
        raise
    except Exception as error:
        log.debug("update %s failed", logical_id, exc_info=True)
        reason = _reason(error)
        record_event(stack, logical_id, _physical_id(original), type_name, "UPDATE_FAILED", reason)
        raise ResourceFailure(logical_id, reason) from error
    resource_map._parsed_resources[logical_id] = resource
    state.properties[logical_id] = copy.deepcopy(properties)
    state.status[logical_id] = "UPDATE_COMPLETE"
    state.updated[logical_id] = utcnow()
    record_event(stack, logical_id, _physical_id(resource), type_name, "UPDATE_COMPLETE")
    return True


def _replace(
    resource_map: ResourceMap,
    logical_id: str,
    original: Any,
    old_definition: dict[str, Any],
    resolved: dict[str, Any],
    model: Any,
) -> Any:
    """Replacement for a model without an in-place update: the old resource goes first
    (moto cannot hold two of the same name), unless its UpdateReplacePolicy retains it."""
    state = _state(resource_map)
    if old_definition.get("UpdateReplacePolicy") != "Retain":
        _delete_model(resource_map, original, old_definition)
    state.generation[logical_id] = state.generation.get(logical_id, 0) + 1
    type_name = resolved["Type"]
    name = _physical_name(resource_map, model, type_name, resolved["Properties"], logical_id)
    return model.create_from_cloudformation_json(
        name,
        resolved,
        resource_map._account_id,
        resource_map._region_name,
        LogicalId=logical_id,
        StackId=resource_map.stack_id,
        ResourceType=type_name,
        Generation=state.generation[logical_id],
    )


def _delete_model(resource_map: ResourceMap, resource: Any, definition: dict[str, Any]) -> None:
    if isinstance(resource, generic.GenericResource):
        return
    try:
        resource.delete(resource_map._account_id, resource_map._region_name)
        return
    except (TypeError, AttributeError):
        pass
    model = _model_class(definition["Type"])
    if model is not None and not hasattr(
        model.delete_from_cloudformation_json, "__isabstractmethod__"
    ):
        model.delete_from_cloudformation_json(
            _physical_id(resource),
            definition,
            resource_map._account_id,
            resource_map._region_name,
        )


def delete_resource(
    resource_map: ResourceMap,
    logical_id: str,
    definition: dict[str, Any],
    failed_create: bool = False,
) -> None:
    """Deletes one created resource (or skips it under DeletionPolicy Retain, and under
    RetainExceptOnCreate unless a failed first create rolls back), with events; raises
    ResourceFailure."""
    state = _state(resource_map)
    resource = resource_map._parsed_resources.get(logical_id)
    type_name = definition.get("Type", "")
    stack = _stack_of(resource_map)
    physical = _physical_id(resource)
    policy = definition.get("DeletionPolicy")
    if policy == "Retain" or (policy == "RetainExceptOnCreate" and not failed_create):
        record_event(stack, logical_id, physical, type_name, "DELETE_SKIPPED")
    else:
        record_event(stack, logical_id, physical, type_name, "DELETE_IN_PROGRESS")
        try:
            _delete_model(resource_map, resource, definition)
        except Exception as error:
            reason = _reason(error)
            state.status[logical_id] = "DELETE_FAILED"
            state.reason[logical_id] = reason
            record_event(stack, logical_id, physical, type_name, "DELETE_FAILED", reason)
            raise ResourceFailure(logical_id, reason) from error
        record_event(stack, logical_id, physical, type_name, "DELETE_COMPLETE")
    resource_map._parsed_resources.pop(logical_id, None)
    state.forget(logical_id)


def _active(resource_map: ResourceMap, resources: dict[str, Any]) -> list[str]:
    order = templates.dependency_order(resources)
    return [
        name
        for name in order
        if not resources[name].get("Condition")
        or resource_map.lazy_condition_map[resources[name]["Condition"]]
    ]


def _load(resource_map: ResourceMap, template: dict[str, Any], parameters: dict[str, str]) -> None:
    """Points the map at a template and parameter values (and its conditions and mappings)."""
    resource_map._template = template
    resource_map.input_parameters = dict(parameters)
    resource_map.resolved_parameters = {}
    resource_map.load_mapping()
    resource_map.transform_mapping()
    resource_map.load_parameters()
    resource_map.load_conditions()


def apply_template(
    resource_map: ResourceMap, template: dict[str, Any], parameters: dict[str, str]
) -> None:
    """Brings the stack's resources to `template`: creates and updates in dependency order,
    then deletes what the template no longer has (reverse order). Raises ResourceFailure."""
    state = _state(resource_map)
    old_resources = dict(resource_map._resource_json_map)
    _load(resource_map, template, parameters)
    resources = template.get("Resources") or {}
    resource_map._resource_json_map = resources
    active = _active(resource_map, resources)
    existing = list(state.created)
    for name in active:
        if name in existing and name in resource_map._parsed_resources:
            update_resource(resource_map, name, old_resources.get(name, resources[name]))
        else:
            create_resource(resource_map, name)
    stale = [name for name in existing if name not in active]
    if stale:
        stack = _stack_of(resource_map)
        if (
            stack is not None
            and stack.status.endswith("_IN_PROGRESS")
            and stack.status.startswith("UPDATE")
        ):
            _stack_event(
                stack, stack.status.replace("_IN_PROGRESS", "_COMPLETE_CLEANUP_IN_PROGRESS")
            )
        order = templates.dependency_order(old_resources)
        for name in reversed(order):
            if name in stale:
                delete_resource(resource_map, name, old_resources[name])


def evaluate_outputs(stack: Stack) -> None:
    """Rebuilds the stack's outputs and exports from its template; raises on a bad one."""
    stack.output_map = OutputMap(stack.resource_map, stack.template_dict, stack.stack_id)
    for key in stack.output_map.outputs:
        output = stack.output_map[key]
        if output is not None and not isinstance(output.value, (str, int, float, bool)):
            raise ValidationError(
                message=f"Template format error: Output {key} is malformed. The Value field must be a String ({output.value!r})"
            )


def _register_exports(backend: CloudFormationBackend, stack: Stack) -> None:
    for name in [n for n, e in backend.exports.items() if e.exporting_stack_id == stack.stack_id]:
        backend.exports.pop(name)
    for export in stack.exports:
        if export.name in backend.exports:
            raise ValidationError(
                stack.stack_id,
                message=f"Export with name {export.name} is already exported by stack {backend.exports[export.name].exporting_stack_id}",
            )
        backend.exports[export.name] = export


def run_operation(
    backend: CloudFormationBackend,
    stack: Stack,
    template_body: str,
    template: dict[str, Any],
    parameters: dict[str, str],
    operation: str,
    rollback: bool = True,
) -> bool:
    """Runs a CREATE or UPDATE of `stack` to `template`; returns False when it failed (rolled
    back, or left as it failed when `rollback` is off; the status and events say which)."""
    resource_map = stack.resource_map
    previous = (stack.template, copy.deepcopy(stack.template_dict), dict(stack.parameters or {}))
    old_parameters = _parameter_values(resource_map)
    _stack_event(stack, f"{operation}_IN_PROGRESS", "User Initiated")
    try:
        stack.template = template_body
        stack.template_dict = template
        stack.description = template.get("Description")
        apply_template(resource_map, template, parameters)
        evaluate_outputs(stack)
        _register_exports(backend, stack)
    except (ResourceFailure, CloudFormationError) as failure:
        logical = getattr(failure, "logical_id", None)
        verb = "create" if operation == "CREATE" else "update"
        reason = (
            f"The following resource(s) failed to {verb}: [{logical}]. "
            if logical
            else _reason(failure)
        )
        log.info("%s %s failed: %s", operation, stack.name, failure)
        if not rollback:
            _stack_event(stack, f"{operation}_FAILED", reason)
            return False
        if operation == "CREATE":
            _stack_event(stack, "ROLLBACK_IN_PROGRESS", reason + "Rollback requested by user.")
            _delete_all(resource_map, stop_on_failure=False, failed_create=True)
            stack.output_map = OutputMap(resource_map, {}, stack.stack_id)
            _stack_event(stack, "ROLLBACK_COMPLETE")
            return False
        _stack_event(stack, "UPDATE_ROLLBACK_IN_PROGRESS", reason)
        stack.template, stack.template_dict, stack.parameters = previous
        stack.description = stack.template_dict.get("Description")
        try:
            apply_template(resource_map, stack.template_dict, old_parameters)
            evaluate_outputs(stack)
        except Exception as rollback_error:  # noqa: BLE001 - reported as the stack's status
            log.info("rollback of %s failed: %s", stack.name, rollback_error)
            _stack_event(stack, "UPDATE_ROLLBACK_FAILED", _reason(rollback_error))
            return False
        _stack_event(stack, "UPDATE_ROLLBACK_COMPLETE")
        return False
    stack.parameters = dict(parameters)
    _stack_event(stack, f"{operation}_COMPLETE")
    return True


def _parameter_values(resource_map: ResourceMap) -> dict[str, str]:
    """The map's resolved parameters as the strings the API takes."""
    return {
        k: ",".join(map(str, v)) if isinstance(v, list) else str(v)
        for k, v in (resource_map.resolved_parameters or {}).items()
    }


def _delete_all(
    resource_map: ResourceMap, stop_on_failure: bool, failed_create: bool = False
) -> list[str]:
    """Deletes every created resource in reverse dependency order (a failed first create's
    rollback also deletes RetainExceptOnCreate resources); returns the failures' reasons (and
    stops at the first when asked)."""
    state = _state(resource_map)
    definitions = resource_map._resource_json_map
    known = {n: d for n, d in definitions.items() if n in state.created}
    order = [n for n in templates.dependency_order(known)] if known else []
    order += [n for n in state.created if n not in order]
    failures = []
    for name in reversed(order):
        try:
            delete_resource(
                resource_map, name, definitions.get(name, {"Type": ""}), failed_create
            )
        except ResourceFailure as failure:
            failures.append(f"{name}: {failure.reason}")
            if stop_on_failure:
                break
    return failures


# --- change sets ---------------------------------------------------------------------------


def _references_changed(node: Any, changed: set[str]) -> list[str]:
    return sorted(
        {
            name
            for name, attribute in templates.references(node)
            if attribute is None and name in changed
        }
    )


def plan_changes(
    stack: Stack,
    template: dict[str, Any],
    parameters: dict[str, str],
    region: str,
) -> list[dict[str, Any]]:
    """The `Changes` of a change set, as CloudFormation reports them (static evaluation)."""
    resource_map = stack.resource_map
    state = _state(resource_map)
    old_resources = resource_map._resource_json_map if state.created else {}
    old_parameters = _parameter_values(resource_map)
    changed_parameters = {
        name for name, value in parameters.items() if old_parameters.get(name) != value
    }
    # A scratch map evaluates the new template's conditions without touching the stack.
    scratch = ResourceMap(
        stack.stack_id,
        stack.name,
        parameters,
        {},
        region_name=region,
        account_id=resource_map._account_id,
        template=template,
        cross_stack_resources={},
    )
    scratch.load()
    new_resources = template.get("Resources") or {}
    active = [
        n
        for n in templates.dependency_order(new_resources)
        if not new_resources[n].get("Condition")
        or scratch.lazy_condition_map[new_resources[n]["Condition"]]
    ]
    replaced: set[str] = set()
    changes = []
    for name in active:
        definition = new_resources[name]
        type_name = definition["Type"]
        if name not in state.created:
            changes.append(
                {
                    "Action": "Add",
                    "LogicalResourceId": name,
                    "ResourceType": type_name,
                    "Scope": [],
                    "Details": [],
                }
            )
            continue
        old = old_resources.get(name, {})
        create_only = {path[0] for path in schemas.create_only_paths(region, type_name)}
        new_props = definition.get("Properties") or {}
        old_props = old.get("Properties") or {}
        replacing = {
            path[0] for path in schemas.replacing_paths(region, type_name, old_props, new_props)
        }
        details = []
        for key in sorted(set(new_props) | set(old_props)):
            recreation = "Always" if key in replacing else "Never"
            if new_props.get(key) != old_props.get(key):
                details.append(_detail(key, recreation, "Static", "DirectModification"))
            else:
                for parameter in _references_changed(new_props.get(key), changed_parameters):
                    details.append(
                        _detail(
                            key,
                            "Always" if key in create_only else "Never",
                            "Static",
                            "ParameterReference",
                            parameter,
                        )
                    )
                for target in sorted(
                    {t for t, _ in templates.references(new_props.get(key)) if t in replaced}
                ):
                    details.append(
                        _detail(
                            key,
                            "Conditional" if key in create_only else "Never",
                            "Dynamic",
                            "ResourceReference",
                            target,
                        )
                    )
        scope = ["Properties"] if details else []
        if definition.get("Metadata") != old.get("Metadata"):
            scope.append("Metadata")
        if old.get("Type") != type_name:
            details.append(_detail("Type", "Always", "Static", "DirectModification"))
            scope = scope or ["Properties"]
        if not scope:
            continue
        needs = {d["Target"]["RequiresRecreation"] for d in details}
        replacement = (
            "True" if "Always" in needs else "Conditional" if "Conditional" in needs else "False"
        )
        if replacement == "True":
            replaced.add(name)
        changes.append(
            {
                "Action": "Modify",
                "LogicalResourceId": name,
                "PhysicalResourceId": _physical_id(resource_map._parsed_resources.get(name)),
                "ResourceType": type_name,
                "Replacement": replacement,
                "Scope": scope,
                "Details": details,
            }
        )
    for name in state.created:
        if name not in active:
            changes.append(
                {
                    "Action": "Remove",
                    "LogicalResourceId": name,
                    "PhysicalResourceId": _physical_id(resource_map._parsed_resources.get(name)),
                    "ResourceType": old_resources.get(name, {}).get("Type", ""),
                    "Scope": [],
                    "Details": [],
                }
            )
    return changes


def _detail(
    name: str, recreation: str, evaluation: str, source: str, entity: str | None = None
) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "Target": {"Attribute": "Properties", "Name": name, "RequiresRecreation": recreation},
        "Evaluation": evaluation,
        "ChangeSource": source,
    }
    if entity:
        detail["CausingEntity"] = entity
    return detail


class ShimChangeSet(ChangeSet):
    """moto's ChangeSet without its own diff (the shim computes `changes`), plus the fields
    DescribeChangeSet answers on AWS."""

    def __init__(self, **kwargs: Any) -> None:
        self.capabilities = kwargs.pop("capabilities")
        self.template_dict_ready = kwargs.pop("template_dict")
        self.all_parameters = kwargs.pop("all_parameters")
        self.changes_ready = kwargs.pop("changes")
        super().__init__(**kwargs)

    def _parse_template(self) -> None:
        self.template_dict = self.template_dict_ready

    def diff(self) -> list[Any]:
        return self.changes_ready


def _find_change_set(
    backend: CloudFormationBackend, name: str, stack_name: str | None
) -> ChangeSet:
    if name in backend.change_sets:
        return backend.change_sets[name]
    for change_set in backend.change_sets.values():
        if change_set.change_set_name == name and (
            stack_name in (None, "", change_set.stack_name, change_set.stack_id)
        ):
            return change_set
    raise ChangeSetNotFound(f"ChangeSet [{name}] does not exist")


def _stack_by_name(backend: CloudFormationBackend, name: str) -> Stack | None:
    if name in backend.stacks:
        return backend.stacks[name]
    for stack in backend.stacks.values():
        if stack.name == name:
            return stack
    return None


def _template_from_request(response: CloudFormationResponse, stack: Stack | None) -> str:
    body = response._get_param("TemplateBody")
    url = response._get_param("TemplateURL")
    use_previous = response._get_bool_param("UsePreviousTemplate", False)
    given = [x for x in (body, url) if x] + ([True] if use_previous else [])
    if len(given) != 1:
        raise ValidationError(
            message="Exactly one of TemplateBody, TemplateURL or UsePreviousTemplate must be given"
            if given
            else "Either Template URL or Template Body must be specified."
        )
    if use_previous:
        if stack is None:
            raise ValidationError(message="UsePreviousTemplate needs an existing stack")
        return stack.template  # type: ignore[return-value]
    if url:
        text = templates.fetch_template_url(url, response.current_account, response.partition)
        templates.check_url_size(text)
        return text
    templates.check_body_size(body)
    return body


def create_change_set(self: CloudFormationResponse) -> ActionResult:
    with LOCK:
        return _create_change_set(self)


def _create_change_set(self: CloudFormationResponse) -> ActionResult:
    backend = self.cloudformation_backend
    region = self.region
    stack_name = self._get_param("StackName")
    change_set_name = self._get_param("ChangeSetName")
    change_set_type = self._get_param("ChangeSetType") or "UPDATE"
    validate_create_change_set(change_set_name)
    stack = _stack_by_name(backend, stack_name)
    if change_set_type == "CREATE":
        if stack is not None and stack.status != "REVIEW_IN_PROGRESS":
            raise ValidationError(
                message=f"Stack [{stack_name}] already exists and cannot be created again with the changeSet [{change_set_name}]."
            )
    elif change_set_type == "UPDATE":
        if stack is None:
            raise ValidationError(message=f"Stack [{stack_name}] does not exist")
        if stack.status not in UPDATABLE:
            raise ValidationError(
                message=f"Stack:{stack.stack_id} is in {stack.status} state and can not be updated."
            )
    else:
        raise ValidationError(
            message=f"ChangeSetType {change_set_type} is not supported by the shim"
        )
    for change_set in backend.change_sets.values():
        if (
            stack is not None
            and change_set.stack_id == stack.stack_id
            and change_set.change_set_name == change_set_name
        ):
            raise cfn_models.AlreadyExistsException(
                f"ChangeSet {change_set_name} already exists for stack {stack_name}"
            )

    body = _template_from_request(self, stack)
    template = templates.parse_template(body)
    templates.check_template(template, region)
    given, use_previous = _request_parameters(self)
    previous = (
        stack.resource_map.resolved_parameters
        if stack is not None and change_set_type == "UPDATE"
        else None
    )
    parameters = templates.resolve_parameters(template, given, previous, use_previous)
    capabilities = self._get_param("Capabilities", [])
    templates.check_capabilities(template, capabilities)
    tags = {item["Key"]: item["Value"] for item in self._get_param("Tags", [])}

    if stack is None:
        stack = Stack(
            stack_id=generate_stack_id(stack_name, region, self.current_account),
            name=stack_name,
            template={},
            parameters={},
            account_id=self.current_account,
            region_name=region,
            notification_arns=self._get_param("NotificationARNs", []),
            tags=tags,
            role_arn=self._get_param("RoleARN"),
        )
        backend.stacks[stack.stack_id] = stack
        _stack_event(stack, "REVIEW_IN_PROGRESS", "User Initiated")

    changes = plan_changes(stack, template, parameters, region)
    unchanged = (
        change_set_type == "UPDATE"
        and not changes
        and template == stack.template_dict
        and parameters == _parameter_values(stack.resource_map)
        and (not tags or tags == stack.tags)
    )
    change_set = ShimChangeSet(
        change_set_type=change_set_type,
        change_set_id=generate_changeset_id(change_set_name, region, self.current_account),
        change_set_name=change_set_name,
        stack=stack,
        template=body,
        parameters=parameters,
        description=self._get_param("Description"),
        notification_arns=self._get_param("NotificationARNs", []),
        tags=tags or None,
        role_arn=self._get_param("RoleARN"),
        capabilities=capabilities,
        template_dict=template,
        all_parameters=parameters,
        changes=changes,
    )
    change_set.on_stack_failure = self._get_param("OnStackFailure") or "ROLLBACK"  # type: ignore[attr-defined]
    if unchanged:
        change_set.status = "FAILED"
        change_set.execution_status = "UNAVAILABLE"
        change_set.status_reason = NO_CHANGES
    else:
        change_set.status = "CREATE_COMPLETE"
        change_set.execution_status = "AVAILABLE"
    backend.change_sets[change_set.change_set_id] = change_set
    return ActionResult({"Id": change_set.change_set_id, "StackId": stack.stack_id})


def describe_change_set(self: CloudFormationResponse) -> ActionResult:
    change_set = _find_change_set(
        self.cloudformation_backend, self._get_param("ChangeSetName"), self._get_param("StackName")
    )
    return ActionResult(change_set)


def delete_change_set(self: CloudFormationResponse) -> EmptyResult:
    backend = self.cloudformation_backend
    change_set = _find_change_set(
        backend, self._get_param("ChangeSetName"), self._get_param("StackName")
    )
    backend.change_sets.pop(change_set.change_set_id, None)
    return EmptyResult()


def list_change_sets(self: CloudFormationResponse) -> ActionResult:
    backend = self.cloudformation_backend
    stack_name = self._get_param("StackName")
    summaries = [
        c for c in backend.change_sets.values() if stack_name in (c.stack_name, c.stack_id)
    ]
    return ActionResult({"Summaries": summaries})


def execute_change_set(self: CloudFormationResponse) -> EmptyResult:
    backend = self.cloudformation_backend
    with LOCK:
        change_set = _find_change_set(
            backend, self._get_param("ChangeSetName"), self._get_param("StackName")
        )
        if change_set.execution_status != "AVAILABLE":
            raise InvalidChangeSetStatus(
                f"ChangeSet [{change_set.change_set_id}] cannot be executed in its current execution status of [{change_set.execution_status}]"
            )
        stack = backend.stacks[change_set.stack_id]
        if change_set.change_set_type == "UPDATE" and stack.status not in UPDATABLE:
            raise InvalidChangeSetStatus(
                f"ChangeSet [{change_set.change_set_id}] cannot be executed in its current status of [{stack.status}]"
            )
        if change_set.tags is not None:
            stack.tags = dict(change_set.tags)
        stack.notification_arns = change_set.notification_arns or stack.notification_arns
        stack.capabilities = change_set.capabilities  # type: ignore[attr-defined]
        change_set.execution_status = "EXECUTE_IN_PROGRESS"
        rollback = (
            not self._get_bool_param("DisableRollback", False)
            and change_set.on_stack_failure == "ROLLBACK"  # type: ignore[attr-defined]
        )
        succeeded = run_operation(
            backend,
            stack,
            change_set.template,
            change_set.template_dict,  # type: ignore[attr-defined]
            change_set.all_parameters,  # type: ignore[attr-defined]
            change_set.change_set_type,
            rollback=rollback,
        )
        change_set.execution_status = "EXECUTE_COMPLETE" if succeeded else "EXECUTE_FAILED"
        # AWS deletes a stack's other change sets once one is executed.
        for other in [
            c
            for c in backend.change_sets.values()
            if c.stack_id == stack.stack_id and c is not change_set
        ]:
            backend.change_sets.pop(other.change_set_id, None)
    return EmptyResult()


# --- CreateStack, UpdateStack, DeleteStack, ValidateTemplate --------------------------------


def _request_parameters(response: CloudFormationResponse) -> tuple[dict[str, str], set[str]]:
    given, use_previous = {}, set()
    for parameter in response._get_param("Parameters", []):
        key = parameter["ParameterKey"]
        if parameter.get("UsePreviousValue") in (True, "true"):
            if parameter.get("ParameterValue"):
                raise ValidationError(
                    message=f"Invalid input for parameter key {key}. Cannot specify usePreviousValue as true and non empty value for a parameter"
                )
            use_previous.add(key)
        else:
            given[key] = parameter.get("ParameterValue", "")
    return given, use_previous


def create_stack(self: CloudFormationResponse) -> ActionResult:
    """CreateStack with the checks and lifecycle of a CREATE change set."""
    backend = self.cloudformation_backend
    name = self._get_param("StackName")
    if _stack_by_name(backend, name) is not None:
        raise cfn_models.AlreadyExistsException(f"Stack [{name}] already exists")
    body = _template_from_request(self, None)
    template = templates.parse_template(body)
    templates.check_template(template, self.region)
    given, use_previous = _request_parameters(self)
    parameters = templates.resolve_parameters(template, given, None, use_previous)
    capabilities = self._get_param("Capabilities", [])
    templates.check_capabilities(template, capabilities)
    stack = Stack(
        stack_id=generate_stack_id(name, self.region, self.current_account),
        name=name,
        template={},
        parameters={},
        account_id=self.current_account,
        region_name=self.region,
        notification_arns=self._get_param("NotificationARNs", []),
        tags={t["Key"]: t["Value"] for t in self._get_param("Tags", [])},
        role_arn=self._get_param("RoleARN"),
        timeout_in_mins=self._get_param("TimeoutInMinutes"),
    )
    stack.capabilities = capabilities  # type: ignore[attr-defined]
    backend.stacks[stack.stack_id] = stack
    on_failure = self._get_param("OnFailure") or (
        "DO_NOTHING" if self._get_bool_param("DisableRollback", False) else "ROLLBACK"
    )
    with LOCK:
        succeeded = run_operation(
            backend,
            stack,
            body,
            template,
            parameters,
            "CREATE",
            rollback=on_failure != "DO_NOTHING",
        )
        if not succeeded and on_failure == "DELETE":
            _delete_stack(backend, stack.stack_id)
    return ActionResult({"StackId": stack.stack_id})


def validate_template(self: CloudFormationResponse) -> ActionResult:
    """ValidateTemplate as CloudFormation answers it: the template's format and references
    checked (moto ran cfn-lint and failed on its first finding, warnings included), its
    parameters and the capabilities it needs listed."""
    body = _template_from_request(self, None)
    template = templates.parse_template(body)
    templates.check_template(template, self.region)
    parameters = [
        {
            "ParameterKey": key,
            "DefaultValue": None if "Default" not in spec else str(spec["Default"]),
            "NoEcho": bool(spec.get("NoEcho", False)),
            "Description": spec.get("Description"),
        }
        for key, spec in (template.get("Parameters") or {}).items()
    ]
    result: dict[str, Any] = {
        "Description": template.get("Description"),
        "Parameters": parameters,
        "Capabilities": [],
        "DeclaredTransforms": [],
    }
    try:
        templates.check_capabilities(template, [])
    except templates.InsufficientCapabilities as needed:
        capability = str(needed.message).split("[")[-1].rstrip("]")
        iam = sorted(
            {
                r["Type"]
                for r in template["Resources"].values()
                if r.get("Type") in templates.IAM_NAME_PROPERTY
            }
        )
        result["Capabilities"] = [capability]
        result["CapabilitiesReason"] = (
            f"The following resource(s) require capabilities: [{', '.join(iam)}]"
        )
    return ActionResult(result)


def _update(
    self: Stack,
    template: str,
    role_arn: str | None = None,
    parameters: dict[str, Any] | None = None,
    tags: dict[str, str] | None = None,
) -> None:
    """UpdateStack (moto's handler has already refused an unchanged update, as AWS does):
    the checks and lifecycle of an UPDATE change set."""
    backend = cfn_models.cloudformation_backends[self.account_id][self.region_name]
    if self.status not in UPDATABLE:
        raise ValidationError(
            message=f"Stack:{self.stack_id} is in {self.status} state and can not be updated."
        )
    parsed = templates.parse_template(template)
    templates.check_template(parsed, self.region_name)
    given = {k: str(v) for k, v in (parameters or {}).items()}
    resolved = templates.resolve_parameters(
        parsed, given, self.resource_map.resolved_parameters, set()
    )
    if tags is not None:
        self.tags = tags
    with LOCK:
        run_operation(backend, self, template, parsed, resolved, "UPDATE")


def _delete_stack(self: CloudFormationBackend, name_or_stack_id: str) -> None:
    stack = self.stacks.get(name_or_stack_id) or _stack_by_name(self, name_or_stack_id)
    if stack is None:
        return  # AWS: deleting a stack that does not exist succeeds
    if stack.enable_termination_protection:
        raise ValidationError(
            message=f"Stack [{stack.name}] cannot be deleted while TerminationProtection is enabled"
        )
    with LOCK:
        _delete_stack_locked(self, stack)


def _delete_stack_locked(self: CloudFormationBackend, stack: Stack) -> None:
    _stack_event(stack, "DELETE_IN_PROGRESS", "User Initiated")
    failures = _delete_all(stack.resource_map, stop_on_failure=False)
    if failures:
        _stack_event(
            stack,
            "DELETE_FAILED",
            "The following resource(s) failed to delete: ["
            + ", ".join(f.split(":")[0] for f in failures)
            + "]. ",
        )
        return
    for name in [n for n, e in self.exports.items() if e.exporting_stack_id == stack.stack_id]:
        self.exports.pop(name)
    for change_set in [c for c in self.change_sets.values() if c.stack_id == stack.stack_id]:
        self.change_sets.pop(change_set.change_set_id, None)
    self.stacks.pop(stack.stack_id, None)
    _stack_event(stack, "DELETE_COMPLETE")
    self.deleted_stacks[stack.stack_id] = stack


def _stack_resources(self: Stack) -> Iterable[Any]:
    state = _state(self.resource_map)
    return [
        self.resource_map._parsed_resources[n]
        for n in state.created
        if n in self.resource_map._parsed_resources
    ]


def list_stack_resources(self: CloudFormationResponse) -> ActionResult:
    stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
    state = _state(stack.resource_map)
    summaries = []
    for name in state.created:
        resource = stack.resource_map._parsed_resources.get(name)
        if resource is None:
            continue
        summary = {
            "LogicalResourceId": name,
            "PhysicalResourceId": _physical_id(resource),
            "ResourceType": stack.resource_map._resource_json_map.get(name, {}).get(
                "Type", getattr(resource, "cf_resource_type", "")
            ),
            "LastUpdatedTimestamp": state.updated.get(name, stack.creation_time),
            "ResourceStatus": state.status.get(name, "CREATE_COMPLETE"),
        }
        if name in state.reason:
            summary["ResourceStatusReason"] = state.reason[name]
        summaries.append(summary)
    return ActionResult({"StackResourceSummaries": summaries})


def describe_stack_resources(self: CloudFormationResponse) -> ActionResult:
    stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
    logical = self._get_param("LogicalResourceId")
    state = _state(stack.resource_map)
    result = []
    for name in state.created:
        if logical and name != logical:
            continue
        resource = stack.resource_map._parsed_resources.get(name)
        result.append(
            {
                "StackName": stack.name,
                "StackId": stack.stack_id,
                "LogicalResourceId": name,
                "PhysicalResourceId": _physical_id(resource),
                "ResourceType": stack.resource_map._resource_json_map.get(name, {}).get("Type", ""),
                "Timestamp": state.updated.get(name, stack.creation_time),
                "ResourceStatus": state.status.get(name, "CREATE_COMPLETE"),
            }
        )
    return ActionResult({"StackResources": result})


def describe_stack_resource(self: CloudFormationResponse) -> ActionResult:
    stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
    logical = self._get_param("LogicalResourceId")
    state = _state(stack.resource_map)
    if logical not in state.created:
        raise ValidationError(
            stack.name, message=f"Resource {logical} does not exist for stack {stack.name}"
        )
    resource = stack.resource_map._parsed_resources.get(logical)
    detail = {
        "StackName": stack.name,
        "StackId": stack.stack_id,
        "LogicalResourceId": logical,
        "PhysicalResourceId": _physical_id(resource),
        "ResourceType": stack.resource_map._resource_json_map.get(logical, {}).get("Type", ""),
        "LastUpdatedTimestamp": state.updated.get(logical, stack.creation_time),
        "ResourceStatus": state.status.get(logical, "CREATE_COMPLETE"),
        "Metadata": _json(
            stack.resource_map._resource_json_map.get(logical, {}).get("Metadata", {})
        ),
    }
    return ActionResult({"StackResourceDetail": detail})


def _get_item(self: ResourceMap, key: str) -> Any:
    """moto creates a resource lazily when something refers to it; the shim creates in
    dependency order, so this only resolves what exists (and creates, with events, what a
    reference reaches first)."""
    if key in self._parsed_resources:
        return self._parsed_resources[key]
    definition = self._resource_json_map.get(key)
    if not definition:
        raise KeyError(key)
    condition = definition.get("Condition")
    if condition and not self.lazy_condition_map[condition]:
        return None
    return create_resource(self, key)


def _no_validate_outputs(self: ResourceMap) -> None:
    """moto's own output check crashes on types it does not model (HTTP 500); the shim
    checks outputs at CreateChangeSet (`templates.check_template`)."""


def _parameter_list(self: Stack) -> list[dict[str, Any]]:
    """DescribeStacks' Parameters as CloudFormation answers them: a `NoEcho` parameter's value
    is `****` (moto compares the value, not the key, with the NoEcho keys, so it never masks)."""
    hidden = set(self.resource_map.no_echo_parameter_keys)
    return [
        {"ParameterKey": key, "ParameterValue": "****" if key in hidden else value}
        for key, value in self.resource_map.resolved_parameters.items()
    ]


def install() -> None:
    CloudFormationResponse.create_stack = create_stack  # type: ignore[method-assign]
    CloudFormationResponse.validate_template = validate_template  # type: ignore[method-assign]
    CloudFormationResponse.create_change_set = create_change_set  # type: ignore[method-assign]
    CloudFormationResponse.describe_change_set = describe_change_set  # type: ignore[method-assign]
    CloudFormationResponse.delete_change_set = delete_change_set  # type: ignore[method-assign]
    CloudFormationResponse.execute_change_set = execute_change_set  # type: ignore[method-assign]
    CloudFormationResponse.list_change_sets = list_change_sets  # type: ignore[method-assign]
    CloudFormationResponse.list_stack_resources = list_stack_resources  # type: ignore[method-assign]
    CloudFormationResponse.describe_stack_resources = describe_stack_resources  # type: ignore[method-assign]
    CloudFormationResponse.describe_stack_resource = describe_stack_resource  # type: ignore[method-assign]
    Stack.update = _update  # type: ignore[method-assign]
    Stack.stack_resources = property(_stack_resources)  # type: ignore[assignment,method-assign]
    Stack.parameter_list = property(_parameter_list)  # type: ignore[assignment,method-assign]
    CloudFormationBackend.delete_stack = _delete_stack  # type: ignore[method-assign]
    ResourceMap.validate_outputs = _no_validate_outputs  # type: ignore[method-assign]
    ResourceMap.__getitem__ = _get_item  # type: ignore[method-assign]
