"""Route 53 health checks that look at the fake AWS, for GetHealthCheckStatus.

moto answers every GetHealthCheckStatus with one fixed "Success: HTTP Status Code: 200"
observation, whatever the check targets, so the lever (drain switches read by inverted
string-match checks, endpoint checks of GET /health) cannot be observed. The shim evaluates
a check the way Route 53's checkers would, against the state of the fake:

- HTTP(S) and HTTP(S)_STR_MATCH checks of an API Gateway execute-api host
  (`<api>.execute-api.<region>.amazonaws.com`, the dns stack's targets): the path's first
  segment is the stage, the rest is matched against the API's resources (`{name}` segments
  capture), and the method's integration is run on moto's backends: a MOCK answers 200; an AWS
  integration with Kinesis `DescribeStreamSummary` or `ListShards` (a static JSON request
  template) asks the stream; one with an S3 `path/bucket/key` (path parameters mapped from the method's) gets the
  object. The integration responses then pick the method's status by SelectionPattern, as
  API Gateway does. A missing API or stage answers 403, a missing route 403 ("Missing
  Authentication Token"); any other host is unreachable. Healthy means a 2xx or 3xx status,
  and for a string match the search string within the first 5,120 bytes of the body.
- CLOUDWATCH_METRIC: like Route 53, the alarm's *data stream*, not its state ("Route 53
  monitors the data stream for the corresponding alarm instead of monitoring the alarm state
  ... you can't force the status of a health check to change by using the CloudWatch
  SetAlarmState API operation", Route 53 DG): the alarm's single metric is read from moto's
  CloudWatch backend over its last `EvaluationPeriods` periods (ending now), each period's
  statistic compared with the threshold; ALARM when every period with data breaches, OK
  otherwise, and no data in any period is INSUFFICIENT_DATA, which reads as
  InsufficientDataHealthStatus says (Route 53's default, LastKnownStatus, as healthy).
- Inverted checks report the opposite; disabled checks are healthy.
- CALCULATED: refused, as Route 53 refuses GetHealthCheckStatus for them.
- RECOVERY_CONTROL: neither moto nor the shim models routing controls; reported healthy, and
  the status text says so.

Each check gets one observation per checker region (its Regions, or Route 53's default eight).
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

from moto.apigateway.models import apigateway_backends
from moto.cloudwatch.models import cloudwatch_backends
from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.kinesis.models import kinesis_backends
from moto.route53.exceptions import InvalidInput
from moto.route53.responses import Route53
from moto.s3.models import s3_backends

from . import values

CHECKER_REGIONS = [
    "us-east-1",
    "us-west-1",
    "us-west-2",
    "eu-west-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-northeast-1",
    "sa-east-1",
]
REASONS = {
    200: "OK",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    500: "Internal Server Error",
}
EXECUTE_API = re.compile(r"([a-z0-9]+)\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?")


def _match_resource(api: Any, path: str) -> tuple[Any, dict[str, str]] | None:
    wanted = [p for p in path.strip("/").split("/") if p]
    for resource in api.resources.values():
        parts = [p for p in resource.get_path().strip("/").split("/") if p]
        if len(parts) != len(wanted):
            continue
        captured = {}
        for pattern, segment in zip(parts, wanted, strict=True):
            if pattern.startswith("{") and pattern.endswith("}"):
                captured[pattern[1:-1].rstrip("+")] = segment
            elif pattern != segment:
                break
        else:
            return resource, captured
    return None


def _integrate(
    account: str, integration: Any, path_parameters: dict[str, str]
) -> tuple[int, bytes]:
    """The backend's answer to the integration request: (HTTP status, body)."""
    if integration.integration_type == "MOCK":
        return 200, b""
    if integration.integration_type != "AWS" or not integration.uri:
        return 500, b"the shim evaluates MOCK and AWS (Kinesis, S3) integrations only"
    match = re.fullmatch(
        r"arn:[a-z-]+:apigateway:([a-z0-9-]+):([a-z0-9.-]+):(path|action)/(.+)", integration.uri
    )
    if not match:
        return 500, b"unsupported integration uri"
    region, service, kind, target = match.groups()
    if service == "kinesis" and kind == "action" and target in ("DescribeStreamSummary", "ListShards"):
        template = (integration.request_templates or {}).get("application/json") or "{}"
        if "$" in template:
            return 500, b"the shim renders static request templates only"
        stream = json.loads(template).get("StreamName")
        backend = kinesis_backends[account][region]
        try:
            found = backend.describe_stream_summary(stream_arn=None, stream_name=stream)
        except Exception as error:  # noqa: BLE001 - the service's error is the answer
            return 400, json.dumps({"__type": type(error).__name__, "message": str(error)}).encode()
        if target == "ListShards":
            shards = [{"ShardId": shard_id} for shard_id in sorted(found.shards)][:1]
            return 200, json.dumps({"Shards": shards}).encode()
        return 200, json.dumps(
            {"StreamDescriptionSummary": {"StreamName": found.stream_name}}
        ).encode()
    if service == "s3" and kind == "path":
        for name, source in (integration.request_parameters or {}).items():
            if name.startswith("integration.request.path.") and source.startswith(
                "method.request.path."
            ):
                value = path_parameters.get(source.removeprefix("method.request.path."), "")
                target = target.replace(
                    "{" + name.removeprefix("integration.request.path.") + "}", value
                )
        bucket_name, _, key = target.partition("/")
        backend = s3_backends[account][values.partition(region)]
        bucket = backend.buckets.get(bucket_name)
        if bucket is None:
            return 404, b"<Error><Code>NoSuchBucket</Code></Error>"
        stored = bucket.keys.get(key)
        if stored is None:
            return 404, b"<Error><Code>NoSuchKey</Code></Error>"
        return 200, stored.value
    return 500, f"the shim does not evaluate {service} {kind}/{target}".encode()


