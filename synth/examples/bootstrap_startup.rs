//! The start-up time of a Lambda `bootstrap`: from `exec` to its first
//! `GET /2018-06-01/runtime/invocation/next`, the moment it is ready for an event.
//!
//! ```text
//! cargo run --release -p ingest-synth --example bootstrap_startup -- [--runs N] [--role ROLE] BOOTSTRAP...
//! ```
//!
//! Each `BOOTSTRAP` is a `bootstrap` binary or a `bootstrap.zip` as `ingest package` writes it
//! (unzipped into a temporary folder first). An aarch64 binary runs under qemu's user-mode
//! emulator (`qemu-aarch64 -L /usr/aarch64-linux-gnu`, installed by `scripts/setup-cross`), an
//! x86_64 one natively. Every run starts the binary as Lambda would, with the role's variables
//! (`--role validator|receiver|bridge|lever`, default all four in turn) and the platform's
//! (`AWS_LAMBDA_RUNTIME_API` pointing at a one-request Runtime API server on 127.0.0.1 that this
//! program runs), times it until that request arrives, then kills it. Nothing leaves the
//! machine: the SDK clients are built, but no AWS call is made before the first poll.
//!
//! The binaries are measured in turns (run 1 of each, then run 2 of each...), so a change in
//! the machine's load hits them alike, and the table gives each one's median, minimum and
//! maximum in milliseconds, and its median relative to the first binary's.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

const USAGE: &str = "usage: bootstrap_startup [--runs N] [--role validator|receiver|bridge|lever] BOOTSTRAP|bootstrap.zip...";
const ROLES: [&str; 4] = ["validator", "receiver", "bridge", "lever"];
/// The cross glibc the aarch64 binary runs against under qemu.
const AARCH64_SYSROOT: &str = "/usr/aarch64-linux-gnu";
/// A run that has not polled by then failed.
const TIMEOUT: Duration = Duration::from_secs(60);

/// The variables each role reads, as the stacks set them (values are placeholders: nothing is
/// called before the first poll).
fn role_env(role: &str) -> Vec<(&'static str, &'static str)> {
    let mut env = vec![
        ("INGEST_ROLE", role_name(role)),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "AKIDSTARTUPBENCH"),
        ("AWS_SECRET_ACCESS_KEY", "startup-bench"),
        ("AWS_SESSION_TOKEN", "startup-bench"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_LAMBDA_FUNCTION_NAME", "bench"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_LOG_LEVEL", "WARN"),
    ];
    env.extend(match role {
        "validator" => vec![
            ("GOOD_BUCKET", "bench-good"),
            ("QUARANTINE_BUCKET", "bench-quarantine"),
            ("METRICS_NAMESPACE", "Ingest"),
            ("INGEST_NAME", "bench"),
        ],
        "receiver" => vec![("DELIVERY_STREAM", "bench-spool")],
        "lever" => vec![
            ("INGEST_NAME", "bench"),
            ("SWITCH_BUCKET", "bench-switch"),
            ("LEVER_NAMESPACE", "Ingest/Lever"),
            ("LEVER_METRIC", "Drained"),
            ("LEVER_TAMPER_METRIC", "Tampered"),
            ("SWITCH_NONCURRENT_DAYS", "365"),
            (
                "LEVER_OPERATOR_ROLE_ARN",
                "arn:aws:iam::123456789012:role/bench-lever-operator",
            ),
        ],
        _ => vec![
            (
                "VALIDATOR_FUNCTION_ARN",
                "arn:aws:lambda:us-east-1:123456789012:function:bench-validator",
            ),
            ("SPOOL_BUCKET", "bench-spool"),
            (
                "QUEUE_URL",
                "https://sqs.us-west-2.amazonaws.com/123456789012/bench-spool-objects",
            ),
            ("REDELIVERY_FIRST_DELAY_SECONDS", "30"),
            ("REDELIVERY_MAX_DELAY_SECONDS", "300"),
            ("REDELIVERY_GROWTH", "2"),
            ("REDELIVERY_JITTER_PERCENT", "10"),
            ("MAX_RECEIVE_COUNT", "356"),
        ],
    });
    env
}

fn role_name(role: &str) -> &'static str {
    ROLES
        .into_iter()
        .find(|r| *r == role)
        .unwrap_or("validator")
}

/// The `bootstrap` inside a zip `ingest package` wrote (one deflated entry at offset 0).
fn unzip_bootstrap(zip: &[u8]) -> Result<Vec<u8>, String> {
    let field = |at: usize, len: usize| -> Result<usize, String> {
        let bytes = zip.get(at..at + len).ok_or("the zip is truncated")?;
        Ok(bytes
            .iter()
            .rev()
            .fold(0usize, |value, byte| value << 8 | usize::from(*byte)))
    };
    if zip.get(..4) != Some(b"PK\x03\x04") || field(8, 2)? != 8 {
        return Err("not a zip whose first entry is deflated".to_owned());
    }
    let compressed = field(18, 4)?;
    let start = 30 + field(26, 2)? + field(28, 2)?;
    let data = zip
        .get(start..start + compressed)
        .ok_or("the zip is truncated")?;
    let mut binary = Vec::new();
    flate2::read::DeflateDecoder::new(data)
        .read_to_end(&mut binary)
        .map_err(|e| format!("cannot inflate the bootstrap: {e}"))?;
    Ok(binary)
}

/// A binary to measure: where it is, what it is called in the table, whether it needs qemu.
struct Subject {
    label: String,
    path: PathBuf,
    aarch64: bool,
    bytes: u64,
}

