//! One NDJSON line → one row of [`ColumnBuffers`], without building a `serde_json::Value`
//! (private). Lines go through [`super::flat_json`]'s scanner first; this serde_json path
//! reads the lines it leaves, and defines the behaviour both share.
//!
//! A [`serde::de::Visitor`] walks the object's keys; a key in the signature sends its value
//! straight into that column's buffer through a typed seed, any other key is skipped with
//! `IgnoredAny`. Coercions follow Druid's `Rows.objectToNumber` and string dimensions:
//!
//! | JSON value | long / double / float column | string column |
//! |---|---|---|
//! | number | the number (`long` truncates a fraction toward zero) | its text (`1`, `1.5`, `100.0`) |
//! | string | parsed (leading `+` allowed, `""` → null); unparsable → parse exception | the string |
//! | `true` / `false` | 1 / 0 | `"true"` / `"false"` |
//! | `null`, missing key | null | null |
//! | object / array | parse exception | compact JSON text (multi-value strings are later work) |
//!
//! A key that appears twice keeps its last value (Jackson's behaviour).

use super::columns::{Column, ColumnBuffers, ColumnKind};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::collections::HashMap;
use std::fmt;

/// Signature column names → column index.
#[derive(Debug)]
pub(crate) struct FieldIndex {
    by_name: HashMap<String, usize>,
    pub(crate) names: Vec<String>,
}

impl FieldIndex {
    pub(crate) fn new(names: &[String]) -> Self {
        Self {
            by_name: names
                .iter()
                .enumerate()
                .map(|(i, n)| (n.clone(), i))
                .collect(),
            names: names.to_vec(),
        }
    }

    /// Looks `key` up: first in the cache of the previous line's key order (keys mostly come
    /// in the same order on every line, so this usually avoids hashing), then in the map.
    #[inline]
    pub(crate) fn find(&self, key: &str, position: usize, cache: &mut KeyCache) -> Option<usize> {
        if let Some(cached) = cache.keys.get(position) {
            if cached.key.as_ref() == key {
                return cached.column;
            }
        }
        let column = self.by_name.get(key).copied();
        let entry = CachedKey {
            plain: !key.bytes().any(|c| c == b'"' || c == b'\\' || c < 0x20),
            key: Box::from(key),
            column,
        };
        if position < cache.keys.len() {
            cache.keys[position] = entry;
        } else if position == cache.keys.len() && position < MAX_CACHED_KEYS {
            cache.keys.push(entry);
        }
        column
    }
}

/// At most this many key positions are remembered per reader.
const MAX_CACHED_KEYS: usize = 4096;

/// The keys of the previous line, by position, with their column (private per reader).
#[derive(Debug, Default)]
pub(crate) struct KeyCache {
    keys: Vec<CachedKey>,
}

#[derive(Debug)]
struct CachedKey {
    key: Box<str>,
    column: Option<usize>,
    /// No quote, backslash or control character: the key's JSON text is the key itself.
    plain: bool,
}

impl KeyCache {
    /// When the JSON text after a key's opening quote, `rest`, is this position's cached key
    /// and its closing quote: the key's column and length. Only keys whose text is themselves
    /// are compared this way (a cached `a"b` must not match the text `a"b"`).
    #[inline]
    pub(crate) fn expected(&self, position: usize, rest: &[u8]) -> Option<(Option<usize>, usize)> {
        let cached = self.keys.get(position).filter(|k| k.plain)?;
        let len = cached.key.len();
        (rest.get(len) == Some(&b'"') && rest.starts_with(cached.key.as_bytes()))
            .then_some((cached.column, len))
    }
}

/// Parses `line` into the buffers (trying the flat-object scanner first when `scanner`):
/// `true` when the scanner read it, whose string cells then hold at most `line.len()` bytes in
/// all (each is a slice of the line, a literal or an integer's digits from it). On error the
/// partial row is left for the caller to roll back; the error text is the reason (used in the
/// exception's detail, not its message).
pub(crate) fn parse_row(
    line: &[u8],
    index: &FieldIndex,
    cache: &mut KeyCache,
    scanner: bool,
    buffers: &mut ColumnBuffers,
) -> Result<bool, String> {
    // The scanner checks the UTF-8 of what it reads itself (see `flat_json`).
    if scanner {
        if super::flat_json::parse_flat_row(line, index, cache, buffers) {
            return Ok(true);
        }
        // Not in the fast path's subset: forget what it wrote, read the line in full.
        buffers.rollback_row();
    }
    // One UTF-8 check of the whole line (a fast, mostly-ASCII scan) lets serde_json read it as
    // `str` and skip validating every string on its own; a line that is not UTF-8 goes through
    // the byte reader, whose error names the bad position.
    match std::str::from_utf8(line) {
        Ok(text) => parse_with(
            serde_json::Deserializer::from_str(text),
            index,
            cache,
            buffers,
        ),
        Err(_) => parse_with(
            serde_json::Deserializer::from_slice(line),
            index,
            cache,
            buffers,
        ),
    }
    .map(|()| false)
}

