//! Segment granularity: what `PARTITIONED BY` says and how an instant falls into a time chunk.
//!
//! Druid accepts (spec `druid-msq.md` §1.3; `DruidSqlParserUtils.convertSqlNodeToGranularity`):
//! - `ALL` / `ALL TIME` — one time chunk for all data;
//! - a granularity name as a keyword or identifier (`DAY`, `HOUR`, `FIVE_MINUTE`, …) or as a
//!   string literal (`'HOUR'`);
//! - an ISO-8601 period as identifier or literal (`P1D`, `'PT1H'`);
//! - `TIME_FLOOR(__time, 'PT1H')` and `FLOOR(__time TO DAY)`.
//!
//! Only Druid's *standard* granularities are allowed (`GranularityType.isStandard`): the periods
//! `PT1S PT1M PT5M PT10M PT15M PT30M PT1H PT6H PT8H P1D P1W P1M P3M P1Y`. Anything else is
//! rejected with Druid's `Invalid granularity[...] specified after PARTITIONED BY clause` text.
//!
//! All granularities here are UTC with no origin, as Druid's SQL ingestion uses them.

use crate::time::{
    civil_from_days, millis_from_civil, ETERNITY_END, ETERNITY_START, MILLIS_PER_DAY,
    MILLIS_PER_HOUR, MILLIS_PER_MINUTE, MILLIS_PER_SECOND,
};
use msq_common::{plan_err, MsqError, Result};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sqlparser::ast::{
    CeilFloorKind, DateTimeField, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, Value,
};
use std::fmt;

/// A segment granularity allowed after `PARTITIONED BY` (Druid's standard `GranularityType`s
/// minus `NONE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Granularity {
    /// One time chunk for everything (`PARTITIONED BY ALL [TIME]`).
    All,
    /// `PT1S`.
    Second,
    /// `PT1M`.
    Minute,
    /// `PT5M`.
    FiveMinute,
    /// `PT10M`.
    TenMinute,
    /// `PT15M`.
    FifteenMinute,
    /// `PT30M`.
    ThirtyMinute,
    /// `PT1H`.
    Hour,
    /// `PT6H`.
    SixHour,
    /// `PT8H` (Druid's `EIGHT_HOUR`; listed in Druid's own error text).
    EightHour,
    /// `P1D`.
    Day,
    /// `P1W`: weeks start on Monday, UTC (Druid discourages it but accepts it).
    Week,
    /// `P1M`: calendar months in UTC.
    Month,
    /// `P3M`: calendar quarters starting January, April, July, October.
    Quarter,
    /// `P1Y`: calendar years in UTC.
    Year,
}

/// The granularity list Druid prints when `PARTITIONED BY` is invalid (its
/// `DOCUMENTED_GRANULARITIES`: every standard type except `WEEK` and `NONE`).
const EXPECTED_GRANULARITIES: &str = "Expected 'SECOND', 'MINUTE', 'FIVE_MINUTE', 'TEN_MINUTE', \
     'FIFTEEN_MINUTE', 'THIRTY_MINUTE', 'HOUR', 'SIX_HOUR', 'EIGHT_HOUR', 'DAY', 'MONTH', \
     'QUARTER', 'YEAR', 'ALL', ALL TIME, FLOOR() or TIME_FLOOR()";

impl Granularity {
    /// Every granularity, finest first, `All` last.
    pub const ALL_VALUES: [Granularity; 15] = [
        Granularity::Second,
        Granularity::Minute,
        Granularity::FiveMinute,
        Granularity::TenMinute,
        Granularity::FifteenMinute,
        Granularity::ThirtyMinute,
        Granularity::Hour,
        Granularity::SixHour,
        Granularity::EightHour,
        Granularity::Day,
        Granularity::Week,
        Granularity::Month,
        Granularity::Quarter,
        Granularity::Year,
        Granularity::All,
    ];

