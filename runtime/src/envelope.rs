//! CloudEvents envelopes and the per-record verdict (`docs/architecture.md#events`).
//!
//! A record (one Kinesis record, one API request body) is one event object or a JSON array of
//! them. Each event is a CloudEvents 1.0 envelope in JSON structured mode: `specversion` must be
//! `"1.0"`; `id`, `source` and `type` are required non-empty strings; `time` (an RFC 3339
//! date-time), `subject`, `datacontenttype` and `dataschema` are optional strings; other
//! attributes are extensions (lowercase letters and digits, scalar values); `data` is required
//! and is validated by the schema that `type` selects in the [`Registry`]. A top-level `ingest`
//! member is rejected (`bad_envelope`): the pipeline appends its own `ingest` metadata to good
//! lines, so an event that carries one would be ambiguous there.
//!
//! The envelope is read in one pass with the data: when `type` comes before `data` (as producers
//! usually write it) the data is validated in place; otherwise its bytes are remembered and
//! validated once the envelope is read (the only bytes read twice). A batch is read once too:
//! each element is validated in place by the reader of the whole array, so a malformed element
//! still makes the whole record `not_json`, exactly as splitting it first would. The verdict of a rejected event carries one [`Reason`]
//! (the first that applies of `not_json`, `bad_envelope`, `unknown_type`, `schema_violation`;
//! `too_large` is judged before reading) and every violation found.

use std::borrow::Cow;
use std::fmt;
use std::ops::ControlFlow;
use std::sync::Arc;

use serde::Serialize;

use crate::check::{Checker, Violation, note_key};
use crate::format::is_date_time;
use crate::json::{Error, KeySet, Kind, Parser};

/// Reads one value at the parser's position and checks it against a schema: the validator of
/// a generated type (`<T as Event>::validate_json`).
pub type ValidateFn = for<'a> fn(&mut Parser<'a>, &mut Checker) -> Result<(), Error>;

/// A validator of `data` built at run time instead of generated: what `ingest-eval` compiles
/// from a schema, so a registry can be made without building an events crate.
///
/// It has the contract of [`Event::validate_json`](crate::Event::validate_json): read one value
/// at the reader's position, send what it finds to the checker, and stop with an error when the
/// input is malformed or (fast mode) at the first violation.
pub trait DataValidator: Send + Sync + fmt::Debug {
    /// Reads one value at the reader's position and checks it.
    fn validate_json(&self, p: &mut Parser<'_>, c: &mut Checker) -> Result<(), Error>;
}

/// One event type of a generated registry: its CloudEvents `type` and the generated validator
/// of its `data`. Generated events crates build a `static` slice of these.
#[derive(Debug, Clone, Copy)]
pub struct EventType {
    /// The CloudEvents `type` (`shift.created`).
    pub type_name: &'static str,
    /// What the event means.
    pub description: &'static str,
    /// The validator of `data`.
    pub validate: ValidateFn,
}

/// One event type of a registry built at run time, with a [`DataValidator`].
#[derive(Debug, Clone)]
pub struct DynamicEventType {
    /// The CloudEvents `type` (`shift.created`).
    pub type_name: String,
    /// What the event means.
    pub description: String,
    /// The validator of `data`.
    pub validator: Arc<dyn DataValidator>,
}

/// The event types of one spec, sorted by name.
///
/// Either compiled (a generated events crate's `static REGISTRY`, over generated code, built in
/// a `const` context) or dynamic (built at run time over [`DataValidator`]s, as `ingest-eval`
/// does for a spec's schemas). Everything that reads records takes a `&Registry` and works
/// with both; a lookup costs one well-predicted branch more than a bare slice.
#[derive(Debug, Clone)]
pub struct Registry {
    types: Types,
}

#[derive(Debug, Clone)]
enum Types {
    Compiled(&'static [EventType]),
    Dynamic(Arc<[DynamicEventType]>),
}

/// How one event type validates its `data`.
#[derive(Clone, Copy)]
enum Validate<'r> {
    Compiled(ValidateFn),
    Dynamic(&'r dyn DataValidator),
}

/// An event type found in a [`Registry`], whichever kind it holds.
#[derive(Clone, Copy)]
pub struct EventTypeRef<'r> {
    /// The CloudEvents `type`.
    pub type_name: &'r str,
    /// What the event means.
    pub description: &'r str,
    validate: Validate<'r>,
}

impl fmt::Debug for EventTypeRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventTypeRef")
            .field("type_name", &self.type_name)
            .field("description", &self.description)
            .field(
                "validate",
                &match self.validate {
                    Validate::Compiled(_) => "compiled",
                    Validate::Dynamic(_) => "dynamic",
                },
            )
            .finish()
    }
}

