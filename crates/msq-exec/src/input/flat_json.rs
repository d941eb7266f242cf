//! The fast path of the JSON reader (private): one flat object per line, scanned by hand.
//!
//! Nearly every NDJSON line an ingest reads is a flat object of plain strings, integers,
//! booleans and nulls. This scanner reads exactly that subset straight into the column buffers,
//! with the same coercions as the general reader ([`super::json`]), and gives up on anything
//! else — an escape sequence, a nested value, a float, an integer too long to be sure of, a
//! value the column cannot take, a syntax error, bytes that are not UTF-8. The caller then
//! rolls the row back and parses the line with serde_json, so results, parse exceptions and
//! their messages are exactly the general reader's whatever the path. (In the browser the
//! general path, serde_json's `Deserializer` under the size-optimised build, cost ~200 ns per
//! field; this one a fraction.)
//!
//! The scanner reads bytes, not `str`: outside strings it accepts only ASCII, and a string is
//! checked as UTF-8 only when its scan saw a byte ≥ 0x80, so the usual all-ASCII line is not
//! validated in a pass of its own (wasm32's `str::from_utf8` reads 4 bytes at a time; the
//! string scan already reads 8). Every line it accepts is therefore valid UTF-8.

use super::columns::{ColumnBuffers, ColumnKind};
use super::json::{parse_number, FieldIndex, KeyCache, Number};

/// Parses `line` into the buffers when it is in the subset the scanner reads; `false` (with
/// the row possibly half written, for the caller to roll back) otherwise.
pub(crate) fn parse_flat_row(
    line: &[u8],
    index: &FieldIndex,
    cache: &mut KeyCache,
    buffers: &mut ColumnBuffers,
) -> bool {
    scan(line, index, cache, buffers).is_some()
}

