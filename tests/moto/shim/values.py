"""Deterministic, type-appropriate values for what moto does not make up itself.

Everything here is a pure function of its inputs (a seed made of the stack id, the logical id
and a generation counter), so one resource answers the same id, name, ARN and attribute values
for as long as it lives, and a replacement gets new ones, as on AWS. Shapes follow AWS:
ARNs in the region's partition, generated names `<stack>-<logical>-<SUFFIX>` as
CloudFormation makes them, API Gateway custom-domain targets and their hosted zones.
"""

from __future__ import annotations

import hashlib
import string
from typing import Any

# The Route 53 hosted zone of API Gateway's regional endpoints, per region (AWS General
# Reference, "Amazon API Gateway endpoints and quotas", column "Route 53 Hosted Zone ID").
APIGATEWAY_REGIONAL_HOSTED_ZONES = {
    "us-east-1": "Z1UJRXOUMOOFQ8",
    "us-east-2": "ZOJJZC49E0EPZ",
    "us-west-1": "Z2MUQ32089INYE",
    "us-west-2": "Z2OJLYMUO9EFXC",
    "af-south-1": "Z2DHW2332DAMTN",
    "ap-east-1": "Z3FD1VL90ND7K5",
    "ap-south-1": "Z3VO1THU9YC4UR",
    "ap-northeast-1": "Z1YSHQZHG15GKL",
    "ap-northeast-2": "Z20JF4UZKIW1U8",
    "ap-southeast-1": "ZL327KTPIQFUL",
    "ap-southeast-2": "Z2RPCDW04V8134",
    "ca-central-1": "Z19DQILCV0OWEC",
    "eu-central-1": "Z1U9ULNL0V5AJ3",
    "eu-west-1": "ZLY8HYME6SFDD",
    "eu-west-2": "ZJ5UAJN8Y3Z2Q",
    "eu-west-3": "Z3KY65QIEKYHQQ",
    "eu-north-1": "Z3UWIKFBOOGXPP",
    "eu-south-1": "Z3BT4WSQ9TDYZV",
    "sa-east-1": "ZCMLWB8V5SYIT",
    "me-south-1": "Z20ZBPC0SS8806",
    "us-gov-west-1": "Z1K6XKP9SAGWDV",
    "us-gov-east-1": "Z3SE9ATJYCRCZJ",
}
# Edge-optimized endpoints are CloudFront distributions: one zone for every region.
CLOUDFRONT_HOSTED_ZONE = "Z2FDTNDATAQYW2"

_UPPER_DIGITS = string.ascii_uppercase + string.digits
_LOWER_DIGITS = string.ascii_lowercase + string.digits


def partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def url_suffix(region: str) -> str:
    return "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"


def token(seed: str, length: int, alphabet: str = _LOWER_DIGITS) -> str:
    """`length` characters of `alphabet`, derived from `seed` alone."""
    out = []
    counter = 0
    while len(out) < length:
        digest = hashlib.sha256(f"{seed}#{counter}".encode()).digest()
        out.extend(alphabet[b % len(alphabet)] for b in digest)
        counter += 1
    return "".join(out[:length])


def uuid_from(seed: str) -> str:
    h = hashlib.sha256(seed.encode()).hexdigest()
    return f"{h[0:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


