//! Serde helpers that reproduce the conventions of Druid's Jackson JSON (private).
//!
//! - **Polymorphic objects** (`@JsonTypeInfo(property = "type")`): input specs, processors and
//!   counters are objects tagged by a `type` string. Our enums keep a type they do not know as
//!   raw JSON (an `Other(Value)` variant), so a report from a newer Druid round-trips unchanged.
//!   Serde's `#[serde(tag = "type")]` cannot do that without silently swallowing errors, so the
//!   enums implement `Serialize`/`Deserialize` by hand with [`serialize_tagged`] and
//!   [`deserialize_tagged`].
//! - **Explicit nulls**: Druid writes some fields as `null` (`"filter": null`); [`present`] keeps
//!   such a null so it is written back.
//! - **Omission rules**: `@JsonInclude(NON_DEFAULT)` fields are skipped when `false` or `0`
//!   ([`is_false`], [`is_none_or_zero`]).

use serde::de::{self, DeserializeOwned, Deserializer};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The `type` of a JSON object, if it has a string one.
pub(crate) fn type_of(value: &Value) -> Option<&str> {
    value.get("type").and_then(Value::as_str)
}

/// A known variant's fields next to its `type` tag, for serialization.
#[derive(Serialize)]
struct Tagged<'a, T> {
    #[serde(rename = "type")]
    type_name: &'a str,
    #[serde(flatten)]
    fields: &'a T,
}

/// Writes `fields` (a struct or map) as one object that starts with `"type": type_name`.
pub(crate) fn serialize_tagged<S: Serializer, T: Serialize>(
    serializer: S,
    type_name: &str,
    fields: &T,
) -> Result<S::Ok, S::Error> {
    Tagged { type_name, fields }.serialize(serializer)
}

/// Reads a `type`-tagged object. When its `type` is one of `known_types`, `known` maps the type
/// name and the object's remaining fields (the tag removed) to a variant, and a failure is an
/// error naming `what` and the type. Any other value — an unknown type, no string `type`, not an
/// object — goes to `other` untouched.
pub(crate) fn deserialize_tagged<'de, D, T>(
    deserializer: D,
    what: &str,
    known_types: &[&str],
    known: impl FnOnce(&str, Value) -> Result<T, serde_json::Error>,
    other: impl FnOnce(Value) -> T,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
{
    let mut value = Value::deserialize(deserializer)?;
    let type_name = match type_of(&value) {
        Some(t) if known_types.contains(&t) => t.to_owned(),
        _ => return Ok(other(value)),
    };
    if let Value::Object(map) = &mut value {
        map.shift_remove("type");
    }
    known(&type_name, value)
        .map_err(|e| de::Error::custom(format_args!("{what} of type \"{type_name}\": {e}")))
}

/// Parses the fields of a known variant; shorthand for the `known` closures.
pub(crate) fn parse<T: DeserializeOwned>(fields: Value) -> Result<T, serde_json::Error> {
    T::deserialize(fields)
}

/// `deserialize_with` for an optional field whose explicit `null` must survive: absent stays
/// `None` (via `#[serde(default)]`), present (even `null`) becomes `Some`.
pub(crate) fn present<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

/// `skip_serializing_if` for Jackson `NON_DEFAULT` booleans.
pub(crate) fn is_false(b: &bool) -> bool {
    !*b
}

/// `skip_serializing_if` for Jackson `NON_DEFAULT` numbers held as options.
pub(crate) fn is_none_or_zero<T: Default + PartialEq>(n: &Option<T>) -> bool {
    n.as_ref().is_none_or(|n| *n == T::default())
}
