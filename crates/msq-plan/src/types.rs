//! Column types of stage signatures.
//!
//! Druid names native column types `LONG`, `FLOAT`, `DOUBLE`, `STRING`, `COMPLEX<name>` and
//! `ARRAY<element>` in a stage definition's `signature` (spec `druid-msq.md` §4.2). The type
//! serializes as exactly that string.

use msq_common::{MsqError, Result};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A Druid native column type.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum ColumnType {
    /// `LONG`: 64-bit integer (also `__time`, in epoch milliseconds).
    Long,
    /// `FLOAT`: 32-bit float.
    Float,
    /// `DOUBLE`: 64-bit float.
    Double,
    /// `STRING`: a string, possibly multi-valued.
    String,
    /// `ARRAY<element>`.
    Array(Box<ColumnType>),
    /// `COMPLEX<name>`: an aggregator's intermediate (sketches, `json`, ...).
    Complex(std::string::String),
}

impl ColumnType {
    /// Parses Druid's spelling, case-insensitively for the plain types (`long` and `LONG`;
    /// EXTERN signatures use lower case).
    pub fn parse(s: &str) -> Result<ColumnType> {
        let upper = s.trim().to_ascii_uppercase();
        match upper.as_str() {
            "LONG" => return Ok(ColumnType::Long),
            "FLOAT" => return Ok(ColumnType::Float),
            "DOUBLE" => return Ok(ColumnType::Double),
            "STRING" => return Ok(ColumnType::String),
            _ => {}
        }
        let inner = |prefix: &str| -> Option<&str> {
            let t = s.trim();
            let head = t.get(..prefix.len())?;
            (head.eq_ignore_ascii_case(prefix) && t.ends_with('>'))
                .then(|| &t[prefix.len()..t.len() - 1])
        };
        if let Some(element) = inner("ARRAY<") {
            return Ok(ColumnType::Array(Box::new(ColumnType::parse(element)?)));
        }
        if let Some(name) = inner("COMPLEX<") {
            return Ok(ColumnType::Complex(name.to_owned()));
        }
        Err(MsqError::plan(format!("Unknown column type [{s}]")))
    }
}

impl fmt::Display for ColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ColumnType::Long => f.write_str("LONG"),
            ColumnType::Float => f.write_str("FLOAT"),
            ColumnType::Double => f.write_str("DOUBLE"),
            ColumnType::String => f.write_str("STRING"),
            ColumnType::Array(element) => write!(f, "ARRAY<{element}>"),
            ColumnType::Complex(name) => write!(f, "COMPLEX<{name}>"),
        }
    }
}

impl TryFrom<std::string::String> for ColumnType {
    type Error = MsqError;
    fn try_from(s: std::string::String) -> Result<Self> {
        ColumnType::parse(&s)
    }
}

impl From<ColumnType> for std::string::String {
    fn from(t: ColumnType) -> Self {
        t.to_string()
    }
}

/// A stage's or input's columns in order: `(name, type)`.
pub type Signature = Vec<(std::string::String, ColumnType)>;

/// The signature as Druid's `[{"name": .., "type": ..}]`.
pub fn signature_to_model(signature: &Signature) -> Vec<msq_model::ColumnSignature> {
    signature
        .iter()
        .map(|(name, t)| msq_model::ColumnSignature::new(name.clone(), t.to_string()))
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn types_round_trip_through_their_druid_spelling() {
        for s in [
            "LONG",
            "FLOAT",
            "DOUBLE",
            "STRING",
            "ARRAY<STRING>",
            "COMPLEX<hyperUnique>",
        ] {
            assert_eq!(ColumnType::parse(s).unwrap().to_string(), s);
        }
        assert_eq!(ColumnType::parse("long").unwrap(), ColumnType::Long);
        assert_eq!(
            ColumnType::parse("array<array<long>>").unwrap().to_string(),
            "ARRAY<ARRAY<LONG>>"
        );
        assert!(ColumnType::parse("VARCHAR").is_err());
        let json = serde_json::to_string(&ColumnType::Array(Box::new(ColumnType::Double))).unwrap();
        assert_eq!(json, "\"ARRAY<DOUBLE>\"");
        assert!(serde_json::from_str::<ColumnType>("\"BOGUS\"").is_err());
    }
}
