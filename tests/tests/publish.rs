//! The crates that generated code depends on by version (`ingest-runtime`, and through it
//! `ingest-macros`, `ingest-codegen` and `ingest-formats`) can be published: `cargo package` builds their
//! `.crate` files, whose manifests name each other by version, not by a path of this machine.
//! (`--no-verify`: verifying would build each crate against the registry, where the others are
//! not yet published.)

use std::path::Path;
use std::process::Command;

#[test]
fn runtime_macros_codegen_and_formats_package_for_crates_io() {
    let root = ingest_tests::workspace_root();
    let target = tempfile::tempdir().unwrap();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(&root)
        .env("CARGO_TARGET_DIR", target.path())
        .args([
            "package",
            "-p",
            "ingest-formats",
            "-p",
            "ingest-codegen",
            "-p",
            "ingest-macros",
            "-p",
            "ingest-runtime",
            "--no-verify",
            "--locked",
            "--offline",
            "--allow-dirty",
        ])
        .output()
        .expect("cargo runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "cargo package failed:\n{stderr}");
    for (name, needs) in [
        ("ingest-formats", None),
        ("ingest-codegen", Some("ingest-formats")),
        ("ingest-macros", Some("ingest-codegen")),
        ("ingest-runtime", Some("ingest-macros")),
        ("ingest-runtime", Some("ingest-formats")),
    ] {
        let crate_file = target
            .path()
            .join("package")
            .join(format!("{name}-0.1.0.crate"));
        assert!(crate_file.is_file(), "{} missing", crate_file.display());
        let manifest = manifest_of(&crate_file, name);
        assert!(manifest.contains("license = \"Apache-2.0\""), "{name}");
        assert!(manifest.contains("description = "), "{name}");
        assert!(
            !manifest.contains("path = \"/"),
            "{name} names a path:\n{manifest}"
        );
        if let Some(dependency) = needs {
            let section = format!("[dependencies.{dependency}]\nversion = \"0.1.0\"");
            assert!(
                manifest.contains(&section),
                "{name} lacks {section}:\n{manifest}"
            );
        }
    }
}

/// The normalized `Cargo.toml` inside a `.crate` (a gzipped tar).
fn manifest_of(crate_file: &Path, name: &str) -> String {
    let file = std::fs::File::open(crate_file).unwrap();
    let mut archive = flate2::read::GzDecoder::new(file);
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut archive, &mut bytes).unwrap();
    // A tar: 512-byte headers, each followed by the file's bytes padded to 512.
    let wanted = format!("{name}-0.1.0/Cargo.toml");
    let mut at = 0;
    while at + 512 <= bytes.len() {
        let header = &bytes[at..at + 512];
        let path = String::from_utf8_lossy(&header[..100])
            .trim_end_matches('\0')
            .to_owned();
        let size_field = String::from_utf8_lossy(&header[124..136]);
        let size =
            usize::from_str_radix(size_field.trim_matches(|c: char| c == '\0' || c == ' '), 8)
                .unwrap_or(0);
        if path == wanted {
            return String::from_utf8_lossy(&bytes[at + 512..at + 512 + size]).into_owned();
        }
        at += 512 + size.div_ceil(512) * 512;
    }
    panic!("{wanted} not in {}", crate_file.display());
}