impl EventTypeRef<'_> {
    /// Reads the event's `data` at the reader's position and checks it against the type's
    /// schema (see [`DataValidator::validate_json`]).
    #[inline]
    pub fn validate_json(&self, p: &mut Parser<'_>, c: &mut Checker) -> Result<(), Error> {
        match self.validate {
            Validate::Compiled(validate) => validate(p, c),
            Validate::Dynamic(validator) => validator.validate_json(p, c),
        }
    }
}

impl<'r> From<&'r EventType> for EventTypeRef<'r> {
    fn from(t: &'r EventType) -> Self {
        EventTypeRef {
            type_name: t.type_name,
            description: t.description,
            validate: Validate::Compiled(t.validate),
        }
    }
}

impl<'r> From<&'r DynamicEventType> for EventTypeRef<'r> {
    fn from(t: &'r DynamicEventType) -> Self {
        EventTypeRef {
            type_name: &t.type_name,
            description: &t.description,
            validate: Validate::Dynamic(t.validator.as_ref()),
        }
    }
}

/// Two event types of a dynamic registry have the same `type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateType(pub String);

impl fmt::Display for DuplicateType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the event type {:?} is registered twice", self.0)
    }
}

impl std::error::Error for DuplicateType {}

impl Registry {
    /// A registry over generated event types sorted by `type_name` (generated code sorts them).
    pub const fn new(types: &'static [EventType]) -> Self {
        Registry {
            types: Types::Compiled(types),
        }
    }

    /// A registry over event types built at run time, in any order (they are sorted here).
    pub fn dynamic(mut types: Vec<DynamicEventType>) -> Result<Self, DuplicateType> {
        types.sort_by(|a, b| a.type_name.cmp(&b.type_name));
        if let Some(pair) = types.windows(2).find(|w| w[0].type_name == w[1].type_name) {
            return Err(DuplicateType(pair[0].type_name.clone()));
        }
        Ok(Registry {
            types: Types::Dynamic(types.into()),
        })
    }

    /// The event type with this name.
    #[inline]
    pub fn get(&self, type_name: &str) -> Option<EventTypeRef<'_>> {
        match &self.types {
            Types::Compiled(types) => types
                .binary_search_by(|t| t.type_name.cmp(type_name))
                .ok()
                .map(|index| (&types[index]).into()),
            Types::Dynamic(types) => types
                .binary_search_by(|t| t.type_name.as_str().cmp(type_name))
                .ok()
                .map(|index| (&types[index]).into()),
        }
    }

    /// How many event types there are.
    pub fn len(&self) -> usize {
        match &self.types {
            Types::Compiled(types) => types.len(),
            Types::Dynamic(types) => types.len(),
        }
    }

    /// Whether there are no event types.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every event type, sorted by name.
    pub fn types(&self) -> impl ExactSizeIterator<Item = EventTypeRef<'_>> + '_ {
        (0..self.len()).map(|index| match &self.types {
            Types::Compiled(types) => (&types[index]).into(),
            Types::Dynamic(types) => (&types[index]).into(),
        })
    }

    /// Whether the validators are generated code (`true`) or built at run time (`false`).
    pub fn is_compiled(&self) -> bool {
        matches!(self.types, Types::Compiled(_))
    }
}

