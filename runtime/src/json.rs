//! A strict, pull-style JSON reader over a byte slice.
//!
//! Generated validators drive this reader directly: they ask what kind of value comes next, read
//! it in the type they expect and check it on the spot, so a record is validated in one pass and
//! never materialized as a tree. The reader follows RFC 8259 exactly and is stricter than most
//! parsers where strictness protects the pipeline:
//!
//! - duplicate keys in an object are an error (a reader of the good bucket must never have to
//!   guess which of two values was meant);
//! - strings must be valid UTF-8 and escapes must not leave lone surrogates;
//! - numbers that overflow `f64` are an error (as in `serde_json`);
//! - nesting deeper than [`MAX_DEPTH`] is an error, so no input can exhaust the stack.
//!
//! Strings without escapes are borrowed from the input; only escaped strings allocate.
//!
//! Where the time goes, and why the reader looks the way it does (measured on the benchmark
//! corpus, see BENCHMARKS.md):
//!
//! - The input's UTF-8 is checked once, by `std::str::from_utf8` over the whole record (about
//!   4% of the fast path), and strings are then sliced from that `&str` for free. Folding the
//!   check into the string scan would not save it: handing out a `&str` without a second check
//!   needs `from_utf8_unchecked`, and this workspace forbids `unsafe`.
//! - Strings are scanned eight bytes at a time (`scan_string`).
//! - Hot loops read keys and strings with [`Parser::read_key`] and [`Parser::read_str`], which
//!   return almost nothing and keep the text in the reader ([`Parser::last_str`]):
//!   a returned `Result<Option<Cow<str>>, Error>` is too large for registers, and copying it
//!   back out of memory stalled the processor on every key (store-to-load forwarding).
//!   [`Parser::next_key`] and [`Parser::parse_str`] are the same readers with the convenient
//!   signature.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use crate::number::Num;

/// How deeply arrays and objects may nest in one record (the same limit as `serde_json`).
pub const MAX_DEPTH: usize = 128;

/// The stack of a thread that validates: 8 MiB, what a process's main thread has on Linux
/// (and so the Lambda functions, which validate on theirs). A validator recurses once per
/// level of nesting, at most [`MAX_DEPTH`] levels, and a recursive schema (a tree of nodes) can
/// make every level a recursion of the validator: measured in a debug build at the depth
/// limit, about 0.6 MiB for generated code and 1.8 MiB for `ingest-eval`'s interpreter
/// (`tests/tests/deep.rs` checks a quarter of this suffices). A spawned thread's default
/// (2 MiB) is too close, so the threads `ingest validate` and `ingest dev` spawn are given this.
pub const VALIDATION_STACK: usize = 8 * 1024 * 1024;

/// The kind of the next JSON value, known from its first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `null`
    Null,
    /// `true` or `false`
    Bool,
    /// a number
    Number,
    /// a string
    String,
    /// an array
    Array,
    /// an object
    Object,
}

impl Kind {
    /// The kind with an article, for messages ("an object").
    pub fn described(self) -> &'static str {
        match self {
            Kind::Null => "null",
            Kind::Bool => "a boolean",
            Kind::Number => "a number",
            Kind::String => "a string",
            Kind::Array => "an array",
            Kind::Object => "an object",
        }
    }
}

/// Why reading stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The bytes are not JSON.
    Syntax {
        /// Byte offset of the problem in the parsed slice.
        offset: usize,
        /// What was wrong.
        message: &'static str,
    },
    /// An object has the same key twice.
    DuplicateKey {
        /// Byte offset just after the repeated key.
        offset: usize,
        /// The repeated key.
        key: String,
    },
    /// The fast path found a violation and stopped early; the verdict is "invalid".
    Stop,
}

