//! Realistic events for a spec, made from its own schemas: mostly valid, with the mistakes
//! producers make (a missing field, a wrong type, an unknown type, a broken envelope, text
//! that is not JSON, a body over the size limit once its multi-byte characters are counted as
//! bytes), some sent as batches.
//!
//! The generator only states an *intent* for each event; the verdict is the pipeline's, from
//! the spec's generated validators. The drill's report shows both (`generated` against `good`
//! and `quarantined`), so a disagreement is visible rather than hidden.

use ingest_codegen::schema::{Document, Format, InstanceType, Schema, SchemaObject};
use regex_syntax::hir::{Class, Hir, HirKind};
use serde_json::{Map, Number, Value, json};

use crate::plan::{EventPlan, Plan};

/// A small deterministic generator (SplitMix64), so the same seed gives the same events.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// From a seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: u64) -> u64 {
        if bound == 0 { 0 } else { self.next() % bound }
    }

    fn chance(&mut self, per_cent: u64) -> bool {
        self.below(100) < per_cent
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[usize::try_from(self.below(items.len() as u64)).unwrap_or(0)]
    }
}

/// What the generator meant each event to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Intent {
    /// Valid.
    Valid,
    /// `data` breaks its schema.
    SchemaViolation,
    /// An unknown `type`.
    UnknownType,
    /// A broken envelope.
    BadEnvelope,
    /// Not JSON.
    NotJson,
    /// Over the API's limit in bytes: refused with 413.
    Refused,
}

impl Intent {
    fn as_str(self) -> &'static str {
        match self {
            Intent::Valid => "valid",
            Intent::SchemaViolation => "schema_violation",
            Intent::UnknownType => "unknown_type",
            Intent::BadEnvelope => "bad_envelope",
            Intent::NotJson => "not_json",
            Intent::Refused => "refused_413",
        }
    }
}

/// Generated records and a summary of the intents.
#[derive(Debug, Clone)]
pub struct Generated {
    /// One request body per entry.
    pub records: Vec<String>,
    /// `{"events": N, "records": N, "batches": N, "intended": {"valid": N, ...}}`.
    pub notes: Value,
}

/// Why events could not be generated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateError(pub String);

/// A valid value for a schema, or why none could be made.
pub fn valid_value(
    doc: &Document,
    schema: &Schema,
    rng: &mut Rng,
    depth: usize,
) -> Result<Value, String> {
    let object = match doc.resolve(schema) {
        Schema::Bool(true) => return Ok(json!("any")),
        Schema::Bool(false) => return Err("the schema is `false`".to_owned()),
        Schema::Object(object) => object,
    };
    if let Some(value) = &object.const_value {
        return Ok(value.clone());
    }
    if let Some(values) = &object.enum_values {
        return Ok(rng.pick(values).clone());
    }
    if depth > 12 {
        return Err("the schema nests too deeply".to_owned());
    }
    // A union: one of its branches (a `oneOf`'s branches are usually told apart by a tag).
    let branches = if object.one_of.is_empty() {
        &object.any_of
    } else {
        &object.one_of
    };
    if !branches.is_empty() && object.properties.is_empty() {
        return valid_value(doc, rng.pick(branches), rng, depth + 1);
    }
    match pick_type(object, rng) {
        InstanceType::Null => Ok(Value::Null),
        InstanceType::Boolean => Ok(Value::Bool(rng.chance(50))),
        InstanceType::Integer => integer(object, rng),
        InstanceType::Number => number(object, rng),
        InstanceType::String => string(object, rng),
        InstanceType::Array => array(doc, object, rng, depth),
        InstanceType::Object => map(doc, object, rng, depth),
    }
}

