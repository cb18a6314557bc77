//! Judging one request against the redirect we wait for, once hyper has read its head. Only
//! the method and the target matter; judging is pure so it can be tested without sockets.

use hyper::{Method, Uri};
use url::Url;

use super::target::Callback;
use crate::atlassian::redirect::repeated_parameter;
use crate::atlassian::state::check_state;
use crate::validate::text::{ID_CAP, SENTENCE_CAP, sanitize};

/// What one request amounts to, and so which page the browser gets.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Answer {
    /// The redirect we wait for: right path, right state. Ends the wait.
    Received(Callback),
    /// Another path (a favicon, a stray tab): 404, keep waiting.
    NotFound,
    /// Right path, `code` or `state` given twice: the address was altered. 400, keep waiting.
    Repeated { parameter: &'static str },
    /// Right path, wrong or missing state: a stale or forged link. 400, keep waiting.
    StateMismatch,
    /// Right path and state but neither `code` nor `error`: 400, keep waiting.
    Incomplete,
    /// Anything but GET: 405, keep waiting.
    MethodNotAllowed,
    /// A target that is neither a path nor an `http://` URL (`*`, `host:port`): 400.
    Malformed,
}

/// Judges a request's method and target against the path and state of this attempt.
pub(crate) fn judge(
    method: &Method,
    target: &Uri,
    expected_path: &str,
    expected_state: &str,
) -> Answer {
    if method != Method::GET {
        return Answer::MethodNotAllowed;
    }
    let Some(url) = target_url(target) else {
        return Answer::Malformed;
    };
    if url.path() != expected_path {
        return Answer::NotFound;
    }
    let query = url.query().unwrap_or_default();
    let parameters = match Parameters::read(query) {
        Ok(parameters) => parameters,
        Err(parameter) => return Answer::Repeated { parameter },
    };
    if check_state(expected_state, parameters.state.as_deref()).is_err() {
        return Answer::StateMismatch;
    }
    match parameters.callback() {
        Some(callback) => Answer::Received(callback),
        None => Answer::Incomplete,
    }
}

/// The parameters of a redirect's query that matter, each read once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Parameters {
    pub state: Option<String>,
    pub code: Option<String>,
    pub error: Option<String>,
    pub description: Option<String>,
}

impl Parameters {
    /// `Err` names a `code` or `state` given twice: an altered address.
    pub fn read(query: &str) -> Result<Parameters, &'static str> {
        if let Some(parameter) = repeated_parameter(query) {
            return Err(parameter);
        }
        let mut found = Parameters::default();
        for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
            let slot = match name.as_ref() {
                "state" => &mut found.state,
                "code" => &mut found.code,
                "error" => &mut found.error,
                "error_description" => &mut found.description,
                _ => continue,
            };
            slot.get_or_insert_with(|| value.into_owned());
        }
        Ok(found)
    }

    /// What the redirect says, once its state is judged: a code, an error answer (texts
    /// sanitized), or neither (`None`).
    pub fn callback(self) -> Option<Callback> {
        if let Some(error) = self.error {
            let description = self
                .description
                .map(|text| sanitize(&text, SENTENCE_CAP))
                .filter(|text| !text.is_empty());
            return Some(Callback::Denied {
                error: sanitize(&error, ID_CAP),
                description,
            });
        }
        self.code
            .filter(|code| !code.is_empty())
            .map(Callback::Code)
    }
}

/// The target as a URL, so its path is normalized exactly like the callback URL's was.
pub(crate) fn target_url(target: &Uri) -> Option<Url> {
    match (target.scheme_str(), target.path_and_query()) {
        // The host is a placeholder: only the path and the query are compared.
        (None, Some(origin)) if origin.as_str().starts_with('/') => {
            Url::parse(&format!("http://loopback{origin}")).ok()
        }
        (Some("http"), Some(_)) => Url::parse(&target.to_string()).ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATH: &str = "/callback";
    const STATE: &str = "s3cr3t-state";

    fn get(target: &str) -> Answer {
        let uri: Uri = target
            .parse()
            .unwrap_or_else(|_| panic!("{target} is a URI"));
        judge(&Method::GET, &uri, PATH, STATE)
    }

    #[test]
    fn the_right_redirect_is_received() {
        assert_eq!(
            get("/callback?code=abc&state=s3cr3t-state"),
            Answer::Received(Callback::Code("abc".into()))
        );
    }

    #[test]
    fn query_values_are_decoded() {
        assert_eq!(
            get("/callback?state=s3cr3t%2Dstate&code=a%2Fb+c"),
            Answer::Received(Callback::Code("a/b c".into()))
        );
    }

    #[test]
    fn absolute_form_targets_are_accepted() {
        assert_eq!(
            get("http://localhost:8080/callback?code=abc&state=s3cr3t-state"),
            Answer::Received(Callback::Code("abc".into()))
        );
    }

    #[test]
    fn a_declined_consent_is_received_sanitized() {
        assert_eq!(
            get(
                "/callback?error=access_denied&error_description=User%20said%20%1B%5B31mno&state=s3cr3t-state"
            ),
            Answer::Received(Callback::Denied {
                error: "access_denied".into(),
                description: Some("User said no".into()),
            })
        );
        assert_eq!(
            get("/callback?error=access_denied&error_description=&state=s3cr3t-state"),
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
            ("callback:8080", Answer::Malformed),
            ("https://localhost/callback?code=abc", Answer::Malformed),
        ];
        for (target, expected) in cases {
            assert_eq!(get(target), expected, "{target}");
        }
    }

    #[test]
    fn a_repeated_code_or_state_is_refused() {
        let cases = [
            ("/callback?code=a&code=b&state=s3cr3t-state", "code"),
            ("/callback?code=a&code=a&state=s3cr3t-state", "code"),
            (
                "/callback?code=a&state=s3cr3t-state&state=s3cr3t-state",
                "state",
            ),
            ("/callback?state=forged&code=a&state=s3cr3t-state", "state"),
            // Names are compared decoded, as the parameters are read.
            ("/callback?code=a&co%64e=b&state=s3cr3t-state", "code"),
            ("/callback?error=x&state=s3cr3t-state&state=y", "state"),
        ];
        for (target, parameter) in cases {
            assert_eq!(get(target), Answer::Repeated { parameter }, "{target}");
        }
        // Other parameters may repeat: they do not decide whose redirect it is.
        assert_eq!(
            get("/callback?code=abc&state=s3cr3t-state&extra=1&extra=2"),
            Answer::Received(Callback::Code("abc".into()))
        );
    }

    #[test]
    fn only_get_is_served() {
        let uri: Uri = "/callback?code=abc&state=s3cr3t-state".parse().unwrap();
        for method in [Method::POST, Method::HEAD, Method::PUT] {
            assert_eq!(
                judge(&method, &uri, PATH, STATE),
                Answer::MethodNotAllowed,
                "{method}"
            );
        }
    }
}
