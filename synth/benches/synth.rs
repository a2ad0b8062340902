#![allow(missing_docs)] // criterion_group! and criterion_main! generate undocumented items
//! End-to-end synthesis time of the seed spec (`specs/ingest.yaml`), in release mode:
//! `cargo bench -p ingest-synth --bench synth`.
//!
//! - `check`: read the file, parse, check structure and values, resolve the plan.
//! - `synth_in_memory`: `check` plus rendering the three stacks, the architecture page and the
//!   Athena queries, and re-parsing and checking every stack (what `ingest synth --check` does).
//! - `synth_to_disk`: the whole `ingest synth`, writing `generated/<name>/` atomically.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use ingest_synth::output;
use ingest_synth::render::Templates;

fn seed() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../specs/ingest.yaml")
}

fn synth(c: &mut Criterion) {
    let spec = seed();
    let templates = Templates::embedded().expect("embedded templates load");
    let out = tempfile::tempdir().expect("a temporary folder");
    let mut group = c.benchmark_group("ingest.yaml");
    group.bench_function("check", |b| {
        b.iter(|| black_box(ingest_synth::check_spec(black_box(&spec)).expect("valid")))
    });
    group.bench_function("synth_in_memory", |b| {
        b.iter(|| {
            let checked = ingest_synth::check_spec(black_box(&spec)).expect("valid");
            black_box(output::assemble(&checked.plan, &templates).expect("renders"))
        })
    });
    group.bench_function("synth_to_disk", |b| {
        b.iter(|| {
            let checked = ingest_synth::check_spec(black_box(&spec)).expect("valid");
            let (set, _) = output::assemble(&checked.plan, &templates).expect("renders");
            output::write(out.path(), &set).expect("writes");
        })
    });
    group.finish();
}

criterion_group!(benches, synth);
criterion_main!(benches);
