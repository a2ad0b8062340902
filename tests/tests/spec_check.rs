//! `ingest check` on fixtures: every invalid spec fails with exactly the diagnostics its header
//! promises (`# expect: code, code`), rendered output is snapshot-tested, valid specs pass, and
//! no input makes the checker panic.

use std::fs;
use std::path::{Path, PathBuf};

use ingest_synth::diagnostic::{self, Diagnostic, SourceFile};
use ingest_synth::spec::SpecError;
use ingest_synth::{check_source, check_spec};
use ingest_tests::workspace_root;

/// The codes a fixture's second line promises, sorted.
fn expected_codes(path: &Path) -> Vec<String> {
    let text = fs::read_to_string(path).unwrap();
    let line = text
        .lines()
        .find_map(|line| line.strip_prefix("# expect:"))
        .unwrap_or_else(|| panic!("{} has no `# expect:` line", path.display()));
    let mut codes: Vec<String> = line
        .split(',')
        .map(|code| code.trim().to_owned())
        .filter(|code| !code.is_empty())
        .collect();
    codes.sort();
    codes
}

fn codes(diagnostics: &[Diagnostic]) -> Vec<String> {
    let mut codes: Vec<String> = diagnostics.iter().map(|d| d.code.to_owned()).collect();
    codes.sort();
    codes
}

fn fixtures(folder: &str) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = fs::read_dir(Path::new("fixtures").join(folder))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no fixtures in fixtures/{folder}");
    paths
}

#[test]
fn every_invalid_fixture_reports_exactly_its_problems() {
    let mut failures = Vec::new();
    for path in fixtures("invalid") {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let diagnostics = match check_spec(&path) {
            Ok(_) => {
                failures.push(format!("{name}: accepted"));
                continue;
            }
            Err(SpecError::Io { error, .. }) => panic!("{name}: {error}"),
            Err(SpecError::Invalid(diagnostics)) => diagnostics,
        };
        let expected = expected_codes(&path);
        if codes(&diagnostics) != expected {
            failures.push(format!(
                "{name}: expected {expected:?}, got {:?}",
                codes(&diagnostics)
            ));
        }
        for diagnostic in &diagnostics {
            assert!(
                diagnostic.help.as_deref().is_some_and(|h| !h.is_empty()),
                "{name}: `{}` has no help",
                diagnostic.code
            );
            assert!(
                diagnostic.span.end <= diagnostic.source.text().len(),
                "{name}: span outside the file"
            );
        }
        let rendered = diagnostic::render(&diagnostics, false);
        insta::assert_snapshot!(format!("invalid__{name}"), rendered);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn valid_fixtures_pass_with_exactly_their_warnings() {
    for path in fixtures("valid") {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let checked = check_spec(&path).unwrap_or_else(|error| match error {
            SpecError::Invalid(d) => panic!("{name}:\n{}", diagnostic::render(&d, false)),
            SpecError::Io { error, .. } => panic!("{name}: {error}"),
        });
        assert_eq!(codes(&checked.warnings), expected_codes(&path), "{name}");
        assert!(checked.warnings.iter().all(|w| !w.is_error()));
        if !checked.warnings.is_empty() {
            insta::assert_snapshot!(
                format!("valid__{name}"),
                diagnostic::render(&checked.warnings, false)
            );
        }
    }
}

#[test]
fn bundled_specs_are_valid_with_only_the_account_trust_warnings_and_summarised() {
    let specs = workspace_root().join("specs");
    let mut names = Vec::new();
    for entry in fs::read_dir(&specs).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let text = fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("# yaml-language-server: $schema=../generated/ingest.schema.json\n"),
            "{name} must start with the yaml-language-server modeline"
        );
        let checked = match check_spec(&path) {
            Ok(checked) => checked,
            Err(SpecError::Invalid(d)) => panic!("{name}:\n{}", diagnostic::render(&d, false)),
            Err(SpecError::Io { error, .. }) => panic!("{name}: {error}"),
        };
        // The only warnings a bundled spec may carry: the roles that trust the whole account,
        // exactly when it names no one for them (the seed and the minimal spec leave them
        // out, as a new user's first spec does: naming roles that do not exist fails a deploy).
        let mut expected = Vec::new();
        if checked.plan.failover.lever.operators.is_empty() {
            expected.push("lever-trusts-account".to_owned());
        }
        if checked.plan.storage.readers.is_empty() {
            expected.push("readers-trust-account".to_owned());
        }
        assert_eq!(codes(&checked.warnings), expected, "{name}");
        let summary = ingest_synth::summary::render(&format!("specs/{name}.yaml"), &checked.plan);
        insta::assert_snapshot!(format!("summary__{name}"), summary);
        names.push(name);
    }
    names.sort();
    assert_eq!(names, ["checkout", "eu-orders", "ingest", "minimal"]);
}

