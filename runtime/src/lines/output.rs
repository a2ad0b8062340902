//! The verdicts of a piece of input, formatted, and the progress line.

use std::borrow::Cow;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::input::Chunk;
use super::{Format, Options, input_name};
use crate::check::Violation;
use crate::envelope::{Reason, RecordOutcome, Rejection, Validator};

/// How one input is named in verdicts.
pub(crate) struct Label {
    /// `"file":"<name>",` as JSON, or nothing when there is one input.
    json: String,
    /// The name for people (`events.ndjson`, `standard input`).
    human: String,
    /// The name in JSON verdicts.
    file: Option<String>,
}

impl Label {
    pub(crate) fn new(input: &Path, several: bool) -> Self {
        let file = several.then(|| input.display().to_string());
        Label {
            json: file.as_ref().map_or_else(String::new, |file| {
                format!(
                    "\"file\":{},",
                    serde_json::to_string(file).unwrap_or_default()
                )
            }),
            human: input_name(input),
            file,
        }
    }
}

/// The verdicts of one piece, and their counts.
#[derive(Debug, Default)]
pub(crate) struct Output {
    /// The formatted verdicts.
    pub(crate) text: Vec<u8>,
    /// Bytes of input the piece covered.
    pub(crate) bytes: usize,
    pub(crate) valid: u64,
    pub(crate) invalid: u64,
    /// Invalid records by reason, in the order of [`Reason::ALL`].
    pub(crate) reasons: [u64; Reason::ALL.len()],
}

#[derive(Serialize)]
struct Verdict<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<&'a str>,
    line: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    index: Option<usize>,
    valid: bool,
    reason: Reason,
    violations: Vec<Violation>,
}

/// Judges every record of a piece.
pub(crate) fn verdicts(
    validator: &Validator<'_>,
    label: &Label,
    options: &Options,
    chunk: Chunk,
) -> Output {
    let mut output = Output {
        bytes: chunk.len(),
        text: Vec::with_capacity(match options.format {
            Format::Json => chunk.len() / 8,
            Format::Human => 0,
        }),
        ..Output::default()
    };
    let mut judge = |line: usize, index: Option<usize>, record: &[u8]| {
        judge(validator, label, options, &mut output, line, index, record);
    };
    match chunk {
        Chunk::Lines { first_line, bytes } => {
            let mut rest = bytes.as_slice();
            let mut line = first_line;
            while !rest.is_empty() {
                let (text, next) = match memchr::memchr(b'\n', rest) {
                    Some(at) => (&rest[..at], &rest[at + 1..]),
                    None => (rest, &[][..]),
                };
                let text = text.strip_suffix(b"\r").unwrap_or(text);
                if !text.iter().all(u8::is_ascii_whitespace) {
                    judge(line, None, text);
                }
                line += 1;
                rest = next;
            }
        }
        Chunk::Elements { bytes, elements } => {
            for element in elements {
                judge(
                    element.line,
                    Some(element.index),
                    &bytes[element.start..element.end],
                );
            }
        }
    }
    output
}

/// The reason of a record and every violation (pointers of a batch's events start with the
/// event's index), or `None` when it is valid.
fn rejection(outcome: &RecordOutcome<'_>) -> Option<(Reason, Vec<Violation>)> {
    match outcome {
        RecordOutcome::Rejected(rejection) => {
            Some((rejection.reason, rejection.violations.clone()))
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
            reason.map(|reason| (reason, violations))
        }
    }
}

fn judge(
    validator: &Validator<'_>,
    label: &Label,
    options: &Options,
    output: &mut Output,
    line: usize,
    index: Option<usize>,
    record: &[u8],
) {
    // The fast path first: only an invalid record is read again for its report.
    let outcome = (!validator.is_valid(record)).then(|| validator.validate(record));
    let rejected = outcome.as_ref().and_then(rejection);
    let Some((reason, violations)) = rejected else {
        output.valid += 1;
        if options.format == Format::Json {
            // Most lines are this one: written without the formatting machinery.
            output.text.push(b'{');
            output.text.extend_from_slice(label.json.as_bytes());
            output.text.extend_from_slice(b"\"line\":");
            push_decimal(&mut output.text, line);
            if let Some(index) = index {
                output.text.extend_from_slice(b",\"index\":");
                push_decimal(&mut output.text, index);
            }
            output.text.extend_from_slice(b",\"valid\":true}\n");
        }
        return;
    };
    output.invalid += 1;
    if let Some(slot) = Reason::ALL.iter().position(|r| *r == reason) {
        output.reasons[slot] += 1;
    }
    match options.format {
        Format::Json => {
            let verdict = Verdict {
                file: label.file.as_deref(),
                line,
                index,
                valid: false,
                reason,
                violations,
            };
            // Serializing into a Vec cannot fail.
            let _ = serde_json::to_writer(&mut output.text, &verdict);
            output.text.push(b'\n');
        }
        Format::Human => {
            if let Some(outcome) = &outcome {
                human(&mut output.text, label, options.color, line, index, outcome);
            }
        }
    }
}

/// Appends `n` in decimal.
fn push_decimal(text: &mut Vec<u8>, mut n: usize) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    text.extend_from_slice(&digits[at..]);
}