fn pick_type(object: &SchemaObject, rng: &mut Rng) -> InstanceType {
    if let Some(types) = &object.types {
        let types: Vec<InstanceType> = types.iter().copied().collect();
        let non_null: Vec<InstanceType> = types
            .iter()
            .copied()
            .filter(|t| *t != InstanceType::Null)
            .collect();
        if !non_null.is_empty() && (non_null.len() == types.len() || rng.chance(85)) {
            return *rng.pick(&non_null);
        }
        return *rng.pick(&types);
    }
    if !object.properties.is_empty()
        || object.additional_properties.is_some()
        || object.min_properties.is_some()
    {
        InstanceType::Object
    } else if object.items.is_some() || object.min_items.is_some() {
        InstanceType::Array
    } else if object.minimum.is_some() || object.maximum.is_some() || object.multiple_of.is_some() {
        InstanceType::Number
    } else {
        InstanceType::String
    }
}

fn bounds(object: &SchemaObject) -> (Option<f64>, bool, Option<f64>, bool) {
    let f = |n: &Option<Number>| n.as_ref().and_then(Number::as_f64);
    let (lo, lo_excl) = match (f(&object.minimum), f(&object.exclusive_minimum)) {
        (Some(a), Some(b)) if b >= a => (Some(b), true),
        (Some(a), _) => (Some(a), false),
        (None, Some(b)) => (Some(b), true),
        (None, None) => (None, false),
    };
    let (hi, hi_excl) = match (f(&object.maximum), f(&object.exclusive_maximum)) {
        (Some(a), Some(b)) if b <= a => (Some(b), true),
        (Some(a), _) => (Some(a), false),
        (None, Some(b)) => (Some(b), true),
        (None, None) => (None, false),
    };
    (lo, lo_excl, hi, hi_excl)
}

fn integer(object: &SchemaObject, rng: &mut Rng) -> Result<Value, String> {
    let (lo, lo_excl, hi, hi_excl) = bounds(object);
    let lo = lo.map(|v| {
        if lo_excl {
            v.floor() as i64 + 1
        } else {
            v.ceil() as i64
        }
    });
    let hi = hi.map(|v| {
        if hi_excl {
            v.ceil() as i64 - 1
        } else {
            v.floor() as i64
        }
    });
    let (lo, hi) = match (lo, hi) {
        (Some(lo), Some(hi)) => (lo, hi),
        (Some(lo), None) => (lo, lo.saturating_add(5000)),
        (None, Some(hi)) => (hi.saturating_sub(5000), hi),
        (None, None) => (1, 5000),
    };
    if lo > hi {
        return Err(format!("no integer lies between {lo} and {hi}"));
    }
    let step = object
        .multiple_of
        .as_ref()
        .and_then(Number::as_f64)
        .filter(|m| m.fract() == 0.0 && *m >= 1.0)
        .map(|m| m as i64);
    match step {
        Some(m) => {
            let first = lo.div_euclid(m) + i64::from(lo.rem_euclid(m) != 0);
            let last = hi.div_euclid(m);
            if first > last {
                return Err(format!("no multiple of {m} lies between {lo} and {hi}"));
            }
            let k = first
                + i64::try_from(rng.below(u64::try_from(last - first + 1).unwrap_or(1)))
                    .unwrap_or(0);
            Ok(json!(k * m))
        }
        None => {
            let span = u64::try_from(hi - lo)
                .unwrap_or(u64::MAX - 1)
                .saturating_add(1);
            Ok(json!(lo + i64::try_from(rng.below(span)).unwrap_or(0)))
        }
    }
}

fn number(object: &SchemaObject, rng: &mut Rng) -> Result<Value, String> {
    if let Some(m) = object.multiple_of.as_ref().and_then(Number::as_f64) {
        let (lo, _, hi, _) = bounds(object);
        let lo = lo.unwrap_or(0.0);
        let hi = hi.unwrap_or(lo + 1000.0 * m);
        let first = (lo / m).ceil() as i64 + 1;
        let last = (hi / m).floor() as i64 - 1;
        if first > last {
            return Err(format!(
                "no multiple of {m} lies strictly between {lo} and {hi}"
            ));
        }
        let k = first
            + i64::try_from(rng.below(u64::try_from(last - first + 1).unwrap_or(1))).unwrap_or(0);
        return Ok(json!(k as f64 * m));
    }
    let (lo, _, hi, _) = bounds(object);
    let (lo, hi) = match (lo, hi) {
        (Some(lo), Some(hi)) => (lo, hi),
        (Some(lo), None) => (lo, lo + 1000.0),
        (None, Some(hi)) => (hi - 1000.0, hi),
        (None, None) => (0.0, 1000.0),
    };
    if lo >= hi {
        return if lo == hi {
            Ok(json!(lo))
        } else {
            Err(format!("no number lies between {lo} and {hi}"))
        };
    }
    let value = lo + (hi - lo) * (0.05 + 0.9 * rng.unit());
    let rounded = (value * 1000.0).round() / 1000.0;
    let value = if rounded > lo && rounded < hi {
        rounded
    } else {
        value
    };
    Ok(Number::from_f64(value).map_or(Value::Null, Value::Number))
}