/// The bundled specs together use every keyword of the vocabulary (the seed spec the
/// original subset, `specs/catalog.yaml` the rest) and every format, so the differential tests
/// over them reach every part of the generated validators.
#[test]
fn the_bundled_specs_use_every_supported_schema_keyword() {
    use ingest_codegen::keywords::{KEYWORDS, Role};
    let mut seen = std::collections::BTreeSet::new();
    let mut formats = std::collections::BTreeSet::new();
    fn walk(
        value: &serde_json::Value,
        seen: &mut std::collections::BTreeSet<String>,
        formats: &mut std::collections::BTreeSet<String>,
    ) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, child) in map {
                    seen.insert(key.clone());
                    if key == "format"
                        && let Some(format) = child.as_str()
                    {
                        formats.insert(format.to_owned());
                    }
                    // Names are not keywords; their schemas are.
                    if matches!(
                        key.as_str(),
                        "properties" | "patternProperties" | "$defs" | "dependentSchemas"
                    ) {
                        if let serde_json::Value::Object(entries) = child {
                            entries
                                .values()
                                .for_each(|schema| walk(schema, seen, formats));
                        }
                    } else if !matches!(key.as_str(), "enum" | "const" | "examples" | "default") {
                        walk(child, seen, formats);
                    }
                }
            }
            serde_json::Value::Array(items) => {
                items.iter().for_each(|item| walk(item, seen, formats))
            }
            _ => {}
        }
    }
    let specs = workspace_root().join("specs");
    for entry in fs::read_dir(&specs).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let checked = check_spec(&path).unwrap();
            for event in &checked.plan.events {
                walk(&event.schema_json, &mut seen, &mut formats);
            }
        }
    }
    // The files that references read (shared definitions) are schemas too.
    for entry in fs::read_dir(specs.join("schemas")).unwrap() {
        let path = entry.unwrap().path();
        let text = fs::read_to_string(&path).unwrap();
        if path.extension().is_some_and(|e| e == "json") {
            walk(
                &serde_json::from_str(&text).unwrap(),
                &mut seen,
                &mut formats,
            );
        }
    }
    for keyword in KEYWORDS {
        let required = matches!(keyword.role, Role::Assertion | Role::Applicator)
            || matches!(keyword.json, "$ref" | "$defs" | "$anchor");
        assert!(
            !required || seen.contains(keyword.json),
            "no bundled spec uses `{}`",
            keyword.json
        );
    }
    for format in ingest_codegen::schema::Format::ALL {
        assert!(
            formats.contains(format.as_str()),
            "no bundled spec uses the format {}",
            format.as_str()
        );
    }
}

/// Every prefix of a real spec, and every single-byte corruption of a sample of positions, is
/// either accepted or rejected with diagnostics: never a panic, never a span outside the text.
#[test]
fn truncated_and_corrupted_specs_never_panic() {
    let path = workspace_root().join("specs/ingest.yaml");
    let text = fs::read_to_string(&path).unwrap();
    let boundaries: Vec<usize> = (0..=text.len())
        .filter(|i| text.is_char_boundary(*i))
        .collect();
    // Every third prefix keeps the run short in debug builds while still cutting each token.
    let mut variants: Vec<String> = boundaries
        .iter()
        .step_by(3)
        .map(|&i| text[..i].to_owned())
        .collect();
    for (n, &i) in boundaries.iter().enumerate().filter(|(n, _)| n % 11 == 0) {
        for replacement in [":", "-", "[", "{", "\"", " ", "\t", "#", "&", "*", "!", "9"] {
            let end = boundaries.get(n + 1).copied().unwrap_or(text.len());
            variants.push(format!("{}{replacement}{}", &text[..i], &text[end..]));
        }
    }
    for variant in variants {
        let length = variant.len();
        let source = SourceFile::new("mutated.yaml", variant);
        if let Err(SpecError::Invalid(diagnostics)) = check_source(source, &path) {
            assert!(!diagnostics.is_empty());
            for diagnostic in &diagnostics {
                assert!(
                    diagnostic.span.start <= diagnostic.span.end && diagnostic.span.end <= length
                );
            }
        }
    }
}

/// With no lever operators or readers named, the summary says the whole account may assume the
/// roles and which key narrows each; with them named, it lists who.
#[test]
fn summary_says_who_can_pull_the_lever_and_read_the_lake() {
    let summary_of = |fixture: &str| {
        let path = Path::new("fixtures/valid").join(fixture);
        let checked = check_spec(&path).unwrap_or_else(|e| panic!("{fixture}: {e:?}"));
        ingest_synth::summary::render(fixture, &checked.plan)
    };
    let open = summary_of("warning_account_trust.yaml");
    for key in ["failover.lever_operators", "storage.readers.principals"] {
        assert!(
            open.contains(&format!(
                "any principal of the account whose policies allow sts:AssumeRole on it: name them in {key}"
            )),
            "{open}"
        );
    }
    let named = summary_of("base.yaml");
    assert!(
        named.contains("assumed only by arn:aws:iam::123456789012:role/oncall"),
        "{named}"
    );
    assert!(
        named.contains("assumed only by arn:aws:iam::123456789012:role/analysts"),
        "{named}"
    );
    assert!(!named.contains("any principal of the account"), "{named}");
}
