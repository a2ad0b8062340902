//! Splitting an input into records as it is read, in pieces of about [`CHUNK_BYTES`], so a
//! file of any size is validated without holding it whole.
//!
//! An input is NDJSON (one record per non-blank line; a line may itself be a batch array) or one
//! JSON array of records spread over several lines. The first non-blank line decides: an array
//! that opens on it and does not close on it is a list of records; anything else is NDJSON (so
//! a one-line array is one batch record, as in NDJSON). The elements of an array are found by
//! its structure alone (brackets, braces, strings, commas at the top level), and each element is
//! then judged by the strict reader like any record; an array whose structure is broken (not
//! closed, an empty element, text after the closing bracket) is an input error, after the
//! records before the break.

use std::io::Read;

/// About how many bytes one piece of an input holds (pieces end at record boundaries).
pub const CHUNK_BYTES: usize = 1 << 20;

/// Whole records of an input, cut at record boundaries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chunk {
    /// Whole lines of NDJSON; the first is line `first_line` (1-based) of the input.
    Lines {
        /// The line number of the first byte.
        first_line: usize,
        /// The lines, each ending with `\n` except maybe the input's last.
        bytes: Vec<u8>,
    },
    /// Elements of a JSON array of records.
    Elements {
        /// The bytes the elements lie in.
        bytes: Vec<u8>,
        /// Where each element is in `bytes`.
        elements: Vec<Element>,
    },
}

impl Chunk {
    /// Bytes of the input the chunk covers (about; whitespace between elements is not counted).
    pub fn len(&self) -> usize {
        match self {
            Chunk::Lines { bytes, .. } | Chunk::Elements { bytes, .. } => bytes.len(),
        }
    }

    /// Whether it holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One element of a JSON array of records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Element {
    /// First byte in the chunk.
    pub start: usize,
    /// One past the last byte (trailing whitespace excluded).
    pub end: usize,
    /// The line (1-based) of the input where it starts.
    pub line: usize,
    /// Its index in the array (0-based).
    pub index: usize,
}

/// What is wrong with an input as a whole (not with one of its records).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum InputProblem {
    /// It could not be read.
    Unreadable {
        /// What the operating system said.
        message: String,
    },
    /// It holds no record (nothing but whitespace, or an empty array).
    Empty,
    /// It is a JSON array of records whose structure is broken.
    BrokenArray {
        /// The line where the problem is.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

impl std::fmt::Display for InputProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InputProblem::Unreadable { message } => write!(f, "cannot be read: {message}"),
            InputProblem::Empty => write!(f, "holds no records"),
            InputProblem::BrokenArray { line, message } => {
                write!(
                    f,
                    "is a JSON array of records, broken at line {line}: {message}"
                )
            }
        }
    }
}

/// Reads until `buf` holds `want` more bytes or the input ends; returns whether it ended.
///
/// `read_to_end` reads into the vector's spare capacity without zeroing it first (resizing the
/// vector with zeros before each read cost a pass over every byte of the input).
fn fill(reader: &mut impl Read, buf: &mut Vec<u8>, want: usize) -> Result<bool, InputProblem> {
    buf.reserve(want);
    match reader.take(want as u64).read_to_end(buf) {
        Ok(read) => Ok(read < want),
        Err(error) => Err(InputProblem::Unreadable {
            message: error.to_string(),
        }),
    }
}

/// How the input is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    Lines,
    Array,
}

/// Whether the array that opens at `text[0]` closes before the end of its line: `None` when
/// `text` ends first.
fn closes_on_its_line(text: &[u8]) -> Option<bool> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &byte in text {
        if byte == b'\n' {
            return Some(false);
        }
        if in_string {
            match (escaped, byte) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => depth += 1,
            b']' | b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some(true);
                }
            }
            _ => {}
        }
    }
    None
}

