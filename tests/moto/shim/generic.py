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

# What `Ref` answers where the type's primary identifier is not a top-level property or not
# what CloudFormation documents for `Ref`.
REF_PROPERTY = {
    "AWS::Glue::Database": ("DatabaseName", ("DatabaseInput", "Name")),
    "AWS::Glue::Table": (("TableInput", "Name"),),
    "AWS::ApiGateway::BasePathMapping": ("BasePath",),
    "AWS::ApiGateway::Stage": ("StageName",),
    "AWS::Logs::LogStream": ("LogStreamName",),
}


def _lookup(properties: dict[str, Any], path: Any) -> Any:
    node: Any = properties
    for part in (path,) if isinstance(path, str) else path:
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
        self._physical_id = self._identifier()
        self.attributes = {
            attribute: values.attribute_value(
                self.type_name,
                attribute,
                schemas.attribute_schema(region, self.type_name, attribute),
                physical_id=self._physical_id,
                properties=properties,
                region=region,
                account=account,
                seed=self.seed,
            )
            for attribute in schemas.getatt_pointers(region, self.type_name)
        }
        # A read-only identifier is one of the attributes: Ref and GetAtt must agree.
        identifier = self._identifier_property()
        if identifier and identifier in self.attributes:
            self._physical_id = str(self.attributes[identifier])

    def _identifier_property(self) -> str | None:
        ids = schemas.primary_identifier(self.region, self.type_name)
        return ids[-1] if ids else None

    def _identifier(self) -> str:
        for path in REF_PROPERTY.get(self.type_name, ()):
            found = _lookup(self.properties, path)
            if found not in (None, ""):
                return str(found)
        prop = self._identifier_property()
        if prop and self.type_name not in REF_PROPERTY:
            if prop in self.properties and self.properties[prop] not in (None, ""):
                return str(self.properties[prop])
            if prop in schemas.read_only_properties(self.region, self.type_name):
                return values.uuid_from(self.seed) if prop.endswith("Id") else values.token(self.seed, 20)
        return values.generated_name(self.stack_name, self.logical_resource_id, self.seed, 64)

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
        return any(
            schemas.has_attribute(region, cls.type_name, attr)
            for region in ("us-east-1",)
        )

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
    ) -> "GenericResource":
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
        original_resource: "GenericResource",
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> "GenericResource":
        properties = cloudformation_json.get("Properties") or {}
        replaced = bool(
            schemas.replacing_paths(region_name, cls.type_name, original_resource.properties, properties)
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


@functools.lru_cache(maxsize=None)
def model_for(type_name: str) -> type[GenericResource]:
    """The generic model class of one resource type (one class per type, so moto's
    bookkeeping by class keeps working)."""
    name = "Generic" + type_name.replace("::", "")
    return type(name, (GenericResource,), {"type_name": type_name})
