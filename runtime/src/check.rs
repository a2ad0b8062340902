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

    /// `pattern`: `regex` is the pattern as compiled, `source` as the schema wrote it.
    #[inline]
    pub fn pattern(&mut self, s: &str, regex: &Regex, source: &str) -> Result<(), Error> {
        self.pattern_matched(regex.is_match(s), s, source)
    }

    /// `pattern`, matched by code of its own (a run of ASCII classes the generator expands
    /// into loops): `matched` is its answer on `s`.
    #[inline]
    pub fn pattern_matched(&mut self, matched: bool, s: &str, source: &str) -> Result<(), Error> {
        if !matched {
            return self.fail("pattern", || {
                format!(
                    "{} does not match the pattern {source}",
                    shorten(&format!("{s:?}"))
                )
            });
        }
        Ok(())
    }

    /// `format`
    #[inline]
    pub fn format(&mut self, s: &str, format: Format) -> Result<(), Error> {
        if !crate::format::matches(format, s) {
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

/// Applicators (`allOf`, `anyOf`, `oneOf`, `not`, `if`, `dependentSchemas`, `contains`,
/// `propertyNames`, `unevaluated*`): generated code runs a subschema over a fork of the reader
/// (`Parser::fork`) with [`Checker::branch`], then reports what it found with these methods.
impl Checker {
    /// A checker for one branch of an applicator: the same mode and position, no violations.
    #[inline]
    pub fn branch(&self) -> Checker {
        Checker {
            report: self.report,
            path: if self.report {
                self.path.clone()
            } else {
                Vec::new()
            },
            violations: Vec::new(),
        }
    }

    /// How many violations are recorded so far (always 0 in fast mode).
    #[inline]
    pub fn count(&self) -> usize {
        self.violations.len()
    }

    /// Whether a branch checked with [`Checker::branch`] passed: `result` is what the branch's
    /// validator returned.
    #[inline]
    pub fn passed(branch: &Checker, result: Result<(), Error>) -> Result<bool, Error> {
        match result {
            Ok(()) => Ok(branch.violations.is_empty()),
            Err(Error::Stop) => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// `anyOf` or `oneOf` (`keyword`) where no branch matched; `branches` are the branches'
    /// checkers, in order (report mode only; fast mode stops).
    ///
    /// The report names the closest branch and adds its violations after its own. The closest
    /// is the one that fails least fundamentally: first a branch that accepts the value's
    /// type, then one whose `const`s and `enum`s all hold (the branch a discriminating
    /// property selects), then the one with the fewest violations, then the first. The other
    /// branches are summed up by their first violation.
    #[cold]
    pub fn no_branch_matched(
        &mut self,
        keyword: &'static str,
        branches: Vec<Checker>,
    ) -> Result<(), Error> {
        if !self.report {
            return Err(Error::Stop);
        }
        let here = self.pointer();
        let rank = |b: &Checker| {
            let wrong_type = b
                .violations
                .iter()
                .any(|v| v.pointer == here && v.keyword == "type");
            let constants = b
                .violations
                .iter()
                .filter(|v| matches!(v.keyword, "const" | "enum"))
                .count();
            (wrong_type, constants, b.violations.len())
        };
        let closest = (0..branches.len())
            .min_by_key(|i| rank(&branches[*i]))
            .unwrap_or(0);
        let others: Vec<String> = branches
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != closest)
            .filter_map(|(i, b)| {
                b.violations.first().map(|v| {
                    let at = if v.pointer == here {
                        String::new()
                    } else {
                        format!(" at `{}`", v.pointer)
                    };
                    format!("branch {i} fails `{}`{at}", v.keyword)
                })
            })
            .collect();
        let others = if others.is_empty() {
            String::new()
        } else {
            format!("; {}", others.join(", "))
        };
        let count = branches.len();
        self.fail(keyword, || {
            format!("matches none of the {count} branches of `{keyword}`; the closest is branch {closest}, whose violations follow{others}")
        })?;
        if let Some(branch) = branches.into_iter().nth(closest) {
            self.violations.extend(branch.violations);
        }
        Ok(())
    }

    /// `oneOf` where several branches matched (`matched`, in order).
    #[cold]
    pub fn several_branches_matched(&mut self, matched: &[usize]) -> Result<(), Error> {
        self.fail("oneOf", || {
            let list: Vec<String> = matched.iter().map(usize::to_string).collect();
            let (init, last) = list.split_at(list.len() - 1);
            format!(
                "matches branches {} and {} of `oneOf`, but must match exactly one",
                init.join(", "),
                last[0]
            )
        })
    }

    /// A union told apart by a tag property (`keyword` is `anyOf` or `oneOf`): the tag
    /// selected branch `index`, which failed with `branch`'s violations.
    #[cold]
    pub fn tagged_branch_failed(
        &mut self,
        keyword: &'static str,
        tag: &str,
        value: &str,
        index: usize,
        branch: Checker,
    ) -> Result<(), Error> {
        self.fail(keyword, || {
            format!("`{tag}` is {value:?}, which selects branch {index} of `{keyword}`, and the value does not match that branch: its violations follow")
        })?;
        self.violations.extend(branch.violations);
        Ok(())
    }

    /// A union told apart by a tag property, whose tag selects no branch.
    #[cold]
    pub fn no_tag<S: AsRef<str>>(
        &mut self,
        keyword: &'static str,
        tag: &str,
        values: &[S],
        found: &Tag<'_>,
    ) -> Result<(), Error> {
        self.fail(keyword, || {
            let allowed: Vec<String> = values.iter().map(|v| format!("{:?}", v.as_ref())).collect();
            let found = match found {
                Tag::NotAnObject => "but the value is not an object".to_owned(),
                Tag::Missing => format!("but `{tag}` is missing"),
                Tag::Other(text) => format!("found {}", shorten(text)),
                Tag::Branch(_) => "found a branch".to_owned(),
            };
            format!(
                "`{tag}` selects the branch of `{keyword}` and must be one of {}, {found}",
                allowed.join(", ")
            )
        })
    }

    /// `not`: the value matched the schema it must not match.
    #[cold]
    pub fn matches_not(&mut self) -> Result<(), Error> {
        self.fail("not", || {
            "must not match the schema of `not`, but does".to_owned()
        })
    }

    /// `contains` with `minContains` and `maxContains`: `count` items matched.
    #[inline]
    pub fn contains(
        &mut self,
        count: usize,
        min: usize,
        min_given: bool,
        max: Option<usize>,
    ) -> Result<(), Error> {
        if count < min {
            let keyword = if min_given { "minContains" } else { "contains" };
            return self.fail(keyword, || {
                if min_given {
                    format!(
                        "has {count} items that match `contains`, fewer than the minimum of {min}"
                    )
                } else {
                    "has no item that matches `contains`".to_owned()
                }
            });
        }
        if let Some(max) = max
            && count > max
        {
            return self.fail("maxContains", || {
                format!("has {count} items that match `contains`, more than the maximum of {max}")
            });
        }
        Ok(())
    }

    /// `dependentRequired`: `trigger` is present, so `name` must be, and is not.
    #[cold]
    pub fn dependent_missing(&mut self, trigger: &str, name: &str) -> Result<(), Error> {
        self.fail("dependentRequired", || {
            format!("`{name}` is required when `{trigger}` is present, but missing")
        })
    }

    /// `propertyNames`: the name `key` failed the names' schema with `branch`'s violations.
    #[cold]
    pub fn bad_property_name(&mut self, key: &str, branch: Checker) -> Result<(), Error> {
        self.enter_key(key);
        let reasons: Vec<String> = branch
            .violations
            .iter()
            .map(|v| v.message.clone())
            .collect();
        let result = self.fail("propertyNames", || {
            format!(
                "the property name {} is not allowed: {}",
                shorten(&format!("{key:?}")),
                reasons.join("; ")
            )
        });
        self.leave();
        result
    }

    /// `unevaluatedProperties: false`: no keyword evaluated `key`. Skips its value.
    #[cold]
    pub fn unevaluated_property(&mut self, p: &mut Parser<'_>, key: &str) -> Result<(), Error> {
        self.enter_key(key);
        let result = self.fail("unevaluatedProperties", || {
            format!(
                "`{key}` is not evaluated by any keyword here, and `unevaluatedProperties` is false"
            )
        });
        self.leave();
        result?;
        p.skip_value()
    }

    /// `unevaluatedItems: false`: no keyword evaluated item `index`. Skips it.
    #[cold]
    pub fn unevaluated_item(&mut self, p: &mut Parser<'_>, index: usize) -> Result<(), Error> {
        self.enter_index(index);
        let result = self.fail("unevaluatedItems", || {
            format!(
                "item {index} is not evaluated by any keyword here, and `unevaluatedItems` is false"
            )
        });
        self.leave();
        result?;
        p.skip_value()
    }
}

/// What the tag of a union told apart by a property says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tag<'a> {
    /// The tag selects this branch.
    Branch(usize),
    /// The value is not an object.
    NotAnObject,
    /// The object has no tag property.
    Missing,
    /// The tag is this JSON text, which selects no branch.
    Other(Cow<'a, str>),
}

/// Reads the tag `name` of the object at `p` (a fork: `p` is not advanced) and finds the
/// branch whose value it is. The object was read once already, so it is well-formed.
pub fn tag_of<'a, S: AsRef<str>>(
    p: &Parser<'a>,
    name: &str,
    values: &[S],
) -> Result<Tag<'a>, Error> {
    let mut q = p.fork();
    if q.peek()? != Kind::Object {
        return Ok(Tag::NotAnObject);
    }
    q.begin_object()?;
    let mut first = true;
    while q.read_key(&mut first)? {
        if q.last_str() != name {
            q.skip_value()?;
            continue;
        }
        return tag_value(&mut q, values);
    }
    Ok(Tag::Missing)
}

/// [`tag_of`] from the index of the object's members that its validator made (complete), so
/// only the tag's value is read; `kind` is the value's kind.
pub fn tag_of_members<'a, S: AsRef<str>>(
    p: &Parser<'a>,
    kind: Kind,
    members: &Members<'_>,
    name: &str,
    values: &[S],
) -> Result<Tag<'a>, Error> {
    if kind != Kind::Object {
        return Ok(Tag::NotAnObject);
    }
    match members.get(name) {
        Some(offset) => tag_value(&mut p.member_at(offset), values),
        None => Ok(Tag::Missing),
    }
}

