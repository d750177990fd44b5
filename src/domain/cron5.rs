//! The 5-field cron users write (`min hour dom month dow`), translated for the `cron` crate (seconds
//! first, Sunday = 1). The day of week is expanded into an explicit list, so that every form users
//! know reads the same: Sunday as 0 or 7, names `SUN`…`SAT`, ranges that end on Sunday (`1-7`, `5-7`,
//! `6-7`) or wrap past it (`SAT-SUN`, `FRI-MON`), lists and steps (`*/2`, `1-5/2`).

/// Translates a 5-field expression; 6- and 7-field expressions (the `cron` crate's own) pass through.
/// The error names what is wrong with the day-of-week field.
pub fn to_cron_crate(expr: &str) -> Result<String, String> {
    let fields: Vec<&str> = expr.split_whitespace().collect();
    if fields.len() != 5 {
        return Ok(fields.join(" "));
    }
    let dow = day_of_week(fields[4])?;
    Ok(format!(
        "0 {} {} {} {} {dow}",
        fields[0], fields[1], fields[2], fields[3]
    ))
}

const NAMES: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// A day as users write it: 0–7 (0 and 7 are Sunday) or a name; 7 stays 7 so that `5-7` is a range.
fn day(token: &str) -> Result<u8, String> {
    if let Ok(n) = token.parse::<u8>() {
        return if n <= 7 {
            Ok(n)
        } else {
            Err(format!(
                "day of week `{token}` is not 0–7 (0 and 7 are Sunday)"
            ))
        };
    }
    NAMES
        .iter()
        .position(|n| n.eq_ignore_ascii_case(token))
        .map(|i| i as u8)
        .ok_or_else(|| format!("day of week `{token}` is not 0–7 or SUN–SAT"))
}

/// The day-of-week field as the `cron` crate's explicit list (`*` for every day).
fn day_of_week(field: &str) -> Result<String, String> {
    if field == "*" || field == "?" {
        return Ok("*".into());
    }
    let mut days = [false; 7];
    for part in field.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => {
                let step =
                    s.parse::<u8>().ok().filter(|s| *s > 0).ok_or_else(|| {
                        format!("step `{s}` in `{part}` is not a positive number")
                    })?;
                (r, step)
            }
            None => (part, 1),
        };
        let (from, to) = match range.split_once('-') {
            _ if range == "*" => (0, 6),
            Some((a, b)) => (day(a)?, day(b)?),
            // `5/2`: from that day to the end of the week.
            None if step > 1 => (day(range)?, 6),
            None => {
                let d = day(range)?;
                (d, d)
            }
        };
        // A range that ends before it starts wraps past Sunday: SAT-SUN is 6, 0.
        let to = if to < from { to + 7 } else { to };
        let mut d = from;
        while d <= to {
            days[usize::from(d % 7)] = true;
            d += step;
        }
    }
    if days.iter().all(|d| *d) {
        return Ok("*".into());
    }
    // The `cron` crate numbers Sunday 1 … Saturday 7.
    Ok(days
        .iter()
        .enumerate()
        .filter(|(_, on)| **on)
        .map(|(i, _)| (i + 1).to_string())
        .collect::<Vec<_>>()
        .join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dow(field: &str) -> String {
        to_cron_crate(&format!("0 18 * * {field}"))
            .unwrap()
            .rsplit(' ')
            .next()
            .unwrap()
            .to_string()
    }

    #[test]
    fn every_day_of_week_form_is_translated() {
        // cron crate numbers: SUN=1 MON=2 TUE=3 WED=4 THU=5 FRI=6 SAT=7.
        for (users, crate_form) in [
            ("0", "1"),
            ("7", "1"),
            ("0,7", "1"),
            ("5", "6"),
            ("1-5", "2,3,4,5,6"),
            ("1-7", "*"),
            ("0-6", "*"),
            ("5-7", "1,6,7"),
            ("6-7", "1,7"),
            ("6,0", "1,7"),
            ("SAT-SUN", "1,7"),
            ("sat,sun", "1,7"),
            ("FRI-MON", "1,2,6,7"),
            ("MON-FRI", "2,3,4,5,6"),
            ("Fri", "6"),
            ("*/2", "1,3,5,7"),
            ("1-5/2", "2,4,6"),
            ("1/2", "2,4,6"),
            ("*", "*"),
            ("?", "*"),
        ] {
            assert_eq!(dow(users), crate_form, "{users}");
        }
    }

    #[test]
    fn the_other_fields_gain_seconds_and_six_fields_pass() {
        assert_eq!(
            to_cron_crate("30 9 1 12 1-5").unwrap(),
            "0 30 9 1 12 2,3,4,5,6"
        );
        assert_eq!(to_cron_crate("0 0 18 * * Fri").unwrap(), "0 0 18 * * Fri");
    }

    #[test]
    fn bad_days_are_named() {
        for bad in ["8", "FUNDAY", "1-9", "*/0", "1/x", ""] {
            let expr = format!("0 18 * * {bad}");
            if bad.is_empty() {
                continue; // four fields: passed through, refused by the cron crate
            }
            let err = to_cron_crate(&expr).unwrap_err();
            assert!(
                err.contains("day of week") || err.contains("step"),
                "{bad}: {err}"
            );
        }
    }
}
