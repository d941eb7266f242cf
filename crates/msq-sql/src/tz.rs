//! A small compiled-in table of named (IANA) time zones, for builds without a time zone
//! database (the wasm build cannot download one and `chrono-tz` is too large for it).
//!
//! Druid accepts any IANA zone id in `sqlTimeZone` and in the zone arguments of `TIME_PARSE`,
//! `TIME_FORMAT`, `TIME_FLOOR`, `TIME_CEIL`, `TIME_SHIFT` and `TIME_EXTRACT` (`druid-msq.md`
//! §1.5; Joda's `DateTimeZone.forID`). This module knows the commonly used ones:
//!
//! | rule | zones (and aliases) | offsets |
//! |---|---|---|
//! | US (since 2007): 2nd Sunday of March 02:00 local → 1st Sunday of November 02:00 local | `America/New_York`, `Toronto`, `Detroit`, `Chicago`, `Winnipeg`, `Denver`, `Edmonton`, `Los_Angeles`, `Vancouver`, `Tijuana`, `Anchorage`, `Halifax`; `US/*`, `Canada/*`, `EST5EDT`, … | −5/−4, −6/−5, −7/−6, −8/−7, −9/−8, −4/−3 |
//! | EU: last Sunday of March 01:00 UTC → last Sunday of October 01:00 UTC | `Europe/London`, `Dublin`, `Lisbon`; `Europe/Paris`, `Berlin`, `Madrid`, `Rome`, `Amsterdam`, `Brussels`, `Vienna`, `Stockholm`, `Oslo`, `Copenhagen`, `Warsaw`, `Prague`, `Zurich`, `Budapest`, …, `CET`; `Europe/Athens`, `Helsinki`, `Kiev`/`Kyiv`, `Bucharest`, `Sofia`, …, `EET` | +0/+1, +1/+2, +2/+3 |
//! | Australia: 1st Sunday of October 02:00 standard → 1st Sunday of April 03:00 daylight | `Australia/Sydney`, `Melbourne`, `Canberra`, `Hobart`; `Australia/Adelaide` | +10/+11; +9:30/+10:30 |
//! | New Zealand: last Sunday of September 02:00 standard → 1st Sunday of April 03:00 daylight | `Pacific/Auckland`, `NZ` | +12/+13 |
//! | none | `America/Phoenix` −7, `Pacific/Honolulu` −10, `America/Sao_Paulo` −3, `America/Mexico_City` −6, `Europe/Moscow` +3, `Europe/Istanbul` +3, `Asia/Dubai` +4, `Asia/Kolkata`/`Calcutta` +5:30, `Asia/Shanghai`, `Hong_Kong`, `Singapore`, `Taipei` +8, `Asia/Tokyo`, `Seoul` +9, `Australia/Brisbane` +10, `Australia/Perth` +8, … | fixed |
//!
//! **Historical rule changes are not modelled**: each zone applies its *current* rules to
//! every year (so New York in 1990 switches on the 2007 dates, São Paulo never observes DST,
//! Moscow is +3 throughout). Results for instants before a zone's current rules took effect
//! can differ from Druid's (which uses the full tz database). Names match case-insensitively
//! (Joda is case-sensitive; being lenient here rejects nothing Druid accepts). Any other name
//! is an `InvalidInput` error (see `time::Zone::parse`).
//!
//! Local ↔ UTC conversion follows Joda's `DateTimeZone`: a local time in a spring-forward gap
//! is shifted forward by the gap (it is read with the offset before the transition), and a
//! local time in an autumn overlap takes the earlier offset (the daylight one, i.e. the
//! earlier instant).

use crate::time::{
    civil_from_days, days_from_civil, days_in_month, MILLIS_PER_DAY, MILLIS_PER_HOUR,
    MILLIS_PER_MINUTE,
};
use msq_common::{MsqError, Result};

/// Milliseconds in a minute, for the table.
const MINUTE: i64 = 60_000;
/// Milliseconds in an hour.
const HOUR: i64 = 60 * MINUTE;

/// One daylight-saving transition: a Sunday of a month at a time of day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Transition {
    /// Month, 1–12.
    month: u32,
    /// Which Sunday: 1 = first, 2 = second, …, -1 = last.
    nth: i8,
    /// Time of day, in milliseconds after midnight.
    at: i64,
    /// Whether `at` is UTC (EU) rather than the local wall time in effect before the change.
    utc: bool,
}