fn hex(rng: &mut Rng, digits: usize) -> String {
    (0..digits)
        .map(|_| char::from_digit(u32::try_from(rng.below(16)).unwrap_or(0), 16).unwrap_or('0'))
        .collect()
}

fn uuid(rng: &mut Rng) -> String {
    let variant = ['8', '9', 'a', 'b'][usize::try_from(rng.below(4)).unwrap_or(0)];
    format!(
        "{}-{}-4{}-{variant}{}-{}",
        hex(rng, 8),
        hex(rng, 4),
        hex(rng, 3),
        hex(rng, 3),
        hex(rng, 12)
    )
}

fn date_time(rng: &mut Rng) -> String {
    format!(
        "2020-11-{:02}T{:02}:{:02}:{:02}Z",
        20 + rng.below(6),
        rng.below(24),
        rng.below(60),
        rng.below(60)
    )
}

fn string(object: &SchemaObject, rng: &mut Rng) -> Result<Value, String> {
    let min = usize::try_from(object.min_length.unwrap_or(0)).unwrap_or(usize::MAX);
    let max = object
        .max_length
        .map_or(usize::MAX, |m| usize::try_from(m).unwrap_or(usize::MAX));
    let fits = |s: &str| (min..=max).contains(&s.chars().count());
    if let Some(format) = object.format {
        let text = match format {
            Format::DateTime => date_time(rng),
            Format::Date => format!("2020-11-{:02}", 20 + rng.below(6)),
            Format::Time => format!("{:02}:{:02}:00Z", rng.below(24), rng.below(60)),
            Format::Duration => format!("PT{}M", 1 + rng.below(120)),
            Format::Uuid => uuid(rng),
            Format::Email => format!("user{}@example.com", rng.below(10_000)),
            Format::Ipv4 => format!(
                "10.{}.{}.{}",
                rng.below(256),
                rng.below(256),
                rng.below(256)
            ),
            Format::Ipv6 => format!("2001:db8::{:x}", rng.below(65_536)),
            Format::Hostname => format!("host{}.example.com", rng.below(1_000)),
            Format::Uri => format!("https://example.com/item/{}", rng.below(10_000)),
        };
        return if fits(&text) {
            Ok(json!(text))
        } else {
            Err(format!(
                "a {} does not fit the length limits",
                format.as_str()
            ))
        };
    }
    if let Some(pattern) = &object.pattern {
        let hir = regex_syntax::ParserBuilder::new()
            .build()
            .parse(&ingest_codegen::keywords::rust_regex(pattern))
            .map_err(|e| format!("the pattern {pattern:?} does not parse: {e}"))?;
        for _ in 0..64 {
            let mut text = String::new();
            from_hir(&hir, rng, &mut text);
            if fits(&text) {
                return Ok(json!(text));
            }
        }
        return Err(format!(
            "no string matching {pattern:?} within the length limits was found"
        ));
    }
    let low = min.max(3).min(max);
    let high = max.min(low + 12);
    let length = low + usize::try_from(rng.below((high - low + 1) as u64)).unwrap_or(0);
    Ok(json!(
        (0..length)
            .map(|_| char::from(b'a' + u8::try_from(rng.below(26)).unwrap_or(0)))
            .collect::<String>()
    ))
}

