//! Helpers shared by the CLI tests. They live in this package, next to the `ingest` binary, so
//! cargo builds the binary before running them and tells them where it is.

use std::path::{Path, PathBuf};

/// The workspace root, where `specs/`, `generated/` and `tests/fixtures/` live.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("synth/ sits inside the workspace")
        .to_path_buf()
}

/// The build cache of the tests' `ingest` runs: a fixed folder under cargo's target folder
/// (not the user's cache folder), so test runs share builds with each other and nothing else.
#[allow(dead_code)]
pub fn cache() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("ingest-cache")
}

/// The `ingest` binary with plain output and its build cache in [`cache`].
#[allow(dead_code)]
pub fn ingest() -> assert_cmd::Command {
    let mut command = assert_cmd::Command::cargo_bin("ingest").expect("cargo builds ingest");
    command.env("NO_COLOR", "1").env("INGEST_CACHE", cache());
    command
}

/// A copy of the `ingest` binary as a user installs it: in a `bin` folder of its own outside
/// the repository, run from another folder outside it, with a `PATH` that has no cargo or rustc
/// and an environment that names nothing of the build (no `CARGO`, no `CARGO_MANIFEST_DIR`, a
/// home folder of its own, so the cache is `$HOME/.cache/ingest`).
#[allow(dead_code)]
pub struct Installed {
    /// Holds `bin/`, `home/` and `work/`.
    pub root: tempfile::TempDir,
    /// The copied binary.
    pub binary: PathBuf,
    /// `PATH` for the binary: its own folder and the system folders without cargo or rustc.
    pub path: std::ffi::OsString,
}

#[allow(dead_code)]
impl Installed {
    /// Copies the binary cargo built for these tests (a debug build: what matters here is that
    /// nothing of the source tree or toolchain is reachable, not how it was optimized).
    pub fn new() -> Installed {
        let root = tempfile::tempdir().expect("a temporary folder");
        let bin = root.path().join("bin");
        for dir in ["bin", "home", "work"] {
            std::fs::create_dir_all(root.path().join(dir)).unwrap();
        }
        let binary = bin.join(format!("ingest{}", std::env::consts::EXE_SUFFIX));
        std::fs::copy(assert_cmd::cargo::cargo_bin("ingest"), &binary).expect("copies ingest");
        let system: Vec<PathBuf> = ["/usr/local/bin", "/usr/bin", "/bin"]
            .iter()
            .map(PathBuf::from)
            .filter(|dir| {
                !["cargo", "rustc", "rustup"]
                    .iter()
                    .any(|tool| dir.join(tool).exists())
            })
            .collect();
        let path = std::env::join_paths(std::iter::once(bin).chain(system)).unwrap();
        for dir in std::env::split_paths(&path) {
            assert!(
                !dir.join("cargo").exists(),
                "{} has cargo: the test needs a PATH without it",
                dir.display()
            );
        }
        assert!(
            !root.path().starts_with(workspace_root()),
            "the temporary folder must be outside the repository"
        );
        Installed { root, binary, path }
    }

    /// The folder commands run in.
    pub fn work(&self) -> PathBuf {
        self.root.path().join("work")
    }

    /// The user's home folder.
    pub fn home(&self) -> PathBuf {
        self.root.path().join("home")
    }

    /// The copied binary in [`Installed::work`], with only `PATH`, `HOME` and `NO_COLOR` set.
    pub fn command(&self) -> std::process::Command {
        let mut command = std::process::Command::new(&self.binary);
        command
            .env_clear()
            .env("PATH", &self.path)
            .env("HOME", self.home())
            .env("NO_COLOR", "1")
            .current_dir(self.work());
        command
    }
}
