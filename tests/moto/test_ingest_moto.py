"""The shimmed moto server (tests/moto/ingest_moto.py) deploys ingest's generated stacks.

Run from the repository root with the moto venv (scripts/test does):

    .tools/venv-moto/bin/python -m pytest -p no:cacheprovider tests/moto

The server is started once, as a process, exactly as scripts/test starts it for `cargo test`,
on a free loopback port, and every test talks to it through boto3 (the real SDK, endpoint
override) after wiping it (`POST /moto-api/reset`). For every spec in specs/ whose stacks are
in generated/<name>/stacks/, `test_spec_lifecycle` does what `ingest deploy` and the lever
will do, through change sets only:

1. CREATE the primary and the secondary stack in their regions (code bucket and key as
   parameters; templates over 51,200 bytes staged in S3 and passed as TemplateURL), then the
   dns stack in the secondary region, fed the regional stacks' outputs; each reaches
   CREATE_COMPLETE with every output present and well-shaped, every resource listed and
   reported by its own events, and the resources moto models working for real (buckets,
   switch bucket settings, queues and the DLQ redrive, streams, functions from the S3 zip,
   roles, API stages and methods, alarms, Route 53 records and health checks);
2. a parameter-only update (the primary's Route 53 weight) whose change set names exactly the
   two records it modifies, after which the other region's weighted records are still there;
3. an unchanged submission: a FAILED change set with CloudFormation's "didn't contain
   changes" reason, which cannot be executed;
4. a template update (a queue added, an alarm changed, the dashboard removed) and the
   resources following it;
5. a template that refers to a missing resource: refused at CreateChangeSet with
   CloudFormation's message, the stack untouched; and one whose new resource lacks a
   required property: the update fails and rolls back;
6. DeleteStack of the three stacks: retained resources stay, the others go.

The other tests cover the synchronous template checks and a failed CREATE's rollback.
"""

from __future__ import annotations

import copy
import io
import json
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from botocore.config import Config
from botocore.exceptions import ClientError

ROOT = Path(__file__).resolve().parents[2]
LAUNCHER = ROOT / "tests" / "moto" / "ingest_moto.py"
ACCOUNT = "123456789012"
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"]
TEMPLATE_BODY_LIMIT = 51_200
CODE_KEY = "lambda/bootstrap.zip"
NO_CHANGES = (
    "The submitted information didn't contain changes. "
    "Submit different information to create a change set."
)

sys.path.insert(0, str(ROOT / "tests" / "moto"))
from shim.templates import parse_template  # noqa: E402  (the shim's reader of short-form YAML)


# --- the server ------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    endpoint: str
    log: Path
    process: subprocess.Popen[bytes]
    startup_seconds: float


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    port = _free_port()
    log = tmp_path_factory.mktemp("moto") / "ingest_moto.log"
    started = time.monotonic()
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, str(LAUNCHER), "-H", "127.0.0.1", "-p", str(port)],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        while True:
            if process.poll() is not None:
                pytest.fail(
                    f"the shim exited ({process.returncode}) before answering:\n{log.read_text()}"
                )
            try:
                urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=2).read()
                break
            except OSError:
                if time.monotonic() - started > 60:
                    pytest.fail(
                        f"the shim did not answer at {endpoint} within 60 s:\n{log.read_text()}"
                    )
                time.sleep(0.05)
        yield Server(endpoint, log, process, time.monotonic() - started)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Aws:
    """boto3 clients on the shimmed server, as the tool's SDK clients will be."""

    def __init__(self, endpoint: str):
        self.endpoint = endpoint
        self._session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing")
        self._clients: dict[tuple[str, str], Any] = {}

    def __call__(self, service: str, region: str) -> Any:
        key = (service, region)
        if key not in self._clients:
            self._clients[key] = self._session.client(
                service,
                region_name=region,
                endpoint_url=self.endpoint,
                config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}),
            )
        return self._clients[key]

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(f"{self.endpoint}{path}", timeout=10) as response:
            return json.loads(response.read())

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        request = urllib.request.Request(
            f"{self.endpoint}{path}",
            data=json.dumps(body or {}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            text = response.read()
        return json.loads(text) if text else None


@pytest.fixture
def aws(server: Server) -> Aws:
    client = Aws(server.endpoint)
    client.post("/moto-api/reset")
    return client


# --- specs and their stacks ------------------------------------------------------------------


@dataclass
class Spec:
    name: str
    primary: str
    secondary: str
    stacks: Path

    def template(self, role: str) -> str:
        return (self.stacks / f"{role}.yaml").read_text()

    def region(self, role: str) -> str:
        return self.secondary if role in ("secondary", "dns") else self.primary

    def stack(self, role: str) -> str:
        return f"{self.name}-{role}"


def _specs() -> list[Spec]:
    found = []
    for path in sorted((ROOT / "specs").glob("*.yaml")):
        spec = yaml.safe_load(path.read_text())
        stacks = ROOT / "generated" / spec["name"] / "stacks"
        if stacks.is_dir():
            found.append(
                Spec(
                    spec["name"],
                    spec["regions"]["primary"]["region"],
                    spec["regions"]["secondary"]["region"],
                    stacks,
                )
            )
    generated = {p.parent.name for p in (ROOT / "generated").glob("*/stacks")}
    missing = generated - {s.name for s in found}
    assert not missing, (
        f"generated/{sorted(missing)} have no spec in specs/: cannot tell their regions"
    )
    assert found, "no generated stacks found under generated/*/stacks"
    return found


SPECS = _specs()


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("bootstrap", "#!/bin/sh\nexit 0\n")
    return buffer.getvalue()


# Route 53's health-checker ranges of the endpoint checks' regions, as `ingest deploy` takes them
# from ip-ranges.json (a fixed list here: the fake has no network).
CHECKER_CIDRS = "15.177.0.0/18,15.177.64.0/23,15.177.66.0/23"
# The health token `ingest deploy` reads from its secret (a fixed one here).
HEALTH_TOKEN = "Ab0" * 14 + "x"


def regional_parameters(spec: Spec, role: str, template: dict[str, Any]) -> dict[str, str]:
    """What `ingest deploy` gives a regional stack: the Lambda zip's location and, with the
    web ACL, the checkers' ranges."""
    parameters = {"CodeBucket": _code_bucket(spec, spec.region(role)), "CodeKey": CODE_KEY}
    if "Route53CheckerCidrs" in (template.get("Parameters") or {}):
        parameters["Route53CheckerCidrs"] = CHECKER_CIDRS
    if "HealthToken" in (template.get("Parameters") or {}):
        parameters["HealthToken"] = HEALTH_TOKEN
    if "HealthTokenPrevious" in (template.get("Parameters") or {}):
        parameters["HealthTokenPrevious"] = HEALTH_TOKEN
    return parameters


def _code_bucket(spec: Spec, region: str) -> str:
    return f"{spec.name}-code-{ACCOUNT}-{region}"


def _make_bucket(s3: Any, name: str, region: str) -> None:
    if region == "us-east-1":
        s3.create_bucket(Bucket=name)
    else:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})


def _prepare(aws: Aws, spec: Spec) -> None:
    """What exists before a deploy: the code (and staging) bucket with the zip in both
    regions, and the spec's hosted zone with its id."""
    for region in {spec.primary, spec.secondary}:
        s3 = aws("s3", region)
        _make_bucket(s3, _code_bucket(spec, region), region)
        s3.put_object(Bucket=_code_bucket(spec, region), Key=CODE_KEY, Body=_zip())
    dns = parse_template(spec.template("dns"))
    zones = {
        (str(r["Properties"]["HostedZoneId"]), str(r["Properties"]["Name"]).rstrip("."))
        for r in dns["Resources"].values()
        if r["Type"] == "AWS::Route53::RecordSet"
    }
    for zone_id, record in zones:
        aws.post("/moto-api/ingest/hosted-zones", {"Id": zone_id, "Name": record.split(".", 1)[1]})


def _source(aws: Aws, spec: Spec, region: str, stack: str, body: str) -> dict[str, str]:
    """TemplateBody, or for a template over CloudFormation's inline limit a TemplateURL to a
    copy in the region's staging bucket (as `ingest deploy` stages it)."""
    if len(body.encode()) <= TEMPLATE_BODY_LIMIT:
        return {"TemplateBody": body}
    bucket = _code_bucket(spec, region)
    key = f"templates/{stack}-{abs(hash(body))}.json"
    aws("s3", region).put_object(Bucket=bucket, Key=key, Body=body.encode())
    return {"TemplateURL": f"https://{bucket}.s3.{region}.amazonaws.com/{key}"}