fn parse_with<'de, R: serde_json::de::Read<'de>>(
    mut de: serde_json::Deserializer<R>,
    index: &FieldIndex,
    cache: &mut KeyCache,
    buffers: &mut ColumnBuffers,
) -> Result<(), String> {
    RowSeed {
        index,
        cache,
        buffers,
    }
    .deserialize(&mut de)
    .and_then(|()| de.end())
    .map_err(|e| e.to_string())
}

struct RowSeed<'a> {
    index: &'a FieldIndex,
    cache: &'a mut KeyCache,
    buffers: &'a mut ColumnBuffers,
}

impl<'de> DeserializeSeed<'de> for RowSeed<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RowSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut position = 0;
        while let Some(found) = map.next_key_seed(KeySeed {
            index: self.index,
            cache: &mut *self.cache,
            position,
        })? {
            position += 1;
            match found {
                Some(column) => {
                    if self.buffers.is_set(column) {
                        self.buffers.unset(column);
                    }
                    let name = &self.index.names[column];
                    let cell = &mut self.buffers.columns[column];
                    map.next_value_seed(CellSeed { cell, name })?;
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

struct KeySeed<'a> {
    index: &'a FieldIndex,
    cache: &'a mut KeyCache,
    position: usize,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Option<usize>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Self::Value, E> {
        Ok(self.index.find(key, self.position, self.cache))
    }
}

/// Writes one JSON value into one column, coercing per the table in the module doc.
struct CellSeed<'a> {
    cell: &'a mut Column,
    name: &'a str,
}

impl<'de> DeserializeSeed<'de> for CellSeed<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl CellSeed<'_> {
    fn push_text<E: de::Error>(self, text: &str) -> Result<(), E> {
        if self.cell.kind() == ColumnKind::String {
            self.cell.push_str(text);
            return Ok(());
        }
        match parse_number(text, self.cell.kind()) {
            Ok(Some(n)) => {
                match n {
                    Number::Long(v) => self.cell.push_long(v),
                    Number::Double(v) => self.cell.push_double(v),
                }
                Ok(())
            }
            Ok(None) => {
                self.cell.push_null();
                Ok(())
            }
            Err(()) => Err(E::custom(format_args!(
                "Unable to parse value[{text}] for field[{}]",
                self.name
            ))),
        }
    }

    fn nested<E: de::Error>(self, json: Result<serde_json::Value, E>) -> Result<(), E> {
        let json = json?;
        if self.cell.kind() == ColumnKind::String {
            self.cell.push_str(&json.to_string());
            Ok(())
        } else {
            Err(E::custom(format_args!(
                "Unable to parse value[{json}] for field[{}]",
                self.name
            )))
        }
    }
}

/// A parsed numeric string.
pub(crate) enum Number {
    Long(i64),
    Double(f64),
}

/// Druid's `Rows.objectToNumber` for strings: trims a leading `+`, tries a long, then a double.
/// `Ok(None)` for an empty (or blank) string, `Err` when it is not a number.
pub(crate) fn parse_number(text: &str, kind: ColumnKind) -> Result<Option<Number>, ()> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    let t = if t.len() > 1 {
        t.strip_prefix('+').unwrap_or(t)
    } else {
        t
    };
    if kind == ColumnKind::Long {
        if let Ok(v) = t.parse::<i64>() {
            return Ok(Some(Number::Long(v)));
        }
    }
    match t.parse::<f64>() {
        Ok(v) => Ok(Some(Number::Double(v))),
        Err(_) => Err(()),
    }
}

