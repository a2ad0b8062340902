//! `ingest check --against OLD`, the breaking-change check, as a user runs it.
//!
//! - One fixture pair per rule (`tests/fixtures/compat/<rule>/{old,new}.yaml`): the rendered
//!   output is snapshot-tested, names the rule, and the exit code is 1 exactly when a change
//!   breaks events.
//! - OLD as a git revision (`REV`, `REV:PATH`, `REV:./PATH`) against a repository made for the
//!   test: the old spec's schema files come from the same revision.
//! - What happens when OLD cannot be had: no such revision or file, no repository, no git, an
//!   old spec that is not valid.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command as Process;

use ingest_codegen::compat::Rule;
use ingest_synth::compat::{MAX_EVENT_BYTES_LOWERED, MAX_EVENT_BYTES_RAISED};

mod common;
use common::{ingest, workspace_root};

fn fixtures() -> PathBuf {
    workspace_root().join("tests/fixtures/compat")
}

/// Runs `ingest ARGS` in `dir`: exit code, stdout, stderr.
fn run(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let output = ingest().current_dir(dir).args(args).output().unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(!stderr.contains("panicked"), "ingest panicked: {stderr}");
    (output.status.code().unwrap_or(-1), stdout, stderr)
}

/// The part of `check`'s standard output that the comparison adds.
fn comparison(stdout: &str) -> &str {
    let start = stdout
        .find("compared with ")
        .unwrap_or_else(|| panic!("no comparison in:\n{stdout}"));
    &stdout[start..]
}

