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
