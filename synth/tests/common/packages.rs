//! One package cache for every test that runs `ingest package`, so a whole test run compiles
//! the SDK-laden functions crate once per architecture (a release build takes minutes on two
//! cores) and every later packaging of the same inputs is a cache hit.
//!
//! [`package`] runs the `ingest` binary of `common::ingest`, whose `INGEST_CACHE` is
//! `common::cache`, a fixed folder under the target directory (`CARGO_TARGET_TMPDIR`), so the
//! staging workspaces and their target folder outlive each test and are shared by every test
//! binary of this package (and with the programs `ingest validate` and `ingest drill` build). It
//! also says whether cargo linked a new `bootstrap` ([`Packaging::built`]), so a test that
//! packages the same inputs twice can assert the second time was a cache hit.
//!
//! Packagings in one test process take turns (a mutex): cargo would serialize their builds on
//! the target folder's lock anyway, and [`Packaging::built`] compares the binaries in the cache
//! before and after, which another packaging running alongside would confuse.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use crate::common::{cache, ingest};

/// What one `ingest package` did.
#[derive(Debug)]
pub struct Packaging {
    /// What it printed (the zip's path, sizes, architecture, SHA-256).
    pub stdout: String,
    /// The zip it wrote.
    pub zip: PathBuf,
    /// Whether cargo linked a `bootstrap` (false: the cached one was up to date).
    pub built: bool,
}

static TURN: Mutex<()> = Mutex::new(());

/// Every `*-bootstrap` in the cache's release folder for `triple`, with its modification time.
fn bootstraps(triple: &str) -> Vec<(PathBuf, Option<SystemTime>)> {
    let dir = cache().join("target").join(triple).join("release");
    let mut found: Vec<(PathBuf, Option<SystemTime>)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| {
            path.file_name()
                .is_some_and(|name| name.to_string_lossy().ends_with("-bootstrap"))
        })
        .map(|path| {
            let modified = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
            (path, modified)
        })
        .collect();
    found.sort();
    found
}

/// `ingest package SPEC --arch ARCH --out OUT` with the shared cache; fails the test when the
/// command fails. `out` is a folder or a path ending in `.zip`.
pub fn package(spec: &Path, arch: &str, out: &Path) -> Packaging {
    let _turn = TURN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let triple = match arch {
        "arm64" => "aarch64-unknown-linux-gnu",
        _ => "x86_64-unknown-linux-gnu",
    };
    let before = bootstraps(triple);
    let output = ingest()
        .arg("package")
        .arg(spec)
        .args(["--arch", arch, "--out"])
        .arg(out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "stderr: {stderr}");
    let zip = if out.extension().is_some_and(|e| e == "zip") {
        out.to_path_buf()
    } else {
        out.join("bootstrap.zip")
    };
    Packaging {
        stdout: String::from_utf8(output.stdout).unwrap(),
        zip,
        built: bootstraps(triple) != before,
    }
}