def change_set(
    aws: Aws,
    spec: Spec,
    role: str,
    name: str,
    *,
    body: str | None = None,
    parameters: dict[str, str] | None = None,
    previous: list[str] = (),  # type: ignore[assignment]
    kind: str = "UPDATE",
    execute: bool = True,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Creates (and, when it has changes and `execute`, executes) a change set; returns it as
    DescribeChangeSet answers and the stack as DescribeStacks answers after."""
    region, stack = spec.region(role), spec.stack(role)
    cf = aws("cloudformation", region)
    source = (
        {"UsePreviousTemplate": True} if body is None else _source(aws, spec, region, stack, body)
    )
    cf.create_change_set(
        StackName=stack,
        ChangeSetName=name,
        ChangeSetType=kind,
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in (parameters or {}).items()]
        + [{"ParameterKey": k, "UsePreviousValue": True} for k in previous],
        Capabilities=CAPABILITIES,
        **source,
    )
    described = cf.describe_change_set(StackName=stack, ChangeSetName=name)
    if execute and described["Status"] == "CREATE_COMPLETE":
        cf.execute_change_set(StackName=stack, ChangeSetName=name)
    return described, cf.describe_stacks(StackName=stack)["Stacks"][0]


def outputs(stack: dict[str, Any]) -> dict[str, str]:
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs") or []}


def events(aws: Aws, spec: Spec, role: str) -> list[dict[str, Any]]:
    """The stack's events, oldest first."""
    found = aws("cloudformation", spec.region(role)).describe_stack_events(
        StackName=spec.stack(role)
    )["StackEvents"]
    return list(reversed(found))


def failure_reasons(aws: Aws, spec: Spec, role: str) -> str:
    return "\n".join(
        f"{e['LogicalResourceId']} {e['ResourceStatus']}: {e.get('ResourceStatusReason')}"
        for e in events(aws, spec, role)
        if "FAILED" in e["ResourceStatus"] or "ROLLBACK" in e["ResourceStatus"]
    )


def resources_of(template: dict[str, Any], type_name: str) -> dict[str, dict[str, Any]]:
    return {n: r for n, r in template["Resources"].items() if r["Type"] == type_name}


# --- checks of a created stack ---------------------------------------------------------------


def check_created(
    aws: Aws,
    spec: Spec,
    role: str,
    template: dict[str, Any],
    stack: dict[str, Any],
    change: dict[str, Any],
) -> None:
    region = spec.region(role)
    assert stack["StackStatus"] == "CREATE_COMPLETE", failure_reasons(aws, spec, role)
    # The change set listed every resource as an addition.
    added = {
        c["ResourceChange"]["LogicalResourceId"]
        for c in change["Changes"]
        if c["ResourceChange"]["Action"] == "Add"
    }
    assert added == set(template["Resources"]), "the CREATE change set must add every resource"
    # Every resource is in the stack, complete, with a physical id, and has its own events.
    listed = aws("cloudformation", region).list_stack_resources(StackName=spec.stack(role))[
        "StackResourceSummaries"
    ]
    by_name = {r["LogicalResourceId"]: r for r in listed}
    assert set(by_name) == set(template["Resources"])
    for name, resource in by_name.items():
        assert resource["ResourceType"] == template["Resources"][name]["Type"]
        assert resource["ResourceStatus"] == "CREATE_COMPLETE"
        assert resource["PhysicalResourceId"], f"{name} has no physical id"
    history = events(aws, spec, role)
    for name in template["Resources"]:
        statuses = [e["ResourceStatus"] for e in history if e["LogicalResourceId"] == name]
        assert statuses == ["CREATE_IN_PROGRESS", "CREATE_COMPLETE"], f"{name}: {statuses}"
    assert history[-1]["ResourceStatus"] == "CREATE_COMPLETE" and history[-1][
        "LogicalResourceId"
    ] == spec.stack(role)
    # Every output, each a non-empty string of the right shape.
    values = outputs(stack)
    assert set(values) == set(template.get("Outputs") or {})
    for key, value in values.items():
        assert isinstance(value, str) and value, f"output {key} is empty"
        if key.endswith("Arn"):
            assert re.fullmatch(rf"arn:aws:[a-z0-9-]+:({region})?:({ACCOUNT})?:.+", value), (
                f"{key}={value}"
            )
        if key.endswith("Url"):
            assert value.startswith("https://"), f"{key}={value}"


def check_regional(
    aws: Aws, spec: Spec, role: str, template: dict[str, Any], stack: dict[str, Any]
) -> None:
    """The resources moto models work for real, and the generic and adapted ones are
    visible through their service APIs."""
    region = spec.region(role)
    values = outputs(stack)
    cf = aws("cloudformation", region)
    physical = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in cf.list_stack_resources(StackName=spec.stack(role))["StackResourceSummaries"]
    }
    s3, sqs = aws("s3", region), aws("sqs", region)
    for name, resource in resources_of(template, "AWS::S3::Bucket").items():
        bucket = physical[name]
        aws("s3", region).head_bucket(Bucket=bucket)
        props = resource["Properties"]
        if "VersioningConfiguration" in props:
            assert (
                s3.get_bucket_versioning(Bucket=bucket).get("Status")
                == props["VersioningConfiguration"]["Status"]
            )
        if "PublicAccessBlockConfiguration" in props:
            block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
            assert block == {k: bool(v) for k, v in props["PublicAccessBlockConfiguration"].items()}
        if "NotificationConfiguration" in props:
            queues = s3.get_bucket_notification_configuration(Bucket=bucket).get(
                "QueueConfigurations", []
            )
            assert len(queues) == len(
                props["NotificationConfiguration"].get("QueueConfigurations", [])
            )
    for name in resources_of(template, "AWS::S3::BucketPolicy"):
        bucket = physical[name]
        policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
        assert policy["Statement"], f"{name}: empty policy on {bucket}"
    queue_arns = {}
    for name in resources_of(template, "AWS::SQS::Queue"):
        attributes = sqs.get_queue_attributes(QueueUrl=physical[name], AttributeNames=["All"])[
            "Attributes"
        ]
        queue_arns[name] = attributes["QueueArn"]
        if "RedrivePolicy" in template["Resources"][name]["Properties"]:
            redrive = json.loads(attributes["RedrivePolicy"])
            assert redrive["deadLetterTargetArn"] in queue_arns.values() or redrive[
                "deadLetterTargetArn"
            ].startswith(f"arn:aws:sqs:{region}:")
            if "SpoolDlqArn" in values:
                assert redrive["deadLetterTargetArn"] == values["SpoolDlqArn"]
    for resource in resources_of(template, "AWS::SQS::QueuePolicy").values():
        for queue in resource["Properties"]["Queues"]:
            url = physical[queue["Ref"]]
            assert (
                "Policy"
                in sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]
            )
    for name in resources_of(template, "AWS::Kinesis::Stream"):
        summary = aws("kinesis", region).describe_stream_summary(StreamName=physical[name])[
            "StreamDescriptionSummary"
        ]
        assert summary["StreamStatus"] == "ACTIVE"
    lambdas = aws("lambda", region)
    for name, resource in resources_of(template, "AWS::Lambda::Function").items():
        function = lambdas.get_function(FunctionName=physical[name])
        assert function["Configuration"]["CodeSize"] == len(_zip()), f"{name} is not the S3 zip"
        wanted = resource["Properties"].get("Architectures", ["x86_64"])
        assert function["Configuration"]["Architectures"] == wanted, name
    for name in resources_of(template, "AWS::Lambda::EventSourceMapping"):
        lambdas.get_event_source_mapping(UUID=physical[name])
    for name in resources_of(template, "AWS::IAM::Role"):
        aws("iam", region).get_role(RoleName=physical[name])
    apigateway = aws("apigateway", region)
    api = values["ApiId"]
    for name, resource in resources_of(template, "AWS::ApiGateway::Stage").items():
        stage = apigateway.get_stage(restApiId=api, stageName=physical[name])
        assert stage["deploymentId"] == physical[resource["Properties"]["DeploymentId"]["Ref"]]
    for resource in resources_of(template, "AWS::ApiGateway::Method").values():
        props = resource["Properties"]
        method = apigateway.get_method(
            restApiId=api,
            resourceId=physical[props["ResourceId"]["Ref"]],
            httpMethod=props["HttpMethod"],
        )
        integration = props.get("Integration") or {}
        if "Credentials" in integration:
            assert method["methodIntegration"]["credentials"].startswith(
                f"arn:aws:iam::{ACCOUNT}:role/"
            )
        if "IntegrationResponses" in integration:
            assert set(method["methodIntegration"]["integrationResponses"]) == {
                str(r["StatusCode"]) for r in integration["IntegrationResponses"]
            }
    for name in resources_of(template, "AWS::ApiGateway::DomainName"):
        domain = apigateway.get_domain_name(domainName=physical[name])
        target = domain.get("regionalDomainName") or domain.get("distributionDomainName")
        assert target == values["DomainTarget"]
    alarms = {
        a["AlarmName"]
        for a in aws("cloudwatch", region).describe_alarms(MaxRecords=100)["MetricAlarms"]
    }
    assert {physical[n] for n in resources_of(template, "AWS::CloudWatch::Alarm")} <= alarms
    # What the dns stack takes from this one.
    dns = parse_template(spec.template("dns"))["Parameters"]
    prefix = "Primary" if role == "primary" else "Secondary"
    for parameter, output in (
        ("ApiHost", "ApiHost"),
        ("TargetHostedZoneId", "DomainTargetHostedZoneId"),
    ):
        pattern = dns[f"{prefix}{parameter}"]["AllowedPattern"]
        assert re.fullmatch(pattern, values[output]), (
            f"{output}={values[output]} does not fit the dns stack's {pattern}"
        )
    assert region in values["ApiHost"]
    if values["DomainTargetHostedZoneId"] == "Z2FDTNDATAQYW2":
        assert re.fullmatch(r"d[a-z0-9]{13}\.cloudfront\.net", values["DomainTarget"])
    else:
        assert re.fullmatch(
            rf"d-[a-z0-9]{{10}}\.execute-api\.{region}\.amazonaws\.com", values["DomainTarget"]
        )


def operator_s3(aws: Aws, region: str, role_arn: str) -> Any:
    """S3 as the lever's operator role (assumed through the region's STS, as `ingest lever`)."""
    credentials = aws("sts", region).assume_role(RoleArn=role_arn, RoleSessionName="shim-lever")[
        "Credentials"
    ]
    return boto3.client(
        "s3",
        region_name=region,
        endpoint_url=aws.endpoint,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        config=Config(s3={"addressing_style": "path"}),
    )


