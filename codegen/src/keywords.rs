//! The one table of schema keywords, and the checks of their values that every front-end shares.
//!
//! [`KEYWORDS`] lists every keyword `ingest` knows: its JSON name, the name of the
//! `#[event(...)]` attribute that carries it through the generated Rust types (see
//! `macros/src/lib.rs`), the family of JSON values it applies to, and its role. The schema parser
//! (`crate::schema`) dispatches on it and suggests from it, the derive (`ingest-macros`) checks
//! attribute names and where they may go against it, and the type generator (`crate::types`)
//! writes attributes by it, so the three cannot drift apart.
//!
//! The value checks below ([`check_pattern`], [`check_range`], [`check_counts`],
//! [`check_multiple_of`], [`format_named`]) are likewise the single implementation of each rule:
//! the parser reports their message at a JSON pointer, the derive at a span.

use crate::schema::{Format, InstanceType};

/// The JSON values a keyword applies to. A keyword of one family has no effect on values of
/// another (`minLength` on a number passes), so a schema whose `type` excludes the family gets
/// an error ("it would never be checked").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Every value (`type`, `enum`, `const`, the in-place applicators, annotations).
    Any,
    /// Strings.
    String,
    /// Numbers (integers included).
    Number,
    /// Arrays.
    Array,
    /// Objects.
    Object,
}

impl Family {
    /// The instance types of the family, `None` for [`Family::Any`].
    pub fn types(self) -> Option<&'static [InstanceType]> {
        Some(match self {
            Family::Any => return None,
            Family::String => &[InstanceType::String],
            Family::Number => &[InstanceType::Number, InstanceType::Integer],
            Family::Array => &[InstanceType::Array],
            Family::Object => &[InstanceType::Object],
        })
    }

    /// The family in a sentence ("strings").
    pub fn plural(self) -> &'static str {
        match self {
            Family::Any => "any value",
            Family::String => "strings",
            Family::Number => "numbers",
            Family::Array => "arrays",
            Family::Object => "objects",
        }
    }

    /// Whether a value of `t` is in the family.
    pub fn includes(self, t: InstanceType) -> bool {
        match self.types() {
            None => true,
            Some(types) => types.contains(&t),
        }
    }
}

/// What a keyword does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Asserts something about the value itself.
    Assertion,
    /// Applies subschemas, to the value itself (`allOf`, `$ref`) or to its parts (`items`).
    Applicator,
    /// Identifies or references schemas (`$id`, `$anchor`, `$ref`, `$defs`, `$schema`).
    Core,
    /// Never changes a verdict (`title`, `description`...).
    Annotation,
    /// Known, and refused with a reason: the schema cannot be loaded with it.
    Refused,
}

/// One keyword of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keyword {
    /// The JSON Schema name (`minLength`).
    pub json: &'static str,
    /// The `#[event(...)]` attribute that carries it, if any (`min_length`). Keywords without
    /// one are said by the Rust types themselves (`properties` are fields, `$ref` is a type).
    pub attribute: Option<&'static str>,
    /// The values it applies to.
    pub family: Family,
    /// What it does.
    pub role: Role,
}

const fn k(json: &'static str, attribute: &'static str, family: Family, role: Role) -> Keyword {
    Keyword {
        json,
        attribute: Some(attribute),
        family,
        role,
    }
}

const fn typed(json: &'static str, family: Family, role: Role) -> Keyword {
    Keyword {
        json,
        attribute: None,
        family,
        role,
    }
}