def _method_response(integration: Any, status: int, body: bytes) -> tuple[int, bytes]:
    """API Gateway's choice of integration response: the SelectionPattern that matches the
    backend's status, else the default one (no pattern)."""
    responses = integration.integration_responses or {}
    chosen = None
    for response in responses.values():
        if response.selection_pattern and re.fullmatch(response.selection_pattern, str(status)):
            chosen = response
            break
    if chosen is None:
        chosen = next((r for r in responses.values() if not r.selection_pattern), None)
    if chosen is None:
        return (status, body) if integration.integration_type != "MOCK" else (200, body)
    template = (chosen.response_templates or {}).get("application/json")
    return int(chosen.status_code), (template.encode() if template else body)


def api_request(account: str, host: str, path: str) -> tuple[int, bytes] | None:
    """GET https://host/path on the fake's API Gateway; None when the host is not one."""
    match = EXECUTE_API.fullmatch(host.lower())
    if not match:
        return None
    api_id, region = match.groups()
    api = apigateway_backends[account][region].apis.get(api_id)
    if api is None:
        return 403, b'{"message":"Forbidden"}'
    # API Gateway routes on the path; the query string (our checks' health token) is not part
    # of it.
    path = path.partition("?")[0]
    stage, _, rest = path.lstrip("/").partition("/")
    if stage not in api.stages:
        return 403, b'{"message":"Forbidden"}'
    found = _match_resource(api, "/" + rest)
    if found is None or "GET" not in found[0].resource_methods:
        return 403, b'{"message":"Missing Authentication Token"}'
    resource, parameters = found
    integration = resource.resource_methods["GET"].method_integration
    if integration is None:
        return 500, b'{"message":"Internal server error"}'
    status, body = _integrate(account, integration, parameters)
    return _method_response(integration, status, body)


def evaluate(account: str, check: Any) -> tuple[bool, str]:
    """(healthy, status text) of one non-calculated check, as a checker sees it now."""
    if check.disabled:
        return True, "Success: the health check is disabled"
    kind = check.type_
    if kind == "CLOUDWATCH_METRIC":
        alarm = getattr(check, "alarm_identifier", None) or {}
        state = alarm_data_state(account, alarm.get("Region", "us-east-1"), alarm.get("Name"))
        if state == "INSUFFICIENT_DATA":
            policy = getattr(check, "insufficient_data_health_status", None) or "LastKnownStatus"
            healthy = policy != "Unhealthy"
        else:
            healthy = state == "OK"
        detail = f"the data of CloudWatch alarm {alarm.get('Name')} reads {state}"
    elif kind == "RECOVERY_CONTROL":
        return True, "Success: routing controls are not modelled by moto or the shim"
    elif kind in ("HTTP", "HTTPS", "HTTP_STR_MATCH", "HTTPS_STR_MATCH"):
        answer = api_request(
            account, check.fqdn or check.ip_address or "", check.resource_path or "/"
        )
        if answer is None:
            healthy, detail = (
                False,
                f"Connection timed out. {check.fqdn or check.ip_address} is not reachable in the fake AWS",
            )
        else:
            status, body = answer
            healthy = 200 <= status < 400
            detail = f"HTTP Status Code {status}, {REASONS.get(status, '')}".rstrip(", ")
            if (
                healthy
                and kind.endswith("STR_MATCH")
                and check.search_string not in body[:5120].decode("utf-8", "replace")
            ):
                healthy = False
                detail += f". Search string '{check.search_string}' not found in the first 5120 bytes of the body"
    else:
        healthy, detail = False, f"the shim does not evaluate {kind} health checks"
    if check.inverted:
        healthy = not healthy
        detail += " (inverted)"
    return healthy, f"{'Success' if healthy else 'Failure'}: {detail}"


