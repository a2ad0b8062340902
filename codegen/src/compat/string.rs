//! The string family: `minLength`, `maxLength`, `pattern`, `format`.
//!
//! Lengths alone are compared as numbers. Once a pattern or a format is involved, whether one
//! set of strings contains another is not decided here (that would take comparing automata);
//! instead the check looks for a witness: strings the old keywords accept (generated from the
//! old pattern's syntax tree, known samples of the old format, the listed values, or plain
//! strings of the allowed lengths), each verified against every old string keyword, then
//! tried against the new keyword. A string found that way proves the change breaking; finding
//! none leaves it "cannot tell", since a witness search cannot prove safety. Only when the old
//! object lists its values is the search exhaustive, and then "none found" is safe.

use regex::Regex;
use regex_syntax::hir::{Class, Hir, HirKind};
use serde_json::Value;

use super::{At, Comparer, Counted, Domain, Rule, Verdict};
use crate::schema::{InstanceType, SchemaObject};

/// Strings longer than this are not generated.
const MAX_GENERATED_CHARS: usize = 256;
/// How many candidate strings a search tries at most.
const MAX_CANDIDATES: usize = 96;

/// A string that is valid in a format `ingest` asserts, for witnesses; `None` for formats
/// this check knows nothing about.
pub fn format_sample(format: &str) -> Option<&'static str> {
    crate::schema::Format::named(format).map(crate::schema::Format::sample)
}

/// Whether `text` is certainly not in `format`: a shape every string of the format has is
/// missing. `false` means "maybe", including for every format this check does not know.
pub fn is_certainly_not_format(format: &str, text: &str) -> bool {
    let b = text.as_bytes();
    let date_shape = |b: &[u8]| {
        b.len() >= 10
            && b[..4].iter().all(u8::is_ascii_digit)
            && b[4] == b'-'
            && b[5..7].iter().all(u8::is_ascii_digit)
            && b[7] == b'-'
            && b[8..10].iter().all(u8::is_ascii_digit)
    };
    match format {
        "date" => !(b.len() == 10 && date_shape(b)),
        "date-time" => !(b.len() >= 20 && date_shape(b) && matches!(b[10], b'T' | b't')),
        "uuid" => {
            !(b.len() == 36
                && b.iter().enumerate().all(|(i, c)| match i {
                    8 | 13 | 18 | 23 => *c == b'-',
                    _ => c.is_ascii_hexdigit(),
                }))
        }
        "email" => !text.contains('@'),
        _ => false,
    }
}

/// Whether a listed value passes the object's length and pattern keywords (`None` when its
/// `format` would have to be checked; `Some(true)` for non-strings).
pub(super) fn admits_value(object: &SchemaObject, value: &Value) -> Option<bool> {
    let Value::String(text) = value else {
        return Some(true);
    };
    let strings = OldStrings::of(object, None);
    if !strings.admits_lengths_and_pattern(text) {
        return Some(false);
    }
    object.format.is_none().then_some(true)
}

/// The strings the old object admits.
struct OldStrings<'s> {
    object: &'s SchemaObject,
    pattern: Option<Regex>,
    listed: Option<Vec<String>>,
}

impl<'s> OldStrings<'s> {
    fn of(object: &'s SchemaObject, listed: Option<Vec<String>>) -> Self {
        OldStrings {
            object,
            pattern: object.pattern.as_deref().and_then(|p| Regex::new(p).ok()),
            listed,
        }
    }

    fn admits_lengths_and_pattern(&self, text: &str) -> bool {
        let length = text.chars().count() as u64;
        length >= self.object.min_length.unwrap_or(0)
            && self.object.max_length.is_none_or(|max| length <= max)
            && match (&self.object.pattern, &self.pattern) {
                (None, _) => true,
                (Some(_), Some(regex)) => regex.is_match(text),
                (Some(_), None) => false,
            }
    }

    /// Only lengths constrain these strings.
    fn lengths_only(&self) -> bool {
        self.listed.is_none() && self.object.pattern.is_none() && self.object.format.is_none()
    }

