//! Time functions: time zones, ISO 8601 periods, and `TIME_PARSE`, `TIME_FORMAT`,
//! `TIME_FLOOR`, `TIME_CEIL`, `TIME_SHIFT`, `TIME_EXTRACT`/`EXTRACT`,
//! `MILLIS_TO_TIMESTAMP`, `TIMESTAMP_TO_MILLIS`.
//!
//! Timestamps are UTC epoch milliseconds (`druid-msq.md` §1.5); civil-date arithmetic is
//! `msq_sql::time`'s (proleptic Gregorian, exact over Druid's whole range).
//!
//! # Time zones
//! The wasm build carries no time zone database, so a zone argument (and `sqlTimeZone`, which
//! the binder passes as the zone argument) may be `UTC`, `Etc/UTC`, `GMT`, `Etc/GMT`, `UCT`,
//! `Z`, a fixed offset (`+05:30`, `-0800`, `+05`), `UTC±h[:mm]` / `GMT±h[:mm]`, `Etc/GMT±h`
//! (POSIX sign: `Etc/GMT+8` is UTC−8), or an IANA name of the built-in table in the `tz`
//! module (`America/Los_Angeles`, `Europe/Paris`, `Asia/Kolkata`, `Australia/Sydney`,
//! aliases such as `US/Pacific`, …) with its **current** daylight-saving rule applied to every
//! year (historical rule changes are not modelled). Any other name is an `InvalidInput` error
//! naming the zone. A null zone is UTC.
//!
//! A computation "in zone Z" works on local wall-clock time (`t + offset(t)`) and converts
//! back as Joda does: a local time in a spring-forward gap is shifted forward, one in an
//! autumn overlap takes the earlier instant, and a field set on an instant keeps that
//! instant's own offset when it is still valid (so `PT1H` buckets inside the repeated hour
//! stay apart). `TIME_FLOOR` with `P1D`, `P1W`, `P1M`, … floors on the local calendar as
//! Druid's `PeriodGranularity` with a zone does: a day in a zone starts at local midnight
//! whatever its length.

//! # Periods: `TIME_FLOOR`, `TIME_CEIL`, `TIME_SHIFT`
//! Periods are ISO 8601 (`PT1S`, `PT15M`, `PT1H`, `P1D`, `P1W`, `P1M`, `P3M`, `P1Y`, and any
//! multiple or combination such as `PT1H30M`), as Druid's `PeriodGranularity`:
//! - one calendar field (`PnY`, `PnM`): buckets of `n` months/years counted from the origin
//!   (default `1970-01-01T00:00` in the zone), a month added to Jan 31 landing on the last
//!   day of February;
//! - `P1W` without an origin: weeks start on Monday; `PnW` (n > 1) counts from the origin
//!   (1970-01-01 was a Thursday, as in Druid);
//! - fixed-length periods (weeks, days, hours, … and combinations of them): multiples of the
//!   period's length from the origin;
//! - periods mixing calendar and fixed fields (`P1M1D`) are rejected (`InvalidInput`).
//!
//! `TIME_CEIL(t)` is `t` when `t` is a bucket start and the next bucket's start otherwise
//! (Druid's `time_ceil`). `TIME_SHIFT(t, period, step)` adds `step` periods as Joda's
//! `Period.addTo`: years and months (a month after Jan 31 is the end of February), then weeks
//! and days on the local calendar (`P1D` keeps the wall-clock time across a DST change), then
//! hours and smaller units as elapsed time (`PT24H` does not).
//!
//! # `TIME_EXTRACT` units
//! `MILLISECOND` (of the second), `SECOND`, `MINUTE`, `HOUR`, `DAY` (of the month), `DOW` and
//! `ISODOW` (both Monday = 1 … Sunday = 7, as Druid's `timestamp_extract`), `DOY`, `WEEK`
//! (ISO week of the week-year), `MONTH`, `QUARTER`, `YEAR`, `EPOCH` (seconds, Java division).
//!
//! # Parsing and formatting
//! `TIME_PARSE` with a null pattern and casts of strings to `TIMESTAMP` accept ISO 8601 and
//! SQL text (Druid's default parser): `2016-06-27`, `2016-06-27T00:00:11.080Z`,
//! `2016-06-27 00:00:11`, `2016-06-27T00:00`, `2016-06`, `2016`, optionally with `Z` or an
//! offset (`+05:30`, `+0530`, `+05`); text without an offset is in the function's zone.
//! Anything unparseable is null. Joda patterns are handled by the `joda` module.

use std::sync::Arc;

use arrow_array::{new_null_array, Array, ArrayRef, Int64Array, RecordBatch, StringArray};
use arrow_schema::DataType;
use msq_common::{internal_err, MsqError, Result};
use msq_plan::expr::{Literal, ScalarExpr, ScalarFunction, SqlType, TimeUnit};
use msq_sql::time::{
    civil_from_days, civil_from_millis, days_from_civil, days_in_month, MILLIS_PER_DAY,
    MILLIS_PER_HOUR, MILLIS_PER_MINUTE, MILLIS_PER_SECOND,
};

use super::joda::JodaFormat;
use super::{constant_arg, constant_string, downcast, eval_as};

pub(crate) use msq_sql::tz::Zone;

pub(crate) use msq_sql::tz::parse_offset;

pub(crate) use msq_sql::tz::format_offset;

/// The broken-down local time of an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Civil {
    pub(crate) year: i64,
    pub(crate) month: u32,
    pub(crate) day: u32,
    pub(crate) hour: i64,
    pub(crate) minute: i64,
    pub(crate) second: i64,
    pub(crate) millis: i64,
}

