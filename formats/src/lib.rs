//! The string formats `ingest` asserts: one table, read by every crate that names a format.
//!
//! A schema's `format` is checked, not only annotated (the format-assertion vocabulary of
//! draft 2020-12), for the formats of [`Format::ALL`]; any other name is refused when the schema
//! is loaded. Two crates need the list and cannot share it through each other: the schema
//! model and generator (`ingest-codegen`: parsing `format`, its diagnostics, the `#[event]`
//! attribute, the generated code that names a checker, the breaking-change check's samples)
//! and the runtime that generated code links (`ingest-runtime`: the checkers themselves, over
//! bytes). The runtime must not depend on the generator (the Lambda would build `syn`), so the
//! table lives here, in a crate with no dependencies that both read; the checkers stay in
//! `ingest_runtime::format`, the one place that implements what [`Format::asserts`] states.
//!
//! Adding a format is a variant here (name, statement, sample; [`Format::ALL`] in documentation
//! order) and its checker in the runtime; the compiler points at every `match` that must learn it.

#![no_std]

/// A string format that schemas may assert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Format {
    /// RFC 3339 `date-time`.
    DateTime,
    /// RFC 3339 `full-date`.
    Date,
    /// RFC 3339 `full-time`.
    Time,
    /// RFC 3339 duration (ISO 8601, appendix A).
    Duration,
    /// RFC 4122 UUID in its hyphenated form.
    Uuid,
    /// RFC 5321 mailbox.
    Email,
    /// RFC 2673 dotted-quad IPv4 address.
    Ipv4,
    /// RFC 4291 IPv6 address.
    Ipv6,
    /// RFC 1123 host name, A-labels checked as IDNA 2008.
    Hostname,
    /// RFC 3986 URI (with a scheme).
    Uri,
}

impl Format {
    /// Every format, in the order the documentation lists them.
    pub const ALL: [Format; 10] = [
        Format::DateTime,
        Format::Date,
        Format::Time,
        Format::Duration,
        Format::Uuid,
        Format::Email,
        Format::Ipv4,
        Format::Ipv6,
        Format::Hostname,
        Format::Uri,
    ];

    /// The name used in JSON Schema (`date-time`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Format::DateTime => "date-time",
            Format::Date => "date",
            Format::Time => "time",
            Format::Duration => "duration",
            Format::Uuid => "uuid",
            Format::Email => "email",
            Format::Ipv4 => "ipv4",
            Format::Ipv6 => "ipv6",
            Format::Hostname => "hostname",
            Format::Uri => "uri",
        }
    }

    /// The format a schema names, if `ingest` asserts it.
    pub fn named(name: &str) -> Option<Format> {
        Format::ALL
            .into_iter()
            .find(|format| format.as_str() == name)
    }

    /// What a string must be to be in the format, in a sentence (for documentation and
    /// messages).
    pub const fn asserts(self) -> &'static str {
        match self {
            Format::DateTime => {
                "an RFC 3339 date-time: a full date, `T`, a time with an optional fraction, and `Z` or an offset (leap seconds only at 23:59:60 UTC)"
            }
            Format::Date => {
                "an RFC 3339 full-date, `YYYY-MM-DD`, a real day of the Gregorian calendar"
            }
            Format::Time => {
                "an RFC 3339 full-time: `HH:MM:SS`, an optional fraction, and `Z` or an offset"
            }
            Format::Duration => "an RFC 3339 duration (ISO 8601, appendix A), such as `P1DT12H`",
            Format::Uuid => "an RFC 4122 UUID in its hyphenated form, of any version and variant",
            Format::Email => {
                "an RFC 5321 mailbox: a dot-atom or quoted local part, `@`, and a host name or an address literal"
            }
            Format::Ipv4 => "an RFC 2673 dotted-quad IPv4 address, without leading zeros",
            Format::Ipv6 => "an RFC 4291 IPv6 address, without a zone id",
            Format::Hostname => {
                "an RFC 1123 host name, its A-labels valid IDNA 2008 (RFC 5891 and 5892)"
            }
            Format::Uri => "an RFC 3986 URI with a scheme (absolute)",
        }
    }

    /// A string in the format (a witness for the breaking-change check, an example in
    /// documentation).
    pub const fn sample(self) -> &'static str {
        match self {
            Format::DateTime => "2024-01-31T09:30:00Z",
            Format::Date => "2024-01-31",
            Format::Time => "09:30:00Z",
            Format::Duration => "P1DT12H",
            Format::Uuid => "123e4567-e89b-12d3-a456-426614174000",
            Format::Email => "someone@example.com",
            Format::Ipv4 => "192.0.2.1",
            Format::Ipv6 => "2001:db8::1",
            Format::Hostname => "events.example.com",
            Format::Uri => "https://example.com/a?b=c",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Format;

    #[test]
    fn every_format_is_listed_once_and_found_by_its_name() {
        for (index, format) in Format::ALL.into_iter().enumerate() {
            assert_eq!(Format::named(format.as_str()), Some(format));
            assert!(!Format::ALL[..index].contains(&format), "{format:?} twice");
            assert!(!format.asserts().is_empty() && !format.sample().is_empty());
        }
        assert_eq!(Format::named("date_time"), None);
        assert_eq!(Format::named("Date-Time"), None);
    }
}