    /// Strings the old keywords accept, each verified; exhaustive when values are listed.
    fn candidates(&self) -> Vec<String> {
        let raw: Vec<String> = if let Some(listed) = &self.listed {
            listed.clone()
        } else if let Some(format) = self.object.format {
            format_sample(format.as_str())
                .map(str::to_owned)
                .into_iter()
                .collect()
        } else {
            let mut raw = match &self.object.pattern {
                Some(pattern) => generate(pattern, self.object.min_length, self.object.max_length),
                None => Vec::new(),
            };
            raw.extend(plain(self.object.min_length, self.object.max_length));
            raw
        };
        let mut out: Vec<String> = Vec::new();
        for text in raw {
            if out.len() >= MAX_CANDIDATES {
                break;
            }
            if self.admits_lengths_and_pattern(&text) && !out.contains(&text) {
                out.push(text);
            }
        }
        out
    }
}

/// Strings of the allowed lengths made of a few kinds of character.
fn plain(min: Option<u64>, max: Option<u64>) -> Vec<String> {
    let min = min.unwrap_or(0);
    let lengths: Vec<u64> = [min.max(1), min, min + 1, max.unwrap_or(min + 8)]
        .into_iter()
        .filter(|l| *l as usize <= MAX_GENERATED_CHARS)
        .collect();
    let mut out = Vec::new();
    for length in lengths {
        for fill in ["a", "Z", "0", " ", "-", "é", "a0 Z-_.@é"] {
            out.push(fill.chars().cycle().take(length as usize).collect());
        }
    }
    out
}

/// Strings made from a pattern's syntax tree: each alternative, repetitions at their minimum
/// and a few more, the first and last characters of classes, with and without text around.
fn generate(pattern: &str, min: Option<u64>, max: Option<u64>) -> Vec<String> {
    let Ok(hir) = regex_syntax::parse(pattern) else {
        return Vec::new();
    };
    let mut extras: Vec<u32> = vec![0, 1, 2];
    for length in [min, max].into_iter().flatten() {
        if let Ok(length) = u32::try_from(length)
            && length as usize <= MAX_GENERATED_CHARS
        {
            extras.extend([length.saturating_sub(1), length, length + 1]);
        }
    }
    let mut out = Vec::new();
    for extra in extras {
        for branch in 0..3 {
            for last in [false, true] {
                let mut text = String::new();
                if build(&hir, extra, branch, last, &mut text).is_some() {
                    out.push(format!("x{text}"));
                    out.push(format!("{text}x"));
                    out.push(text);
                }
            }
        }
    }
    // Shortest first: the witness a reader understands fastest.
    out.sort_by_key(|s| s.chars().count());
    out
}

fn build(hir: &Hir, extra: u32, branch: usize, last: bool, out: &mut String) -> Option<()> {
    if out.len() > MAX_GENERATED_CHARS {
        return None;
    }
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => {}
        HirKind::Literal(literal) => out.push_str(std::str::from_utf8(&literal.0).ok()?),
        HirKind::Class(Class::Unicode(class)) => {
            let ranges: Vec<(char, char)> = class
                .ranges()
                .iter()
                .map(|r| (r.start(), r.end()))
                .collect();
            out.push(pick(&ranges, last)?);
        }
        HirKind::Class(Class::Bytes(class)) => {
            let ranges: Vec<(char, char)> = class
                .ranges()
                .iter()
                .filter(|r| r.start().is_ascii())
                .map(|r| (char::from(r.start()), char::from(r.end().min(0x7f))))
                .collect();
            out.push(pick(&ranges, last)?);
        }
        HirKind::Repetition(repetition) => {
            let count = repetition.min.saturating_add(extra);
            let count = repetition.max.map_or(count, |max| count.min(max));
            for _ in 0..count {
                build(&repetition.sub, extra, branch, last, out)?;
            }
        }
        HirKind::Capture(capture) => build(&capture.sub, extra, branch, last, out)?,
        HirKind::Concat(items) => {
            for item in items {
                build(item, extra, branch, last, out)?;
            }
        }
        HirKind::Alternation(items) => build(
            items.get(branch.min(items.len() - 1))?,
            extra,
            branch,
            last,
            out,
        )?,
    }
    Some(())
}

