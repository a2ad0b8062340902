//! `ingest validate`: reads events and gives one verdict per record, with every core.
//!
//! Inputs (files, or `-` for standard input) hold NDJSON (one record per non-blank line; a
//! record may itself be a batch array) or one JSON array of records spread over several lines
//! (see [`input`] for how the two are told apart). They are read as a stream, in pieces of about
//! [`CHUNK_BYTES`] cut at record boundaries, so an input of any size is never held whole:
//!
//! ```text
//!  reader (one thread)  --pieces-->  workers (--jobs, default every core)  --verdicts-->  writer
//!  splits each input at record       validate every record of a piece and      (the calling thread)
//!  boundaries, in order              format its verdicts                        puts them back in input order
//! ```
//!
//! Pieces carry a sequence number and the writer holds back the ones that finish early, so the
//! output is in input order whatever the number of workers; at most a few pieces per worker are
//! in flight, so memory stays flat. Each record is judged by the fast path first
//! ([`Validator::is_valid`]) and only an invalid one is read again for its report, so valid
//! records (the common case) cost one pass. The registry may hold generated validators or
//! programs compiled at run time (`ingest-eval`): `ingest validate` uses the second, and
//! `ingest validate --compiled` links a spec's generated events crate into a small program that
//! calls [`main`].
//!
//! Two formats ([`Format`]): JSON lines, one per record, for programs
//!
//! ```text
//! {"line":3,"valid":false,"reason":"schema_violation","violations":[{"pointer":"/data/user_id","keyword":"minimum","message":"0 is less than the minimum of 1"}]}
//! ```
//!
//! (`line` is where the record starts; an element of a JSON array of records also has its
//! `index`; with several inputs a `file` field comes first; violations of a batch's events have
//! the event's index before their pointer, `/2/data/...`), and for people a line per violation
//! of the invalid records only (`events.ndjson:3: event "7": /data/user_id: 0 is less than the
//! minimum of 1 [schema_violation]`). The [`Summary`] counts records by verdict and reason and
//! collects the problems of whole inputs ([`InputProblem`]: unreadable, empty, a broken array).
//! Exit codes ([`Summary::exit_code`]): [`EXIT_VALID`] when every record is valid,
//! [`EXIT_INVALID`] when some are not, [`EXIT_INPUT`] when an input could not be read whole.

pub mod input;
mod output;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use serde::{Deserialize, Serialize};

pub use input::{CHUNK_BYTES, InputProblem};

use crate::envelope::{DEFAULT_MAX_BYTES, Reason, Registry, Validator};
use input::Chunk;
use output::{Label, Output, Progress};

/// Exit code when every record is valid.
pub const EXIT_VALID: u8 = 0;
/// Exit code when some record is invalid.
pub const EXIT_INVALID: u8 = 1;
/// Exit code when an input could not be read whole (unreadable, empty, a broken array), or the
/// program was called wrongly.
pub const EXIT_INPUT: u8 = 2;

/// The name that stands for standard input.
pub const STDIN: &str = "-";

/// How verdicts are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// One JSON object per record.
    Json,
    /// A line per violation of the invalid records, for a terminal.
    Human,
}

/// What `ingest validate` was asked to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Options {
    /// The inputs, in order; [`STDIN`] is standard input.
    pub inputs: Vec<PathBuf>,
    /// The output format.
    pub format: Format,
    /// ANSI colours in the human format.
    pub color: bool,
    /// A progress line on standard error while a long run goes on.
    pub progress: bool,
    /// Worker threads; 0 is one per core.
    pub jobs: usize,
    /// Records larger than this are `too_large` (the spec's `api.max_event_bytes`).
    pub max_record_bytes: usize,
}

impl Options {
    /// JSON lines, no progress, every core, the default record limit.
    pub fn new(inputs: Vec<PathBuf>) -> Self {
        Options {
            inputs,
            format: Format::Json,
            color: false,
            progress: false,
            jobs: 0,
            max_record_bytes: DEFAULT_MAX_BYTES,
        }
    }

