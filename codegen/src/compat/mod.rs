//! Schema evolution: is every event that was valid under the old schemas still valid?
//!
//! [`compare_events`] takes a spec's event types before and after a change and returns typed
//! [`Finding`]s: what changed, where in the new schema, at which instance location, and whether
//! it is [`Verdict::Breaking`] (some event that was valid before goes to quarantine now),
//! [`Verdict::Safe`], or [`Verdict::CannotTell`]. The property judged is semantic: "every instance
//! valid under OLD is valid under NEW". A change is called safe only when that is proven; it is
//! called breaking only with a reason, most often a concrete value that was valid and is not
//! now (the witness); anything else is "cannot tell". Renaming a keyword into an equivalent one
//! (`exclusiveMinimum: 0` to `minimum: 1` on integers, `multipleOf: 4` to `2`) is safe.
//!
//! # How a comparison runs
//!
//! The two schemas are walked together, a parsed [`Schema`] (typed keyword values) next to its
//! JSON (which keywords are present, and anything the model does not hold). Identical subtrees
//! are skipped. At each schema object the keyword families are judged one by one, each in its
//! own module or function: `type`; `enum`/`const`; the numeric keywords ([`number`]); the string
//! keywords ([`string`]); arrays; objects. A family judges its keywords against what the old
//! object admits as a whole: keywords about numbers are moot when the old `type` only allowed
//! strings, and when the old object lists its values (`enum`, `const`) the new keywords are
//! checked against those values directly. Each keyword of an object constrains instances on
//! its own (a conjunction), so judging them one by one is sound; the keywords whose meaning
//! depends on their siblings (`additionalProperties` on `properties`) are judged together.
//!
//! Keywords with no rule here fall back to [`Rule::KeywordNotJudged`]: unchanged is fine,
//! changed is "cannot tell". Keywords that change what the judged ones mean
//! (`patternProperties`, `prefixItems`, `unevaluated*`) make the affected family "cannot tell"
//! whenever it differs. A `$ref` is unchanged only when what it points to is unchanged, followed
//! through further references (into the schema files they read, each side its own) with a
//! visited set, so cycles end. Adding the rules of a new keyword is adding a family function and
//! taking its name off the fallback.

mod decimal;
mod number;
mod refs;
mod rules;
mod string;

use std::borrow::Cow;
use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::events::EventInput;
use crate::schema::{InstanceType, PathSegment, Schema, SchemaObject, Target, json_equal};

pub use rules::{Rule, Verdict};
pub use string::{format_sample, is_certainly_not_format};

/// One change between an old and a new schema, judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// How it affects events that were valid.
    pub verdict: Verdict,
    /// What kind of change it is.
    pub rule: Rule,
    /// The event type it concerns.
    pub event: String,
    /// Where it is in the new schema: the keyword, or the closest schema object that exists
    /// when the keyword was removed (empty for the schema's root, and for event-level rules).
    pub path: Vec<PathSegment>,
    /// Whether the key or the value at `path` shows the change.
    pub target: Target,
    /// The location in an event's `data` that the change is about, as a JSON pointer; `*`
    /// stands for every item of an array, or every property not listed in `properties`.
    pub instance: String,
    /// What changed and what it does to events, in a sentence.
    pub message: String,
    /// What to do about it, when there is something.
    pub help: Option<String>,
}

impl Finding {
    /// `path` as a JSON pointer into the new schema (`/properties/role/enum`).
    pub fn pointer(&self) -> String {
        pointer(&self.path)
    }
}

/// Compares the event types of a spec before and after a change: one finding per change, new
/// types first in the new spec's order, then the removed ones.
pub fn compare_events(old: &[EventInput<'_>], new: &[EventInput<'_>]) -> Vec<Finding> {
    let mut findings = Vec::new();
    for event in new {
        match old.iter().find(|o| o.type_name == event.type_name) {
            Some(before) => findings.extend(compare_event(before, event)),
            None => findings.push(Finding {
                verdict: Verdict::Safe,
                rule: Rule::EventTypeAdded,
                event: event.type_name.to_owned(),
                path: Vec::new(),
                target: Target::Key,
                instance: String::new(),
                message: format!("event type `{}` is new", event.type_name),
                help: None,
            }),
        }
    }
    for event in old {
        if !new.iter().any(|n| n.type_name == event.type_name) {
            findings.push(Finding {
                verdict: Verdict::Breaking,
                rule: Rule::EventTypeRemoved,
                event: event.type_name.to_owned(),
                path: Vec::new(),
                target: Target::Key,
                instance: String::new(),
                message: format!(
                    "event type `{}` was removed: its events go to quarantine as `unknown_type`",
                    event.type_name
                ),
                help: Some(format!(
                    "keep `{}` until no producer sends it any more (its count in the good bucket's `type={}` partitions shows when)",
                    event.type_name, event.type_name
                )),
            });
        }
    }
    findings
}

