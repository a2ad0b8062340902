//! The [`Checker`]: where generated validators send what they find.
//!
//! One generated validator serves both paths (`docs/architecture.md#events`), so they agree by
//! construction:
//!
//! - in **fast** mode ([`Checker::fast`]) the first violation stops reading with
//!   [`Error::Stop`]; nothing is allocated and the verdict is "invalid";
//! - in **report** mode ([`Checker::report`]) every violation is recorded with its JSON pointer,
//!   keyword and a message, and reading goes on to the end.
//!
//! The keyword methods (`minimum`, `min_length`, `pattern`, ...) hold the one implementation of
//! each check and its message; generated code calls them with the schema's constants.

use std::borrow::Cow;
use std::collections::HashMap;

use regex::Regex;
use serde::Serialize;
use serde_json::Value;

use crate::format::Format;
use crate::json::{Error, Kind, Parser};
use crate::number::Num;
use crate::value::{canonical, json_equal, short, shorten};

/// One reason a value does not match its schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// JSON pointer of the offending value (`/data/created_by/role`).
    pub pointer: String,
    /// The schema keyword that failed (`minimum`, `required`, `type`...).
    pub keyword: &'static str,
    /// What is wrong, in a sentence.
    pub message: String,
}

#[derive(Debug, Clone)]
enum Segment {
    Key(String),
    Index(usize),
}

/// Collects violations (report mode) or stops at the first one (fast mode).
#[derive(Debug, Clone)]
pub struct Checker {
    report: bool,
    path: Vec<Segment>,
    violations: Vec<Violation>,
}

fn escape_pointer(segment: &str, out: &mut String) {
    for c in segment.chars() {
        match c {
            '~' => out.push_str("~0"),
            '/' => out.push_str("~1"),
            c => out.push(c),
        }
    }
}

impl Checker {
    /// A checker that stops at the first violation.
    pub fn fast() -> Self {
        Checker {
            report: false,
            path: Vec::new(),
            violations: Vec::new(),
        }
    }

    /// A checker that records every violation.
    pub fn report() -> Self {
        Checker {
            report: true,
            ..Checker::fast()
        }
    }

    /// Whether this checker records violations.
    #[inline]
    pub fn is_report(&self) -> bool {
        self.report
    }

