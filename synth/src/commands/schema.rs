//! `ingest schema`: the JSON Schema of `ingest.yaml`, for editors and yaml-language-server.

use std::process::ExitCode;

use crate::errors::Result;

/// Prints the schema, as committed in `generated/ingest.schema.json`.
pub fn run() -> Result<ExitCode> {
    print!("{}", crate::output::schema_file());
    Ok(ExitCode::SUCCESS)
}
