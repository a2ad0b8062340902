//! Compile-fail tests of `#[derive(Event)]`: every diagnostic, with its span, committed as
//! `tests/ui/*.stderr`. Regenerate with `TRYBUILD=overwrite cargo test -p ingest-tests --test ui`.

#[test]
fn derive_diagnostics() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("ui/*.rs");
}
