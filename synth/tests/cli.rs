//! The `ingest` binary as a user runs it: exit codes, where output goes, help texts, defaults.

use std::fs;
use std::path::Path;

mod common;
use common::{ingest, workspace_root};
use predicates::prelude::*;

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Every file below `dir` with its contents, to prove a command wrote nothing.
fn snapshot_dir(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in fs::read_dir(&current).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push((path.display().to_string(), fs::read(&path).unwrap()));
            }
        }
    }
    files.sort();
    files
}

#[test]
fn help_texts_are_stable() {
    let help = ingest()
        .arg("--help")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    insta::assert_snapshot!("help", String::from_utf8(help).unwrap());
    let help = ingest()
        .args(["check", "--help"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    insta::assert_snapshot!("check_help", String::from_utf8(help).unwrap());
}

#[test]
fn check_prints_a_summary_and_exits_0_for_the_bundled_spec() {
    ingest()
        .current_dir(workspace_root())
        .args(["check", "specs/ingest.yaml"])
        .assert()
        .success()
        .stdout(predicate::str::contains("valid spec `wiw-events`"))
        .stdout(predicate::str::contains("us-east-1"))
        .stdout(predicate::str::contains("weight  95 ( 95.0%)"))
        // The seed names no lever operators or readers: the two account-trust warnings, and
        // nothing else.
        .stderr(predicate::str::contains("ingest::lever-trusts-account"))
        .stderr(predicate::str::contains("ingest::readers-trust-account"))
        .stderr(predicate::str::contains("0 errors, 2 warnings"));
}

#[test]
fn check_defaults_to_ingest_yaml_then_specs_ingest_yaml() {
    // From the workspace root there is no ./ingest.yaml, so specs/ingest.yaml is used.
    ingest()
        .current_dir(workspace_root())
        .arg("check")
        .assert()
        .success()
        .stdout(predicate::str::starts_with("specs/ingest.yaml: valid spec"));
    // A local ingest.yaml wins.
    let dir = tempfile::tempdir().unwrap();
    fs::copy(
        workspace_root().join("specs/minimal.yaml"),
        dir.path().join("ingest.yaml"),
    )
    .unwrap();
    ingest()
        .current_dir(dir.path())
        .arg("check")
        .assert()
        .success()
        .stdout(predicate::str::starts_with(
            "ingest.yaml: valid spec `minimal`",
        ));
}

#[test]
fn check_works_for_a_spec_anywhere_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let specs = dir.path().join("elsewhere");
    copy_tree(&workspace_root().join("specs"), &specs);
    ingest()
        .arg("check")
        .arg(specs.join("ingest.yaml"))
        .assert()
        .success()
        .stdout(predicate::str::contains("7 types"));
}

#[test]
fn an_invalid_spec_exits_1_with_located_diagnostics_on_stderr_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    fs::copy(
        workspace_root().join("tests/fixtures/invalid/several_errors.yaml"),
        dir.path().join("ingest.yaml"),
    )
    .unwrap();
    let before = snapshot_dir(dir.path());
    ingest()
        .current_dir(dir.path())
        .arg("check")
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains("[ingest.yaml:9:13]"))
        .stderr(predicate::str::contains("did you mean `us-east-1`?"))
        .stderr(predicate::str::contains("6 errors, 0 warnings"));
    assert_eq!(snapshot_dir(dir.path()), before, "check must not write");
}

#[test]
fn warnings_go_to_stderr_and_do_not_fail_the_check() {
    ingest()
        .arg("check")
        .arg(workspace_root().join("tests/fixtures/valid/warning_throttle.yaml"))
        .assert()
        .success()
        .stderr(predicate::str::contains("throttle-below-peak"))
        .stderr(predicate::str::contains("0 errors, 1 warning"))
        .stdout(predicate::str::contains("valid spec"));
}

#[test]
fn a_missing_spec_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    ingest()
        .current_dir(dir.path())
        .arg("check")
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "cannot read the spec specs/ingest.yaml",
        ))
        .stderr(predicate::str::contains(
            "help: pass the path of an ingest.yaml",
        ));
}

#[test]
fn usage_mistakes_exit_2() {
    ingest().assert().code(2);
    ingest()
        .args(["check", "a.yaml", "b.yaml"])
        .assert()
        .code(2);
    ingest().arg("frobnicate").assert().code(2);
}

