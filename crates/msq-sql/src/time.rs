//! UTC time arithmetic without a date library: civil dates ⇄ days since the epoch, SQL
//! `TIMESTAMP` literals → epoch milliseconds, and Joda-style ISO-8601 rendering of instants and
//! intervals, as Druid prints them in error messages and in `sqlReplaceTimeChunks`.
//!
//! Druid's time chunks are computed in UTC (spec `druid-msq.md` §1.3). The calendar is the
//! proleptic Gregorian one; the day/civil conversions are Howard Hinnant's `days_from_civil` /
//! `civil_from_days` algorithms, which are exact over the whole `i64` millisecond range Druid
//! uses (its "eternity" is `[i64::MIN / 2, i64::MAX / 2)`).

use msq_common::{plan_err, Result};

/// Milliseconds in one second.
pub const MILLIS_PER_SECOND: i64 = 1_000;
/// Milliseconds in one minute.
pub const MILLIS_PER_MINUTE: i64 = 60 * MILLIS_PER_SECOND;
/// Milliseconds in one hour.
pub const MILLIS_PER_HOUR: i64 = 60 * MILLIS_PER_MINUTE;
/// Milliseconds in one day.
pub const MILLIS_PER_DAY: i64 = 24 * MILLIS_PER_HOUR;

/// The first instant Druid represents: Joda's `JodaUtils.MIN_INSTANT` (`Long.MIN_VALUE / 2`),
/// printed as `-146136543-09-08T08:23:32.096Z`. Start of `Intervals.ETERNITY`.
pub const ETERNITY_START: i64 = i64::MIN / 2;
/// The end of Druid's eternity: `JodaUtils.MAX_INSTANT` (`Long.MAX_VALUE / 2`), printed as
/// `146140482-04-24T15:36:27.903Z`.
pub const ETERNITY_END: i64 = i64::MAX / 2;

/// A half-open time interval `[start, end)` in UTC epoch milliseconds, as Druid's Joda
/// `Interval`.
pub type Interval = (i64, i64);

/// Days since 1970-01-01 of a proleptic Gregorian date (`month` 1..=12, `day` 1..=31).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400; // [0, 399]
    let m = i64::from(month);
    let mp = if m > 2 { m - 3 } else { m + 9 }; // March-based month [0, 11]
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1; // [0, 365]
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian `(year, month, day)` of a day number (days since 1970-01-01).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097; // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32; // [1, 31]
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32; // [1, 12]
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Whether `year` is a Gregorian leap year.
pub fn is_leap_year(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// Number of days in `month` (1..=12) of `year`.
pub fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap_year(year) => 29,
        _ => 28,
    }
}

/// Epoch milliseconds of the first instant of the given UTC civil date.
pub fn millis_from_civil(year: i64, month: u32, day: u32) -> i64 {
    days_from_civil(year, month, day) * MILLIS_PER_DAY
}

/// The UTC civil date and the milliseconds into that day of an instant.
pub fn civil_from_millis(millis: i64) -> ((i64, u32, u32), i64) {
    let days = millis.div_euclid(MILLIS_PER_DAY);
    (civil_from_days(days), millis.rem_euclid(MILLIS_PER_DAY))
}

/// Renders an instant the way Joda's `DateTime.toString()` does in UTC:
/// `2000-01-05T00:00:00.000Z`; years beyond four digits or before year 0 keep all digits and
/// a sign (`-146136543-09-08T08:23:32.096Z`).
pub fn format_millis(millis: i64) -> String {
    let ((year, month, day), ms_of_day) = civil_from_millis(millis);
    let hour = ms_of_day / MILLIS_PER_HOUR;
    let minute = ms_of_day / MILLIS_PER_MINUTE % 60;
    let second = ms_of_day / MILLIS_PER_SECOND % 60;
    let milli = ms_of_day % MILLIS_PER_SECOND;
    let year = if year < 0 {
        format!("-{:04}", -year)
    } else {
        format!("{year:04}")
    };
    format!("{year}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{milli:03}Z")
}

/// Renders an interval as Druid's `Interval.toString()`: `<start>/<end>`.
pub fn format_interval((start, end): Interval) -> String {
    format!("{}/{}", format_millis(start), format_millis(end))
}

/// Parses the text of a SQL `TIMESTAMP '...'` (or `DATE '...'`) literal as UTC epoch
/// milliseconds.
///
/// Accepted: `YYYY-MM-DD`, `YYYY-MM-DD HH:MM[:SS[.fff…]]`, the same with `T` instead of the
/// space, and an optional trailing `Z` or `±HH:MM` offset (ISO-8601). Fractions beyond
/// milliseconds are truncated. Errors are worded like Calcite's: `Illegal TIMESTAMP literal
/// '<text>': not in format 'yyyy-MM-dd HH:mm:ss'`.
pub fn parse_timestamp_millis(text: &str) -> Result<i64> {
    match parse_timestamp_inner(text.trim()) {
        Some(millis) => Ok(millis),
        None => {
            plan_err!("Illegal TIMESTAMP literal '{text}': not in format 'yyyy-MM-dd HH:mm:ss'")
        }
    }
}

