//! `ingest validate` as a process: it judges each record with the spec's validators (compiled in
//! process by the evaluator) and prints one verdict per record; here with the seed spec copied
//! to a temporary folder, to show it works for a spec anywhere on disk.

mod common;
use common::workspace_root;
use serde_json::Value;

const VALID: &str = r#"{"specversion":"1.0","id":"1","source":"app","type":"clock.in","data":{"punch_id":"2eb8aa08-aa98-11ea-b4aa-73b441d16380","user_id":7,"at":"2024-03-01T09:00:00Z","method":"app"}}"#;

fn copy_spec(dir: &std::path::Path) -> std::path::PathBuf {
    let root = workspace_root();
    std::fs::create_dir_all(dir.join("schemas")).unwrap();
    for file in ["schemas/clock.out.json", "schemas/timeoff.requested.yaml"] {
        std::fs::copy(root.join("specs").join(file), dir.join(file)).unwrap();
    }
    let spec = dir.join("ingest.yaml");
    std::fs::copy(root.join("specs/ingest.yaml"), &spec).unwrap();
    spec
}

#[test]
fn prints_one_verdict_per_record_and_fails_on_any_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let spec = copy_spec(dir.path());
    let invalid = VALID.replace(r#""user_id":7"#, r#""user_id":0"#);
    let input = format!("{VALID}\n\n{invalid}\nnot json\n[{VALID},{invalid}]\n");
    let events = dir.path().join("events.ndjson");
    std::fs::write(&events, input).unwrap();

    let output = common::ingest()
        .arg("validate")
        .arg("--spec")
        .arg(&spec)
        .arg(&events)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
    let lines: Vec<Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0], serde_json::json!({"line": 1, "valid": true}));
    assert_eq!(lines[1]["line"], 3);
    assert_eq!(lines[1]["reason"], "schema_violation");
    assert_eq!(lines[1]["violations"][0]["pointer"], "/data/user_id");
    assert_eq!(lines[1]["violations"][0]["keyword"], "minimum");
    assert_eq!(lines[2]["reason"], "not_json");
    assert_eq!(
        lines[3]["violations"][0]["pointer"], "/1/data/user_id",
        "batch pointers start with the index"
    );
    assert!(stderr.contains("4 records: 1 valid, 3 invalid"), "{stderr}");

    // All valid, from standard input: exit 0.
    common::ingest()
        .args(["validate", "--spec"])
        .arg(&spec)
        .arg("-")
        .write_stdin(format!("{VALID}\n{VALID}\n"))
        .assert()
        .success()
        .stdout("{\"line\":1,\"valid\":true}\n{\"line\":2,\"valid\":true}\n");
}
