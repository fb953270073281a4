//! Times as Unix seconds: X.509 UTCTime/GeneralizedTime (RFC 5280 §4.1.2.5, "Z" only) and
//! RFC 3339 for `--at`.

use alloc::string::String;

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

fn digits(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn to_unix(y: i64, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> Result<i64, String> {
    if !(1..=12).contains(&mo) || d == 0 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 60
    {
        return Err("time out of range".into());
    }
    Ok(days_from_civil(y, mo, d) * 86_400 + i64::from(h * 3600 + mi * 60 + s))
}

/// `YYMMDDHHMMSSZ`; YY below 50 is 20YY (RFC 5280 §4.1.2.5.1).
pub fn parse_utc_time(s: &str) -> Result<i64, String> {
    let b = s.as_bytes();
    if !s.is_ascii() || b.len() != 13 || b[12] != b'Z' {
        return Err(alloc::format!("bad UTCTime {s:?}"));
    }
    let f = |i: usize| digits(&s[i..i + 2]).ok_or_else(|| alloc::format!("bad UTCTime {s:?}"));
    let yy = f(0)?;
    let y = if yy < 50 { 2000 + yy } else { 1900 + yy };
    to_unix(i64::from(y), f(2)?, f(4)?, f(6)?, f(8)?, f(10)?)
}

/// `YYYYMMDDHHMMSSZ` (RFC 5280 §4.1.2.5.2).
pub fn parse_generalized_time(s: &str) -> Result<i64, String> {
    let b = s.as_bytes();
    if !s.is_ascii() || b.len() != 15 || b[14] != b'Z' {
        return Err(alloc::format!("bad GeneralizedTime {s:?}"));
    }
    let bad = || alloc::format!("bad GeneralizedTime {s:?}");
    let f = |i: usize| digits(&s[i..i + 2]).ok_or_else(bad);
    let y = digits(&s[0..4]).ok_or_else(bad)?;
    to_unix(i64::from(y), f(4)?, f(6)?, f(8)?, f(10)?, f(12)?)
}

/// RFC 3339 `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`, or a bare `YYYY-MM-DD` (midnight UTC).
pub fn parse_rfc3339(s: &str) -> Result<i64, String> {
    let bad = || alloc::format!("not an RFC 3339 time: {s:?} (e.g. 2025-06-01T12:00:00Z)");
    if !s.is_ascii() {
        return Err(bad());
    }
    let date = s.get(0..10).ok_or_else(bad)?;
    let db = date.as_bytes();
    if db[4] != b'-' || db[7] != b'-' {
        return Err(bad());
    }
    let y = digits(&date[0..4]).ok_or_else(bad)?;
    let mo = digits(&date[5..7]).ok_or_else(bad)?;
    let d = digits(&date[8..10]).ok_or_else(bad)?;
    if s.len() == 10 {
        return to_unix(i64::from(y), mo, d, 0, 0, 0).map_err(|_| bad());
    }
    let rest = &s[10..];
    if !(rest.starts_with('T') || rest.starts_with('t') || rest.starts_with(' ')) || rest.len() < 9
    {
        return Err(bad());
    }
    let tb = rest.as_bytes();
    if tb[3] != b':' || tb[6] != b':' {
        return Err(bad());
    }
    let h = digits(&rest[1..3]).ok_or_else(bad)?;
    let mi = digits(&rest[4..6]).ok_or_else(bad)?;
    let sec = digits(&rest[7..9]).ok_or_else(bad)?;
    let mut zone = &rest[9..];
    if let Some(frac) = zone.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return Err(bad());
        }
        zone = &frac[n..];
    }
    let offset = match zone {
        "Z" | "z" => 0,
        z if z.len() == 6 && (z.starts_with('+') || z.starts_with('-')) && &z[3..4] == ":" => {
            let oh = digits(&z[1..3]).ok_or_else(bad)?;
            let om = digits(&z[4..6]).ok_or_else(bad)?;
            if oh > 23 || om > 59 {
                return Err(bad());
            }
            let o = i64::from(oh * 3600 + om * 60);
            if z.starts_with('-') {
                -o
            } else {
                o
            }
        }
        _ => return Err(bad()),
    };
    Ok(to_unix(i64::from(y), mo, d, h, mi, sec).map_err(|_| bad())? - offset)
}

/// `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format_rfc3339(t: i64) -> String {
    let (y, m, d) = civil_from_days(t.div_euclid(86_400));
    let s = t.rem_euclid(86_400);
    alloc::format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x509_times_parse_to_unix_seconds() {
        assert_eq!(parse_utc_time("700101000000Z"), Ok(0));
        assert_eq!(parse_utc_time("251210221421Z"), Ok(1_765_404_861));
        assert_eq!(parse_utc_time("491231235959Z"), Ok(2_524_607_999));
        assert_eq!(parse_generalized_time("20500101000000Z"), Ok(2_524_608_000));
        assert!(parse_utc_time("250230000000Z").is_err());
        assert!(parse_utc_time("2512102214Z").is_err());
        assert!(parse_generalized_time("2050010100000+Z").is_err());
        // Multi-byte characters must not split a slice.
        assert!(parse_utc_time("2é0101000000Z").is_err());
        assert!(parse_generalized_time("2é050101000000Z").is_err());
    }

    #[test]
    fn rfc3339_accepts_offsets_fractions_and_bare_dates() {
        assert_eq!(parse_rfc3339("2025-12-10T22:14:21Z"), Ok(1_765_404_861));
        assert_eq!(
            parse_rfc3339("2025-12-10T23:14:21.5+01:00"),
            Ok(1_765_404_861)
        );
        assert_eq!(parse_rfc3339("1970-01-01"), Ok(0));
        assert!(parse_rfc3339("2025-13-01T00:00:00Z").is_err());
        assert!(parse_rfc3339("2025-12-10T22:14:21").is_err());
        assert!(parse_rfc3339("yesterday").is_err());
        assert!(parse_rfc3339("2025-12-10T22:14:21Zé").is_err());
        assert_eq!(format_rfc3339(1_765_404_861), "2025-12-10T22:14:21Z");
        assert_eq!(format_rfc3339(-1), "1969-12-31T23:59:59Z");
    }
}