    /// Druid's `GranularityType` name: `"DAY"`, `"FIVE_MINUTE"`, `"ALL"`, …
    pub fn name(self) -> &'static str {
        match self {
            Granularity::All => "ALL",
            Granularity::Second => "SECOND",
            Granularity::Minute => "MINUTE",
            Granularity::FiveMinute => "FIVE_MINUTE",
            Granularity::TenMinute => "TEN_MINUTE",
            Granularity::FifteenMinute => "FIFTEEN_MINUTE",
            Granularity::ThirtyMinute => "THIRTY_MINUTE",
            Granularity::Hour => "HOUR",
            Granularity::SixHour => "SIX_HOUR",
            Granularity::EightHour => "EIGHT_HOUR",
            Granularity::Day => "DAY",
            Granularity::Week => "WEEK",
            Granularity::Month => "MONTH",
            Granularity::Quarter => "QUARTER",
            Granularity::Year => "YEAR",
        }
    }

    /// The ISO-8601 period of one time chunk (`"PT1H"`, `"P1D"`, …); `None` for `All`.
    pub fn period(self) -> Option<&'static str> {
        Some(match self {
            Granularity::All => return None,
            Granularity::Second => "PT1S",
            Granularity::Minute => "PT1M",
            Granularity::FiveMinute => "PT5M",
            Granularity::TenMinute => "PT10M",
            Granularity::FifteenMinute => "PT15M",
            Granularity::ThirtyMinute => "PT30M",
            Granularity::Hour => "PT1H",
            Granularity::SixHour => "PT6H",
            Granularity::EightHour => "PT8H",
            Granularity::Day => "P1D",
            Granularity::Week => "P1W",
            Granularity::Month => "P1M",
            Granularity::Quarter => "P3M",
            Granularity::Year => "P1Y",
        })
    }

    /// Looks a granularity up by Druid name (`"day"`, `"FIVE_MINUTE"`, `"all"`) or by standard
    /// ISO period (`"PT1H"`), case-insensitively, as Druid's `Granularity.fromString` followed
    /// by `new Period(..)` does. `NONE` and non-standard periods give `None`.
    pub fn from_name_or_period(text: &str) -> Option<Granularity> {
        let upper = text.trim().to_ascii_uppercase();
        Granularity::ALL_VALUES
            .into_iter()
            .find(|g| g.name() == upper || g.period() == Some(upper.as_str()))
    }

    /// The JSON Druid serializes this granularity as: `{"type":"all"}` for `All`, otherwise
    /// the `GranularityType` name as a string (`"DAY"`), as in the query context key
    /// `sqlInsertSegmentGranularity` and EXPLAIN's `partitionedBy` attribute.
    pub fn to_druid_json(self) -> serde_json::Value {
        match self {
            Granularity::All => serde_json::json!({ "type": "all" }),
            g => serde_json::Value::String(g.name().to_string()),
        }
    }

    /// Reads a granularity from Druid JSON: a name or period string (`"DAY"`, `"day"`,
    /// `"PT1H"`), `{"type":"all"}`, or `{"type":"period","period":"P1D"}` (UTC, no origin).
    pub fn from_druid_json(json: &serde_json::Value) -> Result<Granularity> {
        let found = match json {
            serde_json::Value::String(s) => Granularity::from_name_or_period(s),
            serde_json::Value::Object(o) => match o.get("type").and_then(|t| t.as_str()) {
                Some(t) if t.eq_ignore_ascii_case("period") => {
                    let utc = o
                        .get("timeZone")
                        .and_then(|z| z.as_str())
                        .is_none_or(|z| z.eq_ignore_ascii_case("UTC"));
                    let no_origin = o.get("origin").is_none_or(|v| v.is_null());
                    o.get("period")
                        .and_then(|p| p.as_str())
                        .and_then(Granularity::from_name_or_period)
                        .filter(|_| utc && no_origin)
                }
                Some(t) => Granularity::from_name_or_period(t),
                None => None,
            },
            _ => None,
        };
        found.ok_or_else(|| MsqError::plan(format!("Unsupported segment granularity [{json}]")))
    }

    /// The string value of the `sqlInsertSegmentGranularity` query context key Druid sets for
    /// an ingest: the granularity JSON, serialized (`"{\"type\":\"all\"}"`, `"\"DAY\""`).
    pub fn sql_insert_segment_granularity(self) -> String {
        self.to_druid_json().to_string()
    }

    /// The SQL that reads back as this granularity after `PARTITIONED BY` (`ALL TIME`, `DAY`,
    /// `FIVE_MINUTE`).
    pub fn to_sql(self) -> &'static str {
        match self {
            Granularity::All => "ALL TIME",
            g => g.name(),
        }
    }

    /// Start of the time chunk containing `millis` (UTC epoch milliseconds), as Druid's
    /// `Granularity.bucketStart`. Fixed-length periods floor toward negative infinity from the
    /// epoch; weeks start on Monday; months, quarters and years follow the UTC calendar.
    /// `All` has one bucket, starting at [`ETERNITY_START`].
    pub fn bucket_start(self, millis: i64) -> i64 {
        let floor = |unit: i64| millis - millis.rem_euclid(unit);
        match self {
            Granularity::All => ETERNITY_START,
            Granularity::Week => {
                let days = millis.div_euclid(MILLIS_PER_DAY);
                // 1970-01-01 was a Thursday: Monday-based weekday is (days + 3) mod 7.
                let weekday = (days + 3).rem_euclid(7);
                (days - weekday) * MILLIS_PER_DAY
            }
            Granularity::Month | Granularity::Quarter | Granularity::Year => {
                let (year, month, _) = civil_from_days(millis.div_euclid(MILLIS_PER_DAY));
                let month = match self {
                    Granularity::Month => month,
                    Granularity::Quarter => month - (month - 1) % 3,
                    _ => 1,
                };
                millis_from_civil(year, month, 1)
            }
            fixed => floor(fixed.fixed_millis().unwrap_or(MILLIS_PER_DAY)),
        }
    }

    /// Start of the time chunk after the one that starts at `bucket_start` (which must be a
    /// bucket start); `All` gives [`ETERNITY_END`].
    pub fn next_bucket_start(self, bucket_start: i64) -> i64 {
        let months = match self {
            Granularity::All => return ETERNITY_END,
            Granularity::Week => return bucket_start + 7 * MILLIS_PER_DAY,
            Granularity::Month => 1,
            Granularity::Quarter => 3,
            Granularity::Year => 12,
            fixed => return bucket_start + fixed.fixed_millis().unwrap_or(MILLIS_PER_DAY),
        };
        let (year, month, _) = civil_from_days(bucket_start.div_euclid(MILLIS_PER_DAY));
        let index = year * 12 + i64::from(month - 1) + months;
        millis_from_civil(index.div_euclid(12), index.rem_euclid(12) as u32 + 1, 1)
    }

    /// The `[start, end)` time chunk that contains `millis`.
    pub fn bucket(self, millis: i64) -> (i64, i64) {
        let start = self.bucket_start(millis);
        (start, self.next_bucket_start(start))
    }

    /// Whether `millis` is the start of a time chunk.
    pub fn is_aligned(self, millis: i64) -> bool {
        self.bucket_start(millis) == millis
    }

    /// Length of one chunk for the fixed-length granularities (second … day).
    fn fixed_millis(self) -> Option<i64> {
        Some(match self {
            Granularity::Second => MILLIS_PER_SECOND,
            Granularity::Minute => MILLIS_PER_MINUTE,
            Granularity::FiveMinute => 5 * MILLIS_PER_MINUTE,
            Granularity::TenMinute => 10 * MILLIS_PER_MINUTE,
            Granularity::FifteenMinute => 15 * MILLIS_PER_MINUTE,
            Granularity::ThirtyMinute => 30 * MILLIS_PER_MINUTE,
            Granularity::Hour => MILLIS_PER_HOUR,
            Granularity::SixHour => 6 * MILLIS_PER_HOUR,
            Granularity::EightHour => 8 * MILLIS_PER_HOUR,
            Granularity::Day => MILLIS_PER_DAY,
            _ => return None,
        })
    }

    /// Interprets the expression after `PARTITIONED BY` (the `ALL [TIME]` form is recognised
    /// before expression parsing). Error texts are Druid's.
    pub fn from_partitioned_by(expr: &Expr) -> Result<Granularity> {
        let invalid = || {
            MsqError::plan(format!(
                "Invalid granularity[{expr}] specified after PARTITIONED BY clause. \
                 {EXPECTED_GRANULARITIES}"
            ))
        };
        match expr {
            Expr::Identifier(ident) => {
                Granularity::from_name_or_period(&ident.value).ok_or_else(invalid)
            }
            Expr::Value(v) => match &v.value {
                Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => {
                    Granularity::from_name_or_period(s).ok_or_else(invalid)
                }
                _ => Err(invalid()),
            },
            Expr::Nested(inner) => Granularity::from_partitioned_by(inner),
            Expr::Floor { expr: arg, field } => {
                let unit = match field {
                    CeilFloorKind::DateTimeField(unit) => unit,
                    CeilFloorKind::Scale(_) => plan_err!(
                        "FLOOR in PARTITIONED BY clause must have 2 arguments, but only [1] \
                         provided."
                    ),
                };
                check_time_operand(arg, "FLOOR")?;
                match floor_unit_granularity(unit) {
                    Some(g) => Ok(g),
                    None => plan_err!(
                        "{} is not a valid period granularity for ingestion.",
                        unit.to_string().to_ascii_uppercase()
                    ),
                }
            }
            Expr::Function(f) => {
                let name = f.name.to_string();
                if !name.eq_ignore_ascii_case("TIME_FLOOR") {
                    plan_err!(
                        "Invalid operator[{name}] specified. PARTITIONED BY clause only \
                         supports FLOOR(__time TO <unit>) and TIME_FLOOR(__time, period) \
                         functions."
                    )
                }
                let args: Vec<&Expr> = match &f.args {
                    FunctionArguments::List(list) => list
                        .args
                        .iter()
                        .filter_map(|a| match a {
                            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e),
                            _ => None,
                        })
                        .collect(),
                    _ => Vec::new(),
                };
                let arg_count = match &f.args {
                    FunctionArguments::List(list) => list.args.len(),
                    _ => 0,
                };
                if arg_count != 2 || args.len() != 2 {
                    plan_err!(
                        "{name} in PARTITIONED BY clause must have 2 arguments, but only \
                         [{arg_count}] provided."
                    )
                }
                check_time_operand(args[0], &name)?;
                let period = match args[1] {
                    Expr::Value(v) => match &v.value {
                        Value::SingleQuotedString(s) => s,
                        _ => plan_err!(
                            "Invalid argument[{}] provided. The second argument to {name} in \
                             PARTITIONED BY clause must be a period like 'PT1H'.",
                            args[1]
                        ),
                    },
                    other => plan_err!(
                        "Invalid argument[{other}] provided. The second argument to {name} in \
                         PARTITIONED BY clause must be a period like 'PT1H'."
                    ),
                };
                if !is_iso_period(period) {
                    plan_err!("granularity[{}] is an invalid period literal.", args[1])
                }
                Granularity::from_name_or_period(period)
                    .filter(|g| *g != Granularity::All)
                    .ok_or_else(invalid)
            }
            _ => Err(invalid()),
        }
    }
}