/// Reads an input and hands its records to `emit` in pieces, in order; stops early (with
/// `Ok`) when `emit` returns `false`.
pub fn split(
    mut reader: impl Read,
    chunk_bytes: usize,
    emit: &mut dyn FnMut(Chunk) -> bool,
) -> Result<(), InputProblem> {
    let chunk_bytes = chunk_bytes.max(1);
    let mut buf: Vec<u8> = Vec::with_capacity(chunk_bytes + chunk_bytes / 4);
    let mut eof = false;
    let layout = loop {
        match buf.iter().position(|b| !b.is_ascii_whitespace()) {
            Some(start) if buf[start] != b'[' => break Layout::Lines,
            Some(start) => match closes_on_its_line(&buf[start..]) {
                Some(true) => break Layout::Lines,
                Some(false) => break Layout::Array,
                None if eof => break Layout::Lines,
                None => {}
            },
            None if eof => return Err(InputProblem::Empty),
            None => {}
        }
        eof = fill(&mut reader, &mut buf, chunk_bytes)?;
    };
    match layout {
        Layout::Lines => split_lines(reader, buf, eof, chunk_bytes, emit),
        Layout::Array => ArrayScanner::new().split(reader, buf, eof, chunk_bytes, emit),
    }
}

fn split_lines(
    mut reader: impl Read,
    mut buf: Vec<u8>,
    mut eof: bool,
    chunk_bytes: usize,
    emit: &mut dyn FnMut(Chunk) -> bool,
) -> Result<(), InputProblem> {
    let mut line = 1;
    loop {
        if !eof && buf.len() < chunk_bytes {
            let want = chunk_bytes - buf.len();
            eof = fill(&mut reader, &mut buf, want)?;
            continue;
        }
        let cut = if eof {
            buf.len()
        } else {
            match memchr::memrchr(b'\n', &buf) {
                Some(at) => at + 1,
                // A line longer than a chunk: read on until it ends.
                None => {
                    eof = fill(&mut reader, &mut buf, chunk_bytes)?;
                    continue;
                }
            }
        };
        if cut == 0 {
            return Ok(());
        }
        let rest = buf.split_off(cut);
        let bytes = std::mem::replace(&mut buf, rest);
        let lines = memchr::memchr_iter(b'\n', &bytes).count();
        if !emit(Chunk::Lines {
            first_line: line,
            bytes,
        }) {
            return Ok(());
        }
        line += lines;
        if eof && buf.is_empty() {
            return Ok(());
        }
    }
}

/// Finds the elements of a JSON array by its structure, across reads.
struct ArrayScanner {
    /// Next byte of the buffer to look at.
    pos: usize,
    /// Line of that byte.
    line: usize,
    /// Nesting depth: 1 inside the array of records.
    depth: usize,
    in_string: bool,
    escaped: bool,
    /// The element being read: where it starts, its line, and one past its last
    /// non-whitespace byte so far.
    current: Option<(usize, usize, usize)>,
    /// A comma was read and no element followed yet.
    after_comma: bool,
    /// The closing bracket was read.
    closed: bool,
    /// Elements complete in the buffer.
    done: Vec<Element>,
    next_index: usize,
}

impl ArrayScanner {
    fn new() -> Self {
        ArrayScanner {
            pos: 0,
            line: 1,
            depth: 0,
            in_string: false,
            escaped: false,
            current: None,
            after_comma: false,
            closed: false,
            done: Vec::new(),
            next_index: 0,
        }
    }

    fn broken(&self, message: &str) -> InputProblem {
        InputProblem::BrokenArray {
            line: self.line,
            message: message.to_owned(),
        }
    }

