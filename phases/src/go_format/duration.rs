//! Go `time.Duration` text: parsing what operators write (`24h`, `1h30m`, `500ms`, `0`) and printing the way Go's
//! `Duration.String` does (`24h0m0s`, `4m0s`, `0s`, `500ms`), which is how kubeadm writes ttl and timeouts.

use std::time::Duration;

/// Parses a Go duration string. Negative durations are refused (no kubeadm field means anything by them).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let s = text.trim();
    let s = s.strip_prefix('+').unwrap_or(s);
    if s.starts_with('-') {
        return Err("negative durations are not allowed".into());
    }
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() {
        return Err("empty duration".into());
    }
    let mut total: u128 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let (num, after) = rest.split_at(num_len);
        if num.is_empty() || num == "." {
            return Err(format!("time: invalid duration {text:?}"));
        }
        let unit_len = after.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_len);
        let nanos_per: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "" => return Err(format!("time: missing unit in duration {text:?}")),
            other => return Err(format!("time: unknown unit {other:?} in duration {text:?}")),
        };
        let (int, frac) = num.split_once('.').unwrap_or((num, ""));
        if frac.contains('.') {
            return Err(format!("time: invalid duration {text:?}"));
        }
        let int_v: u128 =
            if int.is_empty() { 0 } else { int.parse().map_err(|_| format!("time: invalid duration {text:?}"))? };
        let mut part = int_v.checked_mul(nanos_per).ok_or_else(|| format!("time: invalid duration {text:?}"))?;
        let mut scale = nanos_per;
        for d in frac.bytes() {
            scale /= 10;
            part += u128::from(d - b'0') * scale;
        }
        total += part;
        rest = next;
    }
    if total > u128::from(i64::MAX as u64) {
        return Err(format!("time: invalid duration {text:?}"));
    }
    let secs = u64::try_from(total / 1_000_000_000).map_err(|_| format!("time: invalid duration {text:?}"))?;
    let nanos = u32::try_from(total % 1_000_000_000).map_err(|_| format!("time: invalid duration {text:?}"))?;
    Ok(Duration::new(secs, nanos))
}

/// Writes a fraction of `v / 10^digits` without trailing zeros (`"1.5"`, `"2"`).
fn decimal(v: u128, digits: u32) -> String {
    let div = 10u128.pow(digits);
    let (int, frac) = (v / div, v % div);
    if frac == 0 {
        return int.to_string();
    }
    let f = format!("{frac:0width$}", width = digits as usize);
    format!("{int}.{}", f.trim_end_matches('0'))
}

/// Formats like Go's `time.Duration.String`: `24h0m0s`, `1m30s`, `1.5s`, `500ms`, `0s`.
pub fn format_duration(d: Duration) -> String {
    let n = d.as_nanos();
    if n == 0 {
        return "0s".into();
    }
    if n < 1_000 {
        return format!("{n}ns");
    }
    if n < 1_000_000 {
        return format!("{}µs", decimal(n, 3));
    }
    if n < 1_000_000_000 {
        return format!("{}ms", decimal(n, 6));
    }
    let hours = n / 3_600_000_000_000;
    let mins = (n / 60_000_000_000) % 60;
    let secs = decimal(n % 60_000_000_000, 9);
    if hours > 0 {
        format!("{hours}h{mins}m{secs}s")
    } else if mins > 0 {
        format!("{mins}m{secs}s")
    } else {
        format!("{secs}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_durations() {
        assert_eq!(parse_duration("24h0m0s").unwrap(), Duration::from_secs(86_400));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5_400));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        assert_eq!(parse_duration("0s").unwrap(), Duration::ZERO);
        assert_eq!(parse_duration("1.5h").unwrap(), Duration::from_secs(5_400));
        assert_eq!(parse_duration("2us").unwrap(), Duration::from_micros(2));
    }

    #[test]
    fn refuses_garbage() {
        for bad in ["", "24", "1x", "h", "-1h", "1..5s", "abc"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn formats_like_go() {
        let cases = [
            (Duration::from_secs(86_400), "24h0m0s"),
            (Duration::from_secs(240), "4m0s"),
            (Duration::ZERO, "0s"),
            (Duration::from_secs(5_400), "1h30m0s"),
            (Duration::from_millis(500), "500ms"),
            (Duration::from_millis(1_500), "1.5s"),
            (Duration::from_secs(87_600 * 3_600), "87600h0m0s"),
        ];
        for (d, want) in cases {
            assert_eq!(format_duration(d), want);
            assert_eq!(parse_duration(want).unwrap(), d);
        }
    }
}
