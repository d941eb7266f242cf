//! A tab's query context: the MSQ settings the context panel edits, and the Druid context
//! JSON they become.
//!
//! Mirrors the settings of Druid's run panel menu that apply to MSQ (spec
//! `druid-console-query-view.md` §1 "run-panel", defaults from `druid-msq.md` §2).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The choices of Druid's "Max parse exceptions" menu; `-1` is "∞" (unlimited).
pub const MAX_PARSE_EXCEPTIONS_CHOICES: [i64; 7] = [0, 1, 5, 10, 1000, 10_000, -1];

/// The context settings of one tab. Missing fields in stored JSON take their defaults, so
/// older stored tabs keep loading.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct QueryContext {
    /// `maxNumTasks`: tasks including the controller (workers = this − 1). Default 3.
    pub max_num_tasks: u32,
    /// `finalizeAggregations`. Default true.
    pub finalize_aggregations: bool,
    /// `rowsPerSegment`. Default 3,000,000.
    pub rows_per_segment: u64,
    /// `maxParseExceptions`; -1 = unlimited. Default 0.
    pub max_parse_exceptions: i64,
    /// `sqlTimeZone`; empty = not sent (UTC).
    pub sql_time_zone: String,
}

impl Default for QueryContext {
    fn default() -> Self {
        QueryContext {
            max_num_tasks: 3,
            finalize_aggregations: true,
            rows_per_segment: 3_000_000,
            max_parse_exceptions: 0,
            sql_time_zone: String::new(),
        }
    }
}

impl QueryContext {
    /// The Druid query context sent with the SQL (`"context"` of `POST /druid/v2/sql/task`).
    pub fn to_druid(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("maxNumTasks".into(), Value::from(self.max_num_tasks));
        m.insert(
            "finalizeAggregations".into(),
            Value::from(self.finalize_aggregations),
        );
        m.insert("rowsPerSegment".into(), Value::from(self.rows_per_segment));
        m.insert(
            "maxParseExceptions".into(),
            Value::from(self.max_parse_exceptions),
        );
        let tz = self.sql_time_zone.trim();
        if !tz.is_empty() {
            m.insert("sqlTimeZone".into(), Value::from(tz));
        }
        m
    }
}

/// The label of a `maxParseExceptions` value in the menu (`-1` → `"∞"`).
pub fn max_parse_exceptions_label(v: i64) -> String {
    if v < 0 {
        "∞".to_owned()
    } else {
        crate::format::thousands(i128::from(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_json() {
        let ctx = QueryContext::default();
        let json = Value::Object(ctx.to_druid());
        assert_eq!(
            json,
            serde_json::json!({"maxNumTasks": 3, "finalizeAggregations": true, "rowsPerSegment": 3_000_000, "maxParseExceptions": 0})
        );
        let tz = QueryContext {
            sql_time_zone: " America/Los_Angeles ".into(),
            max_parse_exceptions: -1,
            ..ctx
        };
        assert_eq!(tz.to_druid()["sqlTimeZone"], "America/Los_Angeles");
        assert_eq!(tz.to_druid()["maxParseExceptions"], -1);
    }

    #[test]
    fn stored_json_fills_missing_fields() {
        let ctx: QueryContext = serde_json::from_str(r#"{"maxNumTasks": 5}"#).expect("parses");
        assert_eq!(
            ctx,
            QueryContext {
                max_num_tasks: 5,
                ..QueryContext::default()
            }
        );
    }

    #[test]
    fn labels() {
        assert_eq!(max_parse_exceptions_label(-1), "∞");
        assert_eq!(max_parse_exceptions_label(10_000), "10,000");
    }
}