/// Every keyword `ingest` knows (draft 2020-12), in the order the documentation lists them.
pub const KEYWORDS: &[Keyword] = {
    use Family::{Any, Array, Number, Object, String as Str};
    use Role::{Annotation, Applicator, Assertion, Core, Refused};
    &[
        // Core.
        typed("$schema", Any, Core),
        typed("$id", Any, Core),
        typed("$anchor", Any, Core),
        typed("$ref", Any, Core),
        typed("$defs", Any, Core),
        typed("$comment", Any, Annotation),
        // Any value.
        k("type", "type", Any, Assertion),
        k("enum", "enum", Any, Assertion),
        k("const", "const", Any, Assertion),
        // In-place applicators.
        k("allOf", "all_of", Any, Applicator),
        k("anyOf", "any_of", Any, Applicator),
        k("oneOf", "one_of", Any, Applicator),
        k("not", "not", Any, Applicator),
        k("if", "if", Any, Applicator),
        k("then", "then", Any, Applicator),
        k("else", "else", Any, Applicator),
        // Numbers.
        k("minimum", "minimum", Number, Assertion),
        k("maximum", "maximum", Number, Assertion),
        k("exclusiveMinimum", "exclusive_minimum", Number, Assertion),
        k("exclusiveMaximum", "exclusive_maximum", Number, Assertion),
        k("multipleOf", "multiple_of", Number, Assertion),
        // Strings.
        k("minLength", "min_length", Str, Assertion),
        k("maxLength", "max_length", Str, Assertion),
        k("pattern", "pattern", Str, Assertion),
        k("format", "format", Str, Assertion),
        // Arrays.
        k("items", "items", Array, Applicator),
        k("prefixItems", "prefix_items", Array, Applicator),
        k("contains", "contains", Array, Applicator),
        k("minContains", "min_contains", Array, Assertion),
        k("maxContains", "max_contains", Array, Assertion),
        k("minItems", "min_items", Array, Assertion),
        k("maxItems", "max_items", Array, Assertion),
        k("uniqueItems", "unique_items", Array, Assertion),
        k("unevaluatedItems", "unevaluated_items", Array, Applicator),
        // Objects.
        typed("properties", Object, Applicator),
        k("required", "required", Object, Assertion),
        k(
            "additionalProperties",
            "additional_properties",
            Object,
            Applicator,
        ),
        k(
            "patternProperties",
            "pattern_properties",
            Object,
            Applicator,
        ),
        k("propertyNames", "property_names", Object, Applicator),
        k("dependentRequired", "dependent_required", Object, Assertion),
        k("dependentSchemas", "dependent_schemas", Object, Applicator),
        k("minProperties", "min_properties", Object, Assertion),
        k("maxProperties", "max_properties", Object, Assertion),
        k(
            "unevaluatedProperties",
            "unevaluated_properties",
            Object,
            Applicator,
        ),
        // Annotations.
        k("title", "title", Any, Annotation),
        typed("description", Any, Annotation),
        k("default", "default", Any, Annotation),
        k("examples", "examples", Any, Annotation),
        typed("deprecated", Any, Annotation),
        typed("readOnly", Any, Annotation),
        typed("writeOnly", Any, Annotation),
        typed("contentEncoding", Str, Annotation),
        typed("contentMediaType", Str, Annotation),
        typed("contentSchema", Str, Annotation),
        // Refused, each with its reason in `refusal`.
        typed("$dynamicRef", Any, Refused),
        typed("$dynamicAnchor", Any, Refused),
        typed("$recursiveRef", Any, Refused),
        typed("$recursiveAnchor", Any, Refused),
        typed("$vocabulary", Any, Refused),
        typed("definitions", Any, Refused),
        typed("dependencies", Object, Refused),
        typed("nullable", Any, Refused),
    ]
};

/// The keyword named `json`, if `ingest` knows it.
pub fn keyword(json: &str) -> Option<&'static Keyword> {
    KEYWORDS.iter().find(|k| k.json == json)
}

/// The keyword whose `#[event(...)]` attribute is `attribute`.
pub fn by_attribute(attribute: &str) -> Option<&'static Keyword> {
    KEYWORDS.iter().find(|k| k.attribute == Some(attribute))
}

/// The names of the keywords a schema may use (everything but the refused ones).
pub fn supported() -> impl Iterator<Item = &'static str> {
    KEYWORDS
        .iter()
        .filter(|k| k.role != Role::Refused)
        .map(|k| k.json)
}

/// Whether a key is an annotation of the schema's author, named by OpenAPI's convention for
/// extensions (`x-owner`, `x-pii`): every front-end ignores it, where any other key that is not
/// a keyword is refused (a misspelt keyword would otherwise leave something unchecked).
pub fn is_extension(key: &str) -> bool {
    key.starts_with("x-")
}

/// Why a refused keyword is refused, and what to write instead.
pub fn refusal(json: &str) -> Option<&'static str> {
    Some(match json {
        "$dynamicRef" | "$dynamicAnchor" | "$recursiveRef" | "$recursiveAnchor" => {
            "dynamic references are not supported (they are resolved while validating, so no type can be generated for them); use `$ref` to a fixed `$defs` entry"
        }
        "$vocabulary" => {
            "custom vocabularies belong in meta-schemas, and event schemas use draft 2020-12's own; remove `$vocabulary`"
        }
        "definitions" => "`definitions` is draft-07; in draft 2020-12 it is `$defs`",
        "dependencies" => {
            "`dependencies` is draft-07; in draft 2020-12 write `dependentRequired` (a list of names) or `dependentSchemas` (a schema)"
        }
        "nullable" => "`nullable` is OpenAPI, not JSON Schema; write `type: [<type>, \"null\"]`",
        _ => return None,
    })
}

