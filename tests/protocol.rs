//! The protocol client against the fake Atlassian over real loopback HTTP: form-encoded token
//! calls, rotation, reuse killing the family, and every error class.

mod common;
mod support;

use jira_auth::exit::{Exit, Exits};
use std::time::Duration;

use jira_auth::atlassian::authorize::{AuthorizeRequest, authorization_url, new_state};
use jira_auth::atlassian::client::{self, AppCredentials};
use jira_auth::atlassian::errors::ProtocolError;
use jira_auth::atlassian::redirect::parse_redirect;
use jira_auth::atlassian::{Endpoints, resources};
use jira_auth::domain::Secret;
use support::fake_atlassian::*;

const CALLBACK: &str = "http://localhost:8717/callback";

fn setup(fake: &FakeAtlassian, secret: &str) -> (Endpoints, AppCredentials) {
    let endpoints = Endpoints::from_overrides(Some(&fake.auth_url()), Some(&fake.api_url()));
    let app = AppCredentials {
        client_id: CLIENT_ID.into(),
        client_secret: Secret::new(secret),
        token_url: endpoints.token_url(),
        refresh_url: endpoints.token_url(),
    };
    (endpoints, app)
}

/// Consents in the fake "browser" and returns the code.
fn code(fake: &FakeAtlassian, endpoints: &Endpoints, scopes: &[&str]) -> String {
    let state = new_state();
    let url = authorization_url(
        endpoints,
        &AuthorizeRequest {
            client_id: CLIENT_ID.into(),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            redirect_uri: CALLBACK.into(),
            state: state.clone(),
        },
    );
    parse_redirect(&fake.consent(url.as_str()), &state).expect("a code")
}

#[tokio::test]
async fn exchange_rotate_and_reuse_kills_the_family() {
    let fake = FakeAtlassian::start(CALLBACK);
    let (endpoints, app) = setup(&fake, CLIENT_SECRET);
    let http = client::http_client();
    let code = code(&fake, &endpoints, &["read:jira-work", "offline_access"]);
    let grant = client::exchange_code(&http, &app, &code, CALLBACK)
        .await
        .unwrap();
    assert_eq!(grant.expires_in, Some(3600));
    assert_eq!(grant.scopes, ["read:jira-work", "offline_access"]);
    let first = grant
        .refresh_token
        .clone()
        .expect("offline_access brings a refresh token");
    assert_eq!(
        fake.token_requests()[0],
        (
            "authorization_code".to_owned(),
            "application/x-www-form-urlencoded".to_owned()
        )
    );

    let again = client::exchange_code(&http, &app, &code, CALLBACK)
        .await
        .unwrap_err();
    assert!(
        matches!(again, ProtocolError::CodeRefused { .. }),
        "codes are single use: {again:?}"
    );

    let rotated = client::refresh(&http, &app, &first).await.unwrap();
    let second = rotated.refresh_token.expect("every refresh rotates");
    assert_ne!(second.expose(), first.expose());

    fake.set_leeway(Duration::ZERO);
    let reused = client::refresh(&http, &app, &first).await.unwrap_err();
    assert!(matches!(reused, ProtocolError::RefreshRefused { .. }));
    assert_eq!(reused.exit(), Exit::Reauthorize);
    let killed = client::refresh(&http, &app, &second).await.unwrap_err();
    assert!(
        matches!(killed, ProtocolError::RefreshRefused { .. }),
        "reuse killed the whole family"
    );
}

#[tokio::test]
async fn reuse_within_the_leeway_is_tolerated() {
    let fake = FakeAtlassian::start(CALLBACK);
    let (endpoints, app) = setup(&fake, CLIENT_SECRET);
    let http = client::http_client();
    let code = code(&fake, &endpoints, &["read:jira-work", "offline_access"]);
    let first = client::exchange_code(&http, &app, &code, CALLBACK)
        .await
        .unwrap()
        .refresh_token
        .unwrap();
    client::refresh(&http, &app, &first).await.unwrap();
    client::refresh(&http, &app, &first)
        .await
        .expect("within 10 minutes a retry is fine");
}

#[tokio::test]
async fn without_offline_access_there_is_no_refresh_token() {
    let fake = FakeAtlassian::start(CALLBACK);
    let (endpoints, app) = setup(&fake, CLIENT_SECRET);
    let code = code(&fake, &endpoints, &["read:jira-work"]);
    let grant = client::exchange_code(&client::http_client(), &app, &code, CALLBACK)
        .await
        .unwrap();
    assert!(grant.refresh_token.is_none());
}