/// Compares the schemas of one event type.
pub fn compare_event(old: &EventInput<'_>, new: &EventInput<'_>) -> Vec<Finding> {
    let mut comparer = Comparer {
        event: new.type_name,
        old: refs::Documents {
            root: old.schema_json,
            base: &old.schema.base,
            files: &old.schema.files,
        },
        new: refs::Documents {
            root: new.schema_json,
            base: &new.schema.base,
            files: &new.schema.files,
        },
        path: Vec::new(),
        instance: Vec::new(),
        findings: Vec::new(),
    };
    comparer.schema(
        Side {
            schema: &old.schema.root,
            json: old.schema_json,
        },
        Side {
            schema: &new.schema.root,
            json: new.schema_json,
        },
    );
    comparer.findings
}

/// The keywords some family (or nobody, for annotations) has rules for; everything else goes
/// to [`Comparer::unjudged`].
const JUDGED: &[&str] = &[
    "type",
    "enum",
    "const",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "pattern",
    "format",
    "items",
    "minItems",
    "maxItems",
    "uniqueItems",
    "properties",
    "required",
    "additionalProperties",
    "minProperties",
    "maxProperties",
    // Annotations never change a verdict.
    "title",
    "description",
    "default",
    "examples",
    "deprecated",
    "readOnly",
    "writeOnly",
    "$comment",
    "$schema",
    // Definitions matter only through a `$ref`, which compares what it points to.
    "$defs",
    "definitions",
];

/// Keywords that change which schema the object family applies to a property.
const PROPERTY_INTERACTIONS: &[&str] = &["patternProperties", "unevaluatedProperties"];
/// Keywords that change which schema the array family applies to an item.
const ITEM_INTERACTIONS: &[&str] = &["prefixItems", "unevaluatedItems"];

/// One side of the comparison: a parsed schema and its JSON, at the same place.
#[derive(Debug, Clone, Copy)]
struct Side<'a> {
    schema: &'a Schema,
    json: &'a Value,
}

static ANYTHING_SCHEMA: Schema = Schema::Bool(true);
static ANYTHING_JSON: Value = Value::Bool(true);

impl<'a> Side<'a> {
    /// `true`: what an absent subschema (`items`, `additionalProperties`) means.
    fn anything() -> Side<'static> {
        Side {
            schema: &ANYTHING_SCHEMA,
            json: &ANYTHING_JSON,
        }
    }

    fn object(self) -> Cow<'a, SchemaObject> {
        match self.schema {
            Schema::Object(object) => Cow::Borrowed(object),
            Schema::Bool(_) => Cow::Owned(SchemaObject::default()),
        }
    }

    fn map(self) -> Option<&'a Map<String, Value>> {
        self.json.as_object()
    }

    fn has(self, keyword: &str) -> bool {
        self.map().is_some_and(|map| map.contains_key(keyword))
    }

    fn is_false(self) -> bool {
        matches!(self.schema, Schema::Bool(false))
    }

    fn property(self, name: &str) -> Option<Side<'a>> {
        let Schema::Object(object) = self.schema else {
            return None;
        };
        Some(Side {
            schema: object.property(name)?,
            json: self.json.get("properties")?.get(name)?,
        })
    }

    fn subschema(self, keyword: &str, parsed: Option<&'a Schema>) -> Side<'a> {
        match (parsed, self.json.get(keyword)) {
            (Some(schema), Some(json)) => Side { schema, json },
            _ => Side::anything(),
        }
    }

    fn additional(self) -> Side<'a> {
        match self.schema {
            Schema::Object(object) => self.subschema(
                "additionalProperties",
                object.additional_properties.as_ref(),
            ),
            Schema::Bool(_) => Side::anything(),
        }
    }

    fn items(self) -> Side<'a> {
        match self.schema {
            Schema::Object(object) => self.subschema("items", object.items.as_ref()),
            Schema::Bool(_) => Side::anything(),
        }
    }
}

/// A step from an instance into one of its parts.
#[derive(Debug, Clone)]
enum Step {
    Property(String),
    /// Every item of an array, or every property not listed.
    Any,
}

/// What the old schema object admits, as the families need it.
struct Domain<'s> {
    object: &'s SchemaObject,
    /// The values the old object lists (`enum`, `const`), minus those its other keywords
    /// reject; `None` when it admits any value of its types.
    values: Option<Vec<Value>>,
}

impl Domain<'_> {
    /// Whether some value of this JSON type was valid.
    fn admits(&self, kind: InstanceType) -> bool {
        match &self.values {
            Some(values) => values.iter().any(|value| kind.matches(value)),
            None => self.object.allows(kind),
        }
    }

    /// Whether numbers were valid only when integral, by `type`.
    fn integers_only(&self) -> bool {
        self.object.allows(InstanceType::Integer) && !self.object.allows(InstanceType::Number)
    }

    /// The listed values of one JSON type.
    fn values_of(&self, kind: InstanceType) -> Option<Vec<&Value>> {
        self.values
            .as_ref()
            .map(|values| values.iter().filter(|v| kind.matches(v)).collect())
    }
}

