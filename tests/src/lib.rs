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
    read_corpus("corpus.ndjson.gz")
}

/// The benchmark corpus of `specs/checkout.yaml`, `benches/checkout.ndjson.gz` (30,000
/// CloudEvents, made by `cargo run -p ingest-tests --example make_corpus -- checkout`), one
/// event per element.
pub fn checkout_corpus() -> Vec<Vec<u8>> {
    read_corpus("checkout.ndjson.gz")
}

/// A committed corpus of `benches/`: gzip, one event per line.
fn read_corpus(file: &str) -> Vec<Vec<u8>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("benches")
        .join(file);
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