impl Transition {
    /// The UTC instant of this transition in `year`, given the offset in effect before it.
    fn instant(&self, year: i64, offset_before: i64) -> i64 {
        let day = if self.nth > 0 {
            let first = days_from_civil(year, self.month, 1);
            // Days to the first Sunday: 1970-01-04 (day 3) was a Sunday.
            first + (3 - first).rem_euclid(7) + 7 * i64::from(self.nth - 1)
        } else {
            let last = days_from_civil(year, self.month, days_in_month(year, self.month));
            last - (last - 3).rem_euclid(7)
        };
        let local = day.saturating_mul(MILLIS_PER_DAY).saturating_add(self.at);
        if self.utc {
            local
        } else {
            local.saturating_sub(offset_before)
        }
    }
}

/// A yearly daylight-saving rule: `save` is added to the standard offset from `start` to `end`
/// (which may wrap the new year, in the southern hemisphere).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DstRule {
    /// Start of daylight time.
    start: Transition,
    /// End of daylight time.
    end: Transition,
    /// Daylight saving, in milliseconds.
    save: i64,
}

/// Shorthand for a local-wall-time transition.
const fn wall(month: u32, nth: i8, hour: i64) -> Transition {
    Transition {
        month,
        nth,
        at: hour * HOUR,
        utc: false,
    }
}

/// US and Canada since 2007.
const US: DstRule = DstRule {
    start: wall(3, 2, 2),
    end: wall(11, 1, 2),
    save: HOUR,
};

/// The European Union (and the UK): transitions at 01:00 UTC.
const EU: DstRule = DstRule {
    start: Transition {
        month: 3,
        nth: -1,
        at: HOUR,
        utc: true,
    },
    end: Transition {
        month: 10,
        nth: -1,
        at: HOUR,
        utc: true,
    },
    save: HOUR,
};

/// New South Wales, Victoria, Tasmania, ACT and South Australia since 2008.
const AU: DstRule = DstRule {
    start: wall(10, 1, 2),
    end: wall(4, 1, 3),
    save: HOUR,
};

/// New Zealand since 2007.
const NZ: DstRule = DstRule {
    start: wall(9, -1, 2),
    end: wall(4, 1, 3),
    save: HOUR,
};

/// A named zone of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NamedZone {
    /// The canonical id (what Joda's `ZZZ` prints).
    pub(crate) id: &'static str,
    /// Standard offset from UTC, in milliseconds.
    pub(crate) standard: i64,
    /// Daylight-saving rule, if the zone observes one now.
    pub(crate) dst: Option<&'static DstRule>,
    /// Short names in standard and daylight time (Joda's `z`), `None` where the tz database
    /// has none (Joda then prints the offset).
    pub(crate) abbreviations: Option<(&'static str, &'static str)>,
}

impl NamedZone {
    /// The offset (local − UTC, in milliseconds) in effect at a UTC instant.
    pub fn offset_at(&self, utc: i64) -> i64 {
        if self.is_dst(utc) {
            self.standard + self.dst.map_or(0, |r| r.save)
        } else {
            self.standard
        }
    }

    /// Whether daylight time is in effect at a UTC instant.
    pub fn is_dst(&self, utc: i64) -> bool {
        let Some(rule) = self.dst else {
            return false;
        };
        let (year, _, _) =
            civil_from_days(utc.saturating_add(self.standard).div_euclid(MILLIS_PER_DAY));
        if !(-200_000_000..=200_000_000).contains(&year) {
            return false;
        }
        let start = rule.start.instant(year, self.standard);
        let end = rule.end.instant(year, self.standard + rule.save);
        if start < end {
            utc >= start && utc < end
        } else {
            utc < end || utc >= start
        }
    }

    /// The UTC instant of a local wall-clock time, as Joda's `convertLocalToUTC` (gap:
    /// shifted forward; overlap: the earlier instant).
    pub fn to_utc(self, local: i64) -> i64 {
        let Some(rule) = self.dst else {
            return local.saturating_sub(self.standard);
        };
        let daylight = self.standard + rule.save;
        let as_daylight = local.saturating_sub(daylight);
        if self.offset_at(as_daylight) == daylight {
            // Valid in daylight time; in an overlap this is the earlier of the two instants.
            return as_daylight;
        }
        // Valid in standard time, or in the gap: read with the standard offset (the one
        // before the spring-forward transition), which shifts the wall time forward.
        local.saturating_sub(self.standard)
    }
}

