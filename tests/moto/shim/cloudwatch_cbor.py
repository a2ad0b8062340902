"""CloudWatch over Smithy RPC v2 CBOR, which moto does not serve.

aws-sdk-cloudwatch (the Rust SDK ingest links) speaks CloudWatch's newest protocol,
Smithy RPC v2 CBOR (https://smithy.io/2.0/additional-specs/protocols/smithy-rpc-v2.html):

    POST /service/GraniteServiceVersion20100801/operation/<Operation>
    smithy-protocol: rpc-v2-cbor
    Content-Type: application/cbor            (absent when the input is empty)
    <the input structure as a CBOR map; timestamps as tag 1 epoch seconds>

moto 5.2.5 serves CloudWatch's query and JSON protocols only and answers that path 404, so
neither the lever publisher's metrics (PutMetricData, GetMetricStatistics) nor `ingest
status`'s reads (GetMetricData, DescribeAlarms) ever reached it.

The route here translates instead of reimplementing: the CBOR input is decoded, re-sent to
moto's own CloudWatch handler as the equivalent awsJson 1.0 request (X-Amz-Target
GraniteServiceVersion20100801.<Operation>), and moto's JSON answer is read against the
operation's output shape and written back as CBOR, with the protocol's response headers
(`smithy-protocol: rpc-v2-cbor`, `Content-Type: application/cbor`). Errors keep moto's status
and become the protocol's error body, a CBOR map with `__type` (the shape id,
`com.amazonaws.cloudwatch#<Code>`) and `message`; CloudWatch is awsQueryCompatible, so moto's
`x-amzn-query-error` header (the query protocol's code and fault) is passed through, as the
SDKs read the code from it. Every operation moto's CloudWatch implements is served; the others
answer moto's own error. A request without `smithy-protocol: rpc-v2-cbor` is refused (400), as
the protocol requires the header. A gzip body (PutMetricData's request compression, which
SDKs apply above a size) is decompressed first.

The CBOR codec is botocore's own (the client side of this protocol: its parser decodes CBOR,
its serializer encodes a value against a shape), pinned with moto in requirements/moto.txt, so
the shim adds no dependency. Which operations ingest calls and what the tests check is in
tests/moto/README.md.
"""

from __future__ import annotations

import gzip
import json
from datetime import datetime
from typing import Any

import botocore.session
from botocore.model import OperationNotFoundError, ServiceModel
from botocore.parsers import JSONParser, RpcV2CBORParser
from botocore.serialize import RpcV2CBORSerializer
from moto.cloudwatch import urls as cloudwatch_urls
from moto.cloudwatch.responses import CloudWatchResponse
from moto.core.request import Request

SERVICE = "GraniteServiceVersion20100801"
PATH = "{0}/service/" + SERVICE + "/operation/(?P<operation>[A-Za-z0-9]+)$"
ERROR_NAMESPACE = "com.amazonaws.cloudwatch"
CBOR = "application/cbor"
JSON_1_0 = "application/x-amz-json-1.0"

_service_model: ServiceModel | None = None


def service_model() -> ServiceModel:
    """CloudWatch's model as botocore (pinned with moto) ships it."""
    global _service_model
    if _service_model is None:
        _service_model = botocore.session.get_session().get_service_model("cloudwatch")
    return _service_model


def decode(body: bytes) -> Any:
    """A CBOR data item as Python values (tag 1 becomes an aware datetime)."""
    if not body:
        return {}
    parser = RpcV2CBORParser()
    return parser.parse_data_item(parser.get_peekable_stream_from_bytes(body))


def encode(value: Any, shape: Any) -> bytes:
    """`value` as CBOR, written against its botocore shape (timestamps as tag 1)."""
    out = bytearray()
    RpcV2CBORSerializer()._serialize_data_item(out, value, shape)
    return bytes(out)


class _ErrorBody:
    """The error body's two members, for the shape-driven encoder."""

    class _String:
        type_name = "string"
        serialization: dict[str, str] = {}

    type_name = "structure"
    members = {"__type": _String(), "message": _String()}


def _json_default(value: Any) -> Any:
    # awsJson carries timestamps as epoch seconds.
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, (bytes, bytearray)):
        raise TypeError("blob members are not used by CloudWatch's operations")
    raise TypeError(f"cannot carry {type(value).__name__} in JSON")


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None):
    body = encode({"__type": f"{ERROR_NAMESPACE}#{code}", "message": message}, _ErrorBody)
    response_headers = {"smithy-protocol": "rpc-v2-cbor", "Content-Type": CBOR}
    response_headers.update(headers or {})
    return status, response_headers, body


def serve_cbor(request: Any, full_url: str, headers: Any) -> tuple[int, dict[str, str], bytes]:
    # moto hands over a plain dict of the headers; the request's own are case-insensitive.
    headers = request.headers
    operation_name = full_url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    if request.method != "POST":
        return _error(405, "UnknownOperationException", "rpc-v2-cbor operations are POST")
    if (headers.get("smithy-protocol") or "").strip() != "rpc-v2-cbor":
        return _error(
            400, "MissingSmithyProtocol", "the smithy-protocol header must be rpc-v2-cbor"
        )
    model = service_model()
    try:
        operation = model.operation_model(operation_name)
    except OperationNotFoundError:
        return _error(404, "UnknownOperationException", f"no operation {operation_name}")
    body = request.data
    if (headers.get("Content-Encoding") or "").strip().lower() == "gzip":
        # PutMetricData has Smithy's requestCompression: SDKs gzip bodies over a size.
        body = gzip.decompress(body)
    try:
        params = decode(body)
    except Exception as failure:  # botocore's parser raises its response errors
        return _error(400, "SerializationException", f"the body is not CBOR: {failure}")
    if not isinstance(params, dict):
        return _error(400, "SerializationException", "the body must be a CBOR map")

    forwarded = {
        key: value
        for key, value in headers.items()
        if key.lower()
        not in ("content-type", "content-length", "content-encoding", "smithy-protocol", "accept")
    }
    forwarded["Content-Type"] = JSON_1_0
    forwarded["X-Amz-Target"] = f"{SERVICE}.{operation_name}"
    json_request = Request.from_primitives(
        "POST",
        full_url.split("/service/", 1)[0] + "/",
        forwarded,
        json.dumps(params, default=_json_default).encode(),
    )
    status, moto_headers, moto_body = CloudWatchResponse.dispatch(
        json_request, json_request.url, json_request.headers
    )
    raw = moto_body.encode() if isinstance(moto_body, str) else (moto_body or b"")
    moto_headers = dict(moto_headers or {})
    status = int(moto_headers.pop("status", status))
    if status >= 300:
        document = json.loads(raw or b"{}")
        code = str(document.get("__type", "InternalFailure")).rsplit("#", 1)[-1]
        message = str(document.get("message", document.get("Message", "")))
        passed = {k: v for k, v in moto_headers.items() if k.lower() == "x-amzn-query-error"}
        return _error(status, code, message, passed)

    response_headers = {"smithy-protocol": "rpc-v2-cbor", "Content-Type": CBOR}
    if operation.output_shape is None:
        # A Unit output: the protocol's empty structure.
        return status, response_headers, encode({}, _ErrorBody)
    parsed = JSONParser().parse(
        {"status_code": status, "headers": moto_headers, "body": raw}, operation.output_shape
    )
    parsed.pop("ResponseMetadata", None)
    return status, response_headers, encode(parsed, operation.output_shape)


def install() -> None:
    cloudwatch_urls.url_paths[PATH] = serve_cbor