def check_secondary_data_plane(aws: Aws, spec: Spec, values: dict[str, str]) -> None:
    """The deployed secondary's buckets and queue work for real: only the lever's operator role
    may write a drain switch (the bucket policy denies everyone else, under its
    deny-insecure-transport statement too), whose object is versioned and notifies the lever's
    publisher; an object in the spool reaches the bridge's queue as an S3 notification, and
    the spool's dead-letter queue redrives into it."""
    region = spec.secondary
    s3, sqs = aws("s3", region), aws("sqs", region)
    switch = values["SwitchBucketName"]
    key = values["SwitchObjectPrimary"].removeprefix(f"s3://{switch}/")
    body = b'{"drained": true, "by": "shim", "at": "2026-12-01T10:00:00Z"}'
    with pytest.raises(ClientError) as refused:
        s3.put_object(Bucket=switch, Key=key, Body=body)
    assert refused.value.response["Error"]["Code"] in ("AccessDenied", "403"), refused.value
    operator = operator_s3(aws, region, values["LeverOperatorRoleArn"])
    operator.put_object(Bucket=switch, Key=key, Body=body)
    assert s3.get_object(Bucket=switch, Key=key)["Body"].read() == body, "reading is not locked"
    assert [v["Key"] for v in s3.list_object_versions(Bucket=switch)["Versions"]] == [key]
    [publisher] = s3.get_bucket_notification_configuration(Bucket=switch)[
        "LambdaFunctionConfigurations"
    ]
    assert publisher["LambdaFunctionArn"].endswith(f":function:{values['LeverFunctionName']}")
    spool, queue = values["SpoolBucketName"], values["SpoolQueueUrl"]
    prefix = next(
        rule["Value"]
        for config in s3.get_bucket_notification_configuration(Bucket=spool)["QueueConfigurations"]
        for rule in config["Filter"]["Key"]["FilterRules"]
        if rule["Name"].lower() == "prefix"
    )
    s3.put_object(Bucket=spool, Key=f"{prefix}shim-test.json", Body=b"{}")
    s3.put_object(Bucket=spool, Key="elsewhere/shim-test.json", Body=b"{}")
    keys = []
    for message in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
        body = json.loads(message["Body"])
        keys += [r["s3"]["object"]["key"] for r in body.get("Records", [])]
    assert [k.replace("%2F", "/") for k in keys] == [f"{prefix}shim-test.json"], keys
    # `ingest redrive`: what the dead-letter queue holds goes back to the spool queue.
    dlq = values["SpoolDlqUrl"]
    sqs.send_message(QueueUrl=dlq, MessageBody="dead-lettered")
    sqs.start_message_move_task(SourceArn=values["SpoolDlqArn"])
    redriven = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
    assert [m["Body"] for m in redriven] == ["dead-lettered"]


def dns_parameters(regional: dict[str, dict[str, str]]) -> dict[str, str]:
    parameters = {}
    for role, prefix in (("primary", "Primary"), ("secondary", "Secondary")):
        parameters[f"{prefix}ApiHost"] = regional[role]["ApiHost"]
        parameters[f"{prefix}TargetDomainName"] = regional[role]["DomainTarget"]
        parameters[f"{prefix}TargetHostedZoneId"] = regional[role]["DomainTargetHostedZoneId"]
        parameters[f"{prefix}SwitchAlarmName"] = regional["secondary"][f"{prefix}SwitchAlarmName"]
    # Every bundled spec has a web ACL: the endpoint checks send the health token.
    parameters["HealthToken"] = HEALTH_TOKEN
    return parameters


def weighted_records(aws: Aws, template: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """(type, set identifier) -> record, in the zone the dns stack writes to."""
    zone = next(iter(resources_of(template, "AWS::Route53::RecordSet").values()))["Properties"][
        "HostedZoneId"
    ]
    records = aws("route53", "us-east-1").list_resource_record_sets(HostedZoneId=zone)[
        "ResourceRecordSets"
    ]
    return {(r["Type"], r["SetIdentifier"]): r for r in records if "SetIdentifier" in r}


def check_dns(
    aws: Aws,
    template: dict[str, Any],
    stack: dict[str, Any],
    parameters: dict[str, str],
    weights: dict[str, int],
) -> None:
    records = weighted_records(aws, template)
    expected = resources_of(template, "AWS::Route53::RecordSet")
    assert len(records) == len(expected), sorted(records)
    route53 = aws("route53", "us-east-1")
    checks = {c["Id"]: c for c in route53.list_health_checks()["HealthChecks"]}
    assert len(checks) == len(resources_of(template, "AWS::Route53::HealthCheck"))
    for definition in expected.values():
        props = definition["Properties"]
        prefix = "Primary" if "primary" in props["SetIdentifier"] else "Secondary"
        record = records[(props["Type"], props["SetIdentifier"])]
        assert record["Weight"] == weights[prefix]
        assert (
            record["AliasTarget"]["DNSName"].rstrip(".") == parameters[f"{prefix}TargetDomainName"]
        )
        assert record["AliasTarget"]["HostedZoneId"] == parameters[f"{prefix}TargetHostedZoneId"]
        calculated = checks[record["HealthCheckId"]]["HealthCheckConfig"]
        assert calculated["Type"] == "CALCULATED"
        children = [checks[c]["HealthCheckConfig"] for c in calculated["ChildHealthChecks"]]
        assert len(children) == len(calculated["ChildHealthChecks"]) >= 2
        [switch] = [c for c in children if c["Type"] == "CLOUDWATCH_METRIC"]
        assert switch["AlarmIdentifier"]["Name"] == parameters[f"{prefix}SwitchAlarmName"]
        assert switch["InsufficientDataHealthStatus"] == "Healthy"
        assert not switch.get("Inverted"), children
        # The endpoint check sends the health token the web ACLs require.
        [endpoint] = [c for c in children if c["Type"] == "HTTPS"]
        assert endpoint["ResourcePath"].endswith(f"?token={parameters['HealthToken']}"), endpoint
    assert set(outputs(stack)) == set(template.get("Outputs") or {})


def check_health(aws: Aws, spec: Spec, secondary: dict[str, str]) -> None:
    """The dns stack's checks read the deployed APIs and the lever's alarms: endpoints are
    healthy; a switch check reads its alarm's data (published here as the lever's publisher
    would: nothing yet reads as not drained, a 1 in the alarm's window drains, a restore
    counts once the 1 has left the window); calculated checks cannot be asked, as on Route 53."""
    region = spec.secondary
    route53, cloudwatch = aws("route53", "us-east-1"), aws("cloudwatch", region)
    physical = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in aws("cloudformation", region).list_stack_resources(StackName=spec.stack("dns"))[
            "StackResourceSummaries"
        ]
    }
    template = parse_template(spec.template("dns"))

    def status(name: str) -> str:
        observations = route53.get_health_check_status(HealthCheckId=physical[name])[
            "HealthCheckObservations"
        ]
        assert len({o["StatusReport"]["Status"] for o in observations}) == 1
        return observations[0]["StatusReport"]["Status"]

    switches = {}
    for name, resource in resources_of(template, "AWS::Route53::HealthCheck").items():
        config = resource["Properties"]["HealthCheckConfig"]
        if config["Type"] == "CALCULATED":
            with pytest.raises(ClientError) as refused:
                status(name)
            assert refused.value.response["Error"]["Code"] == "InvalidInput"
        elif config["Type"] == "CLOUDWATCH_METRIC":
            switches[name.removesuffix("SwitchCheck").lower()] = name
        else:
            assert len(config["Regions"]) >= 3
            assert status(name).startswith("Success: HTTP Status Code 200"), name
    assert set(switches) == {"primary", "secondary"}
    assert status(switches["primary"]).startswith("Success:"), "nothing published: not drained"
    [alarm] = cloudwatch.describe_alarms(AlarmNames=[secondary["PrimarySwitchAlarmName"]])[
        "MetricAlarms"
    ]

    def publish(value: float, seconds_ago: int) -> None:
        cloudwatch.put_metric_data(
            Namespace=alarm["Namespace"],
            MetricData=[
                {
                    "MetricName": alarm["MetricName"],
                    "Dimensions": alarm["Dimensions"],
                    "Value": value,
                    "Timestamp": datetime.now(timezone.utc) - timedelta(seconds=seconds_ago),
                }
            ],
        )

    publish(1, alarm["Period"] + 60)
    publish(0, 5)
    assert status(switches["primary"]).startswith("Success:"), "a drain that left the window"
    publish(1, 2)
    assert status(switches["primary"]).startswith("Failure:"), "drained"
    assert status(switches["secondary"]).startswith("Success:")


# --- the lifecycle of every spec -------------------------------------------------------------


