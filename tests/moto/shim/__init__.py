"""Test-only patches that let moto 5.2.5's server deploy ingest's generated stacks.

Each entry of PATCHES names a gap of moto (what it does wrong or not at all, as found in moto
5.2.5) and what the shim does instead. `install()` applies them all, once, and returns them so
the launcher can log them. Nothing here changes the templates: the shim makes the fake AWS
lenient only where moto is missing, and keeps failing where AWS would fail.
"""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Callable

MOTO_VERSION = "5.2.5"


@dataclass(frozen=True)
class Patch:
    name: str
    gap: str
    fix: str
    apply: Callable[[], None]


def _generic_models() -> None:
    from . import generic_hook

    generic_hook.install()


def _stack_lifecycle() -> None:
    from . import stacks

    stacks.install()


def _models(name: str) -> Callable[[], None]:
    def apply() -> None:
        from . import models

        getattr(models, f"install_{name}")()

    return apply


def _health() -> None:
    from . import health

    health.install()


def _sqs() -> None:
    from . import sqs

    sqs.install()


def _cloudwatch_cbor() -> None:
    from . import cloudwatch_cbor

    cloudwatch_cbor.install()


def _s3_versioning() -> None:
    from . import s3

    s3.install()


def _control() -> None:
    from . import control

    control.install()


def _generic_properties() -> None:
    from . import control

    control.install_resources()


