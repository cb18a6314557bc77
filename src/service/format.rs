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
}
