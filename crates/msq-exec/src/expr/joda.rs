//! Joda-Time `DateTimeFormat` patterns, as Druid's `TIME_PARSE` and `TIME_FORMAT` take them.
//!
//! Supported letters (count = repetitions; numbers are zero-padded to the count):
//!
//! | letter | field | notes |
//! |---|---|---|
//! | `y`, `Y`, `u`, `x` | year (`yy`: two digits, parsed as 2000–2069 / 1970–1999) | `x` is the ISO week-year when formatting |
//! | `M` | month | `MMM` `Jan`, `MMMM` `January` (English) |
//! | `d` | day of month | |
//! | `D` | day of year | format only |
//! | `H`, `k` | hour of day 0–23 / 1–24 | |
//! | `h`, `K` | hour of half-day 1–12 / 0–11 | with `a` (`AM`/`PM`) |
//! | `m`, `s` | minute, second | |
//! | `S` | fraction of second | as many digits as letters |
//! | `E` | day of week | `EEE` `Mon`, `EEEE` `Monday` |
//! | `e` | day of week number, Monday = 1 | |
//! | `w` | ISO week of week-year | format only |
//! | `a` | half-day `AM`/`PM` | |
//! | `Z` | offset: `Z` `+0530`, `ZZ` `+05:30`, `ZZZ` zone id (`America/Los_Angeles`, `UTC`, `+05:30`) | parsing accepts `Z`, `UTC`/`GMT` and offsets |
//! | `z` | short zone name (`UTC`, `PST`/`PDT`, else the offset) | |
//! | `G` | era `AD`/`BC` | |
//! | `'…'` | literal text (`''` is a quote) | |
//!
//! Any other ASCII letter is an `InvalidInput` error ("Illegal pattern component"), as Joda
//! rejects it. Parsing must consume the whole string (else null, Druid's `TIME_PARSE`); a
//! numeric field directly followed by another numeric field (`yyyyMMdd`) reads exactly its
//! count of digits, otherwise it reads as many digits as there are. Fields not in the pattern
//! default to 1970-01-01T00:00:00.000; text without an offset is in the function's zone.

use msq_common::{MsqError, Result};

use super::time::{format_offset, format_year, local_from_fields, parse_offset, Civil, Zone};

/// English month names, January first.
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// English day names, Monday first.
const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// One element of a compiled pattern.
#[derive(Debug, Clone, PartialEq)]
enum Item {
    /// Literal text.
    Text(String),
    /// A field letter repeated `count` times.
    Field(char, usize),
}

/// A compiled Joda pattern.
#[derive(Debug, Clone)]
pub(crate) struct JodaFormat {
    items: Vec<Item>,
}

/// Whether a field is parsed as digits.
fn is_numeric(letter: char, count: usize) -> bool {
    match letter {
        'M' => count < 3,
        'y' | 'Y' | 'u' | 'x' | 'd' | 'D' | 'H' | 'k' | 'h' | 'K' | 'm' | 's' | 'S' | 'e' | 'w' => {
            true
        }
        _ => false,
    }
}