def _edited(template: dict[str, Any]) -> tuple[str, str, str, dict[str, Any]]:
    """The secondary template with a queue added, an alarm's threshold changed and the
    dashboard (and its output) removed, as JSON (a template change, test-only)."""
    edited = copy.deepcopy(template)
    edited["Resources"]["ShimTestQueue"] = {
        "Type": "AWS::SQS::Queue",
        "Properties": {
            "QueueName": {"Fn::Sub": "${AWS::StackName}-shim-test"},
            "VisibilityTimeout": 60,
        },
    }
    alarm = next(iter(resources_of(edited, "AWS::CloudWatch::Alarm")))
    edited["Resources"][alarm]["Properties"]["Threshold"] = 12345
    dashboard = next(iter(resources_of(edited, "AWS::CloudWatch::Dashboard")))
    del edited["Resources"][dashboard]
    edited["Outputs"] = {
        k: v for k, v in edited["Outputs"].items() if v["Value"] != {"Ref": dashboard}
    }
    return alarm, dashboard, json.dumps(edited), edited


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_spec_lifecycle(aws: Aws, spec: Spec) -> None:
    _prepare(aws, spec)
    templates = {
        role: parse_template(spec.template(role)) for role in ("primary", "secondary", "dns")
    }

    # 1. CREATE the three stacks through change sets.
    regional: dict[str, dict[str, str]] = {}
    for role in ("primary", "secondary"):
        code = regional_parameters(spec, role, templates[role])
        described, stack = change_set(
            aws, spec, role, "create", body=spec.template(role), parameters=code, kind="CREATE"
        )
        check_created(aws, spec, role, templates[role], stack, described)
        check_regional(aws, spec, role, templates[role], stack)
        regional[role] = outputs(stack)
    check_secondary_data_plane(aws, spec, regional["secondary"])
    parameters = dns_parameters(regional)
    described, stack = change_set(
        aws, spec, "dns", "create", body=spec.template("dns"), parameters=parameters, kind="CREATE"
    )
    check_created(aws, spec, "dns", templates["dns"], stack, described)
    defaults = {
        p: int(templates["dns"]["Parameters"][f"{p}Weight"]["Default"])
        for p in ("Primary", "Secondary")
    }
    check_dns(aws, templates["dns"], stack, parameters, defaults)
    check_health(aws, spec, regional["secondary"])

    # 2. A parameter-only update: the primary's weight, as `ingest lever weights` will do it.
    previous = list(parameters) + ["SecondaryWeight"]
    described, stack = change_set(
        aws, spec, "dns", "weights", parameters={"PrimaryWeight": "50"}, previous=previous
    )
    modified = {
        c["ResourceChange"]["LogicalResourceId"]: c["ResourceChange"] for c in described["Changes"]
    }
    primary_records = {
        n
        for n, r in resources_of(templates["dns"], "AWS::Route53::RecordSet").items()
        if r["Properties"]["Weight"] == {"Ref": "PrimaryWeight"}
    }
    assert set(modified) == primary_records
    for change in modified.values():
        assert change["Action"] == "Modify" and change["Replacement"] == "False"
        assert change["Details"] == [
            {
                "Target": {
                    "Attribute": "Properties",
                    "Name": "Weight",
                    "RequiresRecreation": "Never",
                },
                "Evaluation": "Static",
                "ChangeSource": "ParameterReference",
                "CausingEntity": "PrimaryWeight",
            }
        ]
    assert stack["StackStatus"] == "UPDATE_COMPLETE", failure_reasons(aws, spec, "dns")
    assert {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}[
        "PrimaryWeight"
    ] == "50"
    check_dns(
        aws,
        templates["dns"],
        stack,
        parameters,
        {"Primary": 50, "Secondary": defaults["Secondary"]},
    )
    updated = [e for e in events(aws, spec, "dns") if e["ResourceStatus"] == "UPDATE_COMPLETE"]
    assert {e["LogicalResourceId"] for e in updated} == primary_records | {spec.stack("dns")}

    # 3. The same again: no changes, a FAILED change set that cannot be executed.
    cf = aws("cloudformation", spec.secondary)
    described, stack = change_set(aws, spec, "dns", "again", previous=previous + ["PrimaryWeight"])
    assert (described["Status"], described["ExecutionStatus"]) == ("FAILED", "UNAVAILABLE")
    assert described["StatusReason"] == NO_CHANGES
    assert described["Changes"] == []
    with pytest.raises(ClientError) as refused:
        cf.execute_change_set(StackName=spec.stack("dns"), ChangeSetName="again")
    assert refused.value.response["Error"]["Code"] == "InvalidChangeSetStatus"
    assert stack["StackStatus"] == "UPDATE_COMPLETE"

    # 4. A template update of the secondary stack.
    alarm, dashboard, body, edited = _edited(templates["secondary"])
    secondary_code = regional_parameters(spec, "secondary", templates["secondary"])
    described, stack = change_set(
        aws, spec, "secondary", "edit", body=body, parameters=secondary_code
    )
    actions = {
        c["ResourceChange"]["LogicalResourceId"]: c["ResourceChange"]["Action"]
        for c in described["Changes"]
    }
    assert actions == {"ShimTestQueue": "Add", alarm: "Modify", dashboard: "Remove"}
    assert stack["StackStatus"] == "UPDATE_COMPLETE", failure_reasons(aws, spec, "secondary")
    region = spec.secondary
    queue = aws("sqs", region).get_queue_url(QueueName=f"{spec.stack('secondary')}-shim-test")[
        "QueueUrl"
    ]
    assert (
        aws("sqs", region).get_queue_attributes(
            QueueUrl=queue, AttributeNames=["VisibilityTimeout"]
        )["Attributes"]["VisibilityTimeout"]
        == "60"
    )
    alarm_name = templates["secondary"]["Resources"][alarm]["Properties"]["AlarmName"]
    [changed] = aws("cloudwatch", region).describe_alarms(AlarmNames=[alarm_name])["MetricAlarms"]
    assert changed["Threshold"] == 12345
    dashboard_name = templates["secondary"]["Resources"][dashboard]["Properties"]["DashboardName"]
    with pytest.raises(ClientError):
        aws("cloudwatch", region).get_dashboard(DashboardName=dashboard_name)
    assert set(outputs(stack)) == set(edited["Outputs"])
    statuses = {
        (e["LogicalResourceId"], e["ResourceStatus"]) for e in events(aws, spec, "secondary")
    }
    assert {
        ("ShimTestQueue", "CREATE_COMPLETE"),
        (alarm, "UPDATE_COMPLETE"),
        (dashboard, "DELETE_COMPLETE"),
    } <= statuses

    # 5a. A Ref to a resource that does not exist: refused before anything runs.
    broken = copy.deepcopy(edited)
    broken["Resources"]["ShimTestQueue"]["Properties"]["RedrivePolicy"] = {
        "deadLetterTargetArn": {"Fn::GetAtt": ["NoSuchQueue", "Arn"]},
        "maxReceiveCount": 5,
    }
    broken["Resources"]["ShimTestQueue"]["Properties"]["Tags"] = [
        {"Key": "k", "Value": {"Ref": "NoSuchThing"}}
    ]
    with pytest.raises(ClientError) as refused:
        change_set(
            aws, spec, "secondary", "broken", body=json.dumps(broken), parameters=secondary_code
        )
    assert refused.value.response["Error"]["Code"] == "ValidationError"
    assert refused.value.response["Error"]["Message"] == (
        "Template format error: Unresolved resource dependencies [NoSuchQueue, NoSuchThing] in the Resources block of the template"
    )
    summaries = cf.list_change_sets(StackName=spec.stack("secondary"))["Summaries"]
    assert [s["ChangeSetName"] for s in summaries] == ["edit"]

    # 5b. A new resource without a required property: the update fails and rolls back.
    failing = copy.deepcopy(edited)
    failing["Resources"]["ShimTestQueue"]["Properties"]["VisibilityTimeout"] = 90
    failing["Resources"]["ShimTestQuery"] = {
        "Type": "AWS::Athena::NamedQuery",
        "DependsOn": "ShimTestQueue",
        "Properties": {"Database": "nothing"},
    }
    before = outputs(stack)
    described, stack = change_set(
        aws, spec, "secondary", "failing", body=json.dumps(failing), parameters=secondary_code
    )
    assert stack["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    reasons = failure_reasons(aws, spec, "secondary")
    assert (
        "ShimTestQuery CREATE_FAILED: Properties validation failed for resource ShimTestQuery"
        in reasons
    )
    assert "#: required key [QueryString] not found" in reasons
    assert outputs(stack) == before
    assert (
        aws("sqs", region).get_queue_attributes(
            QueueUrl=queue, AttributeNames=["VisibilityTimeout"]
        )["Attributes"]["VisibilityTimeout"]
        == "60"
    )

    # 6. DeleteStack, the dns stack first.
    retained = {}
    for role in ("dns", "secondary", "primary"):
        region = spec.region(role)
        cf = aws("cloudformation", region)
        listed = cf.list_stack_resources(StackName=spec.stack(role))["StackResourceSummaries"]
        cf.delete_stack(StackName=spec.stack(role))
        with pytest.raises(ClientError) as gone:
            cf.describe_stacks(StackName=spec.stack(role))
        assert "does not exist" in gone.value.response["Error"]["Message"]
        final = [e for e in events_by_id(cf, spec.stack(role))]
        assert final[0]["ResourceStatus"] == "DELETE_COMPLETE"
        template = templates[role] if role != "secondary" else edited
        for resource in listed:
            policy = template["Resources"][resource["LogicalResourceId"]].get("DeletionPolicy")
            status = {
                e["ResourceStatus"]
                for e in final
                if e["LogicalResourceId"] == resource["LogicalResourceId"]
            }
            kept = policy in ("Retain", "RetainExceptOnCreate")
            assert ("DELETE_SKIPPED" if kept else "DELETE_COMPLETE") in status, resource
            if kept:
                retained[resource["PhysicalResourceId"]] = resource["ResourceType"]
    route53 = aws("route53", "us-east-1")
    assert route53.list_health_checks()["HealthChecks"] == []
    assert weighted_records(aws, templates["dns"]) == {}
    for name in resources_of(templates["primary"], "AWS::Lambda::Function"):
        with pytest.raises(ClientError):
            aws("lambda", spec.primary).get_function(
                FunctionName=templates["primary"]["Resources"][name]["Properties"]["FunctionName"]
            )
    retained_buckets = [p for p, t in retained.items() if t == "AWS::S3::Bucket"]
    assert retained_buckets, "the templates retain their buckets"
    for bucket in retained_buckets:
        aws("s3", spec.primary).head_bucket(Bucket=bucket)


def events_by_id(cf: Any, stack_name: str) -> list[dict[str, Any]]:
    """A deleted stack's events (newest first), found through ListStacks as on AWS."""
    deleted = [
        s
        for s in cf.list_stacks(StackStatusFilter=["DELETE_COMPLETE"])["StackSummaries"]
        if s["StackName"] == stack_name
    ]
    assert deleted, f"{stack_name} is not listed as DELETE_COMPLETE"
    return cf.describe_stack_events(StackName=deleted[-1]["StackId"])["StackEvents"]


# --- CreateChangeSet's synchronous checks -----------------------------------------------------


MINIMAL = (
    next(s for s in SPECS if s.name == "minimal")
    if any(s.name == "minimal" for s in SPECS)
    else SPECS[0]
)


def _dns_body(edit: Any = None) -> str:
    template = parse_template(MINIMAL.template("dns"))
    if edit:
        edit(template)
    return json.dumps(template)


GOOD_DNS_PARAMETERS = {
    "PrimaryApiHost": "abc123defg.execute-api.us-east-2.amazonaws.com",
    "PrimaryTargetDomainName": "d-abcdefghij.execute-api.us-east-2.amazonaws.com",
    "PrimaryTargetHostedZoneId": "ZOJJZC49E0EPZ",
    "PrimarySwitchAlarmName": "minimal-lever-primary-0a1b2c3d",
    "SecondaryApiHost": "hij456klmn.execute-api.us-west-2.amazonaws.com",
    "SecondaryTargetDomainName": "d-klmnopqrst.execute-api.us-west-2.amazonaws.com",
    "SecondaryTargetHostedZoneId": "Z2OJLYMUO9EFXC",
    "SecondarySwitchAlarmName": "minimal-lever-secondary-0a1b2c3d",
    "HealthToken": HEALTH_TOKEN,
}


def _without(key: str) -> dict[str, str]:
    return {k: v for k, v in GOOD_DNS_PARAMETERS.items() if k != key}


@pytest.mark.parametrize(
    ("case", "body", "parameters", "code", "message"),
    [
        (
            "unknown type",
            lambda: _dns_body(
                lambda t: t["Resources"].update(
                    {"X": {"Type": "AWS::Route53::NoSuchThing", "Properties": {}}}
                )
            ),
            GOOD_DNS_PARAMETERS,
            "ValidationError",
            "Template format error: Unrecognized resource types: [AWS::Route53::NoSuchThing]",
        ),
        (
            "unknown attribute",
            lambda: _dns_body(
                lambda t: t["Outputs"].update(
                    {"X": {"Value": {"Fn::GetAtt": ["PrimaryHealth", "Nope"]}}}
                )
            ),
            GOOD_DNS_PARAMETERS,
            "ValidationError",
            "Template error: resource PrimaryHealth does not support attribute type Nope in Fn::GetAtt",
        ),
        (
            "missing resource in outputs",
            lambda: _dns_body(lambda t: t["Outputs"].update({"X": {"Value": {"Ref": "Gone"}}})),
            GOOD_DNS_PARAMETERS,
            "ValidationError",
            "Template format error: Unresolved resource dependencies [Gone] in the Outputs block of the template",
        ),
        (
            "dependency cycle",
            lambda: _dns_body(
                lambda t: t["Resources"]["PrimaryEndpointCheck"].update(
                    {"DependsOn": "PrimaryHealth"}
                )
            ),
            GOOD_DNS_PARAMETERS,
            "ValidationError",
            "Circular dependency between resources: [PrimaryEndpointCheck, PrimaryHealth]",
        ),
        (
            "parameter without a value",
            lambda: _dns_body(),
            _without("SecondaryApiHost"),
            "ValidationError",
            "Parameters: [SecondaryApiHost] must have values",
        ),
        (
            "parameter against its pattern",
            lambda: _dns_body(),
            {**GOOD_DNS_PARAMETERS, "PrimaryApiHost": "ingest.example.org"},
            "ValidationError",
            "Parameter 'PrimaryApiHost' must match pattern ^[a-z0-9]+\\.execute-api\\.[a-z0-9-]+\\.amazonaws\\.com(\\.cn)?$",
        ),
        (
            "weight over 255",
            lambda: _dns_body(),
            {**GOOD_DNS_PARAMETERS, "PrimaryWeight": "256"},
            "ValidationError",
            "Parameter 'PrimaryWeight' must be a number not greater than 255",
        ),
        (
            "unknown parameter",
            lambda: _dns_body(),
            {**GOOD_DNS_PARAMETERS, "Weight": "1"},
            "ValidationError",
            "Parameters: [Weight] do not exist in the template",
        ),
        (
            "inline template over 51,200 bytes",
            lambda: _dns_body(lambda t: t.update({"Description": "x" * 52_000})),
            GOOD_DNS_PARAMETERS,
            "ValidationError",
            "1 validation error detected: Value at 'templateBody' failed to satisfy constraint: Member must have length less than or equal to 51200",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) and len(value) < 40 else "",
)
def test_create_change_set_refuses(
    aws: Aws, case: str, body: Any, parameters: dict[str, str], code: str, message: str
) -> None:
    cf = aws("cloudformation", MINIMAL.secondary)
    with pytest.raises(ClientError) as refused:
        cf.create_change_set(
            StackName="refused",
            ChangeSetName="c",
            ChangeSetType="CREATE",
            TemplateBody=body(),
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        )
    assert refused.value.response["Error"]["Code"] == code, case
    assert refused.value.response["Error"]["Message"] == message, case
    assert cf.list_stacks()["StackSummaries"] == [], "a refused change set creates no stack"


def test_iam_needs_capabilities(aws: Aws) -> None:
    _prepare_code_only(aws, MINIMAL)
    body = MINIMAL.template("primary")
    with pytest.raises(ClientError) as refused:
        aws("cloudformation", MINIMAL.primary).create_change_set(
            StackName="capabilities",
            ChangeSetName="c",
            ChangeSetType="CREATE",
            Parameters=[
                {"ParameterKey": key, "ParameterValue": value}
                for key, value in regional_parameters(
                    MINIMAL, "primary", parse_template(body)
                ).items()
            ],
            **_source(aws, MINIMAL, MINIMAL.primary, "capabilities", body),
        )
    assert refused.value.response["Error"]["Code"] == "InsufficientCapabilitiesException"
    assert refused.value.response["Error"]["Message"] == "Requires capabilities : [CAPABILITY_IAM]"


def _prepare_code_only(aws: Aws, spec: Spec) -> None:
    s3 = aws("s3", spec.primary)
    _make_bucket(s3, _code_bucket(spec, spec.primary), spec.primary)
    s3.put_object(Bucket=_code_bucket(spec, spec.primary), Key=CODE_KEY, Body=_zip())


def test_change_sets_are_per_stack(aws: Aws) -> None:
    """Two stacks in one region with change sets of the same name (the secondary and the dns
    stack are both in the secondary region): each name resolves within its own stack."""
    cf = aws("cloudformation", MINIMAL.secondary)
    aws.post("/moto-api/ingest/hosted-zones", {"Id": "Z04ABCDEF1234567890", "Name": "example.org"})
    zone = parse_template(MINIMAL.template("dns"))
    for stack, weight in (("one", "1"), ("two", "2")):
        cf.create_change_set(
            StackName=stack,
            ChangeSetName="deploy",
            ChangeSetType="CREATE",
            TemplateBody=MINIMAL.template("dns") if stack == "one" else json.dumps(_distinct(zone)),
            Parameters=[
                {"ParameterKey": k, "ParameterValue": v}
                for k, v in {**GOOD_DNS_PARAMETERS, "PrimaryWeight": weight}.items()
            ],
        )
    for stack, weight in (("one", "1"), ("two", "2")):
        described = cf.describe_change_set(StackName=stack, ChangeSetName="deploy")
        assert described["StackName"] == stack
        assert {p["ParameterKey"]: p["ParameterValue"] for p in described["Parameters"]}[
            "PrimaryWeight"
        ] == weight
        assert [s["StackName"] for s in cf.list_change_sets(StackName=stack)["Summaries"]] == [
            stack
        ]
    cf.execute_change_set(StackName="two", ChangeSetName="deploy")
    assert cf.describe_stacks(StackName="two")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE", (
        failure_reasons_of(cf, "two")
    )
    assert cf.describe_stacks(StackName="one")["Stacks"][0]["StackStatus"] == "REVIEW_IN_PROGRESS"
    with pytest.raises(ClientError) as again:
        cf.create_change_set(
            StackName="two",
            ChangeSetName="other",
            ChangeSetType="CREATE",
            TemplateBody=MINIMAL.template("dns"),
        )
    assert (
        again.value.response["Error"]["Message"]
        == "Stack [two] already exists and cannot be created again with the changeSet [other]."
    )


def _distinct(template: dict[str, Any]) -> dict[str, Any]:
    """The dns template with other set identifiers (two copies may not write the same records)."""
    copied = copy.deepcopy(template)
    for resource in resources_of(copied, "AWS::Route53::RecordSet").values():
        resource["Properties"]["SetIdentifier"] += "-two"
    return copied


def failure_reasons_of(cf: Any, stack: str) -> str:
    return "\n".join(
        f"{e['LogicalResourceId']} {e['ResourceStatus']}: {e.get('ResourceStatusReason')}"
        for e in cf.describe_stack_events(StackName=stack)["StackEvents"]
        if "FAILED" in e["ResourceStatus"]
    )


def test_failed_create_rolls_back(aws: Aws) -> None:
    """A resource that fails (here a record in a hosted zone that does not exist) fails the
    CREATE: the stack ends ROLLBACK_COMPLETE, what was created is deleted, the event says why."""
    cf = aws("cloudformation", MINIMAL.secondary)
    cf.create_change_set(
        StackName="no-zone",
        ChangeSetName="c",
        ChangeSetType="CREATE",
        TemplateBody=MINIMAL.template("dns"),
        Parameters=[
            {"ParameterKey": k, "ParameterValue": v} for k, v in GOOD_DNS_PARAMETERS.items()
        ],
    )
    cf.execute_change_set(StackName="no-zone", ChangeSetName="c")
    stack = cf.describe_stacks(StackName="no-zone")["Stacks"][0]
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    history = list(reversed(cf.describe_stack_events(StackName="no-zone")["StackEvents"]))
    failed = [e for e in history if e["ResourceStatus"] == "CREATE_FAILED"]
    assert len(failed) == 1 and failed[0]["ResourceType"] == "AWS::Route53::RecordSet"
    zone = parse_template(MINIMAL.template("dns"))["Resources"][failed[0]["LogicalResourceId"]][
        "Properties"
    ]["HostedZoneId"]
    assert failed[0]["ResourceStatusReason"] == f"No hosted zone found with ID: {zone}"
    rollback = next(e for e in history if e["ResourceStatus"] == "ROLLBACK_IN_PROGRESS")
    assert rollback["ResourceStatusReason"].startswith(
        f"The following resource(s) failed to create: [{failed[0]['LogicalResourceId']}]"
    )
    created = {
        e["LogicalResourceId"]
        for e in history
        if e["ResourceStatus"] == "CREATE_COMPLETE"
        and e["ResourceType"] != "AWS::CloudFormation::Stack"
    }
    deleted = {e["LogicalResourceId"] for e in history if e["ResourceStatus"] == "DELETE_COMPLETE"}
    assert created and created == deleted
    assert aws("route53", "us-east-1").list_health_checks()["HealthChecks"] == []
    assert cf.list_stack_resources(StackName="no-zone")["StackResourceSummaries"] == []
    with pytest.raises(ClientError) as refused:
        cf.create_change_set(
            StackName="no-zone", ChangeSetName="d", ChangeSetType="UPDATE", UsePreviousTemplate=True
        )
    assert (
        "is in ROLLBACK_COMPLETE state and can not be updated"
        in refused.value.response["Error"]["Message"]
    )


def test_launcher_logs_every_patch(server: Server) -> None:
    import shim

    log = server.log.read_text()
    for patch in shim.PATCHES:
        assert f"patch {patch.name}" in log, f"{patch.name} is not announced at start"
    print(f"\nshim start-up (process start to first answer): {server.startup_seconds:.2f} s")


# --- the generic model -----------------------------------------------------------------------


GENERIC_TEMPLATE = {
    "Resources": {
        "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "shim-topic"}},
        "Subscription": {
            "Type": "AWS::SNS::Subscription",
            "Properties": {
                "TopicArn": {"Ref": "Topic"},
                "Protocol": "email",
                "Endpoint": "ops@example.com",
            },
        },
        "Query": {
            "Type": "AWS::Athena::NamedQuery",
            "Properties": {"Database": "db", "QueryString": "SELECT 1"},
        },
        "Stream": {
            "Type": "AWS::KinesisFirehose::DeliveryStream",
            "Properties": {
                "DeliveryStreamName": "shim-stream",
                "DeliveryStreamType": "DirectPut",
                "ExtendedS3DestinationConfiguration": {
                    "BucketARN": "arn:aws:s3:::shim-bucket",
                    "RoleARN": {
                        "Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/shim"
                    },
                },
            },
        },
        "IpSet": {
            "Type": "AWS::WAFv2::IPSet",
            "Properties": {
                "Name": "shim-ips",
                "Scope": "REGIONAL",
                "IPAddressVersion": "IPV4",
                "Addresses": ["192.0.2.0/24"],
            },
        },
        "WorkGroup": {
            "Type": "AWS::Athena::WorkGroup",
            "DeletionPolicy": "Retain",
            "Properties": {"Name": "shim-wg", "Description": "first"},
        },
        "Unnamed": {"Type": "AWS::Logs::LogStream", "Properties": {"LogGroupName": "shim-group"}},
    },
    "Outputs": {
        "SubscriptionRef": {"Value": {"Ref": "Subscription"}},
        "SubscriptionArn": {"Value": {"Fn::GetAtt": ["Subscription", "Arn"]}},
        "QueryRef": {"Value": {"Ref": "Query"}},
        "QueryId": {"Value": {"Fn::GetAtt": ["Query", "NamedQueryId"]}},
        "StreamRef": {"Value": {"Ref": "Stream"}},
        "StreamArn": {"Value": {"Fn::GetAtt": ["Stream", "Arn"]}},
        "IpSetRef": {"Value": {"Ref": "IpSet"}},
        "IpSetId": {"Value": {"Fn::GetAtt": ["IpSet", "Id"]}},
        "IpSetArn": {"Value": {"Fn::GetAtt": ["IpSet", "Arn"]}},
        "WorkGroupRef": {"Value": {"Ref": "WorkGroup"}},
        "UnnamedRef": {"Value": {"Ref": "Unnamed"}},
    },
}


def _stack_change(
    cf: Any, stack: str, name: str, template: dict[str, Any], kind: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    cf.create_change_set(
        StackName=stack, ChangeSetName=name, ChangeSetType=kind, TemplateBody=json.dumps(template)
    )
    described = cf.describe_change_set(StackName=stack, ChangeSetName=name)
    cf.execute_change_set(StackName=stack, ChangeSetName=name)
    return described, cf.describe_stacks(StackName=stack)["Stacks"][0]


def test_generic_model(aws: Aws) -> None:
    """Types moto does not model answer Ref and Fn::GetAtt as CloudFormation documents them,
    keep their identity across an in-place update and get a new one when replaced."""
    region = "us-east-1"
    cf = aws("cloudformation", region)
    _, stack = _stack_change(cf, "generic", "create", GENERIC_TEMPLATE, "CREATE")
    assert stack["StackStatus"] == "CREATE_COMPLETE", failure_reasons_of(cf, "generic")
    first = outputs(stack)
    topic = f"arn:aws:sns:{region}:{ACCOUNT}:shim-topic"
    assert first["SubscriptionRef"] == first["SubscriptionArn"]
    assert re.fullmatch(rf"{re.escape(topic)}:[0-9a-f-]{{36}}", first["SubscriptionArn"])
    assert first["QueryRef"] == first["QueryId"]
    assert first["StreamRef"] == "shim-stream"
    assert first["StreamArn"] == f"arn:aws:firehose:{region}:{ACCOUNT}:deliverystream/shim-stream"
    assert first["IpSetRef"] == f"shim-ips|{first['IpSetId']}|REGIONAL"
    assert first["IpSetArn"].startswith(f"arn:aws:wafv2:{region}:{ACCOUNT}:regional/ipset/shim-ips")
    assert first["WorkGroupRef"] == "shim-wg"
    assert re.fullmatch(r"generic-Unnamed-[A-Z0-9]{13}", first["UnnamedRef"]), first["UnnamedRef"]
    # What no API reads back, the shim's control route does: the properties as resolved.
    resources = f"/moto-api/ingest/resources?region={region}&stack=generic&logical-id="
    stream = aws.get(resources + "Stream")
    assert stream["Type"] == "AWS::KinesisFirehose::DeliveryStream"
    assert stream["PhysicalResourceId"] == "shim-stream"
    role = stream["Properties"]["ExtendedS3DestinationConfiguration"]["RoleARN"]
    assert role == f"arn:aws:iam::{ACCOUNT}:role/shim", role
    assert aws.get(resources + "IpSet")["Properties"]["Addresses"] == ["192.0.2.0/24"]
    for absent in ("Topic", "NoSuchResource"):  # moto's own model; nothing
        with pytest.raises(urllib.error.HTTPError) as refused:
            aws.get(resources + absent)
        assert refused.value.code == 404, absent

    edited = copy.deepcopy(GENERIC_TEMPLATE)
    edited["Resources"]["Query"]["Properties"]["QueryString"] = "SELECT 2"  # create-only
    edited["Resources"]["IpSet"]["Properties"]["Addresses"] = ["198.51.100.0/24"]  # in place
    described, stack = _stack_change(cf, "generic", "edit", edited, "UPDATE")
    changes = {
        c["ResourceChange"]["LogicalResourceId"]: c["ResourceChange"] for c in described["Changes"]
    }
    assert {k: v["Replacement"] for k, v in changes.items()} == {"Query": "True", "IpSet": "False"}
    assert stack["StackStatus"] == "UPDATE_COMPLETE", failure_reasons_of(cf, "generic")
    second = outputs(stack)
    assert second["QueryRef"] != first["QueryRef"], "a create-only change replaces the resource"
    assert second["IpSetRef"] == first["IpSetRef"], "an in-place update keeps the identity"
    assert aws.get(resources + "IpSet")["Properties"]["Addresses"] == ["198.51.100.0/24"]
    assert {k: v for k, v in second.items() if not k.startswith("Query")} == {
        k: v for k, v in first.items() if not k.startswith("Query")
    }

    removed = copy.deepcopy(edited)
    del removed["Resources"]["WorkGroup"]
    del removed["Outputs"]["WorkGroupRef"]
    _, stack = _stack_change(cf, "generic", "remove", removed, "UPDATE")
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    statuses = [
        e["ResourceStatus"]
        for e in cf.describe_stack_events(StackName="generic")["StackEvents"]
        if e["LogicalResourceId"] == "WorkGroup"
    ]
    assert statuses[0] == "DELETE_SKIPPED", "DeletionPolicy Retain keeps a removed resource"


# --- what AWS refuses at deploy time, the shim refuses too ------------------------------------

ZONE = {"Id": "Z0SHIMTEST0000000001", "Name": "example.net"}
ALIAS = {
    "DNSName": "d-abcdefghij.execute-api.us-west-2.amazonaws.com",
    "HostedZoneId": "Z2OJLYMUO9EFXC",
    "EvaluateTargetHealth": False,
}


def _record(**properties: Any) -> dict[str, Any]:
    return {
        "Resources": {
            "Record": {
                "Type": "AWS::Route53::RecordSet",
                "Properties": {
                    "HostedZoneId": ZONE["Id"],
                    "Name": "ingest.example.net",
                    "Type": "A",
                    **properties,
                },
            }
        }
    }


REFUSED = [
    (
        "weighted record without SetIdentifier",
        _record(Weight=5, AliasTarget=ALIAS),
        "Record",
        "Invalid request: Missing field 'SetIdentifier'",
    ),
    (
        "alias record with a TTL",
        _record(SetIdentifier="a", Weight=5, AliasTarget=ALIAS, TTL="60"),
        "Record",
        "Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or TrafficPolicyInstanceId], but found more than one",
    ),
    (
        "record outside its zone",
        _record(Name="ingest.example.org", SetIdentifier="a", Weight=5, AliasTarget=ALIAS),
        "Record",
        "RRSet with DNS name ingest.example.org. is not permitted in zone example.net.",
    ),
    (
        "bucket notifying a queue that does not let S3 send",
        {
            "Resources": {
                "Queue": {"Type": "AWS::SQS::Queue", "Properties": {}},
                "Bucket": {
                    "Type": "AWS::S3::Bucket",
                    "Properties": {
                        "NotificationConfiguration": {
                            "QueueConfigurations": [
                                {
                                    "Event": "s3:ObjectCreated:*",
                                    "Queue": {"Fn::GetAtt": ["Queue", "Arn"]},
                                }
                            ]
                        }
                    },
                },
            }
        },
        "Bucket",
        "Unable to validate the following destination configurations",
    ),
    (
        "generic property outside its enum",
        {
            "Resources": {
                "WorkGroup": {
                    "Type": "AWS::Athena::WorkGroup",
                    "Properties": {"Name": "w", "State": "BROKEN"},
                }
            }
        },
        "WorkGroup",
        "Properties validation failed for resource WorkGroup with message:\n[#/State: BROKEN is not a valid enum value]",
    ),
    (
        "stage of a deployment that does not exist",
        {
            "Resources": {
                "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "api"}},
                "Stage": {
                    "Type": "AWS::ApiGateway::Stage",
                    "Properties": {
                        "RestApiId": {"Ref": "Api"},
                        "StageName": "v1",
                        "DeploymentId": "nope",
                    },
                },
            }
        },
        "Stage",
        "Invalid deployment identifier specified: nope",
    ),
]


@pytest.mark.parametrize(
    ("case", "template", "failed", "reason"), REFUSED, ids=[r[0] for r in REFUSED]
)
def test_resource_refused(
    aws: Aws, case: str, template: dict[str, Any], failed: str, reason: str
) -> None:
    aws.post("/moto-api/ingest/hosted-zones", ZONE)
    cf = aws("cloudformation", "us-west-2")
    _, stack = _stack_change(cf, "refused", "c", template, "CREATE")
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE", case
    [event] = [
        e
        for e in cf.describe_stack_events(StackName="refused")["StackEvents"]
        if e["ResourceStatus"] == "CREATE_FAILED"
    ]
    assert event["LogicalResourceId"] == failed
    assert reason in event["ResourceStatusReason"], event["ResourceStatusReason"]


def test_delete_failure_keeps_the_stack(aws: Aws) -> None:
    """A resource that cannot be deleted (a bucket with objects, without Retain) leaves the
    stack DELETE_FAILED with the reason, as on AWS; once emptied, the delete goes through."""
    cf, s3 = aws("cloudformation", "us-east-1"), aws("s3", "us-east-1")
    template = {
        "Resources": {
            "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "shim-full-bucket"}},
            "Queue": {"Type": "AWS::SQS::Queue", "Properties": {}},
        }
    }
    _, stack = _stack_change(cf, "full", "c", template, "CREATE")
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    s3.put_object(Bucket="shim-full-bucket", Key="k", Body=b"x")
    cf.delete_stack(StackName="full")
    stack = cf.describe_stacks(StackName="full")["Stacks"][0]
    assert stack["StackStatus"] == "DELETE_FAILED"
    assert stack["StackStatusReason"] == "The following resource(s) failed to delete: [Bucket]. "
    [failed] = [
        e
        for e in cf.describe_stack_events(StackName="full")["StackEvents"]
        if e["ResourceStatus"] == "DELETE_FAILED" and e["LogicalResourceId"] == "Bucket"
    ]
    assert (
        failed["ResourceStatusReason"]
        == "The bucket you tried to delete is not empty (Error Code: BucketNotEmpty)"
    )
    listed = cf.list_stack_resources(StackName="full")["StackResourceSummaries"]
    assert [(r["LogicalResourceId"], r["ResourceStatus"]) for r in listed] == [
        ("Bucket", "DELETE_FAILED")
    ]
    s3.delete_object(Bucket="shim-full-bucket", Key="k")
    cf.delete_stack(StackName="full")
    with pytest.raises(ClientError):
        cf.describe_stacks(StackName="full")
    with pytest.raises(ClientError):
        s3.head_bucket(Bucket="shim-full-bucket")


def _function_template(code: dict[str, Any]) -> dict[str, Any]:
    return {
        "Resources": {
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "lambda.amazonaws.com"},
                                "Action": "sts:AssumeRole",
                            }
                        ],
                    }
                },
            },
            "Function": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Runtime": "provided.al2023",
                    "Handler": "bootstrap",
                    "Architectures": ["arm64"],
                    "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                    "Code": code,
                },
            },
        }
    }