/// ECMA-262 whitespace and line terminators, what `\s` matches in a JSON Schema pattern.
const ECMA_SPACE: &str = r"\t\n\x0B\x0C\r \x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}\x{FEFF}";

/// A JSON Schema pattern (ECMA-262 syntax) in the `regex` crate's syntax: the class escapes
/// mean what ECMA-262 says (`\d` is `[0-9]`, `\w` is `[A-Za-z0-9_]`, `\s` is ECMA's
/// whitespace, where the `regex` crate would take Unicode's digits, letters and spaces), and
/// `\cX` is the control character X. Everything else is the same in both. Validators compile
/// this; messages show the pattern as written.
pub fn rust_regex(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut chars = pattern.chars().peekable();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(escaped) = chars.next() else {
                    out.push('\\');
                    break;
                };
                let class = |set: &str, negated: bool| {
                    if negated {
                        format!("[^{set}]")
                    } else if in_class {
                        set.to_owned()
                    } else {
                        format!("[{set}]")
                    }
                };
                match escaped {
                    'd' => out.push_str(&class("0-9", false)),
                    'D' => out.push_str(&class("0-9", true)),
                    'w' => out.push_str(&class("A-Za-z0-9_", false)),
                    'W' => out.push_str(&class("A-Za-z0-9_", true)),
                    's' => out.push_str(&class(ECMA_SPACE, false)),
                    'S' => out.push_str(&class(ECMA_SPACE, true)),
                    'c' if chars.peek().is_some_and(char::is_ascii_alphabetic) => {
                        let letter = chars.next().unwrap_or('@');
                        out.push_str(&format!("\\x{{{:02X}}}", u32::from(letter) % 32));
                    }
                    other => {
                        out.push('\\');
                        out.push(other);
                    }
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                if chars.peek() == Some(&'^') {
                    out.push(chars.next().unwrap_or('^'));
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            other => out.push(other),
        }
    }
    out
}

/// Checks a `pattern` (or a `patternProperties` key): in the `regex` crate's syntax
/// ([`rust_regex`]) it must compile, and that crate has no look-around and no backreferences
/// (patterns run in linear time).
pub fn check_pattern(pattern: &str) -> Result<(), String> {
    match regex::Regex::new(&rust_regex(pattern)) {
        Ok(_) => Ok(()),
        Err(error) => {
            let detail = error.to_string();
            let last = detail.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("");
            Err(format!(
                "{pattern:?} is not a regular expression we can compile: {}",
                last.trim().trim_start_matches("error: ")
            ))
        }
    }
}

/// The help for a pattern that does not compile.
pub const PATTERN_HELP: &str = "fix the expression; look-around and backreferences are not supported (patterns are compiled to a linear-time automaton)";

/// Checks a `multipleOf` (called `key` where it is written): it must be greater than 0.
pub fn check_multiple_of(key: &str, value: f64) -> Result<(), String> {
    if value > 0.0 {
        Ok(())
    } else {
        Err(format!("`{key}` must be greater than 0, but it is {value}"))
    }
}

/// A numeric range that no number is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeError {
    /// The keyword of the lower bound (`minimum` or `exclusiveMinimum`), at fault.
    pub lower: &'static str,
    /// The keyword of the upper bound.
    pub upper: &'static str,
    /// What is wrong.
    pub message: String,
}