PATCHES = [
    Patch(
        "generic-models",
        "moto's CloudFormation skips resource types it does not model (ApiGateway Stage, "
        "DomainName, BasePathMapping, Account; CloudWatch Alarm; Glue; Athena; Firehose; Logs "
        "LogStream; SNS Subscription; ...) and answers HTTP 500 on Fn::GetAtt of one",
        "a generic model per type from cfn-lint's resource schema: Ref/GetAtt answer the "
        "schema's identifier and attributes with deterministic, well-shaped values; unknown "
        "attributes fail",
        _generic_models,
    ),
    Patch(
        "stack-lifecycle",
        "change sets: no template checks, Changes ignore parameters, 'no changes' is "
        "UpdateStack's error, default type CREATE, names matched across stacks, outputs "
        "missing after ExecuteChangeSet; failures are HTTP 500 with no rollback; only "
        "stack-level events; removed resources deleted despite DeletionPolicy Retain; "
        "NoEcho parameters shown in DescribeStacks",
        "CloudFormation's lifecycle: synchronous template and parameter checks, schema "
        "validation of every resource's properties, per-resource events, updates only where "
        "resolved properties changed, replacement on create-only changes, rollback, "
        "DELETE_SKIPPED/DELETE_FAILED, NoEcho parameters answered as ****",
        _stack_lifecycle,
    ),
    Patch(
        "kms-key",
        "AWS::KMS::Key crashes on Tags (KeyError 'TagKey'), ignores KeySpec/KeyUsage/"
        "MultiRegion, stores the policy as a dict",
        "Tags converted to KMS's TagKey/TagValue, the policy as JSON, the key's spec kept",
        _models("kms_key"),
    ),
    Patch(
        "apigateway-method",
        "AWS::ApiGateway::Method drops Credentials (an S3 integration then fails: "
        "'Role ARN must be specified'), request/response templates, parameters, integration "
        "and method responses; a MOCK without IntegrationHttpMethod is a KeyError; no "
        "physical id; no update",
        "the whole method and integration put through moto's API Gateway backend, a "
        "deterministic id, update in place",
        _models("apigateway_method"),
    ),
    Patch(
        "apigateway-real",
        "AWS::ApiGateway::Deployment has no physical id (Ref gives the object); Stage, "
        "DomainName and BasePathMapping are not modelled although the API Gateway backend "
        "has them; moto's regional domain answers the CloudFront hosted zone",
        "Deployment's id as its Ref; Stage, DomainName, BasePathMapping created in the "
        "backend (GetStage, GetDomainName, GetBasePathMappings see them), the region's "
        "real API Gateway hosted zone id",
        _models("apigateway"),
    ),
    Patch(
        "route53",
        "RecordSet update/delete removes every record of the name (all regions' weighted "
        "records); names lack the trailing dot; HealthCheck ignores Inverted, EnableSNI, "
        "children, thresholds, alarm and tags, cannot be updated and is never deleted",
        "records keyed by (name, type, set identifier) with Route 53's own checks (zone "
        "exists, name in zone, alias xor records, weighted needs an identifier, no "
        "duplicate, health check exists); health checks created, updated in place and "
        "deleted with their whole config and tags",
        _models("route53"),
    ),
    Patch(
        "route53-health",
        "GetHealthCheckStatus always answers one fixed 'Success: HTTP Status Code: 200' "
        "observation, so neither a drain switch nor a failing endpoint can be observed",
        "checks evaluated against the fake: execute-api targets through the API's routes "
        "(routed on the path, the query string aside, as API Gateway does) and "
        "their MOCK, Kinesis and S3 integrations, string match, inversion, alarm state for "
        "CLOUDWATCH_METRIC; calculated checks refused as Route 53 refuses them",
        _health,
    ),
    Patch(
        "policies",
        "AWS::S3::BucketPolicy and AWS::SQS::QueuePolicy are skipped; moto's bucket-policy "
        "check ignores Conditions, so a DenyInsecureTransport statement denies every object "
        "request",
        "applied through moto's S3 and SQS backends (GetBucketPolicy, the queue's Policy "
        "attribute), removed on delete; statements apply only when their conditions hold "
        "(requests count as TLS, as the SDK's are on AWS)",
        _models("policies"),
    ),
    Patch(
        "s3-bucket",
        "AWS::S3::Bucket ignores VersioningConfiguration, PublicAccessBlockConfiguration, "
        "OwnershipControls and NotificationConfiguration (and S3's check that a notified "
        "queue's policy lets S3 send); deleting a bucket with objects reports success and "
        "keeps it",
        "these applied through moto's S3 backend on create and update, the queue policy "
        "checked first as S3 does (lifecycle rules and access logging stay unapplied); a "
        "bucket with objects fails to delete (BucketNotEmpty), as on AWS",
        _models("s3_bucket"),
    ),
    Patch(
        "lambda-function",
        "AWS::Lambda::Function drops Architectures (reports x86_64), TracingConfig, KmsKeyArn "
        "and Tags, takes its S3 code from a bucket in any region and ignores S3ObjectVersion",
        "those settings kept; the code bucket must be in the function's region and a given "
        "object version must exist, as Lambda requires (the code read is still the latest)",
        _models("lambda_function"),
    ),
    Patch(
        "lambda-permission",
        "AWS::Lambda::Permission has no physical id and is never deleted",
        "the statement added to the function's policy under a generated statement id (its "
        "physical id), removed with the stack",
        _models("lambda_permission"),
    ),
    Patch(
        "cloudwatch-alarm",
        "AWS::CloudWatch::Alarm is skipped (DescribeAlarms sees nothing)",
        "put through moto's CloudWatch backend (PutMetricAlarm semantics), deleted with the stack",
        _models("cloudwatch_alarm"),
    ),
    Patch(
        "cloudwatch-cbor",
        "CloudWatch's Smithy RPC v2 CBOR protocol (POST /service/GraniteServiceVersion20100801/"
        "operation/<Op>, the protocol aws-sdk-cloudwatch speaks) answers 404: moto serves "
        "only the query and JSON protocols",
        "the CBOR request decoded and sent to moto's own CloudWatch handler as the JSON "
        "request, its answer (or error, as __type) encoded back as CBOR with the protocol's "
        "headers",
        _cloudwatch_cbor,
    ),
    Patch(
        "s3-versioning-document",
        "GetBucketVersioning answers a <GetBucketVersioningResponse> root, which "
        "aws-sdk-s3 refuses (it expects S3's <VersioningConfiguration>)",
        "S3's document, <Status> only once versioning was set, from moto's backend",
        _s3_versioning,
    ),
    Patch(
        "sqs-redrive",
        "StartMessageMoveTask, ListMessageMoveTasks and CancelMessageMoveTask (dead-letter "
        "queue redrive) are not implemented",
        "implemented on moto's SQS backend with SQS's rules (the source must be a "
        "dead-letter queue; messages go back to its source queue or to DestinationArn); the "
        "move completes before StartMessageMoveTask returns",
        _sqs,
    ),
    Patch(
        "pseudo-parameters",
        "AWS::Partition and AWS::URLSuffix are always aws / amazonaws.com",
        "the region's partition and URL suffix (aws-cn, aws-us-gov)",
        _models("pseudo_parameters"),
    ),
    Patch(
        "hosted-zone-ids",
        "a hosted zone's id is random, so a template that names an existing zone "
        "(the dns stack's HostedZoneId) can never match",
        'POST /moto-api/ingest/hosted-zones {"Id": "Z...", "Name": "example.com"} '
        "creates a public zone with that id (test setup only)",
        _control,
    ),
    Patch(
        "generic-properties",
        "a resource of the generic model is in no service backend, so no API reads it back "
        "(a stack's WAFv2 web ACL and its rules)",
        "GET /moto-api/ingest/resources?region=R&stack=S&logical-id=L answers its resolved "
        "properties (test assertions only)",
        _generic_properties,
    ),
]

_installed = False


def install() -> list[Patch]:
    """Applies every patch (idempotent) and returns them, in order."""
    global _installed
    if not _installed:
        # moto builds its table of modelled types on first use; build it before the shim
        # defines model classes, so the table is moto's own.
        from moto.cloudformation import parsing

        parsing.get_model_map()
        for patch in PATCHES:
            patch.apply()
        _installed = True
    return list(PATCHES)
