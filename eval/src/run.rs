//! Running a [`Program`] over the runtime's reader, with the runtime's checker.
//!
//! The interpreter follows the code `ingest_codegen::validator::expand` generates, step for
//! step: read the kind of the next value, run that kind's checks as the value is read (a
//! property's value before the next key, a string's format before the next token), then the
//! whole-value checks (`enum` and `const` over non-strings). Every check and every message is a
//! method of `ingest_runtime::Checker`, shared with the generated code, and every read is a
//! method of `ingest_runtime::json::Parser`; so in fast mode the first violation stops the read
//! and in report mode every violation is recorded with its pointer, exactly as generated code
//! does, and the two paths agree by construction.

use ingest_runtime::check::note_key;
use ingest_runtime::json::{Error, KeySet, Kind, Parser};
use ingest_runtime::{Checker, DataValidator, Violation};

use crate::compile::kind_bit;
use crate::program::{
    Additional, Arrays, Bound, Checks, Node, NodeId, Numbers, Objects, Program, Strings,
};

impl Program {
    /// Reads one JSON value at the reader's position and checks it, sending what it finds to
    /// the checker (the contract of `ingest_runtime::Event::validate_json`).
    #[inline]
    pub fn validate_json(&self, p: &mut Parser<'_>, c: &mut Checker) -> Result<(), Error> {
        self.run(self.root, p, c)
    }

    /// The fast verdict on a complete JSON text.
    pub fn is_valid(&self, json: &[u8]) -> bool {
        let mut p = Parser::new(json);
        let mut c = Checker::fast();
        self.validate_json(&mut p, &mut c)
            .and_then(|()| p.finish())
            .is_ok()
    }

    /// Every violation in a complete JSON text, or why it is not JSON.
    pub fn violations(&self, json: &[u8]) -> Result<Vec<Violation>, Error> {
        let mut p = Parser::new(json);
        let mut c = Checker::report();
        self.validate_json(&mut p, &mut c)
            .and_then(|()| p.finish())?;
        Ok(c.into_violations())
    }

    fn run(&self, id: NodeId, p: &mut Parser<'_>, c: &mut Checker) -> Result<(), Error> {
        match &self.nodes[id.index()] {
            Node::Checks(checks) => self.checks(checks, p, c),
            Node::Any => p.skip_value(),
            Node::Never => c.never(p),
            Node::NullOr(inner) => {
                if p.peek()? == Kind::Null {
                    p.parse_null()
                } else {
                    self.run(*inner, p, c)
                }
            }
        }
    }

    // Inlined into `run`, so a node costs one call, not two (see BENCHMARKS.md).
    #[inline(always)]
    fn checks(&self, k: &Checks, p: &mut Parser<'_>, c: &mut Checker) -> Result<(), Error> {
        let kind = p.peek()?;
        let start = p.offset();
        if k.kinds & kind_bit(kind) == 0 {
            c.wrong_type(p, kind, &k.expected)?;
        } else {
            match kind {
                Kind::String => string(&k.string, p, c)?,
                Kind::Number => number(&k.number, &k.expected, p, c)?,
                Kind::Bool => {
                    p.parse_bool()?;
                }
                Kind::Null => p.parse_null()?,
                Kind::Array => self.array(&k.array, p, c)?,
                Kind::Object => self.object(&k.object, p, c)?,
            }
        }
        if let Some(whole) = &k.whole {
            if let Some(allowed) = &whole.enum_values {
                c.enum_value(p, start, p.offset(), allowed)?;
            }
            if let Some(expected) = &whole.const_value {
                c.const_value(p, start, p.offset(), expected)?;
            }
        }
        Ok(())
    }

    #[inline]
    fn array(&self, a: &Arrays, p: &mut Parser<'_>, c: &mut Checker) -> Result<(), Error> {
        p.begin_array()?;
        let mut first = true;
        let mut count = 0usize;
        let mut spans: Vec<(usize, usize)> = Vec::new();
        while p.next_element(&mut first)? {
            c.enter_index(count);
            if a.unique_items {
                p.peek()?;
                let item_start = p.offset();
                self.run(a.items, p, c)?;
                spans.push((item_start, p.offset()));
            } else {
                self.run(a.items, p, c)?;
            }
            c.leave();
            count += 1;
        }
        if let Some(min) = a.min_items {
            c.min_items(count, min)?;
        }
        if let Some(max) = a.max_items {
            c.max_items(count, max)?;
        }
        if a.unique_items {
            c.unique_items(p, &spans)?;
        }
        Ok(())
    }

