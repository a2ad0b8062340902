//! Embeds the sources a spec's generated crates build against, so an installed `ingest` can
//! build them with no ingest source tree: the manifests and `src/` of `ingest-codegen`,
//! `ingest-formats`, `ingest-macros` and `ingest-runtime` (and a crate's `README.md`, its
//! published documentation), the workspace's `Cargo.toml` (its shared package settings, dependency
//! versions and lints) and its `Cargo.lock` (the versions the tests ran with). The list is
//! sorted, so the same tree gives the same binary. `src/staging.rs` writes them out.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The crates embedded, as folders of the workspace.
const CRATES: [&str; 4] = ["codegen", "formats", "macros", "runtime"];

fn collect(root: &Path, relative: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(root.join(relative)) else {
        return;
    };
    for entry in entries.flatten() {
        let path = relative.join(entry.file_name());
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            collect(root, &path, out);
        } else {
            out.push(path);
        }
    }
}

/// A workspace-relative path as the table names it: components joined by `/`.
fn slash_name(file: &Path) -> String {
    file.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

fn main() {
    let manifest_dir =
        PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let root = manifest_dir
        .parent()
        .expect("synth/ lies in the workspace")
        .to_path_buf();
    let mut files = vec![PathBuf::from("Cargo.toml"), PathBuf::from("Cargo.lock")];
    for krate in CRATES {
        let dir = Path::new(krate);
        files.push(dir.join("Cargo.toml"));
        if root.join(dir).join("README.md").exists() {
            files.push(dir.join("README.md"));
        }
        collect(&root, &dir.join("src"), &mut files);
        println!("cargo::rerun-if-changed={}", root.join(dir).display());
    }
    println!(
        "cargo::rerun-if-changed={}",
        root.join("Cargo.toml").display()
    );
    println!(
        "cargo::rerun-if-changed={}",
        root.join("Cargo.lock").display()
    );
    // By the `/`-separated name the table holds (a path's own order puts `drill/flood.rs` before
    // `drill.rs`; the names' order, which the staging code and its test read, the other way).
    files.sort_by_key(|file| slash_name(file));

    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut table = String::from(
        "/// Every embedded file: its path in the workspace (`/`-separated) and its text.\n\
         pub static FILES: &[(&str, &str)] = &[\n",
    );
    for file in &files {
        let absolute = root.join(file);
        let text = std::fs::read(&absolute)
            .unwrap_or_else(|error| panic!("cannot read {}: {error}", absolute.display()));
        let name = slash_name(file);
        for byte in name.bytes().chain([0xff]).chain(text).chain([0xff]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        let _ = writeln!(
            table,
            "    ({name:?}, include_str!({:?})),",
            absolute.display().to_string()
        );
    }
    table.push_str("];\n");
    let _ = writeln!(
        table,
        "/// A hash of every embedded path and text (FNV-1a, 64 bits).\npub const HASH: u64 = {hash:#018x};"
    );
    let out =
        PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it")).join("embedded.rs");
    std::fs::write(&out, table)
        .unwrap_or_else(|error| panic!("cannot write {}: {error}", out.display()));
}