impl Civil {
    /// Breaks local milliseconds down.
    pub(crate) fn from_local(local: i64) -> Civil {
        let ((year, month, day), ms) = civil_from_millis(local);
        Civil {
            year,
            month,
            day,
            hour: ms / MILLIS_PER_HOUR,
            minute: ms / MILLIS_PER_MINUTE % 60,
            second: ms / MILLIS_PER_SECOND % 60,
            millis: ms % MILLIS_PER_SECOND,
        }
    }

    /// ISO day of week, Monday = 1 … Sunday = 7.
    pub(crate) fn iso_day_of_week(&self) -> i64 {
        (days_from_civil(self.year, self.month, self.day) + 3).rem_euclid(7) + 1
    }

    /// Day of the year, 1-based.
    pub(crate) fn day_of_year(&self) -> i64 {
        days_from_civil(self.year, self.month, self.day) - days_from_civil(self.year, 1, 1) + 1
    }

    /// ISO `(week-year, week)`: week 1 holds the year's first Thursday.
    pub(crate) fn iso_week(&self) -> (i64, i64) {
        let days = days_from_civil(self.year, self.month, self.day);
        let thursday = days - (self.iso_day_of_week() - 1) + 3;
        let (year, _, _) = civil_from_days(thursday);
        (year, (thursday - days_from_civil(year, 1, 1)) / 7 + 1)
    }
}

/// Local milliseconds of a civil date-time, `None` when a field is out of range.
pub(crate) fn local_from_fields(
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    minute: i64,
    second: i64,
    millis: i64,
) -> Option<i64> {
    let month = u32::try_from(month).ok().filter(|m| (1..=12).contains(m))?;
    if !(-292_000_000..=292_000_000).contains(&year) {
        return None;
    }
    let day = u32::try_from(day)
        .ok()
        .filter(|d| *d >= 1 && *d <= days_in_month(year, month))?;
    if !(0..24).contains(&hour)
        || !(0..60).contains(&minute)
        || !(0..60).contains(&second)
        || !(0..1000).contains(&millis)
    {
        return None;
    }
    days_from_civil(year, month, day)
        .checked_mul(MILLIS_PER_DAY)?
        .checked_add(
            hour * MILLIS_PER_HOUR
                + minute * MILLIS_PER_MINUTE
                + second * MILLIS_PER_SECOND
                + millis,
        )
}

/// Parses ISO 8601 or SQL date-time text (see the module docs); text without an offset is
/// local time in `zone`. `None` when it does not parse.
pub(crate) fn parse_default(text: &str, zone: Zone) -> Option<i64> {
    let s = text.trim().as_bytes();
    let mut pos = 0;
    // At most 18 digits are read at once (a fraction; 9 for a year), so `v` cannot overflow.
    let digits = |pos: &mut usize, min: usize, max: usize| -> Option<(i64, usize)> {
        let start = *pos;
        let mut v: i64 = 0;
        while *pos < s.len() && *pos - start < max && s[*pos].is_ascii_digit() {
            v = v * 10 + i64::from(s[*pos] - b'0');
            *pos += 1;
        }
        let n = *pos - start;
        (n >= min).then_some((v, n))
    };
    let negative = match s.first() {
        Some(b'-') => {
            pos += 1;
            true
        }
        Some(b'+') => {
            pos += 1;
            false
        }
        _ => false,
    };
    let (year, _) = digits(&mut pos, 4, 9)?;
    let year = if negative { -year } else { year };
    let (mut month, mut day) = (1, 1);
    if s.get(pos) == Some(&b'-') {
        pos += 1;
        month = digits(&mut pos, 2, 2)?.0;
        if s.get(pos) == Some(&b'-') {
            pos += 1;
            day = digits(&mut pos, 2, 2)?.0;
        }
    }
    let (mut hour, mut minute, mut second, mut millis) = (0, 0, 0, 0);
    let mut offset = None;
    if matches!(s.get(pos), Some(b'T') | Some(b' ')) && pos + 1 < s.len() {
        pos += 1;
        hour = digits(&mut pos, 2, 2)?.0;
        if s.get(pos) == Some(&b':') {
            pos += 1;
            minute = digits(&mut pos, 2, 2)?.0;
            if s.get(pos) == Some(&b':') {
                pos += 1;
                second = digits(&mut pos, 2, 2)?.0;
                if matches!(s.get(pos), Some(b'.') | Some(b',')) {
                    pos += 1;
                    let (fraction, n) = digits(&mut pos, 1, 18)?;
                    millis = match n {
                        1 => fraction * 100,
                        2 => fraction * 10,
                        3 => fraction,
                        n => fraction / 10_i64.pow(n as u32 - 3),
                    };
                }
            }
        }
        match s.get(pos) {
            None => {}
            Some(b'Z') | Some(b'z') => {
                pos += 1;
                offset = Some(0);
            }
            Some(b'+') | Some(b'-') => {
                let rest = std::str::from_utf8(&s[pos..]).ok()?;
                offset = Some(parse_offset(rest)?);
                pos = s.len();
            }
            Some(_) => return None,
        }
    }
    if pos != s.len() {
        return None;
    }
    let local = local_from_fields(year, month, day, hour, minute, second, millis)?;
    match offset {
        Some(offset) => local.checked_sub(offset),
        None => Some(zone.to_utc(local)),
    }
}