impl<'de> Visitor<'de> for CellSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        if self.cell.kind() == ColumnKind::String {
            self.cell.push_str(if v { "true" } else { "false" });
        } else {
            self.cell.push_long(i64::from(v));
        }
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.cell.push_long(v);
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        match i64::try_from(v) {
            Ok(v) => self.cell.push_long(v),
            Err(_) if self.cell.kind() == ColumnKind::String => self.cell.push_str(&v.to_string()),
            Err(_) => self.cell.push_double(v as f64),
        }
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.cell.push_double(v);
        Ok(())
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.push_text(v)
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.cell.push_null();
        Ok(())
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.cell.push_null();
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        let json = serde_json::Value::deserialize(de::value::MapAccessDeserializer::new(map));
        self.nested(json)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        let json = serde_json::Value::deserialize(de::value::SeqAccessDeserializer::new(seq));
        self.nested(json)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use arrow_array::RecordBatch;
    use arrow_schema::{DataType, Field, Schema};
    use std::sync::Arc;

    const KINDS: [ColumnKind; 4] = [
        ColumnKind::String,
        ColumnKind::Long,
        ColumnKind::Double,
        ColumnKind::Float,
    ];

    /// Columns s (string), l (long), d (double), f (float): their index and empty buffers.
    fn columns(capacity: usize) -> (FieldIndex, ColumnBuffers) {
        let names: Vec<String> = ["s", "l", "d", "f"].map(String::from).to_vec();
        let schema = Arc::new(Schema::new(vec![
            Field::new("s", DataType::Utf8, true),
            Field::new("l", DataType::Int64, true),
            Field::new("d", DataType::Float64, true),
            Field::new("f", DataType::Float32, true),
        ]));
        (
            FieldIndex::new(&names),
            ColumnBuffers::new(schema, &KINDS, capacity),
        )
    }

    /// Reads `lines` one at a time, each either way, into batches (rows and errors).
    fn read(lines: &[&str], fast: bool) -> (Option<RecordBatch>, Vec<Option<String>>) {
        let (index, mut buffers) = columns(64);
        let mut cache = KeyCache::default();
        let mut errors = Vec::new();
        for line in lines {
            let result = if fast {
                parse_row(line.as_bytes(), &index, &mut cache, true, &mut buffers).map(drop)
            } else {
                parse_with(
                    serde_json::Deserializer::from_str(line),
                    &index,
                    &mut cache,
                    &mut buffers,
                )
            };
            match result {
                Ok(()) => {
                    buffers.end_row();
                    errors.push(None);
                }
                Err(reason) => {
                    buffers.rollback_row();
                    errors.push(Some(reason));
                }
            }
        }
        (buffers.take_batch().unwrap(), errors)
    }

    /// The scanner's subset and everything it leaves to serde_json read exactly as serde_json
    /// alone reads them: same cells, same errors.
    #[test]
    fn the_fast_path_reads_like_serde_json() {
        let lines = [
            r#"{"s":"a","l":1,"d":2,"f":3}"#,
            r#"  { "s" : "spaced" , "l" : -7 }  "#,
            r#"{}"#,
            r#"{"l":"12","d":"2.5","f":"","s":12}"#,
            r#"{"l":" 7 ","d":"+5","s":-3}"#,
            r#"{"l":"abc"}"#,
            r#"{"l":true,"d":false,"s":true,"f":null}"#,
            r#"{"s":"first","s":"second","l":1,"l":null}"#,
            r#"{"s":"esc\"aped\n","l":2}"#,
            r#"{"s\u0041":"escaped key"}"#,
            r#"{"s":{"nested":[1,2]},"l":3}"#,
            r#"{"l":{"nested":1}}"#,
            r#"{"d":1.5,"l":2.7,"s":1e2,"f":-0.0}"#,
            r#"{"l":-0,"s":-0}"#,
            r#"{"l":12345678901234567890,"s":99999999999999999999}"#,
            r#"{"l":1234567890123456789,"d":-999999999999999999}"#,
            r#"{"other":"x","more":[1],"x":null,"y":true,"z":-4,"s":"kept"}"#,
            r#"{"l":01}"#,
            r#"{"l":1,}"#,
            r#"{"l":1} trailing"#,
            r#"{"l":1"#,
            r#"{"s":"unterminated}"#,
            "{\"s\":\"tab\tinside\"}",
            r#"[1,2]"#,
            r#""#,
            r#"{"s":"ünïcødé","l":+1}"#,
            r##"{"s":"#en.wikipedia","l":1e3}"##,
            r#"{"other":"x","x":null,"y":false,"z":-4,"s":"kept"}"#,
            // The previous line's key `s"` (escaped) must not match the text `s"` in place.
            r#"{"s\"":1,"s":"v"}"#,
            r#"{"s"":1,"s":"v"}"#,
            "{\"s\":\"caf\u{e9} ok\",\"l\":5}",
        ];
        assert_eq!(read(&lines, true), read(&lines, false));
        // The common lines do take the scanner; the others are left to serde_json.
        let mut cache = KeyCache::default();
        let taken: Vec<bool> = lines
            .iter()
            .map(|line| {
                let (index, mut buffers) = columns(4);
                super::super::flat_json::parse_flat_row(
                    line.as_bytes(),
                    &index,
                    &mut cache,
                    &mut buffers,
                )
            })
            .collect();
        let fast: Vec<usize> = (0..lines.len()).filter(|&i| taken[i]).collect();
        assert_eq!(fast, [0, 1, 2, 3, 4, 6, 7, 27, 30]);
        let (batch, errors) = read(&lines, true);
        assert!(errors.iter().filter(|e| e.is_some()).count() >= 8);
        assert!(batch.unwrap().num_rows() >= 15);
    }
}
