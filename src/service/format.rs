//! Human forms of times shared by the CLI and the console.

/// "3d 4h", "42m", "15s": the two largest units, for countdowns and ages.
pub fn duration(secs: i64) -> String {
    let secs = secs.max(0);
    let (days, hours, minutes) = (secs / 86_400, secs % 86_400 / 3_600, secs % 3_600 / 60);
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{secs}s"),
        (0, 0, m) => format!("{m}m"),
        (0, h, m) => format!("{h}h {m}m"),
        (d, h, _) => format!("{d}d {h}h"),
    }
}

/// "42m 07s" under an hour, else [`duration`]: an access token's time left, to the second
/// while it is short; "expired" once it is gone.
pub fn access_left(secs: i64) -> String {
    if secs <= 0 {
        "expired".to_owned()
    } else if secs < 3600 {
        format!("{}m {:02}s", secs / 60, secs % 60)
    } else {
        duration(secs)
    }
}

/// Whole days, none below zero: the refresh token's limits.
pub fn days(secs: i64) -> i64 {
    secs.max(0) / 86_400
}

/// "14:05 UTC": a time within the day, said shortly (a link's expiry).
pub fn clock(at: crate::domain::Timestamp) -> String {
    let text = at.rfc3339();
    text.get(11..16)
        .map_or(text.clone(), |hm| format!("{hm} UTC"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations_read_naturally() {
        for (secs, text) in [
            (-5, "0s"),
            (15, "15s"),
            (120, "2m"),
            (3_660, "1h 1m"),
            (90_061, "1d 1h"),
        ] {
            assert_eq!(super::duration(secs), text);
        }
    }

    #[test]
    fn an_access_token_counts_down_to_the_second_in_its_last_hour() {
        for (secs, text) in [
            (0, "expired"),
            (-30, "expired"),
            (427, "7m 07s"),
            (3_599, "59m 59s"),
            (3_600, "1h 0m"),
        ] {
            assert_eq!(super::access_left(secs), text);
        }
        assert_eq!(super::days(-1), 0);
        assert_eq!(super::days(2 * 86_400 + 5), 2);
        let at = crate::domain::Timestamp(1_700_000_000);
        assert_eq!(super::clock(at), "22:13 UTC");
    }
}
