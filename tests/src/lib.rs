//! Cross-crate tests of `ingest` live in `tests/tests/`: invalid-spec fixtures with their rendered
//! diagnostics (insta snapshots), the bundled specs, and the `ingest` binary run as a process.
//! This library only holds helpers those tests share.

pub mod generated;

use std::path::{Path, PathBuf};

/// The workspace root, where `specs/` and `generated/` live.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits inside the workspace")
        .to_path_buf()
}
