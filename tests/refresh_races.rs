//! A refresh's outcome lands only on the grant it began from: a new consent given while
//! Atlassian answers the refresh is not overwritten by it. The real agent, the fake Atlassian
//! slowed on the one refresh call.

mod common;
mod support;

use std::time::Duration;

use common::text;
use jira_auth::domain::Principal;
use support::fake_atlassian::*;
use support::world::*;

#[test]
fn a_consent_given_while_a_refresh_is_answered_is_not_overwritten_by_it() {
    let world = World::new();
    world.custom("pre-authorized");
    world.authorize(&[]);
    world
        .fake
        .fail_next(Endpoint::Token, Fault::Slow(Duration::from_secs(3)), 1);
    let refreshing = spawn_piped(world.command(), &["refresh"]);
    wait_for("the refresh reaches Atlassian", SHORT, || {
        world.fake.refresh_requests() == 1
    });
    // The admin authorizes again meanwhile: a new consent, a new grant.
    world.authorize(&[]);
    let consent = world
        .fake
        .exchanges()
        .last()
        .cloned()
        .expect("the new consent");
    let out = refreshing.wait_with_output().expect("refresh");
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("changed while it was being refreshed"),
        "{}",
        text(&out.stderr)
    );
    let stored = world.stored("jira", &Principal::Admin);
    assert_eq!(
        Some(refresh_token_of(&stored)),
        consent.refresh_token,
        "the new consent's grant is what the store holds"
    );
    let token = one_token(&world.run(&["token"]));
    assert_eq!(token, consent.access_token);
}