@pytest.mark.parametrize(
    ("case", "bucket_region", "version", "reason"),
    [
        ("same region, latest", "us-west-2", None, None),
        ("same region, existing version", "us-west-2", "existing", None),
        (
            "code bucket in another region",
            "us-east-1",
            None,
            "S3 Error Code: PermanentRedirect. S3 Error Message: The bucket is in this region: us-east-1.",
        ),
        (
            "missing object version",
            "us-west-2",
            "no-such-version",
            "S3 Error Code: NoSuchVersion",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) and " " in value else "",
)
def test_lambda_code_from_s3(
    aws: Aws, case: str, bucket_region: str, version: str | None, reason: str | None
) -> None:
    """A function's code comes from a bucket in its own region, at the given version."""
    s3 = aws("s3", bucket_region)
    _make_bucket(s3, "shim-code", bucket_region)
    s3.put_bucket_versioning(Bucket="shim-code", VersioningConfiguration={"Status": "Enabled"})
    put = s3.put_object(Bucket="shim-code", Key=CODE_KEY, Body=_zip())
    code: dict[str, Any] = {"S3Bucket": "shim-code", "S3Key": CODE_KEY}
    if version:
        code["S3ObjectVersion"] = put["VersionId"] if version == "existing" else version
    cf = aws("cloudformation", "us-west-2")
    cf.create_change_set(
        StackName="code",
        ChangeSetName="c",
        ChangeSetType="CREATE",
        TemplateBody=json.dumps(_function_template(code)),
        Capabilities=["CAPABILITY_IAM"],
    )
    cf.execute_change_set(StackName="code", ChangeSetName="c")
    stack = cf.describe_stacks(StackName="code")["Stacks"][0]
    if reason is None:
        assert stack["StackStatus"] == "CREATE_COMPLETE", failure_reasons_of(cf, "code")
        function = aws("lambda", "us-west-2").list_functions()["Functions"][0]
        assert function["Architectures"] == ["arm64"]
        return
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE", case
    [failed] = [
        e
        for e in cf.describe_stack_events(StackName="code")["StackEvents"]
        if e["ResourceStatus"] == "CREATE_FAILED"
    ]
    assert failed["LogicalResourceId"] == "Function"
    assert reason in failed["ResourceStatusReason"], failed["ResourceStatusReason"]


def test_dead_letter_redrive(aws: Aws) -> None:
    """StartMessageMoveTask moves a dead-letter queue's messages back to its source queue,
    as `ingest redrive` does it; a queue that is no dead-letter queue is refused."""
    sqs = aws("sqs", "us-west-2")
    dlq = sqs.create_queue(QueueName="shim-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1})
    source = sqs.create_queue(
        QueueName="shim-source", Attributes={"RedrivePolicy": redrive, "VisibilityTimeout": "0"}
    )["QueueUrl"]
    source_arn = sqs.get_queue_attributes(QueueUrl=source, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    for body in ("one", "two"):
        sqs.send_message(QueueUrl=source, MessageBody=body)
    # Received once without being deleted: the next receive dead-letters them.
    sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10)
    assert sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10).get("Messages", []) == []
    depth = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])
    assert depth["Attributes"]["ApproximateNumberOfMessages"] == "2"

    with pytest.raises(ClientError) as refused:
        sqs.start_message_move_task(SourceArn=source_arn)
    assert (
        refused.value.response["Error"]["Message"]
        == "Source queue must be configured as a Dead Letter Queue."
    )

    handle = sqs.start_message_move_task(SourceArn=dlq_arn)["TaskHandle"]
    assert handle
    [task] = sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"]
    assert task["Status"] == "COMPLETED"
    assert task["ApproximateNumberOfMessagesMoved"] == 2
    assert task["DestinationArn"] == source_arn
    moved = sqs.receive_message(
        QueueUrl=source, MaxNumberOfMessages=10, AttributeNames=["ApproximateReceiveCount"]
    )
    assert sorted(m["Body"] for m in moved["Messages"]) == ["one", "two"]
    assert {m["Attributes"]["ApproximateReceiveCount"] for m in moved["Messages"]} == {"1"}
    depth = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])
    assert depth["Attributes"]["ApproximateNumberOfMessages"] == "0"