fn subject(arg: &str, scratch: &Path, index: usize) -> Result<Subject, String> {
    let source = PathBuf::from(arg);
    let bytes = std::fs::read(&source).map_err(|e| format!("cannot read {arg}: {e}"))?;
    let (path, binary) = if bytes.starts_with(b"PK") {
        let binary = unzip_bootstrap(&bytes).map_err(|e| format!("{arg}: {e}"))?;
        let path = scratch.join(format!("bootstrap-{index}"));
        std::fs::write(&path, &binary).map_err(|e| format!("{}: {e}", path.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                .map_err(|e| format!("{}: {e}", path.display()))?;
        }
        (path, binary)
    } else {
        (source, bytes)
    };
    if binary.get(..4) != Some(b"\x7fELF") || binary.len() < 20 {
        return Err(format!("{arg} is not an ELF executable"));
    }
    Ok(Subject {
        label: arg.to_owned(),
        path,
        aarch64: u16::from_le_bytes([binary[18], binary[19]]) == 183,
        bytes: binary.len() as u64,
    })
}

/// Starts the binary once as `role` and returns the time until its first poll.
fn one_run(subject: &Subject, role: &str) -> Result<Duration, String> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(|e| e.to_string())?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    let mut command = if subject.aarch64 {
        let mut command = Command::new("qemu-aarch64");
        command.arg("-L").arg(AARCH64_SYSROOT).arg(&subject.path);
        command
    } else {
        Command::new(&subject.path)
    };
    command
        .env_clear()
        .envs(role_env(role))
        .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let started = Instant::now();
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", subject.path.display()))?;
    let result = loop {
        match listener.accept() {
            Ok((stream, _)) => {
                let mut line = String::new();
                let _ = stream.set_nonblocking(false);
                let mut reader = BufReader::new(&stream);
                let read = reader.read_line(&mut line);
                let elapsed = started.elapsed();
                break match read {
                    Ok(_) if line.starts_with("GET /2018-06-01/runtime/invocation/next") => {
                        Ok(elapsed)
                    }
                    _ => Err(format!(
                        "the first request was {line:?}, not the next-invocation poll"
                    )),
                };
            }
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {
                if let Ok(Some(status)) = child.try_wait() {
                    let mut stderr = String::new();
                    if let Some(mut pipe) = child.stderr.take() {
                        let _ = pipe.read_to_string(&mut stderr);
                    }
                    break Err(format!("it exited with {status} before polling: {stderr}"));
                }
                if started.elapsed() > TIMEOUT {
                    break Err(format!("no poll within {TIMEOUT:?}"));
                }
                std::thread::sleep(Duration::from_micros(200));
            }
            Err(error) => break Err(error.to_string()),
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    result
}

fn median(sorted: &[f64]) -> f64 {
    let mid = sorted.len() / 2;
    if sorted.len().is_multiple_of(2) {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    } else {
        sorted[mid]
    }
}

fn main() -> ExitCode {
    let mut runs = 15usize;
    let mut roles: Vec<&'static str> = ROLES.to_vec();
    let mut paths = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => match args.next().and_then(|n| n.parse().ok()).filter(|n| *n > 0) {
                Some(n) => runs = n,
                None => {
                    eprintln!("error: --runs takes a positive number\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
            "--role" => match args
                .next()
                .as_deref()
                .and_then(|r| ROLES.iter().find(|x| **x == r))
            {
                Some(role) => roles = vec![role],
                None => {
                    eprintln!("error: --role takes validator, receiver or bridge\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
            "--bench" => {} // what `cargo bench` passes
            _ if arg.starts_with('-') => {
                eprintln!("error: unexpected argument {arg}\n{USAGE}");
                return ExitCode::from(2);
            }
            _ => paths.push(arg),
        }
    }
    if paths.is_empty() {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    }
    let scratch = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(error) => {
            eprintln!("error: no temporary folder: {error}");
            return ExitCode::FAILURE;
        }
    };
    let mut subjects = Vec::new();
    for (index, path) in paths.iter().enumerate() {
        match subject(path, scratch.path(), index) {
            Ok(subject) => subjects.push(subject),
            Err(error) => {
                eprintln!("error: {error}");
                return ExitCode::FAILURE;
            }
        }
    }
    println!("{runs} runs per binary and role, in turns; milliseconds from exec to the first poll");
    println!("| binary | bytes | arch | role | median | min | max | median vs first |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for role in roles {
        let mut times: Vec<Vec<f64>> = vec![Vec::new(); subjects.len()];
        for _ in 0..runs {
            for (subject, times) in subjects.iter().zip(&mut times) {
                match one_run(subject, role) {
                    Ok(time) => times.push(time.as_secs_f64() * 1000.0),
                    Err(error) => {
                        eprintln!("error: {} as the {role}: {error}", subject.label);
                        return ExitCode::FAILURE;
                    }
                }
            }
        }
        let mut first = None;
        for (subject, times) in subjects.iter().zip(&mut times) {
            times.sort_by(f64::total_cmp);
            let median = median(times);
            let base = *first.get_or_insert(median);
            println!(
                "| {} | {} | {} | {role} | {median:.1} | {:.1} | {:.1} | {:.2}x |",
                subject.label,
                subject.bytes,
                if subject.aarch64 {
                    "arm64 (qemu)"
                } else {
                    "x86_64"
                },
                times[0],
                times[times.len() - 1],
                median / base
            );
        }
    }
    let _ = std::io::stdout().flush();
    ExitCode::SUCCESS
}