struct Comparer<'a> {
    event: &'a str,
    /// Each side's schema and the files its references read.
    old: refs::Documents<'a>,
    new: refs::Documents<'a>,
    /// The current schema object's path in the new schema.
    path: Vec<PathSegment>,
    /// The current instance location.
    instance: Vec<Step>,
    findings: Vec<Finding>,
}

/// Where a finding points, below the current schema object.
#[derive(Debug, Clone, Copy)]
enum At<'k> {
    /// The schema object itself.
    Object,
    /// A keyword's key.
    Key(&'k str),
    /// A keyword's value.
    Value(&'k str),
    /// An item of a keyword's list value (`required`, `enum`).
    Item(&'k str, usize),
}

impl Comparer<'_> {
    fn push(
        &mut self,
        verdict: Verdict,
        rule: Rule,
        at: At<'_>,
        message: String,
        help: Option<String>,
    ) {
        let mut path = self.path.clone();
        let mut target = Target::Value;
        match at {
            At::Object => target = Target::Key,
            At::Key(key) => {
                path.push(PathSegment::Key(key.to_owned()));
                target = Target::Key;
            }
            At::Value(key) => path.push(PathSegment::Key(key.to_owned())),
            At::Item(key, index) => {
                path.push(PathSegment::Key(key.to_owned()));
                path.push(PathSegment::Index(index));
            }
        }
        // A removed keyword (or an implicit subschema) is shown at the closest place that
        // exists in the new schema.
        while !path.is_empty() && lookup(self.new.root, &path).is_none() {
            path.pop();
            target = Target::Key;
        }
        self.findings.push(Finding {
            verdict,
            rule,
            event: self.event.to_owned(),
            path,
            target,
            instance: self.instance_pointer(),
            message,
            help,
        });
    }

    fn instance_pointer(&self) -> String {
        self.instance
            .iter()
            .map(|step| match step {
                Step::Property(name) => format!("/{}", name.replace('~', "~0").replace('/', "~1")),
                Step::Any => "/*".to_owned(),
            })
            .collect()
    }

    /// Runs `f` one schema deeper: `keys` below the current object in the new schema, and one
    /// instance step.
    fn nested<T>(&mut self, keys: &[&str], step: Step, f: impl FnOnce(&mut Self) -> T) -> T {
        let depth = self.path.len();
        self.path
            .extend(keys.iter().map(|k| PathSegment::Key((*k).to_owned())));
        self.instance.push(step);
        let result = f(self);
        self.instance.pop();
        self.path.truncate(depth);
        result
    }

    /// Compares `old` and `new` without reporting: the worst verdict of what would be reported,
    /// with its first message (`None` when nothing changed).
    fn judge(
        &mut self,
        keys: &[&str],
        step: Step,
        old: Side<'_>,
        new: Side<'_>,
    ) -> Option<(Verdict, String)> {
        let saved = std::mem::take(&mut self.findings);
        self.nested(keys, step, |c| c.schema(old, new));
        let found = std::mem::replace(&mut self.findings, saved);
        let worst = found.iter().map(|f| f.verdict).min()?;
        let message = found
            .iter()
            .find(|f| f.verdict == worst)
            .map(|f| f.message.clone())
            .unwrap_or_default();
        Some((worst, message))
    }

    /// Whether two subtrees are the same schema: equal JSON, and every `$ref` in them points
    /// at equal schemas in both documents.
    fn identical(&self, old: &Value, new: &Value) -> bool {
        json_equal(old, new) && refs::targets_unchanged(self.old, self.new, old)
    }

    fn schema(&mut self, old: Side<'_>, new: Side<'_>) {
        if self.identical(old.json, new.json) {
            return;
        }
        if new.is_false() {
            self.push(
                Verdict::Breaking,
                Rule::SchemaFalse,
                At::Object,
                "the schema is `false` now: no value is valid here, so events that have one go to quarantine".to_owned(),
                None,
            );
            return;
        }
        if old.is_false() {
            self.push(
                Verdict::Safe,
                Rule::SchemaFalseRemoved,
                At::Object,
                "the schema was `false` (nothing was valid here) and now accepts values".to_owned(),
                None,
            );
            return;
        }
        let (o, n) = (old.object(), new.object());
        let domain = Domain {
            object: &o,
            values: listed_values(&o),
        };
        self.types(old, new, &o, &n, &domain);
        self.values(&o, &n, &domain);
        self.numbers(&o, &n, &domain);
        self.strings(&o, &n, &domain);
        self.arrays(old, new, &o, &n, &domain);
        self.objects(old, new, &o, &n, &domain);
        self.unjudged(old, new);
    }

    /// `type`.
    fn types(
        &mut self,
        old: Side<'_>,
        new: Side<'_>,
        o: &SchemaObject,
        n: &SchemaObject,
        domain: &Domain<'_>,
    ) {
        if o.types == n.types {
            return;
        }
        let Some(new_types) = &n.types else {
            self.push(
                Verdict::Safe,
                Rule::TypeWidened,
                At::Object,
                format!("`type` {} was removed", types_text(old)),
                None,
            );
            return;
        };
        let new_allows = |value: &Value| new_types.iter().any(|t| t.matches(value));
        // What is no longer valid, each with whether it reads as a plural.
        let lost: Vec<(String, bool)> = match &domain.values {
            Some(values) => values
                .iter()
                .filter(|v| !new_allows(v))
                .map(|v| (code(v), false))
                .collect(),
            None => {
                let old_types: Vec<InstanceType> = match &o.types {
                    Some(types) => types.iter().copied().collect(),
                    None => vec![
                        InstanceType::Null,
                        InstanceType::Boolean,
                        InstanceType::Object,
                        InstanceType::Array,
                        InstanceType::Number,
                        InstanceType::String,
                    ],
                };
                let mut lost = Vec::new();
                for kind in old_types {
                    let kept = new_types.contains(&kind)
                        || (kind == InstanceType::Integer
                            && new_types.contains(&InstanceType::Number));
                    if kept {
                        continue;
                    }
                    if kind == InstanceType::Number && new_types.contains(&InstanceType::Integer) {
                        // Numbers that were all integral anyway (by `multipleOf`) lose nothing.
                        match self.fractional_number(o, domain) {
                            Some(Some(witness)) => lost.push((
                                format!("numbers with a fraction (such as {witness})"),
                                true,
                            )),
                            Some(None) => {}
                            None => lost.push(("numbers with a fraction".to_owned(), true)),
                        }
                    } else {
                        lost.push((kind_text(kind).to_owned(), kind != InstanceType::Null));
                    }
                }
                lost
            }
        };
        let change = format!(
            "`type` is {} now (was {})",
            types_text(new),
            types_text(old)
        );
        if lost.is_empty() {
            self.push(
                Verdict::Safe,
                Rule::TypeWidened,
                At::Value("type"),
                change,
                None,
            );
            return;
        }
        let plural = lost.len() > 1 || lost[0].1;
        let names: Vec<&str> = lost.iter().map(|(name, _)| name.as_str()).collect();
        let names = names.join(", ");
        let (verb, pronoun) = if plural {
            ("are", "them")
        } else {
            ("is", "it")
        };
        self.push(
            Verdict::Breaking,
            Rule::TypeNarrowed,
            At::Value("type"),
            format!(
                "{change}: {names} {verb} no longer valid, so events with {pronoun} here go to quarantine"
            ),
            Some(format!(
                "keep the old `type` until no producer sends {pronoun}"
            )),
        );
    }

    /// `enum` and `const`.
    fn values(&mut self, o: &SchemaObject, n: &SchemaObject, domain: &Domain<'_>) {
        let (old_set, new_set) = (raw_values(o), raw_values(n));
        let keyword = |object: &SchemaObject| {
            if object.enum_values.is_some() {
                "enum"
            } else {
                "const"
            }
        };
        match (&old_set, &new_set) {
            (None, None) => {}
            (Some(_), None) => self.push(
                Verdict::Safe,
                Rule::EnumRemoved,
                At::Object,
                format!("`{}` was removed: any value is allowed here", keyword(o)),
                None,
            ),
            (None, Some(new_values)) => {
                let listed = list_text(new_values);
                let finite = finite_by_type(o);
                let (verdict, message) = match finite {
                    Some(all) if all.iter().all(|v| contains(new_values, v)) => (
                        Verdict::Safe,
                        format!(
                            "`{}` is new and lists every value `type` allows ({listed})",
                            keyword(n)
                        ),
                    ),
                    _ => (
                        Verdict::Breaking,
                        format!(
                            "`{}` is new: only {listed} {} valid now, where {} was before, so events with any other value go to quarantine",
                            keyword(n),
                            if new_values.len() == 1 { "is" } else { "are" },
                            any_of_text(o.types.as_ref()),
                        ),
                    ),
                };
                self.push(verdict, Rule::EnumAdded, At::Key(keyword(n)), message, None);
            }
            (Some(old_values), Some(new_values)) => {
                let valid: &[Value] = domain.values.as_deref().unwrap_or(old_values);
                let removed: Vec<&Value> =
                    valid.iter().filter(|v| !contains(new_values, v)).collect();
                let added: Vec<&Value> = new_values
                    .iter()
                    .filter(|v| !contains(old_values, v))
                    .collect();
                let both_const = o.enum_values.is_none() && n.enum_values.is_none();
                if !removed.is_empty() {
                    let (rule, message) = if both_const {
                        (
                            Rule::ConstChanged,
                            format!(
                                "`const` is {} now (was {}), so events with the old value go to quarantine",
                                code(n.const_value.as_ref().unwrap_or(&Value::Null)),
                                code(removed[0])
                            ),
                        )
                    } else {
                        (
                            Rule::EnumValueRemoved,
                            format!(
                                "{} {} no longer allowed (`{}` lists {}), so events with {} go to quarantine",
                                refs_list(&removed),
                                if removed.len() == 1 { "is" } else { "are" },
                                keyword(n),
                                list_text(new_values),
                                if removed.len() == 1 { "it" } else { "them" },
                            ),
                        )
                    };
                    self.push(
                        Verdict::Breaking,
                        rule,
                        At::Value(keyword(n)),
                        message,
                        Some(format!(
                            "keep {} until no producer sends {}; to retire a value, add the new one first and remove the old one in a later deploy",
                            refs_list(&removed),
                            if removed.len() == 1 { "it" } else { "them" }
                        )),
                    );
                }
                // A changed `const` already says what the new value is.
                let replaced = both_const && !removed.is_empty();
                if !added.is_empty() && !replaced {
                    self.push(
                        Verdict::Safe,
                        Rule::EnumValueAdded,
                        At::Value(keyword(n)),
                        format!(
                            "{} {} allowed now",
                            refs_list(&added),
                            if added.len() == 1 { "is" } else { "are" }
                        ),
                        None,
                    );
                }
            }
        }
    }

    /// `items`, `minItems`, `maxItems`, `uniqueItems`.
    fn arrays(
        &mut self,
        old: Side<'_>,
        new: Side<'_>,
        o: &SchemaObject,
        n: &SchemaObject,
        domain: &Domain<'_>,
    ) {
        if !domain.admits(InstanceType::Array) {
            return;
        }
        let items_differ = !self.identical(old.items().json, new.items().json);
        if let Some(keyword) = interaction(old, new, ITEM_INTERACTIONS) {
            if items_differ {
                self.push(
                    Verdict::CannotTell,
                    Rule::KeywordNotJudged,
                    At::Key("items"),
                    format!("`items` changed next to `{keyword}`, which decides which items `items` applies to; this check does not compare them"),
                    Some(validate_help()),
                );
            }
        } else if items_differ {
            self.nested(&["items"], Step::Any, |c| {
                c.schema(old.items(), new.items())
            });
        }
        let old_max = if old.items().is_false() {
            Some(0)
        } else {
            o.max_items
        };
        self.counts(
            Counted::Items,
            (o.min_items.unwrap_or(0), old_max),
            (o.min_items, o.max_items),
            (n.min_items, n.max_items),
        );
        if n.unique_items && !o.unique_items && old_max.is_none_or(|max| max > 1) {
            self.push(
                Verdict::Breaking,
                Rule::UniqueItemsAdded,
                At::Value("uniqueItems"),
                "`uniqueItems: true` is new: arrays with a repeated item were valid and go to quarantine now".to_owned(),
                None,
            );
        } else if o.unique_items && !n.unique_items {
            self.push(
                Verdict::Safe,
                Rule::UniqueItemsRemoved,
                At::Object,
                "`uniqueItems` was removed: repeated items are allowed".to_owned(),
                None,
            );
        }
    }

    /// `properties`, `required`, `additionalProperties`, `minProperties`, `maxProperties`.
    fn objects(
        &mut self,
        old: Side<'_>,
        new: Side<'_>,
        o: &SchemaObject,
        n: &SchemaObject,
        domain: &Domain<'_>,
    ) {
        if !domain.admits(InstanceType::Object) {
            return;
        }
        for (index, name) in n.required.iter().enumerate() {
            if o.required.contains(name) {
                continue;
            }
            let all_have_it = domain
                .values_of(InstanceType::Object)
                .is_some_and(|values| {
                    values
                        .iter()
                        .all(|v| v.as_object().is_some_and(|m| m.contains_key(name)))
                });
            if all_have_it {
                continue;
            }
            self.push(
                Verdict::Breaking,
                Rule::RequiredAdded,
                At::Item("required", index),
                format!("`{name}` is required now: events without it go to quarantine"),
                Some(format!(
                    "make `{name}` required only once every producer sends it; until then, keep it optional"
                )),
            );
        }
        for name in o.required.iter().filter(|name| !n.required.contains(name)) {
            self.push(
                Verdict::Safe,
                Rule::RequiredRemoved,
                At::Value("required"),
                format!("`{name}` is no longer required"),
                None,
            );
        }
        let closed = old.additional().is_false();
        let old_max = if closed {
            let declared = o
                .properties
                .iter()
                .filter(|(_, s)| !matches!(s, Schema::Bool(false)))
                .count() as u64;
            Some(o.max_properties.map_or(declared, |max| max.min(declared)))
        } else {
            o.max_properties
        };
        let old_min = o.min_properties.unwrap_or(0).max(o.required.len() as u64);
        self.counts(
            Counted::Properties,
            (old_min, old_max),
            (o.min_properties, o.max_properties),
            (n.min_properties, n.max_properties),
        );

        if let Some(keyword) = interaction(old, new, PROPERTY_INTERACTIONS) {
            let differ = ["properties", "additionalProperties", keyword]
                .iter()
                .any(|k| !self.identical(keyword_json(old, k), keyword_json(new, k)));
            if differ {
                self.push(
                    Verdict::CannotTell,
                    Rule::KeywordNotJudged,
                    At::Key(keyword),
                    format!("properties changed next to `{keyword}`, which decides which property schema applies to a name; this check does not compare them"),
                    Some(validate_help()),
                );
            }
            return;
        }

        let mut names: Vec<&str> = n.properties.iter().map(|(name, _)| name.as_str()).collect();
        for (name, _) in &o.properties {
            if !names.contains(&name.as_str()) {
                names.push(name);
            }
        }
        for name in names {
            match (old.property(name), new.property(name)) {
                (Some(before), Some(after)) => {
                    self.nested(
                        &["properties", name],
                        Step::Property(name.to_owned()),
                        |c| c.schema(before, after),
                    );
                }
                (None, Some(after)) => self.property_added(name, old.additional(), after),
                (Some(before), None) => self.property_removed(name, before, new.additional()),
                (None, None) => {}
            }
        }

        let (old_rest, new_rest) = (old.additional(), new.additional());
        if self.identical(old_rest.json, new_rest.json) {
            return;
        }
        if new_rest.is_false() {
            self.push(
                Verdict::Breaking,
                Rule::AdditionalPropertiesClosed,
                At::Value("additionalProperties"),
                "`additionalProperties: false` is new: events with a property not listed in `properties` go to quarantine".to_owned(),
                Some("close an object only once no producer sends other properties; list the ones they do send in `properties`".to_owned()),
            );
        } else if old_rest.is_false() {
            self.push(
                Verdict::Safe,
                Rule::AdditionalPropertiesOpened,
                At::Key("additionalProperties"),
                "`additionalProperties` is no longer false: properties not listed are allowed"
                    .to_owned(),
                None,
            );
        } else {
            self.nested(&["additionalProperties"], Step::Any, |c| {
                c.schema(old_rest, new_rest)
            });
        }
    }

    /// A property listed in the new `properties` only: before, `additionalProperties` decided
    /// what it could be.
    fn property_added(&mut self, name: &str, old_rest: Side<'_>, after: Side<'_>) {
        let at = At::Object;
        let step = Step::Property(name.to_owned());
        if old_rest.is_false() {
            self.nested(&["properties", name], step, |c| {
                c.push(
                    Verdict::Safe,
                    Rule::PropertyAdded,
                    at,
                    format!("`{name}` is a new property; the object was closed (`additionalProperties: false`), so no valid event had it"),
                    None,
                )
            });
            return;
        }
        let open = matches!(old_rest.schema, Schema::Bool(true));
        let judged = self.judge(&["properties", name], step.clone(), old_rest, after);
        let help = Some(format!(
            "if no producer ever sent `{name}`, nothing breaks: check stored events with `ingest validate`; objects declared with `additionalProperties: false` make new properties safe additions"
        ));
        let (verdict, message, help) = match judged {
            None | Some((Verdict::Safe, _)) => (
                Verdict::Safe,
                format!(
                    "`{name}` is a new property and accepts everything the object allowed under that name before"
                ),
                None,
            ),
            Some((Verdict::Breaking, _)) if open => (
                Verdict::Breaking,
                format!(
                    "`{name}` is a new property, but the object was open: events could send `{name}` with any value, and those its schema rejects go to quarantine"
                ),
                help,
            ),
            Some((Verdict::Breaking, reason)) => (
                Verdict::Breaking,
                format!(
                    "`{name}` is a new property, narrower than what `additionalProperties` allowed under that name before ({reason})"
                ),
                help,
            ),
            Some((verdict, reason)) => (
                verdict,
                format!(
                    "`{name}` is a new property; before, `additionalProperties` decided what it could be, and this check cannot tell whether the new schema accepts all of that ({reason})"
                ),
                help,
            ),
        };
        self.nested(&["properties", name], step, |c| {
            c.push(verdict, Rule::PropertyAdded, at, message, help)
        });
    }

    /// A property listed in the old `properties` only: now `additionalProperties` decides.
    fn property_removed(&mut self, name: &str, before: Side<'_>, new_rest: Side<'_>) {
        let step = Step::Property(name.to_owned());
        let (verdict, message, help) = if new_rest.is_false() {
            (
                Verdict::Breaking,
                format!(
                    "`{name}` is no longer listed in `properties` and `additionalProperties` is false, so events that send it go to quarantine"
                ),
                Some(format!(
                    "keep `{name}` in `properties` until no producer sends it"
                )),
            )
        } else {
            match self.judge(&["additionalProperties"], step.clone(), before, new_rest) {
                None | Some((Verdict::Safe, _)) => (
                    Verdict::Safe,
                    format!(
                        "`{name}` is no longer listed in `properties`; `additionalProperties` accepts what it accepted"
                    ),
                    None,
                ),
                Some((verdict, reason)) => (
                    verdict,
                    format!(
                        "`{name}` is no longer listed in `properties`, so `additionalProperties` decides what it may be: {reason}"
                    ),
                    Some(format!(
                        "keep `{name}` in `properties` until no producer sends it"
                    )),
                ),
            }
        };
        self.nested(&["properties", name], step, |c| {
            c.push(verdict, Rule::PropertyRemoved, At::Object, message, help)
        });
    }

    /// Keywords no family judges: unchanged is fine, changed is "cannot tell".
    fn unjudged(&mut self, old: Side<'_>, new: Side<'_>) {
        let mut keys: Vec<&String> = new.map().map(|m| m.keys().collect()).unwrap_or_default();
        for key in old.map().into_iter().flat_map(|m| m.keys()) {
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        for key in keys {
            // Extensions (`x-owner`) are annotations too.
            if JUDGED.contains(&key.as_str()) || crate::keywords::is_extension(key) {
                continue;
            }
            let (before, after) = (keyword_json(old, key), keyword_json(new, key));
            let target_changed = match (key.as_str(), before) {
                ("$ref" | "$dynamicRef", Value::String(reference)) => {
                    !refs::reference_unchanged(self.old, self.new, reference)
                }
                _ => false,
            };
            if old.has(key) && new.has(key) && self.identical(before, after) && !target_changed {
                continue;
            }
            let what = match (old.has(key), new.has(key)) {
                (false, _) => "is new",
                (_, false) => "was removed",
                _ if target_changed && json_equal(before, after) => {
                    "points at a schema that changed"
                }
                _ => "changed",
            };
            self.push(
                Verdict::CannotTell,
                Rule::KeywordNotJudged,
                At::Key(key),
                format!("`{key}` {what}, and this check has no rule for `{key}`, so it cannot tell whether every event that was valid still is"),
                Some(validate_help()),
            );
        }
    }
}

/// What to run when the check cannot tell.
fn validate_help() -> String {
    "check stored events against the new spec with `ingest validate --spec <new spec> <events>`"
        .to_owned()
}

/// The first of `keywords` present on either side.
fn interaction(old: Side<'_>, new: Side<'_>, keywords: &[&'static str]) -> Option<&'static str> {
    keywords.iter().copied().find(|k| old.has(k) || new.has(k))
}

/// A keyword's JSON value, or `null` when absent (only compared, never judged).
fn keyword_json<'a>(side: Side<'a>, keyword: &str) -> &'a Value {
    static ABSENT: Value = Value::Null;
    side.json.get(keyword).unwrap_or(&ABSENT)
}

/// The values `enum` and `const` allow together, as written.
fn raw_values(object: &SchemaObject) -> Option<Vec<Value>> {
    match (&object.enum_values, &object.const_value) {
        (Some(values), Some(constant)) => Some(
            values
                .iter()
                .filter(|v| json_equal(v, constant))
                .cloned()
                .collect(),
        ),
        (Some(values), None) => Some(values.clone()),
        (None, Some(constant)) => Some(vec![constant.clone()]),
        (None, None) => None,
    }
}

/// The listed values that the object's other keywords also accept (as far as they can be
/// checked on a single value without a full validator).
fn listed_values(object: &SchemaObject) -> Option<Vec<Value>> {
    let values = raw_values(object)?;
    Some(
        values
            .into_iter()
            .filter(|value| {
                object
                    .types
                    .as_ref()
                    .is_none_or(|types| types.iter().any(|t| t.matches(value)))
                    && number::admits_value(object, value) != Some(false)
                    && string::admits_value(object, value) != Some(false)
            })
            .collect(),
    )
}

/// Every value of an object whose `type` allows only finitely many (`null`, `boolean`).
fn finite_by_type(object: &SchemaObject) -> Option<Vec<Value>> {
    let types = object.types.as_ref()?;
    let mut values = Vec::new();
    for kind in types {
        match kind {
            InstanceType::Null => values.push(Value::Null),
            InstanceType::Boolean => values.extend([Value::Bool(false), Value::Bool(true)]),
            _ => return None,
        }
    }
    Some(values)
}

fn contains(values: &[Value], value: &Value) -> bool {
    values.iter().any(|v| json_equal(v, value))
}

/// The value at a path of a JSON document.
fn lookup<'v>(root: &'v Value, path: &[PathSegment]) -> Option<&'v Value> {
    path.iter().try_fold(root, |value, segment| match segment {
        PathSegment::Key(key) => value.as_object()?.get(key),
        PathSegment::Index(index) => value.as_array()?.get(*index),
    })
}