/// The first operand of `FLOOR`/`TIME_FLOOR` in `PARTITIONED BY` must be the bare `__time`.
fn check_time_operand(arg: &Expr, function: &str) -> Result<()> {
    match arg {
        Expr::Identifier(ident) if ident.value == "__time" => Ok(()),
        Expr::Identifier(ident) => plan_err!(
            "Invalid argument[{}] provided. The first argument to {function} in PARTITIONED BY \
             clause must be __time.",
            ident.value
        ),
        other => plan_err!(
            "Invalid argument type[{other}] provided. The first argument to {function} in \
             PARTITIONED BY clause must be __time."
        ),
    }
}

/// `FLOOR(__time TO <unit>)` units with a standard granularity (Druid's `TimeUnits.toPeriod`).
fn floor_unit_granularity(unit: &DateTimeField) -> Option<Granularity> {
    Some(match unit {
        DateTimeField::Second | DateTimeField::Seconds => Granularity::Second,
        DateTimeField::Minute | DateTimeField::Minutes => Granularity::Minute,
        DateTimeField::Hour | DateTimeField::Hours => Granularity::Hour,
        DateTimeField::Day | DateTimeField::Days => Granularity::Day,
        DateTimeField::Week(None) | DateTimeField::Weeks => Granularity::Week,
        DateTimeField::Month | DateTimeField::Months => Granularity::Month,
        DateTimeField::Quarter => Granularity::Quarter,
        DateTimeField::Year | DateTimeField::Years => Granularity::Year,
        _ => return None,
    })
}

