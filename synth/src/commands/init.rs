//! `ingest init [DIR]`: a commented starter spec that passes `ingest check`.
//!
//! Writes `DIR/ingest.yaml` (two regions, one example event type, every key explained) and
//! `DIR/ingest.schema.json` (the JSON Schema its first line points editors at), refusing to
//! overwrite either. Both are written only when neither exists, so a refusal changes nothing.

use std::path::Path;
use std::process::ExitCode;

use crate::cli::InitArgs;
use crate::errors::{Error, Result};

/// The starter spec.
pub const STARTER_SPEC: &str = include_str!("../init/ingest.yaml");

/// Writes the starter files and says what to do next.
pub fn run(args: &InitArgs) -> Result<ExitCode> {
    let spec = args.dir.join("ingest.yaml");
    let schema = args.dir.join("ingest.schema.json");
    for path in [&spec, &schema] {
        if path.exists() {
            return Err(Error::WouldOverwrite {
                path: path.to_path_buf(),
            });
        }
    }
    std::fs::create_dir_all(&args.dir).map_err(|source| Error::Write {
        path: args.dir.clone(),
        source,
    })?;
    write_new(&schema, crate::output::schema_file().as_bytes())?;
    write_new(&spec, STARTER_SPEC.as_bytes())?;
    println!(
        "wrote {} and {}\nnext: edit it, then `ingest check {}`",
        spec.display(),
        schema.display(),
        spec.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Creates a file that must not exist yet (a file that appeared since the check is not
/// overwritten either).
fn write_new(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write as _;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .and_then(|mut file| file.write_all(bytes))
        .map_err(|source| {
            if source.kind() == std::io::ErrorKind::AlreadyExists {
                Error::WouldOverwrite {
                    path: path.to_path_buf(),
                }
            } else {
                Error::Write {
                    path: path.to_path_buf(),
                    source,
                }
            }
        })
}