/// Builds a table entry.
const fn zone(
    id: &'static str,
    standard_minutes: i64,
    dst: Option<&'static DstRule>,
    abbreviations: Option<(&'static str, &'static str)>,
) -> NamedZone {
    NamedZone {
        id,
        standard: standard_minutes * MINUTE,
        dst,
        abbreviations,
    }
}

/// US Eastern.
const NEW_YORK: NamedZone = zone("America/New_York", -300, Some(&US), Some(("EST", "EDT")));
/// US Central.
const CHICAGO: NamedZone = zone("America/Chicago", -360, Some(&US), Some(("CST", "CDT")));
/// US Mountain.
const DENVER: NamedZone = zone("America/Denver", -420, Some(&US), Some(("MST", "MDT")));
/// US Pacific.
const LOS_ANGELES: NamedZone = zone("America/Los_Angeles", -480, Some(&US), Some(("PST", "PDT")));
/// Alaska.
const ANCHORAGE: NamedZone = zone("America/Anchorage", -540, Some(&US), Some(("AKST", "AKDT")));
/// Arizona (no DST).
const PHOENIX: NamedZone = zone("America/Phoenix", -420, None, Some(("MST", "MST")));
/// Hawaii.
const HONOLULU: NamedZone = zone("Pacific/Honolulu", -600, None, Some(("HST", "HST")));
/// UK.
const LONDON: NamedZone = zone("Europe/London", 0, Some(&EU), Some(("GMT", "BST")));
/// Central Europe.
const PARIS: NamedZone = zone("Europe/Paris", 60, Some(&EU), Some(("CET", "CEST")));
/// Eastern Europe.
const ATHENS: NamedZone = zone("Europe/Athens", 120, Some(&EU), Some(("EET", "EEST")));
/// India.
const KOLKATA: NamedZone = zone("Asia/Kolkata", 330, None, Some(("IST", "IST")));
/// China.
const SHANGHAI: NamedZone = zone("Asia/Shanghai", 480, None, Some(("CST", "CST")));
/// Japan.
const TOKYO: NamedZone = zone("Asia/Tokyo", 540, None, Some(("JST", "JST")));
/// Korea.
const SEOUL: NamedZone = zone("Asia/Seoul", 540, None, Some(("KST", "KST")));
/// Hong Kong.
const HONG_KONG: NamedZone = zone("Asia/Hong_Kong", 480, None, Some(("HKT", "HKT")));
/// Singapore.
const SINGAPORE: NamedZone = zone("Asia/Singapore", 480, None, None);
/// Taiwan.
const TAIPEI: NamedZone = zone("Asia/Taipei", 480, None, Some(("CST", "CST")));
/// New South Wales.
const SYDNEY: NamedZone = zone("Australia/Sydney", 600, Some(&AU), Some(("AEST", "AEDT")));
/// Victoria.
const MELBOURNE: NamedZone = zone(
    "Australia/Melbourne",
    600,
    Some(&AU),
    Some(("AEST", "AEDT")),
);
/// Queensland.
const BRISBANE: NamedZone = zone("Australia/Brisbane", 600, None, Some(("AEST", "AEST")));
/// Western Australia.
const PERTH: NamedZone = zone("Australia/Perth", 480, None, Some(("AWST", "AWST")));
/// New Zealand.
const AUCKLAND: NamedZone = zone("Pacific/Auckland", 720, Some(&NZ), Some(("NZST", "NZDT")));