def test_bucket_versioning_document(aws: Aws, server: Server) -> None:
    """GetBucketVersioning answers S3's <VersioningConfiguration>, with <Status> only once
    versioning was set, as aws-sdk-s3 requires (botocore reads any root, so the raw answer is
    what is checked)."""
    import xml.etree.ElementTree as ElementTree

    s3 = aws("s3", "us-east-1")
    s3.create_bucket(Bucket="shim-versioning")

    def document() -> ElementTree.Element:
        with urllib.request.urlopen(f"{server.endpoint}/shim-versioning?versioning") as answer:
            return ElementTree.fromstring(answer.read())

    namespace = "{http://s3.amazonaws.com/doc/2006-03-01/}"
    never = document()
    assert never.tag == f"{namespace}VersioningConfiguration"
    assert list(never) == []
    for status in ("Enabled", "Suspended"):
        s3.put_bucket_versioning(
            Bucket="shim-versioning", VersioningConfiguration={"Status": status}
        )
        assert document().findtext(f"{namespace}Status") == status
        assert s3.get_bucket_versioning(Bucket="shim-versioning")["Status"] == status


def test_alarm_health_check(aws: Aws) -> None:
    """A CLOUDWATCH_METRIC health check follows its alarm's data (the lever's switch), as
    Route 53 does: no data reads as InsufficientDataHealthStatus says, a breaching value in
    the last period is unhealthy, SetAlarmState changes nothing; made by a stack or the API."""
    cf, cloudwatch = aws("cloudformation", "us-west-2"), aws("cloudwatch", "us-west-2")
    route53 = aws("route53", "us-east-1")
    template = {
        "Resources": {
            "Switch": {
                "Type": "AWS::CloudWatch::Alarm",
                "Properties": {
                    "AlarmName": "shim-drain-primary",
                    "Namespace": "Ingest/Lever",
                    "MetricName": "DrainPrimary",
                    "Statistic": "Maximum",
                    "Period": 60,
                    "EvaluationPeriods": 1,
                    "Threshold": 1,
                    "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                },
            },
            "Check": {
                "Type": "AWS::Route53::HealthCheck",
                "Properties": {
                    "HealthCheckConfig": {
                        "Type": "CLOUDWATCH_METRIC",
                        "AlarmIdentifier": {"Name": {"Ref": "Switch"}, "Region": "us-west-2"},
                        "InsufficientDataHealthStatus": "Healthy",
                    }
                },
            },
        },
        "Outputs": {"CheckId": {"Value": {"Ref": "Check"}}},
    }
    _, stack = _stack_change(cf, "alarm", "c", template, "CREATE")
    assert stack["StackStatus"] == "CREATE_COMPLETE", failure_reasons_of(cf, "alarm")
    from_stack = outputs(stack)["CheckId"]
    from_api = route53.create_health_check(
        CallerReference="shim",
        HealthCheckConfig={
            "Type": "CLOUDWATCH_METRIC",
            "AlarmIdentifier": {"Name": "shim-drain-primary", "Region": "us-west-2"},
            "InsufficientDataHealthStatus": "Healthy",
        },
    )["HealthCheck"]["Id"]

    def statuses() -> set[str]:
        return {
            route53.get_health_check_status(HealthCheckId=check)["HealthCheckObservations"][0][
                "StatusReport"
            ]["Status"]
            for check in (from_stack, from_api)
        }

    config = route53.get_health_check(HealthCheckId=from_stack)["HealthCheck"]["HealthCheckConfig"]
    assert config["AlarmIdentifier"] == {"Name": "shim-drain-primary", "Region": "us-west-2"}
    reads = "the data of CloudWatch alarm shim-drain-primary reads"
    assert statuses() == {f"Success: {reads} INSUFFICIENT_DATA"}, "no data: Healthy"
    cloudwatch.set_alarm_state(
        AlarmName="shim-drain-primary", StateValue="ALARM", StateReason="drain"
    )
    assert statuses() == {f"Success: {reads} INSUFFICIENT_DATA"}, "the state is not read"

    def publish(value: float, seconds_ago: int) -> None:
        at = datetime.now(timezone.utc) - timedelta(seconds=seconds_ago)
        cloudwatch.put_metric_data(
            Namespace="Ingest/Lever",
            MetricData=[{"MetricName": "DrainPrimary", "Value": value, "Timestamp": at}],
        )

    publish(0, 5)
    assert statuses() == {f"Success: {reads} OK"}
    publish(1, 10)
    assert statuses() == {f"Failure: {reads} ALARM"}, "Maximum over the period breaches"
    # Another dimension is another metric.
    cloudwatch.put_metric_data(
        Namespace="Ingest/Lever",
        MetricData=[
            {
                "MetricName": "DrainPrimary",
                "Value": 5,
                "Dimensions": [{"Name": "Region", "Value": "primary"}],
            }
        ],
    )
    assert statuses() == {f"Failure: {reads} ALARM"}


# --- CloudWatch over Smithy RPC v2 CBOR (the protocol aws-sdk-cloudwatch speaks) -------------


@pytest.fixture
def cbor_cloudwatch(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, list[Any]]:
    """A boto3 CloudWatch client that speaks rpc-v2-cbor (boto3 prefers JSON; botocore picks
    the first protocol of its priority list that the service offers), and the requests it
    sent, so the test can tell the route, not moto's JSON path, answered."""
    import botocore.model

    monkeypatch.setattr(
        botocore.model, "PRIORITY_ORDERED_SUPPORTED_PROTOCOLS", ("smithy-rpc-v2-cbor",)
    )
    client = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing"
    ).client(
        "cloudwatch",
        region_name="eu-central-1",
        endpoint_url=aws.endpoint,
        config=Config(retries={"max_attempts": 1}),
    )
    sent: list[Any] = []
    client.meta.events.register("before-send", lambda request, **_: sent.append(request))
    return client, sent


