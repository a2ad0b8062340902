//! Patterns simple enough to check without a regular-expression engine.
//!
//! Most `pattern`s of event schemas are an anchored run of ASCII character classes with counts:
//! `^ORD-[0-9]{8}$`, `^[A-Z]{3}$`, `^[a-z][a-z0-9_]*$`. The `regex` crate answers each call
//! through its meta engine (a few hundred instructions for a short string), while a loop per
//! class answers in a few per byte. [`Steps::of`] recognizes such patterns; the validator
//! expands them into those loops ([`Steps::tokens`]) and keeps the `regex` crate for the rest.
//!
//! Matching takes each class greedily, without backtracking, which gives the regex's answer
//! exactly when no choice exists: a class whose count may vary is the last one, or is followed
//! by a class it shares no character with that must occur at least once (so where the run
//! ends is decided by the first character outside it).

use proc_macro2::{Literal, TokenStream};
use quote::quote;
use regex_syntax::hir::{Class, Hir, HirKind, Look};

/// One class of the run: its byte ranges (ASCII) and how many times it occurs.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Step {
    ranges: Vec<(u8, u8)>,
    min: u32,
    max: Option<u32>,
}

impl Step {
    fn contains(&self, byte: u8) -> bool {
        self.ranges
            .iter()
            .any(|(lo, hi)| (*lo..=*hi).contains(&byte))
    }

    fn overlaps(&self, other: &Step) -> bool {
        (0u8..=0x7f).any(|b| self.contains(b) && other.contains(b))
    }
}

/// An anchored run of ASCII classes that greedy matching decides (module documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Steps(Vec<Step>);

/// The ASCII ranges of a class or of a one-character literal, if it has no other character.
fn ranges(hir: &Hir) -> Option<Vec<(u8, u8)>> {
    match hir.kind() {
        HirKind::Literal(literal) => match literal.0.as_ref() {
            [byte] if byte.is_ascii() => Some(vec![(*byte, *byte)]),
            _ => None,
        },
        HirKind::Class(Class::Unicode(class)) => class
            .ranges()
            .iter()
            .map(|r| {
                let (lo, hi) = (u32::from(r.start()), u32::from(r.end()));
                (hi < 0x80).then_some((lo as u8, hi as u8))
            })
            .collect(),
        HirKind::Class(Class::Bytes(class)) => class
            .ranges()
            .iter()
            .map(|r| (r.end() < 0x80).then_some((r.start(), r.end())))
            .collect(),
        _ => None,
    }
}

impl Steps {
    /// The steps of a pattern (in the `regex` crate's syntax, `crate::keywords::rust_regex`),
    /// or `None` when it needs the regex engine.
    pub fn of(pattern: &str) -> Option<Steps> {
        let hir = regex_syntax::parse(pattern).ok()?;
        let HirKind::Concat(parts) = hir.kind() else {
            return None;
        };
        let (first, rest) = parts.split_first()?;
        let (last, middle) = rest.split_last()?;
        if !matches!(first.kind(), HirKind::Look(Look::Start))
            || !matches!(last.kind(), HirKind::Look(Look::End))
        {
            return None;
        }
        let mut steps = Vec::new();
        for part in middle {
            match part.kind() {
                HirKind::Literal(literal) => {
                    for byte in literal.0.iter() {
                        if !byte.is_ascii() {
                            return None;
                        }
                        steps.push(Step {
                            ranges: vec![(*byte, *byte)],
                            min: 1,
                            max: Some(1),
                        });
                    }
                }
                HirKind::Class(_) => steps.push(Step {
                    ranges: ranges(part)?,
                    min: 1,
                    max: Some(1),
                }),
                HirKind::Repetition(repetition) => steps.push(Step {
                    ranges: ranges(&repetition.sub)?,
                    min: repetition.min,
                    max: repetition.max,
                }),
                _ => return None,
            }
        }
        let decided = steps.windows(2).all(|pair| {
            let (step, next) = (&pair[0], &pair[1]);
            step.max == Some(step.min) || (next.min >= 1 && !step.overlaps(next))
        });
        (decided && !steps.is_empty()).then_some(Steps(steps))
    }

