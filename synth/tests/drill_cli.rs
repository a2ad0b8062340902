//! `ingest drill` as a process, on a copy of the seed spec in a temporary folder: 10,000
//! events generated from the spec's schemas, judged by the spec's validators, the
//! primary down for ten minutes mid-stream; nothing accepted is lost and the verdicts match
//! what the generator meant; and the flood phase, whose numbers come from the spec: one address
//! is blocked by the web ACL and moves nothing, and with `api.waf` off the same flood starves
//! the honest clients and fails the drill.

mod common;
use common::workspace_root;
use serde_json::Value;

/// The seed spec and its schema files in a temporary folder, the spec's text passed through
/// `edit` first; the folder and the spec's path.
fn seed_spec_copy(edit: impl Fn(String) -> String) -> (tempfile::TempDir, std::path::PathBuf) {
    let root = workspace_root();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("schemas")).unwrap();
    for file in ["schemas/clock.out.json", "schemas/timeoff.requested.yaml"] {
        std::fs::copy(root.join("specs").join(file), dir.path().join(file)).unwrap();
    }
    let spec = dir.path().join("ingest.yaml");
    let text = std::fs::read_to_string(root.join("specs/ingest.yaml")).unwrap();
    std::fs::write(&spec, edit(text)).unwrap();
    (dir, spec)
}

#[test]
fn the_seed_spec_survives_the_drill_with_ten_thousand_events() {
    let (_dir, spec) = seed_spec_copy(|text| text);

    let output = common::ingest()
        .arg("drill")
        .arg(&spec)
        .args(["--count", "10000", "--outage", "600"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "stderr: {stderr}");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["sent"], 10_000);
    assert_eq!(report["lost"], 0);
    assert_eq!(report["altered"], 0);
    let accepted = report["accepted"].as_u64().unwrap();
    assert_eq!(accepted + report["refused"].as_u64().unwrap(), 10_000);
    assert_eq!(
        report["good"].as_u64().unwrap() + report["quarantined"].as_u64().unwrap(),
        accepted
    );
    let intended = &report["generated"]["intended"];
    assert_eq!(
        report["good"], intended["valid"],
        "the validators agree with the generator"
    );
    for kind in [
        "schema_violation",
        "unknown_type",
        "bad_envelope",
        "not_json",
        "too_large",
    ] {
        assert_eq!(report["quarantine_reasons"][kind], intended[kind], "{kind}");
    }
    assert!(report["accepted_by_region"]["secondary"].as_u64().unwrap() > 2_000);
    assert!(report["good_by_via"]["bridge"].as_u64().unwrap() > 2_000);
    assert_eq!(report["bridge"]["dead_letters"], 0);
    let flood = &report["flood"];
    assert_eq!(flood["waf"], true, "{flood}");
    assert_eq!(flood["seconds"], 600, "two of the spec's 300 s WAF windows");
    assert_eq!(flood["honest_gave_up"], 0, "{flood}");
    assert_eq!(flood["health_verdict_changes"], 0, "{flood}");
    assert_eq!(flood["lever_changes"], 0, "{flood}");
    assert!(
        flood["flood_blocked_by_waf"].as_u64().unwrap() > 0,
        "{flood}"
    );
}

/// The night the seed spec is built for, under the drill's pessimistic model: 10,000 events,
/// the primary browned out for 24 hours (its API and stream up, S3 failing: Lambda keeps
/// invoking the validator and every invocation fails), S3 notifications up to two minutes late
/// and 5% of them twice, three hostile records. Nothing accepted is lost, and every buffer kept
/// a margin.
#[test]
fn the_seed_spec_loses_nothing_in_a_day_long_brownout_under_the_pessimistic_model() {
    let (_dir, spec) = seed_spec_copy(|text| text);
    let output = common::ingest()
        .arg("drill")
        .arg(&spec)
        .args([
            "--count",
            "10000",
            "--outage",
            "86400",
            "--outage-kind",
            "brownout",
        ])
        .args([
            "--late-notifications",
            "120",
            "--duplicate-notifications",
            "50",
        ])
        .args(["--hostile", "3"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "stderr: {stderr}");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["lost"], 0, "{}", report["lost_records"]);
    assert_eq!(report["altered"], 0);
    assert_eq!(
        report["timeline"]["restored_s"].as_f64().unwrap()
            - report["timeline"]["outage_start_s"].as_f64().unwrap(),
        86_400.0
    );
    let accepted = report["accepted"].as_u64().unwrap();
    assert_eq!(
        report["good"].as_u64().unwrap() + report["quarantined"].as_u64().unwrap(),
        accepted
    );
    assert!(
        report["bridge"]["duplicate_notifications"]
            .as_u64()
            .unwrap()
            > 0
    );
    // Records the primary took before the drain waited out the day in its stream, within
    // the plan's margin of the mapping's maximum record age (30 h), never past it.
    let age = &report["margins"]["primary mapping record age"];
    let left = age["least_left"].as_f64().unwrap();
    assert!(left > 0.0 && left < 7.0 * 3600.0, "{age}");
    for (buffer, margin) in report["margins"].as_object().unwrap() {
        if let Some(left) = margin["least_left"].as_f64() {
            assert!(left > 0.0, "{buffer}: {margin}");
        }
    }
}

/// The same spec with the spool bucket failing for 25 hours: Firehose discards what it held
/// longer than 24 hours; the drill names those records, says why and exits 1.
#[test]
fn the_drill_names_what_firehose_discarded_and_fails() {
    let (_dir, spec) = seed_spec_copy(|text| text);
    let output = common::ingest()
        .arg("drill")
        .arg(&spec)
        .args([
            "--count",
            "2000",
            "--outage",
            "600",
            "--spool-s3-down",
            "90000",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let lost = report["lost"].as_u64().unwrap();
    assert!(lost > 0);
    assert_eq!(report["lost_reasons"]["firehose-discard"], lost);
    let records = report["lost_records"].as_array().unwrap();
    assert!(
        records
            .iter()
            .all(|r| r["reason"] == "firehose-discard" && r["region"] == "secondary")
    );
    assert_eq!(
        records
            .iter()
            .map(|r| r["events"].as_u64().unwrap())
            .sum::<u64>(),
        lost
    );
    assert!(stderr.contains("drill FAILED"), "{stderr}");
}

/// The seed spec with `api.waf.enabled: false`: the drill's flood takes the stage's tokens and
/// the health route's, and the drill says so and exits 1, though no accepted event was lost.
#[test]
fn without_waf_the_drills_flood_starves_the_honest_clients() {
    let (_dir, spec) = seed_spec_copy(|text| {
        let waf = text
            .lines()
            .find(|line| line.starts_with("  waf: "))
            .expect("the seed spec's api.waf line");
        text.replace(waf, "  waf: { enabled: false }")
    });

    let output = common::ingest()
        .arg("drill")
        .arg(&spec)
        .args(["--count", "200", "--outage", "0"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
    assert!(
        stderr.contains("drill FAILED: the flood phase starved the honest clients"),
        "{stderr}"
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["lost"], 0);
    let flood = &report["flood"];
    assert_eq!(flood["waf"], false, "{flood}");
    assert_eq!(flood["flood_blocked_by_waf"], 0, "{flood}");
    let accepted = flood["honest_accepted_per_second"].as_f64().unwrap();
    let leaves = flood["stage_leaves_per_second"].as_f64().unwrap();
    assert!(accepted < leaves / 2.0, "{flood}");
    assert!(
        flood["health_verdict_changes"].as_u64().unwrap() >= 1,
        "{flood}"
    );
}