/// Every name the table accepts, with its zone (aliases share the canonical zone's rules
/// under their own id).
static ZONES: &[(&str, NamedZone)] = &[
    // North America, US rule.
    ("America/New_York", NEW_YORK),
    ("US/Eastern", NEW_YORK),
    ("EST5EDT", NEW_YORK),
    ("America/Detroit", NEW_YORK),
    ("America/Toronto", NEW_YORK),
    ("America/Montreal", NEW_YORK),
    ("America/Nassau", NEW_YORK),
    ("Canada/Eastern", NEW_YORK),
    ("America/Indiana/Indianapolis", NEW_YORK),
    ("America/Indianapolis", NEW_YORK),
    ("America/Kentucky/Louisville", NEW_YORK),
    ("America/Chicago", CHICAGO),
    ("US/Central", CHICAGO),
    ("CST6CDT", CHICAGO),
    ("America/Winnipeg", CHICAGO),
    ("Canada/Central", CHICAGO),
    ("America/Denver", DENVER),
    ("US/Mountain", DENVER),
    ("MST7MDT", DENVER),
    ("America/Edmonton", DENVER),
    ("America/Boise", DENVER),
    ("Canada/Mountain", DENVER),
    ("America/Los_Angeles", LOS_ANGELES),
    ("US/Pacific", LOS_ANGELES),
    ("PST8PDT", LOS_ANGELES),
    ("America/Vancouver", LOS_ANGELES),
    ("America/Tijuana", LOS_ANGELES),
    ("Canada/Pacific", LOS_ANGELES),
    ("America/Anchorage", ANCHORAGE),
    ("US/Alaska", ANCHORAGE),
    (
        "America/Halifax",
        zone("America/Halifax", -240, Some(&US), Some(("AST", "ADT"))),
    ),
    (
        "Canada/Atlantic",
        zone("America/Halifax", -240, Some(&US), Some(("AST", "ADT"))),
    ),
    // North and South America, no DST now.
    ("America/Phoenix", PHOENIX),
    ("US/Arizona", PHOENIX),
    ("Pacific/Honolulu", HONOLULU),
    ("US/Hawaii", HONOLULU),
    (
        "America/Sao_Paulo",
        zone("America/Sao_Paulo", -180, None, None),
    ),
    ("Brazil/East", zone("America/Sao_Paulo", -180, None, None)),
    (
        "America/Argentina/Buenos_Aires",
        zone("America/Argentina/Buenos_Aires", -180, None, None),
    ),
    (
        "America/Buenos_Aires",
        zone("America/Argentina/Buenos_Aires", -180, None, None),
    ),
    ("America/Bogota", zone("America/Bogota", -300, None, None)),
    ("America/Lima", zone("America/Lima", -300, None, None)),
    (
        "America/Mexico_City",
        zone("America/Mexico_City", -360, None, Some(("CST", "CST"))),
    ),
    (
        "America/Regina",
        zone("America/Regina", -360, None, Some(("CST", "CST"))),
    ),
    // Europe, EU rule.
    ("Europe/London", LONDON),
    ("GB", LONDON),
    (
        "Europe/Dublin",
        zone("Europe/Dublin", 0, Some(&EU), Some(("GMT", "IST"))),
    ),
    (
        "Eire",
        zone("Europe/Dublin", 0, Some(&EU), Some(("GMT", "IST"))),
    ),
    (
        "Europe/Lisbon",
        zone("Europe/Lisbon", 0, Some(&EU), Some(("WET", "WEST"))),
    ),
    (
        "Portugal",
        zone("Europe/Lisbon", 0, Some(&EU), Some(("WET", "WEST"))),
    ),
    ("WET", zone("WET", 0, Some(&EU), Some(("WET", "WEST")))),
    ("Europe/Paris", PARIS),
    ("Europe/Berlin", PARIS),
    ("Europe/Madrid", PARIS),
    ("Europe/Rome", PARIS),
    ("Europe/Amsterdam", PARIS),
    ("Europe/Brussels", PARIS),
    ("Europe/Vienna", PARIS),
    ("Europe/Stockholm", PARIS),
    ("Europe/Oslo", PARIS),
    ("Europe/Copenhagen", PARIS),
    ("Europe/Warsaw", PARIS),
    ("Poland", PARIS),
    ("Europe/Prague", PARIS),
    ("Europe/Zurich", PARIS),
    ("Europe/Budapest", PARIS),
    ("Europe/Belgrade", PARIS),
    ("Europe/Luxembourg", PARIS),
    ("Europe/Monaco", PARIS),
    ("Europe/Bratislava", PARIS),
    ("Europe/Ljubljana", PARIS),
    ("Europe/Zagreb", PARIS),
    ("CET", PARIS),
    ("MET", PARIS),
    ("Europe/Athens", ATHENS),
    ("Europe/Helsinki", ATHENS),
    ("Europe/Kiev", ATHENS),
    ("Europe/Kyiv", ATHENS),
    ("Europe/Bucharest", ATHENS),
    ("Europe/Sofia", ATHENS),
    ("Europe/Riga", ATHENS),
    ("Europe/Tallinn", ATHENS),
    ("Europe/Vilnius", ATHENS),
    ("EET", ATHENS),
    // Europe and Asia, no DST now.
    (
        "Europe/Moscow",
        zone("Europe/Moscow", 180, None, Some(("MSK", "MSK"))),
    ),
    (
        "W-SU",
        zone("Europe/Moscow", 180, None, Some(("MSK", "MSK"))),
    ),
    ("Europe/Istanbul", zone("Europe/Istanbul", 180, None, None)),
    ("Turkey", zone("Europe/Istanbul", 180, None, None)),
    ("Europe/Minsk", zone("Europe/Minsk", 180, None, None)),
    ("Asia/Riyadh", zone("Asia/Riyadh", 180, None, None)),
    ("Asia/Dubai", zone("Asia/Dubai", 240, None, None)),
    (
        "Asia/Karachi",
        zone("Asia/Karachi", 300, None, Some(("PKT", "PKT"))),
    ),
    ("Asia/Tashkent", zone("Asia/Tashkent", 300, None, None)),
    ("Asia/Kolkata", KOLKATA),
    ("Asia/Calcutta", KOLKATA),
    ("Asia/Kathmandu", zone("Asia/Kathmandu", 345, None, None)),
    ("Asia/Dhaka", zone("Asia/Dhaka", 360, None, None)),
    ("Asia/Bangkok", zone("Asia/Bangkok", 420, None, None)),
    (
        "Asia/Jakarta",
        zone("Asia/Jakarta", 420, None, Some(("WIB", "WIB"))),
    ),
    (
        "Asia/Ho_Chi_Minh",
        zone("Asia/Ho_Chi_Minh", 420, None, None),
    ),
    ("Asia/Shanghai", SHANGHAI),
    ("PRC", SHANGHAI),
    ("Asia/Chongqing", SHANGHAI),
    ("Asia/Hong_Kong", HONG_KONG),
    ("Hongkong", HONG_KONG),
    ("Asia/Singapore", SINGAPORE),
    ("Singapore", SINGAPORE),
    ("Asia/Taipei", TAIPEI),
    ("ROC", TAIPEI),
    (
        "Asia/Manila",
        zone("Asia/Manila", 480, None, Some(("PST", "PST"))),
    ),
    (
        "Asia/Kuala_Lumpur",
        zone("Asia/Kuala_Lumpur", 480, None, None),
    ),
    ("Asia/Tokyo", TOKYO),
    ("Japan", TOKYO),
    ("Asia/Seoul", SEOUL),
    ("ROK", SEOUL),
    // Africa.
    (
        "Africa/Johannesburg",
        zone("Africa/Johannesburg", 120, None, Some(("SAST", "SAST"))),
    ),
    (
        "Africa/Lagos",
        zone("Africa/Lagos", 60, None, Some(("WAT", "WAT"))),
    ),
    (
        "Africa/Nairobi",
        zone("Africa/Nairobi", 180, None, Some(("EAT", "EAT"))),
    ),
    // Oceania.
    ("Australia/Sydney", SYDNEY),
    ("Australia/NSW", SYDNEY),
    ("Australia/ACT", SYDNEY),
    ("Australia/Canberra", SYDNEY),
    ("Australia/Melbourne", MELBOURNE),
    ("Australia/Victoria", MELBOURNE),
    (
        "Australia/Hobart",
        zone("Australia/Hobart", 600, Some(&AU), Some(("AEST", "AEDT"))),
    ),
    (
        "Australia/Adelaide",
        zone("Australia/Adelaide", 570, Some(&AU), Some(("ACST", "ACDT"))),
    ),
    (
        "Australia/Darwin",
        zone("Australia/Darwin", 570, None, Some(("ACST", "ACST"))),
    ),
    ("Australia/Brisbane", BRISBANE),
    ("Australia/Queensland", BRISBANE),
    ("Australia/Perth", PERTH),
    ("Australia/West", PERTH),
    ("Pacific/Auckland", AUCKLAND),
    ("NZ", AUCKLAND),
    // Joda's fixed three-letter ids.
    ("EST", zone("EST", -300, None, Some(("EST", "EST")))),
    ("MST", zone("MST", -420, None, Some(("MST", "MST")))),
    ("HST", zone("HST", -600, None, Some(("HST", "HST")))),
];