/// Why a record or an event was rejected (the quarantine's reason kinds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// Not JSON (or JSON with duplicate keys, or nested too deeply).
    NotJson,
    /// Not a CloudEvents 1.0 envelope (or a batch that is not an array of them).
    BadEnvelope,
    /// The `type` is not in the registry.
    UnknownType,
    /// The `data` does not match the schema of its type.
    SchemaViolation,
    /// The record is larger than the limit.
    TooLarge,
}

impl Reason {
    /// Every reason, in the order of the pipeline's checks.
    pub const ALL: [Reason; 5] = [
        Reason::TooLarge,
        Reason::NotJson,
        Reason::BadEnvelope,
        Reason::UnknownType,
        Reason::SchemaViolation,
    ];

    /// The reason as written in quarantine records.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::NotJson => "not_json",
            Reason::BadEnvelope => "bad_envelope",
            Reason::UnknownType => "unknown_type",
            Reason::SchemaViolation => "schema_violation",
            Reason::TooLarge => "too_large",
        }
    }
}

/// Why something was rejected, with every violation found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejection {
    /// The reason kind.
    pub reason: Reason,
    /// Every violation, each with its JSON pointer (relative to the event).
    pub violations: Vec<Violation>,
}

impl Rejection {
    fn single(reason: Reason, keyword: &'static str, pointer: &str, message: String) -> Self {
        Rejection {
            reason,
            violations: vec![Violation {
                pointer: pointer.to_owned(),
                keyword,
                message,
            }],
        }
    }

    fn not_json(error: &Error) -> Self {
        Rejection::single(
            Reason::NotJson,
            "json",
            "",
            format!("not valid JSON: {error}"),
        )
    }
}

/// The verdict on one event of a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventVerdict<'a> {
    /// The event's bytes as received.
    pub raw: &'a [u8],
    /// `Ok` when valid, else why not.
    pub result: Result<(), Rejection>,
}

/// The verdict on a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordOutcome<'a> {
    /// The record could not be split into events (too large, not JSON, not an event or a
    /// non-empty array of values).
    Rejected(Rejection),
    /// One verdict per event: one for a single event, one per element for a batch.
    Events {
        /// Whether the record was a JSON array (a batch).
        batch: bool,
        /// The verdicts, in record order.
        events: Vec<EventVerdict<'a>>,
    },
}

impl RecordOutcome<'_> {
    /// Whether every event of the record is valid.
    pub fn is_valid(&self) -> bool {
        match self {
            RecordOutcome::Rejected(_) => false,
            RecordOutcome::Events { events, .. } => events.iter().all(|e| e.result.is_ok()),
        }
    }
}

/// How [`Validator::validate_each`] read a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EachRead {
    /// Whether the record is a JSON array (a batch).
    pub batch: bool,
    /// Events read (and given to the callback).
    pub events: usize,
    /// Whether the callback stopped the reading.
    pub stopped: bool,
}

/// Validates records against a registry. See the module documentation.
#[derive(Debug, Clone, Copy)]
pub struct Validator<'r> {
    registry: &'r Registry,
    max_bytes: usize,
}

/// The media types of a request body that holds CloudEvents in JSON (structured mode: one
/// event, or a batch): the API has a mapping template for each, and refuses others with 415.
pub const CONTENT_TYPES: [&str; 3] = [
    "application/json",
    "application/cloudevents+json",
    "application/cloudevents-batch+json",
];

/// The default limit on a record's size: the API's `max_event_bytes` default (256 KiB).
pub const DEFAULT_MAX_BYTES: usize = 262_144;

/// A top-level member of an event, as the envelope reader sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Member {
    // The required attributes come first: their bits are the low four of `seen`.
    SpecVersion,
    Id,
    Source,
    Type,
    Time,
    Subject,
    DataContentType,
    DataSchema,
    Data,
    DataBase64,
    /// Reserved: the pipeline appends its own `ingest` member to good lines.
    Ingest,
    Extension,
}