fn pointer(path: &[PathSegment]) -> String {
    path.iter()
        .map(|segment| {
            format!(
                "/{}",
                segment.to_string().replace('~', "~0").replace('/', "~1")
            )
        })
        .collect()
}

/// A JSON value on one line.
fn compact(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// A value as code: `"admin"`, `3`.
fn code(value: &Value) -> String {
    format!("`{}`", compact(value))
}

fn refs_list(values: &[&Value]) -> String {
    let shown: Vec<String> = values.iter().map(|v| code(v)).collect();
    shown.join(", ")
}

fn list_text(values: &[Value]) -> String {
    let shown: Vec<String> = values.iter().map(code).collect();
    shown.join(", ")
}

fn kind_text(kind: InstanceType) -> &'static str {
    match kind {
        InstanceType::Null => "`null`",
        InstanceType::Boolean => "booleans",
        InstanceType::Object => "objects",
        InstanceType::Array => "arrays",
        InstanceType::Number => "numbers",
        InstanceType::String => "strings",
        InstanceType::Integer => "integers",
    }
}

/// `type` as written (`` `string` ``, `` `[string, null]` ``), or "absent".
fn types_text(side: Side<'_>) -> String {
    match side.json.get("type") {
        Some(Value::String(name)) => format!("`{name}`"),
        Some(Value::Array(names)) => {
            let names: Vec<&str> = names.iter().filter_map(Value::as_str).collect();
            format!("`[{}]`", names.join(", "))
        }
        Some(other) => code(other),
        None => "absent".to_owned(),
    }
}

