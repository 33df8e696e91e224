//! Time: every timestamp in seam is UTC nanoseconds since the Unix epoch in an `i64`.
//!
//! That covers 1677–2262, every capture and log a responder will meet; values outside it are
//! clamped by the sources and flagged there, never wrapped.

use chrono::{DateTime, NaiveDateTime};

/// UTC nanoseconds since the Unix epoch.
pub type Timestamp = i64;

pub const NANOS_PER_SEC: i64 = 1_000_000_000;

/// Seconds and a sub-second count at `units_per_sec` resolution to nanoseconds, saturating.
pub fn from_parts(secs: i64, frac: u64, units_per_sec: u64) -> Timestamp {
    let frac_ns =
        if units_per_sec == 0 { 0 } else { (u128::from(frac) * 1_000_000_000u128 / u128::from(units_per_sec)) as i64 };
    secs.saturating_mul(NANOS_PER_SEC).saturating_add(frac_ns)
}

/// RFC 3339 with a `Z` suffix and as many fractional digits as needed (0, 3, 6 or 9).
pub fn rfc3339(ts: Timestamp) -> String {
    let mut out = Vec::with_capacity(30);
    write_rfc3339(ts, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// [`rfc3339`] appended to `out` without an intermediate string: timelines write one or two
/// per row. Every `i64` of nanoseconds falls in years 1677–2262, so the year always has four
/// digits.
pub fn write_rfc3339(ts: Timestamp, out: &mut Vec<u8>) {
    let secs = ts.div_euclid(NANOS_PER_SEC);
    let nanos = ts.rem_euclid(NANOS_PER_SEC);
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let of_day = secs.rem_euclid(86_400);
    push_digits(out, year, 4);
    out.push(b'-');
    push_digits(out, month, 2);
    out.push(b'-');
    push_digits(out, day, 2);
    out.push(b'T');
    push_digits(out, of_day / 3600, 2);
    out.push(b':');
    push_digits(out, of_day / 60 % 60, 2);
    out.push(b':');
    push_digits(out, of_day % 60, 2);
    if nanos != 0 {
        out.push(b'.');
        if nanos % 1_000_000 == 0 {
            push_digits(out, nanos / 1_000_000, 3);
        } else if nanos % 1_000 == 0 {
            push_digits(out, nanos / 1_000, 6);
        } else {
            push_digits(out, nanos, 9);
        }
    }
    out.push(b'Z');
}

/// The last `width` decimal digits of `n` (≥ 0), zero-padded.
fn push_digits(out: &mut Vec<u8>, n: i64, width: u32) {
    for place in (0..width).rev() {
        out.push(b'0' + (n / 10i64.pow(place) % 10) as u8);
    }
}

/// Proleptic Gregorian (year, month, day) of a count of days since 1970-01-01 (Howard
/// Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DD?HH:MM:SS[.f…]` with `sep` between date and time, one to nine fractional digits
/// and, when `zulu`, a final `Z`: the one shape Windows writes its times in, read without a
/// general parser. `None` for anything else, including dates that do not exist, leap seconds
/// and times an `i64` of nanoseconds cannot hold; callers fall back to a general parser, which
/// is then the only judge.
pub fn parse_fixed_datetime(s: &str, sep: u8, zulu: bool) -> Option<Timestamp> {
    let b = s.as_bytes();
    let b = if zulu { b.strip_suffix(b"Z")? } else { b };
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[10] != sep || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<i64> {
        b[from..to].iter().try_fold(0i64, |n, &d| d.is_ascii_digit().then(|| n * 10 + i64::from(d - b'0')))
    };
    let (year, month, day) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (hour, minute, second) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let days_in_month = *month_days.get(usize::try_from(month).ok()?.checked_sub(1)?)?;
    if day < 1 || day > days_in_month || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let nanos = match &b[19..] {
        [] => 0,
        [b'.', digits @ ..] if (1..=9).contains(&digits.len()) => {
            let n = num(20, b.len())?;
            n * 10i64.pow(9 - digits.len() as u32)
        }
        _ => return None,
    };
    let secs = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
    secs.checked_mul(NANOS_PER_SEC)?.checked_add(nanos)
}

/// Seconds with six decimals, as Zeek writes `ts` and `duration`.
pub fn epoch_secs(ts: Timestamp) -> f64 {
    ts as f64 / NANOS_PER_SEC as f64
}

/// Parses the time forms an analyst types for `--since`/`--until`: RFC 3339
/// (`2024-05-01T10:00:00Z`, offsets allowed), `2024-05-01 10:00:00` (UTC), `2024-05-01` (UTC
/// midnight), or epoch seconds (`1714557600.5`).
pub fn parse_user_time(s: &str) -> Option<Timestamp> {
    let s = s.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return dt.timestamp_nanos_opt();
    }
    for fmt in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(s, fmt) {
            return dt.and_utc().timestamp_nanos_opt();
        }
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return d.and_hms_opt(0, 0, 0)?.and_utc().timestamp_nanos_opt();
    }
    let secs: f64 = s.parse().ok()?;
    if secs.is_finite() && secs.abs() < 9.2e9 {
        Some((secs * NANOS_PER_SEC as f64).round() as i64)
    } else {
        None
    }
}

