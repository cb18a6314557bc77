//! What an end user's browser reads: one plain page per outcome, every text escaped (a user
//! id or a site name is text from outside), nothing loaded, nothing redirected.

use hyper::header::{CONNECTION, HeaderValue, RETRY_AFTER};
use hyper::{Response, StatusCode};

use crate::agent::protocol::ReceiverPage;
use crate::callback::page;

pub fn of(answer: &ReceiverPage) -> Response<String> {
    match answer {
        ReceiverPage::NotFound => not_found(),
        ReceiverPage::Refused { sentence } => page(
            StatusCode::BAD_REQUEST,
            "Link not accepted",
            &[sentence.clone(), "Nothing was stored.".to_owned()],
        ),
        ReceiverPage::Declined { detail } => page(
            StatusCode::OK,
            "Authorization not granted",
            &[
                match detail {
                    Some(detail) => format!("You declined the consent ({detail})."),
                    None => "You declined the consent.".to_owned(),
                },
                "Nothing was stored. To connect Jira later, ask for a new link.".to_owned(),
            ],
        ),
        ReceiverPage::Failed {
            sentence,
            temporary,
        } => page(
            if *temporary {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::BAD_GATEWAY
            },
            "Authorization not completed",
            &[
                sentence.clone(),
                "Ask for a new link and try again; each link works once.".to_owned(),
            ],
        ),
        ReceiverPage::Completing {
            integration,
            user,
            stored: true,
        } => page(
            StatusCode::ACCEPTED,
            "Jira is being connected",
            &[
                format!(
                    "Your consent reached jira-auth and is stored: {integration} is completing the authorization for user {user} by itself."
                ),
                "You can close this tab; reload it in a minute to see the result. Your link is spent, so do not ask for a new one unless the result says so.".to_owned(),
            ],
        ),
        ReceiverPage::Completing {
            integration,
            user,
            stored: false,
        } => page(
            StatusCode::ACCEPTED,
            "Still waiting for Atlassian",
            &[
                format!(
                    "jira-auth is still waiting for Atlassian to answer for {integration}, user {user}."
                ),
                "Reload this page in a minute to see the result; your link is spent, so do not ask for a new one unless the result says so.".to_owned(),
            ],
        ),
        ReceiverPage::AlreadyConnected { integration, user } => page(
            StatusCode::BAD_REQUEST,
            "Link already used",
            &[
                format!(
                    "This link has been used already: it connected {integration} to Jira for user {user}, and that authorization is complete."
                ),
                "Each link works once; there is nothing more to do, and you can close this tab.".to_owned(),
            ],
        ),
        ReceiverPage::Authorized {
            integration,
            user,
            account,
            site_name,
            site_url,
        } => page(
            StatusCode::OK,
            "Jira is connected",
            &[
                format!(
                    "{integration} can now use Jira on {site_name} ({site_url}) as {account}, for user {user}."
                ),
                "You can close this tab.".to_owned(),
            ],
        ),
    }
}

/// The agent went away while answering a callback (killed, stopped): this process cannot
/// know whether the link was spent, but the next answer to the same address will say.
pub fn agent_lost() -> Response<String> {
    page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Try again shortly",
        &[
            "jira-auth stopped before it could answer.".to_owned(),
            "Reload this page in a minute: it will say whether your authorization was stored, is being completed, or needs a new link.".to_owned(),
        ],
    )
}

pub fn not_found() -> Response<String> {
    page(
        StatusCode::NOT_FOUND,
        "Not found",
        &["Nothing here.".to_owned()],
    )
}

pub fn plain(status: StatusCode, title: &str, sentence: &str) -> Response<String> {
    page(status, title, &[sentence.to_owned()])
}

pub fn too_many(retry_after_secs: u64) -> Response<String> {
    let mut response = plain(
        StatusCode::TOO_MANY_REQUESTS,
        "Too many requests",
        "Too many requests from your address; wait a minute and try again.",
    );
    if let Ok(value) = HeaderValue::from_str(&retry_after_secs.to_string()) {
        response.headers_mut().insert(RETRY_AFTER, value);
    }
    // A client over its allowance keeps no connection open either.
    response
        .headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_text_is_escaped_and_no_secret_is_echoed() {
        let page = of(&ReceiverPage::Authorized {
            integration: "support".into(),
            user: "<script>alert(1)</script>".into(),
            account: "Ada & <b>Co</b>".into(),
            site_name: "acme".into(),
            site_url: "https://acme.atlassian.net".into(),
        });
        assert_eq!(page.status(), StatusCode::OK);
        let body = page.into_body();
        assert!(
            body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{body}"
        );
        assert!(body.contains("Ada &amp; &lt;b&gt;Co&lt;/b&gt;"), "{body}");
        assert!(
            !body.contains("<script>") && !body.contains("<b>"),
            "{body}"
        );
    }

    #[test]
    fn a_page_after_an_interruption_never_offers_a_spent_link_again() {
        let completing = of(&ReceiverPage::Completing {
            integration: "support".into(),
            user: "alice".into(),
            stored: true,
        })
        .into_body();
        assert!(
            completing.contains("is stored") && completing.contains("link is spent"),
            "{completing}"
        );
        let lost = agent_lost().into_body();
        assert!(
            lost.contains("Reload this page") && !lost.contains("try the link again"),
            "{lost}"
        );
    }

    #[test]
    fn each_outcome_has_its_status() {
        let cases = [
            (ReceiverPage::NotFound, StatusCode::NOT_FOUND),
            (
                ReceiverPage::Refused {
                    sentence: "used".into(),
                },
                StatusCode::BAD_REQUEST,
            ),
            (ReceiverPage::Declined { detail: None }, StatusCode::OK),
            (
                ReceiverPage::Failed {
                    sentence: "x".into(),
                    temporary: true,
                },
                StatusCode::SERVICE_UNAVAILABLE,
            ),
            (
                ReceiverPage::Failed {
                    sentence: "x".into(),
                    temporary: false,
                },
                StatusCode::BAD_GATEWAY,
            ),
            (
                ReceiverPage::Completing {
                    integration: "support".into(),
                    user: "alice".into(),
                    stored: false,
                },
                StatusCode::ACCEPTED,
            ),
        ];
        for (answer, status) in cases {
            assert_eq!(of(&answer).status(), status, "{answer:?}");
        }
    }
}