    /// Whether `s` matches: what the expanded code computes ([`Steps::tokens`]).
    pub fn is_match(&self, s: &str) -> bool {
        let bytes = s.as_bytes();
        let mut i = 0;
        for step in &self.0 {
            let max = step.max.map_or(usize::MAX, |m| m as usize);
            let mut n = 0;
            while n < max && i < bytes.len() && step.contains(bytes[i]) {
                i += 1;
                n += 1;
            }
            if n < step.min as usize {
                return false;
            }
        }
        i == bytes.len()
    }

    /// A block over the string `s` (a `&str`) whose value is whether it matches.
    pub fn tokens(&self) -> TokenStream {
        let steps = self.0.iter().map(|step| {
            let ranges = step.ranges.iter().map(|(lo, hi)| {
                let (lo, hi) = (Literal::u8_suffixed(*lo), Literal::u8_suffixed(*hi));
                if lo.to_string() == hi.to_string() {
                    quote!(#lo)
                } else {
                    quote!(#lo..=#hi)
                }
            });
            let min = Literal::usize_unsuffixed(step.min as usize);
            let max = match step.max {
                Some(max) => {
                    let max = Literal::usize_unsuffixed(max as usize);
                    quote!(#max)
                }
                None => quote!(usize::MAX),
            };
            quote! {
                let mut n = 0usize;
                while n < #max && i < bytes.len() && matches!(bytes[i], #(#ranges)|*) {
                    i += 1;
                    n += 1;
                }
                if n < #min {
                    break 'steps false;
                }
            }
        });
        quote! {
            'steps: {
                let bytes = ::core::convert::AsRef::<str>::as_ref(&s).as_bytes();
                let mut i = 0usize;
                #(#steps)*
                i == bytes.len()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keywords::rust_regex;

    /// Every string of the alphabet up to `len` characters.
    fn strings(alphabet: &[char], len: usize) -> Vec<String> {
        let mut all = vec![String::new()];
        let mut last = vec![String::new()];
        for _ in 0..len {
            last = last
                .iter()
                .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
                .collect();
            all.extend(last.iter().cloned());
        }
        all
    }

    #[test]
    fn the_spec_patterns_are_decided_and_agree_with_the_regex_crate() {
        let alphabet = [
            'A', 'Z', 'a', 'z', '0', '9', '-', '_', '+', 'O', 'R', 'D', 'é',
        ];
        let inputs = strings(&alphabet, 4);
        for pattern in [
            "^[A-Z]{3}$",
            "^ORD-[0-9]{2}$",
            "^[0-9]{4}$",
            "^S[0-9]{3}$",
            "^[a-z0-9-]+$",
            "^[A-Z0-9]{2,3}$",
            "^[a-z][a-z0-9_]*$",
            "^\\+[1-9][0-9]{1,2}$",
            "^[A-Z]{2}[0-9]{2}[A-Z0-9]{0,3}$",
            "^\\d+-[a-z]?$",
        ] {
            let rust = rust_regex(pattern);
            let steps = Steps::of(&rust).unwrap_or_else(|| panic!("{pattern} is simple"));
            let regex = regex::Regex::new(&rust).expect("compiles");
            for s in &inputs {
                assert_eq!(steps.is_match(s), regex.is_match(s), "{pattern} on {s:?}");
            }
        }
    }

    #[test]
    fn patterns_that_need_a_choice_or_more_than_ascii_classes_are_left_to_the_regex_crate() {
        for pattern in [
            "^[a-z]*[a-z]$",       // where the first run ends is a choice
            "^[a-z]+[0-9]?[a-z]$", // the run is followed by an optional class
            "^[a-z]{2}(-[A-Z]{2})?$",
            "[0-9]{4}$", // not anchored at the start
            "^[0-9]{4}", // nor at the end
            "^a|b$",
            "^é+$",
            "^[^0-9]+$", // a class with every character but the digits
            "^.$",
        ] {
            assert_eq!(Steps::of(&rust_regex(pattern)), None, "{pattern}");
        }
    }
}