/// The table entry for a zone name (case-insensitive), under the name as the table spells it.
pub fn lookup(name: &str) -> Option<NamedZone> {
    ZONES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(n, z)| NamedZone {
            // Aliases keep their own id, as Joda's `forID("US/Pacific").getID()` does.
            id: n,
            ..*z
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// UTC millis of a civil date-time.
    fn utc(y: i64, mo: u32, d: u32, h: i64, mi: i64) -> i64 {
        days_from_civil(y, mo, d) * MILLIS_PER_DAY + h * HOUR + mi * MINUTE
    }

    #[test]
    fn us_transitions() {
        let ny = lookup("America/New_York").unwrap();
        // 2016: DST from 2016-03-13 07:00Z to 2016-11-06 06:00Z.
        assert_eq!(ny.offset_at(utc(2016, 3, 13, 6, 59)), -5 * HOUR);
        assert_eq!(ny.offset_at(utc(2016, 3, 13, 7, 0)), -4 * HOUR);
        assert_eq!(ny.offset_at(utc(2016, 11, 6, 5, 59)), -4 * HOUR);
        assert_eq!(ny.offset_at(utc(2016, 11, 6, 6, 0)), -5 * HOUR);
        assert_eq!(ny.offset_at(utc(2016, 6, 29, 0, 0)), -4 * HOUR);
        assert_eq!(ny.offset_at(utc(2016, 1, 1, 0, 0)), -5 * HOUR);
        let la = lookup("us/pacific").unwrap();
        assert_eq!(la.id, "US/Pacific");
        assert_eq!(la.offset_at(utc(2016, 6, 29, 7, 0)), -7 * HOUR);
        assert_eq!(la.offset_at(utc(2016, 3, 13, 10, 0)), -7 * HOUR);
        assert_eq!(la.offset_at(utc(2016, 3, 13, 9, 59)), -8 * HOUR);
        assert_eq!(
            lookup("America/Phoenix")
                .unwrap()
                .offset_at(utc(2016, 6, 1, 0, 0)),
            -7 * HOUR
        );
    }

    #[test]
    fn eu_and_southern_transitions() {
        let paris = lookup("Europe/Paris").unwrap();
        // 2016: last Sundays are March 27 and October 30, at 01:00 UTC.
        assert_eq!(paris.offset_at(utc(2016, 3, 27, 0, 59)), HOUR);
        assert_eq!(paris.offset_at(utc(2016, 3, 27, 1, 0)), 2 * HOUR);
        assert_eq!(paris.offset_at(utc(2016, 10, 30, 0, 59)), 2 * HOUR);
        assert_eq!(paris.offset_at(utc(2016, 10, 30, 1, 0)), HOUR);
        let london = lookup("Europe/London").unwrap();
        assert_eq!(london.offset_at(utc(2016, 7, 1, 0, 0)), HOUR);
        assert_eq!(london.offset_at(utc(2016, 12, 1, 0, 0)), 0);
        let sydney = lookup("Australia/Sydney").unwrap();
        // DST from 2016-10-02 02:00 AEST (01-Oct 16:00Z) to 2017-04-02 03:00 AEDT (01-Apr 16:00Z).
        assert_eq!(sydney.offset_at(utc(2016, 10, 1, 15, 59)), 10 * HOUR);
        assert_eq!(sydney.offset_at(utc(2016, 10, 1, 16, 0)), 11 * HOUR);
        assert_eq!(sydney.offset_at(utc(2017, 1, 1, 0, 0)), 11 * HOUR);
        assert_eq!(sydney.offset_at(utc(2017, 4, 1, 15, 59)), 11 * HOUR);
        assert_eq!(sydney.offset_at(utc(2017, 4, 1, 16, 0)), 10 * HOUR);
        let auckland = lookup("NZ").unwrap();
        // DST from 2016-09-25 02:00 NZST (24-Sep 14:00Z) to 2017-04-02 03:00 NZDT (01-Apr 14:00Z).
        assert_eq!(auckland.offset_at(utc(2016, 9, 24, 13, 59)), 12 * HOUR);
        assert_eq!(auckland.offset_at(utc(2016, 9, 24, 14, 0)), 13 * HOUR);
        assert_eq!(auckland.offset_at(utc(2017, 4, 1, 13, 59)), 13 * HOUR);
        assert_eq!(auckland.offset_at(utc(2017, 4, 1, 14, 0)), 12 * HOUR);
        let kolkata = lookup("Asia/Calcutta").unwrap();
        assert_eq!(kolkata.offset_at(0), 330 * MINUTE);
        assert_eq!(kolkata.to_utc(330 * MINUTE), 0);
    }

    #[test]
    fn gap_and_overlap_as_joda() {
        let ny = lookup("America/New_York").unwrap();
        let local = |y, mo, d, h, mi| utc(y, mo, d, h, mi);
        // Ordinary times.
        assert_eq!(ny.to_utc(local(2016, 6, 29, 0, 0)), utc(2016, 6, 29, 4, 0));
        assert_eq!(ny.to_utc(local(2016, 1, 1, 0, 0)), utc(2016, 1, 1, 5, 0));
        // 02:30 on 2016-03-13 does not exist: shifted forward to 03:30 EDT (07:30Z).
        assert_eq!(
            ny.to_utc(local(2016, 3, 13, 2, 30)),
            utc(2016, 3, 13, 7, 30)
        );
        assert_eq!(ny.to_utc(local(2016, 3, 13, 3, 0)), utc(2016, 3, 13, 7, 0));
        // 01:30 on 2016-11-06 happens twice: the earlier (EDT, 05:30Z).
        assert_eq!(
            ny.to_utc(local(2016, 11, 6, 1, 30)),
            utc(2016, 11, 6, 5, 30)
        );
        assert_eq!(ny.to_utc(local(2016, 11, 6, 2, 0)), utc(2016, 11, 6, 7, 0));
        let paris = lookup("Europe/Paris").unwrap();
        assert_eq!(
            paris.to_utc(local(2016, 3, 27, 2, 30)),
            utc(2016, 3, 27, 1, 30)
        );
        assert_eq!(
            paris.to_utc(local(2016, 10, 30, 2, 30)),
            utc(2016, 10, 30, 0, 30)
        );
        // Extreme instants do not panic.
        let _ = ny.offset_at(i64::MIN);
        let _ = ny.offset_at(i64::MAX);
        let _ = ny.to_utc(i64::MIN);
        let _ = ny.to_utc(i64::MAX);
    }

    #[test]
    fn unknown_names() {
        assert!(lookup("Mars/Olympus_Mons").is_none());
        assert!(lookup("").is_none());
        assert_eq!(lookup("asia/tokyo").unwrap().standard, 9 * HOUR);
    }
}

/// A supported time zone: a fixed offset from UTC, or a named zone of the built-in table
/// (`tz` module).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    /// A fixed offset: local time minus UTC, in milliseconds.
    Fixed(i64),
    /// A named zone with its current rules.
    Named(NamedZone),
}

