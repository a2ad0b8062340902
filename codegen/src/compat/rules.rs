//! The rules a comparison can report, each with a stable code and what it means.

use std::fmt;

/// How a change affects events that were valid under the old schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Verdict {
    /// Some events that were valid before are rejected now: they go to quarantine.
    Breaking,
    /// The check cannot decide: it found no event that breaks, and cannot prove that none does.
    CannotTell,
    /// Every event that was valid before is still valid.
    Safe,
}

impl Verdict {
    /// The name used in reports: `breaking`, `cannot tell`, `safe`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Breaking => "breaking",
            Verdict::CannotTell => "cannot tell",
            Verdict::Safe => "safe",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! rules {
    ($($(#[doc = $doc:literal])* $variant:ident = $code:literal,)*) => {
        /// What changed, by keyword family. Most rules come out as one verdict; those whose
        /// verdict depends on the values involved (a new property, two patterns) say so.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Rule {
            $($(#[doc = $doc])* $variant,)*
        }

        impl Rule {
            /// Every rule, in the order the documentation lists them.
            pub const ALL: &'static [Rule] = &[$(Rule::$variant,)*];

            /// The stable, kebab-case code (`required-added`).
            pub fn code(self) -> &'static str {
                match self {
                    $(Rule::$variant => $code,)*
                }
            }
        }
    };
}

rules! {
    /// An event type is gone: its events are quarantined as `unknown_type` (breaking).
    EventTypeRemoved = "event-type-removed",
    /// A new event type (safe).
    EventTypeAdded = "event-type-added",
    /// A schema became `false`: nothing is valid there any more (breaking).
    SchemaFalse = "schema-false",
    /// A schema that was `false` now accepts values (safe).
    SchemaFalseRemoved = "schema-false-removed",
    /// `type` lost a type, `null` included, or `number` became `integer` (breaking).
    TypeNarrowed = "type-narrowed",
    /// `type` gained a type or was removed (safe).
    TypeWidened = "type-widened",
    /// `enum` or `const` where any value of the type was allowed (breaking).
    EnumAdded = "enum-added",
    /// A value left `enum` (breaking).
    EnumValueRemoved = "enum-value-removed",
    /// `const` changed (breaking).
    ConstChanged = "const-changed",
    /// A value joined `enum`, or `const` became an `enum` that includes it (safe).
    EnumValueAdded = "enum-value-added",
    /// `enum` or `const` was removed (safe).
    EnumRemoved = "enum-removed",
    /// `minimum`, `maximum`, `exclusiveMinimum` or `exclusiveMaximum` excludes numbers that
    /// were valid (breaking).
    RangeNarrowed = "range-narrowed",
    /// A numeric bound was relaxed or removed, or changed without excluding a valid number
    /// (safe).
    RangeWidened = "range-widened",
    /// `multipleOf` added or changed so that valid numbers are not multiples of it (breaking).
    MultipleOfNarrowed = "multiple-of-narrowed",
    /// `multipleOf` removed, or changed to a divisor of the old one (safe).
    MultipleOfWidened = "multiple-of-widened",
    /// `minLength` raised or `maxLength` lowered (breaking).
    LengthNarrowed = "length-narrowed",
    /// `minLength` lowered or `maxLength` raised or removed (safe).
    LengthWidened = "length-widened",
    /// A `pattern` where there was none: breaking when a string that was valid does not match
    /// it, otherwise cannot tell.
    PatternAdded = "pattern-added",
    /// `pattern` changed: breaking when a string that matched the old one does not match the
    /// new one, otherwise cannot tell.
    PatternChanged = "pattern-changed",
    /// `pattern` removed (safe).
    PatternRemoved = "pattern-removed",
    /// A `format` where there was none: breaking when a string that was valid is not in it,
    /// otherwise cannot tell.
    FormatAdded = "format-added",
    /// `format` changed: breaking when a string of the old format is not of the new one,
    /// otherwise cannot tell.
    FormatChanged = "format-changed",
    /// `format` removed (safe).
    FormatRemoved = "format-removed",
    /// `minItems` raised or `maxItems` lowered (breaking).
    ItemCountNarrowed = "item-count-narrowed",
    /// `minItems` lowered or `maxItems` raised or removed (safe).
    ItemCountWidened = "item-count-widened",
    /// `uniqueItems: true` where repeated items were allowed (breaking).
    UniqueItemsAdded = "unique-items-added",
    /// `uniqueItems` removed (safe).
    UniqueItemsRemoved = "unique-items-removed",
    /// A property became required (breaking).
    RequiredAdded = "required-added",
    /// A property is no longer required (safe).
    RequiredRemoved = "required-removed",
    /// A property is declared now: safe when the object was closed or its new schema accepts
    /// whatever `additionalProperties` allowed under that name; breaking otherwise.
    PropertyAdded = "property-added",
    /// A property is no longer declared: safe when `additionalProperties` accepts its old
    /// values; breaking when the object is closed.
    PropertyRemoved = "property-removed",
    /// `additionalProperties: false` where the object was open (breaking).
    AdditionalPropertiesClosed = "additional-properties-closed",
    /// `additionalProperties: false` removed (safe).
    AdditionalPropertiesOpened = "additional-properties-opened",
    /// `minProperties` raised or `maxProperties` lowered (breaking).
    PropertyCountNarrowed = "property-count-narrowed",
    /// `minProperties` lowered or `maxProperties` raised or removed (safe).
    PropertyCountWidened = "property-count-widened",
    /// A keyword this check has no rule for changed, or one that changes what the judged
    /// keywords mean is present (cannot tell).
    KeywordNotJudged = "keyword-not-judged",
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}