    /// The worker threads to start.
    pub fn workers(&self) -> usize {
        if self.jobs > 0 {
            self.jobs
        } else {
            std::thread::available_parallelism().map_or(1, usize::from)
        }
    }
}

/// A problem of one whole input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InputError {
    /// The input as it was named (`-` for standard input).
    pub input: PathBuf,
    /// What is wrong with it.
    pub problem: InputProblem,
}

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", input_name(&self.input), self.problem)
    }
}

impl std::error::Error for InputError {}

/// How an input is named in messages.
pub fn input_name(input: &Path) -> String {
    if input == Path::new(STDIN) {
        "standard input".to_owned()
    } else {
        input.display().to_string()
    }
}

/// What a run found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Records judged.
    pub records: u64,
    /// Valid records.
    pub valid: u64,
    /// Invalid records.
    pub invalid: u64,
    /// Invalid records by the reason of their first rejected event.
    pub reasons: BTreeMap<&'static str, u64>,
    /// Inputs that could not be read whole.
    pub input_errors: Vec<InputError>,
}

impl Summary {
    /// [`EXIT_INPUT`] when an input could not be read whole, else [`EXIT_INVALID`] when a
    /// record is invalid, else [`EXIT_VALID`].
    pub fn exit_code(&self) -> u8 {
        if !self.input_errors.is_empty() {
            EXIT_INPUT
        } else if self.invalid > 0 {
            EXIT_INVALID
        } else {
            EXIT_VALID
        }
    }

    /// `4 records: 1 valid, 3 invalid (not_json: 1, schema_violation: 2)`.
    pub fn render(&self) -> String {
        let breakdown: Vec<String> = self
            .reasons
            .iter()
            .map(|(reason, n)| format!("{reason}: {n}"))
            .collect();
        let mut text = format!(
            "{} record{}: {} valid, {} invalid",
            self.records,
            if self.records == 1 { "" } else { "s" },
            self.valid,
            self.invalid
        );
        if !breakdown.is_empty() {
            text.push_str(&format!(" ({})", breakdown.join(", ")));
        }
        text.push('\n');
        text
    }

    fn add(&mut self, output: &Output) {
        self.records += output.valid + output.invalid;
        self.valid += output.valid;
        self.invalid += output.invalid;
        for (reason, n) in Reason::ALL.iter().zip(output.reasons) {
            if n > 0 {
                *self.reasons.entry(reason.as_str()).or_default() += n;
            }
        }
    }
}

/// What a worker or the reader hands the writer.
enum Done {
    Verdicts(Output),
    Problem(usize, InputProblem),
}

