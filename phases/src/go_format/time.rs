//! Go's time text: RFC 3339 as `time.Time.Format(time.RFC3339)` writes it and `time.Parse` reads it, and
//! apimachinery's `ShortHumanDuration` (`45s`, `3m`, `23h`, `364d`, `2y`) as `token list` and
//! `certs check-expiration` print it.

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// Formats a time as Go's `Time.UTC().Format(time.RFC3339)`: `2026-11-23T13:23:29Z`.
pub fn format_rfc3339_utc(t: OffsetDateTime) -> String {
    format_rfc3339(t.to_offset(UtcOffset::UTC))
}

/// Formats a time in its own offset as Go's `time.RFC3339` (`Z` for UTC, else `+hh:mm`), whole seconds.
pub(crate) fn format_rfc3339(t: OffsetDateTime) -> String {
    let offset = t.offset();
    let zone = if offset.is_utc() {
        "Z".to_string()
    } else {
        let total = offset.whole_seconds();
        let sign = if total < 0 { '-' } else { '+' };
        let abs = total.unsigned_abs();
        format!("{sign}{:02}:{:02}", abs / 3600, (abs % 3600) / 60)
    };
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{zone}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Parses RFC 3339 as Go's `time.Parse(time.RFC3339, …)` accepts it: `YYYY-MM-DDTHH:MM:SS[.frac](Z|±hh:mm)`.
pub fn parse_rfc3339(text: &str) -> Option<OffsetDateTime> {
    let b = text.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let s = text.get(r)?;
        if s.bytes().all(|c| c.is_ascii_digit()) { s.parse().ok() } else { None }
    };
    let year = i32::try_from(num(0..4)?).ok()?;
    let month = Month::try_from(u8::try_from(num(5..7)?).ok()?).ok()?;
    let day = u8::try_from(num(8..10)?).ok()?;
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut rest = &text[19..];
    let mut nanos = 0u32;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || digits > 9 {
            return None;
        }
        nanos = frac[..digits].parse::<u32>().ok()? * 10u32.pow(9 - u32::try_from(digits).ok()?);
        rest = &frac[digits..];
    }
    let offset = if rest == "Z" {
        UtcOffset::UTC
    } else {
        let sign: i8 = match rest.as_bytes().first()? {
            b'+' => 1,
            b'-' => -1,
            _ => return None,
        };
        let zb = rest.as_bytes();
        if zb.len() != 6 || zb[3] != b':' {
            return None;
        }
        let h = i8::try_from(rest[1..3].parse::<u8>().ok()?).ok()?;
        let m = i8::try_from(rest[4..6].parse::<u8>().ok()?).ok()?;
        UtcOffset::from_hms(sign * h, sign * m, 0).ok()?
    };
    let date = Date::from_calendar_date(year, month, day).ok()?;
    let time =
        Time::from_hms_nano(u8::try_from(hour).ok()?, u8::try_from(minute).ok()?, u8::try_from(second).ok()?, nanos)
            .ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_offset(offset))
}

/// apimachinery's `ShortHumanDuration`: `<invalid>` below −1s, then `Ns`, `Nm`, `Nh`, `Nd`, `Ny`.
pub fn short_human_duration(d: time::Duration) -> String {
    let seconds = d.whole_seconds();
    if seconds < -1 {
        return "<invalid>".into();
    }
    if seconds < 0 {
        return "0s".into();
    }
    if seconds < 60 {
        return format!("{seconds}s");
    }
    let minutes = d.whole_minutes();
    if minutes < 60 {
        return format!("{minutes}m");
    }
    let hours = d.whole_hours();
    if hours < 24 {
        format!("{hours}h")
    } else if hours < 24 * 365 {
        format!("{}d", hours / 24)
    } else {
        format!("{}y", hours / 24 / 365)
    }
}