/// Whether `text` is syntactically an ISO-8601 period (`P[nY][nM][nW][nD][T[nH][nM][nS]]`,
/// at least one component), as Joda's `new Period(text)` would accept.
pub fn is_iso_period(text: &str) -> bool {
    let upper = text.trim().to_ascii_uppercase();
    let Some(rest) = upper.strip_prefix('P') else {
        return false;
    };
    let (date, time) = match rest.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (rest, None),
    };
    fn components(part: &str, designators: &[char]) -> Option<usize> {
        let mut count = 0;
        let mut next_allowed = 0;
        let mut digits = String::new();
        for c in part.chars() {
            if c.is_ascii_digit() || (c == '.' && !digits.is_empty()) {
                digits.push(c);
                continue;
            }
            let idx = designators.iter().position(|d| *d == c)?;
            if digits.is_empty() || idx < next_allowed {
                return None;
            }
            next_allowed = idx + 1;
            digits.clear();
            count += 1;
        }
        digits.is_empty().then_some(count)
    }
    let Some(date_count) = components(date, &['Y', 'M', 'W', 'D']) else {
        return false;
    };
    match time {
        None => date_count > 0,
        Some(t) => matches!(components(t, &['H', 'M', 'S']), Some(n) if n > 0),
    }
}

impl fmt::Display for Granularity {
    /// Druid's `Granularity.toString()`, as its validation errors print it:
    /// `AllGranularity` or `{type=period, period=P1M, timeZone=UTC, origin=null}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.period() {
            None => f.write_str("AllGranularity"),
            Some(p) => write!(f, "{{type=period, period={p}, timeZone=UTC, origin=null}}"),
        }
    }
}

