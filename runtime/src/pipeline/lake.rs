//! Whether Athena can read a good line: the rules of the lake's JSON reader that a valid event
//! can still break (`docs/architecture.md#what-goes-to-quarantine`).
//!
//! The Glue tables read good objects with the OpenX JSON SerDe, `case.insensitive: true` and
//! `ignore.malformed.json: false` (`docs/traps.md#athena-openx-duplicate-keys`). Its reader
//! lowercases every key of every object of a line and refuses a line whose object then has a
//! key twice; a `bigint` column is parsed from the number's text with Java's `Long.parseLong`,
//! which refuses `1.0`, `1e2` and anything outside 64 bits. A line it refuses fails every query
//! over its object, so an event that JSON Schema accepts can still make the whole table
//! unreadable. Such an event is not written to good: the validator quarantines it as
//! `unqueryable`, with the pointer and the reason, and its bytes stay whole in quarantine.
//!
//! What is judged, after the schema found the event valid, in one pass over its `data` (the
//! only member that can hold objects: the envelope's attributes are scalars with lowercase
//! names):
//!
//! - **Key collisions**: two keys of one object, at any depth, equal once lowercased (Rust's
//!   `str::to_lowercase`, the Unicode default case mapping Java's `toLowerCase` follows).
//!   Only an object with a key that has an uppercase ASCII letter or a non-ASCII character can
//!   collide (exact duplicates are refused as `not_json` before), so most objects cost nothing
//!   more than the read.
//! - **Column types**: each value against the Hive type of its column ([`HiveType`], the
//!   `data` column of the event type's table as the stacks declare it): a `bigint` must be a
//!   plain integer literal within 64 bits; `double` a number, `boolean` a boolean, `struct` and
//!   `map` an object, `array` an array (null fits all). Struct fields match keys
//!   case-insensitively, as the reader does, so an extra property `Start` is read as the
//!   declared column `start` and must fit its type too.
//!
//! The lake schema of a spec ([`LakeSchema`]) comes from the plan: `ingest synth` writes the
//! pairs (event type, Hive type of `data`) into the generated `bootstrap`, and `ingest dev` and
//! `ingest drill` pass them in their settings. A type without one is judged for collisions only.

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::check::Violation;
use crate::json::{Kind, Parser};
use crate::number::Num;

/// The reason kind of an event the lake could not read (a quarantine `kind`).
pub const UNQUERYABLE: &str = "unqueryable";

/// The Hive type of a column, as the Glue tables declare it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HiveType {
    /// `string`: any JSON value (objects and arrays are read as their text).
    String,
    /// `bigint`: a plain integer literal within 64 bits.
    Bigint,
    /// `double`: a number.
    Double,
    /// `boolean`.
    Boolean,
    /// `array<T>`.
    Array(Box<HiveType>),
    /// `map<string,T>`.
    Map(Box<HiveType>),
    /// `struct<name:T,...>`, fields sorted by name.
    Struct(Vec<(String, HiveType)>),
}

impl HiveType {
    /// Reads a Hive type as the stacks write it (`struct<a:bigint,b:array<string>>`).
    pub fn parse(text: &str) -> Result<HiveType, String> {
        let mut rest = text.trim();
        let parsed = parse_type(&mut rest)?;
        if rest.trim().is_empty() {
            Ok(parsed)
        } else {
            Err(format!("unexpected {rest:?} after a Hive type in {text:?}"))
        }
    }
}

