//! Fuzzes the record validator of `specs/ingest.yaml` (envelope, batch splitting and every
//! generated event validator): no input may panic, and the fast verdict must equal the report's.
#![no_main]

use ingest_runtime::Validator;
use ingest_tests::generated::specs::wiw_events::REGISTRY;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|record: &[u8]| {
    let validator = Validator::new(&REGISTRY);
    let outcome = validator.validate(record);
    assert_eq!(validator.is_valid(record), outcome.is_valid());
});
