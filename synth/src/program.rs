//! Programs over a spec's generated validators: `validate`, `drill` and `dev --compiled`.
//!
//! Without `--compiled` those commands run in this process over validators that `ingest-eval`
//! compiles from the spec's schemas at run time: no build, no cargo, the generated code's
//! verdicts. `--compiled` runs the very code the Lambda runs instead: the spec's generated events
//! crate (`#[derive(Event)]` expanded) linked with `ingest-runtime` into a small program, built
//! with cargo in the staging workspace ([`crate::staging`], from sources embedded in this
//! binary, so no ingest checkout is needed) in the [`TOOLS_PROFILE`], and run with the same
//! typed settings the in-process path uses, as JSON. A program is rebuilt only when something it
//! is made from changed (the spec's generated code, the embedded sources); otherwise it starts at
//! once.
//!
//! The cache lives in the user's cache folder ([`cache_root`]), never in the current folder.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::plan::Plan;
use crate::staging::{self, StagingError, TOOLS_PROFILE};

/// A program over a spec's events (one binary of the staging workspace's `tools` crate).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecProgram {
    /// `ingest_runtime::lines::main`.
    Validate,
    /// `ingest_runtime::pipeline::drill::main`.
    Drill,
    /// `ingest_runtime::pipeline::dev::main`.
    Dev,
}

impl SpecProgram {
    /// The command it serves.
    pub fn purpose(self) -> &'static str {
        match self {
            SpecProgram::Validate => "validate",
            SpecProgram::Drill => "drill",
            SpecProgram::Dev => "dev",
        }
    }
}

/// The profiles of the staging workspace: the Lambda's release profile
/// ([`crate::package::RELEASE_PROFILE`]) and the programs' (built quickly, every crate for
/// speed: they are run on a developer's machine, not shipped).
pub fn profiles() -> String {
    format!(
        "{}\n[profile.{TOOLS_PROFILE}]\ninherits = \"release\"\nlto = false\ncodegen-units = 16\nstrip = \"none\"\n\n[profile.{TOOLS_PROFILE}.package.\"*\"]\nopt-level = 3\n",
        crate::package::RELEASE_PROFILE
    )
}

/// Why a program could not be built.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ProgramError {
    /// A file of the cache could not be written.
    #[error(transparent)]
    #[diagnostic(
        code(ingest::program_cache),
        help("set INGEST_CACHE to a folder you can write")
    )]
    Write(#[from] StagingError),
    /// cargo could not be run.
    #[error("--compiled builds the spec's generated validators, and cargo cannot be run")]
    #[diagnostic(
        code(ingest::cargo_missing),
        help(
            "install Rust with https://rustup.rs (or set CARGO to cargo's path); or leave out --compiled: \
             the built-in evaluator gives the same verdicts with no build"
        )
    )]
    Cargo {
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// cargo failed.
    #[error("building the {purpose} program failed: cargo exited with {status}:\n{stderr}")]
    #[diagnostic(
        code(ingest::program_build),
        help(
            "the build needs the crates of the embedded Cargo.lock: from crates.io, or from cargo's cache when offline"
        )
    )]
    Build {
        /// The program's purpose.
        purpose: &'static str,
        /// How cargo exited.
        status: std::process::ExitStatus,
        /// What cargo said.
        stderr: String,
    },
}

/// Where `ingest` keeps what it builds (programs over compiled validators, Lambda packages):
/// `$INGEST_CACHE` when set; else the user's cache folder: `$XDG_CACHE_HOME/ingest` or
/// `~/.cache/ingest` on Linux and other Unix systems, `~/Library/Caches/ingest` on macOS,
/// `%LOCALAPPDATA%\ingest` on Windows; else `.ingest-cache` in the current folder.
pub fn cache_root() -> PathBuf {
    cache_root_from(&|name| std::env::var_os(name))
}

