//! Reading one HTTP/1.1 request head off a connection and judging it against the redirect
//! we wait for. Only the request line matters (GET and the target); headers are read so the
//! head is complete, then ignored. Judging is pure so it can be tested without sockets.

use tokio::io::{AsyncRead, AsyncReadExt};
use url::Url;

use super::Callback;
use crate::atlassian::state::check_state;
use crate::validate::text::sanitize;

/// Browsers send a few hundred bytes; anything past this is not the redirect we wait for.
pub(crate) const HEAD_LIMIT: usize = 8 * 1024;
const ERROR_CAP: usize = 64;
const DESCRIPTION_CAP: usize = 300;

/// Why no complete head was read.
#[derive(Debug)]
pub(crate) enum HeadError {
    TooLarge,
    /// The peer closed before the blank line that ends the head.
    Closed,
    /// The connection failed (reset, aborted); nobody is left to answer.
    Broken,
}

/// What one request amounts to, and so which page the browser gets.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Answer {
    /// The redirect we wait for: right path, right state. Ends the wait.
    Received(Callback),
    /// Another path (a favicon, a stray tab): 404, keep waiting.
    NotFound,
    /// Right path, wrong or missing state: a stale or forged link. 400, keep waiting.
    StateMismatch,
    /// Right path and state but neither `code` nor `error`: 400, keep waiting.
    Incomplete,
    /// Anything but GET: 405, keep waiting.
    MethodNotAllowed,
    /// Not an HTTP request line: 400, keep waiting.
    Malformed,
    /// A head over [`HEAD_LIMIT`]: 431, keep waiting.
    TooLarge,
}

/// Reads up to and including the blank line that ends the head, never more than `limit`
/// bytes (plus one read's worth). The caller bounds the time.
pub(crate) async fn read_head(
    reader: &mut (impl AsyncRead + Unpin),
    limit: usize,
) -> Result<Vec<u8>, HeadError> {
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let read = reader
            .read(&mut chunk)
            .await
            .map_err(|_| HeadError::Broken)?;
        if read == 0 {
            return Err(HeadError::Closed);
        }
        // The terminator may straddle two reads: look back three bytes.
        let search_from = head.len().saturating_sub(3);
        head.extend_from_slice(&chunk[..read]);
        if let Some(end) = head_end(&head[search_from..]) {
            head.truncate(search_from + end);
            return Ok(head);
        }
        if head.len() > limit {
            return Err(HeadError::TooLarge);
        }
    }
}

/// The index just past the blank line ending a head. Bare `\n` line ends are accepted too
/// (RFC 9112 §2.2 lets a recipient do so).
fn head_end(bytes: &[u8]) -> Option<usize> {
    bytes
        .windows(2)
        .enumerate()
        .find_map(|(index, pair)| match pair {
            b"\n\n" => Some(index + 2),
            b"\n\r" if bytes.get(index + 2) == Some(&b'\n') => Some(index + 3),
            _ => None,
        })
}

/// Judges a complete head against the path and state of this attempt.
pub(crate) fn judge(head: &[u8], expected_path: &str, expected_state: &str) -> Answer {
    let Some((method, target)) = request_line(head) else {
        return Answer::Malformed;
    };
    if method != "GET" {
        return Answer::MethodNotAllowed;
    }
    let Some(url) = target_url(target) else {
        return Answer::Malformed;
    };
    if url.path() != expected_path {
        return Answer::NotFound;
    }
    let mut state = None;
    let mut code = None;
    let mut error = None;
    let mut description = None;
    // The first occurrence wins: a repeated parameter is not something Atlassian sends.
    for (name, value) in url.query_pairs() {
        let slot = match name.as_ref() {
            "state" => &mut state,
            "code" => &mut code,
            "error" => &mut error,
            "error_description" => &mut description,
            _ => continue,
        };
        slot.get_or_insert(value);
    }
    if check_state(expected_state, state.as_deref()).is_err() {
        return Answer::StateMismatch;
    }
    if let Some(error) = error {
        let description = description
            .map(|text| sanitize(&text, DESCRIPTION_CAP))
            .filter(|text| !text.is_empty());
        return Answer::Received(Callback::Denied {
            error: sanitize(&error, ERROR_CAP),
            description,
        });
    }
    match code {
        Some(code) if !code.is_empty() => Answer::Received(Callback::Code(code.into_owned())),
        _ => Answer::Incomplete,
    }
}

/// Method and request target from the first line, `METHOD SP TARGET SP HTTP/x.y`.
fn request_line(head: &[u8]) -> Option<(&str, &str)> {
    let line_end = head.iter().position(|&byte| byte == b'\n')?;
    let line = std::str::from_utf8(&head[..line_end]).ok()?;
    let mut parts = line.trim_end_matches('\r').split(' ');
    let (method, target, version) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || !version.starts_with("HTTP/1.") || method.is_empty() {
        return None;
    }
    Some((method, target))
}

