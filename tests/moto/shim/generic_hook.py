"""Routes resource types moto does not model to the generic model, and fills attributes
moto's own models do not answer.

- `parsing.resource_class_from_type` answers `generic.model_for(type)` where moto has no
  model (moto answered None, and its callers skipped the resource or crashed). Whether the
  type exists at all was checked at CreateChangeSet against the region's schemas.
- A moto model that does not implement an attribute its schema has (moto logs a warning and
  leaves `{"Fn::GetAtt": [...]}` in the template, or raises) answers a generic value for it,
  built from its physical id; an attribute the schema does not have still fails.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from moto.cloudformation import parsing
from moto.cloudformation.custom_model import CustomModel
from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

from . import generic, schemas, values

log = logging.getLogger("ingest_moto")

_moto_resource_class_from_type = parsing.resource_class_from_type


def resource_class_from_type(resource_type: str) -> Any:
    if resource_type in parsing.NULL_MODELS or resource_type.startswith("Custom::"):
        return _moto_resource_class_from_type(resource_type)
    model = parsing.get_model_map().get(resource_type)
    if model is not None:
        return model
    return generic.model_for(resource_type)


def _fill_attributes(model: type) -> None:
    original = model.__dict__.get("get_cfn_attribute")
    if original is None:
        original = getattr(model, "get_cfn_attribute", None)
    if original is None:
        return

    @functools.wraps(original)
    def get_cfn_attribute(self: Any, attribute_name: str) -> Any:
        try:
            return original(self, attribute_name)
        except (NotImplementedError, UnformattedGetAttTemplateException, KeyError, AttributeError):
            type_name = getattr(self, "cf_resource_type", None) or model.cloudformation_type()
            region = _region_of(self)
            if not schemas.has_attribute(region, type_name, attribute_name):
                raise UnformattedGetAttTemplateException() from None
            physical = str(getattr(self, "physical_resource_id", "") or "")
            log.info("moto's %s does not answer %s: generic value", type_name, attribute_name)
            return values.attribute_value(
                type_name,
                attribute_name,
                schemas.attribute_schema(region, type_name, attribute_name),
                physical_id=physical,
                properties={},
                region=region,
                account=str(getattr(self, "account_id", "123456789012")),
                seed=f"{type_name}/{physical}",
            )

    model.get_cfn_attribute = get_cfn_attribute  # type: ignore[attr-defined]


def _region_of(resource: Any) -> str:
    for name in ("region_name", "region", "_region_name"):
        value = getattr(resource, name, None)
        if isinstance(value, str) and value:
            return value
    return "us-east-1"


def install() -> None:
    parsing.resource_class_from_type = resource_class_from_type
    for model in set(parsing.get_model_map().values()):
        if model is CustomModel:
            continue
        _fill_attributes(model)