impl JodaFormat {
    /// Compiles `pattern`; unknown letters and unterminated quotes are `InvalidInput`.
    pub(crate) fn compile(function: &str, pattern: &str) -> Result<Self> {
        let mut items: Vec<Item> = Vec::new();
        let chars: Vec<char> = pattern.chars().collect();
        let mut i = 0;
        let push_text = |items: &mut Vec<Item>, s: &str| {
            if let Some(Item::Text(t)) = items.last_mut() {
                t.push_str(s);
            } else {
                items.push(Item::Text(s.to_owned()));
            }
        };
        while i < chars.len() {
            let c = chars[i];
            if c == '\'' {
                if chars.get(i + 1) == Some(&'\'') {
                    push_text(&mut items, "'");
                    i += 2;
                    continue;
                }
                let mut text = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => {
                            return Err(MsqError::plan(format!(
                            "Function[{function}] invalid pattern [{pattern}]: unterminated quote"
                        )))
                        }
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            text.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(other) => {
                            text.push(*other);
                            i += 1;
                        }
                    }
                }
                push_text(&mut items, &text);
            } else if c.is_ascii_alphabetic() {
                let mut count = 1;
                while chars.get(i + count) == Some(&c) {
                    count += 1;
                }
                if !"yYuxMdDHkhKmsSEewaZzG".contains(c) {
                    return Err(MsqError::plan(format!(
                        "Function[{function}] invalid pattern [{pattern}]: Illegal pattern component: {}",
                        c.to_string().repeat(count)
                    )));
                }
                items.push(Item::Field(c, count));
                i += count;
            } else {
                push_text(&mut items, &c.to_string());
                i += 1;
            }
        }
        Ok(Self { items })
    }

    /// Renders a UTC instant in `zone`.
    pub(crate) fn format(&self, utc: i64, zone: Zone) -> String {
        let c = Civil::from_local(zone.to_local(utc));
        let mut out = String::new();
        let pad = |out: &mut String, v: i64, count: usize| {
            if v < 0 {
                out.push('-');
            }
            out.push_str(&format!("{:0count$}", v.unsigned_abs()));
        };
        for item in &self.items {
            match item {
                Item::Text(t) => out.push_str(t),
                Item::Field(letter, count) => {
                    let count = *count;
                    match letter {
                        'y' | 'Y' | 'u' if count == 2 => pad(&mut out, c.year.rem_euclid(100), 2),
                        'y' | 'Y' | 'u' if count >= 4 => out.push_str(&format_year(c.year)),
                        'y' | 'Y' | 'u' => pad(&mut out, c.year, count),
                        'x' => pad(&mut out, c.iso_week().0, if count == 2 { 2 } else { count }),
                        'M' if count >= 4 => out.push_str(MONTHS[c.month as usize - 1]),
                        'M' if count == 3 => out.push_str(&MONTHS[c.month as usize - 1][..3]),
                        'M' => pad(&mut out, i64::from(c.month), count),
                        'd' => pad(&mut out, i64::from(c.day), count),
                        'D' => pad(&mut out, c.day_of_year(), count),
                        'H' => pad(&mut out, c.hour, count),
                        'k' => pad(&mut out, if c.hour == 0 { 24 } else { c.hour }, count),
                        'K' => pad(&mut out, c.hour % 12, count),
                        'h' => pad(
                            &mut out,
                            if c.hour % 12 == 0 { 12 } else { c.hour % 12 },
                            count,
                        ),
                        'm' => pad(&mut out, c.minute, count),
                        's' => pad(&mut out, c.second, count),
                        'S' => {
                            let digits = format!("{:03}", c.millis);
                            if count <= 3 {
                                out.push_str(&digits[..count]);
                            } else {
                                out.push_str(&digits);
                                out.push_str(&"0".repeat(count - 3));
                            }
                        }
                        'E' => {
                            let name = DAYS[c.iso_day_of_week() as usize - 1];
                            out.push_str(if count >= 4 { name } else { &name[..3] });
                        }
                        'e' => pad(&mut out, c.iso_day_of_week(), count),
                        'w' => pad(&mut out, c.iso_week().1, count),
                        'a' => out.push_str(if c.hour < 12 { "AM" } else { "PM" }),
                        'Z' if count == 1 => {
                            out.push_str(&format_offset(zone.offset_at(utc), false, true))
                        }
                        'Z' if count == 2 => {
                            out.push_str(&format_offset(zone.offset_at(utc), true, true))
                        }
                        'Z' => out.push_str(&zone.id()),
                        'z' => out.push_str(&zone.short_name(utc)),
                        'G' => out.push_str(if c.year > 0 { "AD" } else { "BC" }),
                        _ => {}
                    }
                }
            }
        }
        out
    }

    /// Parses `text` as a UTC instant; `None` when it does not match the whole pattern or a
    /// field is out of range.
    pub(crate) fn parse(&self, text: &str, zone: Zone) -> Option<i64> {
        let s = text.as_bytes();
        let mut pos = 0;
        let (mut year, mut month, mut day) = (1970_i64, 1_i64, 1_i64);
        let (mut hour, mut minute, mut second, mut millis) = (0_i64, 0_i64, 0_i64, 0_i64);
        let mut pm: Option<bool> = None;
        let mut half_day_hour = false;
        let mut offset: Option<i64> = None;
        for (index, item) in self.items.iter().enumerate() {
            match item {
                Item::Text(t) => {
                    if !s[pos..].starts_with(t.as_bytes()) {
                        return None;
                    }
                    pos += t.len();
                }
                Item::Field(letter, count) => {
                    let (letter, count) = (*letter, *count);
                    if is_numeric(letter, count) {
                        let adjacent = matches!(
                            self.items.get(index + 1),
                            Some(Item::Field(l, c)) if is_numeric(*l, *c)
                        );
                        let signed = matches!(letter, 'y' | 'Y' | 'u' | 'x') && !adjacent;
                        let negative = signed && s.get(pos) == Some(&b'-');
                        if negative {
                            pos += 1;
                        }
                        let max = if adjacent {
                            count.max(if letter == 'y' { 4 } else { count })
                        } else {
                            18
                        };
                        let start = pos;
                        while pos < s.len() && pos - start < max && s[pos].is_ascii_digit() {
                            pos += 1;
                        }
                        let n = pos - start;
                        if n == 0 || (adjacent && n < count) {
                            return None;
                        }
                        let digits = std::str::from_utf8(&s[start..pos]).ok()?;
                        let mut value: i64 = digits.parse().ok()?;
                        if negative {
                            value = -value;
                        }
                        match letter {
                            'y' | 'Y' | 'u' | 'x' => {
                                year = if count == 2 && n == 2 {
                                    if value < 70 {
                                        2000 + value
                                    } else {
                                        1900 + value
                                    }
                                } else {
                                    value
                                }
                            }
                            'M' => month = value,
                            'd' => day = value,
                            'H' => hour = value,
                            'k' => hour = if value == 24 { 0 } else { value },
                            'h' => {
                                hour = if value == 12 { 0 } else { value };
                                half_day_hour = true;
                                if !(1..=12).contains(&value) {
                                    return None;
                                }
                            }
                            'K' => {
                                hour = value;
                                half_day_hour = true;
                            }
                            'm' => minute = value,
                            's' => second = value,
                            'S' => {
                                millis = match n {
                                    1 => value * 100,
                                    2 => value * 10,
                                    3 => value,
                                    n => value / 10_i64.pow(u32::try_from(n).ok()? - 3),
                                }
                            }
                            // Day of week, day of year and week numbers are checked for
                            // syntax only.
                            _ => {}
                        }
                    } else {
                        let rest = std::str::from_utf8(&s[pos..]).ok()?;
                        match letter {
                            'M' => {
                                let (m, len) = match_name(rest, &MONTHS)?;
                                month = m as i64 + 1;
                                pos += len;
                            }
                            'E' => pos += match_name(rest, &DAYS)?.1,
                            'a' => {
                                let head = rest.get(..2)?.to_ascii_uppercase();
                                pm = Some(match head.as_str() {
                                    "AM" => false,
                                    "PM" => true,
                                    _ => return None,
                                });
                                pos += 2;
                            }
                            'G' => {
                                let head = rest.get(..2)?.to_ascii_uppercase();
                                if head != "AD" {
                                    return None;
                                }
                                pos += 2;
                            }
                            'Z' | 'z' => {
                                let (o, len) = parse_zone_text(rest)?;
                                offset = Some(o);
                                pos += len;
                            }
                            _ => return None,
                        }
                    }
                }
            }
        }
        if pos != s.len() {
            return None;
        }
        if let Some(pm) = pm {
            if half_day_hour || hour < 12 {
                hour = hour % 12 + if pm { 12 } else { 0 };
            }
        }
        let local = local_from_fields(year, month, day, hour, minute, second, millis)?;
        match offset {
            Some(offset) => local.checked_sub(offset),
            None => Some(zone.to_utc(local)),
        }
    }
}

