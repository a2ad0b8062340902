"""Resource models that replace or mend moto's, each backed by moto's own service backend.

Where moto's service API already keeps a resource (API Gateway stages and domain names,
Route 53 health checks and records, bucket and queue policies, CloudWatch alarms), the stack
creates it there, so the service's read APIs see what the stack made, exactly as on AWS. Each
`install_*` function is one entry of `shim.PATCHES`; the reason for each is written there.

The adapters share `Adapter`: a stack resource that remembers what it created (ids, the
properties it was made from) and answers Ref (`physical_resource_id`) and Fn::GetAtt from
that, updates in place by default (re-putting the resource under the same identity) and
deletes itself from the backend.
"""

from __future__ import annotations

import json
import re
import threading
from typing import Any

from moto.apigateway import models as apigateway_models
from moto.awslambda import models as awslambda_models
from moto.cloudformation import parsing
from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.cloudwatch.models import cloudwatch_backends
from moto.core.common_models import CloudFormationModel
from moto.kms import models as kms_models
from moto.route53 import models as route53_models
from moto.s3 import models as s3_models
from moto.s3.exceptions import BucketNotEmpty
from moto.sqs.models import sqs_backends

from . import schemas, values


class ShimError(Exception):
    """A resource the service would refuse; the message is what its event says."""


class Adapter(CloudFormationModel):
    """A stack resource kept in one of moto's service backends."""

    type_name = ""

    def __init__(
        self, physical_id: str, properties: dict[str, Any], region: str, account: str, seed: str
    ):
        self._physical_id = physical_id
        self.properties = properties
        self.region = region
        self.account = account
        self.seed = seed
        self.attributes: dict[str, Any] = {}

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
        if not schemas.has_attribute(self.region, self.type_name, attribute_name):
            raise UnformattedGetAttTemplateException()
        return values.attribute_value(
            self.type_name,
            attribute_name,
            schemas.attribute_schema(self.region, self.type_name, attribute_name),
            physical_id=self._physical_id,
            properties=self.properties,
            region=self.region,
            account=self.account,
            seed=self.seed,
        )

    @classmethod
    def create(
        cls, properties: dict[str, Any], region: str, account: str, seed: str, name: str
    ) -> Adapter:
        raise NotImplementedError

    def remove(self) -> None:
        raise NotImplementedError

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Adapter:
        seed = f"{kwargs.get('StackId', '')}/{kwargs.get('LogicalId', resource_name)}/{kwargs.get('Generation', 0)}"
        return cls.create(
            cloudformation_json.get("Properties") or {},
            region_name,
            account_id,
            seed,
            resource_name,
        )

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: Adapter,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Adapter:
        """Replaces the resource in the backend under the same identity (a create-only change
        gets a new seed, hence new generated identifiers)."""
        properties = cloudformation_json.get("Properties") or {}
        seed = original_resource.seed
        if schemas.replacing_paths(
            region_name, cls.type_name, original_resource.properties, properties
        ):
            seed = seed + "+"
        original_resource.remove()
        return cls.create(properties, region_name, account_id, seed, new_resource_name)

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
        self.remove()

    def is_created(self) -> bool:
        return True


def _register(adapter: type[Adapter]) -> None:
    parsing.get_model_map()[adapter.type_name] = adapter


def _tags(properties: dict[str, Any]) -> list[dict[str, str]]:
    return [{"Key": t["Key"], "Value": str(t["Value"])} for t in properties.get("Tags") or []]


# --- KMS -------------------------------------------------------------------------------------