impl Zone {
    /// UTC.
    pub const UTC: Zone = Zone::Fixed(0);

    /// Parses a zone argument (see the module docs for the accepted forms).
    pub fn parse(function: &str, name: &str) -> Result<Zone> {
        let trimmed = name.trim();
        let upper = trimmed.to_ascii_uppercase();
        let offset = match upper.as_str() {
            "UTC" | "ETC/UTC" | "GMT" | "ETC/GMT" | "UCT" | "ETC/UCT" | "Z" | "ZULU"
            | "UNIVERSAL" | "ETC/UNIVERSAL" | "GMT0" | "ETC/GMT0" | "+00:00" => Some(0),
            _ => {
                if let Some(rest) = upper.strip_prefix("ETC/GMT") {
                    // POSIX-style: Etc/GMT+8 is eight hours *behind* UTC.
                    parse_offset(rest).map(|o| -o)
                } else if let Some(rest) = upper
                    .strip_prefix("UTC")
                    .or_else(|| upper.strip_prefix("GMT"))
                {
                    parse_offset(rest)
                } else {
                    parse_offset(&upper)
                }
            }
        };
        match offset {
            Some(offset_millis) if offset_millis.abs() < 24 * MILLIS_PER_HOUR => {
                Ok(Zone::Fixed(offset_millis))
            }
            _ => match lookup(trimmed) {
                Some(named) => Ok(Zone::Named(named)),
                None => Err(MsqError::plan(format!(
                    "Function[{function}] time zone [{name}] is not supported: this build has no \
                     time zone database, so only UTC, fixed offsets (such as '+05:30', '-08:00', \
                     'UTC+2') and the named zones of Acorn's built-in table (such as \
                     'America/Los_Angeles', 'Europe/Paris', 'Asia/Kolkata', 'Australia/Sydney') \
                     are available"
                ))),
            },
        }
    }

