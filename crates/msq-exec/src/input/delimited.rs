//! Splitting one CSV or TSV line into fields (private).
//!
//! Druid reads delimited text line by line (`TextReader`) and parses each line on its own, so a
//! quoted field cannot span lines here either: an unterminated quote is a parse exception.
//! - CSV (`csv`): RFC 4180 quoting within the line — a field that starts with `"` runs to the
//!   next lone `"`, `""` inside it is one quote; a quote in the middle of an unquoted field is
//!   kept literally, and text after a closing quote is appended (lenient, like opencsv).
//! - TSV (`tsv`): a plain split on the delimiter, no quoting (Druid's `DelimitedBytes.split`).

use std::borrow::Cow;

/// Splits a CSV line. `Err` carries the reason.
pub(crate) fn split_csv<'a>(
    line: &'a str,
    delimiter: u8,
    out: &mut Vec<Cow<'a, str>>,
) -> Result<(), &'static str> {
    out.clear();
    let bytes = line.as_bytes();
    let mut i = 0;
    loop {
        if bytes.get(i) == Some(&b'"') {
            // Quoted field.
            let mut value = String::new();
            let mut j = i + 1;
            let mut run = j;
            loop {
                match memchr::memchr(b'"', &bytes[j..]) {
                    None => return Err("Un-terminated quoted field at end of CSV line"),
                    Some(k) => {
                        let q = j + k;
                        if bytes.get(q + 1) == Some(&b'"') {
                            value.push_str(&line[run..=q]);
                            j = q + 2;
                            run = j;
                        } else {
                            value.push_str(&line[run..q]);
                            j = q + 1;
                            break;
                        }
                    }
                }
            }
            // Text between the closing quote and the delimiter is kept.
            let end = memchr::memchr(delimiter, &bytes[j..]).map_or(bytes.len(), |k| j + k);
            value.push_str(&line[j..end]);
            out.push(Cow::Owned(value));
            if end == bytes.len() {
                return Ok(());
            }
            i = end + 1;
        } else {
            let end = memchr::memchr(delimiter, &bytes[i..]).map_or(bytes.len(), |k| i + k);
            out.push(Cow::Borrowed(&line[i..end]));
            if end == bytes.len() {
                return Ok(());
            }
            i = end + 1;
        }
    }
}

/// Splits a TSV line on `delimiter`.
pub(crate) fn split_plain<'a>(line: &'a str, delimiter: u8, out: &mut Vec<Cow<'a, str>>) {
    out.clear();
    let bytes = line.as_bytes();
    let mut start = 0;
    for k in memchr::memchr_iter(delimiter, bytes) {
        out.push(Cow::Borrowed(&line[start..k]));
        start = k + 1;
    }
    out.push(Cow::Borrowed(&line[start..]));
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn csv(line: &str) -> Result<Vec<String>, &'static str> {
        let mut out = Vec::new();
        split_csv(line, b',', &mut out)?;
        Ok(out.into_iter().map(Cow::into_owned).collect())
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
    }

    #[test]
    fn tsv_plain_split() {
        let mut out = Vec::new();
        split_plain("a\t\"b\"\t", b'\t', &mut out);
        assert_eq!(out, ["a", "\"b\"", ""]);
    }
}
