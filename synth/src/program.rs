//! Programs that link a spec's generated validators, built once and cached.
//!
//! `ingest validate` and `ingest drill` must judge events with exactly the code the pipeline
//! runs: the spec's events module as `ingest synth` generates it, expanded by `#[derive(Event)]`
//! and linked with `ingest-runtime`. So they write a small crate (that module plus a one-line
//! `main`), build it in release mode and run it. The crate lives in a cache folder keyed by a hash
//! of everything that decides the binary: the generated code, the program's `main`, and the
//! sources and manifests of `ingest-runtime`, `ingest-macros` and `ingest-codegen`. A second run
//! with the same spec and the same ingest reuses the binary; any change builds anew. The crate
//! depends on the runtime by path, so it builds for a spec anywhere on disk.
//!
//! The cache lives in the user's cache folder ([`cache_root`]), never in the ingest checkout.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use ingest_codegen::events::{format_tokens, module_tokens};

use crate::plan::Plan;

/// A program over a spec's events.
#[derive(Debug, Clone, Copy)]
pub struct SpecProgram<'a> {
    /// What it is for (`validate`, `drill`): names the binary and its cache folder.
    pub purpose: &'a str,
    /// Features of `ingest-runtime` it needs.
    pub runtime_features: &'a [&'a str],
    /// The body of `main`, an expression of type `std::process::ExitCode`; `events::REGISTRY` is
    /// the spec's registry.
    pub main: &'a str,
}

/// Why a program could not be built.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ProgramError {
    /// A file of the cache could not be written.
    #[error("cannot write {}", path.display())]
    #[diagnostic(
        code(ingest::program_cache),
        help("set INGEST_CACHE to a folder you can write")
    )]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// cargo could not be run.
    #[error("cannot run cargo to build the {purpose} program")]
    #[diagnostic(
        code(ingest::cargo_missing),
        help("the compiled validators need cargo (https://rustup.rs) and the ingest source tree")
    )]
    Cargo {
        /// The program's purpose.
        purpose: String,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// cargo failed.
    #[error("building the {purpose} program failed: cargo exited with {status}:\n{stderr}")]
    #[diagnostic(code(ingest::program_build))]
    Build {
        /// The program's purpose.
        purpose: String,
        /// How cargo exited.
        status: std::process::ExitStatus,
        /// What cargo said.
        stderr: String,
    },
}

/// The ingest workspace this binary was built from.
pub(crate) fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
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

/// FNV-1a, 64 bits: a hash that is stable across runs and builds (unlike `DefaultHasher`).
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

/// Every file under a folder, in path order.
fn files_under(dir: &Path, out: &mut Vec<Vec<u8>>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            files_under(&path, out);
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.push(path.as_os_str().as_encoded_bytes().to_vec());
            out.push(bytes);
        }
    }
}

/// The source of a program's `main.rs`: the spec's events module and `main`.
pub fn main_source(plan: &Plan, program: &SpecProgram<'_>) -> String {
    let mut events = plan.event_inputs();
    events.sort_by(|a, b| a.type_name.cmp(b.type_name));
    let module = format_tokens(module_tokens(&events));
    format!(
        "//! `ingest {purpose}` for the `{name}` spec (generated by ingest).\n\n\
         #![allow(missing_docs, dead_code)]\n\n\
         /// The spec's events and validators, as in `generated/{name}/events`.\n\
         mod events {{\n{module}}}\n\n\
         fn main() -> std::process::ExitCode {{\n    {main}\n}}\n",
        purpose = program.purpose,
        name = plan.name,
        main = program.main,
    )
}

/// The built program, building it if the cache does not have it.
pub fn build(plan: &Plan, program: &SpecProgram<'_>) -> Result<PathBuf, ProgramError> {
    let root = workspace_root();
    let root = root.canonicalize().unwrap_or(root);
    let main_rs = main_source(plan, program);
    let mut inputs = vec![
        env!("CARGO_PKG_VERSION").as_bytes().to_vec(),
        main_rs.clone().into_bytes(),
        program.runtime_features.join(",").into_bytes(),
    ];
    for crate_dir in ["runtime", "macros", "codegen"] {
        files_under(&root.join(crate_dir).join("src"), &mut inputs);
        inputs.push(std::fs::read(root.join(crate_dir).join("Cargo.toml")).unwrap_or_default());
    }
    let parts: Vec<&[u8]> = inputs.iter().map(Vec::as_slice).collect();
    let key = format!("{:016x}", fnv1a(&parts));

    let cache = cache_root();
    let purpose = program.purpose;
    let dir = cache.join(format!("{purpose}-{}-{key}", plan.name));
    let target = cache.join("target");
    let bin_name = format!("{purpose}-{}-{key}", plan.name);
    let binary = target
        .join("release")
        .join(format!("{bin_name}{}", std::env::consts::EXE_SUFFIX));
    if binary.exists() {
        return Ok(binary);
    }

    let write = |path: PathBuf, contents: &[u8]| -> Result<(), ProgramError> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| ProgramError::Write {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        std::fs::write(&path, contents).map_err(|source| ProgramError::Write { path, source })
    };
    let quoted = |text: &str| serde_json::to_string(text).unwrap_or_default();
    let features: Vec<String> = program.runtime_features.iter().map(|f| quoted(f)).collect();
    let manifest = format!(
        "# generated by ingest {purpose} - do not edit\n[package]\nname = {package}\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n\n[[bin]]\nname = {bin}\npath = \"src/main.rs\"\n\n[dependencies]\ningest-runtime = {{ path = {runtime}, features = [{features}] }}\n\n[workspace]\n",
        package = quoted(&format!("ingest-{purpose}-{}", plan.name)),
        bin = quoted(&bin_name),
        runtime = quoted(&root.join("runtime").display().to_string()),
        features = features.join(", "),
    );
    write(dir.join("Cargo.toml"), manifest.as_bytes())?;
    write(dir.join("src/main.rs"), main_rs.as_bytes())?;
    // The workspace's lock file pins the same dependency versions the tests ran with.
    if let Ok(lock) = std::fs::read(root.join("Cargo.lock")) {
        write(dir.join("Cargo.lock"), &lock)?;
    }
    eprintln!(
        "building the {purpose} program of {} (release, once; cached in {})...",
        plan.name,
        dir.display()
    );
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let output = Command::new(cargo)
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
        .output()
        .map_err(|source| ProgramError::Cargo {
            purpose: purpose.to_owned(),
            source,
        })?;
    if !output.status.success() || !binary.exists() {
        return Err(ProgramError::Build {
            purpose: purpose.to_owned(),
            status: output.status,
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        });
    }
    Ok(binary)
}

#[cfg(test)]
mod tests {
    use super::*;

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