COMPARISONS = {
    "GreaterThanOrEqualToThreshold": lambda value, threshold: value >= threshold,
    "GreaterThanThreshold": lambda value, threshold: value > threshold,
    "LessThanThreshold": lambda value, threshold: value < threshold,
    "LessThanOrEqualToThreshold": lambda value, threshold: value <= threshold,
}
STATISTICS = {
    "Maximum": max,
    "Minimum": min,
    "Sum": sum,
    "SampleCount": len,
    "Average": lambda values: sum(values) / len(values),
}


def alarm_data_state(account: str, region: str, name: str | None) -> str:
    """The state the data of alarm `name` shows now: OK, ALARM or INSUFFICIENT_DATA (also
    when there is no such alarm, or it is not a single-metric alarm Route 53 can read)."""
    backend = cloudwatch_backends[account][region]
    alarm = backend.alarms.get(name)
    if (
        alarm is None
        or not alarm.metric_name
        or alarm.statistic not in STATISTICS
        or alarm.comparison_operator not in COMPARISONS
    ):
        return "INSUFFICIENT_DATA"
    wanted = {(d.name, d.value) for d in alarm.dimensions}
    points = [
        (md.timestamp.replace(tzinfo=None), md.value)
        for md in backend.metric_data
        if md.namespace == alarm.namespace
        and md.name == alarm.metric_name
        and {(d.name, d.value) for d in md.dimensions} == wanted
    ]
    end = utcnow().replace(tzinfo=None)
    period = timedelta(seconds=int(alarm.period))
    verdicts = []
    for index in range(int(alarm.evaluation_periods)):
        stop = end - index * period
        values = [value for at, value in points if stop - period <= at < stop + timedelta(seconds=1)]
        if values:
            statistic = STATISTICS[alarm.statistic](values)
            verdicts.append(COMPARISONS[alarm.comparison_operator](statistic, float(alarm.threshold)))
    if not verdicts:
        return "INSUFFICIENT_DATA"
    return "ALARM" if all(verdicts) else "OK"


def get_health_check_status(self: Route53) -> ActionResult:
    check = self.backend.get_health_check(self._get_param("HealthCheckId"))
    if check.type_ == "CALCULATED":
        raise InvalidInput(
            "You can't use GetHealthCheckStatus to get the status of a calculated health check"
        )
    _, status = evaluate(self.current_account, check)
    checked = utcnow()
    observations = [
        {
            "Region": region,
            "IPAddress": f"15.177.{index}.{10 + index}",
            "StatusReport": {"Status": status, "CheckedTime": checked},
        }
        for index, region in enumerate(check.regions or CHECKER_REGIONS)
    ]
    return ActionResult({"HealthCheckObservations": observations})


def _keep_alarm_settings(handler: Any) -> Any:
    """moto's CreateHealthCheck/UpdateHealthCheck drop AlarmIdentifier,
    InsufficientDataHealthStatus and RoutingControlArn; keep them on the check."""

    def wrapped(self: Route53) -> ActionResult:
        result = handler(self)
        config = self._get_param("HealthCheckConfig") or {
            key: self._get_param(key)
            for key in ("AlarmIdentifier", "InsufficientDataHealthStatus")
            if self._get_param(key) is not None
        }
        check = self.backend.get_health_check(
            self._get_param("HealthCheckId") or result.result["HealthCheck"].id  # type: ignore[attr-defined]
        )
        for key, attribute in (
            ("AlarmIdentifier", "alarm_identifier"),
            ("InsufficientDataHealthStatus", "insufficient_data_health_status"),
            ("RoutingControlArn", "routing_control_arn"),
        ):
            if key in config:
                setattr(check, attribute, config[key])
        return result

    return wrapped


def install() -> None:
    Route53.get_health_check_status = get_health_check_status  # type: ignore[method-assign]
    Route53.create_health_check = _keep_alarm_settings(Route53.create_health_check)  # type: ignore[method-assign]
    Route53.update_health_check = _keep_alarm_settings(Route53.update_health_check)  # type: ignore[method-assign]