/// "any string", "any value".
fn any_of_text(types: Option<&BTreeSet<InstanceType>>) -> String {
    match types {
        Some(types) if types.len() == 1 => {
            format!(
                "any {}",
                types.iter().next().map_or("value", |t| t.as_str())
            )
        }
        _ => "any value".to_owned(),
    }
}

/// What a count keyword counts.
#[derive(Debug, Clone, Copy)]
enum Counted {
    Characters,
    Items,
    Properties,
}

impl Counted {
    fn keywords(self) -> (&'static str, &'static str) {
        match self {
            Counted::Characters => ("minLength", "maxLength"),
            Counted::Items => ("minItems", "maxItems"),
            Counted::Properties => ("minProperties", "maxProperties"),
        }
    }

    fn rules(self) -> (Rule, Rule) {
        match self {
            Counted::Characters => (Rule::LengthNarrowed, Rule::LengthWidened),
            Counted::Items => (Rule::ItemCountNarrowed, Rule::ItemCountWidened),
            Counted::Properties => (Rule::PropertyCountNarrowed, Rule::PropertyCountWidened),
        }
    }

    /// "a string of 3 characters".
    fn example(self, count: u64) -> String {
        let plural = if count == 1 { "" } else { "s" };
        match self {
            Counted::Characters => format!("a string of {count} character{plural}"),
            Counted::Items => format!("an array of {count} item{plural}"),
            Counted::Properties => format!(
                "an object with {count} propert{}",
                if count == 1 { "y" } else { "ies" }
            ),
        }
    }
}

