//! The lever across crates: what `ingest lever` writes (synth) is what the publisher reads
//! (runtime), and what the publisher publishes is what the stacks' switch alarms watch.

use std::path::PathBuf;
use std::sync::Arc;

use ingest_runtime::pipeline::lever::{DIMENSION_PIPELINE, DIMENSION_REGION, read_body};
use ingest_synth::diagnostic::SourceFile;
use ingest_synth::lever::SwitchBody;
use ingest_synth::render::{self, Templates};
use serde_json::Value;

fn secondary_stack() -> (ingest_synth::plan::Plan, Value) {
    let spec = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../specs/ingest.yaml"));
    let plan = ingest_synth::check_spec(&spec).unwrap().plan;
    let rendered = render::render(&plan, &Templates::embedded().unwrap()).unwrap();
    let text = &rendered
        .stacks
        .iter()
        .find(|s| s.kind == "secondary")
        .unwrap()
        .text;
    let source = Arc::new(SourceFile::new("secondary.yaml", text.clone()));
    let json = ingest_synth::yaml::parse_cloudformation(&source)
        .unwrap()
        .to_json(&source, &mut Vec::new());
    (plan, json)
}

#[test]
fn what_the_lever_writes_the_publisher_reads() {
    for drained in [true, false] {
        let body = SwitchBody {
            drained,
            by: "ingest lever drain primary".into(),
            at: "2026-12-01T10:00:00Z".into(),
        };
        let reading = read_body("primary", body.to_json().as_bytes());
        assert_eq!(reading.state, "set");
        assert_eq!(reading.drained, drained);
        assert_eq!(reading.at, body.at);
    }
}