def test_cloudwatch_cbor_round_trip(
    aws: Aws, cbor_cloudwatch: tuple[Any, list[Any]]
) -> None:
    """Each operation ingest calls goes through the CBOR route to moto's CloudWatch backend
    and back: what PutMetricData wrote, GetMetricStatistics and GetMetricData read (the
    lever's publisher and `ingest status`), alarms made by PutMetricAlarm and moved by
    SetAlarmState are what DescribeAlarms lists, timestamps survive as CBOR tag 1, and the
    JSON client (moto's own path) sees the same data."""
    cloudwatch, sent = cbor_cloudwatch
    region = [{"Name": "Region", "Value": "primary"}]
    now = datetime.now(timezone.utc).replace(microsecond=0)
    window = {"StartTime": now - timedelta(minutes=5), "EndTime": now + timedelta(minutes=1)}

    cloudwatch.put_metric_data(
        Namespace="Ingest/Lever",
        MetricData=[
            {"MetricName": "Drain", "Dimensions": region, "Value": 1.0, "Timestamp": now},
            {
                "MetricName": "Drain",
                "Dimensions": region,
                "Value": 0.0,
                "Timestamp": now - timedelta(minutes=2),
            },
        ],
    )
    statistics = cloudwatch.get_metric_statistics(
        Namespace="Ingest/Lever",
        MetricName="Drain",
        Dimensions=region,
        Period=60,
        Statistics=["Maximum", "SampleCount"],
        **window,
    )
    points = sorted(statistics["Datapoints"], key=lambda point: point["Timestamp"])
    assert [(p["Timestamp"], p["Maximum"], p["SampleCount"]) for p in points] == [
        (now - timedelta(minutes=2), 0.0, 1.0),
        (now, 1.0, 1.0),
    ]

    data = cloudwatch.get_metric_data(
        MetricDataQueries=[
            {
                "Id": "drain",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "Ingest/Lever",
                        "MetricName": "Drain",
                        "Dimensions": region,
                    },
                    "Period": 60,
                    "Stat": "Maximum",
                },
            }
        ],
        ScanBy="TimestampDescending",
        **window,
    )
    [result] = data["MetricDataResults"]
    assert result["Id"] == "drain" and result["StatusCode"] == "Complete"
    assert dict(zip(result["Timestamps"], result["Values"])) == {
        now: 1.0,
        now - timedelta(minutes=2): 0.0,
    }

    cloudwatch.put_metric_alarm(
        AlarmName="lever-drain-primary",
        Namespace="Ingest/Lever",
        MetricName="Drain",
        Dimensions=region,
        Statistic="Maximum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1.0,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="notBreaching",
    )
    cloudwatch.set_alarm_state(
        AlarmName="lever-drain-primary", StateValue="ALARM", StateReason="drained by the test"
    )
    [alarm] = cloudwatch.describe_alarms(AlarmNames=["lever-drain-primary"])["MetricAlarms"]
    assert (alarm["StateValue"], alarm["StateReason"], alarm["Threshold"]) == (
        "ALARM",
        "drained by the test",
        1.0,
    )
    assert alarm["Dimensions"] == region and alarm["EvaluationPeriods"] == 1
    assert isinstance(alarm["StateUpdatedTimestamp"], datetime)

    # The same data through moto's JSON path: one backend behind both protocols.
    json_points = aws("cloudwatch", "eu-central-1").get_metric_statistics(
        Namespace="Ingest/Lever",
        MetricName="Drain",
        Dimensions=region,
        Period=60,
        Statistics=["Maximum"],
        **window,
    )["Datapoints"]
    assert sorted(p["Maximum"] for p in json_points) == [0.0, 1.0]

    operations = [request.url.rsplit("/", 1)[-1] for request in sent]
    assert operations == [
        "PutMetricData",
        "GetMetricStatistics",
        "GetMetricData",
        "PutMetricAlarm",
        "SetAlarmState",
        "DescribeAlarms",
    ]
    for request in sent:
        assert "/service/GraniteServiceVersion20100801/operation/" in request.url
        assert request.headers["smithy-protocol"] == b"rpc-v2-cbor"