/// Validates every input and writes the verdicts to `out` in input order. Fails only when
/// `out` cannot be written; problems of the inputs are in the [`Summary`].
pub fn run(registry: &Registry, options: &Options, out: &mut dyn Write) -> io::Result<Summary> {
    let validator = Validator::new(registry).with_max_bytes(options.max_record_bytes);
    let workers = options.workers();
    let labels: Vec<Label> = options
        .inputs
        .iter()
        .map(|input| Label::new(input, options.inputs.len() > 1))
        .collect();
    let total_bytes = options
        .inputs
        .iter()
        .map(|input| {
            (input != Path::new(STDIN))
                .then(|| std::fs::metadata(input).ok().map(|m| m.len()))
                .flatten()
        })
        .sum::<Option<u64>>();
    let in_flight = workers * 4;
    let (work_tx, work_rx) = sync_channel::<(u64, usize, Chunk)>(workers * 2);
    let (done_tx, done_rx) = sync_channel::<(u64, Done)>(in_flight);
    let (token_tx, token_rx) = sync_channel::<()>(in_flight);
    for _ in 0..in_flight {
        let _ = token_tx.send(());
    }
    let work_rx = Mutex::new(work_rx);
    std::thread::scope(|scope| {
        let reader_done = done_tx.clone();
        scope.spawn(move || read_inputs(&options.inputs, &work_tx, &reader_done, token_rx));
        for _ in 0..workers {
            let (done_tx, work_rx, labels, validator) =
                (done_tx.clone(), &work_rx, &labels, validator);
            // Recursive schemas recurse once per level of the input: a stack for that.
            let worker = std::thread::Builder::new().stack_size(crate::json::VALIDATION_STACK);
            let started = worker.spawn_scoped(scope, move || {
                loop {
                    let next = work_rx
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .recv();
                    let Ok((seq, input, chunk)) = next else {
                        return;
                    };
                    let verdicts = output::verdicts(&validator, &labels[input], options, chunk);
                    if done_tx.send((seq, Done::Verdicts(verdicts))).is_err() {
                        return;
                    }
                }
            });
            // As `scope.spawn` does when the OS refuses a thread.
            started.expect("the OS starts a validation thread");
        }
        drop(done_tx);
        let progress = Progress::new(options.progress, total_bytes, options.format);
        write_in_order(done_rx, token_tx, out, progress, &options.inputs)
    })
}

/// The reader: every input split into pieces, in order, each taking a token (returned by the
/// writer once the piece is written), so only so many pieces are in flight.
fn read_inputs(
    inputs: &[PathBuf],
    work: &SyncSender<(u64, usize, Chunk)>,
    done: &SyncSender<(u64, Done)>,
    tokens: Receiver<()>,
) {
    let mut seq = 0u64;
    for (index, input) in inputs.iter().enumerate() {
        let result = {
            let mut emit = |chunk: Chunk| {
                if tokens.recv().is_err() || work.send((seq, index, chunk)).is_err() {
                    return false;
                }
                seq += 1;
                true
            };
            if input == Path::new(STDIN) {
                input::split(io::stdin().lock(), CHUNK_BYTES, &mut emit)
            } else {
                match std::fs::File::open(input) {
                    Ok(file) => input::split(file, CHUNK_BYTES, &mut emit),
                    Err(error) => Err(InputProblem::Unreadable {
                        message: error.to_string(),
                    }),
                }
            }
        };
        if let Err(problem) = result {
            if tokens.recv().is_err() || done.send((seq, Done::Problem(index, problem))).is_err() {
                return;
            }
            seq += 1;
        }
    }
}

/// The writer: puts what the workers finish back in input order and writes it.
fn write_in_order(
    done: Receiver<(u64, Done)>,
    tokens: SyncSender<()>,
    out: &mut dyn Write,
    mut progress: Progress,
    inputs: &[PathBuf],
) -> io::Result<Summary> {
    let mut summary = Summary::default();
    let mut waiting: BTreeMap<u64, Done> = BTreeMap::new();
    let mut next = 0u64;
    for (seq, item) in done {
        waiting.insert(seq, item);
        while let Some(item) = waiting.remove(&next) {
            next += 1;
            match item {
                Done::Verdicts(output) => {
                    if !output.text.is_empty() {
                        progress.clear();
                        out.write_all(&output.text)?;
                    }
                    summary.add(&output);
                    progress.advance(output.bytes, output.valid + output.invalid);
                }
                Done::Problem(index, problem) => summary.input_errors.push(InputError {
                    input: inputs[index].clone(),
                    problem,
                }),
            }
            let _ = tokens.send(());
        }
        progress.draw();
    }
    progress.finish();
    out.flush()?;
    Ok(summary)
}

/// One record of an input read whole (see [`records`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputRecord {
    /// The line (1-based) where it starts.
    pub line: usize,
    /// Its index, when the input is a JSON array of records.
    pub index: Option<usize>,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// The records of an input held in memory, split as [`run`] splits inputs.