/// [`cache_root`] over any environment (for tests).
pub fn cache_root_from(env: &dyn Fn(&str) -> Option<OsString>) -> PathBuf {
    let set = |name: &str| {
        env(name)
            .filter(|value| !value.is_empty())
            .map(PathBuf::from)
    };
    if let Some(dir) = set("INGEST_CACHE") {
        return dir;
    }
    let platform = if cfg!(windows) {
        set("LOCALAPPDATA")
    } else if cfg!(target_os = "macos") {
        set("HOME").map(|home| home.join("Library/Caches"))
    } else {
        set("XDG_CACHE_HOME").or_else(|| set("HOME").map(|home| home.join(".cache")))
    };
    platform.map_or_else(|| PathBuf::from(".ingest-cache"), |dir| dir.join("ingest"))
}

/// The cargo to run: `$CARGO` (set when ingest itself runs under cargo), else `cargo`.
pub fn cargo() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"))
}

/// Whether cargo runs (`cargo --version` succeeds); the error says why not.
pub fn cargo_runs() -> Result<(), std::io::Error> {
    let status = Command::new(cargo())
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()?;
    if status.success() {
        Ok(())
    } else {
        Err(std::io::Error::other(format!(
            "`cargo --version` exited with {status}"
        )))
    }
}

/// Fails with [`ProgramError::Cargo`] unless cargo runs.
pub fn require_cargo() -> Result<(), ProgramError> {
    cargo_runs().map_err(|source| ProgramError::Cargo { source })
}

/// The built program, building it if the cache does not have it.
pub fn build(plan: &Plan, program: SpecProgram) -> Result<PathBuf, ProgramError> {
    let purpose = program.purpose();
    let staging = staging::prepare(plan, &cache_root(), &profiles())?;
    let bin = format!("{}-{purpose}", plan.name);
    let binary = staging
        .target
        .join(TOOLS_PROFILE)
        .join(format!("{bin}{}", std::env::consts::EXE_SUFFIX));
    // What the binary was built from; the same key, the same binary.
    let stamp = binary.with_extension("ingest-key");
    let key = format!("{:016x}\n", staging.key);
    if binary.exists() && std::fs::read_to_string(&stamp).is_ok_and(|old| old == key) {
        return Ok(binary);
    }
    require_cargo()?;
    eprintln!(
        "building the {purpose} program of {} over its generated validators (once; cached in {})...",
        plan.name,
        staging.dir.display()
    );
    let output = Command::new(cargo())
        .args([
            "build",
            "--quiet",
            "--profile",
            TOOLS_PROFILE,
            "--bin",
            &bin,
        ])
        .arg("--manifest-path")
        .arg(staging.dir.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", &staging.target)
        .stdout(Stdio::null())
        .output()
        .map_err(|source| ProgramError::Cargo { source })?;
    if !output.status.success() || !binary.exists() {
        return Err(ProgramError::Build {
            purpose,
            status: output.status,
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        });
    }
    staging::write_if_changed(&stamp, key.as_bytes())?;
    Ok(binary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn the_cache_is_the_users_unless_ingest_cache_says_otherwise() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| *key == name)
                    .map(|(_, value)| OsString::from(value))
            }
        };
        let root = |pairs| cache_root_from(&env(pairs));
        assert_eq!(
            root(&[("INGEST_CACHE", "/c"), ("HOME", "/h")]),
            Path::new("/c")
        );
        assert_eq!(root(&[]), Path::new(".ingest-cache"));
        if cfg!(all(unix, not(target_os = "macos"))) {
            assert_eq!(
                root(&[("XDG_CACHE_HOME", "/x"), ("HOME", "/h")]),
                Path::new("/x/ingest")
            );
            assert_eq!(root(&[("HOME", "/h")]), Path::new("/h/.cache/ingest"));
            assert_eq!(
                root(&[("XDG_CACHE_HOME", ""), ("HOME", "/h")]),
                Path::new("/h/.cache/ingest")
            );
        }
    }
}
