//! The `ingest` binary: everything lives in the library; see `ingest_synth::cli`.

fn main() -> std::process::ExitCode {
    ingest_synth::cli::main()
}