/// Renders an instant as SQL `yyyy-MM-dd HH:mm:ss` in UTC (Druid's cast of a `TIMESTAMP`
/// to `VARCHAR`).
pub(crate) fn format_sql_timestamp(millis: i64) -> String {
    let c = Civil::from_local(millis);
    format!(
        "{}-{:02}-{:02} {:02}:{:02}:{:02}",
        format_year(c.year),
        c.month,
        c.day,
        c.hour,
        c.minute,
        c.second
    )
}

/// A year with at least four digits and a sign when negative.
pub(crate) fn format_year(year: i64) -> String {
    if year < 0 {
        format!("-{:04}", -year)
    } else {
        format!("{year:04}")
    }
}

/// Renders an instant as ISO 8601 with millis in `zone` (Joda's `ISODateTimeFormat.dateTime`):
/// `2016-06-27T00:00:11.080Z`, `2016-06-27T05:30:11.080+05:30`.
pub(crate) fn format_iso(utc: i64, zone: Zone) -> String {
    let c = Civil::from_local(zone.to_local(utc));
    format!(
        "{}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}{}",
        format_year(c.year),
        c.month,
        c.day,
        c.hour,
        c.minute,
        c.second,
        c.millis,
        format_offset(zone.offset_at(utc), true, true)
    )
}

/// An ISO 8601 period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Period {
    pub(crate) years: i64,
    pub(crate) months: i64,
    pub(crate) weeks: i64,
    pub(crate) days: i64,
    pub(crate) hours: i64,
    pub(crate) minutes: i64,
    pub(crate) seconds: i64,
    pub(crate) millis: i64,
}

impl Period {
    /// Parses `P[nY][nM][nW][nD][T[nH][nM][n[.fff]S]]`.
    pub(crate) fn parse(function: &str, text: &str) -> Result<Period> {
        let bad = || {
            MsqError::plan(format!(
                "Function[{function}] invalid period [{text}]: expected an ISO 8601 period such as 'PT1H', 'P1D', 'P1M'"
            ))
        };
        let upper = text.trim().to_ascii_uppercase();
        let rest = upper.strip_prefix('P').ok_or_else(bad)?;
        let mut period = Period::default();
        let mut in_time = false;
        let mut number = String::new();
        let mut any = false;
        for c in rest.chars() {
            match c {
                '0'..='9' | '.' | '-' => number.push(c),
                'T' if !in_time && number.is_empty() => in_time = true,
                unit => {
                    if number.is_empty() {
                        return Err(bad());
                    }
                    any = true;
                    if unit == 'S' && in_time {
                        let seconds: f64 = number.parse().map_err(|_| bad())?;
                        let millis = (seconds * 1000.0).round() as i64;
                        period.seconds += millis / 1000;
                        period.millis += millis % 1000;
                    } else {
                        let n: i64 = number.parse().map_err(|_| bad())?;
                        let field = match (in_time, unit) {
                            (false, 'Y') => &mut period.years,
                            (false, 'M') => &mut period.months,
                            (false, 'W') => &mut period.weeks,
                            (false, 'D') => &mut period.days,
                            (true, 'H') => &mut period.hours,
                            (true, 'M') => &mut period.minutes,
                            _ => return Err(bad()),
                        };
                        *field = n;
                    }
                    number.clear();
                }
            }
        }
        if !number.is_empty() || !any {
            return Err(bad());
        }
        Ok(period)
    }

    /// Months of the calendar part (`years × 12 + months`).
    fn calendar_months(&self) -> i64 {
        self.years.saturating_mul(12).saturating_add(self.months)
    }

    /// Milliseconds of the fixed part (weeks … millis, days of 24 hours).
    fn fixed_millis(&self) -> i64 {
        [
            (self.weeks, 7 * MILLIS_PER_DAY),
            (self.days, MILLIS_PER_DAY),
            (self.hours, MILLIS_PER_HOUR),
            (self.minutes, MILLIS_PER_MINUTE),
            (self.seconds, MILLIS_PER_SECOND),
            (self.millis, 1),
        ]
        .iter()
        .fold(0_i64, |acc, (n, unit)| {
            acc.saturating_add(n.saturating_mul(*unit))
        })
    }

    /// Milliseconds of the time part (hours … millis).
    fn time_millis(&self) -> i64 {
        [
            (self.hours, MILLIS_PER_HOUR),
            (self.minutes, MILLIS_PER_MINUTE),
            (self.seconds, MILLIS_PER_SECOND),
            (self.millis, 1),
        ]
        .iter()
        .fold(0_i64, |acc, (n, unit)| {
            acc.saturating_add(n.saturating_mul(*unit))
        })
    }

    /// Whether this is exactly one week (`P1W`).
    fn is_one_week(&self) -> bool {
        *self
            == Period {
                weeks: 1,
                ..Period::default()
            }
    }
}

/// Adds `months` calendar months to local milliseconds, clamping the day to the month's end.
/// Saturates far outside Druid's time range instead of overflowing.
pub(crate) fn add_months(local: i64, months: i64) -> i64 {
    /// Months in ±292 million years, about the `i64` millisecond range.
    const LIMIT: i64 = 292_000_000 * 12;
    let ((year, month, day), ms) = civil_from_millis(local);
    let index = (year * 12 + i64::from(month) - 1)
        .saturating_add(months)
        .clamp(-LIMIT, LIMIT);
    let (y, m) = (index.div_euclid(12), (index.rem_euclid(12) + 1) as u32);
    let d = day.min(days_in_month(y, m));
    days_from_civil(y, m, d)
        .saturating_mul(MILLIS_PER_DAY)
        .saturating_add(ms)
}