#[tokio::test]
async fn each_error_class() {
    let fake = FakeAtlassian::start(CALLBACK);
    let (endpoints, bad_app) = setup(&fake, "wrong-secret");
    let http = client::http_client();
    let code1 = code(&fake, &endpoints, &["read:jira-work"]);
    let error = client::exchange_code(&http, &bad_app, &code1, CALLBACK)
        .await
        .unwrap_err();
    assert_eq!(error, ProtocolError::BadClientSecret);
    assert!(error.to_string().contains("step v"));

    let (_, app) = setup(&fake, CLIENT_SECRET);
    let code2 = code(&fake, &endpoints, &["read:jira-work"]);
    let error = client::exchange_code(&http, &app, &code2, "http://localhost:9999/other")
        .await
        .unwrap_err();
    assert!(
        matches!(error, ProtocolError::CodeRefused { .. }) && error.to_string().contains("step vi")
    );

    fake.fail_next(Endpoint::Token, Fault::ServerError, 1);
    let error = client::exchange_code(&http, &app, &code2, CALLBACK)
        .await
        .unwrap_err();
    assert!(
        matches!(error, ProtocolError::Server { status: 500, .. }) && error.is_temporary(),
        "{error:?}"
    );

    fake.fail_next(Endpoint::Token, Fault::Garbage, 1);
    let error = client::exchange_code(&http, &app, &code2, CALLBACK)
        .await
        .unwrap_err();
    assert!(
        matches!(error, ProtocolError::Unexpected { status: 200, .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("this is not json"));

    fake.fail_next(Endpoint::Token, Fault::EvilDescription, 1);
    let error = client::exchange_code(&http, &app, &code2, CALLBACK)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("EVIL") && !error.contains('\u{1b}') && !error.contains('\u{7}'),
        "{error:?}"
    );

    let grant = client::exchange_code(&http, &app, &code2, CALLBACK)
        .await
        .expect("the code survived every fault");
    assert!(!grant.access_token.is_empty());
    fake.fail_next(Endpoint::Token, Fault::Slow(Duration::from_millis(800)), 1);
    let impatient =
        client::http_client_with(Duration::from_millis(200), Duration::from_millis(200));
    let error = client::exchange_code(
        &impatient,
        &app,
        &code(&fake, &endpoints, &["read:jira-work"]),
        CALLBACK,
    )
    .await
    .unwrap_err();
    // The form reached the fake, which went on to spend the code: no "nothing was lost".
    assert!(
        matches!(error, ProtocolError::NoAnswer { .. })
            && error.exit() == Exit::Temporary
            && !error.to_string().contains("nothing was lost"),
        "{error:?}"
    );
}

#[tokio::test]
async fn sites_and_myself() {
    let fake = FakeAtlassian::start(CALLBACK);
    let (endpoints, app) = setup(&fake, CLIENT_SECRET);
    let http = client::http_client();
    let code = code(&fake, &endpoints, &["read:jira-work"]);
    let token = client::exchange_code(&http, &app, &code, CALLBACK)
        .await
        .unwrap()
        .access_token;
    let found = resources::accessible_resources(&http, &endpoints, &token)
        .await
        .unwrap();
    let sites = resources::jira_sites(&found);
    assert_eq!(sites.len(), 1);
    let me = resources::myself(&http, &endpoints, &token, &sites[0].id)
        .await
        .unwrap();
    assert_eq!(me.display_name, "Ada Admin");
    assert_eq!(
        resources::myself(&http, &endpoints, &token, "nope")
            .await
            .unwrap_err(),
        ProtocolError::SiteNotFound
    );
    assert_eq!(
        resources::myself(&http, &endpoints, &Secret::new("forged"), &sites[0].id)
            .await
            .unwrap_err(),
        ProtocolError::ApiUnauthorized
    );
    fake.set_sites(vec![
        FakeSite::jira("1", "acme"),
        FakeSite::jira("2", "beta"),
    ]);
    let found = resources::accessible_resources(&http, &endpoints, &token)
        .await
        .unwrap();
    assert_eq!(resources::jira_sites(&found).len(), 2);
    fake.set_sites(vec![]);
    assert!(
        resources::accessible_resources(&http, &endpoints, &token)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(fake.count(Endpoint::Resources), 3);
}

#[test]
fn declined_consent_comes_back_as_access_denied() {
    let fake = FakeAtlassian::start(CALLBACK);
    let (endpoints, _) = setup(&fake, CLIENT_SECRET);
    fake.set_decline(true);
    let state = new_state();
    let url = authorization_url(
        &endpoints,
        &AuthorizeRequest {
            client_id: CLIENT_ID.into(),
            scopes: vec!["read:jira-work".into()],
            redirect_uri: CALLBACK.into(),
            state: state.clone(),
        },
    );
    let error = parse_redirect(&fake.consent(url.as_str()), &state).unwrap_err();
    assert!(error.to_string().contains("declined"), "{error}");
}