fn from_hir(hir: &Hir, rng: &mut Rng, out: &mut String) {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => {}
        HirKind::Literal(literal) => out.push_str(&String::from_utf8_lossy(&literal.0)),
        HirKind::Class(Class::Unicode(class)) => {
            let ranges: Vec<(u32, u32)> = class
                .ranges()
                .iter()
                .map(|r| (u32::from(r.start()), u32::from(r.end())))
                .collect();
            let printable: Vec<(u32, u32)> = ranges
                .iter()
                .filter_map(|&(s, e)| {
                    let (s, e) = (s.max(0x21), e.min(0x7e));
                    (s <= e).then_some((s, e))
                })
                .collect();
            let choices = if printable.is_empty() {
                ranges
            } else {
                printable
            };
            if choices.is_empty() {
                return;
            }
            let &(start, end) = rng.pick(&choices);
            let code = start + u32::try_from(rng.below(u64::from(end - start) + 1)).unwrap_or(0);
            out.push(char::from_u32(code).unwrap_or('a'));
        }
        HirKind::Class(Class::Bytes(class)) => {
            let ranges: Vec<(u8, u8)> = class
                .ranges()
                .iter()
                .map(|r| (r.start(), r.end().min(0x7e)))
                .filter(|(s, e)| s <= e)
                .collect();
            if ranges.is_empty() {
                return;
            }
            let &(start, end) = rng.pick(&ranges);
            out.push(char::from(
                start + u8::try_from(rng.below(u64::from(end - start) + 1)).unwrap_or(0),
            ));
        }
        HirKind::Repetition(repetition) => {
            let min = repetition.min;
            let max = repetition.max.unwrap_or(min + 24).min(min + 24);
            let count = min + u32::try_from(rng.below(u64::from(max - min) + 1)).unwrap_or(0);
            for _ in 0..count {
                from_hir(&repetition.sub, rng, out);
            }
        }
        HirKind::Capture(capture) => from_hir(&capture.sub, rng, out),
        HirKind::Concat(parts) => parts.iter().for_each(|p| from_hir(p, rng, out)),
        HirKind::Alternation(parts) => from_hir(rng.pick(parts), rng, out),
    }
}

fn array(
    doc: &Document,
    object: &SchemaObject,
    rng: &mut Rng,
    depth: usize,
) -> Result<Value, String> {
    let min = usize::try_from(object.min_items.unwrap_or(0)).unwrap_or(usize::MAX);
    let max = object
        .max_items
        .map_or(usize::MAX, |m| usize::try_from(m).unwrap_or(usize::MAX));
    if min > max {
        return Err("minItems is above maxItems".to_owned());
    }
    let high = max.min(min + 3);
    let count = min + usize::try_from(rng.below((high - min + 1) as u64)).unwrap_or(0);
    let items = object.items.clone().unwrap_or(Schema::Bool(true));
    let mut values: Vec<Value> = Vec::new();
    let mut tries = 0;
    while values.len() < count {
        tries += 1;
        if tries > count * 20 + 20 {
            return Err("not enough distinct items".to_owned());
        }
        let value = valid_value(doc, &items, rng, depth + 1)?;
        if object.unique_items && values.contains(&value) {
            continue;
        }
        values.push(value);
    }
    Ok(Value::Array(values))
}

fn map(
    doc: &Document,
    object: &SchemaObject,
    rng: &mut Rng,
    depth: usize,
) -> Result<Value, String> {
    let mut out = Map::new();
    let max = object
        .max_properties
        .map_or(usize::MAX, |m| usize::try_from(m).unwrap_or(usize::MAX));
    for (name, schema) in &object.properties {
        let required = object.required.contains(name);
        if required || (out.len() < max && rng.chance(60)) {
            out.insert(name.clone(), valid_value(doc, schema, rng, depth + 1)?);
        }
    }
    for name in &object.required {
        if !out.contains_key(name) {
            let schema = object
                .additional_properties
                .clone()
                .unwrap_or(Schema::Bool(true));
            out.insert(name.clone(), valid_value(doc, &schema, rng, depth + 1)?);
        }
    }
    let min = usize::try_from(object.min_properties.unwrap_or(0)).unwrap_or(usize::MAX);
    let extra = object
        .additional_properties
        .clone()
        .unwrap_or(Schema::Bool(true));
    let wanted = if object.properties.is_empty() && extra != Schema::Bool(false) {
        min.max(1).min(max)
    } else {
        min
    };
    let mut n = 0;
    while out.len() < wanted {
        if extra == Schema::Bool(false) {
            return Err("minProperties needs more properties than the schema allows".to_owned());
        }
        n += 1;
        let value = valid_value(doc, &extra, rng, depth + 1)?;
        out.insert(format!("field_{n}"), value);
    }
    Ok(Value::Object(out))
}