fn parse_type(rest: &mut &str) -> Result<HiveType, String> {
    let take = |rest: &mut &str, word: &str| {
        let found = rest.starts_with(word);
        if found {
            *rest = &rest[word.len()..];
        }
        found
    };
    let expect = |rest: &mut &str, symbol: char| {
        if let Some(after) = rest.strip_prefix(symbol) {
            *rest = after;
            Ok(())
        } else {
            Err(format!("expected `{symbol}` at {rest:?}"))
        }
    };
    if take(rest, "array<") {
        let item = parse_type(rest)?;
        expect(rest, '>')?;
        Ok(HiveType::Array(Box::new(item)))
    } else if take(rest, "map<string,") {
        let value = parse_type(rest)?;
        expect(rest, '>')?;
        Ok(HiveType::Map(Box::new(value)))
    } else if take(rest, "struct<") {
        let mut fields = Vec::new();
        loop {
            let end = rest
                .find(':')
                .ok_or_else(|| format!("expected `name:type` at {rest:?}"))?;
            let name = rest[..end].to_owned();
            *rest = &rest[end + 1..];
            fields.push((name, parse_type(rest)?));
            if take(rest, ",") {
                continue;
            }
            expect(rest, '>')?;
            break;
        }
        fields.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(HiveType::Struct(fields))
    } else {
        for (word, scalar) in [
            ("string", HiveType::String),
            ("bigint", HiveType::Bigint),
            ("double", HiveType::Double),
            ("boolean", HiveType::Boolean),
        ] {
            if take(rest, word) {
                return Ok(scalar);
            }
        }
        Err(format!("unknown Hive type at {rest:?}"))
    }
}

/// The Hive type of each event type's `data` column.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LakeSchema {
    data: BTreeMap<String, HiveType>,
}

impl LakeSchema {
    /// A lake schema from (event type, Hive type of `data`) pairs.
    pub fn new<'t>(pairs: impl IntoIterator<Item = (&'t str, &'t str)>) -> Result<Self, String> {
        let mut data = BTreeMap::new();
        for (type_name, hive) in pairs {
            let parsed = HiveType::parse(hive).map_err(|e| format!("{type_name}: {e}"))?;
            data.insert(type_name.to_owned(), parsed);
        }
        Ok(LakeSchema { data })
    }

    /// Whether no event type has a declared column type.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Judges the `data` of a valid event of `type_name` (its bytes): `Err` with the first
    /// problem the lake's reader would have.
    pub fn check(&self, type_name: &str, data: &[u8]) -> Result<(), Violation> {
        let mut walk = Walk {
            pointer: String::from("/data"),
        };
        let mut p = Parser::new(data);
        walk.value(&mut p, self.data.get(type_name))
    }
}

/// Whether lowercasing can change a key (an uppercase ASCII letter or any non-ASCII byte).
fn changes_when_lowercased(key: &str) -> bool {
    key.bytes().any(|b| b.is_ascii_uppercase() || !b.is_ascii())
}

struct Walk {
    pointer: String,
}

fn push_segment(pointer: &mut String, segment: &str) {
    pointer.push('/');
    for c in segment.chars() {
        match c {
            '~' => pointer.push_str("~0"),
            '/' => pointer.push_str("~1"),
            c => pointer.push(c),
        }
    }
}

impl Walk {
    fn problem(&self, message: String) -> Violation {
        Violation {
            pointer: self.pointer.clone(),
            keyword: "athena",
            message,
        }
    }

    fn unreadable(&self, error: &crate::json::Error) -> Violation {
        self.problem(format!("the value cannot be read again: {error}"))
    }