    /// The violations recorded so far.
    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }

    /// Takes the violations out.
    pub fn into_violations(self) -> Vec<Violation> {
        self.violations
    }

    /// The JSON pointer of the current position.
    pub fn pointer(&self) -> String {
        let mut out = String::new();
        for segment in &self.path {
            out.push('/');
            match segment {
                Segment::Key(key) => escape_pointer(key, &mut out),
                Segment::Index(index) => out.push_str(&index.to_string()),
            }
        }
        out
    }

    /// Descends into an object member.
    #[inline]
    pub fn enter_key(&mut self, key: &str) {
        if self.report {
            self.path.push(Segment::Key(key.to_owned()));
        }
    }

    /// Descends into an array element.
    #[inline]
    pub fn enter_index(&mut self, index: usize) {
        if self.report {
            self.path.push(Segment::Index(index));
        }
    }

    /// Returns from the last [`Checker::enter_key`] or [`Checker::enter_index`].
    #[inline]
    pub fn leave(&mut self) {
        if self.report {
            self.path.pop();
        }
    }

    /// Records a violation at the current position (report mode) or stops (fast mode).
    #[inline]
    pub fn fail(
        &mut self,
        keyword: &'static str,
        message: impl FnOnce() -> String,
    ) -> Result<(), Error> {
        if !self.report {
            return Err(Error::Stop);
        }
        let pointer = self.pointer();
        self.violations.push(Violation {
            pointer,
            keyword,
            message: message(),
        });
        Ok(())
    }

    /// The value's kind is not allowed: records it and skips the value.
    #[cold]
    pub fn wrong_type(
        &mut self,
        p: &mut Parser<'_>,
        found: Kind,
        expected: &str,
    ) -> Result<(), Error> {
        let found = if found == Kind::Number {
            match p.clone().parse_number() {
                Ok(n) if n.is_integer() => "an integer",
                _ => "a number",
            }
        } else {
            found.described()
        };
        self.fail("type", || format!("expected {expected}, found {found}"))?;
        p.skip_value()
    }

    /// The number is not an integer, but the schema allows only integers (and maybe other
    /// non-number kinds).
    #[cold]
    pub fn not_integer(&mut self, n: Num, expected: &str) -> Result<(), Error> {
        self.fail("type", || {
            format!("expected {expected}, found the number {n}")
        })
    }

    /// The schema is `false`: no value is allowed here.
    #[cold]
    pub fn never(&mut self, p: &mut Parser<'_>) -> Result<(), Error> {
        self.fail("false", || {
            "no value is allowed here (the schema is `false`)".to_owned()
        })?;
        p.skip_value()
    }

    /// `minimum`
    #[inline]
    pub fn minimum(&mut self, n: Num, limit: Num) -> Result<(), Error> {
        if n.compare(limit).is_lt() {
            return self.fail("minimum", || {
                format!("{n} is less than the minimum of {limit}")
            });
        }
        Ok(())
    }

    /// `maximum`
    #[inline]
    pub fn maximum(&mut self, n: Num, limit: Num) -> Result<(), Error> {
        if n.compare(limit).is_gt() {
            return self.fail("maximum", || {
                format!("{n} is greater than the maximum of {limit}")
            });
        }
        Ok(())
    }

    /// `exclusiveMinimum`
    #[inline]
    pub fn exclusive_minimum(&mut self, n: Num, limit: Num) -> Result<(), Error> {
        if !n.compare(limit).is_gt() {
            return self.fail("exclusiveMinimum", || {
                format!("{n} must be greater than {limit}")
            });
        }
        Ok(())
    }

    /// `exclusiveMaximum`
    #[inline]
    pub fn exclusive_maximum(&mut self, n: Num, limit: Num) -> Result<(), Error> {
        if !n.compare(limit).is_lt() {
            return self.fail("exclusiveMaximum", || {
                format!("{n} must be less than {limit}")
            });
        }
        Ok(())
    }

    /// `multipleOf`
    #[inline]
    pub fn multiple_of(&mut self, n: Num, divisor: Num) -> Result<(), Error> {
        if !n.is_multiple_of(divisor) {
            return self.fail("multipleOf", || {
                format!("{n} is not a multiple of {divisor}")
            });
        }
        Ok(())
    }

    /// `minLength` (in Unicode code points)
    #[inline]
    pub fn min_length(&mut self, s: &str, min: usize) -> Result<(), Error> {
        if s.len() < min || (s.len() < min.saturating_mul(4) && s.chars().count() < min) {
            let count = s.chars().count();
            return self.fail("minLength", || {
                format!("has {count} characters, fewer than the minimum of {min}")
            });
        }
        Ok(())
    }

    /// `maxLength` (in Unicode code points)
    #[inline]
    pub fn max_length(&mut self, s: &str, max: usize) -> Result<(), Error> {
        if s.len() > max && s.chars().count() > max {
            let count = s.chars().count();
            return self.fail("maxLength", || {
                format!("has {count} characters, more than the maximum of {max}")
            });
        }
        Ok(())
    }

    /// `pattern`
    #[inline]
    pub fn pattern(&mut self, s: &str, regex: &Regex) -> Result<(), Error> {
        if !regex.is_match(s) {
            return self.fail("pattern", || {
                format!(
                    "{} does not match the pattern {}",
                    shorten(&format!("{s:?}")),
                    regex.as_str()
                )
            });
        }
        Ok(())
    }

    /// `format`
    #[inline]
    pub fn format(&mut self, s: &str, format: Format) -> Result<(), Error> {
        if !format.matches(s) {
            return self.fail("format", || {
                format!(
                    "{} is not a valid {}",
                    shorten(&format!("{s:?}")),
                    format.as_str()
                )
            });
        }
        Ok(())
    }

    /// `enum` when every allowed value is a string: `allowed` lists them.
    #[cold]
    pub fn not_in_enum(&mut self, s: &str, allowed: &[&str]) -> Result<(), Error> {
        self.fail("enum", || {
            format!(
                "{} is not one of: {}",
                shorten(&format!("{s:?}")),
                allowed.join(", ")
            )
        })
    }

    /// `const` when the expected value is a string.
    #[cold]
    pub fn not_const(&mut self, s: &str, expected: &str) -> Result<(), Error> {
        self.fail("const", || {
            format!("must be {expected:?}, found {}", shorten(&format!("{s:?}")))
        })
    }

    /// `enum` in general: the value between `start` and `end` must equal one of `allowed`.
    pub fn enum_value(
        &mut self,
        p: &Parser<'_>,
        start: usize,
        end: usize,
        allowed: &[Value],
    ) -> Result<(), Error> {
        let value = p.sub(start, end).parse_value()?;
        if !allowed.iter().any(|a| json_equal(a, &value)) {
            return self.fail("enum", || {
                let list: Vec<String> = allowed.iter().map(short).collect();
                format!("{} is not one of: {}", short(&value), list.join(", "))
            });
        }
        Ok(())
    }

    /// `const`: the value between `start` and `end` must equal `expected`.
    pub fn const_value(
        &mut self,
        p: &Parser<'_>,
        start: usize,
        end: usize,
        expected: &Value,
    ) -> Result<(), Error> {
        let value = p.sub(start, end).parse_value()?;
        if !json_equal(expected, &value) {
            return self.fail("const", || {
                format!("must be {}, found {}", short(expected), short(&value))
            });
        }
        Ok(())
    }

    /// `minItems`
    #[inline]
    pub fn min_items(&mut self, count: usize, min: usize) -> Result<(), Error> {
        if count < min {
            return self.fail("minItems", || {
                format!("has {count} items, fewer than the minimum of {min}")
            });
        }
        Ok(())
    }

    /// `maxItems`
    #[inline]
    pub fn max_items(&mut self, count: usize, max: usize) -> Result<(), Error> {
        if count > max {
            return self.fail("maxItems", || {
                format!("has {count} items, more than the maximum of {max}")
            });
        }
        Ok(())
    }

    /// `uniqueItems`: `spans` are the byte ranges of the array's elements.
    pub fn unique_items(&mut self, p: &Parser<'_>, spans: &[(usize, usize)]) -> Result<(), Error> {
        if spans.len() < 2 {
            return Ok(());
        }
        let duplicate = if plain_strings(p, spans) {
            first_duplicate_raw(p, spans)
        } else {
            first_duplicate_value(p, spans)?
        };
        match duplicate {
            Some((first, index)) => self.fail("uniqueItems", || {
                format!("items {first} and {index} are equal, but items must be unique")
            }),
            None => Ok(()),
        }
    }

    /// `required`: `name` is missing from the object at the current position.
    #[cold]
    pub fn missing(&mut self, name: &str) -> Result<(), Error> {
        self.fail("required", || format!("`{name}` is required but missing"))
    }

    /// `additionalProperties: false`: `key` is not a declared property. Skips its value.
    #[cold]
    pub fn not_allowed(&mut self, p: &mut Parser<'_>, key: &str) -> Result<(), Error> {
        self.enter_key(key);
        let result = self.fail("additionalProperties", || {
            format!("`{key}` is not an allowed property")
        });
        self.leave();
        result?;
        p.skip_value()
    }

    /// `minProperties`
    #[inline]
    pub fn min_properties(&mut self, count: usize, min: usize) -> Result<(), Error> {
        if count < min {
            return self.fail("minProperties", || {
                format!("has {count} properties, fewer than the minimum of {min}")
            });
        }
        Ok(())
    }

    /// `maxProperties`
    #[inline]
    pub fn max_properties(&mut self, count: usize, max: usize) -> Result<(), Error> {
        if count > max {
            return self.fail("maxProperties", || {
                format!("has {count} properties, more than the maximum of {max}")
            });
        }
        Ok(())
    }
}