/// The names of the required attributes, in the order of their bits.
const REQUIRED: [&str; 4] = ["specversion", "id", "source", "type"];

impl Member {
    /// Classifies a key once; every later decision matches on the result.
    #[inline]
    fn of(key: &str) -> Member {
        match key {
            "specversion" => Member::SpecVersion,
            "id" => Member::Id,
            "source" => Member::Source,
            "type" => Member::Type,
            "time" => Member::Time,
            "subject" => Member::Subject,
            "datacontenttype" => Member::DataContentType,
            "dataschema" => Member::DataSchema,
            "data" => Member::Data,
            "data_base64" => Member::DataBase64,
            "ingest" => Member::Ingest,
            _ => Member::Extension,
        }
    }

    /// The bit of a known member, for duplicate detection without allocation (extensions go
    /// to a key set instead).
    #[inline]
    fn bit(self) -> u16 {
        1 << self as u16
    }
}

#[derive(Default)]
struct EventState<'a> {
    bad_envelope: bool,
    unknown_type: bool,
    type_name: Option<Cow<'a, str>>,
}

fn envelope_problem(
    c: &mut Checker,
    state: &mut EventState<'_>,
    key: &str,
    message: impl FnOnce() -> String,
) -> Result<(), Error> {
    state.bad_envelope = true;
    if !key.is_empty() {
        c.enter_key(key);
    }
    let result = c.fail("cloudevents", message);
    if !key.is_empty() {
        c.leave();
    }
    result
}

impl<'r> Validator<'r> {
    /// A validator with the default size limit.
    pub fn new(registry: &'r Registry) -> Self {
        Validator {
            registry,
            max_bytes: DEFAULT_MAX_BYTES,
        }
    }

    /// The same validator with another size limit for records.
    pub fn with_max_bytes(self, max_bytes: usize) -> Self {
        Validator { max_bytes, ..self }
    }

    /// The fast path: whether every event of the record is valid, stopping at the first problem.
    pub fn is_valid(&self, record: &[u8]) -> bool {
        if record.len() > self.max_bytes {
            return false;
        }
        if !is_batch(record) {
            return self.is_valid_event(record);
        }
        let mut c = Checker::fast();
        let mut count = 0usize;
        self.read_batch(record, |p| {
            count += 1;
            self.read_event(p, &mut c, &mut EventState::default())
        })
        .is_ok()
            && count > 0
    }

