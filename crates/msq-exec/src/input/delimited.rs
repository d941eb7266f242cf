//! Splitting one CSV or TSV line into fields (private).
//!
//! Druid reads delimited text line by line (`TextReader`) and parses each line on its own, so a
//! quoted field cannot span lines here either: an unterminated quote is a parse exception.
//! - CSV (`csv`): RFC 4180 quoting within the line — a field that starts with `"` runs to the
//!   next lone `"`, `""` inside it is one quote; a quote in the middle of an unquoted field is
//!   kept literally, and text after a closing quote is appended (lenient, like opencsv).
//! - TSV (`tsv`): a plain split on the delimiter, no quoting (Druid's `DelimitedBytes.split`).

use std::ops::Range;

/// Where one field's text is: a range of the line, or of the scratch buffer (a quoted field
/// with doubled quotes, unescaped). Kept in buffers reused from line to line, so splitting a
/// line allocates nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Span {
    /// Bytes of the line itself.
    Line(Range<usize>),
    /// Bytes of the scratch buffer.
    Scratch(Range<usize>),
}

impl Span {
    /// The field's text.
    pub(crate) fn text<'a>(&self, line: &'a str, scratch: &'a str) -> &'a str {
        match self {
            Span::Line(r) => &line[r.clone()],
            Span::Scratch(r) => &scratch[r.clone()],
        }
    }
}

/// Splits a CSV line into `out` (cleared first; unescaped quoted fields go to `scratch`, also
/// cleared). `Err` carries the reason.
pub(crate) fn split_csv(
    line: &str,
    delimiter: u8,
    out: &mut Vec<Span>,
    scratch: &mut String,
) -> Result<(), &'static str> {
    out.clear();
    scratch.clear();
    let bytes = line.as_bytes();
    let mut i = 0;
    loop {
        if bytes.get(i) == Some(&b'"') {
            // Quoted field: a range of the line when it has no doubled quote and nothing after
            // its closing quote, else unescaped into the scratch buffer.
            let from = scratch.len();
            let mut j = i + 1;
            let mut run = j;
            let mut escaped = false;
            loop {
                match memchr::memchr(b'"', &bytes[j..]) {
                    None => return Err("Un-terminated quoted field at end of CSV line"),
                    Some(k) => {
                        let q = j + k;
                        if bytes.get(q + 1) == Some(&b'"') {
                            scratch.push_str(&line[run..=q]);
                            escaped = true;
                            j = q + 2;
                            run = j;
                        } else {
                            scratch.push_str(&line[run..q]);
                            j = q + 1;
                            break;
                        }
                    }
                }
            }
            // Text between the closing quote and the delimiter is kept.
            let end = memchr::memchr(delimiter, &bytes[j..]).map_or(bytes.len(), |k| j + k);
            if escaped || end > j {
                scratch.push_str(&line[j..end]);
                out.push(Span::Scratch(from..scratch.len()));
            } else {
                scratch.truncate(from);
                out.push(Span::Line(i + 1..j - 1));
            }
            if end == bytes.len() {
                return Ok(());
            }
            i = end + 1;
        } else {
            let end = memchr::memchr(delimiter, &bytes[i..]).map_or(bytes.len(), |k| i + k);
            out.push(Span::Line(i..end));
            if end == bytes.len() {
                return Ok(());
            }
            i = end + 1;
        }
    }
}

/// Splits a TSV line on `delimiter` into `out` (cleared first).
pub(crate) fn split_plain(line: &str, delimiter: u8, out: &mut Vec<Span>) {
    out.clear();
    let mut start = 0;
    for k in memchr::memchr_iter(delimiter, line.as_bytes()) {
        out.push(Span::Line(start..k));
        start = k + 1;
    }
    out.push(Span::Line(start..line.len()));
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn csv(line: &str) -> Result<Vec<String>, &'static str> {
        let (mut out, mut scratch) = (Vec::new(), String::new());
        split_csv(line, b',', &mut out, &mut scratch)?;
        Ok(out
            .iter()
            .map(|s| s.text(line, &scratch).to_owned())
            .collect())
    }

    #[test]
    fn csv_rfc4180_quoting() {
        assert_eq!(csv("a,b,c").unwrap(), ["a", "b", "c"]);
        assert_eq!(csv("").unwrap(), [""]);
        assert_eq!(csv("a,,").unwrap(), ["a", "", ""]);
        assert_eq!(
            csv(r#""a,b","say ""hi""",c"#).unwrap(),
            ["a,b", r#"say "hi""#, "c"]
        );
        assert_eq!(csv(r#""""#).unwrap(), [""]);
        assert_eq!(csv(r#"x"y,"q"z"#).unwrap(), [r#"x"y"#, "qz"]);
        assert_eq!(csv("é,\"ü\"").unwrap(), ["é", "ü"]);
        assert!(csv(r#"a,"open"#).is_err());
        assert!(csv(r#""a"",b"#).is_err());
        // The scratch buffer serves several quoted fields of one line.
        assert_eq!(
            csv(r#""x""y",plain,"q"tail,"p""#).unwrap(),
            [r#"x"y"#, "plain", "qtail", "p"]
        );
    }

    #[test]
    fn tsv_plain_split() {
        let mut out = Vec::new();
        let line = "a\t\"b\"\t";
        split_plain(line, b'\t', &mut out);
        let fields: Vec<&str> = out.iter().map(|s| s.text(line, "")).collect();
        assert_eq!(fields, ["a", "\"b\"", ""]);
    }
}