pub fn records(input: &[u8]) -> Result<Vec<InputRecord>, InputProblem> {
    let mut records = Vec::new();
    input::split(input, CHUNK_BYTES, &mut |chunk| {
        match chunk {
            Chunk::Lines { first_line, bytes } => {
                for (line, text) in (first_line..).zip(bytes.split(|b| *b == b'\n')) {
                    let text = text.strip_suffix(b"\r").unwrap_or(text);
                    if !text.iter().all(u8::is_ascii_whitespace) {
                        records.push(InputRecord {
                            line,
                            index: None,
                            bytes: text.to_vec(),
                        });
                    }
                }
            }
            Chunk::Elements { bytes, elements } => {
                records.extend(elements.iter().map(|e| InputRecord {
                    line: e.line,
                    index: Some(e.index),
                    bytes: bytes[e.start..e.end].to_vec(),
                }));
            }
        }
        true
    })?;
    Ok(records)
}

/// The program behind `ingest validate --compiled`, linked with a spec's events crate: its one
/// argument is the [`Options`] as JSON. Writes the verdicts on standard output, the summary and
/// the problems of inputs on standard error, and exits with [`Summary::exit_code`].
pub fn main(registry: &Registry, args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let args: Vec<OsString> = args.into_iter().collect();
    let options = match args.as_slice() {
        [json] => serde_json::from_str::<Options>(&json.to_string_lossy())
            .map_err(|error| format!("the argument is not validate options: {error}")),
        _ => Err("expected one argument: the options as JSON".to_owned()),
    };
    let options = match options {
        Ok(options) => options,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(EXIT_INPUT);
        }
    };
    let stdout = io::stdout();
    let mut out = stdout.lock();
    match run(registry, &options, &mut out) {
        Ok(summary) => {
            if summary.records > 0 || summary.input_errors.is_empty() {
                eprint!("{}", summary.render());
            }
            for error in &summary.input_errors {
                eprintln!("error: {error}");
            }
            ExitCode::from(summary.exit_code())
        }
        // A reader that stopped early (`| head`) has what it wanted.
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: cannot write the verdicts: {error}");
            ExitCode::from(EXIT_INPUT)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_of_a_buffer_are_split_like_a_stream() {
        let ndjson = b"{\"a\":1}\n\n[{\"b\":2}]\r\n{bad\n";
        let split = records(ndjson).unwrap();
        assert_eq!(
            split.iter().map(|r| r.line).collect::<Vec<_>>(),
            vec![1, 3, 4]
        );
        assert_eq!(split[1].bytes, b"[{\"b\":2}]");
        let array = b"[\n  {\"a\":1},\n  {\"b\":2}\n]\n";
        let split = records(array).unwrap();
        assert_eq!(
            split.iter().map(|r| (r.line, r.index)).collect::<Vec<_>>(),
            vec![(2, Some(0)), (3, Some(1))]
        );
        assert_eq!(split[1].bytes, b"{\"b\":2}");
        assert_eq!(records(b"\n"), Err(InputProblem::Empty));
    }

    #[test]
    fn the_summary_counts_and_picks_the_exit_code() {
        let mut summary = Summary::default();
        assert_eq!(summary.exit_code(), EXIT_VALID);
        summary.records = 4;
        summary.valid = 1;
        summary.invalid = 3;
        summary.reasons.insert("not_json", 1);
        summary.reasons.insert("schema_violation", 2);
        assert_eq!(
            summary.render(),
            "4 records: 1 valid, 3 invalid (not_json: 1, schema_violation: 2)\n"
        );
        assert_eq!(summary.exit_code(), EXIT_INVALID);
        summary.input_errors.push(InputError {
            input: PathBuf::from(STDIN),
            problem: InputProblem::Empty,
        });
        assert_eq!(summary.exit_code(), EXIT_INPUT);
        assert_eq!(
            summary.input_errors[0].to_string(),
            "standard input holds no records"
        );
    }
}