/// Up to this many items, `uniqueItems` over strings compares every pair (no allocation).
const PAIRWISE_ITEMS: usize = 16;

/// Whether every element is a string without escapes and there are few of them: then two
/// elements are equal exactly when their bytes are.
fn plain_strings(p: &Parser<'_>, spans: &[(usize, usize)]) -> bool {
    spans.len() <= PAIRWISE_ITEMS
        && spans.iter().all(|(start, end)| {
            let bytes = p.slice(*start, *end);
            bytes.first() == Some(&b'"') && !bytes.contains(&b'\\')
        })
}

/// The first pair `(i, j)`, `i < j`, of byte-equal elements, in the order of `j`.
fn first_duplicate_raw(p: &Parser<'_>, spans: &[(usize, usize)]) -> Option<(usize, usize)> {
    let raw = |index: usize| p.slice(spans[index].0, spans[index].1);
    (1..spans.len()).find_map(|j| (0..j).find(|i| raw(*i) == raw(j)).map(|i| (i, j)))
}

/// The first pair `(i, j)`, `i < j`, of elements equal by JSON Schema's rules, in the order of
/// `j`, through a canonical text of each element.
fn first_duplicate_value(
    p: &Parser<'_>,
    spans: &[(usize, usize)],
) -> Result<Option<(usize, usize)>, Error> {
    let mut seen: HashMap<String, usize> = HashMap::with_capacity(spans.len());
    for (index, (start, end)) in spans.iter().enumerate() {
        let value = p.sub(*start, *end).parse_value()?;
        if let Some(first) = seen.insert(canonical(&value), index) {
            return Ok(Some((first, index)));
        }
    }
    Ok(None)
}

