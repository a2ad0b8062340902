//! The checkers of the string formats that schemas may assert: `date-time`, `date`, `time`,
//! `duration`, `uuid`, `email`, `ipv4`, `ipv6`, `hostname` and `uri`. The list itself (names,
//! what each asserts, a sample) is [`Format`]'s, in `ingest-formats`, which the generator reads
//! too; [`matches`] is the one implementation of each.
//!
//! Each checker is hand-written over bytes (no allocation on the common path) and follows the
//! RFC the JSON Schema Test Suite's `optional/format` files test: RFC 3339 for dates, times and
//! durations (leap seconds only at 23:59:60 UTC; durations by its appendix A grammar), RFC 4122
//! for UUIDs (any version and variant), RFC 5321 for e-mail addresses (dot-atom or quoted local
//! part; a host name or an address literal), RFC 2673 and RFC 4291 for IP addresses (the
//! standard library's strict parsers: no leading zeros, no zone ids), RFC 1123 for host names
//! with A-labels decoded (RFC 3492) and checked as IDNA 2008 U-labels (RFC 5891, and the
//! contextual rules of RFC 5892), and RFC 3986 for URIs (absolute: a scheme is required).

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::LazyLock;

use regex::Regex;

pub use ingest_formats::Format;

/// Whether `text` is in `format`: what [`Format::asserts`] states, checked.
#[inline]
pub fn matches(format: Format, text: &str) -> bool {
    match format {
        Format::DateTime => is_date_time(text),
        Format::Date => is_date(text),
        Format::Time => is_time(text),
        Format::Duration => is_duration(text),
        Format::Uuid => is_uuid(text),
        Format::Email => is_email(text),
        Format::Ipv4 => text.parse::<Ipv4Addr>().is_ok(),
        Format::Ipv6 => text.parse::<Ipv6Addr>().is_ok(),
        Format::Hostname => is_hostname(text),
        Format::Uri => is_uri(text),
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
    b.len() >= 20 && date_bytes(&b[..10]) && matches!(b[10], b'T' | b't') && time_bytes(&b[11..])
}

/// RFC 3339 `full-time`: `HH:MM:SS`, an optional fraction, and `Z` or an offset.
pub fn is_time(text: &str) -> bool {
    time_bytes(text.as_bytes())
}

fn time_bytes(t: &[u8]) -> bool {
    if t.len() < 9 || t[2] != b':' || t[5] != b':' {
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

/// RFC 3339 appendix A duration: `P`, then date elements (`Y`, `M`, `D`, each optional but
/// contiguous: `P1Y2D` is not one), then `T` and time elements (`H`, `M`, `S`, likewise); or
/// `P<n>W` alone. Every element is whole digits and a unit; at least one element.
pub fn is_duration(text: &str) -> bool {
    let Some(rest) = text.strip_prefix('P') else {
        return false;
    };
    let (date, time) = match rest.split_once('T') {
        Some((date, time)) => (date, Some(time)),
        None => (rest, None),
    };
    if let Some(weeks) = date.strip_suffix('W') {
        return time.is_none() && !weeks.is_empty() && weeks.bytes().all(|b| b.is_ascii_digit());
    }
    let time_ok = match time {
        Some(time) => !time.is_empty() && elements(time, b"HMS"),
        None => true,
    };
    (!date.is_empty() || time.is_some()) && elements(date, b"YMD") && time_ok
}

/// Whether `text` is a run of `<digits><unit>` elements whose units are consecutive entries
/// of `units` (for `YMD`: `Y`, `YM`, `YMD`, `M`, `MD`, `D`).
fn elements(text: &str, units: &[u8]) -> bool {
    let b = text.as_bytes();
    let mut i = 0;
    let mut next_unit: Option<usize> = None;
    while i < b.len() {
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let Some(unit) = b.get(i) else {
            return false;
        };
        let Some(position) = units.iter().position(|u| u == unit) else {
            return false;
        };
        if i == start || next_unit.is_some_and(|expected| expected != position) {
            return false;
        }
        next_unit = Some(position + 1);
        i += 1;
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

/// RFC 1123 host name in ASCII: dot-separated labels of letters, digits and hyphens, none
/// empty, none longer than 63 or starting or ending with a hyphen, 253 characters in all.
fn is_ascii_hostname(domain: &str) -> bool {
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
    is_ascii_hostname(domain)
}

/// `hostname`: an RFC 1123 host name whose labels with `--` in their third and fourth place
/// are A-labels (`xn--...`) that decode (RFC 3492) to valid IDNA 2008 U-labels.
pub fn is_hostname(text: &str) -> bool {
    is_ascii_hostname(text)
        && text.split('.').all(|label| {
            let b = label.as_bytes();
            if b.len() < 4 || &b[2..4] != b"--" {
                return true;
            }
            if !b[..2].eq_ignore_ascii_case(b"xn") {
                return false;
            }
            punycode_decode(&label[4..]).is_some_and(|u| is_u_label(&u))
        })
}

/// RFC 3492 section 6.2, for the part of an A-label after `xn--`.
fn punycode_decode(input: &str) -> Option<Vec<char>> {
    const BASE: u32 = 36;
    const T_MIN: u32 = 1;
    const T_MAX: u32 = 26;
    let digit = |b: u8| match b {
        b'0'..=b'9' => Some(u32::from(b - b'0') + 26),
        b'a'..=b'z' => Some(u32::from(b - b'a')),
        b'A'..=b'Z' => Some(u32::from(b - b'A')),
        _ => None,
    };
    let adapt = |mut delta: u32, count: u32, first: bool| {
        delta /= if first { 700 } else { 2 };
        delta += delta / count;
        let mut k = 0;
        while delta > ((BASE - T_MIN) * T_MAX) / 2 {
            delta /= BASE - T_MIN;
            k += BASE;
        }
        k + (BASE - T_MIN + 1) * delta / (delta + 38)
    };
    let bytes = input.as_bytes();
    let (basic, encoded) = match bytes.iter().rposition(|b| *b == b'-') {
        Some(at) if at > 0 => (&bytes[..at], &bytes[at + 1..]),
        _ => (&bytes[..0], bytes),
    };
    let mut output: Vec<char> = basic.iter().map(|b| char::from(*b)).collect();
    let (mut n, mut i, mut bias, mut at) = (128u32, 0u32, 72u32, 0usize);
    while at < encoded.len() {
        let old_i = i;
        let mut weight = 1u32;
        let mut k = BASE;
        loop {
            let d = digit(*encoded.get(at)?)?;
            at += 1;
            i = i.checked_add(d.checked_mul(weight)?)?;
            let t = if k <= bias {
                T_MIN
            } else if k >= bias + T_MAX {
                T_MAX
            } else {
                k - bias
            };
            if d < t {
                break;
            }
            weight = weight.checked_mul(BASE - t)?;
            k += BASE;
        }
        let count = u32::try_from(output.len()).ok()? + 1;
        bias = adapt(i - old_i, count, old_i == 0);
        n = n.checked_add(i / count)?;
        i %= count;
        output.insert(i as usize, char::from_u32(n)?);
        i += 1;
    }
    Some(output)
}

/// Code points with canonical combining class 9 (Virama), which RFC 5892 appendix A.1 and A.2
/// let precede a zero-width joiner or non-joiner (Unicode 14).
const VIRAMAS: &[char] = &[
    '\u{094D}',
    '\u{09CD}',
    '\u{0A4D}',
    '\u{0ACD}',
    '\u{0B4D}',
    '\u{0BCD}',
    '\u{0C4D}',
    '\u{0CCD}',
    '\u{0D3B}',
    '\u{0D3C}',
    '\u{0D4D}',
    '\u{0DCA}',
    '\u{0E3A}',
    '\u{0EBA}',
    '\u{0F84}',
    '\u{1039}',
    '\u{103A}',
    '\u{1714}',
    '\u{1715}',
    '\u{1734}',
    '\u{17D2}',
    '\u{1A60}',
    '\u{1B44}',
    '\u{1BAA}',
    '\u{1BAB}',
    '\u{1BF2}',
    '\u{1BF3}',
    '\u{2D7F}',
    '\u{A806}',
    '\u{A82C}',
    '\u{A8C4}',
    '\u{A953}',
    '\u{A9C0}',
    '\u{AAF6}',
    '\u{ABED}',
    '\u{10A3F}',
    '\u{11046}',
    '\u{11070}',
    '\u{1107F}',
    '\u{110B9}',
    '\u{11133}',
    '\u{11134}',
    '\u{111C0}',
    '\u{11235}',
    '\u{112EA}',
    '\u{1134D}',
    '\u{11442}',
    '\u{114C2}',
    '\u{115BF}',
    '\u{1163F}',
    '\u{116B6}',
    '\u{1172B}',
    '\u{11839}',
    '\u{1193D}',
    '\u{1193E}',
    '\u{119E0}',
    '\u{11A34}',
    '\u{11A47}',
    '\u{11A99}',
    '\u{11C3F}',
    '\u{11D44}',
    '\u{11D45}',
    '\u{11D97}',
];

/// Unicode classes the U-label rules need, through the `regex` crate's Unicode tables.
struct Classes {
    /// General category Mark (a label must not start with one).
    mark: Regex,
    /// What IDNA 2008 derives as PVALID from the general category (RFC 5892 section 2.1):
    /// lowercase, modifier and other letters, non-spacing and spacing marks, decimal digits.
    valid: Regex,
    /// The Greek script (what must follow a KERAIA).
    greek: Regex,
    /// The Hebrew script (what must precede a GERESH or GERSHAYIM).
    hebrew: Regex,
    /// Hiragana, Katakana and Han (one must be beside a KATAKANA MIDDLE DOT).
    kana_han: Regex,
    /// Letters of the scripts that join cursively: the context RFC 5892 appendix A.1 lets a
    /// zero-width non-joiner stand in, by script rather than by the Joining_Type table that
    /// the `regex` crate does not carry.
    joining: Regex,
    /// What cursive joining passes over: non-spacing and enclosing marks, format characters.
    transparent: Regex,
}

static CLASSES: LazyLock<Classes> = LazyLock::new(|| {
    let class = |pattern: &str| Regex::new(&format!("^{pattern}$")).expect("a valid class");
    Classes {
        mark: class(r"\p{M}"),
        valid: class(r"[\p{Ll}\p{Lm}\p{Lo}\p{Mn}\p{Mc}\p{Nd}]"),
        greek: class(r"\p{Greek}"),
        hebrew: class(r"\p{Hebrew}"),
        kana_han: class(r"[\p{Hiragana}\p{Katakana}\p{Han}]"),
        joining: class(
            r"[\p{Arabic}\p{Syriac}\p{Nko}\p{Mongolian}\p{Mandaic}\p{Manichaean}\p{Psalter_Pahlavi}\p{Adlam}\p{Hanifi_Rohingya}\p{Sogdian}\p{Phags_Pa}]",
        ),
        transparent: class(r"[\p{Mn}\p{Me}\p{Cf}]"),
    }
});

fn is_in(class: &Regex, c: char) -> bool {
    let mut buffer = [0u8; 4];
    class.is_match(c.encode_utf8(&mut buffer))
}

/// Whether a decoded A-label is a valid U-label: not empty, not ASCII only, no hyphen at
/// either end or in the third and fourth place, not starting with a mark, every code point
/// PVALID (or an exception of RFC 5892 section 2.6 allowed by its context).
fn is_u_label(label: &[char]) -> bool {
    let classes = &*CLASSES;
    if label.is_empty()
        || label.iter().all(char::is_ascii)
        || label[0] == '-'
        || label[label.len() - 1] == '-'
        || (label.len() >= 4 && label[2] == '-' && label[3] == '-')
        || is_in(&classes.mark, label[0])
    {
        return false;
    }
    let letter_before = |i: usize| {
        label[..i]
            .iter()
            .rev()
            .find(|c| !is_in(&classes.transparent, **c))
            .is_some_and(|c| is_in(&classes.joining, *c))
    };
    let letter_after = |i: usize| {
        label[i + 1..]
            .iter()
            .find(|c| !is_in(&classes.transparent, **c))
            .is_some_and(|c| is_in(&classes.joining, *c))
    };
    let mut arabic_indic = false;
    let mut extended_arabic_indic = false;
    let mut katakana_middle_dot = false;
    for (i, &c) in label.iter().enumerate() {
        let before = i.checked_sub(1).map(|j| label[j]);
        let after = label.get(i + 1).copied();
        let ok = match c {
            'a'..='z' | '0'..='9' | '-' => true,
            // Contextual rules (RFC 5892 appendix A).
            '\u{200C}' => {
                before.is_some_and(|b| VIRAMAS.contains(&b))
                    || (letter_before(i) && letter_after(i))
            }
            '\u{200D}' => before.is_some_and(|b| VIRAMAS.contains(&b)),
            '\u{00B7}' => before == Some('l') && after == Some('l'),
            '\u{0375}' => after.is_some_and(|a| is_in(&classes.greek, a)),
            '\u{05F3}' | '\u{05F4}' => before.is_some_and(|b| is_in(&classes.hebrew, b)),
            '\u{30FB}' => {
                katakana_middle_dot = true;
                true
            }
            '\u{0660}'..='\u{0669}' => {
                arabic_indic = true;
                true
            }
            '\u{06F0}'..='\u{06F9}' => {
                extended_arabic_indic = true;
                true
            }
            // Exceptions (RFC 5892 section 2.6).
            '\u{00DF}' | '\u{03C2}' | '\u{06FD}' | '\u{06FE}' | '\u{0F0B}' | '\u{3007}' => true,
            '\u{0640}'
            | '\u{07FA}'
            | '\u{302E}'
            | '\u{302F}'
            | '\u{3031}'..='\u{3035}'
            | '\u{303B}' => false,
            c if c.is_ascii() => false,
            c => is_in(&classes.valid, c),
        };
        if !ok {
            return false;
        }
    }
    let kana_han = || {
        label
            .iter()
            .any(|c| *c != '\u{30FB}' && is_in(&classes.kana_han, *c))
    };
    !(arabic_indic && extended_arabic_indic) && (!katakana_middle_dot || kana_han())
}

/// RFC 3986 `URI`: a scheme, `:`, a hierarchical part (`//authority` and a path, or a path),
/// an optional query and fragment, every character allowed where it stands and every `%`
/// followed by two hex digits.
pub fn is_uri(text: &str) -> bool {
    let (rest, fragment) = match text.split_once('#') {
        Some((rest, fragment)) => (rest, Some(fragment)),
        None => (text, None),
    };
    let (rest, query) = match rest.split_once('?') {
        Some((rest, query)) => (rest, Some(query)),
        None => (rest, None),
    };
    let Some((scheme, hier)) = rest.split_once(':') else {
        return false;
    };
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b));
    let tail_ok = |part: Option<&str>| part.is_none_or(|p| uri_chars(p, b":@/?"));
    if !scheme_ok || !tail_ok(query) || !tail_ok(fragment) {
        return false;
    }
    let path = match hier.strip_prefix("//") {
        Some(after) => {
            let end = after.find('/').unwrap_or(after.len());
            if !is_authority(&after[..end]) {
                return false;
            }
            &after[end..]
        }
        None => hier,
    };
    uri_chars(path, b":@/")
}

/// `[userinfo "@"] host [":" port]`.
fn is_authority(authority: &str) -> bool {
    let (userinfo, host_port) = match authority.rsplit_once('@') {
        Some((userinfo, host_port)) => (Some(userinfo), host_port),
        None => (None, authority),
    };
    if userinfo.is_some_and(|u| !uri_chars(u, b":")) {
        return false;
    }
    let (host_ok, port) = if let Some(literal) = host_port.strip_prefix('[') {
        let Some((inside, after)) = literal.split_once(']') else {
            return false;
        };
        let ip_future = inside.starts_with(['v', 'V'])
            && inside[1..].split_once('.').is_some_and(|(version, rest)| {
                !version.is_empty()
                    && version.bytes().all(|b| b.is_ascii_hexdigit())
                    && !rest.is_empty()
                    && !rest.contains('%')
                    && uri_chars(rest, b":")
            });
        let ok = inside.parse::<Ipv6Addr>().is_ok() || ip_future;
        match after {
            "" => (ok, None),
            _ => match after.strip_prefix(':') {
                Some(port) => (ok, Some(port)),
                None => return false,
            },
        }
    } else {
        let (host, port) = match host_port.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        };
        (uri_chars(host, b""), port)
    };
    host_ok && port.is_none_or(|p| p.bytes().all(|b| b.is_ascii_digit()))
}

/// Whether every character is unreserved, a sub-delimiter, one of `extra`, or a complete
/// percent-encoding.
fn uri_chars(text: &str, extra: &[u8]) -> bool {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'%' {
            if !(b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
            {
                return false;
            }
            i += 3;
            continue;
        }
        if !(c.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=".contains(&c) || extra.contains(&c)) {
            return false;
        }
        i += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_has_a_checker_that_takes_its_sample() {
        for format in Format::ALL {
            assert!(matches(format, format.sample()), "{}", format.as_str());
            assert!(!matches(format, ""), "{}", format.as_str());
        }
    }

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
    fn times_and_durations() {
        assert!(is_time("23:59:60Z") && is_time("01:29:60+01:30") && !is_time("23:59:60+01:00"));
        assert!(!is_time("12:00:00") && !is_time("2020-11-28T23:55:45Z"));
        for valid in ["P4DT12H30M5S", "P2W", "PT36H", "P1Y2M", "PT1M2S", "P01D"] {
            assert!(is_duration(valid), "{valid}");
        }
        for invalid in [
            "P", "PT", "P1YT", "P2D1Y", "P1D2H", "P1Y2W", "P1Y2D", "PT1H2S", "P1WT1H", "PT0.5S",
        ] {
            assert!(!is_duration(invalid), "{invalid}");
        }
    }

    #[test]
    fn host_names_and_uris() {
        assert!(is_hostname("www.example.com") && is_hostname("xn--9n2bp8q.xn--9t4b11yi5a"));
        assert!(!is_hostname("example.") && !is_hostname("xn--X") && !is_hostname("ab--c"));
        assert!(
            is_hostname("xn--ll-0ea") && !is_hostname("xn--al-0ea"),
            "a middle dot between l's"
        );
        assert!(
            is_uri("ldap://[2001:db8::7]/c=GB?objectClass?one") && is_uri("tel:+1-816-555-1212")
        );
        assert!(!is_uri("/abc") && !is_uri("http://example.com/%6G") && !is_uri("http:/[::1]"));
        assert!(
            !is_uri("https://[@example.org/test.txt") && !is_uri("http://example.com:abc/path")
        );
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