/// A cursor over ASCII digits and separators.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn digits(&mut self, min: usize, max: usize) -> Option<i64> {
        let start = self.pos;
        while self.pos < self.bytes.len() && self.pos - start < max && self.peek_digit() {
            self.pos += 1;
        }
        if self.pos - start < min {
            return None;
        }
        std::str::from_utf8(&self.bytes[start..self.pos])
            .ok()?
            .parse()
            .ok()
    }

    fn peek_digit(&self) -> bool {
        self.bytes.get(self.pos).is_some_and(u8::is_ascii_digit)
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.bytes.get(self.pos) == Some(&c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn done(&self) -> bool {
        self.pos == self.bytes.len()
    }
}

fn parse_timestamp_inner(text: &str) -> Option<i64> {
    let mut c = Cursor {
        bytes: text.as_bytes(),
        pos: 0,
    };
    let negative = c.eat(b'-');
    let year = c.digits(4, 9)?;
    let year = if negative { -year } else { year };
    if !c.eat(b'-') {
        return None;
    }
    let month = u32::try_from(c.digits(1, 2)?).ok()?;
    if !c.eat(b'-') {
        return None;
    }
    let day = u32::try_from(c.digits(1, 2)?).ok()?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let mut millis = millis_from_civil(year, month, day);
    if c.done() {
        return Some(millis);
    }
    if !(c.eat(b' ') || c.eat(b'T')) {
        return None;
    }
    let hour = c.digits(1, 2)?;
    if !c.eat(b':') {
        return None;
    }
    let minute = c.digits(1, 2)?;
    let mut second = 0;
    let mut fraction = 0;
    if c.eat(b':') {
        second = c.digits(1, 2)?;
        if c.eat(b'.') {
            let start = c.pos;
            let digits = c.digits(1, 9)?;
            let len = (c.pos - start) as u32;
            fraction = if len >= 3 {
                digits / 10_i64.pow(len - 3)
            } else {
                digits * 10_i64.pow(3 - len)
            };
        }
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    millis += hour * MILLIS_PER_HOUR + minute * MILLIS_PER_MINUTE + second * MILLIS_PER_SECOND;
    millis += fraction;
    // Optional zone: `Z` or `±HH[:MM]`; the instant is shifted back to UTC.
    let sign = if c.eat(b'+') {
        1
    } else if c.eat(b'-') {
        -1
    } else {
        c.eat(b'Z');
        0
    };
    if sign != 0 {
        let offset_hours = c.digits(2, 2)?;
        let offset_minutes = if c.eat(b':') { c.digits(2, 2)? } else { 0 };
        if offset_hours > 18 || offset_minutes > 59 {
            return None;
        }
        millis -= sign * (offset_hours * MILLIS_PER_HOUR + offset_minutes * MILLIS_PER_MINUTE);
    }
    c.done().then_some(millis)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trips_over_a_wide_range() {
        for days in (-1_000_000..1_000_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    #[test]
    fn leap_years_and_month_lengths() {
        assert!(is_leap_year(2000));
        assert!(!is_leap_year(1900));
        assert!(is_leap_year(2024));
        assert!(is_leap_year(-4));
        assert_eq!(days_in_month(2023, 2), 28);
        assert_eq!(days_in_month(2024, 2), 29);
        assert_eq!(days_in_month(2024, 4), 30);
    }

    #[test]
    fn formats_like_joda() {
        assert_eq!(format_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_millis(947_030_400_000), "2000-01-05T00:00:00.000Z");
        assert_eq!(format_millis(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(
            format_millis(ETERNITY_START),
            "-146136543-09-08T08:23:32.096Z"
        );
        assert_eq!(format_millis(ETERNITY_END), "146140482-04-24T15:36:27.903Z");
        assert_eq!(
            format_interval((946_684_800_000, 946_771_200_000)),
            "2000-01-01T00:00:00.000Z/2000-01-02T00:00:00.000Z"
        );
    }

    #[test]
    fn parses_timestamp_literals() {
        let day = 946_684_800_000; // 2000-01-01
        assert_eq!(parse_timestamp_millis("2000-01-01").unwrap(), day);
        assert_eq!(parse_timestamp_millis("2000-01-01 00:00:00").unwrap(), day);
        assert_eq!(
            parse_timestamp_millis("2000-01-01 01:02:03").unwrap(),
            day + 3_723_000
        );
        assert_eq!(
            parse_timestamp_millis("2000-01-31 23:59:59.999").unwrap(),
            day + 31 * MILLIS_PER_DAY - 1
        );
        assert_eq!(parse_timestamp_millis("2000-01-01T00:00:00Z").unwrap(), day);
        assert_eq!(
            parse_timestamp_millis("2000-01-01T00:00:00.5Z").unwrap(),
            day + 500
        );
        assert_eq!(
            parse_timestamp_millis("2000-01-01T05:30:00+05:30").unwrap(),
            day
        );
        assert_eq!(
            parse_timestamp_millis("2000-01-01 10:15").unwrap(),
            day + 36_900_000
        );
        assert_eq!(
            parse_timestamp_millis("1969-12-31 23:59:59.999").unwrap(),
            -1
        );
    }

    #[test]
    fn rejects_bad_timestamp_literals() {
        for bad in [
            "2000-01-INVALID0:00",
            "2000-13-01",
            "2001-02-29",
            "2000-01-01 24:00:00",
            "2000/01/01",
            "",
            "2000-01-01 00:00:00 junk",
        ] {
            let err = parse_timestamp_millis(bad).unwrap_err();
            assert!(
                err.message().starts_with("Illegal TIMESTAMP literal"),
                "{bad}: {err}"
            );
        }
    }
}