impl Error {
    /// Whether the input itself is malformed (as opposed to an early stop of the fast path).
    pub fn is_malformed(&self) -> bool {
        !matches!(self, Error::Stop)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Syntax { offset, message } => write!(f, "{message} at byte {offset}"),
            Error::DuplicateKey { offset, key } => {
                write!(f, "duplicate key {key:?} at byte {offset}")
            }
            Error::Stop => f.write_str("validation stopped at the first violation"),
        }
    }
}

impl std::error::Error for Error {}

/// The reader. See the module documentation.
#[derive(Debug, Clone)]
pub struct Parser<'a> {
    bytes: &'a [u8],
    /// The whole input as text; empty when the input is not UTF-8 (then nothing reads).
    text: &'a str,
    utf8: bool,
    pos: usize,
    depth: usize,
    /// The string (key or value) read last, when it had no escapes.
    string: &'a str,
    /// Whether the string read last had escapes; then `decoded` holds it.
    escaped: bool,
    decoded: String,
}

/// The offset of the first byte at or after `start` that is `"`, `\\` or a control character,
/// or the end of `bytes`.
///
/// Eight bytes are tested at once in a `u64` (the SWAR trick serde_json also uses): each test
/// sets the high bit of a byte that matches, and may also set it in bytes above a match (a
/// borrow carries upwards), never below, so the lowest set bit is exactly the first stop. The
/// last few bytes are padded with `"`, so the tail needs no byte-by-byte loop: a stop found in
/// the padding is the end of the input. (Sixteen bytes at a time in SIMD registers measured no
/// faster: moving the result back to a general register goes through memory.)
#[inline(always)]
fn scan_string(bytes: &[u8], start: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut i = start;
    loop {
        let rest = bytes.get(i..).unwrap_or_default();
        let word = match rest.first_chunk::<8>() {
            Some(chunk) => u64::from_le_bytes(*chunk),
            None => {
                let mut padded = [b'"'; 8];
                padded[..rest.len()].copy_from_slice(rest);
                u64::from_le_bytes(padded)
            }
        };
        let quote = word ^ (ONES * u64::from(b'"'));
        let backslash = word ^ (ONES * u64::from(b'\\'));
        let stops = (quote.wrapping_sub(ONES) & !quote)
            | (backslash.wrapping_sub(ONES) & !backslash)
            | (word.wrapping_sub(ONES * 0x20) & !word);
        let stops = stops & HIGH;
        if stops != 0 {
            return i + (stops.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
}

impl<'a> Parser<'a> {
    /// A reader at the start of `bytes`. JSON is UTF-8 (RFC 8259), so the whole input is
    /// checked once here; strings are then sliced from it without checking each again.
    pub fn new(bytes: &'a [u8]) -> Self {
        let (text, utf8) = match std::str::from_utf8(bytes) {
            Ok(text) => (text, true),
            Err(_) => ("", false),
        };
        Parser {
            bytes,
            text,
            utf8,
            pos: 0,
            depth: 0,
            string: "",
            escaped: false,
            decoded: String::new(),
        }
    }

    /// The current byte offset.
    #[inline]
    pub fn offset(&self) -> usize {
        self.pos
    }

    /// The input between two offsets (used to re-read a value for `enum`, `const` and
    /// `uniqueItems`).
    #[inline]
    pub fn slice(&self, start: usize, end: usize) -> &'a [u8] {
        &self.bytes[start..end]
    }

    /// A reader over the input between two offsets (a value read before), which shares this
    /// reader's UTF-8 check instead of repeating it.
    pub fn sub(&self, start: usize, end: usize) -> Parser<'a> {
        let text = self.text.get(start..end);
        Parser {
            bytes: &self.bytes[start..end],
            text: text.unwrap_or(""),
            utf8: self.utf8 && text.is_some(),
            pos: 0,
            depth: 0,
            string: "",
            escaped: false,
            decoded: String::new(),
        }
    }

    /// A second reader at the same position, for validating the value ahead again against
    /// another schema (the applicators `allOf`, `anyOf`, `oneOf`, `not`, `if`, and
    /// `unevaluatedProperties`). It keeps the nesting depth, so the depth limit holds in it too;
    /// it does not copy the last string read (nothing reads it before the next value).
    #[inline]
    pub fn fork(&self) -> Parser<'a> {
        Parser {
            bytes: self.bytes,
            text: self.text,
            utf8: self.utf8,
            pos: self.pos,
            depth: self.depth,
            string: "",
            escaped: false,
            decoded: String::new(),
        }
    }

    /// A reader at `offset`, the start of a member's value in the object that starts at this
    /// reader's position (an offset [`crate::check::Members`] recorded): one level deeper, as
    /// reading the object would be there.
    #[inline]
    pub fn member_at(&self, offset: usize) -> Parser<'a> {
        let mut member = self.fork();
        member.pos = offset;
        member.depth += 1;
        member
    }

    // Errors are rare: keeping their construction out of line keeps the hot readers small
    // enough to inline, so what they return stays in registers.
    #[cold]
    #[inline(never)]
    fn syntax<T>(&self, message: &'static str) -> Result<T, Error> {
        Err(Error::Syntax {
            offset: self.pos,
            message,
        })
    }

    #[inline(always)]
    fn skip_whitespace(&mut self) {
        // Compact JSON has no whitespace: one test, and the loop only when there is some.
        if self.bytes.get(self.pos).is_some_and(|b| *b > b' ') {
            return;
        }
        self.skip_whitespace_slow();
    }

    #[inline(never)]
    fn skip_whitespace_slow(&mut self) {
        while let Some(&b) = self.bytes.get(self.pos) {
            if matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    /// The kind of the next value (after whitespace), without consuming it.
    #[inline(always)]
    pub fn peek(&mut self) -> Result<Kind, Error> {
        if !self.utf8 {
            return self.syntax("invalid UTF-8");
        }
        self.skip_whitespace();
        match self.bytes.get(self.pos) {
            Some(b'{') => Ok(Kind::Object),
            Some(b'[') => Ok(Kind::Array),
            Some(b'"') => Ok(Kind::String),
            Some(b'-' | b'0'..=b'9') => Ok(Kind::Number),
            Some(b't' | b'f') => Ok(Kind::Bool),
            Some(b'n') => Ok(Kind::Null),
            Some(_) => self.syntax("expected a JSON value"),
            None => self.syntax("unexpected end of input"),
        }
    }

    fn literal(&mut self, word: &'static [u8]) -> Result<(), Error> {
        if self.bytes[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(())
        } else {
            self.syntax("invalid literal")
        }
    }

    /// Reads `null` (call after [`Parser::peek`] returned [`Kind::Null`]).
    #[inline]
    pub fn parse_null(&mut self) -> Result<(), Error> {
        self.skip_whitespace();
        self.literal(b"null")
    }

    /// Reads `true` or `false`.
    #[inline]
    pub fn parse_bool(&mut self) -> Result<bool, Error> {
        self.skip_whitespace();
        if self.bytes.get(self.pos) == Some(&b't') {
            self.literal(b"true").map(|()| true)
        } else {
            self.literal(b"false").map(|()| false)
        }
    }

    /// Reads a number.
    pub fn parse_number(&mut self) -> Result<Num, Error> {
        self.skip_whitespace();
        let start = self.pos;
        let negative = self.bytes.get(self.pos) == Some(&b'-');
        if negative {
            self.pos += 1;
        }
        let mut integer: u64 = 0;
        let mut overflow = false;
        match self.bytes.get(self.pos) {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                while let Some(&b) = self.bytes.get(self.pos) {
                    if !b.is_ascii_digit() {
                        break;
                    }
                    match integer
                        .checked_mul(10)
                        .and_then(|v| v.checked_add(u64::from(b - b'0')))
                    {
                        Some(v) => integer = v,
                        None => overflow = true,
                    }
                    self.pos += 1;
                }
            }
            _ => return self.syntax("invalid number"),
        }
        let mut is_float = false;
        if self.bytes.get(self.pos) == Some(&b'.') {
            is_float = true;
            self.pos += 1;
            if !self.bytes.get(self.pos).is_some_and(u8::is_ascii_digit) {
                return self.syntax("invalid number: a digit must follow the decimal point");
            }
            while self.bytes.get(self.pos).is_some_and(u8::is_ascii_digit) {
                self.pos += 1;
            }
        }
        if matches!(self.bytes.get(self.pos), Some(b'e' | b'E')) {
            is_float = true;
            self.pos += 1;
            if matches!(self.bytes.get(self.pos), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if !self.bytes.get(self.pos).is_some_and(u8::is_ascii_digit) {
                return self.syntax("invalid number: a digit must follow the exponent");
            }
            while self.bytes.get(self.pos).is_some_and(u8::is_ascii_digit) {
                self.pos += 1;
            }
        }
        if !is_float && !overflow {
            if !negative {
                return Ok(Num::from_u64(integer));
            }
            if integer <= i64::MAX as u64 + 1 {
                return Ok(Num::Int((integer as i128).wrapping_neg() as i64));
            }
        }
        // The lexeme is ASCII, and `text` is the input checked as UTF-8 already.
        let text = self.text.get(start..self.pos).unwrap_or("x");
        match text.parse::<f64>() {
            Ok(value) if value.is_finite() => Ok(Num::Float(value)),
            _ => Err(Error::Syntax {
                offset: start,
                message: "number out of range",
            }),
        }
    }

    /// Reads a string; borrowed from the input unless it has escapes.
    #[inline(always)]
    pub fn parse_str(&mut self) -> Result<Cow<'a, str>, Error> {
        self.read_str()?;
        Ok(self.last_str())
    }

    /// Reads a string and keeps it in the reader (see [`Parser::last_str`]).
    ///
    /// This is [`Parser::parse_str`] for hot loops: what it returns is small, whereas a
    /// `Result<Cow<str>, _>` goes through memory, and copying it back costs more than reading
    /// the string (a store-to-load forwarding stall on every string).
    #[inline(always)]
    pub fn read_str(&mut self) -> Result<(), Error> {
        self.skip_whitespace();
        if self.bytes.get(self.pos) != Some(&b'"') {
            return self.syntax("expected a string");
        }
        self.string_body()
    }

    /// The key or string read last (by [`Parser::read_key`], [`Parser::read_str`] or the
    /// methods built on them); borrowed from the input unless it had escapes.
    #[inline(always)]
    pub fn last_str(&self) -> Cow<'a, str> {
        if self.escaped {
            Cow::Owned(self.decoded.clone())
        } else {
            Cow::Borrowed(self.string)
        }
    }

    /// Reads a string whose opening quote is at the current offset.
    #[inline(always)]
    fn string_body(&mut self) -> Result<(), Error> {
        let start = self.pos + 1;
        let end = scan_string(self.bytes, start);
        // `text` is empty when the input is not UTF-8, so `get` fails then too.
        if self.bytes.get(end) == Some(&b'"')
            && let Some(text) = self.text.get(start..end)
        {
            self.pos = end + 1;
            self.string = text;
            self.escaped = false;
            return Ok(());
        }
        self.string_slow(start, end)
    }

    /// The rest of [`Parser::string_body`] when the fast scan stopped on anything but the
    /// closing quote of valid UTF-8 text.
    #[cold]
    #[inline(never)]
    fn string_slow(&mut self, start: usize, end: usize) -> Result<(), Error> {
        self.pos = end;
        match self.bytes.get(end) {
            Some(b'"') => self.syntax("invalid UTF-8"),
            Some(b'\\') => {
                self.decoded = self.parse_escaped(start)?;
                self.escaped = true;
                Ok(())
            }
            Some(_) => self.syntax("control character in a string"),
            None => self.syntax("unterminated string"),
        }
    }

    fn parse_escaped(&mut self, start: usize) -> Result<String, Error> {
        let mut out: Vec<u8> = Vec::with_capacity(self.pos - start + 16);
        out.extend_from_slice(&self.bytes[start..self.pos]);
        loop {
            let Some(&b) = self.bytes.get(self.pos) else {
                return self.syntax("unterminated string");
            };
            self.pos += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    let Some(&e) = self.bytes.get(self.pos) else {
                        return self.syntax("unterminated string");
                    };
                    self.pos += 1;
                    match e {
                        b'"' => out.push(b'"'),
                        b'\\' => out.push(b'\\'),
                        b'/' => out.push(b'/'),
                        b'b' => out.push(0x08),
                        b'f' => out.push(0x0c),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let c = self.unicode_escape()?;
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                        }
                        _ => {
                            self.pos -= 1;
                            return self.syntax("invalid escape");
                        }
                    }
                }
                0..=0x1f => {
                    self.pos -= 1;
                    return self.syntax("control character in a string");
                }
                _ => out.push(b),
            }
        }
        String::from_utf8(out).or_else(|_| self.syntax("invalid UTF-8 in a string"))
    }

    fn hex4(&mut self) -> Result<u32, Error> {
        let Some(digits) = self.bytes.get(self.pos..self.pos + 4) else {
            return self.syntax("invalid \\u escape");
        };
        let mut value = 0u32;
        for &d in digits {
            let nibble = match d {
                b'0'..=b'9' => d - b'0',
                b'a'..=b'f' => d - b'a' + 10,
                b'A'..=b'F' => d - b'A' + 10,
                _ => return self.syntax("invalid \\u escape"),
            };
            value = value * 16 + u32::from(nibble);
        }
        self.pos += 4;
        Ok(value)
    }

    fn unicode_escape(&mut self) -> Result<char, Error> {
        let first = self.hex4()?;
        let code = match first {
            0xD800..=0xDBFF => {
                if self.bytes.get(self.pos..self.pos + 2) != Some(b"\\u") {
                    return self.syntax("lone leading surrogate in a \\u escape");
                }
                self.pos += 2;
                let second = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&second) {
                    return self.syntax("invalid surrogate pair in a \\u escape");
                }
                0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
            }
            0xDC00..=0xDFFF => return self.syntax("lone trailing surrogate in a \\u escape"),
            other => other,
        };
        char::from_u32(code).map_or_else(|| self.syntax("invalid \\u escape"), Ok)
    }

    fn enter(&mut self) -> Result<(), Error> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.syntax("nesting too deep");
        }
        self.pos += 1;
        Ok(())
    }

    /// Consumes `{`. Then call [`Parser::next_key`] until it returns `None`.
    #[inline]
    pub fn begin_object(&mut self) -> Result<(), Error> {
        self.skip_whitespace();
        if self.bytes.get(self.pos) != Some(&b'{') {
            return self.syntax("expected an object");
        }
        self.enter()
    }

    /// The next key of an object and the `:` after it, or `None` after the closing `}`.
    /// `first` must start `true` for each object; the reader updates it.
    #[inline(always)]
    pub fn next_key(&mut self, first: &mut bool) -> Result<Option<Cow<'a, str>>, Error> {
        Ok(if self.read_key(first)? {
            Some(self.last_str())
        } else {
            None
        })
    }

    /// Reads the next key of an object and the `:` after it, and keeps the key in the reader
    /// (see [`Parser::last_str`]): `true` when there is one, `false` after the closing `}`.
    /// This is [`Parser::next_key`] for hot loops (see [`Parser::read_str`]).
    #[inline(always)]
    pub fn read_key(&mut self, first: &mut bool) -> Result<bool, Error> {
        self.skip_whitespace();
        match self.bytes.get(self.pos) {
            Some(b'}') => {
                self.pos += 1;
                self.depth -= 1;
                return Ok(false);
            }
            Some(b',') if !*first => {
                self.pos += 1;
                self.skip_whitespace();
            }
            Some(b'"') if *first => {}
            _ => return self.syntax("expected `,` or `}` in an object"),
        }
        *first = false;
        if self.bytes.get(self.pos) != Some(&b'"') {
            return self.syntax("expected a key in an object");
        }
        self.string_body()?;
        self.skip_whitespace();
        if self.bytes.get(self.pos) != Some(&b':') {
            return self.syntax("expected `:` after a key");
        }
        self.pos += 1;
        Ok(true)
    }

    /// Consumes `[`. Then call [`Parser::next_element`] until it returns `false`.
    #[inline]
    pub fn begin_array(&mut self) -> Result<(), Error> {
        self.skip_whitespace();
        if self.bytes.get(self.pos) != Some(&b'[') {
            return self.syntax("expected an array");
        }
        self.enter()
    }

    /// Whether another element follows (then read it), or `false` after the closing `]`.
    #[inline]
    pub fn next_element(&mut self, first: &mut bool) -> Result<bool, Error> {
        self.skip_whitespace();
        match self.bytes.get(self.pos) {
            Some(b']') => {
                self.pos += 1;
                self.depth -= 1;
                Ok(false)
            }
            Some(b',') if !*first => {
                self.pos += 1;
                Ok(true)
            }
            Some(_) if *first => {
                *first = false;
                Ok(true)
            }
            _ => self.syntax("expected `,` or `]` in an array"),
        }
    }

    /// An error for a key seen twice in one object.
    pub fn duplicate_key(&self, key: &str) -> Error {
        Error::DuplicateKey {
            offset: self.pos,
            key: key.to_owned(),
        }
    }

    /// Reads and discards one value of any kind, still checking its syntax and rejecting
    /// duplicate keys.
    pub fn skip_value(&mut self) -> Result<(), Error> {
        match self.peek()? {
            Kind::Null => self.parse_null(),
            Kind::Bool => self.parse_bool().map(drop),
            Kind::Number => self.parse_number().map(drop),
            Kind::String => self.parse_str().map(drop),
            Kind::Array => {
                self.begin_array()?;
                let mut first = true;
                while self.next_element(&mut first)? {
                    self.skip_value()?;
                }
                Ok(())
            }
            Kind::Object => {
                self.begin_object()?;
                let mut first = true;
                let mut keys = KeySet::default();
                while let Some(key) = self.next_key(&mut first)? {
                    if !keys.insert(key.clone()) {
                        return Err(self.duplicate_key(&key));
                    }
                    self.skip_value()?;
                }
                Ok(())
            }
        }
    }

    /// Reads one value into a `serde_json::Value` (for `enum`, `const` and `uniqueItems`).
    pub fn parse_value(&mut self) -> Result<serde_json::Value, Error> {
        use serde_json::Value;
        Ok(match self.peek()? {
            Kind::Null => {
                self.parse_null()?;
                Value::Null
            }
            Kind::Bool => Value::Bool(self.parse_bool()?),
            Kind::Number => Value::Number(self.parse_number()?.to_json()),
            Kind::String => Value::String(self.parse_str()?.into_owned()),
            Kind::Array => {
                self.begin_array()?;
                let mut first = true;
                let mut items = Vec::new();
                while self.next_element(&mut first)? {
                    items.push(self.parse_value()?);
                }
                Value::Array(items)
            }
            Kind::Object => {
                self.begin_object()?;
                let mut first = true;
                let mut map = serde_json::Map::new();
                while let Some(key) = self.next_key(&mut first)? {
                    if map.contains_key(key.as_ref()) {
                        return Err(self.duplicate_key(&key));
                    }
                    let value = self.parse_value()?;
                    map.insert(key.into_owned(), value);
                }
                Value::Object(map)
            }
        })
    }

    /// Checks that only whitespace remains.
    pub fn finish(&mut self) -> Result<(), Error> {
        self.skip_whitespace();
        if self.pos == self.bytes.len() {
            Ok(())
        } else {
            self.syntax("trailing characters after the JSON value")
        }
    }
}

