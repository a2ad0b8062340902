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