#[test]
fn the_switch_alarms_watch_what_the_publisher_publishes() {
    let (plan, stack) = secondary_stack();
    let resources = stack["Resources"].as_object().unwrap();
    let variables = &resources["LeverFunction"]["Properties"]["Environment"]["Variables"];
    assert_eq!(variables["INGEST_ROLE"], "lever");
    for alarm in plan.failover.lever.alarms.iter() {
        let id = format!(
            "{}SwitchAlarm",
            if alarm.role.as_str() == "primary" {
                "Primary"
            } else {
                "Secondary"
            }
        );
        let properties = &resources[&id]["Properties"];
        assert_eq!(properties["Namespace"], variables["LEVER_NAMESPACE"]);
        assert_eq!(properties["MetricName"], variables["LEVER_METRIC"]);
        assert_eq!(properties["AlarmName"], alarm.name.as_str());
        let dimensions: Vec<(String, String)> = properties["Dimensions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                (
                    d["Name"].as_str().unwrap().to_owned(),
                    d["Value"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(
            dimensions,
            [
                (DIMENSION_PIPELINE.to_owned(), plan.name.clone()),
                (DIMENSION_REGION.to_owned(), alarm.role.as_str().to_owned()),
            ],
            "the publisher's dimensions"
        );
        assert_eq!(
            variables["INGEST_NAME"], plan.name,
            "the Ingest dimension's value"
        );
    }
    let tamper = &resources["LeverTamperAlarm"]["Properties"];
    assert_eq!(tamper["MetricName"], variables["LEVER_TAMPER_METRIC"]);
}

/// The publisher judges the switch bucket's lifecycle against the stack's own rule: the number
/// it is given is the one the bucket's rule holds, and the bucket as deployed is no tampering.
#[test]
fn the_publisher_expects_the_switch_bucket_s_own_lifecycle() {
    use ingest_runtime::pipeline::lever::{LifecycleRule, SwitchLifecycle, lifecycle_findings};

    let (_, stack) = secondary_stack();
    let resources = stack["Resources"].as_object().unwrap();
    let variables = &resources["LeverFunction"]["Properties"]["Environment"]["Variables"];
    let expected = SwitchLifecycle {
        noncurrent_days: variables["SWITCH_NONCURRENT_DAYS"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap(),
    };
    let rules: Vec<LifecycleRule> =
        resources["SwitchBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|rule| LifecycleRule {
                id: rule["Id"].as_str().unwrap().to_owned(),
                enabled: rule["Status"] == "Enabled",
                prefix: rule["Prefix"].as_str().unwrap_or_default().to_owned(),
                narrowed: false,
                expires_current: rule.get("ExpirationInDays").is_some()
                    || rule.get("ExpirationDate").is_some(),
                noncurrent_days: rule["NoncurrentVersionExpiration"]["NoncurrentDays"].as_u64(),
                transitions: rule.get("Transitions").is_some()
                    || rule.get("NoncurrentVersionTransitions").is_some(),
            })
            .collect();
    assert!(
        rules
            .iter()
            .any(|r| r.noncurrent_days == Some(expected.noncurrent_days)),
        "the bucket's rule keeps old versions {} days: {rules:?}",
        expected.noncurrent_days
    );
    assert_eq!(
        lifecycle_findings(Some(&rules), expected),
        Vec::<String>::new()
    );
}

/// The rendered value with the two attributes the switch bucket's policy and the publisher's
/// environment use resolved as CloudFormation would (`Fn::GetAtt`, `Fn::Sub`).
fn resolved(value: &Value, bucket_arn: &str, operator: &str) -> Value {
    let attribute = |id: &str| match id {
        "SwitchBucket.Arn" => bucket_arn.to_owned(),
        "LeverOperatorRole.Arn" => operator.to_owned(),
        other => panic!("unexpected attribute {other}"),
    };
    match value {
        Value::Object(map) if map.contains_key("Fn::GetAtt") => {
            let parts: Vec<&str> = map["Fn::GetAtt"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p.as_str().unwrap())
                .collect();
            Value::String(attribute(&parts.join(".")))
        }
        Value::Object(map) if map.contains_key("Fn::Sub") => {
            let (text, variables) = match &map["Fn::Sub"] {
                Value::String(text) => (text.clone(), serde_json::Map::new()),
                Value::Array(items) => (
                    items[0].as_str().unwrap().to_owned(),
                    items[1].as_object().unwrap().clone(),
                ),
                other => panic!("{other}"),
            };
            let mut out = text;
            for (name, value) in &variables {
                let value = resolved(value, bucket_arn, operator);
                out = out.replace(&format!("${{{name}}}"), value.as_str().unwrap());
            }
            for id in ["SwitchBucket.Arn", "LeverOperatorRole.Arn"] {
                out = out.replace(&format!("${{{id}}}"), &attribute(id));
            }
            Value::String(out)
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), resolved(v, bucket_arn, operator)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| resolved(v, bucket_arn, operator))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The publisher holds the switch bucket's policy to the writer lock the stack writes, with the
/// operator role the stack passes it: the policy as deployed is no tampering.
#[test]
fn the_publisher_recognises_the_stack_s_writer_lock() {
    use ingest_runtime::pipeline::lever::writer_lock_findings;

    let (_, stack) = secondary_stack();
    let resources = stack["Resources"].as_object().unwrap();
    let bucket_arn = "arn:aws:s3:::wiw-events-switch-123456789012-us-west-2";
    let operator = "arn:aws:iam::123456789012:role/wiw-events-secondary-LeverOperatorRole-ABC";
    let variables = resolved(
        &resources["LeverFunction"]["Properties"]["Environment"]["Variables"],
        bucket_arn,
        operator,
    );
    let expected = variables["LEVER_OPERATOR_ROLE_ARN"].as_str().unwrap();
    assert_eq!(expected, operator);
    let policy = resolved(
        &resources["SwitchBucketPolicy"]["Properties"]["PolicyDocument"],
        bucket_arn,
        operator,
    );
    assert_eq!(
        writer_lock_findings(Some(&policy.to_string()), expected),
        Vec::<String>::new(),
        "{policy:#}"
    );
    // Someone else's role excepted instead: found.
    let other = policy
        .to_string()
        .replace(operator, "arn:aws:iam::123456789012:role/other");
    assert_eq!(writer_lock_findings(Some(&other), expected).len(), 1);
}
