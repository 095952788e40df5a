//! The YAML 1.1 scalar rules go-yaml v2 applies when it writes a string: what its emitter allows for the text
//! ([`analyze`]), libyaml's printable and break sets, and the resolver that decides whether plain text would read
//! back as a bool, null, int, float or timestamp (and so must be quoted).

/// What go-yaml's emitter allows for a scalar's text (block context only: kbinit never writes flow collections).
pub(super) struct Analysis {
    pub(super) block_plain: bool,
    pub(super) single_quoted: bool,
    pub(super) block: bool,
}

pub(super) fn analyze(s: &str) -> Analysis {
    if s.is_empty() {
        return Analysis { block_plain: true, single_quoted: true, block: false };
    }
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len();
    let mut block_indicators = s.starts_with("---") || s.starts_with("...");
    let (mut special, mut line_breaks) = (false, false);
    let (mut leading_space, mut leading_break, mut trailing_space, mut trailing_break) = (false, false, false, false);
    let (mut break_space, mut space_break, mut previous_space, mut previous_break) = (false, false, false, false);
    let mut preceded_by_whitespace = true;
    for (i, &c) in chars.iter().enumerate() {
        let followed_by_whitespace = i + 1 >= n || matches!(chars[i + 1], ' ' | '\t');
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"' | '%' | '@' | '`' => {
                    block_indicators = true
                }
                '?' | ':' | '-' if followed_by_whitespace => block_indicators = true,
                _ => {}
            }
        } else {
            match c {
                ':' if followed_by_whitespace => block_indicators = true,
                '#' if preceded_by_whitespace => block_indicators = true,
                _ => {}
            }
        }
        // U+2028/U+2029 are printable line breaks to go-yaml; kbinit double-quotes them rather than reproduce
        // go-yaml's break handling inside single quotes.
        if !is_printable(c) || matches!(c, '\u{2028}' | '\u{2029}') {
            special = true;
        }
        if c == ' ' {
            leading_space |= i == 0;
            trailing_space |= i + 1 == n;
            break_space |= previous_break;
            previous_space = true;
            previous_break = false;
        } else if is_break(c) {
            line_breaks = true;
            leading_break |= i == 0;
            trailing_break |= i + 1 == n;
            space_break |= previous_space;
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_whitespace = matches!(c, ' ' | '\t') || is_break(c);
    }
    let mut a = Analysis { block_plain: true, single_quoted: true, block: true };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.block_plain = false;
    }
    if trailing_space {
        a.block = false;
    }
    if break_space {
        a.block_plain = false;
        a.single_quoted = false;
    }
    if space_break || special {
        a = Analysis { block_plain: false, single_quoted: false, block: false };
    }
    if line_breaks || block_indicators {
        a.block_plain = false;
    }
    a
}

/// libyaml's printable set: LF, printable ASCII, U+00A0–U+D7FF, U+E000–U+FFFD except the BOM.
pub(super) fn is_printable(c: char) -> bool {
    matches!(c, '\n' | ' '..='~' | '\u{A0}'..='\u{D7FF}') || (('\u{E000}'..='\u{FFFD}').contains(&c) && c != '\u{FEFF}')
}

pub(super) fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// `true` when YAML 1.1 (go-yaml v2's resolver) reads the plain text as something other than a string: bool,
/// null, int, float or timestamp.
pub(super) fn resolves_to_non_string(s: &str) -> bool {
    const WORDS: &[&str] = &[
        "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON", "n", "N", "no", "No", "NO", "false",
        "False", "FALSE", "off", "Off", "OFF", "", "~", "null", "Null", "NULL", ".nan", ".NaN", ".NAN", ".inf", ".Inf",
        ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF",
    ];
    if WORDS.contains(&s) {
        return true;
    }
    match s.as_bytes().first() {
        Some(b'.') => is_go_float(s),
        Some(b'0'..=b'9' | b'+' | b'-') => {
            if is_timestamp(s) {
                return true;
            }
            let plain = s.replace('_', "");
            if is_go_int(&plain) || is_go_float(&plain) {
                return true;
            }
            let binary = plain.strip_prefix("0b").or_else(|| plain.strip_prefix("-0b"));
            binary.is_some_and(|rest| {
                let digits = rest.strip_prefix(['+', '-']).unwrap_or(rest);
                !digits.is_empty() && digits.bytes().all(|b| b == b'0' || b == b'1')
            })
        }
        _ => false,
    }
}

