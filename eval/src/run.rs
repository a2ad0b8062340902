//! Running a [`Program`] over the runtime's reader, with the runtime's checker.
//!
//! The interpreter follows the code `ingest_codegen::validator::expand` generates, step for
//! step: read the kind of the next value, run that kind's checks as the value is read (a
//! property's value before the next key, a string's format before the next token), then the
//! whole-value checks (`enum` and `const` over non-strings), then the applicators over forks of
//! the reader, in the generated order (`allOf`, `anyOf`, `oneOf`, `not`, `if`, `dependentSchemas`,
//! then `unevaluated*` over the annotations of the subschemas that passed). Every check and
//! every message is a method of `ingest_runtime::Checker`, shared with the generated code, and
//! every read is a method of `ingest_runtime::json::Parser`; so in fast mode the first
//! violation stops the read and in report mode every violation is recorded with its pointer,
//! exactly as generated code does, and the two paths agree by construction.

use ingest_runtime::check::{Tag as Found, has_key, json_string, note_key, tag_of};
use ingest_runtime::json::{Error, KeySet, Kind, Parser};
use ingest_runtime::{Annotations, Checker, DataValidator, Violation};

use crate::compile::kind_bit;
use crate::program::{
    Additional, Applicators, Arrays, Bound, Checks, Node, NodeId, Numbers, Objects, Presence,
    Program, Rest, Strings,
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
            Node::Ref(target) => self.run(*target, p, c),
        }
    }

    /// Whether a node matches the value at `p`, without moving `p`.
    fn matches(&self, id: NodeId, p: &Parser<'_>) -> bool {
        self.run(id, &mut p.fork(), &mut Checker::fast()).is_ok()
    }

    // Inlined into `run`, so a node costs one call, not two (see BENCHMARKS.md).
    #[inline(always)]
    fn checks(&self, k: &Checks, p: &mut Parser<'_>, c: &mut Checker) -> Result<(), Error> {
        let kind = p.peek()?;
        let start = p.offset();
        let fork = k.applicators.as_ref().map(|_| p.fork());
        let mut dependents = [false; 8];
        let mut many_dependents = Vec::new();
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
                Kind::Object => {
                    let triggers = &k.object.dependent_triggers;
                    let flags: &mut [bool] = if triggers.len() <= dependents.len() {
                        &mut dependents[..triggers.len()]
                    } else {
                        many_dependents.resize(triggers.len(), false);
                        &mut many_dependents
                    };
                    self.object(&k.object, p, c, flags)?
                }
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
        if let (Some(applicators), Some(fork)) = (&k.applicators, &fork) {
            let present: &[bool] = if many_dependents.is_empty() {
                &dependents[..k.object.dependent_triggers.len()]
            } else {
                &many_dependents
            };
            self.applicators(k, applicators, kind, fork, present, c)?;
        }
        Ok(())
    }

    /// The applicators of a node, over forks of the value, as the generated code runs them.
    fn applicators(
        &self,
        k: &Checks,
        a: &Applicators,
        kind: Kind,
        fork: &Parser<'_>,
        dependents: &[bool],
        c: &mut Checker,
    ) -> Result<(), Error> {
        let record = a.records();
        // The branches that passed, for the annotations of `unevaluated*`.
        let mut passed: Vec<NodeId> = Vec::new();
        for &branch in &a.all_of {
            let before = c.count();
            self.run(branch, &mut fork.fork(), c)?;
            if record && c.count() == before {
                passed.push(branch);
            }
        }
        let tagged_union = if a.one_of.is_empty() {
            "anyOf"
        } else {
            "oneOf"
        };
        for (keyword, branches) in [("anyOf", &a.any_of), ("oneOf", &a.one_of)] {
            if branches.is_empty() {
                continue;
            }
            match &a.tag {
                Some(tag) if keyword == tagged_union => {
                    match tag_of(fork, &tag.property, &tag.values)? {
                        Found::Branch(i) => {
                            let mut b = c.branch();
                            let result = self.run(branches[i], &mut fork.fork(), &mut b);
                            if Checker::passed(&b, result)? {
                                passed.push(branches[i]);
                            } else {
                                c.tagged_branch_failed(
                                    keyword,
                                    &tag.property,
                                    &tag.values[i],
                                    i,
                                    b,
                                )?;
                            }
                        }
                        other => c.no_tag(keyword, &tag.property, &tag.values, &other)?,
                    }
                }
                _ => self.union(keyword, branches, record, fork, &mut passed, c)?,
            }
        }
        if let Some(not) = a.not
            && self.matches(not, fork)
        {
            c.matches_not()?;
        }
        if let Some((test, then, otherwise)) = a.condition {
            let condition = self.matches(test, fork);
            if condition {
                passed.push(test);
            }
            let branch = if condition { then } else { otherwise };
            if let Some(branch) = branch {
                let before = c.count();
                self.run(branch, &mut fork.fork(), c)?;
                if c.count() == before {
                    passed.push(branch);
                }
            }
        }
        for (i, &schema) in a.dependent_schemas.iter().enumerate() {
            if dependents.get(i).copied().unwrap_or(false) {
                let before = c.count();
                self.run(schema, &mut fork.fork(), c)?;
                if c.count() == before {
                    passed.push(schema);
                }
            }
        }
        if !record {
            return Ok(());
        }
        let mut annotations = Annotations::default();
        for &schema in &passed {
            self.annotate(schema, &mut fork.fork(), &mut annotations)?;
        }
        if let (Some(rest), Kind::Object) = (a.unevaluated_properties, kind) {
            let o = &k.object;
            let mut q = fork.fork();
            q.begin_object()?;
            let mut first = true;
            while q.read_key(&mut first)? {
                let key = q.last_str();
                let evaluated = o.properties.iter().any(|p| *p.name == *key)
                    || o.patterns.iter().any(|(regex, _)| regex.is_match(&key))
                    || annotations.has_key(&key);
                if evaluated {
                    q.skip_value()?;
                    continue;
                }
                match rest {
                    Rest::Denied => c.unevaluated_property(&mut q, &key)?,
                    Rest::Schema(schema) => {
                        c.enter_key(&key);
                        self.run(schema, &mut q, c)?;
                        c.leave();
                    }
                }
            }
        }
        if let (Some(rest), Kind::Array) = (a.unevaluated_items, kind) {
            let arrays = &k.array;
            let mut q = fork.fork();
            q.begin_array()?;
            let mut first = true;
            let mut index = 0usize;
            while q.next_element(&mut first)? {
                let evaluated = index < arrays.prefix.len()
                    || arrays
                        .contains
                        .is_some_and(|(contains, ..)| self.matches(contains, &q))
                    || annotations.has_item(index);
                if evaluated {
                    q.skip_value()?;
                } else {
                    match rest {
                        Rest::Denied => c.unevaluated_item(&mut q, index)?,
                        Rest::Schema(schema) => {
                            c.enter_index(index);
                            self.run(schema, &mut q, c)?;
                            c.leave();
                        }
                    }
                }
                index += 1;
            }
        }
        Ok(())
    }

    /// An untagged `anyOf` or `oneOf`: every branch with a checker of its own.
    fn union(
        &self,
        keyword: &'static str,
        branches: &[NodeId],
        record: bool,
        fork: &Parser<'_>,
        passed: &mut Vec<NodeId>,
        c: &mut Checker,
    ) -> Result<(), Error> {
        let mut matched: Vec<usize> = Vec::new();
        let mut failed: Vec<Checker> = Vec::new();
        for (i, &branch) in branches.iter().enumerate() {
            // `anyOf` may stop at the first match, unless annotations need every branch.
            if keyword == "anyOf" && !record && !matched.is_empty() {
                break;
            }
            let mut b = c.branch();
            let result = self.run(branch, &mut fork.fork(), &mut b);
            if Checker::passed(&b, result)? {
                matched.push(i);
                passed.push(branch);
            } else if c.is_report() {
                failed.push(b);
            }
        }
        if matched.is_empty() {
            c.no_branch_matched(keyword, failed)?;
        } else if keyword == "oneOf" && matched.len() > 1 {
            c.several_branches_matched(&matched)?;
        }
        Ok(())
    }

    /// Records what a node (known to match the value at `p`) evaluated, as the generated
    /// `Event::annotate` does.
    fn annotate<'a>(
        &self,
        id: NodeId,
        p: &mut Parser<'a>,
        a: &mut Annotations<'a>,
    ) -> Result<(), Error> {
        let k = match &self.nodes[id.index()] {
            Node::Checks(k) => k,
            Node::Ref(target) => return self.annotate(*target, p, a),
            Node::NullOr(inner) => {
                return if p.peek()? == Kind::Null {
                    p.parse_null()
                } else {
                    self.annotate(*inner, p, a)
                };
            }
            Node::Any | Node::Never => return p.skip_value(),
        };
        let fork = p.fork();
        let o = &k.object;
        let arrays = &k.array;
        let rest = k.applicators.as_deref();
        match p.peek()? {
            Kind::Object if !matches!(o.additional, Additional::Absent) || o.has_unevaluated => {
                a.all_keys();
                p.skip_value()?;
            }
            Kind::Object if !o.properties.is_empty() || !o.patterns.is_empty() => {
                p.begin_object()?;
                let mut first = true;
                while p.read_key(&mut first)? {
                    let key = p.last_str();
                    if o.properties.iter().any(|property| *property.name == *key)
                        || o.patterns.iter().any(|(regex, _)| regex.is_match(&key))
                    {
                        a.key(key);
                    }
                    p.skip_value()?;
                }
            }
            Kind::Array if arrays.has_items || arrays.has_unevaluated => {
                a.all_items();
                p.skip_value()?;
            }
            Kind::Array if !arrays.prefix.is_empty() || arrays.contains.is_some() => {
                a.prefix(arrays.prefix.len());
                p.begin_array()?;
                let mut first = true;
                let mut index = 0usize;
                while p.next_element(&mut first)? {
                    if let Some((contains, ..)) = arrays.contains
                        && self.matches(contains, p)
                    {
                        a.item(index);
                    }
                    p.skip_value()?;
                    index += 1;
                }
            }
            _ => p.skip_value()?,
        }
        let Some(r) = rest else {
            return Ok(());
        };
        for &branch in &r.all_of {
            self.annotate(branch, &mut fork.fork(), a)?;
        }
        for &branch in r.any_of.iter().chain(&r.one_of) {
            if self.matches(branch, &fork) {
                self.annotate(branch, &mut fork.fork(), a)?;
            }
        }
        if let Some((test, then, otherwise)) = r.condition {
            if self.matches(test, &fork) {
                self.annotate(test, &mut fork.fork(), a)?;
                if let Some(then) = then {
                    self.annotate(then, &mut fork.fork(), a)?;
                }
            } else if let Some(otherwise) = otherwise {
                self.annotate(otherwise, &mut fork.fork(), a)?;
            }
        }
        for (i, &schema) in r.dependent_schemas.iter().enumerate() {
            let trigger = match o.dependent_triggers.get(i) {
                Some(Presence::Declared(index)) => &o.properties[*index].name,
                Some(Presence::Noted(index)) => &o.noted[*index],
                None => continue,
            };
            if has_key(&fork, trigger)? {
                self.annotate(schema, &mut fork.fork(), a)?;
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
        let mut matching = 0usize;
        while p.next_element(&mut first)? {
            c.enter_index(count);
            if let Some((contains, ..)) = a.contains
                && self.matches(contains, p)
            {
                matching += 1;
            }
            let item = a.prefix.get(count).copied().unwrap_or(a.items);
            if a.unique_items {
                p.peek()?;
                let item_start = p.offset();
                self.run(item, p, c)?;
                spans.push((item_start, p.offset()));
            } else {
                self.run(item, p, c)?;
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
        if let Some((_, min, min_given, max)) = a.contains {
            c.contains(matching, min, min_given, max)?;
        }
        if a.unique_items {
            c.unique_items(p, &spans)?;
        }
        Ok(())
    }

    #[inline]
    fn object<'a>(
        &self,
        o: &Objects,
        p: &mut Parser<'a>,
        c: &mut Checker,
        dependents: &mut [bool],
    ) -> Result<(), Error> {
        p.begin_object()?;
        let mut first = true;
        let mut seen = Seen::default();
        let mut noted = Seen::default();
        let mut others = KeySet::default();
        let mut count = 0usize;
        let mut hint = 0usize;
        while p.read_key(&mut first)? {
            let key = p.last_str();
            count += 1;
            if let Some(names) = o.property_names {
                let text = json_string(&key);
                let mut q = Parser::new(text.as_bytes());
                let mut b = c.branch();
                let result = self.run(names, &mut q, &mut b);
                if !Checker::passed(&b, result)? {
                    c.bad_property_name(&key, b)?;
                }
            }
            match o.find(&key, hint) {
                Some(index) => {
                    if !seen.insert(index) {
                        return Err(p.duplicate_key(&key));
                    }
                    hint = index + 1;
                    let property = &o.properties[index];
                    c.enter_key(&property.name);
                    if property.patterns.is_empty() {
                        self.run(property.node, p, c)?;
                    } else {
                        let value = p.fork();
                        self.run(property.node, p, c)?;
                        for &pattern in &property.patterns {
                            self.run(pattern, &mut value.fork(), c)?;
                        }
                    }
                    c.leave();
                }
                None => {
                    note_key(p, &mut others, &key)?;
                    if let Some(i) = o.noted.iter().position(|n| **n == *key) {
                        noted.insert(i);
                    }
                    let mut matched = false;
                    if !o.patterns.is_empty() {
                        let value = p.fork();
                        for (regex, pattern) in &o.patterns {
                            if regex.is_match(&key) {
                                matched = true;
                                c.enter_key(&key);
                                self.run(*pattern, &mut value.fork(), c)?;
                                c.leave();
                            }
                        }
                    }
                    if matched {
                        p.skip_value()?;
                    } else {
                        match o.additional {
                            Additional::Absent => p.skip_value()?,
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
        }
        let present = |at: Presence| match at {
            Presence::Declared(i) => seen.contains(i),
            Presence::Noted(i) => noted.contains(i),
        };
        for &index in &o.required {
            if !seen.contains(index) {
                c.missing(&o.properties[index].name)?;
            }
        }
        for (name, at) in &o.required_noted {
            if !present(*at) {
                c.missing(name)?;
            }
        }
        for dependent in &o.dependent_required {
            if present(dependent.at) {
                for (name, at) in &dependent.names {
                    if !present(*at) {
                        c.dependent_missing(&dependent.trigger, name)?;
                    }
                }
            }
        }
        for (flag, at) in dependents.iter_mut().zip(&o.dependent_triggers) {
            *flag = present(*at);
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
    if let Some((pattern, source)) = &s.pattern {
        c.pattern(&text, pattern, source)?;
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