/// Whole calendar months from `origin` to `t` (local millis), truncated toward zero as
/// Joda's `months().getDifference`.
fn months_between(origin: i64, t: i64) -> i64 {
    let ((oy, om, _), _) = civil_from_millis(origin);
    let ((ty, tm, _), _) = civil_from_millis(t);
    let mut d = (ty * 12 + i64::from(tm)) - (oy * 12 + i64::from(om));
    if d > 0 && add_months(origin, d) > t {
        d -= 1;
    } else if d < 0 && add_months(origin, d) < t {
        d += 1;
    }
    d
}

/// A compiled `TIME_FLOOR` / `TIME_CEIL` granularity: a period, an origin and a zone.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PeriodGranularity {
    period: Period,
    /// Origin in local millis (local 1970-01-01T00:00 when absent).
    origin: i64,
    has_origin: bool,
    zone: Zone,
}

impl PeriodGranularity {
    /// Checks the period's shape (see the module docs).
    pub(crate) fn new(
        function: &str,
        period: Period,
        origin: Option<i64>,
        zone: Zone,
    ) -> Result<Self> {
        let months = period.calendar_months();
        let fixed = period.fixed_millis();
        let calendar_fields = usize::from(period.years != 0) + usize::from(period.months != 0);
        if (months != 0 && fixed != 0)
            || calendar_fields > 1
            || months < 0
            || fixed < 0
            || (months == 0 && fixed == 0)
        {
            return Err(MsqError::plan(format!(
                "Function[{function}] period {period:?} is not supported: use a positive period of one calendar unit (months or years) or of fixed units (weeks, days, hours, minutes, seconds)"
            )));
        }
        Ok(Self {
            period,
            origin: origin.map(|o| zone.to_local(o)).unwrap_or(0),
            has_origin: origin.is_some(),
            zone,
        })
    }

    /// The start of the bucket holding `t` (UTC millis).
    pub(crate) fn floor(&self, t: i64) -> i64 {
        let offset = self.zone.offset_at(t);
        let local = t.saturating_add(offset);
        let months = self.period.calendar_months();
        let floored = if months != 0 {
            let mut m = months_between(self.origin, local);
            m -= m % months;
            let start = add_months(self.origin, m);
            if local < start {
                // Always round down to the previous period (before the origin), counted
                // from the origin as Druid does (so day clamping does not accumulate).
                add_months(self.origin, m - months)
            } else {
                start
            }
        } else if self.period.is_one_week() && !self.has_origin {
            // Weeks start on Monday.
            let day = local.div_euclid(MILLIS_PER_DAY);
            let monday = day - (day + 3).rem_euclid(7);
            monday * MILLIS_PER_DAY
        } else {
            let length = self.period.fixed_millis();
            let offset = local.saturating_sub(self.origin).rem_euclid(length);
            local.saturating_sub(offset)
        };
        self.zone.to_utc_with_hint(floored, offset)
    }

    /// The start of the bucket after the one starting at `start`.
    pub(crate) fn next(&self, start: i64) -> i64 {
        shift(start, &self.period, 1, self.zone)
    }

    /// `t` when it starts a bucket, else the next bucket's start.
    pub(crate) fn ceil(&self, t: i64) -> i64 {
        let floor = self.floor(t);
        if floor == t {
            t
        } else {
            self.next(floor)
        }
    }
}

/// `TIME_SHIFT`: `t` plus `step` periods in `zone`, field by field as Joda's
/// `Period.addTo`: years and months, then weeks and days on the local calendar (keeping the
/// wall-clock time across a daylight-saving change), then hours and smaller units as elapsed
/// time.
pub(crate) fn shift(t: i64, period: &Period, step: i64, zone: Zone) -> i64 {
    let offset = zone.offset_at(t);
    let months = period.calendar_months().saturating_mul(step);
    let days = period
        .weeks
        .saturating_mul(7)
        .saturating_add(period.days)
        .saturating_mul(step);
    let t = if months != 0 || days != 0 {
        let mut local = t.saturating_add(offset);
        if months != 0 {
            local = add_months(local, months);
        }
        local = local.saturating_add(days.saturating_mul(MILLIS_PER_DAY));
        zone.to_utc_with_hint(local, offset)
    } else {
        t
    };
    t.saturating_add(period.time_millis().saturating_mul(step))
}

/// `TIME_EXTRACT(t, unit)` in `zone`.
pub(crate) fn extract(t: i64, unit: TimeUnit, zone: Zone) -> i64 {
    if unit == TimeUnit::Epoch {
        return t / 1000;
    }
    let c = Civil::from_local(zone.to_local(t));
    match unit {
        TimeUnit::Millisecond => c.millis,
        TimeUnit::Second => c.second,
        TimeUnit::Minute => c.minute,
        TimeUnit::Hour => c.hour,
        TimeUnit::Day => i64::from(c.day),
        TimeUnit::DayOfWeek | TimeUnit::IsoDayOfWeek => c.iso_day_of_week(),
        TimeUnit::DayOfYear => c.day_of_year(),
        TimeUnit::Week => c.iso_week().1,
        TimeUnit::Month => i64::from(c.month),
        TimeUnit::Quarter => (i64::from(c.month) - 1) / 3 + 1,
        TimeUnit::Year => c.year,
        TimeUnit::Epoch => t / 1000,
    }
}