impl Serialize for Granularity {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        self.to_druid_json().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Granularity {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let json = serde_json::Value::deserialize(deserializer)?;
        Granularity::from_druid_json(&json).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::time::{format_millis, parse_timestamp_millis};

    fn ts(text: &str) -> i64 {
        parse_timestamp_millis(text).unwrap()
    }

    #[test]
    fn names_periods_and_json() {
        assert_eq!(
            Granularity::from_name_or_period("day"),
            Some(Granularity::Day)
        );
        assert_eq!(
            Granularity::from_name_or_period("PT1H"),
            Some(Granularity::Hour)
        );
        assert_eq!(
            Granularity::from_name_or_period("p3m"),
            Some(Granularity::Quarter)
        );
        assert_eq!(Granularity::from_name_or_period("NONE"), None);
        assert_eq!(Granularity::from_name_or_period("PT2H"), None);
        assert_eq!(
            Granularity::All.to_druid_json(),
            serde_json::json!({"type": "all"})
        );
        assert_eq!(Granularity::Day.to_druid_json(), serde_json::json!("DAY"));
        assert_eq!(
            Granularity::All.sql_insert_segment_granularity(),
            r#"{"type":"all"}"#
        );
        assert_eq!(
            Granularity::Day.sql_insert_segment_granularity(),
            r#""DAY""#
        );
        for g in Granularity::ALL_VALUES {
            assert_eq!(Granularity::from_druid_json(&g.to_druid_json()).unwrap(), g);
            let json = serde_json::to_string(&g).unwrap();
            assert_eq!(serde_json::from_str::<Granularity>(&json).unwrap(), g);
        }
        let period = serde_json::json!({"type": "period", "period": "P1M", "timeZone": "UTC"});
        assert_eq!(
            Granularity::from_druid_json(&period).unwrap(),
            Granularity::Month
        );
        assert!(Granularity::from_druid_json(&serde_json::json!("none")).is_err());
    }

    #[test]
    fn displays_like_druid() {
        assert_eq!(Granularity::All.to_string(), "AllGranularity");
        assert_eq!(
            Granularity::Month.to_string(),
            "{type=period, period=P1M, timeZone=UTC, origin=null}"
        );
    }

    #[test]
    fn iso_period_syntax() {
        for ok in ["P1D", "PT1H", "P1Y2M", "PT0.5S", "P1W", "pt15m"] {
            assert!(is_iso_period(ok), "{ok}");
        }
        for bad in ["P", "PT", "1D", "P1X", "PD", "P1D1Y", "PT1H2", "invalid"] {
            assert!(!is_iso_period(bad), "{bad}");
        }
    }

    #[test]
    fn fixed_buckets_floor_toward_negative_infinity() {
        let t = ts("2000-01-01 13:47:29.123");
        assert_eq!(
            Granularity::Second.bucket_start(t),
            ts("2000-01-01 13:47:29")
        );
        assert_eq!(
            Granularity::Minute.bucket_start(t),
            ts("2000-01-01 13:47:00")
        );
        assert_eq!(
            Granularity::FiveMinute.bucket_start(t),
            ts("2000-01-01 13:45:00")
        );
        assert_eq!(
            Granularity::TenMinute.bucket_start(t),
            ts("2000-01-01 13:40:00")
        );
        assert_eq!(
            Granularity::FifteenMinute.bucket_start(t),
            ts("2000-01-01 13:45:00")
        );
        assert_eq!(
            Granularity::ThirtyMinute.bucket_start(t),
            ts("2000-01-01 13:30:00")
        );
        assert_eq!(Granularity::Hour.bucket_start(t), ts("2000-01-01 13:00:00"));
        assert_eq!(
            Granularity::SixHour.bucket_start(t),
            ts("2000-01-01 12:00:00")
        );
        assert_eq!(
            Granularity::EightHour.bucket_start(t),
            ts("2000-01-01 08:00:00")
        );
        assert_eq!(Granularity::Day.bucket_start(t), ts("2000-01-01"));
        // Before the epoch the chunk still starts at or before the instant.
        assert_eq!(Granularity::Day.bucket_start(-1), -MILLIS_PER_DAY);
        assert_eq!(Granularity::Hour.bucket_start(-1), -MILLIS_PER_HOUR);
        assert_eq!(Granularity::Second.bucket_start(-1500), -2000);
        assert_eq!(
            Granularity::SixHour.bucket_start(ts("1969-12-31 05:00:00")),
            ts("1969-12-31")
        );
    }