/// The four bounds of a numeric range, each with the name it is written with where it is
/// checked (`minimum` and `exclusiveMinimum` in a schema, `exclusive_minimum` in an attribute).
#[derive(Debug, Clone, Copy)]
pub struct Range {
    /// `minimum`
    pub minimum: (Option<f64>, &'static str),
    /// `exclusiveMinimum`
    pub exclusive_minimum: (Option<f64>, &'static str),
    /// `maximum`
    pub maximum: (Option<f64>, &'static str),
    /// `exclusiveMaximum`
    pub exclusive_maximum: (Option<f64>, &'static str),
}

/// Checks that a numeric range leaves some number: the tightest lower bound (`minimum` or
/// `exclusiveMinimum`) must be below the tightest upper one. Returns the names of the two
/// bounds (the lower one is at fault) and the message.
pub fn check_range(range: Range) -> Result<(), RangeError> {
    let lower = tighter(
        range.minimum.0.map(|v| (v, false, range.minimum.1)),
        range
            .exclusive_minimum
            .0
            .map(|v| (v, true, range.exclusive_minimum.1)),
        true,
    );
    let upper = tighter(
        range.maximum.0.map(|v| (v, false, range.maximum.1)),
        range
            .exclusive_maximum
            .0
            .map(|v| (v, true, range.exclusive_maximum.1)),
        false,
    );
    if let (Some((low, low_exclusive, low_key)), Some((high, high_exclusive, high_key))) =
        (lower, upper)
        && (low > high || (low == high && (low_exclusive || high_exclusive)))
    {
        return Err(RangeError {
            lower: low_key,
            upper: high_key,
            message: format!(
                "`{low_key}` is {low} and `{high_key}` is {high}: no number is in that range"
            ),
        });
    }
    Ok(())
}

fn tighter(
    inclusive: Option<(f64, bool, &'static str)>,
    exclusive: Option<(f64, bool, &'static str)>,
    is_lower: bool,
) -> Option<(f64, bool, &'static str)> {
    match (inclusive, exclusive) {
        (Some(a), Some(b)) => {
            let b_tighter = if is_lower { b.0 >= a.0 } else { b.0 <= a.0 };
            Some(if b_tighter { b } else { a })
        }
        (a, b) => a.or(b),
    }
}

/// Checks a pair of counts (`minLength`/`maxLength`, `minItems`/`maxItems`,
/// `minProperties`/`maxProperties`, `minContains`/`maxContains`): the minimum must not exceed
/// the maximum. `unit` is what is counted ("characters").
pub fn check_counts(
    min_key: &str,
    min: u64,
    max_key: &str,
    max: u64,
    unit: &str,
) -> Result<(), String> {
    if min > max {
        Err(format!(
            "`{min_key}` is {min} but `{max_key}` is {max}: no value can have at least {min} and at most {max} {unit}"
        ))
    } else {
        Ok(())
    }
}

/// The format named `name`, or the message and help for a name `ingest` does not assert.
pub fn format_named(name: &str) -> Result<Format, (String, String)> {
    if let Some(format) = Format::named(name) {
        return Ok(format);
    }
    let supported: Vec<&str> = Format::ALL.iter().map(|f| f.as_str()).collect();
    let help = match crate::schema::closest(name, supported.iter()) {
        Some(s) => format!(
            "did you mean `{s}`? supported formats: {}",
            supported.join(", ")
        ),
        None => format!(
            "supported formats: {}; for anything else use `pattern`",
            supported.join(", ")
        ),
    };
    Err((
        format!("format {name:?} is not supported, and would not be checked"),
        help,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_attributes_are_snake_case() {
        for (i, a) in KEYWORDS.iter().enumerate() {
            assert!(
                KEYWORDS[..i].iter().all(|b| b.json != a.json),
                "{} twice",
                a.json
            );
            if let Some(attribute) = a.attribute {
                assert!(
                    attribute
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c == '_'),
                    "{attribute}"
                );
                assert_eq!(by_attribute(attribute), Some(a));
            }
            assert_eq!(
                a.role == Role::Refused,
                refusal(a.json).is_some(),
                "{}",
                a.json
            );
        }
    }

    #[test]
    fn shared_value_checks() {
        assert!(check_pattern("^a+$").is_ok());
        assert!(check_pattern("^\\cC$").is_ok(), "ECMA control escapes");
        assert_eq!(
            rust_regex(r"^\d[\w-]\cJ\\d$"),
            r"^[0-9][A-Za-z0-9_-]\x{0A}\\d$"
        );
        assert!(
            check_pattern("(?<=x)y")
                .unwrap_err()
                .contains("look-behind")
        );
        let range = |min, xmin, max, xmax| Range {
            minimum: (min, "minimum"),
            exclusive_minimum: (xmin, "exclusiveMinimum"),
            maximum: (max, "maximum"),
            exclusive_maximum: (xmax, "exclusiveMaximum"),
        };
        assert!(check_range(range(Some(1.0), None, Some(1.0), None)).is_ok());
        assert_eq!(
            check_range(range(Some(1.0), None, None, Some(1.0)))
                .unwrap_err()
                .lower,
            "minimum"
        );
        assert_eq!(
            check_range(range(None, Some(3.0), Some(2.0), None))
                .unwrap_err()
                .lower,
            "exclusiveMinimum"
        );
        assert!(check_counts("minLength", 3, "maxLength", 2, "characters").is_err());
        assert!(check_multiple_of("multipleOf", 0.0).is_err());
        assert_eq!(format_named("ipv4"), Ok(Format::Ipv4));
        assert!(
            format_named("hostnme")
                .unwrap_err()
                .1
                .starts_with("did you mean `hostname`")
        );
    }
}