/// Go's `strconv.ParseInt(s, 0, 64)` or `ParseUint(s, 0, 64)` succeeds.
pub(super) fn is_go_int(s: &str) -> bool {
    let (neg, signed, body) = match s.as_bytes().first() {
        Some(b'-') => (true, true, &s[1..]),
        Some(b'+') => (false, true, &s[1..]),
        _ => (false, false, s),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    if digits.is_empty() {
        return false;
    }
    let mut v: u128 = 0;
    for c in digits.chars() {
        let Some(d) = c.to_digit(radix) else {
            return false;
        };
        v = match v.checked_mul(u128::from(radix)).and_then(|v| v.checked_add(u128::from(d))) {
            Some(v) => v,
            None => return false,
        };
    }
    if neg {
        v <= 1u128 << 63
    } else if signed {
        v <= i64::MAX as u128
    } else {
        v <= u128::from(u64::MAX)
    }
}

/// go-yaml's float pattern `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`, finite as an f64.
pub(super) fn is_go_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len() && s.parse::<f64>().is_ok_and(f64::is_finite)
}

/// go-yaml's base-60 float `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$` (e.g. `1:20`).
pub(super) fn is_base60_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    if !b.get(i).is_some_and(u8::is_ascii_digit) {
        return false;
    }
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while b.get(i) == Some(&b':') {
        i += 1;
        match (b.get(i), b.get(i + 1)) {
            (Some(b'0'..=b'5'), Some(b'0'..=b'9')) => i += 2,
            (Some(b'0'..=b'9'), _) => i += 1,
            _ => return false,
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

/// go-yaml's timestamps: `2006-1-2`, `2006-1-2T15:4:5.999999999Z07:00` (also lower-case `t`), and
/// `2006-1-2 15:4:5.999999999`, with Go's range checks on every field.
pub(super) fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    // one or two digits, Go's getnum
    let num = |i: &mut usize| -> Option<u32> {
        let d1 = b.get(*i).filter(|c| c.is_ascii_digit())?;
        *i += 1;
        let mut v = u32::from(d1 - b'0');
        if let Some(d2) = b.get(*i).filter(|c| c.is_ascii_digit()) {
            *i += 1;
            v = v * 10 + u32::from(d2 - b'0');
        }
        Some(v)
    };
    let lit = |i: &mut usize, c: u8| -> Option<()> { (b.get(*i) == Some(&c)).then(|| *i += 1) };
    let mut parse = || -> Option<()> {
        if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
            return None;
        }
        let year: u32 = s[..4].parse().ok()?;
        i = 5;
        let month = num(&mut i)?;
        lit(&mut i, b'-')?;
        let day = num(&mut i)?;
        let leap = year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        if day < 1 || day > days {
            return None;
        }
        if i == b.len() {
            return Some(());
        }
        let zoned = match b[i] {
            b'T' | b't' => true,
            b' ' => false,
            _ => return None,
        };
        i += 1;
        let hour = num(&mut i)?;
        lit(&mut i, b':')?;
        let minute = num(&mut i)?;
        lit(&mut i, b':')?;
        let second = num(&mut i)?;
        if hour > 23 || minute > 59 || second > 59 {
            return None;
        }
        if matches!(b.get(i), Some(b'.' | b',')) && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
            i += 1;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
        }
        if zoned {
            match b.get(i) {
                Some(b'Z') => i += 1,
                Some(b'+' | b'-') => {
                    let z = b.get(i + 1..i + 6)?;
                    let ok = z[0].is_ascii_digit()
                        && z[1].is_ascii_digit()
                        && z[2] == b':'
                        && z[3].is_ascii_digit()
                        && z[4].is_ascii_digit();
                    if !ok {
                        return None;
                    }
                    i += 6;
                }
                _ => return None,
            }
        }
        (i == b.len()).then_some(())
    };
    parse().is_some()
}
