//! `ingest package` as a process, on a copy of a spec in a temporary folder (a spec anywhere on
//! disk), for x86_64, the host's own target, so no cross linker is needed: packaging twice gives
//! the same zip bytes; the zip holds one executable `bootstrap` at its root (checked by Python's
//! `zipfile`, an independent reader); and the packaged binary, started without its
//! configuration, exits with an error naming the missing variable instead of panicking.

use std::path::Path;
use std::process::Command as Process;

use assert_cmd::Command;
mod common;
use common::workspace_root;

fn package(spec: &Path, out: &Path) -> String {
    let output = Command::cargo_bin("ingest")
        .unwrap()
        .arg("package")
        .arg(spec)
        .args(["--arch", "x86_64", "--out"])
        .arg(out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "stderr: {stderr}");
    String::from_utf8(output.stdout).unwrap()
}

/// Reads the zip with Python's `zipfile`: entry names, Unix mode, date, CRC test, SHA-256; then
/// extracts it, giving each file the mode the zip stores (as Lambda and `unzip` do; `zipfile`
/// itself does not).
const ZIP_CHECK: &str = r#"
import hashlib, json, os, sys, zipfile
path, extract_to = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(path) as z:
    infos = z.infolist()
    report = {
        "names": [i.filename for i in infos],
        "modes": [oct(i.external_attr >> 16) for i in infos],
        "dates": [list(i.date_time) for i in infos],
        "bad": z.testzip(),
    }
    z.extractall(extract_to)
    for i in infos:
        os.chmod(os.path.join(extract_to, i.filename), (i.external_attr >> 16) & 0o7777)
report["sha256"] = hashlib.sha256(open(path, "rb").read()).hexdigest()
print(json.dumps(report))
"#;

#[test]
fn packaging_is_reproducible_and_the_bootstrap_refuses_a_bad_config() {
    let root = workspace_root();
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("somewhere/ingest.yaml");
    std::fs::create_dir_all(spec.parent().unwrap()).unwrap();
    std::fs::copy(root.join("specs/minimal.yaml"), &spec).unwrap();

    let first = package(&spec, &dir.path().join("first"));
    let second_zip = dir.path().join("second.zip");
    let second = package(&spec, &second_zip);
    let first_zip = dir.path().join("first/bootstrap.zip");
    let a = std::fs::read(&first_zip).unwrap();
    let b = std::fs::read(&second_zip).unwrap();
    assert!(a == b, "two packagings of one binary differ");
    assert!(
        first.starts_with(&format!(
            "{}: {} bytes (bootstrap ",
            first_zip.display(),
            a.len()
        )),
        "{first}"
    );
    assert!(
        first.contains("x86_64, x86_64-unknown-linux-gnu, provided.al2023"),
        "{first}"
    );

    let extracted = dir.path().join("extracted");
    let output = Process::new("python3")
        .args(["-c", ZIP_CHECK])
        .arg(&first_zip)
        .arg(&extracted)
        .output()
        .expect("python3 runs (scripts/test installs it)");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["names"], serde_json::json!(["bootstrap"]));
    assert_eq!(report["modes"], serde_json::json!(["0o100755"]));
    assert_eq!(report["dates"], serde_json::json!([[1980, 1, 1, 0, 0, 0]]));
    assert_eq!(report["bad"], serde_json::Value::Null, "CRC checks pass");
    let sha = report["sha256"].as_str().unwrap();
    assert!(first.contains(&format!("sha256 {sha}\n")), "{first}");
    assert!(second.contains(&format!("sha256 {sha}\n")), "{second}");

    let bootstrap = extracted.join("bootstrap");
    let elf = std::fs::read(&bootstrap).unwrap();
    assert_eq!(&elf[..4], b"\x7fELF");
    assert_eq!(u16::from_le_bytes([elf[18], elf[19]]), 62, "x86-64 machine");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&bootstrap).unwrap().permissions().mode();
        assert_eq!(mode & 0o111, 0o111, "extracted executable: {mode:o}");
    }

    // The packaged binary, started as the validator without GOOD_BUCKET.
    let output = Process::new(&bootstrap)
        .env_clear()
        .env("INGEST_ROLE", "validator")
        .env("AWS_REGION", "us-east-1")
        .env("QUARANTINE_BUCKET", "minimal-quarantine")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
    assert!(
        stderr.starts_with(
            "error: cannot start: the environment variable GOOD_BUCKET is not set (the validator reads"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");

    // And with no role at all.
    let output = Process::new(&bootstrap).env_clear().output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
    assert!(stderr.contains("INGEST_ROLE is not set"), "{stderr}");
}