def install_kms_key() -> None:
    def create_from_cloudformation_json(
        cls: Any,
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        backend = kms_models.kms_backends[account_id][region_name]
        properties = cloudformation_json["Properties"]
        policy = properties.get("KeyPolicy")
        key = backend.create_key(
            policy=json.dumps(policy) if isinstance(policy, dict) else policy,
            key_usage=properties.get("KeyUsage", "ENCRYPT_DECRYPT"),
            key_spec=properties.get("KeySpec", "SYMMETRIC_DEFAULT"),
            description=properties.get("Description", ""),
            tags=[
                {"TagKey": t["Key"], "TagValue": str(t["Value"])}
                for t in properties.get("Tags") or []
            ],
            multi_region=bool(properties.get("MultiRegion", False)),
        )
        key.key_rotation_status = str(properties.get("EnableKeyRotation", False)).lower() == "true"
        key.enabled = str(properties.get("Enabled", True)).lower() == "true"
        return key

    kms_models.Key.create_from_cloudformation_json = classmethod(create_from_cloudformation_json)  # type: ignore[assignment]


# --- API Gateway -----------------------------------------------------------------------------


def _apigateway(region: str, account: str) -> Any:
    return apigateway_models.apigateway_backends[account][region]


class ApiGatewayMethod(Adapter):
    """AWS::ApiGateway::Method with its whole integration (credentials, templates, parameters,
    integration and method responses), as PutMethod + PutIntegration + Put*Response."""

    type_name = "AWS::ApiGateway::Method"

    @classmethod
    def create(
        cls, properties: dict[str, Any], region: str, account: str, seed: str, name: str
    ) -> ApiGatewayMethod:
        backend = _apigateway(region, account)
        api, resource, verb = (
            properties["RestApiId"],
            properties["ResourceId"],
            properties["HttpMethod"],
        )
        backend.put_method(
            function_id=api,
            resource_id=resource,
            method_type=verb,
            authorization_type=properties.get("AuthorizationType", "NONE"),
            api_key_required=properties.get("ApiKeyRequired"),
            request_parameters=properties.get("RequestParameters"),
            request_models=properties.get("RequestModels"),
            operation_name=properties.get("OperationName"),
            authorizer_id=properties.get("AuthorizerId"),
            authorization_scopes=properties.get("AuthorizationScopes"),
            request_validator_id=properties.get("RequestValidatorId"),
        )
        integration = properties.get("Integration")
        if integration:
            backend.put_integration(
                function_id=api,
                resource_id=resource,
                method_type=verb,
                integration_type=integration["Type"],
                uri=integration.get("Uri"),
                integration_method=integration.get("IntegrationHttpMethod"),
                credentials=integration.get("Credentials"),
                request_templates=integration.get("RequestTemplates"),
                passthrough_behavior=integration.get("PassthroughBehavior"),
                cache_namespace=integration.get("CacheNamespace"),
                timeout_in_millis=integration.get("TimeoutInMillis"),
                request_parameters=integration.get("RequestParameters"),
                content_handling=integration.get("ContentHandling"),
                connection_type=integration.get("ConnectionType"),
            )
            for response in integration.get("IntegrationResponses") or []:
                backend.put_integration_response(
                    function_id=api,
                    resource_id=resource,
                    method_type=verb,
                    status_code=str(response["StatusCode"]),
                    selection_pattern=response.get("SelectionPattern"),
                    response_templates=response.get("ResponseTemplates"),
                    response_parameters=response.get("ResponseParameters"),
                    content_handling=response.get("ContentHandling"),
                )
        for response in properties.get("MethodResponses") or []:
            backend.put_method_response(
                function_id=api,
                resource_id=resource,
                method_type=verb,
                response_code=str(response["StatusCode"]),
                response_models=response.get("ResponseModels"),
                response_parameters=response.get("ResponseParameters"),
            )
        physical = f"{api[:5]}-{resource[:5]}-{values.token(seed, 12)}"
        return cls(physical, properties, region, account, seed)

    def remove(self) -> None:
        backend = _apigateway(self.region, self.account)
        p = self.properties
        if p["RestApiId"] in backend.apis:
            backend.delete_method(p["RestApiId"], p["ResourceId"], p["HttpMethod"])


class ApiGatewayStage(Adapter):
    """AWS::ApiGateway::Stage as CreateStage, with access logging and method settings."""

    type_name = "AWS::ApiGateway::Stage"

    @classmethod
    def create(
        cls, properties: dict[str, Any], region: str, account: str, seed: str, name: str
    ) -> ApiGatewayStage:
        backend = _apigateway(region, account)
        api_id = properties["RestApiId"]
        stage_name = properties.get("StageName") or values.generated_name(
            "stage", "Stage", seed, 64
        )
        deployment = properties.get("DeploymentId")
        api = backend.get_rest_api(api_id)
        if deployment and deployment not in api.deployments:
            raise ShimError(f"Invalid deployment identifier specified: {deployment}")
        stage = backend.create_stage(
            function_id=api_id,
            stage_name=stage_name,
            deploymentId=deployment,
            variables=properties.get("Variables"),
            description=properties.get("Description", ""),
            cacheClusterEnabled=properties.get("CacheClusterEnabled"),
            cacheClusterSize=properties.get("CacheClusterSize"),
            tags={t["Key"]: t["Value"] for t in _tags(properties)} or None,
            tracing_enabled=properties.get("TracingEnabled"),
        )
        access = properties.get("AccessLogSetting")
        if access:
            stage.access_log_settings = {
                "destinationArn": access.get("DestinationArn"),
                "format": access.get("Format"),
            }
        for setting in properties.get("MethodSettings") or []:
            path = setting.get("ResourcePath", "/*").lstrip("/") or "*"
            key = f"{path}/{setting.get('HttpMethod', '*')}"
            stage.method_settings[key] = {
                "metricsEnabled": setting.get("MetricsEnabled", False),
                "loggingLevel": setting.get("LoggingLevel", "OFF"),
                "dataTraceEnabled": setting.get("DataTraceEnabled", False),
                "throttlingBurstLimit": setting.get("ThrottlingBurstLimit"),
                "throttlingRateLimit": setting.get("ThrottlingRateLimit"),
                "cachingEnabled": setting.get("CachingEnabled", False),
            }
        resource = cls(stage_name, properties, region, account, seed)
        resource.api_id = api_id  # type: ignore[attr-defined]
        return resource

    def remove(self) -> None:
        backend = _apigateway(self.region, self.account)
        api_id = self.properties["RestApiId"]
        if api_id in backend.apis and self._physical_id in backend.apis[api_id].stages:
            backend.delete_stage(api_id, self._physical_id)


class ApiGatewayDomainName(Adapter):
    """AWS::ApiGateway::DomainName as CreateDomainName. The alias target is the regional
    `d-….execute-api.<region>.amazonaws.com` name in the region's real API Gateway hosted zone
    for REGIONAL, a `d….cloudfront.net` name in CloudFront's zone for EDGE; the attributes of
    the other kind are empty, as CloudFormation answers them."""

    type_name = "AWS::ApiGateway::DomainName"

    @classmethod
    def create(
        cls, properties: dict[str, Any], region: str, account: str, seed: str, name: str
    ) -> ApiGatewayDomainName:
        backend = _apigateway(region, account)
        domain = properties.get("DomainName")
        if not domain:
            raise ShimError("DomainName is required")
        endpoint = properties.get("EndpointConfiguration") or {"Types": ["EDGE"]}
        kinds = endpoint.get("Types") or ["EDGE"]
        if "REGIONAL" in kinds and not properties.get("RegionalCertificateArn"):
            raise ShimError(
                "A regional certificate is required for a regional custom domain (RegionalCertificateArn)"
            )
        if "EDGE" in kinds and not properties.get("CertificateArn"):
            raise ShimError(
                "A certificate is required for an edge-optimized custom domain (CertificateArn)"
            )
        if domain in backend.domain_names:
            raise ShimError(f"The domain name you provided already exists: {domain}")
        record = backend.create_domain_name(
            domain_name=domain,
            certificate_name=properties.get("CertificateName"),
            tags={t["Key"]: t["Value"] for t in _tags(properties)} or None,
            certificate_arn=properties.get("CertificateArn"),
            certificate_body=None,
            certificate_private_key=None,
            certificate_chain=None,
            regional_certificate_name=None,
            regional_certificate_arn=properties.get("RegionalCertificateArn"),
            endpoint_configuration={"types": kinds},
            security_policy=properties.get("SecurityPolicy"),
        )
        regional = "REGIONAL" in kinds
        record.regional_domain_name = (
            f"d-{values.token(seed + 'r', 10)}.execute-api.{region}.{values.url_suffix(region)}"
            if regional
            else None
        )
        record.regional_hosted_zone_id = (
            values.APIGATEWAY_REGIONAL_HOSTED_ZONES.get(
                region, "Z" + values.token(seed, 13, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
            )
            if regional
            else None
        )
        record.distribution_domain_name = (
            None if regional else f"d{values.token(seed + 'd', 13)}.cloudfront.net"
        )
        record.distribution_hosted_zone_id = None if regional else values.CLOUDFRONT_HOSTED_ZONE
        resource = cls(domain, properties, region, account, seed)
        resource.attributes = {
            "RegionalDomainName": record.regional_domain_name or "",
            "RegionalHostedZoneId": record.regional_hosted_zone_id or "",
            "DistributionDomainName": record.distribution_domain_name or "",
            "DistributionHostedZoneId": record.distribution_hosted_zone_id or "",
            "DomainNameArn": values.arn(cls.type_name, domain, region, account),
        }
        return resource

    def remove(self) -> None:
        backend = _apigateway(self.region, self.account)
        if self._physical_id in backend.domain_names:
            backend.delete_domain_name(self._physical_id)


class ApiGatewayBasePathMapping(Adapter):
    """AWS::ApiGateway::BasePathMapping as CreateBasePathMapping (the domain, API and stage
    must exist, as on AWS)."""

    type_name = "AWS::ApiGateway::BasePathMapping"

    @classmethod
    def create(
        cls, properties: dict[str, Any], region: str, account: str, seed: str, name: str
    ) -> ApiGatewayBasePathMapping:
        backend = _apigateway(region, account)
        mapping = backend.create_base_path_mapping(
            domain_name=properties["DomainName"],
            rest_api_id=properties.get("RestApiId"),
            base_path=properties.get("BasePath"),
            stage=properties.get("Stage"),
        )
        resource = cls(
            values.generated_name(properties["DomainName"], "BasePathMapping", seed, 128),
            properties,
            region,
            account,
            seed,
        )
        resource.base_path = mapping.base_path  # type: ignore[attr-defined]
        return resource

    def remove(self) -> None:
        backend = _apigateway(self.region, self.account)
        domain = self.properties["DomainName"]
        if self.base_path in backend.base_path_mappings.get(domain, {}):  # type: ignore[attr-defined]
            backend.delete_base_path_mapping(domain, self.base_path)  # type: ignore[attr-defined]


def install_apigateway_method() -> None:
    _register(ApiGatewayMethod)


def install_apigateway() -> None:
    apigateway_models.Deployment.physical_resource_id = property(lambda self: self.id)  # type: ignore[attr-defined]
    for adapter in (ApiGatewayStage, ApiGatewayDomainName, ApiGatewayBasePathMapping):
        _register(adapter)


# --- Route 53 --------------------------------------------------------------------------------


def _route53(account: str, region: str) -> Any:
    return route53_models.route53_backends[account][values.partition(region)]


class Route53HealthCheck(Adapter):
    """AWS::Route53::HealthCheck with its whole configuration and tags, updated in place
    (UpdateHealthCheck) and deleted with the stack."""

    type_name = "AWS::Route53::HealthCheck"

    @staticmethod
    def _arguments(config: dict[str, Any], backend: Any) -> dict[str, Any]:
        kind = config.get("Type")
        if kind == "CALCULATED":
            children = config.get("ChildHealthChecks") or []
            for child in children:
                if child not in backend.health_checks:
                    raise ShimError(
                        f"Invalid parameter: A health check with id {child} does not exist (ChildHealthChecks)"
                    )
        if kind in ("HTTP_STR_MATCH", "HTTPS_STR_MATCH") and not config.get("SearchString"):
            raise ShimError(
                f"Invalid parameter: SearchString is required for health checks of type {kind}"
            )
        if kind in ("HTTP", "HTTPS", "HTTP_STR_MATCH", "HTTPS_STR_MATCH", "TCP") and not (
            config.get("IPAddress") or config.get("FullyQualifiedDomainName")
        ):
            raise ShimError(
                f"Invalid parameter: IPAddress or FullyQualifiedDomainName is required for {kind}"
            )
        if kind == "CLOUDWATCH_METRIC" and not config.get("AlarmIdentifier"):
            raise ShimError("Invalid parameter: AlarmIdentifier is required for CLOUDWATCH_METRIC")
        if kind == "RECOVERY_CONTROL" and not config.get("RoutingControlArn"):
            raise ShimError("Invalid parameter: RoutingControlArn is required for RECOVERY_CONTROL")
        port = config.get("Port")
        if port is None and kind in ("HTTPS", "HTTPS_STR_MATCH"):
            port = 443
        return {
            "ip_address": config.get("IPAddress"),
            "port": port,
            "type": kind,
            "resource_path": config.get("ResourcePath"),
            "fqdn": config.get("FullyQualifiedDomainName"),
            "search_string": config.get("SearchString"),
            "request_interval": config.get("RequestInterval"),
            "failure_threshold": config.get("FailureThreshold"),
            "health_threshold": config.get("HealthThreshold"),
            "measure_latency": config.get("MeasureLatency"),
            "inverted": config.get("Inverted"),
            "disabled": config.get("Disabled"),
            "enable_sni": config.get("EnableSNI"),
            "children": config.get("ChildHealthChecks") or [],
            "regions": config.get("Regions") or [],
        }

    @staticmethod
    def _extras(check: Any, config: dict[str, Any]) -> None:
        check.alarm_identifier = config.get("AlarmIdentifier")
        check.insufficient_data_health_status = config.get("InsufficientDataHealthStatus")
        check.routing_control_arn = config.get("RoutingControlArn")

    @classmethod
    def create(
        cls, properties: dict[str, Any], region: str, account: str, seed: str, name: str
    ) -> Route53HealthCheck:
        backend = _route53(account, region)
        config = properties["HealthCheckConfig"]
        check = backend.create_health_check(
            caller_reference=values.uuid_from(seed),
            health_check_args=cls._arguments(config, backend),
        )
        cls._extras(check, config)
        tags = [
            {"Key": t["Key"], "Value": str(t["Value"])}
            for t in properties.get("HealthCheckTags") or []
        ]
        if tags:
            backend.change_tags_for_resource("healthcheck", check.id, tags, [])
        resource = cls(check.id, properties, region, account, seed)
        resource.attributes = {"HealthCheckId": check.id}
        return resource

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: Route53HealthCheck,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Route53HealthCheck:
        properties = cloudformation_json.get("Properties") or {}
        if schemas.replacing_paths(
            region_name, cls.type_name, original_resource.properties, properties
        ):
            original_resource.remove()
            return cls.create(
                properties, region_name, account_id, original_resource.seed + "+", new_resource_name
            )
        backend = _route53(account_id, region_name)
        config = properties["HealthCheckConfig"]
        check = backend.update_health_check(
            original_resource.physical_resource_id, cls._arguments(config, backend)
        )
        cls._extras(check, config)
        check.health_check_version += 1
        backend.resource_tags.pop(check.id, None)
        tags = [
            {"Key": t["Key"], "Value": str(t["Value"])}
            for t in properties.get("HealthCheckTags") or []
        ]
        if tags:
            backend.change_tags_for_resource("healthcheck", check.id, tags, [])
        resource = cls(check.id, properties, region_name, account_id, original_resource.seed)
        resource.attributes = dict(original_resource.attributes)
        return resource

    def remove(self) -> None:
        backend = _route53(self.account, self.region)
        backend.delete_health_check(self._physical_id)
        backend.resource_tags.pop(self._physical_id, None)


def _absolute(name: str) -> str:
    return name if name.endswith(".") else name + "."


class Route53RecordSet(Adapter):
    """AWS::Route53::RecordSet keyed, as Route 53 keys records, by (name, type, set
    identifier): updating or deleting one weighted record leaves the others of its name."""

    type_name = "AWS::Route53::RecordSet"

    @staticmethod
    def _zone(properties: dict[str, Any], backend: Any) -> Any:
        zone_id = properties.get("HostedZoneId")
        if zone_id:
            zone = backend.zones.get(str(zone_id).replace("/hostedzone/", ""))
            if zone is None:
                raise ShimError(f"No hosted zone found with ID: {zone_id}")
            return zone
        zone_name = properties.get("HostedZoneName")
        if not zone_name:
            raise ShimError("Exactly one of HostedZoneId and HostedZoneName must be specified")
        for zone in backend.zones.values():
            if _absolute(zone.name) == _absolute(zone_name):
                return zone
        raise ShimError(f"No hosted zone found with name: {zone_name}")

    @staticmethod
    def _matches(record: Any, name: str, kind: str, set_identifier: Any) -> bool:
        return (
            _absolute(record.name).lower() == name.lower()
            and record.type == kind
            and record.set_identifier == set_identifier
        )

    @classmethod
    def create(
        cls, properties: dict[str, Any], region: str, account: str, seed: str, name: str
    ) -> Route53RecordSet:
        backend = _route53(account, region)
        zone = cls._zone(properties, backend)
        record_name = _absolute(properties["Name"])
        kind = properties["Type"]
        set_identifier = properties.get("SetIdentifier")
        where = f"[Action=CREATE, Name={record_name}, Type={kind}, SetIdentifier={set_identifier or 'null'}]"
        if not record_name.lower().endswith(_absolute(zone.name).lower()) or (
            record_name.lower() != _absolute(zone.name).lower()
            and not record_name.lower().endswith("." + _absolute(zone.name).lower())
        ):
            raise ShimError(
                f"RRSet with DNS name {record_name} is not permitted in zone {_absolute(zone.name)}"
            )
        alias = properties.get("AliasTarget")
        has_records = bool(properties.get("ResourceRecords"))
        if alias and (has_records or "TTL" in properties):
            raise ShimError(
                "Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], "
                f"or TrafficPolicyInstanceId], but found more than one in Change with {where}"
            )
        if not alias and not (has_records and "TTL" in properties):
            raise ShimError(
                "Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], "
                f"or TrafficPolicyInstanceId], but found none in Change with {where}"
            )
        routed = any(
            k in properties
            for k in (
                "Weight",
                "Region",
                "Failover",
                "GeoLocation",
                "MultiValueAnswer",
                "CidrRoutingConfig",
                "GeoProximityLocation",
            )
        )
        if routed and not set_identifier:
            raise ShimError(
                f"Invalid request: Missing field 'SetIdentifier' in Change with {where}"
            )
        if set_identifier and not routed:
            raise ShimError(f"Invalid request: Missing field 'Weight' in Change with {where}")
        if "Weight" in properties and not 0 <= int(properties["Weight"]) <= 255:
            raise ShimError(
                f"Invalid request: Weight must be between 0 and 255 in Change with {where}"
            )
        health_check = properties.get("HealthCheckId")
        if health_check and health_check not in backend.health_checks:
            raise ShimError(
                f"Invalid request: The health check with id {health_check} does not exist"
            )
        if any(cls._matches(r, record_name, kind, set_identifier) for r in zone.rrsets):
            raise ShimError(
                f"Tried to create resource record set [name='{record_name}', type='{kind}'"
                + (f", set-identifier='{set_identifier}'" if set_identifier else "")
                + "] but it already exists"
            )
        record = {
            k: v
            for k, v in properties.items()
            if k not in ("HostedZoneId", "HostedZoneName", "Comment")
        }
        record["Name"] = record_name
        if "Weight" in record:
            record["Weight"] = int(record["Weight"])
        zone.add_rrset(record)
        zone.rr_changes.append({"Action": "CREATE", "ResourceRecordSet": dict(record)})
        resource = cls(str(properties["Name"]), properties, region, account, seed)
        resource.zone_id = zone.id  # type: ignore[attr-defined]
        resource.key = (record_name, kind, set_identifier)  # type: ignore[attr-defined]
        return resource

    def remove(self) -> None:
        backend = _route53(self.account, self.region)
        zone = backend.zones.get(self.zone_id.replace("/hostedzone/", ""))  # type: ignore[attr-defined]
        if zone is None:
            return
        name, kind, set_identifier = self.key  # type: ignore[attr-defined]
        zone.rrsets = [r for r in zone.rrsets if not self._matches(r, name, kind, set_identifier)]
        zone.rr_changes[:] = [
            c
            for c in zone.rr_changes
            if not (
                _absolute(c["ResourceRecordSet"]["Name"]).lower() == name.lower()
                and c["ResourceRecordSet"].get("Type") == kind
                and c["ResourceRecordSet"].get("SetIdentifier") == set_identifier
            )
        ]


def install_route53() -> None:
    _register(Route53HealthCheck)
    _register(Route53RecordSet)
    original = route53_models.HealthCheck.health_check_config

    def health_check_config(self: Any) -> dict[str, Any]:
        config = original.fget(self)
        for key, attribute in (
            ("AlarmIdentifier", "alarm_identifier"),
            ("InsufficientDataHealthStatus", "insufficient_data_health_status"),
            ("RoutingControlArn", "routing_control_arn"),
        ):
            if getattr(self, attribute, None):
                config[key] = getattr(self, attribute)
        return config

    route53_models.HealthCheck.health_check_config = property(health_check_config)  # type: ignore[assignment]


# --- policies --------------------------------------------------------------------------------


def _s3(account: str, region: str) -> Any:
    return s3_models.s3_backends[account][values.partition(region)]


class S3BucketPolicy(Adapter):
    """AWS::S3::BucketPolicy as PutBucketPolicy (the bucket must exist)."""

    type_name = "AWS::S3::BucketPolicy"

    @classmethod
    def create(
        cls, properties: dict[str, Any], region: str, account: str, seed: str, name: str
    ) -> S3BucketPolicy:
        bucket = properties["Bucket"]
        document = properties["PolicyDocument"]
        _s3(account, region).put_bucket_policy(
            bucket, (json.dumps(document) if not isinstance(document, str) else document).encode()
        )
        return cls(bucket, properties, region, account, seed)

    def remove(self) -> None:
        backend = _s3(self.account, self.region)
        if self._physical_id in backend.buckets:
            backend.delete_bucket_policy(self._physical_id)


def _queue_name(url_or_name: str) -> str:
    return url_or_name.rstrip("/").split("/")[-1]


class SqsQueuePolicy(Adapter):
    """AWS::SQS::QueuePolicy as the Policy attribute of each queue (the queues must exist)."""

    type_name = "AWS::SQS::QueuePolicy"

    @classmethod
    def create(
        cls, properties: dict[str, Any], region: str, account: str, seed: str, name: str
    ) -> SqsQueuePolicy:
        backend = sqs_backends[account][region]
        document = properties["PolicyDocument"]
        policy = json.dumps(document) if not isinstance(document, str) else document
        for queue in properties["Queues"]:
            backend.set_queue_attributes(_queue_name(queue), {"Policy": policy})
        resource = cls(
            values.generated_name("queue", "QueuePolicy", seed, 128),
            properties,
            region,
            account,
            seed,
        )
        resource.attributes = {"Id": resource._physical_id}
        return resource

    def remove(self) -> None:
        backend = sqs_backends[self.account][self.region]
        for queue in self.properties["Queues"]:
            if _queue_name(queue) in backend.queues:
                backend.set_queue_attributes(_queue_name(queue), {"Policy": ""})


# What a bucket policy's conditions see of a request to the fake. The SDK talks to AWS over
# TLS; the fake's plain-HTTP loopback endpoint stands in for that, so transport is secure.
REQUEST_CONTEXT = {"aws:securetransport": "true"}
# The principal of the object request being handled (`aws:PrincipalArn`), set per request.
_REQUEST = threading.local()
NEGATED = ("StringNotEquals", "StringNotEqualsIgnoreCase", "ArnNotEquals", "StringNotLike", "ArnNotLike")


def principal_arn(authorization: str) -> str | None:
    """`aws:PrincipalArn` of a signed request: the role of an assumed-role session (as IAM
    reports roles, not sessions), an IAM user, else the account's root (moto's default test
    credentials stand for the account)."""
    from moto.iam.models import get_account_id_from, iam_backends
    from moto.sts.models import sts_backends

    match = re.search(r"Credential=([^/,\s]+)/", authorization or "")
    if not match:
        return None
    key = match.group(1)
    account = get_account_id_from(key)
    for partition in sts_backends[account]:
        role = sts_backends[account][partition].get_assumed_role_from_access_key(key)
        if role:
            return role.role_arn
    for partition in iam_backends[account]:
        user = iam_backends[account][partition].get_user_from_access_key_id(key)
        if user:
            return user.arn
    return f"arn:aws:iam::{account}:root"


def _request_context() -> dict[str, str]:
    context = dict(REQUEST_CONTEXT)
    arn = getattr(_REQUEST, "principal_arn", None)
    if arn:
        context["aws:principalarn"] = arn.lower()
    return context


def _condition_holds(operator: str, values: dict[str, Any]) -> bool:
    """One condition block of a policy statement against the request's context, with IAM's
    rules for a key missing from the request: it fails the condition, except a negated
    operator (`StringNotEquals`, `ArnNotEquals`...), which then holds, and `...IfExists`."""
    if_exists = operator.endswith("IfExists")
    base = operator.removesuffix("IfExists")
    context = _request_context()
    for key, expected in values.items():
        wanted = [str(v).lower() for v in (expected if isinstance(expected, list) else [expected])]
        actual = context.get(key.lower())
        if base == "Null":
            if (actual is None) != (wanted[0] == "true"):
                return False
            continue
        if actual is None:
            if if_exists or base in NEGATED:
                continue
            return False
        if base in ("Bool", "StringEquals", "StringEqualsIgnoreCase", "ArnEquals"):
            ok = actual in wanted
        elif base in ("StringNotEquals", "StringNotEqualsIgnoreCase", "ArnNotEquals"):
            ok = actual not in wanted
        elif base in ("StringLike", "ArnLike"):
            ok = any(
                re.fullmatch(re.escape(w).replace("\\*", ".*").replace("\\?", "."), actual)
                for w in wanted
            )
        elif base in ("StringNotLike", "ArnNotLike"):
            ok = not any(
                re.fullmatch(re.escape(w).replace("\\*", ".*").replace("\\?", "."), actual)
                for w in wanted
            )
        else:
            return False
        if not ok:
            return False
    return True


def _bucket_permission(self: Any, action: str, resource: str) -> Any:
    """moto's FakeBucket.get_permission, with conditions evaluated: moto applies a statement
    whatever its Condition says (an unsupported operator such as Bool counts as met), so the
    usual `DenyInsecureTransport` statement (Deny s3:* when aws:SecureTransport is false)
    denied every object request. A statement whose conditions do not hold does not apply."""
    from moto.iam.access_control import IAMPolicyStatement, PermissionResult

    if self.policy is None:
        return PermissionResult.NEUTRAL
    document = json.loads(self.policy.decode() if isinstance(self.policy, bytes) else self.policy)
    statements = document.get("Statement", [])
    permitted = False
    for statement in statements if isinstance(statements, list) else [statements]:
        conditions = statement.get("Condition") or {}
        if not all(_condition_holds(op, values) for op, values in conditions.items()):
            continue
        unconditional = {k: v for k, v in statement.items() if k != "Condition"}
        result = IAMPolicyStatement(unconditional).is_action_permitted(action, resource)
        if result == PermissionResult.DENIED:
            return result
        permitted = permitted or result == PermissionResult.PERMITTED
    return PermissionResult.PERMITTED if permitted else PermissionResult.NEUTRAL


def _with_principal(handler: Any) -> Any:
    """S3's object handler, with the request's principal known to the bucket policy."""

    def wrapped(self: Any, request: Any, full_url: str, headers: Any) -> Any:
        _REQUEST.principal_arn = principal_arn(request.headers.get("Authorization", ""))
        try:
            return handler(self, request, full_url, headers)
        finally:
            _REQUEST.principal_arn = None

    return wrapped


def install_policies() -> None:
    from moto.s3.responses import S3Response

    _register(S3BucketPolicy)
    _register(SqsQueuePolicy)
    s3_models.FakeBucket.get_permission = _bucket_permission  # type: ignore[method-assign]
    S3Response.key_response = _with_principal(S3Response.key_response)  # type: ignore[method-assign]


# --- S3 buckets ------------------------------------------------------------------------------


def _allows_s3_send(policy: str | None, queue_arn: str) -> bool:
    """Whether a queue policy lets S3 send to the queue (what S3 checks before it accepts a
    notification configuration)."""
    if not policy:
        return False
    try:
        document = json.loads(policy)
    except ValueError:
        return False
    statements = document.get("Statement", [])
    for statement in statements if isinstance(statements, list) else [statements]:
        if statement.get("Effect") != "Allow":
            continue
        principal = statement.get("Principal")
        services = principal.get("Service") if isinstance(principal, dict) else principal
        services = services if isinstance(services, list) else [services]
        if not any(s == "*" or str(s).startswith("s3.") for s in services):
            continue
        actions = statement.get("Action", [])
        actions = actions if isinstance(actions, list) else [actions]
        if not any(a in ("*", "sqs:*", "sqs:SendMessage") for a in actions):
            continue
        resources = statement.get("Resource", "*")
        resources = resources if isinstance(resources, list) else [resources]
        if any(r in ("*", queue_arn) for r in resources):
            return True
    return False


def _notification_config(properties: dict[str, Any], region: str, account: str) -> dict[str, Any]:
    """CloudFormation's NotificationConfiguration in the shape moto's S3 backend keeps, after
    S3's own check that it may deliver to each queue."""
    source = properties.get("NotificationConfiguration") or {}
    config: dict[str, Any] = {}
    for cfn_key, api_key, target in (
        ("QueueConfigurations", "QueueConfiguration", "Queue"),
        ("TopicConfigurations", "TopicConfiguration", "Topic"),
        ("LambdaConfigurations", "CloudFunctionConfiguration", "Function"),
    ):
        entries = []
        for entry in source.get(cfn_key) or []:
            converted: dict[str, Any] = {
                "CloudFunction" if target == "Function" else target: entry[target],
                "Event": [entry["Event"]],
            }
            rules = ((entry.get("Filter") or {}).get("S3Key") or {}).get("Rules")
            if rules:
                converted["Filter"] = {
                    "S3Key": {
                        "FilterRule": [{"Name": r["Name"], "Value": r["Value"]} for r in rules]
                    }
                }
            if target == "Queue":
                queue = sqs_backends[account][region].queues.get(entry["Queue"].split(":")[-1])
                if queue is None or not _allows_s3_send(queue.policy, entry["Queue"]):
                    raise ShimError(
                        "Unable to validate the following destination configurations "
                        f"(Service: Amazon S3; Status Code: 400; Error Code: InvalidArgument): {entry['Queue']}"
                    )
            entries.append(converted)
        if entries:
            config[api_key] = entries
    if "EventBridgeConfiguration" in source:
        config["EventBridgeConfiguration"] = {}
    return config


def _apply_bucket_settings(
    bucket_name: str, properties: dict[str, Any], region: str, account: str
) -> None:
    backend = _s3(account, region)
    versioning = properties.get("VersioningConfiguration")
    if versioning:
        backend.put_bucket_versioning(bucket_name, versioning["Status"])
    block = properties.get("PublicAccessBlockConfiguration")
    if block:
        backend.put_public_access_block(bucket_name, {k: str(v).lower() for k, v in block.items()})
    else:
        backend.get_bucket(bucket_name).public_access_block = None
    ownership = properties.get("OwnershipControls")
    if ownership and ownership.get("Rules"):
        backend.put_bucket_ownership_controls(bucket_name, ownership["Rules"][0]["ObjectOwnership"])
    backend.put_bucket_notification_configuration(
        bucket_name, _notification_config(properties, region, account)
    )


def install_s3_bucket() -> None:
    bucket_class = s3_models.FakeBucket
    create = bucket_class.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]
    update = bucket_class.update_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create_from_cloudformation_json(
        cls: Any,
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        properties = cloudformation_json.get("Properties") or {}
        if "NotificationConfiguration" in properties:
            _notification_config(properties, region_name, account_id)  # S3 checks before creating
        bucket = create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        _apply_bucket_settings(bucket.name, properties, region_name, account_id)
        return bucket

    def update_from_cloudformation_json(
        cls: Any,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
    ) -> Any:
        bucket = update(
            cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
        )
        _apply_bucket_settings(
            bucket.name, cloudformation_json.get("Properties") or {}, region_name, account_id
        )
        return bucket

    def delete_from_cloudformation_json(
        cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> None:
        # moto's delete_bucket answers None for a bucket with objects and keeps it; the stack
        # would then report the bucket deleted. S3 refuses, and so does the shim.
        backend = _s3(account_id, region_name)
        if resource_name in backend.buckets and backend.buckets[resource_name].keys:
            raise BucketNotEmpty(resource_name)
        backend.delete_bucket(resource_name)

    bucket_class.create_from_cloudformation_json = classmethod(create_from_cloudformation_json)  # type: ignore[assignment]
    bucket_class.delete_from_cloudformation_json = classmethod(delete_from_cloudformation_json)  # type: ignore[assignment]
    bucket_class.update_from_cloudformation_json = classmethod(update_from_cloudformation_json)  # type: ignore[assignment]


# --- Lambda functions ------------------------------------------------------------------------


def _check_code(code: dict[str, Any], region: str, account: str) -> None:
    """Lambda's own checks of a function's S3 code that moto skips: the bucket is in the
    function's region, and a given S3ObjectVersion exists."""
    bucket_name, key = code.get("S3Bucket"), code.get("S3Key")
    if not bucket_name or not key:
        return
    backend = _s3(account, region)
    bucket = backend.buckets.get(bucket_name)
    if bucket is None:
        return  # moto's own check answers NoSuchBucket
    if bucket.region_name != region:
        raise ShimError(
            "Error occurred while GetObject. S3 Error Code: PermanentRedirect. S3 Error Message: "
            f"The bucket is in this region: {bucket.region_name}. Please use this region to retry the request"
        )
    version = code.get("S3ObjectVersion")
    if version and backend.get_object(bucket_name, key, version_id=str(version)) is None:
        raise ShimError(
            "Error occurred while GetObject. S3 Error Code: NoSuchVersion. S3 Error Message: "
            "The specified version does not exist."
        )


def _function_settings(function: Any, properties: dict[str, Any]) -> None:
    """What moto's model leaves out of the function it makes from a template."""
    function.architectures = properties.get("Architectures") or ["x86_64"]
    function.tracing_config = properties.get("TracingConfig") or {"Mode": "PassThrough"}
    function.kms_key_arn = properties.get("KmsKeyArn")
    function.tags = {t["Key"]: str(t["Value"]) for t in _tags(properties)}


def install_lambda_function() -> None:
    function_class = awslambda_models.LambdaFunction
    create = function_class.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]
    update = function_class.update_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create_from_cloudformation_json(
        cls: Any,
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        properties = cloudformation_json["Properties"]
        _check_code(properties.get("Code") or {}, region_name, account_id)
        function = create(
            cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
        )
        _function_settings(function, properties)
        return function

    def update_from_cloudformation_json(
        cls: Any,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
    ) -> Any:
        properties = cloudformation_json["Properties"]
        _check_code(properties.get("Code") or {}, region_name, account_id)
        function = update(
            cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
        )
        _function_settings(function, properties)
        return function

    function_class.create_from_cloudformation_json = classmethod(create_from_cloudformation_json)  # type: ignore[assignment]
    function_class.update_from_cloudformation_json = classmethod(update_from_cloudformation_json)  # type: ignore[assignment]


# --- CloudWatch alarms -----------------------------------------------------------------------


class CloudWatchAlarm(Adapter):
    """AWS::CloudWatch::Alarm as PutMetricAlarm (single-metric alarms; metric-math alarms are
    refused rather than half made)."""

    type_name = "AWS::CloudWatch::Alarm"

    @classmethod
    def create(
        cls, properties: dict[str, Any], region: str, account: str, seed: str, name: str
    ) -> CloudWatchAlarm:
        if properties.get("Metrics"):
            raise ShimError(
                "the shim does not model metric-math alarms (Metrics); use a single-metric alarm"
            )
        alarm_name = properties.get("AlarmName") or name
        backend = cloudwatch_backends[account][region]
        alarm = backend.put_metric_alarm(
            name=alarm_name,
            namespace=properties.get("Namespace"),
            metric_name=properties.get("MetricName"),
            comparison_operator=properties["ComparisonOperator"],
            evaluation_periods=int(properties["EvaluationPeriods"]),
            period=int(properties["Period"]) if "Period" in properties else None,  # type: ignore[arg-type]
            threshold=float(properties["Threshold"]) if "Threshold" in properties else None,  # type: ignore[arg-type]
            statistic=properties.get("Statistic"),
            description=properties.get("AlarmDescription"),
            dimensions=[
                {"Name": d["Name"], "Value": str(d["Value"])}
                for d in properties.get("Dimensions") or []
            ],
            alarm_actions=properties.get("AlarmActions") or [],
            datapoints_to_alarm=int(properties["DatapointsToAlarm"])
            if "DatapointsToAlarm" in properties
            else None,
            extended_statistic=properties.get("ExtendedStatistic"),
            ok_actions=properties.get("OKActions") or [],
            insufficient_data_actions=properties.get("InsufficientDataActions") or [],
            unit=properties.get("Unit"),
            actions_enabled=str(properties.get("ActionsEnabled", True)).lower() == "true",
            treat_missing_data=properties.get("TreatMissingData"),
            evaluate_low_sample_count_percentile=properties.get("EvaluateLowSampleCountPercentile"),
            threshold_metric_id=properties.get("ThresholdMetricId"),
            tags=_tags(properties),
        )
        resource = cls(alarm_name, properties, region, account, seed)
        resource.attributes = {"Arn": alarm.alarm_arn}
        return resource

    def remove(self) -> None:
        cloudwatch_backends[self.account][self.region].delete_alarms([self._physical_id])


def install_cloudwatch_alarm() -> None:
    _register(CloudWatchAlarm)


# --- Lambda permissions ----------------------------------------------------------------------


class LambdaPermission(Adapter):
    """AWS::Lambda::Permission as a statement of the function's resource policy
    (`GetPolicy` shows it), with the statement id as its physical id; deleted with the stack."""

    type_name = "AWS::Lambda::Permission"

    @classmethod
    def create(
        cls, properties: dict[str, Any], region: str, account: str, seed: str, name: str
    ) -> LambdaPermission:
        statement_id = values.generated_name("permission", "Permission", seed, 100)
        function = str(properties["FunctionName"]).rsplit(":", 1)[-1]
        raw = {
            "StatementId": statement_id,
            "Action": properties["Action"],
            "Principal": properties["Principal"],
            **{
                key: properties[key]
                for key in ("SourceArn", "SourceAccount", "EventSourceToken")
                if key in properties
            },
        }
        awslambda_models.lambda_backends[account][region].get_function(
            function
        ).policy.add_statement(json.dumps(raw))
        resource = cls(statement_id, properties, region, account, seed)
        resource.attributes = {"Id": statement_id}
        return resource

    def remove(self) -> None:
        backend = awslambda_models.lambda_backends[self.account][self.region]
        function = str(self.properties["FunctionName"]).rsplit(":", 1)[-1]
        try:
            backend.remove_permission(function, self._physical_id)
        except Exception:  # noqa: BLE001 - the function went first: nothing left to remove
            pass


def install_lambda_permission() -> None:
    _register(LambdaPermission)


# --- pseudo parameters -----------------------------------------------------------------------


def install_pseudo_parameters() -> None:
    original = parsing.ResourceMap.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        region = self._region_name
        self._parsed_resources["AWS::Partition"] = values.partition(region)
        self._parsed_resources["AWS::URLSuffix"] = values.url_suffix(region)

    parsing.ResourceMap.__init__ = __init__  # type: ignore[method-assign]
