//! `ingest validate [--spec SPEC] FILE...`: validates events with exactly the code the
//! pipeline runs.
//!
//! The spec's events crate is generated (the same `ingest_codegen::events_crate` output that
//! `ingest synth` writes to `generated/<name>/events/`), given a small `main` that calls
//! `ingest_runtime::lines::main`, built in release mode, and run over the files. The build is
//! cached by content: a directory named after a hash of the generated sources holds the crate,
//! so the second run of the same spec starts at once, and any change to a schema (or to
//! ingest) builds anew. The cache lives in `$INGEST_VALIDATE_CACHE`, else
//! `$CARGO_TARGET_DIR/ingest-validate`, else `target/ingest-validate` of the ingest workspace,
//! with one shared target directory so dependencies compile once.
//!
//! The generated crate depends on `ingest-runtime` by path, so this command needs the ingest
//! source tree this binary was built from (it works for a spec anywhere on disk).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use ingest_codegen::events::{EventInput, RuntimeDependency, events_crate, package_name};

/// The ingest workspace this binary was built from.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn cache_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("INGEST_VALIDATE_CACHE") {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir).join("ingest-validate");
    }
    workspace_root().join("target/ingest-validate")
}

/// FNV-1a, 64 bits: a stable hash (unlike `DefaultHasher`) for cache keys.
fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.iter().chain(&[0xff]) {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

/// What went wrong while preparing the validator.
#[derive(Debug, thiserror::Error)]
pub enum ValidateError {
    /// The spec did not load.
    #[error("the spec has errors")]
    Spec(crate::spec::SpecError),
    /// A file of the cache could not be written.
    #[error("cannot write {path}: {error}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// cargo could not be run or failed.
    #[error("building the validator failed: {0}")]
    Build(String),
}

/// The built validator program of a spec, building it if the cache does not have it.
pub fn build_validator(spec: &Path) -> Result<PathBuf, ValidateError> {
    let checked = crate::check_spec(spec).map_err(ValidateError::Spec)?;
    let plan = &checked.plan;
    let inputs: Vec<EventInput<'_>> = plan
        .events
        .iter()
        .map(|e| EventInput {
            type_name: &e.type_name,
            description: e.description.as_deref(),
            schema: &e.schema,
            schema_json: &e.schema_json,
        })
        .collect();
    let runtime = workspace_root().join("runtime");
    let runtime_path = runtime.canonicalize().unwrap_or(runtime);
    let files = events_crate(
        &plan.name,
        &inputs,
        &RuntimeDependency::Path(runtime_path.display().to_string()),
    );
    let mut parts: Vec<&[u8]> = vec![env!("CARGO_PKG_VERSION").as_bytes()];
    for file in &files {
        parts.push(file.path.as_os_str().as_encoded_bytes());
        parts.push(file.contents.as_bytes());
    }
    let runtime_sources: Vec<Vec<u8>> = [
        "src/lib.rs",
        "src/json.rs",
        "src/check.rs",
        "src/envelope.rs",
        "src/lines.rs",
        "src/format.rs",
        "src/number.rs",
        "src/value.rs",
    ]
    .iter()
    .map(|f| std::fs::read(runtime_path.join(f)).unwrap_or_default())
    .collect();
    parts.extend(runtime_sources.iter().map(Vec::as_slice));
    let key = format!("{:016x}", fnv1a(&parts));
    let cache = cache_root();
    let dir = cache.join(format!("{}-{key}", plan.name));
    let target = cache.join("target");
    let bin_name = format!("validate-{}-{key}", plan.name);
    let binary = target
        .join("release")
        .join(format!("{bin_name}{}", std::env::consts::EXE_SUFFIX));
    if binary.exists() {
        return Ok(binary);
    }
    let write = |path: PathBuf, contents: &str| -> Result<(), ValidateError> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|error| ValidateError::Write {
                path: parent.to_path_buf(),
                error,
            })?;
        }
        std::fs::write(&path, contents).map_err(|error| ValidateError::Write { path, error })
    };
    for file in &files {
        let Ok(relative) = file.path.strip_prefix("events") else {
            continue;
        };
        let mut contents = file.contents.clone();
        if relative == Path::new("Cargo.toml") {
            contents.push_str(&format!(
                "\n# added by `ingest validate`: a workspace of its own and the validate program\n[workspace]\n\n[[bin]]\nname = \"{bin_name}\"\npath = \"src/bin/validate.rs\"\n"
            ));
        }
        write(dir.join(relative), &contents)?;
    }
    let crate_name = package_name(&plan.name).replace('-', "_");
    write(
        dir.join("src/bin/validate.rs"),
        &format!(
            "//! `ingest validate` for this spec.\n\nfn main() -> std::process::ExitCode {{\n    ingest_runtime::lines::main(&{crate_name}::REGISTRY, std::env::args_os().skip(1))\n}}\n"
        ),
    )?;
    if let Ok(lock) = std::fs::read_to_string(workspace_root().join("Cargo.lock")) {
        write(dir.join("Cargo.lock"), &lock)?;
    }
    eprintln!(
        "building the validator of {} (release, cached in {})...",
        plan.name,
        dir.display()
    );
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let status = Command::new(cargo)
        .args([
            "build",
            "--release",
            "--quiet",
            "--bin",
            &bin_name,
            "--manifest-path",
        ])
        .arg(dir.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target)
        .stdout(Stdio::null())
        .status()
        .map_err(|e| ValidateError::Build(format!("cannot run cargo: {e}")))?;
    if !status.success() || !binary.exists() {
        return Err(ValidateError::Build(format!("cargo exited with {status}")));
    }
    Ok(binary)
}

/// Runs `ingest validate`: exit 0 when every record is valid, 1 otherwise.
pub fn run(spec: &Path, files: &[OsString]) -> ExitCode {
    let binary = match build_validator(spec) {
        Ok(binary) => binary,
        Err(ValidateError::Spec(error)) => {
            crate::cli::report(&error, false);
            return ExitCode::FAILURE;
        }
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    match Command::new(&binary).args(files).status() {
        Ok(status) if status.success() => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("error: cannot run {}: {error}", binary.display());
            ExitCode::FAILURE
        }
    }
}