/// The target as a URL, so its path is normalized exactly like the callback URL's was.
fn target_url(target: &str) -> Option<Url> {
    if target.starts_with('/') {
        // The host is a placeholder: only the path and the query are compared.
        Url::parse(&format!("http://loopback{target}")).ok()
    } else if target.starts_with("http://") {
        Url::parse(target).ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATH: &str = "/callback";
    const STATE: &str = "s3cr3t-state";

    fn head(target: &str) -> Vec<u8> {
        format!("GET {target} HTTP/1.1\r\nHost: localhost\r\n\r\n").into_bytes()
    }

    #[test]
    fn the_right_redirect_is_received() {
        let answer = judge(&head("/callback?code=abc&state=s3cr3t-state"), PATH, STATE);
        assert_eq!(answer, Answer::Received(Callback::Code("abc".into())));
    }

    #[test]
    fn query_values_are_decoded() {
        let answer = judge(
            &head("/callback?state=s3cr3t%2Dstate&code=a%2Fb+c"),
            PATH,
            STATE,
        );
        assert_eq!(answer, Answer::Received(Callback::Code("a/b c".into())));
    }

    #[test]
    fn absolute_form_targets_are_accepted() {
        let target = "http://localhost:8080/callback?code=abc&state=s3cr3t-state";
        let answer = judge(&head(target), PATH, STATE);
        assert_eq!(answer, Answer::Received(Callback::Code("abc".into())));
    }

    #[test]
    fn a_declined_consent_is_received_sanitized() {
        let target = "/callback?error=access_denied&error_description=User%20said%20%1B%5B31mno&state=s3cr3t-state";
        assert_eq!(
            judge(&head(target), PATH, STATE),
            Answer::Received(Callback::Denied {
                error: "access_denied".into(),
                description: Some("User said no".into()),
            })
        );
        let bare = "/callback?error=access_denied&error_description=&state=s3cr3t-state";
        assert_eq!(
            judge(&head(bare), PATH, STATE),
            Answer::Received(Callback::Denied {
                error: "access_denied".into(),
                description: None,
            })
        );
    }

    #[test]
    fn requests_that_do_not_end_the_wait() {
        let cases = [
            ("/callback?code=abc&state=other", Answer::StateMismatch),
            (
                "/callback?code=abc&state=s3cr3t-stat",
                Answer::StateMismatch,
            ),
            ("/callback?code=abc", Answer::StateMismatch),
            ("/callback?error=access_denied", Answer::StateMismatch),
            (
                "/callback?error=access_denied&state=s3cr3t-state-",
                Answer::StateMismatch,
            ),
            ("/callback?state=s3cr3t-state", Answer::Incomplete),
            ("/callback?code=&state=s3cr3t-state", Answer::Incomplete),
            ("/favicon.ico", Answer::NotFound),
            ("/callback/?code=abc&state=s3cr3t-state", Answer::NotFound),
            ("/other?code=abc&state=s3cr3t-state", Answer::NotFound),
            ("//callback?code=abc&state=s3cr3t-state", Answer::NotFound),
            ("*", Answer::Malformed),
            ("callback", Answer::Malformed),
        ];
        for (target, expected) in cases {
            let answer = judge(&head(target), PATH, STATE);
            assert_eq!(answer, expected, "{target}");
        }
    }

    #[test]
    fn only_get_is_served() {
        let post = b"POST /callback?code=abc&state=s3cr3t-state HTTP/1.1\r\n\r\n";
        assert_eq!(judge(post, PATH, STATE), Answer::MethodNotAllowed);
    }

    #[test]
    fn broken_request_lines_are_malformed() {
        for head in [
            &b"GET /callback\r\n\r\n"[..],
            b"GET /callback HTTP/2\r\n\r\n",
            b"GET  /callback HTTP/1.1\r\n\r\n",
            b"GET /callback HTTP/1.1 extra\r\n\r\n",
            b"\xff\xfe /callback HTTP/1.1\r\n\r\n",
            b"no line end",
        ] {
            assert_eq!(judge(head, PATH, STATE), Answer::Malformed, "{head:?}");
        }
    }

    #[test]
    fn head_end_accepts_both_line_endings() {
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nA: b\r\n\r\nbody"), Some(24));
        assert_eq!(head_end(b"GET / HTTP/1.1\nA: b\n\nbody"), Some(21));
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nA: b\r\n"), None);
    }

    #[tokio::test]
    async fn read_head_stops_at_the_blank_line_across_reads() {
        let (mut client, mut server) = tokio::io::duplex(64);
        let writer = tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            for piece in ["GET /callback HTTP/1.1\r", "\nHost: x\r\n\r", "\nleftover"] {
                client.write_all(piece.as_bytes()).await.unwrap();
                tokio::task::yield_now().await;
            }
            client
        });
        let head = read_head(&mut server, HEAD_LIMIT).await.unwrap();
        assert_eq!(head, b"GET /callback HTTP/1.1\r\nHost: x\r\n\r\n");
        drop(writer.await.unwrap());
    }

    #[tokio::test]
    async fn read_head_refuses_an_endless_head() {
        let (mut client, mut server) = tokio::io::duplex(4096);
        let writer = tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            let line = format!("X-Filler: {}\r\n", "a".repeat(100));
            while client.write_all(line.as_bytes()).await.is_ok() {}
        });
        let result = read_head(&mut server, HEAD_LIMIT).await;
        assert!(matches!(result, Err(HeadError::TooLarge)), "{result:?}");
        drop(server);
        writer.await.unwrap();
    }

    #[tokio::test]
    async fn read_head_reports_an_early_close() {
        let (client, mut server) = tokio::io::duplex(64);
        drop(client);
        let result = read_head(&mut server, HEAD_LIMIT).await;
        assert!(matches!(result, Err(HeadError::Closed)), "{result:?}");
    }
}