    /// The report: a verdict for every event of the record, with every violation.
    pub fn validate<'a>(&self, record: &'a [u8]) -> RecordOutcome<'a> {
        let mut events = Vec::new();
        match self.validate_each(record, |verdict| {
            events.push(verdict);
            ControlFlow::Continue(())
        }) {
            Ok(read) => RecordOutcome::Events {
                batch: read.batch,
                events,
            },
            Err(rejection) => RecordOutcome::Rejected(rejection),
        }
    }

    /// The report, one event at a time, for callers that bound what a record may cost: each
    /// verdict goes to `each` as soon as its event is read, in record order, and `each` may
    /// stop the reading ([`ControlFlow::Break`]). `Err` when the record cannot be split into
    /// events (too large, not JSON, an empty batch); the verdicts already given then belong
    /// to a record that is rejected as a whole. After a stop, nothing is known of the rest of
    /// the record ([`EachRead::stopped`]).
    pub fn validate_each<'a>(
        &self,
        record: &'a [u8],
        mut each: impl FnMut(EventVerdict<'a>) -> ControlFlow<()>,
    ) -> Result<EachRead, Rejection> {
        if record.len() > self.max_bytes {
            return Err(Rejection::single(
                Reason::TooLarge,
                "size",
                "",
                format!(
                    "the record has {} bytes, more than the limit of {}",
                    record.len(),
                    self.max_bytes
                ),
            ));
        }
        if !is_batch(record) {
            let stopped = each(EventVerdict {
                raw: record,
                result: self.validate_event(record),
            })
            .is_break();
            return Ok(EachRead {
                batch: false,
                events: 1,
                stopped,
            });
        }
        let (mut events, mut stopped) = (0usize, false);
        let read = self.read_batch(record, |p| {
            let start = p.offset();
            let mut c = Checker::report();
            let mut state = EventState::default();
            self.read_event(p, &mut c, &mut state)?;
            events += 1;
            let verdict = EventVerdict {
                raw: p.slice(start, p.offset()),
                result: verdict(c, &state),
            };
            if each(verdict).is_break() {
                stopped = true;
                return Err(Error::Stop);
            }
            Ok(())
        });
        match read {
            Err(Error::Stop) if stopped => {}
            Err(error) => return Err(Rejection::not_json(&error)),
            Ok(()) if events == 0 => {
                return Err(Rejection::single(
                    Reason::BadEnvelope,
                    "cloudevents",
                    "",
                    "the batch is an empty array".to_owned(),
                ));
            }
            Ok(()) => {}
        }
        Ok(EachRead {
            batch: true,
            events,
            stopped,
        })
    }

    /// The fast path for one event (not a batch).
    pub fn is_valid_event(&self, event: &[u8]) -> bool {
        let mut c = Checker::fast();
        let mut state = EventState::default();
        let mut p = Parser::new(event);
        self.read_event(&mut p, &mut c, &mut state)
            .and_then(|()| p.finish())
            .is_ok()
    }

    /// The report for one event (not a batch).
    pub fn validate_event(&self, event: &[u8]) -> Result<(), Rejection> {
        let mut c = Checker::report();
        let mut state = EventState::default();
        let mut p = Parser::new(event);
        if let Err(error) = self
            .read_event(&mut p, &mut c, &mut state)
            .and_then(|()| p.finish())
        {
            return Err(Rejection::not_json(&error));
        }
        verdict(c, &state)
    }

    /// Reads a batch (a record whose first byte is `[`) in one pass: `event` reads each element
    /// in place, at its first byte. Any malformed element makes the whole record not JSON, as
    /// one reader over the record sees it (offsets are the record's).
    fn read_batch<'a>(
        &self,
        record: &'a [u8],
        mut event: impl FnMut(&mut Parser<'a>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let mut p = Parser::new(record);
        p.peek()?;
        p.begin_array()?;
        let mut first = true;
        while p.next_element(&mut first)? {
            p.peek()?;
            event(&mut p)?;
        }
        p.finish()
    }

    fn read_data(
        &self,
        p: &mut Parser<'_>,
        c: &mut Checker,
        state: &mut EventState<'_>,
    ) -> Result<(), Error> {
        let type_name = state.type_name.as_deref().unwrap_or_default();
        match self.registry.get(type_name) {
            Some(event_type) => {
                c.enter_key("data");
                event_type.validate_json(p, c)?;
                c.leave();
                Ok(())
            }
            None => {
                state.unknown_type = true;
                c.enter_key("type");
                let known: Vec<&str> = self.registry.types().map(|t| t.type_name).collect();
                c.fail("cloudevents", || {
                    format!(
                        "unknown event type {type_name:?}; the known types are: {}",
                        known.join(", ")
                    )
                })?;
                c.leave();
                p.skip_value()
            }
        }
    }

    fn read_event<'a>(
        &self,
        p: &mut Parser<'a>,
        c: &mut Checker,
        state: &mut EventState<'a>,
    ) -> Result<(), Error> {
        let kind = p.peek()?;
        if kind != Kind::Object {
            envelope_problem(c, state, "", || {
                format!("an event must be a JSON object, found {}", kind.described())
            })?;
            return p.skip_value();
        }
        p.begin_object()?;
        let mut first = true;
        let mut keys = KeySet::default();
        let mut deferred_data: Option<(usize, usize)> = None;
        let mut seen = 0u16;
        while p.read_key(&mut first)? {
            let key = p.last_str();
            let member = Member::of(&key);
            if member == Member::Extension {
                note_key(p, &mut keys, &key)?;
            } else if seen & member.bit() != 0 {
                return Err(p.duplicate_key(&key));
            } else {
                seen |= member.bit();
            }
            match member {
                Member::Data => {
                    if state.type_name.is_some() {
                        self.read_data(p, c, state)?;
                    } else {
                        p.peek()?;
                        let start = p.offset();
                        p.skip_value()?;
                        deferred_data = Some((start, p.offset()));
                    }
                }
                Member::DataBase64 => {
                    envelope_problem(c, state, &key, || {
                        "binary data (`data_base64`) is not accepted; send JSON in `data`"
                            .to_owned()
                    })?;
                    p.skip_value()?;
                }
                Member::Ingest => {
                    envelope_problem(c, state, &key, || {
                        "`ingest` is reserved for the metadata the pipeline adds; rename this extension attribute"
                            .to_owned()
                    })?;
                    p.skip_value()?;
                }
                Member::Extension => {
                    let kind = p.peek()?;
                    let name_ok = !key.is_empty()
                        && key.len() <= 20
                        && key
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
                    if !name_ok {
                        envelope_problem(c, state, &key, || {
                            format!(
                                "{key:?} is not a CloudEvents attribute, and extension names are 1 to 20 lowercase letters or digits"
                            )
                        })?;
                    } else if matches!(kind, Kind::Array | Kind::Object) {
                        envelope_problem(c, state, &key, || {
                            format!(
                                "the extension attribute `{key}` must be a string, number or boolean, not {}",
                                kind.described()
                            )
                        })?;
                    }
                    p.skip_value()?;
                }
                Member::SpecVersion
                | Member::Id
                | Member::Source
                | Member::Type
                | Member::Time
                | Member::Subject
                | Member::DataContentType
                | Member::DataSchema => {
                    let kind = p.peek()?;
                    if kind != Kind::String {
                        envelope_problem(c, state, &key, || {
                            format!("`{key}` must be a string, not {}", kind.described())
                        })?;
                        p.skip_value()?;
                        continue;
                    }
                    p.read_str()?;
                    let value = p.last_str();
                    match member {
                        Member::SpecVersion if value != "1.0" => {
                            envelope_problem(c, state, &key, || {
                                format!("`specversion` must be \"1.0\", not {value:?}")
                            })?;
                        }
                        Member::Id | Member::Source | Member::Type if value.is_empty() => {
                            envelope_problem(c, state, &key, || {
                                format!("`{key}` must not be empty")
                            })?;
                        }
                        Member::Time if !is_date_time(&value) => {
                            envelope_problem(c, state, &key, || {
                                format!("`time` must be an RFC 3339 date-time, not {value:?}")
                            })?;
                        }
                        Member::Type => state.type_name = Some(value),
                        _ => {}
                    }
                }
            }
        }
        for (index, name) in REQUIRED.iter().enumerate() {
            if seen & (1 << index) == 0 {
                envelope_problem(c, state, "", || {
                    format!("the required attribute `{name}` is missing")
                })?;
            }
        }
        if seen & Member::Data.bit() == 0 {
            envelope_problem(c, state, "", || "the event has no `data`".to_owned())?;
        }
        if let Some((start, end)) = deferred_data
            && state.type_name.is_some()
        {
            // The data was read (and checked as JSON) once already; only validate it now.
            let mut data = p.sub(start, end);
            self.read_data(&mut data, c, state)?;
        }
        Ok(())
    }
}

