//! The `ingest` binary as a user has it after `cargo install` or from a release archive: a copy
//! in a folder of its own, run from a folder outside the repository, with a `PATH` that has no
//! cargo and an environment that names nothing of the build ([`common::Installed`]). `init`,
//! `check`, `completions`, `validate` and `drill` work; the two things that compile code
//! (`--compiled` and `package`) say that cargo is missing and what to do. `dev` from such a copy
//! is `tests/dev_cli.rs`.
//!
//! A debug binary copied out of the target folder proves the same as a release one (no cargo
//! on `PATH`, no source tree), without a second release build of the whole binary in CI.

mod common;
use common::Installed;
use serde_json::Value;

const VALID: &str = r#"{"specversion":"1.0","id":"o-1","source":"shop","type":"order.placed","data":{"order_id":"2eb8aa08-aa98-11ea-b4aa-73b441d16380","amount_cents":1250,"placed_at":"2024-03-01T09:00:00Z"}}"#;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Diagnostics with their line wrapping undone.
fn flat(bytes: &[u8]) -> String {
    text(bytes).split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn an_installed_copy_without_cargo_or_sources_checks_validates_and_drills() {
    let installed = Installed::new();
    let run = |args: &[&str]| {
        installed
            .command()
            .args(args)
            .output()
            .expect("the copy runs")
    };

    let version = run(&["--version"]);
    assert!(version.status.success());
    assert!(text(&version.stdout).starts_with("ingest "), "{version:?}");

    // init, then check the starter in place.
    let init = run(&["init"]);
    assert!(init.status.success(), "{}", text(&init.stderr));
    assert!(installed.work().join("ingest.yaml").is_file());
    let check = run(&["check"]);
    assert!(check.status.success(), "{}", text(&check.stderr));
    assert!(text(&check.stdout).contains("valid spec `my-events`"));

    let completions = run(&["completions", "bash"]);
    assert!(completions.status.success());
    assert!(text(&completions.stdout).contains("_ingest()"));

    // validate: the built-in evaluator, no build.
    let invalid = VALID
        .replace("o-1", "o-2")
        .replace(r#""amount_cents":1250"#, r#""amount_cents":-1"#);
    std::fs::write(
        installed.work().join("events.ndjson"),
        format!("{VALID}\n{invalid}\n"),
    )
    .unwrap();
    let validate = run(&["validate", "events.ndjson"]);
    assert_eq!(
        validate.status.code(),
        Some(1),
        "{}",
        text(&validate.stderr)
    );
    let verdicts: Vec<Value> = text(&validate.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(verdicts[0], serde_json::json!({"line": 1, "valid": true}));
    assert_eq!(verdicts[1]["reason"], "schema_violation");
    assert_eq!(
        verdicts[1]["violations"][0]["pointer"],
        "/data/amount_cents"
    );
    assert_eq!(verdicts.len(), 2);

    // drill: nothing accepted is lost.
    let drill = run(&["drill", "--count", "2000"]);
    assert_eq!(drill.status.code(), Some(0), "{}", text(&drill.stderr));
    let report: Value = serde_json::from_slice(&drill.stdout).unwrap();
    assert_eq!(report["sent"], 2000);
    assert_eq!(report["lost"], 0);
    assert_eq!(report["altered"], 0);

    // Nothing of the above built anything.
    assert!(
        !installed.home().join(".cache/ingest/target").exists(),
        "validate and drill must not build"
    );

    // --compiled needs cargo: a clear error, exit 1, after writing the staging workspace from
    // the sources embedded in the binary.
    let compiled = run(&["validate", "--compiled", "events.ndjson"]);
    assert_eq!(compiled.status.code(), Some(1));
    let stderr = flat(&compiled.stderr);
    assert!(stderr.contains("cargo cannot be run"), "{stderr}");
    assert!(stderr.contains("leave out --compiled"), "{stderr}");
    let staging = installed.home().join(".cache/ingest/build/my-events");
    for file in [
        "Cargo.toml",
        "Cargo.lock",
        "runtime/Cargo.toml",
        "runtime/src/lib.rs",
        "macros/src/lib.rs",
        "codegen/src/lib.rs",
        "formats/Cargo.toml",
        "formats/src/lib.rs",
    ] {
        assert!(
            staging.join(file).is_file(),
            "{file} in {}",
            staging.display()
        );
    }

    // package compiles the Lambda: it says cargo is missing before anything else.
    let package = run(&["package"]);
    assert_eq!(package.status.code(), Some(1));
    let stderr = flat(&package.stderr);
    assert!(stderr.contains("cargo cannot be run"), "{stderr}");
    assert!(stderr.contains("https://rustup.rs"), "{stderr}");
    assert!(!installed.work().join("dist").exists());
}