/// The attributes of an event a person recognizes it by.
#[derive(Deserialize)]
struct Head<'a> {
    #[serde(borrow)]
    id: Option<Cow<'a, str>>,
}

fn event_id(raw: &[u8]) -> Option<String> {
    serde_json::from_slice::<Head<'_>>(raw)
        .ok()
        .and_then(|head| head.id.map(Cow::into_owned))
}

/// A line per violation: `file:line: event "id": /pointer: message [reason]`.
fn human(
    text: &mut Vec<u8>,
    label: &Label,
    color: bool,
    line: usize,
    index: Option<usize>,
    outcome: &RecordOutcome<'_>,
) {
    let (bold, red, reset) = if color {
        ("\x1b[1m", "\x1b[31m", "\x1b[0m")
    } else {
        ("", "", "")
    };
    let mut place = format!("{}:{line}", label.human);
    if let Some(index) = index {
        place.push_str(&format!(" (element {index})"));
    }
    let mut write = |event: Option<(usize, &[u8])>, rejection: &Rejection| {
        let mut at = place.clone();
        let mut who = String::new();
        if let Some((number, raw)) = event {
            if matches!(outcome, RecordOutcome::Events { batch: true, .. }) {
                at.push_str(&format!(" (event {number})"));
            }
            if let Some(id) = event_id(raw) {
                who = format!("event {}: ", serde_json::to_string(&id).unwrap_or_default());
            }
        }
        for violation in &rejection.violations {
            let pointer = if violation.pointer.is_empty() {
                String::new()
            } else {
                format!("{}: ", violation.pointer)
            };
            let _ = writeln!(
                text,
                "{bold}{at}{reset}: {who}{pointer}{} {red}[{}]{reset}",
                violation.message,
                rejection.reason.as_str()
            );
        }
    };
    match outcome {
        RecordOutcome::Rejected(rejection) => write(None, rejection),
        RecordOutcome::Events { events, .. } => {
            for (number, event) in events.iter().enumerate() {
                if let Err(rejection) = &event.result {
                    write(Some((number, event.raw)), rejection);
                }
            }
        }
    }
}

/// The progress line on standard error: drawn only when asked for, once a run has gone on for
/// a moment, at most ten times a second, and cleared before verdicts are written to a terminal.
pub(crate) struct Progress {
    enabled: bool,
    /// Whether verdicts go to the same terminal (then the line is cleared before each).
    clear_for_output: bool,
    total_bytes: Option<u64>,
    bytes: u64,
    records: u64,
    started: Instant,
    drawn_at: Option<Instant>,
}

/// How long a run goes on before the progress line appears.
const PROGRESS_DELAY: Duration = Duration::from_millis(500);
/// How often it is redrawn at most.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

impl Progress {
    pub(crate) fn new(enabled: bool, total_bytes: Option<u64>, format: Format) -> Self {
        Progress {
            enabled,
            clear_for_output: format == Format::Human && std::io::stdout().is_terminal(),
            total_bytes,
            bytes: 0,
            records: 0,
            started: Instant::now(),
            drawn_at: None,
        }
    }

    pub(crate) fn advance(&mut self, bytes: usize, records: u64) {
        self.bytes += bytes as u64;
        self.records += records;
    }

    pub(crate) fn draw(&mut self) {
        let now = Instant::now();
        if !self.enabled
            || now.duration_since(self.started) < PROGRESS_DELAY
            || self
                .drawn_at
                .is_some_and(|at| now.duration_since(at) < PROGRESS_EVERY)
        {
            return;
        }
        let mb = |bytes: u64| bytes as f64 / 1e6;
        let rate = self.records as f64 / now.duration_since(self.started).as_secs_f64();
        let line = match self.total_bytes.filter(|total| *total > 0) {
            Some(total) => {
                let share = (self.bytes as f64 / total as f64).min(1.0);
                let filled = (share * 24.0) as usize;
                format!(
                    "validating [{}{}] {:>3.0}% {:.1}/{:.1} MB, {} records ({:.0}/s)",
                    "#".repeat(filled),
                    " ".repeat(24 - filled),
                    share * 100.0,
                    mb(self.bytes),
                    mb(total),
                    self.records,
                    rate
                )
            }
            None => format!(
                "validating {:.1} MB, {} records ({:.0}/s)",
                mb(self.bytes),
                self.records,
                rate
            ),
        };
        let mut stderr = std::io::stderr().lock();
        let _ = write!(stderr, "\r\x1b[2K{line}");
        let _ = stderr.flush();
        self.drawn_at = Some(now);
    }

    /// Removes the line before verdicts are written to the same terminal.
    pub(crate) fn clear(&mut self) {
        if self.clear_for_output {
            self.finish();
        }
    }

    /// Removes the line, if it is there.
    pub(crate) fn finish(&mut self) {
        if self.drawn_at.take().is_some() {
            let mut stderr = std::io::stderr().lock();
            let _ = write!(stderr, "\r\x1b[2K");
            let _ = stderr.flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::push_decimal;

    #[test]
    fn decimals_are_written_like_display() {
        for n in [0, 7, 10, 99, 100, 123_456, usize::MAX] {
            let mut text = b"x".to_vec();
            push_decimal(&mut text, n);
            assert_eq!(text, format!("x{n}").into_bytes());
        }
    }
}