    /// The offset (local − UTC, in milliseconds) in effect at a UTC instant.
    pub fn offset_at(self, utc: i64) -> i64 {
        match self {
            Zone::Fixed(offset) => offset,
            Zone::Named(named) => named.offset_at(utc),
        }
    }

    /// Local wall-clock milliseconds of a UTC instant.
    pub fn to_local(self, utc: i64) -> i64 {
        utc.saturating_add(self.offset_at(utc))
    }

    /// The UTC instant of local wall-clock milliseconds, as Joda converts them: a time in a
    /// daylight-saving gap is shifted forward, one in an overlap takes the earlier instant.
    pub fn to_utc(self, local: i64) -> i64 {
        match self {
            Zone::Fixed(offset) => local.saturating_sub(offset),
            Zone::Named(named) => named.to_utc(local),
        }
    }

    /// [`Zone::to_utc`], keeping the offset `hint` when it is valid for `local` (Joda's
    /// `convertLocalToUTC(local, false, originalInstant)`: a field set within an overlap keeps
    /// the instant's own offset).
    pub fn to_utc_with_hint(self, local: i64, hint: i64) -> i64 {
        let candidate = local.saturating_sub(hint);
        if self.offset_at(candidate) == hint {
            candidate
        } else {
            self.to_utc(local)
        }
    }