fn scan(
    b: &[u8],
    index: &FieldIndex,
    cache: &mut KeyCache,
    buffers: &mut ColumnBuffers,
) -> Option<()> {
    let mut i = skip_ws(b, 0);
    expect(b, i, b'{')?;
    i = skip_ws(b, i + 1);
    if b.get(i) == Some(&b'}') {
        i += 1;
    } else {
        let mut position = 0;
        loop {
            expect(b, i, b'"')?;
            // Keys mostly come in the previous line's order: the key expected at this position
            // is compared in place, without scanning for its end first.
            let (column, end) = match cache.expected(position, &b[i + 1..]) {
                Some((column, len)) => (column, i + 1 + len),
                None => {
                    let (end, _) = string_end(b, i + 1)?;
                    (index.find(text(&b[i + 1..end])?, position, cache), end)
                }
            };
            i = skip_ws(b, end + 1);
            expect(b, i, b':')?;
            i = skip_ws(b, i + 1);
            position += 1;
            i = match column {
                Some(column) => {
                    // A key seen twice in one object keeps its last value (Jackson's way).
                    if buffers.is_set(column) {
                        buffers.unset(column);
                    }
                    write_value(b, i, column, buffers)?
                }
                None => skip_value(b, i)?,
            };
            i = skip_ws(b, i);
            match b.get(i) {
                Some(b',') => i = skip_ws(b, i + 1),
                Some(b'}') => {
                    i += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    (skip_ws(b, i) == b.len()).then_some(())
}

/// `bytes` of a string the scan found as text (keys the cache did not know, numbers in strings:
/// the uncommon cases, checked whatever their bytes).
fn text(bytes: &[u8]) -> Option<&str> {
    std::str::from_utf8(bytes).ok()
}

/// The contents of the string from `start` to `end` as pushed into a column: checked as UTF-8
/// only when its scan saw a non-ASCII byte.
fn checked(b: &[u8], start: usize, (end, ascii): (usize, bool)) -> Option<&[u8]> {
    let bytes = &b[start..end];
    (ascii || std::str::from_utf8(bytes).is_ok()).then_some(bytes)
}

/// Writes the value starting at `i` into `column`; the position after it.
fn write_value(b: &[u8], i: usize, column: usize, buffers: &mut ColumnBuffers) -> Option<usize> {
    let cell = &mut buffers.columns[column];
    match *b.get(i)? {
        b'"' => {
            let found = string_end(b, i + 1)?;
            let bytes = checked(b, i + 1, found)?;
            if cell.kind() == ColumnKind::String {
                cell.push_utf8(bytes);
            } else {
                match parse_number(text(bytes)?, cell.kind()).ok()? {
                    Some(Number::Long(v)) => cell.push_long(v),
                    Some(Number::Double(v)) => cell.push_double(v),
                    None => cell.push_null(),
                }
            }
            Some(found.0 + 1)
        }
        first @ (b't' | b'f') => {
            let value = first == b't';
            let word = if value { "true" } else { "false" };
            let next = literal(b, i, word.as_bytes())?;
            if cell.kind() == ColumnKind::String {
                cell.push_str(word);
            } else {
                cell.push_long(i64::from(value));
            }
            Some(next)
        }
        b'n' => {
            let next = literal(b, i, b"null")?;
            cell.push_null();
            Some(next)
        }
        _ => {
            let (value, next) = integer(b, i)?;
            cell.push_long(value);
            Some(next)
        }
    }
}

/// Skips a value of a key outside the signature; `None` for values the scanner leaves alone.
fn skip_value(b: &[u8], i: usize) -> Option<usize> {
    match *b.get(i)? {
        b'"' => {
            let found = string_end(b, i + 1)?;
            checked(b, i + 1, found)?;
            Some(found.0 + 1)
        }
        b't' => literal(b, i, b"true"),
        b'f' => literal(b, i, b"false"),
        b'n' => literal(b, i, b"null"),
        _ => integer(b, i).map(|(_, next)| next),
    }
}

/// A JSON integer of at most 18 digits at `i` (so it fits an `i64` whatever the digits) and
/// the position after it. `None` for anything else, including a fraction or exponent (serde_json
/// rounds those its own way) and `-0` (serde_json reads it as the double `-0.0`).
fn integer(b: &[u8], i: usize) -> Option<(i64, usize)> {
    let negative = b.get(i) == Some(&b'-');
    let start = i + usize::from(negative);
    let mut end = start;
    let mut value: i64 = 0;
    while let Some(&d) = b.get(end) {
        if !d.is_ascii_digit() {
            break;
        }
        value = value * 10 + i64::from(d - b'0');
        end += 1;
        if end - start > 18 {
            return None;
        }
    }
    let digits = end - start;
    let leading_zero = digits > 1 && b[start] == b'0';
    if digits == 0 || leading_zero || matches!(b.get(end), Some(b'.' | b'e' | b'E')) {
        return None;
    }
    if negative {
        (value != 0).then_some((-value, end))
    } else {
        Some((value, end))
    }
}

/// The position after `word` when it is at `i`.
fn literal(b: &[u8], i: usize, word: &[u8]) -> Option<usize> {
    b.get(i..i + word.len())
        .filter(|s| *s == word)
        .map(|_| i + word.len())
}

fn expect(b: &[u8], i: usize, byte: u8) -> Option<()> {
    (b.get(i) == Some(&byte)).then_some(())
}

/// Skips JSON whitespace (space, tab, newline, carriage return).
fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// The position of the quote ending a string whose contents start at `i`, when the contents
/// need no unescaping, and whether they are all ASCII: `None` at a backslash, a control
/// character (invalid in JSON) or the end of the line. Eight bytes at a time while none of
/// them is one of those.
fn string_end(b: &[u8], mut i: usize) -> Option<(usize, bool)> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let mut high = 0;
    while let Some(word) = b.get(i..i + 8) {
        let w = u64::from_le_bytes(word.try_into().ok()?);
        let quote = w ^ (ONES * u64::from(b'"'));
        let backslash = w ^ (ONES * u64::from(b'\\'));
        // A byte is zero (in `quote`/`backslash`) or below 0x20 (in `w`) iff its high bit
        // survives here (the classic has-zero / has-less-than tests; bytes ≥ 0x80 never do).
        let found = (quote.wrapping_sub(ONES) & !quote)
            | (backslash.wrapping_sub(ONES) & !backslash)
            | (w.wrapping_sub(ONES * 0x20) & !w);
        if found & HIGHS != 0 {
            break;
        }
        high |= w;
        i += 8;
    }
    let mut ascii = high & HIGHS == 0;
    while let Some(&c) = b.get(i) {
        match c {
            b'"' => return Some((i, ascii)),
            b'\\' => return None,
            c if c < 0x20 => return None,
            c => ascii &= c.is_ascii(),
        }
        i += 1;
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn integers_the_scanner_takes_and_leaves() {
        assert_eq!(integer(b"0,", 0), Some((0, 1)));
        assert_eq!(integer(b"-42}", 0), Some((-42, 3)));
        assert_eq!(
            integer(b"999999999999999999", 0),
            Some((999_999_999_999_999_999, 18))
        );
        for left in [
            &b"1234567890123456789"[..],
            b"-0",
            b"01",
            b"1.5",
            b"1e3",
            b"-",
            b"+1",
            b"x",
        ] {
            assert_eq!(integer(left, 0), None, "{}", String::from_utf8_lossy(left));
        }
    }

    #[test]
    fn string_ends_are_found_across_words() {
        let s = br#"abcdefghijklmnop"rest"#;
        assert_eq!(string_end(s, 0), Some((16, true)));
        assert_eq!(string_end(br#"short"x"#, 0), Some((5, true)));
        assert_eq!(string_end("ünïcødé ok\"".as_bytes(), 0), Some((14, false)));
        assert_eq!(string_end("abcdefgh ü\"".as_bytes(), 0), Some((11, false)));
        assert_eq!(string_end(br#"abcdefghij\"klm""#, 0), None);
        assert_eq!(string_end(b"abcdefghij\x01klm\"", 0), None);
        assert_eq!(string_end(b"no end in sight", 0), None);
        assert_eq!(string_end(br#"""#, 0), Some((0, true)));
        assert_eq!(
            string_end("üüüüabcdefgh\"".as_bytes(), 0),
            Some((16, false))
        );
    }
}