/// The branch a tag's value (at `q`) selects.
fn tag_value<'a, S: AsRef<str>>(q: &mut Parser<'a>, values: &[S]) -> Result<Tag<'a>, Error> {
    q.peek()?;
    let start = q.offset();
    if q.peek()? == Kind::String {
        q.read_str()?;
        let text = q.last_str();
        if let Some(index) = values.iter().position(|v| v.as_ref() == text) {
            return Ok(Tag::Branch(index));
        }
    } else {
        q.skip_value()?;
    }
    let raw = String::from_utf8_lossy(q.slice(start, q.offset())).into_owned();
    Ok(Tag::Other(Cow::Owned(raw)))
}

/// Whether the object at `p` (a fork: `p` is not advanced) has the key `name` (for the
/// annotations of `dependentSchemas`).
pub fn has_key(p: &Parser<'_>, name: &str) -> Result<bool, Error> {
    let mut q = p.fork();
    if q.peek()? != Kind::Object {
        return Ok(false);
    }
    q.begin_object()?;
    let mut first = true;
    while q.read_key(&mut first)? {
        if q.last_str() == name {
            return Ok(true);
        }
        q.skip_value()?;
    }
    Ok(false)
}

/// A key as JSON text, for validating a property name against `propertyNames`.
pub fn json_string(key: &str) -> String {
    serde_json::to_string(key).unwrap_or_default()
}

