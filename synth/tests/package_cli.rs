//! `ingest package` as a process, on a copy of a spec in a temporary folder (a spec anywhere on
//! disk):
//!
//! - for x86_64, the host's own target: packaging twice gives the same zip bytes; the zip holds
//!   one executable `bootstrap` at its root (checked by Python's `zipfile`, an independent
//!   reader); and the packaged binary, started without its configuration, exits with an error
//!   naming the missing variable instead of panicking;
//! - for arm64 (Graviton, the default), cross-linked with `aarch64-linux-gnu-gcc`: an aarch64
//!   executable that, started under qemu's user-mode emulator with the cross glibc, says the
//!   same. `scripts/setup-cross` (run by `scripts/test`) installs the target, linker and qemu.

use std::path::Path;
use std::process::Command as Process;

use assert_cmd::Command;
mod common;
use common::workspace_root;

fn package(spec: &Path, out: &Path, arch: &str) -> String {
    let output = Command::cargo_bin("ingest")
        .unwrap()
        .arg("package")
        .arg(spec)
        .args(["--arch", arch, "--out"])
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

    let first = package(&spec, &dir.path().join("first"), "x86_64");
    let second_zip = dir.path().join("second.zip");
    let second = package(&spec, &second_zip, "x86_64");
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
    let sha = check_zip(&first_zip, &extracted);
    assert!(first.contains(&format!("sha256 {sha}\n")), "{first}");
    assert!(second.contains(&format!("sha256 {sha}\n")), "{second}");

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

    let out = dir.path().join("arm64");
    let printed = package(&spec, &out, "arm64");
    assert!(
        printed.contains("arm64, aarch64-unknown-linux-gnu, provided.al2023"),
        "{printed}"
    );
    let extracted = dir.path().join("extracted");
    let sha = check_zip(&out.join("bootstrap.zip"), &extracted);
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