/// A value whose JSON type is none of the allowed ones.
fn wrong_type(object: &SchemaObject) -> Option<Value> {
    let candidates = [
        json!("wrong"),
        json!(12345),
        json!(true),
        json!([1, 2]),
        json!({"x": 1}),
    ];
    let types = object.types.as_ref()?;
    candidates
        .into_iter()
        .find(|v| !types.iter().any(|t| t.matches(v)))
}

/// `data` that breaks its schema, or `None` when the generator sees no way to.
fn invalid_data(doc: &Document, schema: &Schema, rng: &mut Rng) -> Option<Value> {
    let object = doc.resolve(schema).as_object()?;
    let valid = valid_value(doc, schema, rng, 0).ok()?;
    let mut options: Vec<Value> = Vec::new();
    if let Value::Object(map) = &valid {
        if !object.required.is_empty() {
            let name = rng.pick(&object.required).clone();
            let mut broken = map.clone();
            broken.remove(&name);
            options.push(Value::Object(broken));
        }
        for (name, property) in &object.properties {
            let Some(property) = property.as_object() else {
                continue;
            };
            if let Some(value) = wrong_type(property) {
                let mut broken = map.clone();
                broken.insert(name.clone(), value);
                options.push(Value::Object(broken));
            } else if property.enum_values.is_some() {
                let mut broken = map.clone();
                broken.insert(name.clone(), json!("not-one-of-the-values"));
                options.push(Value::Object(broken));
            }
        }
        if object.additional_properties == Some(Schema::Bool(false)) {
            let mut broken = map.clone();
            broken.insert("unexpected_field".to_owned(), json!(1));
            options.push(Value::Object(broken));
        }
    }
    if options.is_empty() {
        options.extend(wrong_type(object));
    }
    if options.is_empty() {
        return None;
    }
    Some(rng.pick(&options).clone())
}

fn envelope(
    plan: &Plan,
    event: &EventPlan,
    data: Value,
    rng: &mut Rng,
    serial: usize,
) -> Map<String, Value> {
    let mut map = Map::new();
    map.insert("specversion".to_owned(), json!("1.0"));
    map.insert("id".to_owned(), json!(uuid(rng)));
    map.insert(
        "source".to_owned(),
        json!(format!("drill/{}/device-{}", plan.name, serial % 97)),
    );
    map.insert("type".to_owned(), json!(event.type_name));
    map.insert("time".to_owned(), json!(date_time(rng)));
    map.insert("datacontenttype".to_owned(), json!("application/json"));
    map.insert("data".to_owned(), data);
    map
}

