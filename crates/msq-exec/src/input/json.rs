//! One NDJSON line → one row of [`ColumnBuffers`], without building a `serde_json::Value`
//! (private).
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
    fn find(&self, key: &str, position: usize, cache: &mut KeyCache) -> Option<usize> {
        if let Some((cached, column)) = cache.keys.get(position) {
            if cached.as_ref() == key {
                return *column;
            }
        }
        let column = self.by_name.get(key).copied();
        let entry = (Box::<str>::from(key), column);
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
    keys: Vec<(Box<str>, Option<usize>)>,
}

/// Parses `line` into the buffers. On error the partial row is left for the caller to roll
/// back; the error text is the reason (used in the exception's detail, not its message).
pub(crate) fn parse_row(
    line: &[u8],
    index: &FieldIndex,
    cache: &mut KeyCache,
    buffers: &mut ColumnBuffers,
) -> Result<(), String> {
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