impl Comparer<'_> {
    /// A pair of count keywords, judged on counts alone: `old` is the range of counts the old
    /// object admits (its own keywords and what its siblings imply), `before` and `after` the
    /// keywords as written.
    fn counts(
        &mut self,
        counted: Counted,
        old: (u64, Option<u64>),
        before: (Option<u64>, Option<u64>),
        after: (Option<u64>, Option<u64>),
    ) {
        let (min_key, max_key) = counted.keywords();
        let (narrowed, widened) = counted.rules();
        let (old_min, old_max) = old;
        if old_max.is_some_and(|max| max < old_min) {
            return;
        }
        if before.0 != after.0 {
            let new_min = after.0.unwrap_or(0);
            if new_min > old_min {
                self.push(
                    Verdict::Breaking,
                    narrowed,
                    At::Value(min_key),
                    format!(
                        "`{min_key}` is {new_min} now (was {}): {} was valid and goes to quarantine now",
                        count_text(before.0),
                        counted.example(old_min)
                    ),
                    None,
                );
            } else {
                self.push(
                    Verdict::Safe,
                    widened,
                    At::Value(min_key),
                    format!(
                        "`{min_key}` is {} now (was {})",
                        count_text(after.0),
                        count_text(before.0)
                    ),
                    None,
                );
            }
        }
        if before.1 != after.1 {
            match (after.1, old_max) {
                (Some(new_max), old_max) if old_max.is_none_or(|max| new_max < max) => {
                    let witness = old_min.max(new_max + 1);
                    self.push(
                        Verdict::Breaking,
                        narrowed,
                        At::Value(max_key),
                        format!(
                            "`{max_key}` is {new_max} now (was {}): {} was valid and goes to quarantine now",
                            count_text(before.1),
                            counted.example(witness)
                        ),
                        None,
                    );
                }
                _ => self.push(
                    Verdict::Safe,
                    widened,
                    At::Value(max_key),
                    format!(
                        "`{max_key}` is {} now (was {})",
                        count_text(after.1),
                        count_text(before.1)
                    ),
                    None,
                ),
            }
        }
    }
}

fn count_text(count: Option<u64>) -> String {
    count.map_or_else(|| "absent".to_owned(), |c| c.to_string())
}

#[cfg(test)]
mod tests;