/// The parts of one value that schemas evaluated, as draft 2020-12's annotations record them
/// for `unevaluatedProperties` and `unevaluatedItems`: property names (`properties`,
/// `patternProperties`, `additionalProperties`, and the same keywords of every subschema that
/// applied to the value and passed), and item indices (`prefixItems`, `items`, `contains`).
#[derive(Debug, Default)]
pub struct Annotations<'a> {
    keys: Vec<Cow<'a, str>>,
    all_keys: bool,
    prefix: usize,
    all_items: bool,
    items: Vec<usize>,
}

impl<'a> Annotations<'a> {
    /// A property was evaluated.
    #[inline]
    pub fn key(&mut self, key: Cow<'a, str>) {
        self.keys.push(key);
    }

    /// These properties were evaluated (`Event::EVALUATED_NAMES`).
    #[inline]
    pub fn keys(&mut self, names: &'static [&'static str]) {
        self.keys
            .extend(names.iter().map(|name| Cow::Borrowed(*name)));
    }

    /// Every property was evaluated (`additionalProperties`, `unevaluatedProperties`).
    #[inline]
    pub fn all_keys(&mut self) {
        self.all_keys = true;
    }

    /// The first `count` items were evaluated (`prefixItems`).
    #[inline]
    pub fn prefix(&mut self, count: usize) {
        self.prefix = self.prefix.max(count);
    }

    /// Every item was evaluated (`items`, `unevaluatedItems`).
    #[inline]
    pub fn all_items(&mut self) {
        self.all_items = true;
    }

    /// Item `index` was evaluated (it matched `contains`).
    #[inline]
    pub fn item(&mut self, index: usize) {
        self.items.push(index);
    }

    /// Whether property `key` was evaluated.
    pub fn has_key(&self, key: &str) -> bool {
        self.all_keys || self.keys.iter().any(|k| k == key)
    }

    /// Whether item `index` was evaluated.
    pub fn has_item(&self, index: usize) -> bool {
        self.all_items || index < self.prefix || self.items.contains(&index)
    }
}

