//! `ingest package` as a process, on copies of specs in temporary folders (a spec anywhere on
//! disk):
//!
//! - for x86_64, the host's own target: packaging the same spec twice is a cache hit and gives
//!   the same zip bytes, and another spec (another name and validator) gives another zip; the
//!   zip holds one executable `bootstrap` at its root (checked by Python's `zipfile`, an
//!   independent reader); and the packaged binary, started without its configuration, exits
//!   with an error naming the missing variable instead of panicking;
//! - for arm64 (Graviton, the default), cross-linked with `aarch64-linux-gnu-gcc`: an aarch64
//!   executable that, started under qemu's user-mode emulator with the cross glibc, says the
//!   same. `scripts/setup-cross` (run by `scripts/test`) installs the target, linker and qemu.
//!
//! Builds are shared ([`packages`], `common/packages.rs`): every packaging goes through one
//! package cache under the target directory, so a test run makes one release build of
//! `specs/minimal.yaml`'s functions crate per architecture, plus the small rebuild of the
//! other spec. A later test that needs a real `ingest package` output (a deploy test) reuses
//! the same build: declare `#[path = "common/packages.rs"] mod packages;` and call
//! `packages::package(&spec, "arm64", &out)` with a copy of `specs/minimal.yaml`; it is a
//! cache hit whenever this file's arm64 test ran first in the same target directory (and one
//! build otherwise), and `Packaging::built` tells which.

use std::path::Path;
use std::process::Command as Process;

mod common;
#[path = "common/packages.rs"]
mod packages;
use common::workspace_root;
use packages::package;

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
    let minimal = std::fs::read_to_string(root.join("specs/minimal.yaml")).unwrap();
    std::fs::write(&spec, &minimal).unwrap();

    let first = package(&spec, "x86_64", &dir.path().join("first"));
    let second = package(&spec, "x86_64", &dir.path().join("second.zip"));
    assert!(
        !second.built,
        "the same inputs again are a cache hit, not a second build"
    );
    let a = std::fs::read(&first.zip).unwrap();
    let b = std::fs::read(&second.zip).unwrap();
    assert!(a == b, "two packagings of the same spec differ");
    assert!(
        first.stdout.starts_with(&format!(
            "{}: {} bytes (bootstrap ",
            first.zip.display(),
            a.len()
        )),
        "{}",
        first.stdout
    );
    assert!(
        first
            .stdout
            .contains("x86_64, x86_64-unknown-linux-gnu, provided.al2023"),
        "{}",
        first.stdout
    );

    // Another spec: another name and a different validator. Its zip differs.
    let other = dir.path().join("other.yaml");
    let other_text = minimal
        .replace("name: minimal", "name: minimal-other")
        .replace("maxLength: 2048", "maxLength: 1024");
    assert_ne!(other_text, minimal);
    std::fs::write(&other, other_text).unwrap();
    let third = package(&other, "x86_64", &dir.path().join("other"));
    assert!(
        std::fs::read(&third.zip).unwrap() != a,
        "a different spec gives a different zip"
    );

    let extracted = dir.path().join("extracted");
    let sha = check_zip(&first.zip, &extracted);
    assert!(
        first.stdout.contains(&format!("sha256 {sha}\n")),
        "{}",
        first.stdout
    );
    assert!(
        second.stdout.contains(&format!("sha256 {sha}\n")),
        "{}",
        second.stdout
    );

    let bootstrap = extracted.join("bootstrap");
    assert_eq!(elf_machine(&bootstrap), 62, "x86-64 machine");
    refuses_a_bad_config(|| Process::new(&bootstrap));
}

#[test]
fn arm64_package_is_an_aarch64_bootstrap_that_runs_under_qemu() {
    let root = workspace_root();
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("ingest.yaml");
    std::fs::copy(root.join("specs/minimal.yaml"), &spec).unwrap();

    let packaged = package(&spec, "arm64", &dir.path().join("arm64"));
    let printed = &packaged.stdout;
    assert!(
        printed.contains("arm64, aarch64-unknown-linux-gnu, provided.al2023"),
        "{printed}"
    );
    let extracted = dir.path().join("extracted");
    let sha = check_zip(&packaged.zip, &extracted);
    assert!(printed.contains(&format!("sha256 {sha}\n")), "{printed}");
    let bootstrap = extracted.join("bootstrap");
    assert_eq!(elf_machine(&bootstrap), 183, "aarch64 machine");

    let qemu = "qemu-aarch64";
    let probe = Process::new(qemu).arg("--version").output();
    assert!(
        probe.is_ok_and(|o| o.status.success()),
        "{qemu} is needed to run the arm64 bootstrap: run scripts/setup-cross (apt-get install qemu-user)"
    );
    // The cross glibc that gcc-aarch64-linux-gnu installs, as the dynamic loader's root.
    let sysroot = Path::new("/usr/aarch64-linux-gnu");
    assert!(
        sysroot.join("lib").is_dir(),
        "{} is missing: run scripts/setup-cross (apt-get install gcc-aarch64-linux-gnu)",
        sysroot.display()
    );
    refuses_a_bad_config(|| {
        let mut process = Process::new(qemu);
        process.arg("-L").arg(sysroot).arg(&bootstrap);
        process
    });
}

/// Checks the zip with Python's `zipfile`, extracts it into `extract_to` and returns its SHA-256.
fn check_zip(zip: &Path, extract_to: &Path) -> String {
    let output = Process::new("python3")
        .args(["-c", ZIP_CHECK])
        .arg(zip)
        .arg(extract_to)
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
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let bootstrap = extract_to.join("bootstrap");
        let mode = std::fs::metadata(&bootstrap).unwrap().permissions().mode();
        assert_eq!(mode & 0o111, 0o111, "extracted executable: {mode:o}");
    }
    report["sha256"].as_str().unwrap().to_owned()
}

/// The `e_machine` field of an ELF executable (62 x86-64, 183 aarch64).
fn elf_machine(path: &Path) -> u16 {
    let elf = std::fs::read(path).unwrap();
    assert_eq!(&elf[..4], b"\x7fELF");
    u16::from_le_bytes([elf[18], elf[19]])
}

/// The packaged binary, started as the validator without GOOD_BUCKET and then with no role,
/// exits 1 with an error naming what is missing, and does not panic.
fn refuses_a_bad_config(bootstrap: impl Fn() -> Process) {
    let output = bootstrap()
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
    let output = bootstrap().env_clear().output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
    assert!(stderr.contains("INGEST_ROLE is not set"), "{stderr}");
}
