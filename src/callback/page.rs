//! The pages the browser gets back: one short sentence per answer, as a complete HTTP/1.1
//! response that closes the connection and lets the page load nothing else.

use super::Callback;
use super::request::Answer;

/// The full response for an answer: status line, headers, HTML body.
pub(crate) fn response(answer: &Answer) -> Vec<u8> {
    let (status, title, sentence) = match answer {
        Answer::Received(Callback::Code(_)) => (
            "200 OK",
            "Authorization received",
            "jira-auth received the authorization; you can close this tab and return to the terminal."
                .to_owned(),
        ),
        Answer::Received(Callback::Denied { error, description }) => (
            "200 OK",
            "Authorization not granted",
            denied_sentence(error, description.as_deref()),
        ),
        Answer::NotFound => (
            "404 Not Found",
            "Not found",
            "Nothing here: jira-auth is waiting for the authorization redirect on another path."
                .to_owned(),
        ),
        Answer::StateMismatch => (
            "400 Bad Request",
            "Link from another attempt",
            "This link belongs to another attempt (its state does not match the one jira-auth is waiting for). Use the authorization link the terminal shows now."
                .to_owned(),
        ),
        Answer::Incomplete => (
            "400 Bad Request",
            "Incomplete redirect",
            "This redirect carries neither an authorization code nor an error; jira-auth is still waiting."
                .to_owned(),
        ),
        Answer::MethodNotAllowed => (
            "405 Method Not Allowed",
            "Method not allowed",
            "jira-auth only answers GET requests here.".to_owned(),
        ),
        Answer::Malformed => (
            "400 Bad Request",
            "Bad request",
            "jira-auth could not read this request.".to_owned(),
        ),
        Answer::TooLarge => (
            "431 Request Header Fields Too Large",
            "Request too large",
            "This request is larger than any authorization redirect; jira-auth ignored it."
                .to_owned(),
        ),
    };
    let body = format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>jira-auth: {title}</title></head>\n<body><h1>{title}</h1><p>{}</p></body></html>\n",
        escape_html(&sentence)
    );
    let allow = if matches!(answer, Answer::MethodNotAllowed) {
        "Allow: GET\r\n"
    } else {
        ""
    };
    // no-store: the URL held a code; no-referrer and the CSP: the page loads and leaks nothing.
    format!(
        "HTTP/1.1 {status}\r\n\
         Content-Type: text/html; charset=utf-8\r\n\
         Content-Length: {}\r\n\
         {allow}\
         Cache-Control: no-store\r\n\
         Referrer-Policy: no-referrer\r\n\
         Content-Security-Policy: default-src 'none'\r\n\
         X-Content-Type-Options: nosniff\r\n\
         Connection: close\r\n\
         \r\n\
         {body}",
        body.len()
    )
    .into_bytes()
}

fn denied_sentence(error: &str, description: Option<&str>) -> String {
    let reason = match (error, description) {
        ("access_denied", None) => "the consent was declined".to_owned(),
        ("access_denied", Some(description)) => {
            format!("the consent was declined ({description})")
        }
        (error, None) => format!("Atlassian answered {error}"),
        (error, Some(description)) => format!("Atlassian answered {error}: {description}"),
    };
    format!(
        "jira-auth did not receive an authorization: {reason}. Return to the terminal to try again."
    )
}

/// Error texts come from the query string: they must not become markup.
fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(answer: &Answer) -> String {
        String::from_utf8(response(answer)).unwrap()
    }

    #[test]
    fn success_page_tells_the_user_to_go_back() {
        let page = text(&Answer::Received(Callback::Code("abc".into())));
        assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
        assert!(page.contains("jira-auth received the authorization; you can close this tab and return to the terminal"));
        assert!(!page.contains("abc"), "the code is not echoed: {page}");
    }

    #[test]
    fn content_length_matches_the_body() {
        let page = text(&Answer::NotFound);
        let (head, body) = page.split_once("\r\n\r\n").unwrap();
        let length = head
            .lines()
            .find_map(|line| line.strip_prefix("Content-Length: "))
            .unwrap();
        assert_eq!(length.parse::<usize>().unwrap(), body.len());
    }

    #[test]
    fn statuses_match_answers() {
        let cases = [
            (Answer::NotFound, "404 "),
            (Answer::StateMismatch, "400 "),
            (Answer::Incomplete, "400 "),
            (Answer::MethodNotAllowed, "405 "),
            (Answer::Malformed, "400 "),
            (Answer::TooLarge, "431 "),
        ];
        for (answer, status) in cases {
            let page = text(&answer);
            assert!(page.starts_with(&format!("HTTP/1.1 {status}")), "{page}");
        }
        assert!(text(&Answer::StateMismatch).contains("belongs to another attempt"));
        assert!(text(&Answer::MethodNotAllowed).contains("\r\nAllow: GET\r\n"));
    }

    #[test]
    fn denial_reason_is_shown_escaped() {
        let page = text(&Answer::Received(Callback::Denied {
            error: "access_denied".into(),
            description: Some("<script>alert(1)</script>".into()),
        }));
        assert!(page.contains("the consent was declined"), "{page}");
        assert!(page.contains("&lt;script&gt;"), "{page}");
        assert!(!page.contains("<script>"), "{page}");
        let other = text(&Answer::Received(Callback::Denied {
            error: "server_error".into(),
            description: None,
        }));
        assert!(other.contains("Atlassian answered server_error"), "{other}");
    }
}
