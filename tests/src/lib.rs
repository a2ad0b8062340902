//! Cross-crate tests of `ingest` live in `tests/tests/`: invalid-spec fixtures with their rendered
//! diagnostics (insta snapshots), the bundled specs, and the `ingest` binary run as a process.
//! This library only holds helpers those tests share.

pub mod generated;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

/// The benchmark corpus, `benches/corpus.ndjson.gz` (100,000 CloudEvents of
/// `specs/ingest.yaml`, made by `cargo run -p ingest-tests --example make_corpus`), one event
/// per element.
pub fn corpus() -> Vec<Vec<u8>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/corpus.ndjson.gz");
    let file = std::fs::File::open(&path).expect("the corpus is committed");
    BufReader::new(flate2::read::GzDecoder::new(file))
        .split(b'\n')
        .map(|line| line.expect("the corpus decompresses"))
        .filter(|line| !line.is_empty())
        .collect()
}

/// The workspace root, where `specs/` and `generated/` live.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits inside the workspace")
        .to_path_buf()
}
