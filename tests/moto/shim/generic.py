"""The generic model: a stand-in for every resource type moto's CloudFormation does not model.

moto skips such a resource (a warning in its log, nothing in the stack) and answers HTTP 500
when an output asks for one of its attributes. The generic model instead keeps the resource
as a record of its validated properties and answers for it the way CloudFormation would:

- `Ref` gives the type's identifier: the property that names it when the template sets it
  (a stage's `StageName`, an alarm's `AlarmName`), a name generated the CloudFormation way
  when it does not, or a generated id when the identifier is read-only (a named query's id);
- `Fn::GetAtt` answers exactly the attributes the type's schema lists, with deterministic
  values of the right shape (`values.attribute_value`), and fails on any other;
- an update that changes a create-only property replaces it (new identifier and attributes),
  any other update keeps its identity.

It creates nothing in moto's service backends: a test that needs the service itself must
use its API directly (and the shim's log says which types were stood in for).
"""

from __future__ import annotations

import functools
from typing import Any

from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.core.common_models import CloudFormationModel

from . import schemas, values

# What `Ref` answers where CloudFormation documents something other than the registry default
# (the primary identifier, its parts joined with "|"): older types answer one part. Each entry
# lists candidates in order: a property path, or a read-only attribute.
REF_OVERRIDES = {
    "AWS::Glue::Database": (("DatabaseName",), ("DatabaseInput", "Name")),
    "AWS::Glue::Table": (("TableInput", "Name"),),
    "AWS::ApiGateway::BasePathMapping": (("BasePath",),),
    "AWS::ApiGateway::Stage": (("StageName",),),
    "AWS::ApiGateway::Authorizer": (("AuthorizerId",),),
    "AWS::Logs::LogStream": (("LogStreamName",),),
}


def _lookup(properties: dict[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = properties
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


class GenericResource(CloudFormationModel):
    """One resource of a type moto does not model. Subclassed per type by `model_for`."""

    type_name = "AWS::Shim::Generic"

    def __init__(
        self,
        *,
        logical_id: str,
        stack_id: str,
        stack_name: str,
        properties: dict[str, Any],
        region: str,
        account: str,
        generation: int,
    ):
        self.logical_resource_id = logical_id
        self.cf_resource_type = self.type_name
        self.stack_id = stack_id
        self.stack_name = stack_name
        self.properties = properties
        self.region = region
        self.account = account
        self.generation = generation
        self.seed = f"{stack_id}/{logical_id}/{generation}"
        # The resource's own name: the naming property when set, else a generated name.
        ids = schemas.primary_identifier(region, self.type_name)
        read_only = schemas.read_only_properties(region, self.type_name)
        given = [p for p in ids if p not in read_only and properties.get(p) not in (None, "")]
        given.sort(key=lambda p: not p.endswith("Name"))
        named = properties[given[0]] if given else None
        self.generated_name = values.generated_name(stack_name, logical_id, self.seed, 64)
        name = str(named) if named is not None else self.generated_name
        self.attributes = {
            attribute: values.attribute_value(
                self.type_name,
                attribute,
                schemas.attribute_schema(region, self.type_name, attribute),
                physical_id=name,
                properties=properties,
                region=region,
                account=account,
                seed=self.seed,
            )
            for attribute in schemas.getatt_pointers(region, self.type_name)
        }
        self._physical_id = self._identifier(ids, name)

    def _part(self, path: tuple[str, ...], name: str) -> str | None:
        found = _lookup(self.properties, path)
        if found not in (None, ""):
            return str(found)
        attribute = ".".join(path)
        if attribute in self.attributes:
            return str(self.attributes[attribute])
        if len(path) == 1 and path[0] in schemas.read_only_properties(self.region, self.type_name):
            return (
                values.uuid_from(self.seed)
                if path[0].endswith("Id")
                else values.token(self.seed, 20)
            )
        return None

    def _identifier(self, ids: list[str], name: str) -> str:
        if self.type_name in REF_OVERRIDES:
            for path in REF_OVERRIDES[self.type_name]:
                part = self._part(path, name)
                if part is not None:
                    return part
            return self.generated_name
        if not ids:
            return name
        return "|".join(self._part((p,), name) or name for p in ids)

    @property
    def physical_resource_id(self) -> str:
        return self._physical_id

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @classmethod
    def cloudformation_type(cls) -> str:  # type: ignore[override]
        return cls.type_name

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return schemas.has_attribute("us-east-1", cls.type_name, attr)

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name in self.attributes:
            return self.attributes[attribute_name]
        raise UnformattedGetAttTemplateException()

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> GenericResource:
        stack_id = kwargs["StackId"]
        return cls(
            logical_id=kwargs["LogicalId"],
            stack_id=stack_id,
            stack_name=stack_id.split(":stack/")[-1].split("/")[0],
            properties=cloudformation_json.get("Properties") or {},
            region=region_name,
            account=account_id,
            generation=kwargs.get("Generation", 0),
        )

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: GenericResource,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> GenericResource:
        properties = cloudformation_json.get("Properties") or {}
        replaced = bool(
            schemas.replacing_paths(
                region_name, cls.type_name, original_resource.properties, properties
            )
        )
        return cls(
            logical_id=original_resource.logical_resource_id,
            stack_id=original_resource.stack_id,
            stack_name=original_resource.stack_name,
            properties=properties,
            region=region_name,
            account=account_id,
            generation=original_resource.generation + (1 if replaced else 0),
        )

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        return None

    def delete(self, account_id: str, region_name: str) -> None:
        return None

    def is_created(self) -> bool:
        return True


@functools.cache
def model_for(type_name: str) -> type[GenericResource]:
    """The generic model class of one resource type (one class per type, so moto's
    bookkeeping by class keeps working)."""
    name = "Generic" + type_name.replace("::", "")
    return type(name, (GenericResource,), {"type_name": type_name})