    /// Reads one value; `column` is its declared type, `None` when no column holds it (only
    /// collisions are judged below).
    fn value(&mut self, p: &mut Parser<'_>, column: Option<&HiveType>) -> Result<(), Violation> {
        let kind = p.peek().map_err(|e| self.unreadable(&e))?;
        let expected = match (column, kind) {
            (None | Some(HiveType::String), _) | (_, Kind::Null) => None,
            (Some(HiveType::Bigint), Kind::Number) => {
                let start = p.offset();
                let number = p.parse_number().map_err(|e| self.unreadable(&e))?;
                return match number {
                    Num::Int(_) => Ok(()),
                    Num::Uint(value) if i64::try_from(value).is_ok() => Ok(()),
                    _ => {
                        let text = String::from_utf8_lossy(p.slice(start, p.offset()));
                        Err(self.problem(format!(
                            "{text} is not a whole number written without a fraction or exponent within 64 bits, which Athena's bigint column needs: every query over the object would fail"
                        )))
                    }
                };
            }
            (Some(HiveType::Double), Kind::Number)
            | (Some(HiveType::Boolean), Kind::Bool)
            | (Some(HiveType::Array(_)), Kind::Array)
            | (Some(HiveType::Map(_) | HiveType::Struct(_)), Kind::Object) => None,
            (Some(column), _) => Some(column),
        };
        if let Some(column) = expected {
            return Err(self.problem(format!(
                "{} where Athena's column has type {}: the lake could not read it",
                kind.described(),
                describe(column)
            )));
        }
        match kind {
            Kind::Object => self.object(p, column),
            Kind::Array => {
                let item = match column {
                    Some(HiveType::Array(item)) => Some(item.as_ref()),
                    _ => None,
                };
                p.begin_array().map_err(|e| self.unreadable(&e))?;
                let mut first = true;
                let mut index = 0usize;
                while p
                    .next_element(&mut first)
                    .map_err(|e| self.unreadable(&e))?
                {
                    let length = self.pointer.len();
                    self.pointer.push('/');
                    self.pointer.push_str(&index.to_string());
                    self.value(p, item)?;
                    self.pointer.truncate(length);
                    index += 1;
                }
                Ok(())
            }
            _ => p.skip_value().map_err(|e| self.unreadable(&e)),
        }
    }

    fn object(&mut self, p: &mut Parser<'_>, column: Option<&HiveType>) -> Result<(), Violation> {
        let start = p.offset();
        p.begin_object().map_err(|e| self.unreadable(&e))?;
        let mut first = true;
        let mut may_collide = false;
        while let Some(key) = p.next_key(&mut first).map_err(|e| self.unreadable(&e))? {
            let changes = changes_when_lowercased(&key);
            may_collide |= changes;
            let field = match column {
                Some(HiveType::Map(value)) => Some(value.as_ref()),
                Some(HiveType::Struct(fields)) => {
                    let lower: Cow<'_, str> = if changes {
                        Cow::Owned(key.to_lowercase())
                    } else {
                        Cow::Borrowed(key.as_ref())
                    };
                    fields
                        .binary_search_by(|(name, _)| name.as_str().cmp(&lower))
                        .ok()
                        .map(|at| &fields[at].1)
                }
                _ => None,
            };
            let length = self.pointer.len();
            push_segment(&mut self.pointer, &key);
            self.value(p, field)?;
            self.pointer.truncate(length);
        }
        if may_collide {
            self.collisions(p.sub(start, p.offset()))?;
        }
        Ok(())
    }

    /// Reads the keys of an object (`p` holds exactly it) again, lowercased, and reports the
    /// first two that are equal.
    fn collisions(&self, mut p: Parser<'_>) -> Result<(), Violation> {
        let mut keys: Vec<(String, String)> = Vec::new();
        p.begin_object().map_err(|e| self.unreadable(&e))?;
        let mut first = true;
        while let Some(key) = p.next_key(&mut first).map_err(|e| self.unreadable(&e))? {
            keys.push((key.to_lowercase(), key.into_owned()));
            p.skip_value().map_err(|e| self.unreadable(&e))?;
        }
        keys.sort();
        match keys.windows(2).find(|pair| pair[0].0 == pair[1].0) {
            Some(pair) => Err(self.problem(format!(
                "the keys {:?} and {:?} are the same once lowercased, and Athena's JSON reader lowercases keys: every query over the object would fail with a duplicate key",
                pair[0].1, pair[1].1
            ))),
            None => Ok(()),
        }
    }
}

