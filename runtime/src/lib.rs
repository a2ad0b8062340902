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

pub use check::{Annotations, Checker, Members, Violation};
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

    /// Reads one JSON value at the reader's position, which this type's schema is known to
    /// accept, and records in `a` the properties and items its schema evaluated (the
    /// annotations `unevaluatedProperties` and `unevaluatedItems` read, in a schema that
    /// applies this type in place: `allOf`, `anyOf`, `oneOf`, `if`, `dependentSchemas`, or a
    /// union's branch). The default evaluates nothing, which is right for every type whose
    /// schema has no properties, items or applicators.
    fn annotate<'a>(p: &mut json::Parser<'a>, a: &mut Annotations<'a>) -> Result<(), json::Error> {
        let _ = a;
        p.skip_value()
    }

    /// The names of the properties this type's schema evaluates in an object it matches, when
    /// that is all [`Event::annotate`] would record of any value (its `properties`, and no
    /// other keyword that evaluates properties or items): an applicator's annotations for
    /// `unevaluatedProperties` are then known without reading the value. Naming a declared
    /// property the object lacks changes nothing, since only the object's own keys are looked
    /// up. `None` (the default) when the value must be read.
    const EVALUATED_NAMES: Option<&'static [&'static str]> = None;

    /// The fast verdict on the value at the reader's position, without moving the reader
    /// (for applicators that ask whether a subschema matches).
    fn matches(p: &json::Parser<'_>) -> bool {
        let mut q = p.fork();
        Self::validate_json(&mut q, &mut Checker::fast()).is_ok()
    }

    /// Whether [`Event::matches_members`] decides this type's schema from an index of an
    /// object's members (see [`Members`]) without reading the object again: `#[derive(Event)]`
    /// sets it for a schema whose only keywords about an object are `properties`, `required`,
    /// `dependentRequired`, `minProperties` and `maxProperties`.
    const DECIDED_BY_MEMBERS: bool = false;

    /// The fast verdict on the value at the reader's position (not moved) whose kind is
    /// `kind`, given the index `m` of its members that the validator reading it made
    /// (complete, see [`Members::complete`]; empty when the value is no object). The value was
    /// read once already, so it is well-formed and has no duplicate keys. The default reads
    /// the value again ([`Event::matches`]).
    fn matches_members(kind: json::Kind, p: &json::Parser<'_>, m: &Members<'_>) -> bool {
        let _ = (kind, m);
        Self::matches(p)
    }

    /// [`Event::validate_json`], which also records the members of the object it reads in
    /// `m` (when the value is an object and `m` is enabled), so that an applicator over the
    /// same value (`contains` beside `items`) is decided without a second pass; `None` is
    /// `validate_json`. The default records nothing and leaves `m` incomplete (the applicator
    /// reads the value again).
    fn validate_indexed<'a>(
        p: &mut json::Parser<'a>,
        c: &mut Checker,
        m: Option<&mut Members<'a>>,
    ) -> Result<(), json::Error> {
        if let Some(m) = m {
            m.disable();
        }
        Self::validate_json(p, c)
    }

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

/// The JSON types themselves as schemas, for applicators and unions whose branch is just a
/// type (`anyOf: [{type: string}, {type: integer}]` is `any_of(String, i64)`); the same checks
/// and messages as a position typed so.
mod scalars {
    use crate::json::{Error, Kind, Parser};
    use crate::{Checker, Event};

    fn only(
        p: &mut Parser<'_>,
        c: &mut Checker,
        kind: Kind,
        expected: &str,
        read: impl FnOnce(&mut Parser<'_>, &mut Checker) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let found = p.peek()?;
        if found == kind {
            read(p, c)
        } else {
            c.wrong_type(p, found, expected)
        }
    }

    impl Event for String {
        fn validate_json(p: &mut Parser<'_>, c: &mut Checker) -> Result<(), Error> {
            only(p, c, Kind::String, "a string", |p, _| p.read_str())
        }
    }

    impl Event for i64 {
        fn validate_json(p: &mut Parser<'_>, c: &mut Checker) -> Result<(), Error> {
            only(p, c, Kind::Number, "an integer", |p, c| {
                let n = p.parse_number()?;
                if !n.is_integer() {
                    c.not_integer(n, "an integer")?;
                }
                Ok(())
            })
        }
    }

    impl Event for f64 {
        fn validate_json(p: &mut Parser<'_>, c: &mut Checker) -> Result<(), Error> {
            only(p, c, Kind::Number, "a number", |p, _| {
                p.parse_number().map(drop)
            })
        }
    }

    impl Event for bool {
        fn validate_json(p: &mut Parser<'_>, c: &mut Checker) -> Result<(), Error> {
            only(p, c, Kind::Bool, "a boolean", |p, _| {
                p.parse_bool().map(drop)
            })
        }
    }

    impl Event for () {
        fn validate_json(p: &mut Parser<'_>, c: &mut Checker) -> Result<(), Error> {
            only(p, c, Kind::Null, "null", |p, _| p.parse_null())
        }
    }

    /// Any JSON value (the `true` schema).
    impl Event for serde_json::Value {
        fn validate_json(p: &mut Parser<'_>, _: &mut Checker) -> Result<(), Error> {
            p.skip_value()
        }
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

    /// serde's `with` for a property that may be absent, `null` or a value:
    /// `Option<Option<T>>`, where the outer `None` is absent (with `default` and
    /// `skip_serializing_if = "Option::is_none"`) and `Some(None)` is `null`.
    pub mod double_option {
        use serde::{Deserialize, Deserializer, Serialize, Serializer};

        /// Writes `Some(None)` as `null` and `Some(Some(value))` as the value (`None` is
        /// skipped before this is called).
        pub fn serialize<S, T>(value: &Option<Option<T>>, serializer: S) -> Result<S::Ok, S::Error>
        where
            S: Serializer,
            T: Serialize,
        {
            match value {
                Some(inner) => inner.serialize(serializer),
                None => serializer.serialize_none(),
            }
        }

        /// Reads a present key: `null` is `Some(None)`.
        pub fn deserialize<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
        where
            D: Deserializer<'de>,
            T: Deserialize<'de>,
        {
            Option::<T>::deserialize(deserializer).map(Some)
        }
    }
}
