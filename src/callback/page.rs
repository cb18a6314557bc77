//! The pages the browser gets back: one short sentence per answer, as a response that lets
//! the page load nothing else. hyper adds the length and closes the connection after it.

use hyper::header::{
    ALLOW, CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, HeaderValue, REFERRER_POLICY,
    X_CONTENT_TYPE_OPTIONS,
};
use hyper::{Response, StatusCode};

use super::answer::Answer;
use super::target::Callback;

/// The full response for an answer: status, headers, HTML body.
pub(crate) fn response(answer: &Answer) -> Response<String> {
    let (status, title, sentence) = match answer {
        Answer::Received(Callback::Code(_)) => (
            StatusCode::OK,
            "Authorization received",
            "jira-auth received the authorization; you can close this tab and return to the terminal."
                .to_owned(),
        ),
        Answer::Received(Callback::Denied { error, description }) => (
            StatusCode::OK,
            "Authorization not granted",
            denied_sentence(error, description.as_deref()),
        ),
        Answer::NotFound => (
            StatusCode::NOT_FOUND,
            "Not found",
            "Nothing here: jira-auth is waiting for the authorization redirect on another path."
                .to_owned(),
        ),
        Answer::Repeated { parameter } => (
            StatusCode::BAD_REQUEST,
            "Altered redirect",
            format!(
                "This redirect carries {parameter} more than once, which Atlassian never sends: the address was altered. jira-auth ignored it and is still waiting."
            ),
        ),
        Answer::StateMismatch => (
            StatusCode::BAD_REQUEST,
            "Link from another attempt",
            "This link belongs to another attempt (its state does not match the one jira-auth is waiting for). Use the authorization link the terminal shows now."
                .to_owned(),
        ),
        Answer::Incomplete => (
            StatusCode::BAD_REQUEST,
            "Incomplete redirect",
            "This redirect carries neither an authorization code nor an error; jira-auth is still waiting."
                .to_owned(),
        ),
        Answer::MethodNotAllowed => (
            StatusCode::METHOD_NOT_ALLOWED,
            "Method not allowed",
            "jira-auth only answers GET requests here.".to_owned(),
        ),
        Answer::Malformed => (
            StatusCode::BAD_REQUEST,
            "Bad request",
            "jira-auth could not read this request.".to_owned(),
        ),
    };
    let mut response = page(status, title, &[sentence]);
    if matches!(answer, Answer::MethodNotAllowed) {
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET"));
    }
    response
}

/// A plain page: a title and paragraphs, every text escaped, loading nothing else. Also the
/// receiver's pages, which end users see.
pub fn page(status: StatusCode, title: &str, paragraphs: &[String]) -> Response<String> {
    let body: String = paragraphs
        .iter()
        .map(|text| format!("<p>{}</p>", escape_html(text)))
        .collect();
    let title = escape_html(title);
    let body = format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>jira-auth: {title}</title></head>\n<body><h1>{title}</h1>{body}</body></html>\n"
    );
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    // no-store: the URL held a code; no-referrer and the CSP: the page loads and leaks nothing.
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'"),
    );
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
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
pub fn escape_html(text: &str) -> String {
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

    fn body(answer: &Answer) -> String {
        response(answer).into_body()
    }

    #[test]
    fn success_page_tells_the_user_to_go_back() {
        let answer = Answer::Received(Callback::Code("abc".into()));
        let page = response(&answer);
        assert_eq!(page.status(), StatusCode::OK);
        assert_eq!(page.headers()[CACHE_CONTROL], "no-store");
        let text = page.into_body();
        assert!(text.contains("jira-auth received the authorization; you can close this tab and return to the terminal"));
        assert!(!text.contains("abc"), "the code is not echoed: {text}");
    }

    #[test]
    fn statuses_match_answers() {
        let cases = [
            (Answer::NotFound, StatusCode::NOT_FOUND),
            (
                Answer::Repeated { parameter: "code" },
                StatusCode::BAD_REQUEST,
            ),
            (Answer::StateMismatch, StatusCode::BAD_REQUEST),
            (Answer::Incomplete, StatusCode::BAD_REQUEST),
            (Answer::MethodNotAllowed, StatusCode::METHOD_NOT_ALLOWED),
            (Answer::Malformed, StatusCode::BAD_REQUEST),
        ];
        for (answer, status) in cases {
            assert_eq!(response(&answer).status(), status, "{answer:?}");
        }
        assert!(body(&Answer::StateMismatch).contains("belongs to another attempt"));
        assert!(body(&Answer::Repeated { parameter: "state" }).contains(
            "state more than once, which Atlassian never sends: the address was altered"
        ));
        assert_eq!(response(&Answer::MethodNotAllowed).headers()[ALLOW], "GET");
        assert!(!response(&Answer::NotFound).headers().contains_key(ALLOW));
    }

    #[test]
    fn denial_reason_is_shown_escaped() {
        let page = body(&Answer::Received(Callback::Denied {
            error: "access_denied".into(),
            description: Some("<script>alert(1)</script>".into()),
        }));
        assert!(page.contains("the consent was declined"), "{page}");
        assert!(page.contains("&lt;script&gt;"), "{page}");
        assert!(!page.contains("<script>"), "{page}");
        let other = body(&Answer::Received(Callback::Denied {
            error: "server_error".into(),
            description: None,
        }));
        assert!(other.contains("Atlassian answered server_error"), "{other}");
    }
}