    /// Looks at the bytes of `buf` from `pos` on.
    fn scan(&mut self, buf: &[u8]) -> Result<(), InputProblem> {
        while self.pos < buf.len() {
            let byte = buf[self.pos];
            let at = self.pos;
            self.pos += 1;
            if byte == b'\n' {
                self.line += 1;
            }
            if self.in_string {
                match (self.escaped, byte) {
                    (true, _) => self.escaped = false,
                    (false, b'\\') => self.escaped = true,
                    (false, b'"') => {
                        self.in_string = false;
                        self.extend(at);
                    }
                    _ => {}
                }
                continue;
            }
            if self.closed {
                if !byte.is_ascii_whitespace() {
                    return Err(self.broken("text after the closing `]` of the array"));
                }
                continue;
            }
            match (self.depth, byte) {
                (_, b' ' | b'\t' | b'\r' | b'\n') => {}
                (0, b'[') => self.depth = 1,
                (0, _) => return Err(self.broken("the input does not start with `[`")),
                (1, b',') => {
                    if !self.finish_element() {
                        return Err(self.broken("an empty element (two commas, or a comma first)"));
                    }
                    self.after_comma = true;
                }
                (1, b']') => {
                    if !self.finish_element() && self.after_comma {
                        return Err(self.broken("a comma before the closing `]`"));
                    }
                    self.depth = 0;
                    self.closed = true;
                }
                // A stray brace in an element: it stays in the element, which the strict reader
                // then finds malformed.
                (1, b'}') => {
                    self.begin(at);
                    self.extend(at);
                }
                (depth, b'[' | b'{') => {
                    self.begin(at);
                    self.depth = depth + 1;
                    self.extend(at);
                }
                (depth, b']' | b'}') => {
                    self.depth = depth - 1;
                    self.extend(at);
                }
                (_, b'"') => {
                    self.begin(at);
                    self.in_string = true;
                }
                _ => {
                    self.begin(at);
                    self.extend(at);
                }
            }
        }
        Ok(())
    }

    fn begin(&mut self, at: usize) {
        if self.current.is_none() {
            self.current = Some((at, self.line, at + 1));
            self.after_comma = false;
        }
    }

    fn extend(&mut self, at: usize) {
        if let Some((_, _, end)) = &mut self.current {
            *end = at + 1;
        }
    }

    /// Ends the element being read at a comma or the closing bracket: `false` when there is
    /// none.
    fn finish_element(&mut self) -> bool {
        let Some((start, line, end)) = self.current.take() else {
            return false;
        };
        self.done.push(Element {
            start,
            end,
            line,
            index: self.next_index,
        });
        self.next_index += 1;
        true
    }

    /// Moves the complete elements out of `buf` as one chunk.
    fn take_chunk(&mut self, buf: &mut Vec<u8>) -> Option<Chunk> {
        let first = self.done.first()?.start;
        let last = self.done.last()?.end;
        let bytes = buf[first..last].to_vec();
        let elements = self
            .done
            .drain(..)
            .map(|e| Element {
                start: e.start - first,
                end: e.end - first,
                ..e
            })
            .collect();
        buf.drain(..last);
        self.pos -= last;
        if let Some((start, _, end)) = &mut self.current {
            *start -= last;
            *end -= last;
        }
        Some(Chunk::Elements { bytes, elements })
    }

