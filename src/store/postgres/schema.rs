//! The tables, versioned. Migrations run when an agent opens the store, under an advisory
//! lock, so agents started at once on four hosts migrate once; a schema newer than this
//! build is refused before anything is read or written.
//!
//! Every record is the same sealed JSON the sled store keeps (`records.rs`); the columns
//! beside it are plain copies of what lists and status need (principal, expiry, site, last
//! refresh), so an admin's SQL and jira-auth's summaries read no secret.

/// The schema this build reads and writes.
pub const VERSION: i32 = 1;

/// `pg_advisory_lock`'s key for migrations: "jira-aut" in ASCII.
pub const MIGRATION_LOCK: i64 = 0x6a69_7261_2d61_7574;

/// The channel change notices travel on.
pub const CHANNEL: &str = "jira_auth_changes";

pub const META: &str = "CREATE TABLE IF NOT EXISTS jira_auth_meta (
    key text PRIMARY KEY,
    value text NOT NULL
)";

/// Migration `n` takes version `n` to `n + 1`.
pub const MIGRATIONS: [&str; 1] = ["
CREATE TABLE profiles (
    name text PRIMARY KEY,
    record bytea NOT NULL
);
CREATE TABLE integrations (
    name text PRIMARY KEY,
    record bytea NOT NULL
);
CREATE TABLE token_sets (
    integration text NOT NULL,
    principal text NOT NULL,
    record bytea NOT NULL,
    access_expires_at bigint NOT NULL,
    consented_at bigint NOT NULL,
    rotated_at bigint NOT NULL,
    has_refresh_token boolean NOT NULL,
    reauthorization_required boolean NOT NULL,
    site_url text,
    last_error text,
    PRIMARY KEY (integration, principal)
);
CREATE TABLE events (
    id bigserial PRIMARY KEY,
    at bigint NOT NULL,
    record bytea NOT NULL
);
CREATE INDEX events_at ON events (at);
CREATE TABLE refreshing (
    integration text NOT NULL,
    principal text NOT NULL,
    started_at bigint NOT NULL,
    PRIMARY KEY (integration, principal)
);
CREATE TABLE links (
    digest text PRIMARY KEY,
    record bytea NOT NULL,
    expires_at bigint NOT NULL
);
CREATE TABLE exchanged (
    integration text NOT NULL,
    principal text NOT NULL,
    id text NOT NULL,
    exchanged_at bigint NOT NULL,
    record bytea NOT NULL,
    PRIMARY KEY (integration, principal)
);
CREATE TABLE keepalive_pace (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    next_at timestamptz NOT NULL
);
CREATE TABLE grant_leases (
    integration text NOT NULL,
    principal text NOT NULL,
    holder text NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (integration, principal)
);
"];

const _: () = assert!(MIGRATIONS.len() == VERSION as usize);