/// A readable character of a class: a letter or digit when there is one, else printable
/// ASCII, else the class's first (or last) character.
fn pick(ranges: &[(char, char)], last: bool) -> Option<char> {
    const READABLE: [(char, char); 4] = [('a', 'z'), ('A', 'Z'), ('0', '9'), (' ', '~')];
    for (low, high) in READABLE {
        let inside: Vec<(char, char)> = ranges
            .iter()
            .filter(|(start, end)| *start <= high && *end >= low)
            .map(|(start, end)| ((*start).max(low), (*end).min(high)))
            .collect();
        let found = if last {
            inside.last().map(|r| r.1)
        } else {
            inside.first().map(|r| r.0)
        };
        if found.is_some() {
            return found;
        }
    }
    if last {
        ranges.last().map(|r| r.1)
    } else {
        ranges.first().map(|r| r.0)
    }
}

/// A string in a message, as JSON.
fn quoted(text: &str) -> String {
    format!("`{}`", serde_json::to_string(text).unwrap_or_default())
}

/// A pattern in a message, as written.
fn pattern_text(pattern: &str) -> String {
    format!("`{pattern}`")
}

/// "a date", "an email".
fn a_format(format: &str) -> String {
    let article = if format.starts_with(['a', 'e', 'i', 'o']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {format}")
}

impl Comparer<'_> {
    pub(super) fn strings(&mut self, o: &SchemaObject, n: &SchemaObject, domain: &Domain<'_>) {
        if !domain.admits(InstanceType::String) {
            return;
        }
        let lengths_same = o.min_length == n.min_length && o.max_length == n.max_length;
        let format_same = o.format == n.format;
        if lengths_same && o.pattern == n.pattern && format_same {
            return;
        }
        let listed = domain.values_of(InstanceType::String).map(|values| {
            values
                .into_iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        });
        let old = OldStrings::of(o, listed);
        let exhaustive = old.listed.is_some();
        let candidates = old.candidates();

        if !lengths_same {
            if old.lengths_only() {
                self.counts(
                    Counted::Characters,
                    (o.min_length.unwrap_or(0), o.max_length),
                    (o.min_length, o.max_length),
                    (n.min_length, n.max_length),
                );
            } else {
                self.length_by_witness(o, n, &candidates, exhaustive);
            }
        }

        match (&o.pattern, &n.pattern) {
            (Some(before), None) => self.push(
                Verdict::Safe,
                Rule::PatternRemoved,
                At::Object,
                format!("`pattern` {} was removed", pattern_text(before)),
                None,
            ),
            (before, Some(after)) if before.as_ref() != Some(after) => {
                let (rule, change) = match before {
                    None => (
                        Rule::PatternAdded,
                        format!("`pattern` {} is new", pattern_text(after)),
                    ),
                    Some(before) => (
                        Rule::PatternChanged,
                        format!(
                            "`pattern` is {} now (was {})",
                            pattern_text(after),
                            pattern_text(before)
                        ),
                    ),
                };
                let regex = Regex::new(after).ok();
                let rejected = |text: &String| regex.as_ref().is_some_and(|r| !r.is_match(text));
                match candidates.iter().find(|text| rejected(text)) {
                    Some(witness) => self.push(
                        Verdict::Breaking,
                        rule,
                        At::Value("pattern"),
                        format!("{change}: {} was valid and does not match it, so it goes to quarantine now", quoted(witness)),
                        Some("change a pattern only to one that every string the old one matched also matches; loosen it first, and tighten it once no producer sends the old shape".to_owned()),
                    ),
                    None if exhaustive => self.push(
                        Verdict::Safe,
                        rule,
                        At::Value("pattern"),
                        format!("{change}, and every value the old schema listed matches it"),
                        None,
                    ),
                    None => self.push(
                        Verdict::CannotTell,
                        rule,
                        At::Value("pattern"),
                        format!("{change}; this check cannot compare patterns, and the strings it tried that the old schema accepts all match the new one"),
                        Some(super::validate_help()),
                    ),
                }
            }
            _ => {}
        }

        match (o.format, n.format) {
            (Some(before), None) => self.push(
                Verdict::Safe,
                Rule::FormatRemoved,
                At::Object,
                format!("`format: {}` was removed", before.as_str()),
                None,
            ),
            (before, Some(after)) if !format_same => {
                let (rule, change) = match before {
                    None => (
                        Rule::FormatAdded,
                        format!("`format: {}` is new", after.as_str()),
                    ),
                    Some(before) => (
                        Rule::FormatChanged,
                        format!(
                            "`format` is `{}` now (was `{}`)",
                            after.as_str(),
                            before.as_str()
                        ),
                    ),
                };
                match candidates
                    .iter()
                    .find(|text| is_certainly_not_format(after.as_str(), text))
                {
                    Some(witness) => self.push(
                        Verdict::Breaking,
                        rule,
                        At::Value("format"),
                        format!(
                            "{change}: {} was valid and is not {}, so it goes to quarantine now",
                            quoted(witness),
                            a_format(after.as_str())
                        ),
                        Some(format!(
                            "assert `format: {}` only once every producer sends it",
                            after.as_str()
                        )),
                    ),
                    None => self.push(
                        Verdict::CannotTell,
                        rule,
                        At::Value("format"),
                        format!("{change}; this check found no valid string that is not {}, but cannot prove there is none", a_format(after.as_str())),
                        Some(super::validate_help()),
                    ),
                }
            }
            _ => {}
        }
    }

    /// Length keywords changed on strings that a pattern, a format or a list also constrains:
    /// judged by the old strings found.
    fn length_by_witness(
        &mut self,
        o: &SchemaObject,
        n: &SchemaObject,
        candidates: &[String],
        exhaustive: bool,
    ) {
        let count = |text: &String| text.chars().count() as u64;
        let text = |c: Option<u64>| c.map_or_else(|| "absent".to_owned(), |c| c.to_string());
        let sides = [
            (
                "minLength",
                o.min_length,
                n.min_length,
                n.min_length.unwrap_or(0) <= o.min_length.unwrap_or(0),
            ),
            (
                "maxLength",
                o.max_length,
                n.max_length,
                n.max_length
                    .is_none_or(|new| o.max_length.is_some_and(|old| new >= old)),
            ),
        ];
        for (keyword, before, after, widened) in sides {
            if before == after {
                continue;
            }
            let change = format!("`{keyword}` is {} now (was {})", text(after), text(before));
            let rejects = |c: u64| match (keyword, after) {
                ("minLength", Some(min)) => c < min,
                ("maxLength", Some(max)) => c > max,
                _ => false,
            };
            match candidates.iter().find(|s| rejects(count(s))) {
                Some(witness) => self.push(
                    Verdict::Breaking,
                    Rule::LengthNarrowed,
                    At::Value(keyword),
                    format!(
                        "{change}: {} was valid and goes to quarantine now",
                        quoted(witness)
                    ),
                    None,
                ),
                None if widened || exhaustive => self.push(
                    Verdict::Safe,
                    Rule::LengthWidened,
                    At::Value(keyword),
                    change,
                    None,
                ),
                None => self.push(
                    Verdict::CannotTell,
                    Rule::LengthNarrowed,
                    At::Value(keyword),
                    format!("{change}; the strings this check tried that the old schema accepts all fit, but it cannot prove every one does"),
                    Some(super::validate_help()),
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_strings_match_their_pattern() {
        for pattern in [
            "^#[0-9a-f]{6}$",
            "^[A-Z]{2,3}-(red|green|blue)$",
            r"^\d+(\.\d{1,2})?$",
            "ab*c",
            r"^\p{Lu}\w*$",
        ] {
            let regex = Regex::new(pattern).unwrap();
            let generated = generate(pattern, None, None);
            assert!(!generated.is_empty(), "{pattern}");
            assert!(
                generated.iter().any(|s| regex.is_match(s)),
                "{pattern}: {generated:?}"
            );
        }
    }

    #[test]
    fn samples_are_not_certainly_outside_their_format() {
        for format in ["date-time", "date", "uuid", "email"] {
            let sample = format_sample(format).unwrap();
            assert!(!is_certainly_not_format(format, sample), "{format}");
            for other in ["date-time", "date", "uuid", "email"] {
                if other != format {
                    assert!(
                        is_certainly_not_format(other, sample),
                        "{sample} as {other}"
                    );
                }
            }
            assert!(is_certainly_not_format(format, "a"));
        }
        assert!(
            !is_certainly_not_format("hostname", "a"),
            "unknown formats: maybe"
        );
    }
}
