//! The runtime that generated event crates and the Lambda functions link against.
//!
//! Its default part is light (no AWS crates) and is all an event crate needs:
//!
//! - [`Event`], the trait `#[derive(Event)]` implements (the derive is re-exported here, so an
//!   event crate depends on this crate only), with the fast verdict [`Event::is_valid`] and the
//!   full report [`Event::violations`];
//! - [`json`], the strict pull reader generated validators drive (duplicate keys rejected,
//!   nesting bounded), and [`check::Checker`], which turns one generated validator into both
//!   the fast path and the report;
//! - [`format`](mod@format), the checkers of `date-time`, `date`, `uuid` and `email`;
//! - [`envelope`], CloudEvents envelope parsing (one event or a batch) and the per-record
//!   verdict with the quarantine's reason kinds (`not_json`, `bad_envelope`, `unknown_type`,
//!   `schema_violation`, `too_large`; `docs/architecture.md#records-and-keys`);
//! - [`lines`], the program behind `ingest validate` (NDJSON or JSON array in, one verdict per
//!   line out), which a spec's events crate is linked into;
//! - [`redelivery`], the schedule on which the bridge retries a spool message it could not
//!   deliver (shared with the `ingest` command's plan, which derives it).
//!
//! Behind the `lambda` feature, `pipeline` holds the three Lambda handlers (validator,
//! receiver, bridge) over small traits; behind `local`, the local adapters and the outage drill;
//! behind `aws` (enabled only by a spec's generated functions crate), the traits over the AWS
//! SDK and the `bootstrap` that serves the three roles (`pipeline::aws`, `pipeline::function`).
//!
//! ```
//! use ingest_runtime::Event;
//!
//! /// A clock punch.
//! #[derive(Event)]
//! #[event(additional_properties = false)]
//! struct Punch {
//!     #[event(format = "uuid")]
//!     punch_id: String,
//!     #[event(minimum = 1)]
//!     user_id: i64,
//! }
//!
//! assert!(Punch::is_valid(br#"{"punch_id":"2eb8aa08-aa98-11ea-b4aa-73b441d16380","user_id":7}"#));
//! let violations = Punch::violations(br#"{"punch_id":"x","user_id":0,"extra":1}"#).unwrap();
//! assert_eq!(violations.len(), 3);
//! assert_eq!(violations[1].pointer, "/user_id");
//! assert_eq!(violations[1].keyword, "minimum");
//! ```

extern crate self as ingest_runtime;

pub mod check;
pub mod envelope;
pub mod format;
pub mod json;
pub mod lines;
pub mod number;
#[cfg(feature = "lambda")]
pub mod pipeline;
pub mod redelivery;
pub mod value;

pub use check::{Checker, Violation};
pub use envelope::{
    DataValidator, DynamicEventType, EventType, EventTypeRef, EventVerdict, Reason, RecordOutcome,
    Registry, Rejection, Validator,
};
pub use ingest_macros::Event;

/// A type whose JSON form is validated against a schema: implemented by `#[derive(Event)]`.
///
/// The same generated code serves the fast path and the report (see [`check::Checker`]), so
/// `is_valid(bytes)` holds exactly when `violations(bytes)` is `Ok` and empty.
pub trait Event {
    /// Reads one JSON value at the reader's position and checks it, sending what it finds to
    /// the checker. Returns an error when the input is malformed, or (fast mode only) at the
    /// first violation.
    fn validate_json(p: &mut json::Parser<'_>, c: &mut Checker) -> Result<(), json::Error>;

    /// The fast verdict on a complete JSON text.
    fn is_valid(json: &[u8]) -> bool {
        let mut p = json::Parser::new(json);
        let mut c = Checker::fast();
        Self::validate_json(&mut p, &mut c)
            .and_then(|()| p.finish())
            .is_ok()
    }

    /// Every violation in a complete JSON text, or why it is not JSON.
    fn violations(json: &[u8]) -> Result<Vec<Violation>, json::Error> {
        let mut p = json::Parser::new(json);
        let mut c = Checker::report();
        Self::validate_json(&mut p, &mut c).and_then(|()| p.finish())?;
        Ok(c.into_violations())
    }
}

/// What generated code refers to; not a public interface.
#[doc(hidden)]
pub mod __private {
    pub use regex::Regex;
    pub use serde;
    pub use serde_json;
    pub use std::sync::LazyLock;

    /// Compiles a pattern that codegen already checked.
    pub fn regex(pattern: &str) -> Regex {
        Regex::new(pattern).expect("the derive checked this pattern")
    }
}