fn describe(column: &HiveType) -> &'static str {
    match column {
        HiveType::String => "string",
        HiveType::Bigint => "bigint",
        HiveType::Double => "double",
        HiveType::Boolean => "boolean",
        HiveType::Array(_) => "array",
        HiveType::Map(_) => "map",
        HiveType::Struct(_) => "struct",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> LakeSchema {
        LakeSchema::new([(
            "shift.created",
            "struct<changes:map<string,bigint>,labels:array<bigint>,start:bigint,who:struct<name:string,ok:boolean>,x:double>",
        )])
        .unwrap()
    }

    fn check(data: &str) -> Result<(), Violation> {
        schema().check("shift.created", data.as_bytes())
    }

    #[test]
    fn hive_types_read_back_as_written() {
        let parsed = HiveType::parse("struct<b:array<map<string,double>>,a:bigint>").unwrap();
        assert_eq!(
            parsed,
            HiveType::Struct(vec![
                ("a".into(), HiveType::Bigint),
                (
                    "b".into(),
                    HiveType::Array(Box::new(HiveType::Map(Box::new(HiveType::Double))))
                ),
            ])
        );
        assert!(HiveType::parse("struct<a:int>").is_err());
        assert!(HiveType::parse("string>").is_err());
    }

    #[test]
    fn plain_integers_within_64_bits_fit_bigint() {
        assert_eq!(check(r#"{"start":9223372036854775807,"x":1.5}"#), Ok(()));
        assert_eq!(
            check(r#"{"start":-9223372036854775808,"labels":[1,-2,null]}"#),
            Ok(())
        );
        for bad in [
            "1.0",
            "1e2",
            "9223372036854775808",
            "18446744073709551616",
            "-0.0",
        ] {
            let error = check(&format!(r#"{{"start":{bad}}}"#)).unwrap_err();
            assert_eq!(
                (error.pointer.as_str(), error.keyword),
                ("/data/start", "athena"),
                "{bad}"
            );
            assert!(error.message.starts_with(bad), "{}", error.message);
        }
        let error = check(r#"{"labels":[1,2.5]}"#).unwrap_err();
        assert_eq!(error.pointer, "/data/labels/1");
        let error = check(r#"{"changes":{"a":1,"b/c":1e3}}"#).unwrap_err();
        assert_eq!(error.pointer, "/data/changes/b~1c");
        // A double column takes any number; a string column anything.
        assert_eq!(
            check(r#"{"x":1e300,"who":{"name":{"deep":[1.5]}}}"#),
            Ok(())
        );
    }

    #[test]
    fn keys_equal_once_lowercased_collide_at_any_depth() {
        let error = check(r#"{"changes":{"Start":1,"start":2}}"#).unwrap_err();
        assert_eq!(error.pointer, "/data/changes");
        assert!(
            error.message.contains("\"Start\" and \"start\""),
            "{}",
            error.message
        );
        let error = check(r#"{"who":{"name":[{"a":{"ÄB":1,"äb":2}}]}}"#).unwrap_err();
        assert_eq!(error.pointer, "/data/who/name/0/a");
        // The Kelvin sign lowercases to `k`.
        assert!(check("{\"who\":{\"name\":{\"\u{212a}\":1,\"k\":2}}}").is_err());
        assert_eq!(check(r#"{"who":{"name":{"Ab":1,"aB2":2}}}"#), Ok(()));
        // A type without a declared column is judged for collisions only.
        assert!(schema().check("other", br#"{"a":{"X":1,"x":1}}"#).is_err());
        assert_eq!(schema().check("other", br#"{"a":1.0}"#), Ok(()));
    }

    #[test]
    fn struct_fields_match_keys_case_insensitively() {
        // `Start` is an extra property, but Athena reads it as the bigint column `start`.
        let error = check(r#"{"Start":"soon"}"#).unwrap_err();
        assert_eq!(error.pointer, "/data/Start");
        assert!(
            error
                .message
                .contains("a string where Athena's column has type bigint")
        );
        assert!(check(r#"{"WHO":{"OK":"yes"}}"#).is_err());
        assert_eq!(check(r#"{"Who":{"Ok":true},"other":"x"}"#), Ok(()));
        assert!(check(r#"{"who":[1]}"#).is_err());
        assert_eq!(check(r#"{"who":null,"start":null}"#), Ok(()));
    }
}
