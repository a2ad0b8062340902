//! The program behind `ingest validate`: reads events, prints one verdict per record.
//!
//! `ingest validate` generates a small binary that links a spec's events crate and calls
//! [`main`], so verdicts come from exactly the code the pipeline runs. [`main`] takes any
//! [`Registry`]: a registry that `ingest-eval` compiles from the spec's schemas at run time
//! gives the same verdicts without building anything. Input files (or `-` for
//! standard input) hold either NDJSON (one record per non-blank line; a record may itself be a
//! batch array) or one JSON array whose elements are the records. Each record yields one line
//! on standard output:
//!
//! ```text
//! {"line":3,"valid":false,"reason":"schema_violation","violations":[{"pointer":"/data/user_id","keyword":"minimum","message":"0 is less than the minimum of 1"}]}
//! ```
//!
//! An input that is one JSON array spread over several lines is a list of records; an array on
//! a single line is one record (a batch), as in NDJSON. `line` is the line where the record
//! starts; with several files a `file` field comes first.
//! Violations of a batch's events have the event's index before their pointer (`/2/data/...`).
//! A summary goes to standard error. The exit code is 0 when every record is valid, 1 otherwise
//! (including unreadable files).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{Read, Write};
use std::process::ExitCode;

use serde::Serialize;

use crate::check::Violation;
use crate::envelope::{Reason, RecordOutcome, Registry, Validator};
use crate::json::{Kind, Parser};

#[derive(Serialize)]
struct Verdict<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<&'a str>,
    line: usize,
    valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<Reason>,
    #[serde(skip_serializing_if = "Option::is_none")]
    violations: Option<Vec<Violation>>,
}

/// One record of an input file: where it starts and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputRecord<'a> {
    /// 1-based line where the record starts.
    pub line: usize,
    /// The record's bytes.
    pub bytes: &'a [u8],
}

/// Splits an input into records: the elements of a top-level JSON array when the whole input is
/// one array, else its non-blank lines.
pub fn records(input: &[u8]) -> Vec<InputRecord<'_>> {
    let line_of = |offset: usize| 1 + input[..offset].iter().filter(|b| **b == b'\n').count();
    let mut p = Parser::new(input);
    if p.peek() == Ok(Kind::Array) {
        let mut spans = Vec::new();
        let whole = (|| {
            p.begin_array()?;
            let mut first = true;
            while p.next_element(&mut first)? {
                p.peek()?;
                let start = p.offset();
                p.skip_value()?;
                spans.push((start, p.offset()));
            }
            p.finish()
        })();
        // A one-line array is an NDJSON batch record, not a list of records.
        let multi_line = input.iter().filter(|b| **b == b'\n').count() > 1;
        if whole.is_ok() && multi_line {
            return spans
                .into_iter()
                .map(|(start, end)| InputRecord {
                    line: line_of(start),
                    bytes: &input[start..end],
                })
                .collect();
        }
    }
    input
        .split(|b| *b == b'\n')
        .enumerate()
        .filter(|(_, line)| !line.iter().all(u8::is_ascii_whitespace))
        .map(|(index, line)| InputRecord {
            line: index + 1,
            bytes: line.strip_suffix(b"\r").unwrap_or(line),
        })
        .collect()
}

fn verdict<'a>(file: Option<&'a str>, line: usize, outcome: &RecordOutcome<'_>) -> Verdict<'a> {
    let (reason, violations) = match outcome {
        RecordOutcome::Rejected(rejection) => {
            (Some(rejection.reason), rejection.violations.clone())
        }
        RecordOutcome::Events { batch, events } => {
            let mut reason = None;
            let mut violations = Vec::new();
            for (index, event) in events.iter().enumerate() {
                if let Err(rejection) = &event.result {
                    reason.get_or_insert(rejection.reason);
                    violations.extend(rejection.violations.iter().map(|v| Violation {
                        pointer: if *batch {
                            format!("/{index}{}", v.pointer)
                        } else {
                            v.pointer.clone()
                        },
                        ..v.clone()
                    }));
                }
            }
            (reason, violations)
        }
    };
    Verdict {
        file,
        line,
        valid: reason.is_none(),
        reason,
        violations: reason.map(|_| violations),
    }
}

/// Runs `ingest validate` over the given arguments (files, or `-`) with a spec's registry.
pub fn main(registry: &Registry, args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let files: Vec<String> = args
        .into_iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    if files.is_empty() {
        eprintln!("error: give at least one file of events, or `-` for standard input");
        return ExitCode::FAILURE;
    }
    let validator = Validator::new(registry);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    let (mut valid, mut invalid, mut unreadable) = (0usize, 0usize, 0usize);
    for file in &files {
        let mut input = Vec::new();
        let read = if file == "-" {
            std::io::stdin().read_to_end(&mut input).map(drop)
        } else {
            std::fs::read(file).map(|bytes| input = bytes)
        };
        if let Err(error) = read {
            eprintln!("error: cannot read {file}: {error}");
            unreadable += 1;
            continue;
        }
        let label = (files.len() > 1).then_some(file.as_str());
        for record in records(&input) {
            let outcome = validator.validate(record.bytes);
            let line = verdict(label, record.line, &outcome);
            match line.reason {
                None => valid += 1,
                Some(reason) => {
                    invalid += 1;
                    *counts.entry(reason.as_str()).or_default() += 1;
                }
            }
            let text = serde_json::to_string(&line).unwrap_or_default();
            if writeln!(out, "{text}").is_err() {
                return ExitCode::FAILURE;
            }
        }
    }
    let _ = out.flush();
    let reasons: Vec<String> = counts
        .iter()
        .map(|(reason, n)| format!("{reason}: {n}"))
        .collect();
    let breakdown = if reasons.is_empty() {
        String::new()
    } else {
        format!(" ({})", reasons.join(", "))
    };
    eprintln!(
        "{} records: {valid} valid, {invalid} invalid{breakdown}",
        valid + invalid
    );
    if unreadable > 0 {
        eprintln!("{unreadable} file(s) could not be read");
    }
    if invalid == 0 && unreadable == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_ndjson_and_arrays() {
        let ndjson = b"{\"a\":1}\n\n[{\"b\":2}]\r\n{bad\n";
        let lines: Vec<usize> = records(ndjson).iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![1, 3, 4]);
        assert_eq!(records(ndjson)[1].bytes, b"[{\"b\":2}]");
        let array = b"[\n  {\"a\":1},\n  {\"b\":2}\n]\n";
        let split = records(array);
        assert_eq!(split.iter().map(|r| r.line).collect::<Vec<_>>(), vec![2, 3]);
        assert_eq!(split[1].bytes, b"{\"b\":2}");
    }
}