def generated_name(stack_name: str, logical_id: str, seed: str, max_length: int = 255) -> str:
    """The name CloudFormation gives a resource whose name property is not set:
    `<stack>-<logical>-<13 characters>`, the stack and logical parts shortened to fit."""
    suffix = token(seed, 13, _UPPER_DIGITS)
    room = max_length - len(suffix) - 2
    stack_part = stack_name[: max(room // 2, room - len(logical_id))]
    logical_part = logical_id[: room - len(stack_part)]
    return f"{stack_part}-{logical_part}-{suffix}"


# ARN layouts of the types the generic model stands in for; `{name}` is the physical id.
# Types not listed get `arn:<partition>:<service>:<region>:<account>:<resource>/<name>`.
ARN_LAYOUTS = {
    "AWS::KinesisFirehose::DeliveryStream": "arn:{p}:firehose:{r}:{a}:deliverystream/{name}",
    "AWS::CloudWatch::Alarm": "arn:{p}:cloudwatch:{r}:{a}:alarm:{name}",
    "AWS::CloudWatch::CompositeAlarm": "arn:{p}:cloudwatch:{r}:{a}:alarm:{name}",
    "AWS::CloudWatch::Dashboard": "arn:{p}:cloudwatch::{a}:dashboard/{name}",
    "AWS::ApiGateway::DomainName": "arn:{p}:apigateway:{r}::/domainnames/{name}",
    "AWS::ApiGateway::RestApi": "arn:{p}:apigateway:{r}::/restapis/{name}",
    "AWS::Athena::WorkGroup": "arn:{p}:athena:{r}:{a}:workgroup/{name}",
    "AWS::Glue::Database": "arn:{p}:glue:{r}:{a}:database/{name}",
    "AWS::Logs::LogStream": "arn:{p}:logs:{r}:{a}:log-group:*:log-stream:{name}",
    "AWS::WAFv2::WebACL": "arn:{p}:wafv2:{r}:{a}:regional/webacl/{name}",
    "AWS::WAFv2::IPSet": "arn:{p}:wafv2:{r}:{a}:regional/ipset/{name}",
    "AWS::Route53RecoveryControl::Cluster": "arn:{p}:route53-recovery-control::{a}:cluster/{name}",
    "AWS::Route53RecoveryControl::ControlPanel": "arn:{p}:route53-recovery-control::{a}:controlpanel/{name}",
    "AWS::Route53RecoveryControl::RoutingControl": "arn:{p}:route53-recovery-control::{a}:controlpanel/*/routingcontrol/{name}",
}


def arn(type_name: str, name: str, region: str, account: str) -> str:
    layout = ARN_LAYOUTS.get(type_name)
    p = partition(region)
    if layout:
        return layout.format(p=p, r=region, a=account, name=name)
    _, service, resource = type_name.split("::")
    return f"arn:{p}:{service.lower()}:{region}:{account}:{resource.lower()}/{name}"


def attribute_value(
    type_name: str,
    attribute: str,
    attribute_schema: dict[str, Any],
    *,
    physical_id: str,
    properties: dict[str, Any],
    region: str,
    account: str,
    seed: str,
) -> Any:
    """The value `Fn::GetAtt` answers for an attribute the generic model stands in for."""
    leaf = attribute.split(".")[-1]
    seed = f"{seed}/{attribute}"
    if type_name == "AWS::ApiGateway::DomainName":
        if leaf == "RegionalDomainName":
            return f"d-{token(seed, 10)}.execute-api.{region}.{url_suffix(region)}"
        if leaf == "RegionalHostedZoneId":
            return APIGATEWAY_REGIONAL_HOSTED_ZONES.get(
                region, "Z" + token(seed, 13, _UPPER_DIGITS)
            )
        if leaf == "DistributionDomainName":
            return f"d{token(seed, 13)}.cloudfront.net"
        if leaf == "DistributionHostedZoneId":
            return CLOUDFRONT_HOSTED_ZONE
    if type_name == "AWS::SNS::Subscription" and leaf == "Arn":
        return f"{properties.get('TopicArn', arn('AWS::SNS::Topic', 'topic', region, account))}:{uuid_from(seed)}"
    kind = attribute_schema.get("type")
    if kind == "array":
        return []
    if kind == "integer" or kind == "number":
        return 0
    if kind == "boolean":
        return False
    if kind == "object":
        return {}
    if leaf == "Arn" or leaf.endswith("Arn"):
        return arn(type_name, physical_id, region, account)
    if leaf.endswith("HostedZoneId"):
        return "Z" + token(seed, 13, _UPPER_DIGITS)
    if leaf.endswith("DomainName"):
        return f"{token(seed, 10)}.{region}.{url_suffix(region)}"
    if leaf.endswith("Time") or leaf.endswith("Date"):
        return "2026-01-01T00:00:00Z"
    if leaf.endswith("Id"):
        return token(seed, 10)
    return f"{physical_id}-{leaf.lower()}"