/// Breaking changes, from the counts line.
fn breaking_count(stdout: &str) -> usize {
    let counts = comparison(stdout).lines().next().unwrap();
    counts
        .split(": ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[test]
fn every_rule_has_a_fixture_pair_whose_output_names_it() {
    let mut rules: Vec<&str> = Rule::ALL.iter().map(|rule| rule.code()).collect();
    rules.extend([MAX_EVENT_BYTES_LOWERED, MAX_EVENT_BYTES_RAISED]);
    let mut pairs: Vec<String> = fs::read_dir(fixtures())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    pairs.sort();
    for pair in &pairs {
        assert!(rules.contains(&pair.as_str()), "{pair} is not a rule");
    }
    let without: Vec<&str> = rules
        .iter()
        .copied()
        .filter(|rule| !pairs.iter().any(|p| p == rule))
        .collect();
    // Every keyword a spec can hold today has a rule, so no spec pair can reach the fallback
    // for keywords without one; codegen's unit tests (`compat/tests.rs`) give it schemas with
    // such keywords.
    assert_eq!(without, [Rule::KeywordNotJudged.code()]);

    for pair in &pairs {
        let dir = fixtures().join(pair);
        let (code, stdout, stderr) = run(&dir, &["check", "new.yaml", "--against", "old.yaml"]);
        let breaking = breaking_count(&stdout);
        assert_eq!(
            code,
            if breaking > 0 { 1 } else { 0 },
            "{pair}: exit code\n{stdout}\n{stderr}"
        );
        let shown = format!("{}{stderr}", comparison(&stdout));
        assert!(
            shown.contains(&format!("  {pair}  ")) || shown.contains(&format!("ingest::{pair}")),
            "{pair} does not name its rule:\n{shown}"
        );
        insta::assert_snapshot!(
            format!("check_against__{pair}"),
            format!(
                "exit {code}\n--- stdout (after the summary)\n{}--- stderr\n{stderr}",
                comparison(&stdout)
            )
        );
    }
}

#[test]
fn the_summary_of_the_new_spec_comes_first() {
    let dir = fixtures().join("type-widened");
    let (code, stdout, stderr) = run(&dir, &["check", "new.yaml", "--against", "old.yaml"]);
    assert_eq!((code, stderr.as_str()), (0, ""));
    assert!(
        stdout.starts_with("new.yaml: valid spec `compat`"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "\ncompared with old.yaml: 0 breaking, 0 cannot tell, 3 safe\nsafe changes:\n"
        ),
        "{stdout}"
    );
}

#[test]
fn an_unchanged_spec_says_so() {
    let dir = fixtures().join("type-widened");
    let (code, stdout, _) = run(&dir, &["check", "new.yaml", "--against", "new.yaml"]);
    assert_eq!(code, 0);
    assert!(
        stdout.ends_with("compared with new.yaml: no change to what events may be\n"),
        "{stdout}"
    );
}

fn git(dir: &Path, args: &[&str]) {
    let output = Process::new("git")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("these tests need git on PATH");
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A repository with `specs/ingest.yaml` (whose `order.placed` schema is in
/// `specs/schemas/order.json`) committed, then both changed in the work tree: a breaking change
/// in the schema file and a safe one in the spec.
fn repository() -> tempfile::TempDir {
    let repo = tempfile::tempdir().unwrap();
    let specs = repo.path().join("specs");
    fs::create_dir_all(specs.join("schemas")).unwrap();
    let pair = fixtures().join("item-count-narrowed");
    let spec = fs::read_to_string(pair.join("old.yaml")).unwrap().replace(
        "schema_file: old-order.json",
        "schema_file: schemas/order.json",
    );
    let spec = format!(
        "{spec}  order.paid:\n    schema: {{ type: object, properties: {{ amount: {{ type: integer }} }} }}\n"
    );
    fs::write(specs.join("ingest.yaml"), &spec).unwrap();
    fs::copy(
        pair.join("old-order.json"),
        specs.join("schemas/order.json"),
    )
    .unwrap();
    git(repo.path(), &["init", "--quiet", "--initial-branch=main"]);
    git(repo.path(), &["add", "."]);
    git(
        repo.path(),
        &[
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@example.com",
            "commit",
            "--quiet",
            "-m",
            "first",
        ],
    );
    fs::copy(
        pair.join("new-order.json"),
        specs.join("schemas/order.json"),
    )
    .unwrap();
    fs::write(
        specs.join("ingest.yaml"),
        spec.replace("amount: { type: integer }", "amount: { type: number }"),
    )
    .unwrap();
    repo
}

#[test]
fn against_a_revision_reads_the_spec_and_its_schema_files_from_git() {
    let repo = repository();
    let root = repo.path();
    let (code, stdout, stderr) = run(root, &["check", "specs/ingest.yaml", "--against", "HEAD"]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    insta::assert_snapshot!(
        "check_against_git_revision",
        format!(
            "--- stdout (after the summary)\n{}--- stderr\n{stderr}",
            comparison(&stdout)
        )
    );
    // The same old spec, named three more ways, from the root and from its folder.
    for (dir, spec, against) in [
        (
            root.to_path_buf(),
            "specs/ingest.yaml",
            "HEAD:specs/ingest.yaml",
        ),
        (
            root.to_path_buf(),
            "specs/ingest.yaml",
            "main:./specs/ingest.yaml",
        ),
        (root.join("specs"), "ingest.yaml", "HEAD"),
        (root.join("specs"), "ingest.yaml", "HEAD:./ingest.yaml"),
    ] {
        let (code, stdout, stderr) = run(&dir, &["check", spec, "--against", against]);
        assert_eq!(code, 1, "{against}: {stderr}");
        let rev = against.split(':').next().unwrap();
        assert!(
            stdout.contains(&format!(
                "compared with {rev}:specs/ingest.yaml: 2 breaking, 0 cannot tell, 1 safe"
            )),
            "{against}: {stdout}"
        );
        assert!(
            stderr.contains(&format!(
                "╭─[{}",
                if spec == "ingest.yaml" {
                    "schemas/order.json"
                } else {
                    "specs/schemas/order.json"
                }
            )),
            "{against}: the change is shown in the schema file\n{stderr}"
        );
    }
}

#[test]
fn a_revision_that_cannot_be_had_is_a_clear_error() {
    let repo = repository();
    let root = repo.path();
    let cases = [
        (
            "nope",
            "`nope` is neither a file nor a revision of the git repository at",
        ),
        (
            "HEAD:specs/other.yaml",
            "specs/other.yaml does not exist in `HEAD`",
        ),
        ("old.yaml", "cannot read the old spec old.yaml"),
    ];
    for (against, message) in cases {
        let (code, stdout, stderr) =
            run(root, &["check", "specs/ingest.yaml", "--against", against]);
        assert_eq!(code, 1, "{against}");
        assert_eq!(stdout, "", "{against}: nothing is printed before the error");
        assert!(stderr.contains(message), "{against}:\n{stderr}");
        assert!(stderr.contains("help:"), "{against}:\n{stderr}");
    }

    // The old spec named a schema file that the revision does not have.
    git(
        root,
        &["rm", "--quiet", "--cached", "specs/schemas/order.json"],
    );
    git(
        root,
        &[
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@example.com",
            "commit",
            "--quiet",
            "-m",
            "drop",
        ],
    );
    let (code, _, stderr) = run(root, &["check", "specs/ingest.yaml", "--against", "HEAD"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("╭─[HEAD:specs/ingest.yaml:"),
        "the old spec's own error is located in it:\n{stderr}"
    );
    assert!(
        stderr.contains("specs/schemas/order.json does not exist in `HEAD`"),
        "{stderr}"
    );
    assert!(
        stderr
            .contains("the old spec HEAD:specs/ingest.yaml is not valid, so it cannot be compared"),
        "{stderr}"
    );
}

#[test]
fn without_a_repository_or_git_the_error_says_to_pass_a_file() {
    let dir = tempfile::tempdir().unwrap();
    fs::copy(
        fixtures().join("type-widened/new.yaml"),
        dir.path().join("ingest.yaml"),
    )
    .unwrap();
    let (code, _, stderr) = run(dir.path(), &["check", "ingest.yaml", "--against", "HEAD~1"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("is not in a git repository"), "{stderr}");
    assert!(stderr.contains("--against old-ingest.yaml"), "{stderr}");

    let empty = tempfile::tempdir().unwrap();
    let output = ingest()
        .current_dir(dir.path())
        .env("PATH", empty.path())
        .args(["check", "ingest.yaml", "--against", "HEAD~1"])
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr.contains("cannot run git to read the old spec at `HEAD~1`"),
        "{stderr}"
    );
    assert!(stderr.contains("install git"), "{stderr}");
}

/// Commits everything in `repo` as one commit.
fn commit_all(repo: &Path) {
    git(repo, &["add", "--all"]);
    git(
        repo,
        &[
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@example.com",
            "commit",
            "--quiet",
            "-m",
            "a commit",
        ],
    );
}

/// A repository whose `order.placed` schema (`specs/schemas/order.json`) takes its address
/// from a file of shared definitions (`common.json#/$defs/address`), committed.
fn repository_with_shared_definitions() -> tempfile::TempDir {
    let repo = tempfile::tempdir().unwrap();
    let specs = repo.path().join("specs");
    fs::create_dir_all(specs.join("schemas")).unwrap();
    let spec = fs::read_to_string(fixtures().join("item-count-narrowed/old.yaml"))
        .unwrap()
        .replace(
            "schema_file: old-order.json",
            "schema_file: schemas/order.json",
        );
    fs::write(specs.join("ingest.yaml"), spec).unwrap();
    fs::write(
        specs.join("schemas/order.json"),
        r##"{"type": "object", "properties": {"ship_to": {"$ref": "common.json#/$defs/address"}}}"##,
    )
    .unwrap();
    fs::write(
        specs.join("schemas/common.json"),
        r##"{"$defs": {"address": {"type": "object", "properties": {"country": {"$ref": "#/$defs/country"}}}, "country": {"type": "string", "minLength": 2}}}"##,
    )
    .unwrap();
    git(repo.path(), &["init", "--quiet", "--initial-branch=main"]);
    commit_all(repo.path());
    repo
}

#[test]
fn references_into_schema_files_are_followed_on_both_sides() {
    let repo = repository_with_shared_definitions();
    let root = repo.path();
    let specs = root.join("specs");
    let check = |dir: &Path, spec: &str| run(dir, &["check", spec, "--against", "HEAD"]);

    // Unchanged, from the root and from the spec's folder: the definitions in `common.json` are
    // the same on both sides, so the `$ref`s are, with nothing to warn about.
    for (dir, spec) in [
        (root.to_path_buf(), "specs/ingest.yaml"),
        (specs.clone(), "ingest.yaml"),
    ] {
        let (code, stdout, stderr) = check(&dir, spec);
        assert_eq!(code, 0, "{stdout}\n{stderr}");
        assert!(
            stdout.ends_with(": no change to what events may be\n"),
            "{spec}: {stdout}\n{stderr}"
        );
    }

    // A change in the work tree two references away (in `common.json`, under the address):
    // the old side reads `common.json` from HEAD, so the change is seen.
    let common = specs.join("schemas/common.json");
    let text = fs::read_to_string(&common).unwrap();
    fs::write(
        &common,
        text.replace("\"minLength\": 2", "\"minLength\": 3"),
    )
    .unwrap();
    let (code, stdout, stderr) = check(root, "specs/ingest.yaml");
    assert_eq!(code, 0, "cannot tell is a warning: {stdout}\n{stderr}");
    assert!(
        comparison(&stdout)
            .starts_with("compared with HEAD:specs/ingest.yaml: 0 breaking, 1 cannot tell, 0 safe"),
        "{stdout}"
    );
    assert!(
        stderr.contains("`$ref` points at a schema that changed"),
        "{stderr}"
    );
    // Committed, the two sides agree again.
    commit_all(root);
    let (code, stdout, _) = check(root, "specs/ingest.yaml");
    assert_eq!(code, 0);
    assert!(
        stdout.ends_with(": no change to what events may be\n"),
        "{stdout}"
    );

    // The shared file renamed in the work tree: the old spec still reads `common.json`, from
    // HEAD, where it exists (the work tree no longer has it).
    fs::rename(&common, specs.join("schemas/shared.json")).unwrap();
    let order = specs.join("schemas/order.json");
    let text = fs::read_to_string(&order).unwrap();
    fs::write(&order, text.replace("common.json#", "shared.json#")).unwrap();
    let (code, stdout, stderr) = check(root, "specs/ingest.yaml");
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        comparison(&stdout)
            .starts_with("compared with HEAD:specs/ingest.yaml: 0 breaking, 1 cannot tell, 0 safe"),
        "the old spec reads its own files: {stdout}\n{stderr}"
    );
}
