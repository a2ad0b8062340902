//! The string formats that schemas may assert: `date-time`, `date`, `uuid` and `email`.
//!
//! Each checker is hand-written over bytes (no regex, no allocation) and follows the RFC the
//! JSON Schema Test Suite's `optional/format` files test: RFC 3339 for dates and times (leap
//! seconds only at 23:59:60 UTC), RFC 4122 for UUIDs (any version and variant), RFC 5321 for
//! e-mail addresses (dot-atom or quoted local part; a host name or an address literal).

use std::net::{Ipv4Addr, Ipv6Addr};

/// A format name as written in a schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// RFC 3339 `date-time`.
    DateTime,
    /// RFC 3339 `full-date`.
    Date,
    /// RFC 4122 UUID in its hyphenated form.
    Uuid,
    /// RFC 5321 mailbox.
    Email,
}

impl Format {
    /// The name used in JSON Schema.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::DateTime => "date-time",
            Format::Date => "date",
            Format::Uuid => "uuid",
            Format::Email => "email",
        }
    }

    /// Whether `text` is in this format.
    #[inline]
    pub fn matches(self, text: &str) -> bool {
        match self {
            Format::DateTime => is_date_time(text),
            Format::Date => is_date(text),
            Format::Uuid => is_uuid(text),
            Format::Email => is_email(text),
        }
    }
}

fn digits(bytes: &[u8]) -> Option<u32> {
    if bytes.is_empty() || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        bytes
            .iter()
            .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0')),
    )
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn date_bytes(b: &[u8]) -> bool {
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let (Some(year), Some(month), Some(day)) =
        (digits(&b[0..4]), digits(&b[5..7]), digits(&b[8..10]))
    else {
        return false;
    };
    (1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month)
}

/// RFC 3339 `full-date`: `YYYY-MM-DD`, a real day of the Gregorian calendar.
pub fn is_date(text: &str) -> bool {
    date_bytes(text.as_bytes())
}

/// RFC 3339 `date-time`: a full date, `T`, a time with optional fraction, and `Z` or an offset.
pub fn is_date_time(text: &str) -> bool {
    let b = text.as_bytes();
    if b.len() < 20 || !date_bytes(&b[..10]) || !matches!(b[10], b'T' | b't') {
        return false;
    }
    let t = &b[11..];
    if t[2] != b':' || t[5] != b':' {
        return false;
    }
    let (Some(hour), Some(minute), Some(second)) =
        (digits(&t[0..2]), digits(&t[3..5]), digits(&t[6..8]))
    else {
        return false;
    };
    if hour > 23 || minute > 59 || second > 60 {
        return false;
    }
    let mut rest = &t[8..];
    if let Some(fraction) = rest.strip_prefix(b".") {
        let count = fraction.iter().take_while(|d| d.is_ascii_digit()).count();
        if count == 0 {
            return false;
        }
        rest = &fraction[count..];
    }
    let offset_minutes: i32 = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let (Some(oh), Some(om)) = (digits(&[*h1, *h2]), digits(&[*m1, *m2])) else {
                return false;
            };
            if oh > 23 || om > 59 {
                return false;
            }
            let minutes = (oh * 60 + om) as i32;
            if *sign == b'-' { -minutes } else { minutes }
        }
        _ => return false,
    };
    if second == 60 {
        let utc = ((hour * 60 + minute) as i32 - offset_minutes).rem_euclid(24 * 60);
        return utc == 23 * 60 + 59;
    }
    true
}

static HEX: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = (i as u8).is_ascii_hexdigit();
        i += 1;
    }
    table
};

/// RFC 4122 UUID: 32 hex digits in groups of 8-4-4-4-12.
pub fn is_uuid(text: &str) -> bool {
    let b = text.as_bytes();
    if b.len() != 36 || b[8] != b'-' || b[13] != b'-' || b[18] != b'-' || b[23] != b'-' {
        return false;
    }
    let hex = |range: std::ops::Range<usize>| b[range].iter().all(|c| HEX[usize::from(*c)]);
    hex(0..8) && hex(9..13) && hex(14..18) && hex(19..23) && hex(24..36)
}

fn is_atext(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&c)
}

fn is_hostname(domain: &str) -> bool {
    !domain.is_empty()
        && domain.len() <= 253
        && domain.split('.').all(|label| {
            let l = label.as_bytes();
            !l.is_empty()
                && l.len() <= 63
                && l.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
                && l[0] != b'-'
                && l[l.len() - 1] != b'-'
        })
}

/// RFC 5321 mailbox: a dot-atom or quoted local part, `@`, and a host name or an address
/// literal (`[127.0.0.1]`, `[IPv6:::1]`).
pub fn is_email(text: &str) -> bool {
    let b = text.as_bytes();
    let domain_start = if b.first() == Some(&b'"') {
        let mut i = 1;
        loop {
            match b.get(i) {
                Some(b'\\') if b.get(i + 1).is_some_and(|c| (0x20..0x7f).contains(c)) => i += 2,
                Some(b'"') => break,
                Some(c) if (0x20..0x7f).contains(c) && *c != b'\\' => i += 1,
                _ => return false,
            }
        }
        if i == 1 || b.get(i + 1) != Some(&b'@') {
            return false;
        }
        i + 2
    } else {
        let Some(at) = b.iter().position(|c| *c == b'@') else {
            return false;
        };
        let local = &b[..at];
        if local.is_empty()
            || local.len() > 64
            || !local
                .split(|c| *c == b'.')
                .all(|atom| !atom.is_empty() && atom.iter().all(|c| is_atext(*c)))
        {
            return false;
        }
        at + 1
    };
    let domain = &text[domain_start..];
    if let Some(literal) = domain.strip_prefix('[').and_then(|d| d.strip_suffix(']')) {
        return match literal.strip_prefix("IPv6:") {
            Some(v6) => v6.parse::<Ipv6Addr>().is_ok(),
            None => literal.parse::<Ipv4Addr>().is_ok(),
        };
    }
    is_hostname(domain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_times() {
        assert!(is_date_time("1963-06-19T08:30:06.283185Z"));
        assert!(is_date_time("1998-12-31T15:59:60.123-08:00"));
        assert!(!is_date_time("1998-12-31T23:58:60Z"));
        assert!(!is_date_time("1990-12-31T15:59:59-24:00"));
        assert!(!is_date_time("1985-04-12T23:20:50Z\n"));
        assert!(!is_date_time("1963-06-11T0\u{09ea}:00:00Z"));
    }

    #[test]
    fn dates_uuids_emails() {
        assert!(is_date("2020-02-29") && !is_date("2100-02-29") && !is_date("2020-01-0:"));
        assert!(is_uuid("2EB8AA08-AA98-11EA-B4AA-73B441D16380"));
        assert!(!is_uuid("2eb8aa08-aa98-11ea-b4aa-73b441d1_380"));
        assert!(is_email("\"joe@bloggs\"@example.com") && is_email("joe.bloggs@[IPv6:::1]"));
        assert!(!is_email("te..st@example.com") && !is_email("joe.bloggs@[127.0.0.300]"));
    }
}