/// Records a key in an object's set of undeclared keys, rejecting a duplicate.
// The key stays a `Cow`: a borrowed key is kept without copying it.
#[allow(clippy::ptr_arg)]
#[inline]
pub fn note_key<'a>(
    p: &Parser<'a>,
    keys: &mut crate::json::KeySet<'a>,
    key: &Cow<'a, str>,
) -> Result<(), Error> {
    if keys.insert(key.clone()) {
        Ok(())
    } else {
        Err(p.duplicate_key(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `uniqueItems` verdict on a JSON array: the message of its violation, if any.
    fn unique(text: &str) -> Option<String> {
        let mut p = Parser::new(text.as_bytes());
        let mut spans = Vec::new();
        p.begin_array().unwrap();
        let mut first = true;
        while p.next_element(&mut first).unwrap() {
            p.peek().unwrap();
            let start = p.offset();
            p.skip_value().unwrap();
            spans.push((start, p.offset()));
        }
        let mut c = Checker::report();
        c.unique_items(&p, &spans).unwrap();
        c.into_violations().pop().map(|v| v.message)
    }

    #[test]
    fn unique_items_compares_plain_strings_by_bytes_and_the_rest_by_value() {
        let equal = |i: usize, j: usize| {
            Some(format!(
                "items {i} and {j} are equal, but items must be unique"
            ))
        };
        assert_eq!(unique(r#"["a","b","c"]"#), None);
        assert_eq!(unique(r#"["a","b","b","a"]"#), equal(1, 2));
        assert_eq!(unique(r#"["a","b","a","b"]"#), equal(0, 2));
        assert_eq!(
            unique(r#"["a","\u0061"]"#),
            equal(0, 1),
            "escapes decode first"
        );
        assert_eq!(unique(r#"["a\n","a\\n"]"#), None);
        assert_eq!(unique(r#"[1,"1",1.0]"#), equal(0, 2), "numbers by value");
        assert_eq!(unique(r#"[{"a":1,"b":2},{"b":2,"a":1}]"#), equal(0, 1));
        let many: Vec<String> = (0..40).map(|i| format!("\"s{}\"", i % 30)).collect();
        assert_eq!(unique(&format!("[{}]", many.join(","))), equal(0, 30));
    }
}