def test_cloudwatch_cbor_compressed_put(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    """PutMetricData bodies the SDK gzips (its request compression, here from the first byte)
    are read as the uncompressed ones."""
    import botocore.model

    monkeypatch.setattr(
        botocore.model, "PRIORITY_ORDERED_SUPPORTED_PROTOCOLS", ("smithy-rpc-v2-cbor",)
    )
    client = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing").client(
        "cloudwatch",
        region_name="eu-central-1",
        endpoint_url=aws.endpoint,
        config=Config(retries={"max_attempts": 1}, request_min_compression_size_bytes=1),
    )
    encodings: list[Any] = []
    client.meta.events.register(
        "before-send",
        lambda request, **_: encodings.append(request.headers.get("Content-Encoding")),
    )
    now = datetime.now(timezone.utc).replace(microsecond=0)
    client.put_metric_data(
        Namespace="Ingest/Lever",
        MetricData=[{"MetricName": "Drain", "Value": 1.0, "Timestamp": now}],
    )
    assert encodings == [b"gzip"]
    points = client.get_metric_statistics(
        Namespace="Ingest/Lever",
        MetricName="Drain",
        Period=60,
        Statistics=["Maximum"],
        StartTime=now - timedelta(minutes=1),
        EndTime=now + timedelta(minutes=1),
    )["Datapoints"]
    assert [(p["Timestamp"], p["Maximum"]) for p in points] == [(now, 1.0)]


def test_cloudwatch_cbor_errors(aws: Aws, cbor_cloudwatch: tuple[Any, list[Any]]) -> None:
    """moto's errors come back in the protocol's shape: the status, `__type` and the
    awsQueryCompatible code; a request without the protocol header is refused."""
    cloudwatch, _ = cbor_cloudwatch
    with pytest.raises(ClientError) as raised:
        cloudwatch.set_alarm_state(AlarmName="missing", StateValue="OK", StateReason="x")
    error = raised.value.response
    assert error["Error"]["Code"] == "ResourceNotFound"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert error["ResponseMetadata"]["HTTPHeaders"]["content-type"] == "application/cbor"
    assert error["ResponseMetadata"]["HTTPHeaders"]["smithy-protocol"] == "rpc-v2-cbor"

    request = urllib.request.Request(
        f"{aws.endpoint}/service/GraniteServiceVersion20100801/operation/DescribeAlarms",
        data=b"\xa0",
        headers={
            "Content-Type": "application/cbor",
            "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20260101/eu-central-1/"
            "monitoring/aws4_request, SignedHeaders=host, Signature=0",
        },
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 400
    body = refused.value.read()
    assert b"com.amazonaws.cloudwatch#MissingSmithyProtocol" in body