#[test]
fn schema_prints_the_committed_json_schema() {
    let output = ingest()
        .arg("schema")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let committed = fs::read(workspace_root().join("generated/ingest.schema.json")).unwrap();
    assert!(
        output == committed,
        "generated/ingest.schema.json is stale: run `cargo run -- schema > generated/ingest.schema.json`"
    );
    let schema: serde_json::Value = serde_json::from_slice(&output).unwrap();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    assert_eq!(schema["additionalProperties"], false);
    let required = schema["required"].as_array().unwrap();
    for key in ["name", "domain", "regions", "capacity", "events"] {
        assert!(
            required.contains(&serde_json::json!(key)),
            "{key} not required"
        );
    }
}

#[test]
fn init_writes_a_starter_that_checks_and_synthesizes_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("new-project");
    ingest()
        .current_dir(dir.path())
        .args(["init", "new-project"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "ingest check new-project/ingest.yaml",
        ));
    let spec = fs::read_to_string(project.join("ingest.yaml")).unwrap();
    assert!(spec.starts_with("# yaml-language-server: $schema=./ingest.schema.json\n"));
    let schema: serde_json::Value =
        serde_json::from_slice(&fs::read(project.join("ingest.schema.json")).unwrap()).unwrap();
    assert_eq!(schema["title"], "ingest.yaml");

    ingest()
        .current_dir(&project)
        .arg("check")
        .assert()
        .success()
        .stdout(predicate::str::contains("valid spec `my-events`"))
        .stdout(predicate::str::contains("secondary  us-west-2"))
        // The starter names no lever operators or readers (roles it cannot know exist), and
        // accepts WAF's mitigation lag with a reason nobody on the team wrote; the check says
        // what each means: nothing else.
        .stderr(predicate::str::contains("ingest::lever-trusts-account"))
        .stderr(predicate::str::contains("ingest::readers-trust-account"))
        .stderr(predicate::str::contains(
            "ingest::waf-lag-accepted-by-starter",
        ))
        .stderr(predicate::str::contains("0 errors, 3 warnings"));
    ingest()
        .current_dir(&project)
        .args(["synth", "--out", "out"])
        .assert()
        .success();
    for stack in ["primary", "secondary", "dns"] {
        assert!(
            project
                .join(format!("out/my-events/stacks/{stack}.yaml"))
                .is_file()
        );
    }

    // A second init refuses, and changes nothing.
    let before = snapshot_dir(&project);
    ingest()
        .current_dir(dir.path())
        .args(["init", "new-project"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("ingest.yaml already exists"))
        .stderr(predicate::str::contains("never overwrites"));
    assert_eq!(snapshot_dir(&project), before);
    // So does an init over a folder that has only the schema file.
    let other = dir.path().join("other");
    fs::create_dir_all(&other).unwrap();
    fs::write(other.join("ingest.schema.json"), "{}").unwrap();
    ingest()
        .arg("init")
        .arg(&other)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "ingest.schema.json already exists",
        ));
    assert!(!other.join("ingest.yaml").exists());
}

#[test]
fn completion_scripts_parse_in_their_shells() {
    let dir = tempfile::tempdir().unwrap();
    let script = |shell: &str| {
        let output = ingest().args(["completions", shell]).assert().success();
        let text = String::from_utf8(output.get_output().stdout.clone()).unwrap();
        assert!(text.contains("synth"), "{shell}: names the subcommands");
        let path = dir.path().join(format!("ingest.{shell}"));
        fs::write(&path, &text).unwrap();
        (path, text)
    };
    // Each shell parses its script without running it; the shells come from
    // scripts/setup-shells, and a missing one fails the test.
    let parse = |program: &str, args: &[&str], path: &Path| {
        let status = std::process::Command::new(program)
            .args(args)
            .arg(path)
            .status()
            .unwrap_or_else(|e| panic!("{program} is needed (scripts/setup-shells): {e}"));
        assert!(status.success(), "{program} rejects {}", path.display());
    };
    let (bash, _) = script("bash");
    parse("bash", &["-n"], &bash);
    // bash also loads it and registers the completion function.
    let registered = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!("source {} && complete -p ingest", bash.display()))
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&registered.stdout).contains("ingest"),
        "{registered:?}"
    );
    let (zsh, _) = script("zsh");
    parse("zsh", &["-n"], &zsh);
    let (fish, _) = script("fish");
    parse("fish", &["--no-execute"], &fish);
    let (_, powershell) = script("powershell");
    assert!(powershell.contains("Register-ArgumentCompleter"));
}
