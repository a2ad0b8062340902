"""The shim's control endpoints: a hosted zone with a chosen id (test setup), and the
properties of a resource the generic model keeps (test assertions).

A dns stack names the hosted zone it writes into by id (the spec's `domain.hosted_zone_id`),
as a real account's zone exists before the stack. Route 53's CreateHostedZone picks a random
id, so tests could never create that zone through the API. This endpoint creates it:

    POST /moto-api/ingest/hosted-zones   {"Id": "Z04ABCDEF1234567890", "Name": "example.org"}
    -> 200 {"Id": "/hostedzone/Z04ABCDEF1234567890", "Name": "example.org."}

It is a public zone with the usual NS and SOA records, made by the Route 53 backend itself
(moto's custom-id mechanism), so every Route 53 API sees it as any other zone. An id already
taken answers 409. `POST /moto-api/reset` removes it like everything else.

The generic model (shim/generic.py) creates nothing in a service backend, so no AWS API reads
such a resource back (a WAFv2 web ACL made by a stack is not in moto's WAFv2 backend). Its
properties, as CloudFormation resolved them (parameters substituted, `NoEcho` ones included),
are what a test can check instead:

    GET /moto-api/ingest/resources?region=us-east-1&stack=NAME&logical-id=ApiWebAcl
    -> 200 {"Type": "AWS::WAFv2::WebACL", "PhysicalResourceId": "...", "Properties": {...}}

404 when the stack or the resource is not there, or the resource is not a generic one (moto's
own models are read through their APIs).
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, urlparse

from moto.core import DEFAULT_ACCOUNT_ID
from moto.moto_api._internal import urls as moto_api_urls
from moto.route53.models import HostedZoneIdentifier, route53_backends
from moto.utilities.id_generator import moto_id_manager

PATH = "{0}/moto-api/ingest/hosted-zones"
RESOURCES_PATH = "{0}/moto-api/ingest/resources"


def create_hosted_zone(
    request: Any, full_url: str, headers: Any
) -> tuple[int, dict[str, str], str]:
    if request.method != "POST":
        return 405, {}, json.dumps({"Error": 'POST {"Id": ..., "Name": ...}'})
    length = int(headers.get("Content-Length") or 0)
    raw = (
        request.environ["wsgi.input"].read(length) if hasattr(request, "environ") else request.body
    )
    try:
        body = json.loads(raw or b"{}")
        zone_id, name = str(body["Id"]), str(body["Name"])
    except (ValueError, KeyError):
        return 400, {}, json.dumps({"Error": "expected a JSON object with Id and Name"})
    if not re.fullmatch(r"Z[A-Z0-9]{1,31}", zone_id):
        return 400, {}, json.dumps({"Error": f"not a hosted zone id: {zone_id}"})
    account = str(body.get("Account") or DEFAULT_ACCOUNT_ID)
    backend = route53_backends[account]["aws"]
    if zone_id in backend.zones:
        return 409, {}, json.dumps({"Error": f"hosted zone {zone_id} already exists"})
    zone_name = name if name.endswith(".") else name + "."
    identifier = HostedZoneIdentifier(account, zone_name, None)
    moto_id_manager.set_custom_id(identifier, zone_id)
    try:
        zone = backend.create_hosted_zone(zone_name, private_zone=False, comment="ingest test zone")
    finally:
        moto_id_manager.unset_custom_id(identifier)
    return 200, {"Content-Type": "application/json"}, json.dumps({"Id": zone.id, "Name": zone.name})


def generic_resource(
    request: Any, full_url: str, headers: Any
) -> tuple[int, dict[str, str], str]:
    from moto.cloudformation import models as cfn_models

    from .generic import GenericResource

    if request.method != "GET":
        return 405, {}, json.dumps({"Error": "GET ?region=...&stack=...&logical-id=..."})
    query = {key: values[0] for key, values in parse_qs(urlparse(full_url).query).items()}
    try:
        region, stack_name, logical_id = query["region"], query["stack"], query["logical-id"]
    except KeyError:
        return 400, {}, json.dumps({"Error": "expected region, stack and logical-id"})
    account = query.get("account") or DEFAULT_ACCOUNT_ID
    backend = cfn_models.cloudformation_backends[account][region]
    stack = next((s for s in backend.stacks.values() if s.name == stack_name), None)
    if stack is None:
        return 404, {}, json.dumps({"Error": f"no stack {stack_name} in {region}"})
    resource = stack.resource_map._parsed_resources.get(logical_id)
    if not isinstance(resource, GenericResource):
        return 404, {}, json.dumps({"Error": f"{stack_name} has no generic resource {logical_id}"})
    body = {
        "Type": resource.type_name,
        "PhysicalResourceId": resource.physical_resource_id,
        "Properties": resource.properties,
    }
    return 200, {"Content-Type": "application/json"}, json.dumps(body, default=str)


def install() -> None:
    moto_api_urls.url_paths[PATH] = create_hosted_zone


def install_resources() -> None:
    moto_api_urls.url_paths[RESOURCES_PATH] = generic_resource