/// The keys seen so far in one object, to reject duplicates among keys that no property
/// declares. The first few keys borrowed from the input are kept inline, so most objects never
/// allocate; a key with escapes (owned) or a large object switches to a hash set.
#[derive(Debug)]
pub struct KeySet<'a> {
    len: usize,
    few: [&'a str; KeySet::INLINE],
    many: Option<HashSet<Cow<'a, str>>>,
}

impl Default for KeySet<'_> {
    #[inline]
    fn default() -> Self {
        KeySet {
            len: 0,
            few: [""; KeySet::INLINE],
            many: None,
        }
    }
}

impl<'a> KeySet<'a> {
    /// How many borrowed keys are kept inline.
    const INLINE: usize = 8;

    /// Adds a key; `false` if it was already there.
    #[inline]
    pub fn insert(&mut self, key: Cow<'a, str>) -> bool {
        match (&mut self.many, key) {
            (None, Cow::Borrowed(key)) if self.len < Self::INLINE => {
                if self.few[..self.len].contains(&key) {
                    return false;
                }
                self.few[self.len] = key;
                self.len += 1;
                true
            }
            (_, key) => self.insert_slow(key),
        }
    }

    #[cold]
    fn insert_slow(&mut self, key: Cow<'a, str>) -> bool {
        let few = &self.few[..self.len];
        self.many
            .get_or_insert_with(|| few.iter().map(|k| Cow::Borrowed(*k)).collect())
            .insert(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str) -> Result<serde_json::Value, Error> {
        let mut parser = Parser::new(text.as_bytes());
        let value = parser.parse_value()?;
        parser.finish()?;
        Ok(value)
    }

    #[test]
    fn reads_what_serde_json_reads() {
        for text in [
            r#"{"a":[1,-2,3.5e2,true,false,null,"x\u00e9\ud83d\ude00\n"],"b":{}}"#,
            " [ ] ",
            "-0",
            "18446744073709551615",
            "-9223372036854775808",
            "1e300",
            r#""\/\b\f\r\t\"\\""#,
        ] {
            let ours = value(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            let theirs: serde_json::Value = serde_json::from_str(text).unwrap();
            assert!(crate::value::json_equal(&ours, &theirs), "{text}");
        }
    }

    #[test]
    fn rejects_what_is_not_json() {
        for text in [
            "",
            "01",
            "1.",
            ".5",
            "-",
            "1e",
            "+1",
            "[1,]",
            "{\"a\":1,}",
            "{a:1}",
            "[1 2]",
            "\"\\ud800\"",
            "\"\\udc00\"",
            "\"\\x\"",
            "\"a\nb\"",
            "nul",
            "truex",
            "1e400",
            "{\"a\":1,\"a\":2}",
            "[1]]",
            "\"unterminated",
        ] {
            assert!(value(text).is_err(), "{text:?} must be rejected");
        }
        assert!(value(&"[".repeat(MAX_DEPTH + 1)).is_err());
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(value(&deep).is_ok());
        let mut parser = Parser::new(b"\"\xff\"");
        assert!(parser.parse_str().is_err(), "invalid UTF-8 is rejected");
    }

    #[test]
    fn big_integers_become_floats_like_serde_json() {
        let mut parser = Parser::new(b"100000000000000000000");
        assert_eq!(parser.parse_number().unwrap(), Num::Float(1e20));
    }

    #[test]
    fn duplicate_keys_are_found_in_large_objects() {
        let keys: Vec<String> = (0..40).map(|i| format!("\"k{i}\":0")).collect();
        let text = format!("{{{},\"k3\":1}}", keys.join(","));
        assert!(matches!(value(&text), Err(Error::DuplicateKey { key, .. }) if key == "k3"));
    }

    fn skip(text: &[u8]) -> Result<(), Error> {
        let mut parser = Parser::new(text);
        parser.skip_value()?;
        parser.finish()
    }

    #[test]
    fn the_key_set_finds_duplicates_inline_spilled_and_escaped() {
        for count in [2, 8, 9, 40] {
            let keys: Vec<String> = (0..count).map(|i| format!("\"k{i}\":0")).collect();
            let unique = format!("{{{}}}", keys.join(","));
            assert_eq!(skip(unique.as_bytes()), Ok(()), "{count} distinct keys");
            for repeated in [r#""k0""#, r#""k1""#, r#""\u006b1""#] {
                let text = format!("{{{},{repeated}:1}}", keys.join(","));
                assert!(
                    matches!(skip(text.as_bytes()), Err(Error::DuplicateKey { key, .. }) if key == "k0" || key == "k1"),
                    "{text}"
                );
            }
        }
        assert!(
            skip(br#"{"\u0061":1,"a":2}"#).is_err(),
            "escaped first, then plain"
        );
    }

    #[test]
    fn strings_end_exactly_where_the_scan_says() {
        // Every length around the 8-byte words and the padded tail, every position of a stop.
        for len in 0..40 {
            let body = "x".repeat(len);
            let text = format!("\"{body}\"");
            let mut parser = Parser::new(text.as_bytes());
            assert_eq!(parser.parse_str().unwrap(), body);
            assert_eq!(parser.finish(), Ok(()));
            assert!(
                Parser::new(format!("\"{body}").as_bytes())
                    .parse_str()
                    .is_err()
            );
            for at in 0..len {
                for stop in [b'\n', 0x1f, 0x00] {
                    let mut bad = text.clone().into_bytes();
                    bad[1 + at] = stop;
                    assert!(Parser::new(&bad).parse_str().is_err(), "{len} {at} {stop}");
                }
                let mut escaped = body.clone();
                escaped.replace_range(at..=at, "\\n");
                let text = format!("\"{escaped}\"");
                let decoded = Parser::new(text.as_bytes()).parse_str().unwrap();
                assert_eq!(decoded.len(), len);
                assert_eq!(decoded.as_bytes()[at], b'\n');
            }
        }
    }

    #[test]
    fn keys_and_strings_are_kept_in_the_reader() {
        let mut parser = Parser::new(br#"{"pla\u0069n":"v\u00e9","b":"w"}"#);
        parser.begin_object().unwrap();
        let mut first = true;
        assert!(parser.read_key(&mut first).unwrap());
        assert_eq!(parser.last_str(), "plain");
        parser.read_str().unwrap();
        assert_eq!(parser.last_str(), "v\u{e9}");
        assert_eq!(parser.next_key(&mut first).unwrap().as_deref(), Some("b"));
        assert!(matches!(parser.parse_str().unwrap(), Cow::Borrowed("w")));
        assert_eq!(parser.next_key(&mut first).unwrap(), None);
    }

    #[test]
    fn invalid_utf8_is_rejected_in_keys_values_and_between_tokens() {
        for text in [
            &b"{\"\xff\":1}"[..],
            b"{\"a\":\"\xc3\x28\"}",
            b"{\"a\":\"\xed\xa0\x80\"}",
            b"{\"a\":\"\xf4\x90\x80\x80\"}",
            b"{\"a\":\"\xe2\x82\"}",
            b"{\"a\":1}\xff",
            b"[1,\xc0\x80]",
        ] {
            assert!(skip(text).is_err(), "{text:?}");
        }
        assert_eq!(skip("{\"\u{e9}\":\"\u{1f600}\"}".as_bytes()), Ok(()));
    }

    #[test]
    fn a_sub_reader_shares_the_utf8_check() {
        let parser = Parser::new("[\"\u{e9}\",2]".as_bytes());
        let mut sub = parser.sub(1, 5);
        assert_eq!(sub.parse_str().unwrap(), "\u{e9}");
        let mut broken = Parser::new(b"[\"a\",\"\xff\"]").sub(1, 4);
        assert!(
            broken.parse_str().is_err(),
            "a reader over invalid UTF-8 reads nothing"
        );
    }
}