    #[inline]
    fn object<'a>(&self, o: &Objects, p: &mut Parser<'a>, c: &mut Checker) -> Result<(), Error> {
        p.begin_object()?;
        let mut first = true;
        let mut seen = Seen::default();
        let mut others = KeySet::default();
        let mut count = 0usize;
        let mut hint = 0usize;
        while p.read_key(&mut first)? {
            let key = p.last_str();
            count += 1;
            match o.find(&key, hint) {
                Some(index) => {
                    if !seen.insert(index) {
                        return Err(p.duplicate_key(&key));
                    }
                    hint = index + 1;
                    let property = &o.properties[index];
                    c.enter_key(&property.name);
                    self.run(property.node, p, c)?;
                    c.leave();
                }
                None => {
                    note_key(p, &mut others, &key)?;
                    match o.additional {
                        Additional::Allowed => p.skip_value()?,
                        Additional::Denied => c.not_allowed(p, &key)?,
                        Additional::Schema(node) => {
                            c.enter_key(&key);
                            self.run(node, p, c)?;
                            c.leave();
                        }
                    }
                }
            }
        }
        for &index in &o.required {
            if !seen.contains(index) {
                c.missing(&o.properties[index].name)?;
            }
        }
        if let Some(min) = o.min_properties {
            c.min_properties(count, min)?;
        }
        if let Some(max) = o.max_properties {
            c.max_properties(count, max)?;
        }
        Ok(())
    }
}

#[inline]
fn string(s: &Strings, p: &mut Parser<'_>, c: &mut Checker) -> Result<(), Error> {
    p.read_str()?;
    if !s.any {
        return Ok(());
    }
    let text = p.last_str();
    if let Some(min) = s.min_length {
        c.min_length(&text, min)?;
    }
    if let Some(max) = s.max_length {
        c.max_length(&text, max)?;
    }
    if let Some(pattern) = &s.pattern {
        c.pattern(&text, pattern)?;
    }
    if let Some(format) = s.format {
        c.format(&text, format)?;
    }
    if let Some(values) = &s.one_of
        && !values.iter().any(|v| **v == *text)
    {
        let allowed: Vec<&str> = values.iter().map(|v| &**v).collect();
        c.not_in_enum(&text, &allowed)?;
    }
    if let Some(expected) = &s.equal_to
        && **expected != *text
    {
        c.not_const(&text, expected)?;
    }
    Ok(())
}

#[inline]
fn number(n: &Numbers, expected: &str, p: &mut Parser<'_>, c: &mut Checker) -> Result<(), Error> {
    let value = p.parse_number()?;
    if n.integer_only && !value.is_integer() {
        c.not_integer(value, expected)?;
    }
    for bound in &n.bounds {
        match *bound {
            Bound::Minimum(limit) => c.minimum(value, limit)?,
            Bound::Maximum(limit) => c.maximum(value, limit)?,
            Bound::ExclusiveMinimum(limit) => c.exclusive_minimum(value, limit)?,
            Bound::ExclusiveMaximum(limit) => c.exclusive_maximum(value, limit)?,
            Bound::MultipleOf(divisor) => c.multiple_of(value, divisor)?,
        }
    }
    Ok(())
}

/// The declared properties seen so far in one object: a word of bits, and more words only for
/// objects with more than 64 declared properties.
#[derive(Default)]
struct Seen {
    low: u64,
    high: Vec<u64>,
}

impl Seen {
    /// Marks a property; `false` if it was already marked (a duplicate key).
    #[inline(always)]
    fn insert(&mut self, index: usize) -> bool {
        let word = match index / 64 {
            0 => &mut self.low,
            n => {
                if self.high.len() < n {
                    self.high.resize(n, 0);
                }
                &mut self.high[n - 1]
            }
        };
        let bit = 1u64 << (index % 64);
        let fresh = *word & bit == 0;
        *word |= bit;
        fresh
    }

    #[inline(always)]
    fn contains(&self, index: usize) -> bool {
        let word = match index / 64 {
            0 => self.low,
            n => self.high.get(n - 1).copied().unwrap_or(0),
        };
        word & (1u64 << (index % 64)) != 0
    }
}

impl DataValidator for Program {
    fn validate_json(&self, p: &mut Parser<'_>, c: &mut Checker) -> Result<(), Error> {
        self.run(self.root, p, c)
    }
}
