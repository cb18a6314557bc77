//! `Retry-After` (RFC 9110 §10.2.3): a number of seconds, or an HTTP date.

use std::time::{Duration, SystemTime};

/// How long the header asks to wait from `now`; `None` when it is absent or unreadable. A
/// date in the past asks for no wait at all.
pub fn parse(value: Option<&str>, now: SystemTime) -> Option<Duration> {
    let value = value?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_and_dates_are_read() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480);
        assert_eq!(parse(Some("120"), now), Some(Duration::from_secs(120)));
        assert_eq!(parse(Some(" 0 "), now), Some(Duration::ZERO));
        assert_eq!(
            parse(Some("Wed, 21 Oct 2015 07:28:30 GMT"), now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse(Some("Wed, 21 Oct 2015 07:00:00 GMT"), now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse(Some("soon"), now), None);
        assert_eq!(parse(Some("-5"), now), None);
        assert_eq!(parse(None, now), None);
    }
}
