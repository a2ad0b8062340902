//! `ingest drill` as a process, on a copy of the seed spec in a temporary folder: 10,000
//! events generated from the spec's schemas, judged by the spec's validators, the
//! primary down for ten minutes mid-stream; nothing accepted is lost and the verdicts match
//! what the generator meant.

mod common;
use common::workspace_root;
use serde_json::Value;

#[test]
fn the_seed_spec_survives_the_drill_with_ten_thousand_events() {
    let root = workspace_root();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("schemas")).unwrap();
    for file in ["schemas/clock.out.json", "schemas/timeoff.requested.yaml"] {
        std::fs::copy(root.join("specs").join(file), dir.path().join(file)).unwrap();
    }
    let spec = dir.path().join("ingest.yaml");
    std::fs::copy(root.join("specs/ingest.yaml"), &spec).unwrap();

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
}