/// Parses a duration such as `300`, `300s`, `5m`, `1h`, `250ms` into nanoseconds.
pub fn parse_duration(s: &str) -> Option<i64> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let value: f64 = num.trim().parse().ok()?;
    let scale = match unit {
        "ns" => 1.0,
        "us" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        "m" => 60e9,
        "h" => 3600e9,
        "d" => 86400e9,
        _ => return None,
    };
    let ns = value * scale;
    (0.0..9.2e18).contains(&ns).then_some(ns as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_needed_precision() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_500_000_000_123_456_000), "2017-07-14T02:40:00.123456Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59.999999999Z");
    }

    /// Windows' fixed shape is read as chrono reads it, and anything chrono would judge
    /// differently (dates that do not exist, leap seconds, other shapes) is left to it.
    #[test]
    fn fixed_datetimes_read_as_chrono_reads_them() {
        let chrono_utc = |s: &str| {
            NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f")
                .ok()
                .and_then(|t| t.and_utc().timestamp_nanos_opt())
        };
        let chrono_rfc = |s: &str| DateTime::parse_from_rfc3339(s).ok().and_then(|t| t.timestamp_nanos_opt());
        let mut cases: Vec<String> = [
            "2017-12-26 13:10:29.134",
            "2017-12-26 13:10:29",
            "2017-12-26 13:10:29.1",
            "2017-12-26 13:10:29.123456789",
            "2000-02-29 23:59:59.999",
            "1900-02-29 00:00:00",
            "2023-04-31 00:00:00",
            "2016-12-31 23:59:60",
            "2017-13-01 00:00:00",
            "2017-00-10 00:00:00",
            "2017-12-26 24:00:00",
            "2017-12-26 13:10:29.",
            "2017-12-26 13:10:29.1234567891",
            "2017-12-26 13:10:29.12a",
            "+017-12-26 13:10:29",
            "1970-01-01 00:00:00",
            "1677-09-21 00:12:44",
            "2262-04-11 23:47:16.854775807",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let (y, mo, d) = (1970 + x % 300, 1 + (x >> 10) % 12, 1 + (x >> 20) % 31);
            let (h, mi, se) = ((x >> 30) % 24, (x >> 36) % 60, (x >> 42) % 61);
            let digits = ((x >> 50) % 10) as usize;
            let frac =
                if digits == 0 { String::new() } else { format!(".{:0>9}", x % 1_000_000_000)[..=digits].to_string() };
            cases.push(format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{se:02}{frac}"));
        }
        for case in &cases {
            if let Some(fast) = parse_fixed_datetime(case, b' ', false) {
                assert_eq!(Some(fast), chrono_utc(case), "{case}");
            }
            let rfc = format!("{}Z", case.replacen(' ', "T", 1));
            if let Some(fast) = parse_fixed_datetime(&rfc, b'T', true) {
                assert_eq!(Some(fast), chrono_rfc(&rfc), "{rfc}");
            }
        }
        assert_eq!(parse_fixed_datetime("2017-12-26 13:10:29.134", b' ', false), Some(1_514_293_829_134_000_000));
        assert_eq!(parse_fixed_datetime("2017-12-26T13:10:29.1368792Z", b'T', true), Some(1_514_293_829_136_879_200));
        for refused in ["2023-04-31 00:00:00", "2016-12-31 23:59:60", "2017-12-26 13:10:29.", "2017-12-26T13:10:29"] {
            assert_eq!(parse_fixed_datetime(refused, b' ', false), None, "{refused}");
        }
    }

    /// The hand-written formatter agrees with chrono's RFC 3339 (`AutoSi`, `Z`) everywhere an
    /// `i64` of nanoseconds reaches: both ends, leap days, century years, every precision.
    #[test]
    fn formatting_matches_chrono() {
        let chrono_form = |ts: i64| {
            DateTime::from_timestamp(ts.div_euclid(NANOS_PER_SEC), ts.rem_euclid(NANOS_PER_SEC) as u32)
                .map(|dt| dt.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
        };
        let mut cases = vec![i64::MIN, i64::MAX, 0, -1, 1, 951_782_400 * NANOS_PER_SEC, 4_107_542_400 * NANOS_PER_SEC];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let ts = x as i64;
            // Every precision: whole seconds, milliseconds, microseconds, nanoseconds.
            cases.extend([
                ts,
                ts - ts.rem_euclid(1_000),
                ts - ts.rem_euclid(1_000_000),
                ts - ts.rem_euclid(NANOS_PER_SEC),
            ]);
        }
        for ts in cases {
            assert_eq!(Some(rfc3339(ts)), chrono_form(ts), "{ts}");
        }
    }

    #[test]
    fn parts_convert_and_saturate() {
        assert_eq!(from_parts(1, 5, 1_000_000), 1_000_005_000);
        assert_eq!(from_parts(1, 5, 1_000_000_000), 1_000_000_005);
        assert_eq!(from_parts(i64::MAX, 0, 1_000_000), i64::MAX);
    }

    #[test]
    fn user_times() {
        assert_eq!(parse_user_time("1970-01-01T00:00:01Z"), Some(NANOS_PER_SEC));
        assert_eq!(parse_user_time("1970-01-01 00:00:02"), Some(2 * NANOS_PER_SEC));
        assert_eq!(parse_user_time("1970-01-02"), Some(86_400 * NANOS_PER_SEC));
        assert_eq!(parse_user_time("1.5"), Some(1_500_000_000));
        assert_eq!(parse_user_time("yesterday"), None);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5m"), Some(300 * NANOS_PER_SEC));
        assert_eq!(parse_duration("60"), Some(60 * NANOS_PER_SEC));
        assert_eq!(parse_duration("250ms"), Some(250_000_000));
        assert_eq!(parse_duration("-1s"), None);
        assert_eq!(parse_duration("5 parsecs"), None);
    }
}