/// The SQL name of a time function (for messages; Druid names them in lower case).
fn function_name(func: &ScalarFunction) -> &'static str {
    use ScalarFunction as F;
    match func {
        F::TimeParse => "time_parse",
        F::TimeFormat => "time_format",
        F::TimeFloor => "time_floor",
        F::TimeCeil => "time_ceil",
        F::TimeShift => "time_shift",
        F::TimeExtract(_) => "time_extract",
        F::MillisToTimestamp => "millis_to_timestamp",
        F::TimestampToMillis => "timestamp_to_millis",
        _ => "?",
    }
}

/// The zone argument at `index` (null or absent = UTC).
fn zone_arg(name: &str, args: &[ScalarExpr], index: usize) -> Result<Zone> {
    match constant_string(name, args, index)? {
        Some(z) => Zone::parse(name, &z),
        None => Ok(Zone::UTC),
    }
}

/// Evaluates the time functions.
pub(crate) fn eval_function(
    func: &ScalarFunction,
    args: &[ScalarExpr],
    batch: &RecordBatch,
) -> Result<ArrayRef> {
    use ScalarFunction as F;
    let name = function_name(func);
    let rows = batch.num_rows();
    let Some(first) = args.first() else {
        internal_err!("Function[{name}] needs an argument");
    };
    let times = || -> Result<ArrayRef> { eval_as(first, batch, &SqlType::Timestamp) };
    let map_times = |f: &dyn Fn(i64) -> Option<i64>| -> Result<ArrayRef> {
        let t = times()?;
        let out: Int64Array = downcast::<Int64Array>(&t)?
            .iter()
            .map(|v| v.and_then(f))
            .collect();
        Ok(Arc::new(out))
    };
    match func {
        F::MillisToTimestamp | F::TimestampToMillis => eval_as(first, batch, &SqlType::Bigint),
        F::TimeExtract(unit) => {
            let zone = zone_arg(name, args, 1)?;
            map_times(&|t| Some(extract(t, *unit, zone)))
        }
        F::TimeFloor | F::TimeCeil => {
            let Some(period) = constant_string(name, args, 1)? else {
                return Ok(new_null_array(&DataType::Int64, rows));
            };
            let period = Period::parse(name, &period)?;
            let origin = match constant_arg(name, args, 2)? {
                None => None,
                Some(Literal::Timestamp(t) | Literal::Long(t)) => Some(t),
                Some(Literal::String(s)) => {
                    Some(parse_default(&s, Zone::UTC).ok_or_else(|| {
                        MsqError::plan(format!("Function[{name}] invalid origin [{s}]"))
                    })?)
                }
                Some(other) => {
                    return Err(MsqError::plan(format!(
                        "Function[{name}] origin must be a timestamp literal, got {other:?}"
                    )))
                }
            };
            let zone = zone_arg(name, args, 3)?;
            let granularity = PeriodGranularity::new(name, period, origin, zone)?;
            if *func == F::TimeFloor {
                map_times(&|t| Some(granularity.floor(t)))
            } else {
                map_times(&|t| Some(granularity.ceil(t)))
            }
        }
        F::TimeShift => {
            let Some(period) = constant_string(name, args, 1)? else {
                return Ok(new_null_array(&DataType::Int64, rows));
            };
            let period = Period::parse(name, &period)?;
            let zone = zone_arg(name, args, 3)?;
            let steps = match args.get(2) {
                Some(e) => eval_as(e, batch, &SqlType::Bigint)?,
                None => internal_err!("Function[{name}] needs a step argument"),
            };
            let steps = downcast::<Int64Array>(&steps)?;
            let t = times()?;
            let out: Int64Array = downcast::<Int64Array>(&t)?
                .iter()
                .zip(steps.iter())
                .map(|(t, step)| Some(shift(t?, &period, step?, zone)))
                .collect();
            Ok(Arc::new(out))
        }
        F::TimeParse => {
            let zone = zone_arg(name, args, 2)?;
            let pattern = constant_string(name, args, 1)?;
            let format = pattern
                .as_deref()
                .map(|p| JodaFormat::compile(name, p))
                .transpose()?;
            let s = eval_as(first, batch, &SqlType::Varchar)?;
            let out: Int64Array = downcast::<StringArray>(&s)?
                .iter()
                .map(|v| {
                    let v = v?;
                    match &format {
                        None => parse_default(v, zone),
                        Some(f) => f.parse(v, zone),
                    }
                })
                .collect();
            Ok(Arc::new(out))
        }
        F::TimeFormat => {
            let zone = zone_arg(name, args, 2)?;
            let pattern = constant_string(name, args, 1)?;
            let format = pattern
                .as_deref()
                .map(|p| JodaFormat::compile(name, p))
                .transpose()?;
            let t = times()?;
            let t = downcast::<Int64Array>(&t)?;
            let out: StringArray = (0..t.len())
                .map(|i| {
                    if t.is_null(i) {
                        return None;
                    }
                    Some(match &format {
                        None => format_iso(t.value(i), zone),
                        Some(f) => f.format(t.value(i), zone),
                    })
                })
                .collect();
            Ok(Arc::new(out))
        }
        other => internal_err!("{other:?} is not a time function"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(text: &str) -> i64 {
        parse_default(text, Zone::UTC).unwrap_or_else(|| panic!("bad test timestamp {text}"))
    }

    fn floor(t: &str, period: &str, origin: Option<&str>, zone: Zone) -> String {
        let g = PeriodGranularity::new(
            "time_floor",
            Period::parse("time_floor", period).unwrap(),
            origin.map(ms),
            zone,
        )
        .unwrap();
        format_iso(g.floor(ms(t)), zone)
    }

    #[test]
    fn parses_iso_and_sql_text() {
        assert_eq!(ms("2016-06-27T00:00:11.080Z"), 1_466_985_611_080);
        assert_eq!(ms("2016-06-27 00:00:11.08"), 1_466_985_611_080);
        assert_eq!(ms("2016-06-27T00:00:11.080123"), 1_466_985_611_080);
        assert_eq!(ms("2016-06-27"), 1_466_985_600_000);
        assert_eq!(ms("2016-06-27T05:30+05:30"), 1_466_985_600_000);
        assert_eq!(ms("2016-06-27T05:30:00+0530"), 1_466_985_600_000);
        assert_eq!(ms("2016-06-26T16:00:00-08"), 1_466_985_600_000);
        assert_eq!(ms("2016-06"), ms("2016-06-01"));
        assert_eq!(ms("2016"), ms("2016-01-01"));
        assert_eq!(ms("1969-12-31T23:59:59.999Z"), -1);
        assert_eq!(
            parse_default("2016-06-27 00:00:11", Zone::Fixed(3_600_000)),
            Some(1_466_985_611_000 - 3_600_000)
        );
        for bad in [
            "",
            "abc",
            "2016-13-01",
            "2016-02-30",
            "2016-06-27T25:00",
            "2016-06-27X",
            "16-06-27",
        ] {
            assert_eq!(parse_default(bad, Zone::UTC), None, "{bad}");
        }
        assert_eq!(ms("2016-02-29"), ms("2016-03-01") - MILLIS_PER_DAY);
    }

    #[test]
    fn zones() {
        assert_eq!(Zone::parse("f", "Etc/UTC").unwrap(), Zone::UTC);
        assert_eq!(Zone::parse("f", "+05:30").unwrap().offset_at(0), 19_800_000);
        assert_eq!(Zone::parse("f", "UTC+2").unwrap().offset_at(0), 7_200_000);
        assert_eq!(
            Zone::parse("f", "GMT-08:00").unwrap().offset_at(0),
            -28_800_000
        );
        assert_eq!(
            Zone::parse("f", "Etc/GMT+8").unwrap().offset_at(0),
            -28_800_000
        );
        let la = Zone::parse("f", "America/Los_Angeles").unwrap();
        assert_eq!(
            la.offset_at(ms("2016-06-29T00:00:00Z")),
            -7 * MILLIS_PER_HOUR
        );
        assert_eq!(
            la.offset_at(ms("2016-01-29T00:00:00Z")),
            -8 * MILLIS_PER_HOUR
        );
        assert_eq!(la.id(), "America/Los_Angeles");
        assert_eq!(la.short_name(ms("2016-06-29T00:00:00Z")), "PDT");
        assert_eq!(la.short_name(ms("2016-01-29T00:00:00Z")), "PST");
        assert_eq!(Zone::UTC.id(), "UTC");
        assert_eq!(Zone::Fixed(19_800_000).short_name(0), "+05:30");
        let err = Zone::parse("time_floor", "Mars/Olympus_Mons").unwrap_err();
        assert_eq!(err.code(), msq_common::ErrorCode::InvalidInput);
        assert!(err.message().contains("[Mars/Olympus_Mons]"), "{err}");
        assert!(err.message().contains("time_floor"), "{err}");
        assert!(err.message().contains("built-in table"), "{err}");
    }

    #[test]
    fn named_zones_in_time_functions() {
        let la = Zone::parse("f", "America/Los_Angeles").unwrap();
        let ny = Zone::parse("f", "America/New_York").unwrap();
        // Days start at local midnight, whichever offset is in effect.
        assert_eq!(
            floor("2016-06-29T10:00:00Z", "P1D", None, la),
            "2016-06-29T00:00:00.000-07:00"
        );
        assert_eq!(
            floor("2016-01-29T10:00:00Z", "P1D", None, la),
            "2016-01-29T00:00:00.000-08:00"
        );
        // The day DST ends in New York is 25 hours long; it starts at midnight EDT.
        assert_eq!(
            floor("2016-11-06T20:00:00Z", "P1D", None, ny),
            "2016-11-06T00:00:00.000-04:00"
        );
        assert_eq!(
            floor("2016-11-06T20:00:00Z", "P1M", None, ny),
            "2016-11-01T00:00:00.000-04:00"
        );
        // Within the repeated hour each hour floors to its own start.
        assert_eq!(
            floor("2016-11-06T05:30:00Z", "PT1H", None, ny),
            "2016-11-06T01:00:00.000-04:00"
        );
        assert_eq!(
            floor("2016-11-06T06:30:00Z", "PT1H", None, ny),
            "2016-11-06T01:00:00.000-05:00"
        );
        // P1D from the day before DST starts keeps the wall-clock time (23 hours later);
        // PT24H is elapsed time.
        let day = Period::parse("f", "P1D").unwrap();
        let hours = Period::parse("f", "PT24H").unwrap();
        let t = ms("2016-03-12T12:00:00-05:00");
        assert_eq!(shift(t, &day, 1, ny), ms("2016-03-13T12:00:00-04:00"));
        assert_eq!(shift(t, &hours, 1, ny), ms("2016-03-13T13:00:00-04:00"));
        // Ceil crosses into the next local day.
        let g = PeriodGranularity::new("f", day, None, ny).unwrap();
        assert_eq!(
            g.ceil(ms("2016-03-13T00:00:00.001-05:00")),
            ms("2016-03-14T00:00:00-04:00")
        );
        // Local text in the spring-forward gap is shifted forward; in the overlap it is the
        // earlier instant (Joda).
        assert_eq!(
            parse_default("2016-03-13 02:30:00", ny),
            Some(ms("2016-03-13T03:30:00-04:00"))
        );
        assert_eq!(
            parse_default("2016-11-06 01:30:00", ny),
            Some(ms("2016-11-06T01:30:00-04:00"))
        );
        assert_eq!(
            parse_default("2016-06-27 10:00", la),
            Some(ms("2016-06-27T17:00:00Z"))
        );
        assert_eq!(extract(ms("2016-06-29T03:00:00Z"), TimeUnit::Hour, la), 20);
        assert_eq!(extract(ms("2016-06-29T03:00:00Z"), TimeUnit::Day, la), 28);
        let kolkata = Zone::parse("f", "Asia/Kolkata").unwrap();
        assert_eq!(
            format_iso(ms("2016-06-27T00:00:00Z"), kolkata),
            "2016-06-27T05:30:00.000+05:30"
        );
    }

    #[test]
    fn periods() {
        let p = Period::parse("f", "PT1H30M").unwrap();
        assert_eq!((p.hours, p.minutes), (1, 30));
        assert_eq!(Period::parse("f", "P3M").unwrap().months, 3);
        assert_eq!(Period::parse("f", "PT0.5S").unwrap().millis, 500);
        for bad in ["", "1D", "P", "PT", "P1H", "PxD", "PT1D"] {
            assert!(Period::parse("f", bad).is_err(), "{bad}");
        }
        assert!(
            PeriodGranularity::new("f", Period::parse("f", "P1M1D").unwrap(), None, Zone::UTC)
                .is_err()
        );
    }

    #[test]
    fn floors_by_period() {
        let utc = Zone::UTC;
        let cases = [
            (
                "2016-06-27T13:47:11.080Z",
                "PT1S",
                "2016-06-27T13:47:11.000Z",
            ),
            (
                "2016-06-27T13:47:11.080Z",
                "PT1M",
                "2016-06-27T13:47:00.000Z",
            ),
            (
                "2016-06-27T13:47:11.080Z",
                "PT5M",
                "2016-06-27T13:45:00.000Z",
            ),
            (
                "2016-06-27T13:47:11.080Z",
                "PT15M",
                "2016-06-27T13:45:00.000Z",
            ),
            (
                "2016-06-27T13:47:11.080Z",
                "PT30M",
                "2016-06-27T13:30:00.000Z",
            ),
            (
                "2016-06-27T13:47:11.080Z",
                "PT1H",
                "2016-06-27T13:00:00.000Z",
            ),
            (
                "2016-06-27T13:47:11.080Z",
                "PT6H",
                "2016-06-27T12:00:00.000Z",
            ),
            (
                "2016-06-27T13:47:11.080Z",
                "P1D",
                "2016-06-27T00:00:00.000Z",
            ),
            // 2016-07-03 is a Sunday: its week starts Monday 06-27.
            (
                "2016-07-03T23:59:59.999Z",
                "P1W",
                "2016-06-27T00:00:00.000Z",
            ),
            (
                "2016-06-27T00:00:00.000Z",
                "P1W",
                "2016-06-27T00:00:00.000Z",
            ),
            (
                "2016-06-27T13:47:11.080Z",
                "P1M",
                "2016-06-01T00:00:00.000Z",
            ),
            (
                "2016-06-27T13:47:11.080Z",
                "P3M",
                "2016-04-01T00:00:00.000Z",
            ),
            (
                "2016-12-31T23:59:59.999Z",
                "P3M",
                "2016-10-01T00:00:00.000Z",
            ),
            (
                "2016-06-27T13:47:11.080Z",
                "P1Y",
                "2016-01-01T00:00:00.000Z",
            ),
            (
                "2016-02-29T12:00:00.000Z",
                "P1D",
                "2016-02-29T00:00:00.000Z",
            ),
            (
                "2016-02-29T12:00:00.000Z",
                "P1M",
                "2016-02-01T00:00:00.000Z",
            ),
            // Before the epoch.
            (
                "1969-12-31T23:59:59.999Z",
                "P1D",
                "1969-12-31T00:00:00.000Z",
            ),
            (
                "1969-12-31T23:59:59.999Z",
                "P1M",
                "1969-12-01T00:00:00.000Z",
            ),
            (
                "1969-12-31T23:59:59.999Z",
                "P1Y",
                "1969-01-01T00:00:00.000Z",
            ),
            (
                "1969-11-15T00:00:00.000Z",
                "P3M",
                "1969-10-01T00:00:00.000Z",
            ),
            (
                "1969-12-31T23:59:59.999Z",
                "PT1H",
                "1969-12-31T23:00:00.000Z",
            ),
        ];
        for (t, period, want) in cases {
            assert_eq!(
                floor(t, period, None, utc),
                want,
                "TIME_FLOOR({t}, {period})"
            );
        }
        // With an origin.
        assert_eq!(
            floor(
                "2016-06-27T13:47:11Z",
                "PT1H",
                Some("2016-01-01T00:30:00Z"),
                utc
            ),
            "2016-06-27T13:30:00.000Z"
        );
        assert_eq!(
            floor(
                "2016-06-27T13:47:11Z",
                "P1M",
                Some("2016-01-15T00:00:00Z"),
                utc
            ),
            "2016-06-15T00:00:00.000Z"
        );
        assert_eq!(
            floor(
                "2016-06-10T00:00:00Z",
                "P1M",
                Some("2016-01-15T00:00:00Z"),
                utc
            ),
            "2016-05-15T00:00:00.000Z"
        );
        // In a fixed-offset zone, days start at local midnight.
        let plus = Zone::parse("f", "+05:30").unwrap();
        assert_eq!(
            floor("2016-06-27T20:00:00Z", "P1D", None, plus),
            "2016-06-28T00:00:00.000+05:30"
        );
    }

    #[test]
    fn extreme_values_saturate_instead_of_panicking() {
        let month = Period::parse("f", "P1M").unwrap();
        let far = shift(0, &month, i64::MAX, Zone::UTC);
        assert!(far > 9_000_000_000_000_000_000, "{far}");
        let back = shift(0, &month, i64::MIN, Zone::UTC);
        assert!(back < -9_000_000_000_000_000_000, "{back}");
        let huge = Period::parse("f", "PT9999999999999999H").unwrap();
        assert_eq!(shift(0, &huge, 2, Zone::UTC), i64::MAX);
        let g = PeriodGranularity::new("f", Period::parse("f", "PT1H").unwrap(), None, Zone::UTC)
            .unwrap();
        assert_eq!(g.floor(i64::MIN), i64::MIN); // no earlier bucket start fits in i64
        let y = PeriodGranularity::new("f", Period::parse("f", "P1Y").unwrap(), None, Zone::UTC)
            .unwrap();
        let _ = y.floor(i64::MAX);
        let _ = y.ceil(i64::MAX);
        let _ = extract(i64::MIN, TimeUnit::Week, Zone::UTC);
        assert_eq!(parse_default("999999999-12-31", Zone::UTC), None);
    }

    #[test]
    fn ceil_and_shift() {
        let g = PeriodGranularity::new(
            "time_ceil",
            Period::parse("f", "P1D").unwrap(),
            None,
            Zone::UTC,
        )
        .unwrap();
        assert_eq!(
            g.ceil(ms("2016-06-27T00:00:00Z")),
            ms("2016-06-27T00:00:00Z")
        );
        assert_eq!(
            g.ceil(ms("2016-06-27T00:00:00.001Z")),
            ms("2016-06-28T00:00:00Z")
        );
        let m = PeriodGranularity::new(
            "time_ceil",
            Period::parse("f", "P1M").unwrap(),
            None,
            Zone::UTC,
        )
        .unwrap();
        assert_eq!(m.ceil(ms("2016-12-15")), ms("2017-01-01"));
        let month = Period::parse("f", "P1M").unwrap();
        assert_eq!(
            shift(ms("2016-01-31"), &month, 1, Zone::UTC),
            ms("2016-02-29")
        );
        assert_eq!(
            shift(ms("2015-01-31"), &month, 1, Zone::UTC),
            ms("2015-02-28")
        );
        assert_eq!(
            shift(ms("2016-03-31"), &month, -1, Zone::UTC),
            ms("2016-02-29")
        );
        let year = Period::parse("f", "P1Y").unwrap();
        assert_eq!(
            shift(ms("2016-02-29"), &year, 1, Zone::UTC),
            ms("2017-02-28")
        );
        let hours = Period::parse("f", "PT1H").unwrap();
        assert_eq!(
            shift(ms("2016-01-01"), &hours, -25, Zone::UTC),
            ms("2015-12-30T23:00:00Z")
        );
    }

    #[test]
    fn extracts_fields() {
        let t = ms("2016-06-27T13:47:11.080Z"); // a Monday
        let cases = [
            (TimeUnit::Millisecond, 80),
            (TimeUnit::Second, 11),
            (TimeUnit::Minute, 47),
            (TimeUnit::Hour, 13),
            (TimeUnit::Day, 27),
            (TimeUnit::DayOfWeek, 1),
            (TimeUnit::IsoDayOfWeek, 1),
            (TimeUnit::DayOfYear, 179),
            (TimeUnit::Week, 26),
            (TimeUnit::Month, 6),
            (TimeUnit::Quarter, 2),
            (TimeUnit::Year, 2016),
            (TimeUnit::Epoch, 1_467_035_231),
        ];
        for (unit, want) in cases {
            assert_eq!(extract(t, unit, Zone::UTC), want, "{unit:?}");
        }
        // 2016-01-03 (Sunday) belongs to ISO week 53 of 2015; 2014-12-29 to week 1 of 2015.
        assert_eq!(extract(ms("2016-01-03"), TimeUnit::Week, Zone::UTC), 53);
        assert_eq!(extract(ms("2016-01-03"), TimeUnit::DayOfWeek, Zone::UTC), 7);
        assert_eq!(extract(ms("2014-12-29"), TimeUnit::Week, Zone::UTC), 1);
        assert_eq!(
            extract(ms("2016-12-31"), TimeUnit::DayOfYear, Zone::UTC),
            366
        );
        assert_eq!(extract(-1, TimeUnit::Year, Zone::UTC), 1969);
        let plus = Zone::parse("f", "+05:30").unwrap();
        assert_eq!(extract(ms("2016-06-27T20:00:00Z"), TimeUnit::Day, plus), 28);
    }

    #[test]
    fn formats_sql_and_iso() {
        assert_eq!(
            format_sql_timestamp(1_466_985_611_080),
            "2016-06-27 00:00:11"
        );
        assert_eq!(format_sql_timestamp(-1), "1969-12-31 23:59:59");
        assert_eq!(
            format_iso(1_466_985_611_080, Zone::UTC),
            "2016-06-27T00:00:11.080Z"
        );
    }
}