/// `count` events (about 8% invalid, about 10% of records batches of 2 to 4) for the spec's
/// types. Fails when some type's schema defeats the generator; `--events FILE` is the way out.
pub fn events(plan: &Plan, count: usize, seed: u64) -> Result<Generated, GenerateError> {
    let mut rng = Rng::new(seed);
    if plan.events.is_empty() {
        return Err(GenerateError("the spec declares no event types".to_owned()));
    }
    for event in &plan.events {
        valid_value(&event.schema, &event.schema.root, &mut rng, 0).map_err(|e| {
            GenerateError(format!(
                "cannot make a valid `{}` event: {e}",
                event.type_name
            ))
        })?;
    }
    let mut intents: std::collections::BTreeMap<Intent, usize> = std::collections::BTreeMap::new();
    let mut records: Vec<String> = Vec::new();
    let mut record_intents: Vec<Vec<Intent>> = Vec::new();
    let mut made = 0;
    let mut batches = 0;
    let max_chars = usize::try_from(plan.api.max_event_bytes).unwrap_or(usize::MAX);
    let one_event =
        |rng: &mut Rng, serial: usize, allow_whole_record_kinds: bool| -> (String, Intent) {
            let event = rng.pick(&plan.events);
            let roll = rng.below(1000);
            let intent = match roll {
                0..=49 => Intent::SchemaViolation,
                50..=59 => Intent::UnknownType,
                60..=69 => Intent::BadEnvelope,
                70..=79 if allow_whole_record_kinds => Intent::NotJson,
                _ => Intent::Valid,
            };
            let data = match intent {
                Intent::SchemaViolation => invalid_data(&event.schema, &event.schema.root, rng),
                _ => None,
            };
            let intent = if intent == Intent::SchemaViolation && data.is_none() {
                Intent::Valid
            } else {
                intent
            };
            let data = data.unwrap_or_else(|| {
                valid_value(&event.schema, &event.schema.root, rng, 0).unwrap_or(Value::Null)
            });
            let mut map = envelope(plan, event, data, rng, serial);
            match intent {
                Intent::UnknownType => {
                    map.insert(
                        "type".to_owned(),
                        json!(format!("{}.unknown", event.type_name)),
                    );
                }
                Intent::BadEnvelope => {
                    map.insert("specversion".to_owned(), json!("0.3"));
                }
                _ => {}
            }
            let mut text = Value::Object(map).to_string();
            if intent == Intent::NotJson {
                text.truncate(text.len() / 2);
            }
            (text, intent)
        };
    let mut serial = 0;
    while made < count {
        serial += 1;
        let room = count - made;
        if room >= 2 && rng.chance(10) {
            let size = 2 + usize::try_from(rng.below(3)).unwrap_or(0);
            let size = size.min(room);
            let mut parts = Vec::new();
            let mut kinds = Vec::new();
            for _ in 0..size {
                let (text, intent) = one_event(&mut rng, serial, false);
                *intents.entry(intent).or_default() += 1;
                parts.push(text);
                kinds.push(intent);
            }
            records.push(format!("[{}]", parts.join(",")));
            record_intents.push(kinds);
            made += size;
            batches += 1;
        } else {
            let (text, intent) = one_event(&mut rng, serial, true);
            *intents.entry(intent).or_default() += 1;
            records.push(text);
            record_intents.push(vec![intent]);
            made += 1;
        }
    }
    // One body within the API's limit in characters but over it in bytes, and one over it in
    // characters, replacing the last two records (when there are enough and the limit allows):
    // the API counts bytes, so both are refused (the first one used to pass, counted in
    // characters, and reach the lake altered or quarantined).
    if count >= 1000 && max_chars <= 4 * 1024 * 1024 && records.len() >= 2 {
        for (slot, wide) in [(records.len() - 1, true), (records.len() - 2, false)] {
            let intent = Intent::Refused;
            for removed in std::mem::replace(&mut record_intents[slot], vec![intent]) {
                if let Some(n) = intents.get_mut(&removed) {
                    *n = n.saturating_sub(1);
                }
            }
            let event = &plan.events[0];
            let data =
                valid_value(&event.schema, &event.schema.root, &mut rng, 0).unwrap_or(Value::Null);
            let mut map = envelope(plan, event, data, &mut rng, slot);
            map.insert("padding".to_owned(), json!(""));
            let base = Value::Object(map.clone()).to_string().chars().count();
            let padding = if wide {
                "é".repeat(max_chars.saturating_sub(base))
            } else {
                "x".repeat(max_chars.saturating_sub(base) + 1)
            };
            map.insert("padding".to_owned(), json!(padding));
            records[slot] = Value::Object(map).to_string();
            *intents.entry(intent).or_default() += 1;
        }
    }
    let made: usize = record_intents.iter().map(Vec::len).sum();
    let intended: Map<String, Value> = intents
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), json!(v)))
        .collect();
    Ok(Generated {
        notes: json!({"events": made, "records": records.len(), "batches": batches, "seed": seed, "intended": intended}),
        records,
    })
}