/// Matches an English name (full or its three-letter form, any case) at the start of `text`:
/// `(index, bytes consumed)`.
fn match_name(text: &str, names: &[&str]) -> Option<(usize, usize)> {
    let lower = text.to_ascii_lowercase();
    for (i, name) in names.iter().enumerate() {
        let full = name.to_ascii_lowercase();
        if lower.starts_with(&full) {
            return Some((i, full.len()));
        }
    }
    for (i, name) in names.iter().enumerate() {
        if lower.starts_with(&name[..3].to_ascii_lowercase()) {
            return Some((i, 3));
        }
    }
    None
}

/// Parses an offset or zone id at the start of `text`: `Z`, `UTC`, `GMT`, `±HH:mm`,
/// `±HHmm`, `±HH` → `(offset millis, bytes consumed)`.
fn parse_zone_text(text: &str) -> Option<(i64, usize)> {
    for id in ["UTC", "GMT"] {
        if text.starts_with(id) {
            return Some((0, id.len()));
        }
    }
    if text.starts_with('Z') {
        return Some((0, 1));
    }
    let bytes = text.as_bytes();
    if !matches!(bytes.first(), Some(b'+') | Some(b'-')) {
        return None;
    }
    let mut end = 1;
    while end < bytes.len() && end < 6 && (bytes[end].is_ascii_digit() || bytes[end] == b':') {
        end += 1;
    }
    parse_offset(&text[..end]).map(|o| (o, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(pattern: &str) -> JodaFormat {
        JodaFormat::compile("time_format", pattern).unwrap()
    }

    // 2016-06-27T00:00:11.080Z, a Monday.
    const T: i64 = 1_466_985_611_080;

    #[test]
    fn formats_common_patterns() {
        let utc = Zone::UTC;
        let plus = Zone::Fixed(5 * 3_600_000 + 30 * 60_000);
        let cases = [
            ("yyyy-MM-dd HH:mm:ss", utc, "2016-06-27 00:00:11"),
            (
                "yyyy-MM-dd'T'HH:mm:ss.SSSZZ",
                utc,
                "2016-06-27T00:00:11.080Z",
            ),
            (
                "yyyy-MM-dd'T'HH:mm:ss.SSSZZ",
                plus,
                "2016-06-27T05:30:11.080+05:30",
            ),
            ("yyyyMMdd", utc, "20160627"),
            ("dd MMM yyyy", utc, "27 Jun 2016"),
            ("EEEE, MMMM d", utc, "Monday, June 27"),
            ("h:mm a", plus, "5:30 AM"),
            ("yy", utc, "16"),
            ("Z", plus, "+0530"),
            ("'week' w", utc, "week 26"),
            ("D", utc, "179"),
            ("''yyyy''", utc, "'2016'"),
        ];
        for (pattern, zone, want) in cases {
            assert_eq!(fmt(pattern).format(T, zone), want, "{pattern}");
        }
    }

    #[test]
    fn parses_common_patterns() {
        let utc = Zone::UTC;
        let cases = [
            ("yyyy-MM-dd HH:mm:ss", "2016-06-27 00:00:11", Some(T - 80)),
            (
                "yyyy-MM-dd HH:mm:ss.SSS",
                "2016-06-27 00:00:11.080",
                Some(T),
            ),
            ("yyyyMMddHHmmss", "20160627000011", Some(T - 80)),
            (
                "dd/MMM/yyyy:HH:mm:ss Z",
                "27/Jun/2016:05:30:11 +0530",
                Some(T - 80),
            ),
            (
                "yyyy-MM-dd'T'HH:mm:ss.SSSZZ",
                "2016-06-27T00:00:11.080Z",
                Some(T),
            ),
            ("M/d/yyyy h:mm:ss a", "6/27/2016 12:00:11 AM", Some(T - 80)),
            (
                "M/d/yyyy h:mm:ss a",
                "6/26/2016 11:00:11 PM",
                Some(T - 80 - 3_600_000),
            ),
            ("yyyy-MM-dd", "2016-02-30", None),
            ("yyyy-MM-dd", "2016-06-27 trailing", None),
            ("yyyy-MM-dd", "", None),
            ("yyyy-MM-dd", "2016-06-27", Some(T - 11_080)),
        ];
        for (pattern, text, want) in cases {
            assert_eq!(fmt(pattern).parse(text, utc), want, "{pattern} on {text}");
        }
        let minus8 = Zone::Fixed(-8 * 3_600_000);
        assert_eq!(
            fmt("yyyy-MM-dd HH:mm").parse("2016-06-26 16:00", minus8),
            Some(T - 11_080)
        );
    }

    #[test]
    fn rejects_illegal_pattern_letters() {
        let err = JodaFormat::compile("time_format", "yyyy-qq").unwrap_err();
        assert!(
            err.message().contains("Illegal pattern component: qq"),
            "{err}"
        );
        assert!(JodaFormat::compile("time_format", "'open").is_err());
    }
}