    fn split(
        mut self,
        mut reader: impl Read,
        mut buf: Vec<u8>,
        mut eof: bool,
        chunk_bytes: usize,
        emit: &mut dyn FnMut(Chunk) -> bool,
    ) -> Result<(), InputProblem> {
        loop {
            let scanned = self.scan(&buf);
            let ready = self.done.last().map_or(0, |e| e.end) >= chunk_bytes;
            if (ready || scanned.is_err() || eof || self.closed)
                && let Some(chunk) = self.take_chunk(&mut buf)
                && !emit(chunk)
            {
                return Ok(());
            }
            scanned?;
            if eof {
                return match (self.closed, self.next_index) {
                    (false, _) => {
                        Err(self.broken("the array is not closed: the input ends before its `]`"))
                    }
                    (true, 0) => Err(InputProblem::Empty),
                    (true, _) => Ok(()),
                };
            }
            eof = fill(&mut reader, &mut buf, chunk_bytes)?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(input: &[u8], chunk_bytes: usize) -> (Vec<Chunk>, Result<(), InputProblem>) {
        let mut out = Vec::new();
        let result = split(input, chunk_bytes, &mut |chunk| {
            out.push(chunk);
            true
        });
        (out, result)
    }

    /// (line, index, text) of every record, from any chunking.
    type Split = Vec<(usize, Option<usize>, String)>;

    fn split_all(input: &[u8], chunk_bytes: usize) -> (Split, Result<(), InputProblem>) {
        let (chunks, result) = chunks(input, chunk_bytes);
        let mut out = Vec::new();
        for chunk in chunks {
            match chunk {
                Chunk::Lines { first_line, bytes } => {
                    for (i, line) in bytes.split(|b| *b == b'\n').enumerate() {
                        if !line.iter().all(u8::is_ascii_whitespace) {
                            out.push((
                                first_line + i,
                                None,
                                String::from_utf8_lossy(line).into_owned(),
                            ));
                        }
                    }
                }
                Chunk::Elements { bytes, elements } => {
                    for e in elements {
                        out.push((
                            e.line,
                            Some(e.index),
                            String::from_utf8_lossy(&bytes[e.start..e.end]).into_owned(),
                        ));
                    }
                }
            }
        }
        (out, result)
    }

    #[test]
    fn ndjson_lines_keep_their_numbers_however_the_input_is_cut() {
        let input = b"{\"a\":1}\n\n[{\"b\":2}]\r\n{bad\n  \n{\"c\":\"x\\ny\"}";
        for chunk_bytes in [1, 3, 7, 1 << 20] {
            let (records, result) = split_all(input, chunk_bytes);
            assert_eq!(result, Ok(()));
            let lines: Vec<usize> = records.iter().map(|r| r.0).collect();
            assert_eq!(lines, vec![1, 3, 4, 6], "chunks of {chunk_bytes}");
            assert_eq!(records[1].2, "[{\"b\":2}]\r");
            assert!(records.iter().all(|r| r.1.is_none()));
        }
    }

    #[test]
    fn an_array_over_several_lines_is_a_list_of_records_with_indices() {
        let input = b"[\n  {\"a\":[1,2]},\n  {\"b\":\"],{\\\"\"} ,\n  3\n]\n";
        for chunk_bytes in [1, 5, 1 << 20] {
            let (records, result) = split_all(input, chunk_bytes);
            assert_eq!(result, Ok(()), "chunks of {chunk_bytes}");
            assert_eq!(
                records,
                vec![
                    (2, Some(0), "{\"a\":[1,2]}".to_owned()),
                    (3, Some(1), "{\"b\":\"],{\\\"\"}".to_owned()),
                    (4, Some(2), "3".to_owned()),
                ]
            );
        }
    }

    #[test]
    fn a_one_line_array_is_one_batch_record() {
        let (records, result) = split_all(b"[{\"a\":1},{\"a\":2}]\n{\"b\":1}\n", 4);
        assert_eq!(result, Ok(()));
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].2, "[{\"a\":1},{\"a\":2}]");
        // Not closed and no newline: one (malformed) record, judged as such.
        let (records, result) = split_all(b"[{\"a\":1}", 4);
        assert_eq!((records.len(), result), (1, Ok(())));
    }

    #[test]
    fn broken_arrays_and_empty_inputs_are_input_problems() {
        let (records, result) = split_all(b"[\n{\"a\":1},\n{\"a\":2}\n", 1 << 20);
        assert_eq!(records.len(), 1, "the records before the break are kept");
        assert!(
            matches!(result, Err(InputProblem::BrokenArray { line: 4, .. })),
            "{result:?}"
        );
        let (_, result) = split_all(b"[\n1,\n,2\n]\n", 1 << 20);
        assert!(
            matches!(result, Err(InputProblem::BrokenArray { line: 3, .. })),
            "{result:?}"
        );
        let (_, result) = split_all(b"[\n1,\n2,\n]\n", 1 << 20);
        assert!(
            matches!(result, Err(InputProblem::BrokenArray { line: 4, .. })),
            "{result:?}"
        );
        let (records, result) = split_all(b"[\n1\n]\nx\n", 1 << 20);
        assert_eq!(records.len(), 1);
        assert!(
            matches!(result, Err(InputProblem::BrokenArray { line: 4, .. })),
            "{result:?}"
        );
        assert_eq!(chunks(b"", 8).1, Err(InputProblem::Empty));
        assert_eq!(chunks(b" \n\t\n", 8).1, Err(InputProblem::Empty));
        assert_eq!(chunks(b"[\n]\n", 8).1, Err(InputProblem::Empty));
    }
}