/// The members of one object as a validator's own pass over it met them: each key and the
/// offset of its value. A subschema applied in place to the object that asks only which keys
/// are present and what some members' values are (`Event::DECIDED_BY_MEMBERS`: `required`,
/// `dependentRequired`, `properties`, `minProperties`, `maxProperties`) is decided from this
/// index ([`Event::matches_members`](crate::Event::matches_members)), reading only the members
/// it checks, instead of reading the whole object again.
///
/// Up to [`Members::CAPACITY`] keys without escapes are kept, with no allocation; an object
/// with more, or with an escaped key, is not indexed ([`Members::complete`] is `false`) and
/// its subschemas read it again. An index that is not enabled records nothing (a validator
/// that has no use for it pays one predictable branch per key).
#[derive(Debug)]
pub struct Members<'a> {
    enabled: bool,
    overflow: bool,
    len: usize,
    keys: [&'a str; Members::CAPACITY],
    /// (Offsets past `u32::MAX` are not indexed: a smaller index is a smaller stack frame.)
    offsets: [u32; Members::CAPACITY],
}

impl<'a> Members<'a> {
    /// How many members are indexed.
    pub const CAPACITY: usize = 16;

    /// An empty index that records the members pushed into it when `enabled`.
    #[inline]
    pub fn new(enabled: bool) -> Self {
        Members {
            enabled,
            overflow: false,
            len: 0,
            keys: [""; Members::CAPACITY],
            offsets: [0; Members::CAPACITY],
        }
    }

    /// Starts recording (for an index a caller passed without needing it).
    #[inline]
    pub fn enable(&mut self) {
        self.enabled = true;
    }

    /// Stops recording: the index is incomplete from now on.
    #[inline]
    pub fn disable(&mut self) {
        self.enabled = false;
    }

    /// Records a member: its key and the offset of its value (the reader's offset right
    /// after the key's `:`).
    // The key stays a `Cow`: only a borrowed key (no escapes) can be kept.
    #[allow(clippy::ptr_arg)]
    #[inline]
    pub fn push(&mut self, key: &Cow<'a, str>, value: usize) {
        if !self.enabled {
            return;
        }
        match (key, u32::try_from(value)) {
            (Cow::Borrowed(key), Ok(value)) if self.len < Self::CAPACITY => {
                self.keys[self.len] = key;
                self.offsets[self.len] = value;
                self.len += 1;
            }
            _ => self.overflow = true,
        }
    }

    /// Whether the index holds every member of the object (or the value was no object).
    #[inline]
    pub fn complete(&self) -> bool {
        self.enabled && !self.overflow
    }

    /// How many members the object has (of a complete index).
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the object has no members (of a complete index).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The offset of the value of member `name`, if the object has it.
    #[inline]
    pub fn get(&self, name: &str) -> Option<usize> {
        self.keys[..self.len]
            .iter()
            .position(|key| *key == name)
            .map(|i| self.offsets[i] as usize)
    }

    /// The members, in the object's order: each key and the offset of its value.
    #[inline]
    pub fn iter(&self) -> impl Iterator<Item = (&'a str, usize)> + '_ {
        self.keys[..self.len].iter().copied().zip(
            self.offsets[..self.len]
                .iter()
                .map(|offset| *offset as usize),
        )
    }

    /// Whether the object has member `name`.
    #[inline]
    pub fn has(&self, name: &str) -> bool {
        self.keys[..self.len].contains(&name)
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