    #[test]
    fn calendar_buckets() {
        // 2000-01-05 was a Wednesday: its week starts Monday 2000-01-03.
        assert_eq!(
            Granularity::Week.bucket_start(ts("2000-01-05 10:00:00")),
            ts("2000-01-03")
        );
        assert_eq!(
            Granularity::Week.bucket_start(ts("2000-01-03")),
            ts("2000-01-03")
        );
        assert_eq!(
            Granularity::Week.bucket_start(ts("2000-01-02 23:59:59")),
            ts("1999-12-27")
        );
        // The epoch was a Thursday.
        assert_eq!(Granularity::Week.bucket_start(0), ts("1969-12-29"));
        assert_eq!(Granularity::Week.bucket_start(-1), ts("1969-12-29"));
        assert_eq!(
            Granularity::Month.bucket_start(ts("2000-02-29 23:00:00")),
            ts("2000-02-01")
        );
        assert_eq!(Granularity::Month.bucket_start(-1), ts("1969-12-01"));
        assert_eq!(
            Granularity::Quarter.bucket_start(ts("2000-06-30")),
            ts("2000-04-01")
        );
        assert_eq!(
            Granularity::Quarter.bucket_start(ts("2000-12-31")),
            ts("2000-10-01")
        );
        assert_eq!(
            Granularity::Quarter.bucket_start(ts("2000-01-01")),
            ts("2000-01-01")
        );
        assert_eq!(Granularity::Quarter.bucket_start(-1), ts("1969-10-01"));
        assert_eq!(
            Granularity::Year.bucket_start(ts("2000-07-04")),
            ts("2000-01-01")
        );
        assert_eq!(Granularity::Year.bucket_start(-1), ts("1969-01-01"));
        assert_eq!(
            Granularity::Year.bucket_start(ts("1600-02-29")),
            ts("1600-01-01")
        );
        assert_eq!(
            Granularity::All.bucket_start(12345),
            crate::time::ETERNITY_START
        );
    }

    #[test]
    fn next_bucket_steps_by_one_chunk() {
        assert_eq!(
            Granularity::Month.next_bucket_start(ts("2000-01-01")),
            ts("2000-02-01")
        );
        assert_eq!(
            Granularity::Month.next_bucket_start(ts("2000-12-01")),
            ts("2001-01-01")
        );
        assert_eq!(
            Granularity::Quarter.next_bucket_start(ts("2000-10-01")),
            ts("2001-01-01")
        );
        assert_eq!(
            Granularity::Year.next_bucket_start(ts("1969-01-01")),
            ts("1970-01-01")
        );
        assert_eq!(
            Granularity::Week.next_bucket_start(ts("2000-01-03")),
            ts("2000-01-10")
        );
        assert_eq!(
            Granularity::Hour.bucket(ts("2000-01-01 05:30:00")),
            (ts("2000-01-01 05:00:00"), ts("2000-01-01 06:00:00"))
        );
        assert_eq!(
            format_millis(Granularity::All.next_bucket_start(crate::time::ETERNITY_START)),
            "146140482-04-24T15:36:27.903Z"
        );
        // Every granularity's buckets tile time: start(next - 1) == start.
        for g in Granularity::ALL_VALUES {
            if g == Granularity::All {
                continue;
            }
            for t in [
                ts("1999-12-31 23:59:59.999"),
                0,
                -1,
                ts("2024-02-29 12:00:00"),
            ] {
                let (start, end) = g.bucket(t);
                assert!(start <= t && t < end, "{g:?} {t}");
                assert!(g.is_aligned(start) && g.is_aligned(end), "{g:?} {t}");
                assert_eq!(g.bucket_start(end - 1), start, "{g:?} {t}");
            }
        }
    }
}
