//! Text formatting for the console: thousands separators, byte sizes, durations and ISO
//! timestamps, the way Druid's console prints them.
//!
//! Pure functions over numbers and strings (no browser, no report math), tested natively.
//! Counting and progress come from `msq_model::stages`; this module only turns numbers into
//! text.

/// `465346` → `"465,346"`; negative numbers keep their sign.
pub fn thousands(n: i128) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// [`thousands`] for any unsigned count.
pub fn count(n: u64) -> String {
    thousands(i128::from(n))
}

/// A float rounded to a whole number, with separators (`1234.6` → `"1,235"`).
pub fn rounded(x: f64) -> String {
    if !x.is_finite() {
        return "–".to_owned();
    }
    // `as` saturates for out-of-range floats, which is what a display wants.
    thousands(x.round() as i128)
}

/// Milliseconds as Druid's console shows a stage duration: `"19,965 ms"`.
pub fn millis(ms: u64) -> String {
    format!("{} ms", count(ms))
}

/// A byte count in binary units: `"512 B"`, `"1.1 MiB"`, `"41.6 MiB"`, `"2.0 GiB"`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// A percentage of a 0..=1 fraction, clamped: `0.4567` → `"46%"`.
pub fn percent(fraction: f64) -> String {
    let f = if fraction.is_finite() {
        fraction.clamp(0.0, 1.0)
    } else {
        0.0
    };
    format!("{}%", (f * 100.0).floor() as u32)
}

/// An ISO-8601 timestamp shown without the `T`, the `Z` and trailing zero milliseconds:
/// `"2022-09-14T22:12:11.663Z"` → `"2022-09-14 22:12:11.663"`. Anything unparseable is
/// returned as given, so a report with an odd timestamp still shows it.
pub fn pretty_iso(iso: &str) -> String {
    if parse_iso_millis(iso).is_none() {
        return iso.to_owned();
    }
    let trimmed = iso.trim_end_matches('Z');
    let trimmed = trimmed.strip_suffix(".000").unwrap_or(trimmed);
    trimmed.replacen('T', " ", 1)
}

/// Milliseconds since the Unix epoch of a UTC ISO-8601 timestamp as Druid writes them
/// (`YYYY-MM-DDTHH:MM:SS[.fff]Z`, an explicit `+00:00` offset also accepted). `None` when the
/// text is not of that form.
pub fn parse_iso_millis(iso: &str) -> Option<i64> {
    let s = iso.trim();
    let s = s.strip_suffix('Z').or_else(|| s.strip_suffix("+00:00"))?;
    let (date, time) = s.split_once('T')?;
    let mut d = date.splitn(3, '-');
    let year: i64 = d.next()?.parse().ok()?;
    let month: i64 = d.next()?.parse().ok()?;
    let day: i64 = d.next()?.parse().ok()?;
    let (hms, frac) = match time.split_once('.') {
        Some((hms, frac)) => (hms, Some(frac)),
        None => (time, None),
    };
    let mut t = hms.splitn(3, ':');
    let hour: i64 = t.next()?.parse().ok()?;
    let minute: i64 = t.next()?.parse().ok()?;
    let second: i64 = t.next()?.parse().ok()?;
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let millis = match frac {
        None => 0,
        Some(f) if !f.is_empty() && f.len() <= 9 && f.bytes().all(|b| b.is_ascii_digit()) => {
            let padded = format!("{f:0<3}");
            padded[..3].parse::<i64>().ok()?
        }
        Some(_) => return None,
    };
    let days = days_from_civil(year, month, day);
    Some(((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + millis)
}

/// Milliseconds since the epoch as `"2019-08-25T00:00:00.000Z"` (how the console shows a
/// `TIMESTAMP` result value).
pub fn iso_from_millis(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let rem = ms.rem_euclid(86_400_000);
    let (y, m, d) = civil_from_days(days);
    let (h, rem) = (rem / 3_600_000, rem % 3_600_000);
    let (min, rem) = (rem / 60_000, rem % 60_000);
    let (s, milli) = (rem / 1000, rem % 1000);
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{s:02}.{milli:03}Z")
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Inverse of [`days_from_civil`].
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(465_346), "465,346");
        assert_eq!(thousands(43_694_447), "43,694,447");
        assert_eq!(thousands(-1_234_567), "-1,234,567");
        assert_eq!(count(3_000_000), "3,000,000");
        assert_eq!(rounded(23_307.6), "23,308");
        assert_eq!(rounded(f64::NAN), "–");
    }

    #[test]
    fn durations_and_sizes() {
        assert_eq!(millis(19_965), "19,965 ms");
        assert_eq!(millis(5891), "5,891 ms");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1_153_434), "1.1 MiB");
        assert_eq!(bytes(43_694_447), "41.7 MiB");
        assert_eq!(bytes(2 * 1024 * 1024 * 1024), "2.0 GiB");
        assert_eq!(percent(0.4567), "45%");
        assert_eq!(percent(1.7), "100%");
        assert_eq!(percent(f64::NAN), "0%");
    }

    #[test]
    fn iso_round_trip() {
        let ms = parse_iso_millis("2022-09-14T22:12:11.663Z").expect("valid");
        assert_eq!(ms, 1_663_193_531_663);
        assert_eq!(iso_from_millis(ms), "2022-09-14T22:12:11.663Z");
        assert_eq!(parse_iso_millis("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_iso_millis("1969-12-31T23:59:59.999Z"), Some(-1));
        assert_eq!(iso_from_millis(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(
            parse_iso_millis("2019-08-25T00:00:00.5+00:00"),
            Some(1_566_691_200_500)
        );
        assert_eq!(
            parse_iso_millis("2024-02-29T12:00:00.000Z"),
            Some(1_709_208_000_000)
        );
        assert_eq!(parse_iso_millis("not a date"), None);
        assert_eq!(parse_iso_millis("2022-13-01T00:00:00Z"), None);
        assert_eq!(parse_iso_millis("2022-09-14T22:12:11.6x3Z"), None);
    }

    #[test]
    fn pretty_timestamps() {
        assert_eq!(
            pretty_iso("2022-09-14T22:12:11.663Z"),
            "2022-09-14 22:12:11.663"
        );
        assert_eq!(
            pretty_iso("2022-09-14T22:12:09.000Z"),
            "2022-09-14 22:12:09"
        );
        assert_eq!(pretty_iso("yesterday"), "yesterday");
    }
}