/// Whether a record is a batch: its first byte that is not whitespace is `[`.
fn is_batch(record: &[u8]) -> bool {
    record
        .iter()
        .find(|b| !matches!(b, b' ' | b'\n' | b'\r' | b'\t'))
        == Some(&b'[')
}

/// The verdict on an event read in report mode.
fn verdict(c: Checker, state: &EventState<'_>) -> Result<(), Rejection> {
    let violations = c.into_violations();
    let reason = if state.bad_envelope {
        Reason::BadEnvelope
    } else if state.unknown_type {
        Reason::UnknownType
    } else if !violations.is_empty() {
        Reason::SchemaViolation
    } else {
        return Ok(());
    };
    Err(Rejection { reason, violations })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Accepts `true` only; a stand-in for a program compiled at run time.
    #[derive(Debug)]
    struct OnlyTrue;

    impl DataValidator for OnlyTrue {
        fn validate_json(&self, p: &mut Parser<'_>, c: &mut Checker) -> Result<(), Error> {
            if p.peek()? == Kind::Bool && p.clone().parse_bool()? {
                return p.parse_bool().map(drop);
            }
            c.fail("const", || "must be true".to_owned())?;
            p.skip_value()
        }
    }

    fn generated(p: &mut Parser<'_>, c: &mut Checker) -> Result<(), Error> {
        OnlyTrue.validate_json(p, c)
    }

    static COMPILED: Registry = Registry::new(&[
        EventType {
            type_name: "a.first",
            description: "First.",
            validate: generated,
        },
        EventType {
            type_name: "b.second",
            description: "Second.",
            validate: generated,
        },
    ]);

    fn dynamic(names: &[&str]) -> Result<Registry, DuplicateType> {
        Registry::dynamic(
            names
                .iter()
                .map(|name| DynamicEventType {
                    type_name: (*name).to_owned(),
                    description: format!("The {name} event."),
                    validator: Arc::new(OnlyTrue),
                })
                .collect(),
        )
    }

    fn event(type_name: &str, data: &str) -> String {
        format!(
            r#"{{"specversion":"1.0","id":"1","source":"s","type":"{type_name}","data":{data}}}"#
        )
    }

    #[test]
    fn a_dynamic_registry_sorts_its_types_and_rejects_duplicates() {
        let registry = dynamic(&["b.second", "a.first"]).unwrap();
        assert!(!registry.is_compiled() && COMPILED.is_compiled());
        let names: Vec<&str> = registry.types().map(|t| t.type_name).collect();
        assert_eq!(names, ["a.first", "b.second"]);
        assert_eq!(
            registry.get("b.second").map(|t| t.description),
            Some("The b.second event.")
        );
        assert!(registry.get("c.third").is_none());
        assert_eq!(
            dynamic(&["x", "y", "x"]).unwrap_err(),
            DuplicateType("x".to_owned())
        );
    }

    #[test]
    fn compiled_and_dynamic_registries_give_the_same_verdicts() {
        let dynamic = dynamic(&["a.first", "b.second"]).unwrap();
        let records = [
            event("a.first", "true"),
            event("b.second", "false"),
            event("c.third", "true"),
            format!("[{},{}]", event("a.first", "true"), event("b.second", "1")),
            "{\"specversion\":\"1.0\"}".to_owned(),
        ];
        for record in &records {
            let (compiled, dynamic) = (Validator::new(&COMPILED), Validator::new(&dynamic));
            assert_eq!(
                compiled.validate(record.as_bytes()),
                dynamic.validate(record.as_bytes())
            );
            assert_eq!(
                compiled.is_valid(record.as_bytes()),
                dynamic.is_valid(record.as_bytes())
            );
        }
        let outcome = Validator::new(&dynamic).validate(records[2].as_bytes());
        let RecordOutcome::Events { events, .. } = outcome else {
            panic!("one event")
        };
        let rejection = events[0].result.clone().unwrap_err();
        assert_eq!(rejection.reason, Reason::UnknownType);
        assert_eq!(
            rejection.violations[0].message,
            "unknown event type \"c.third\"; the known types are: a.first, b.second"
        );
    }
}