    /// Joda's zone id (`ZZZ`): `UTC`, the offset (`+05:30`) or the zone's name.
    pub fn id(self) -> String {
        match self {
            Zone::Fixed(0) => "UTC".to_owned(),
            Zone::Fixed(offset) => format_offset(offset, true, false),
            Zone::Named(named) => named.id.to_owned(),
        }
    }

    /// Joda's short zone name (`z`) at a UTC instant: `UTC`, `PST`/`PDT`, or the offset when
    /// the zone has no abbreviation.
    pub fn short_name(self, utc: i64) -> String {
        match self {
            Zone::Fixed(0) => "UTC".to_owned(),
            Zone::Named(NamedZone {
                abbreviations: Some((standard, daylight)),
                ..
            }) => {
                let dst = matches!(self, Zone::Named(named) if named.is_dst(utc));
                (if dst { daylight } else { standard }).to_owned()
            }
            _ => format_offset(self.offset_at(utc), true, false),
        }
    }
}

/// Parses `±HH`, `±HHmm`, `±HH:mm` (also `±H`, `±H:mm`) as milliseconds; `None` otherwise.
pub fn parse_offset(text: &str) -> Option<i64> {
    let (sign, rest) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    let (hours, minutes) = match rest.split_once(':') {
        Some((h, m)) => (h, m),
        None if rest.len() == 4 => rest.split_at(2),
        None => (rest, "0"),
    };
    let all_digits =
        |s: &str| !s.is_empty() && s.len() <= 2 && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(hours) || !all_digits(minutes) {
        return None;
    }
    let (h, m): (i64, i64) = (hours.parse().ok()?, minutes.parse().ok()?);
    if h > 23 || m > 59 {
        return None;
    }
    Some(sign * (h * MILLIS_PER_HOUR + m * MILLIS_PER_MINUTE))
}

/// Renders an offset as Joda's `ZZ` does: `Z` for UTC when `z_for_zero`, else `+05:30`.
pub fn format_offset(offset_millis: i64, colon: bool, z_for_zero: bool) -> String {
    if offset_millis == 0 && z_for_zero {
        return "Z".to_owned();
    }
    let sign = if offset_millis < 0 { '-' } else { '+' };
    let minutes = offset_millis.abs() / MILLIS_PER_MINUTE;
    if colon {
        format!("{sign}{:02}:{:02}", minutes / 60, minutes % 60)
    } else {
        format!("{sign}{:02}{:02}", minutes / 60, minutes % 60)
    }
}
