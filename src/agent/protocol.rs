//! What travels on the agent's socket: length-delimited frames (a 4-byte big-endian length,
//! then JSON). The hello frames and the `stop` request are frozen: every build, whatever its
//! protocol version, reads them the same way, so a client can always ask an agent of another
//! build to make way. One reply carries raw bytes after its JSON, in the same frame
//! ([`StatusJson`]): text a client passes through untouched need not be escaped, parsed and
//! printed again.

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use tokio_util::codec::LengthDelimitedCodec;

use crate::exit::{Exit, Exits};

use crate::domain::{Integration, Mode, Site};
use crate::service::setup::SetupPlan;
use crate::service::status::StatusReport;
use crate::service::system_app::SystemAppInfo;

/// Bumped whenever a request or reply changes shape.
pub const PROTOCOL_VERSION: u32 = 4;

/// Larger frames are refused: the biggest honest one is `status --json`'s text of many
/// thousand token sets (about 750 bytes each: 10,000 take 7.5 MB), well under this.
pub const MAX_FRAME: usize = 64 * 1024 * 1024;

pub fn codec() -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .max_frame_length(MAX_FRAME)
        .new_codec()
}

/// Which binary a process runs: two processes of one build agree on everything.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Build {
    pub version: String,
    /// The executable's modification time (nanoseconds since the epoch): it tells builds of
    /// one version apart, and a newer binary from an older one.
    // u64, not u128: serde's internally tagged enums cannot buffer 128-bit integers.
    pub stamp: u64,
}

impl Build {
    pub fn current() -> Build {
        let stamp = std::env::current_exe()
            .and_then(std::fs::metadata)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        Build {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            stamp,
        }
    }
}

/// The agent's first frame on every connection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentHello {
    pub protocol: u32,
    pub build: Build,
    pub pid: u32,
}

/// What the client and the agent must agree on: the same key and the same Atlassian. A
/// client configured otherwise is told so rather than silently served by the wrong agent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentConfig {
    pub key_file: String,
    pub auth_base: String,
    pub api_base: String,
    pub system_app: String,
    /// The store, as shown ([`crate::store::Backend::describe`]: no password); a client of a
    /// build before shared stores says nothing, and means sled.
    #[serde(default = "sled")]
    pub store: String,
}

fn sled() -> String {
    "sled".to_owned()
}

/// The client's first frame.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientHello {
    pub protocol: u32,
    pub build: Build,
    pub config: AgentConfig,
}

/// A request with the id its reply will carry.
#[derive(Debug, Serialize, Deserialize)]
pub struct ClientFrame {
    pub id: u64,
    pub request: Request,
}

/// Everything a client can ask. Clients say what they want; the use cases run in the agent.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Request {
    /// Frozen: the first request on every connection.
    Hello(ClientHello),
    /// Frozen: finish what is in flight, release the store and exit.
    Stop,
    /// Copy every record into another store (`sled:DIR`, `sled`, or a PostgreSQL
    /// connection string), check each, and mark this one moved.
    CopyStore { to: String, force: bool },
    /// Pid, build, uptime and clients of the agent.
    AgentStatus,
    /// Send `AgentFrame::Changed` on this connection whenever the store changes.
    Subscribe,
    /// Every integration, token health and profile (no secret).
    Status,
    /// The same report as the exact text `status --json` prints ([`StatusJson`]).
    StatusJson,
    /// What may be shown of this host's system app, or why there is none.
    SystemApp,
    /// Check and save a new profile.
    AddProfile { draft: DraftWire },
    /// Check and save an edited profile over `original`; an empty secret with
    /// `keep_secret` keeps the stored one.
    ReplaceProfile {
        original: String,
        draft: DraftWire,
        keep_secret: bool,
    },
    /// A stored profile for the edit form, without its secret.
    OpenProfile { name: String },
    /// The client secret of a profile: only for the form's explicit reveal key.
    RevealSecret { name: String },
    /// Delete a profile unless an integration uses it.
    RemoveProfile { name: String },
    /// Configure an integration.
    Setup { plan: SetupPlan },
    /// Begin an authorization attempt; with `listen`, bind the loopback listener too.
    Prepare {
        integration: String,
        user: Option<String>,
        listen: bool,
    },
    /// Wait until the loopback listener brings the attempt's code back.
    AwaitCallback { attempt: String },
    /// Take the pasted redirect (or bare code) as the attempt's code, once its state is
    /// checked; the listener stops.
    Redeem { attempt: String, pasted: String },
    /// Trade the attempt's code (from the listener or a paste) for tokens; also the retry
    /// after a temporary failure.
    Exchange { attempt: String },
    /// Verify on the chosen site (cloud id), store the token set and enable.
    Finish { attempt: String, site: String },
    /// Drop the attempt: stop its listener and any call in flight.
    Cancel { attempt: String },
    /// An access token with at least `min_valid` seconds left, refreshed first if needed.
    Token {
        integration: String,
        user: Option<String>,
        min_valid: i64,
    },
    /// Refresh now: one grant (`principal` given), one integration's grants, or every
    /// grant with `integration` `None`.
    Refresh {
        integration: Option<String>,
        #[serde(default)]
        principal: Option<String>,
    },
    /// The newest `limit` audit events, newest first.
    Events { limit: usize },
    /// Delete one token set (the user revokes the grant on Atlassian's side).
    DeleteTokens {
        integration: String,
        principal: String,
    },
    /// Hand an end user a personal authorization link, valid for `ttl_secs`.
    Link {
        integration: String,
        user: String,
        ttl_secs: i64,
    },
    /// Wait until the link `handle` names is authorized, declined, failed or expired.
    AwaitLink { handle: String },
    /// A request the receiver got: its path and raw query. The agent judges it all.
    Callback { path: String, query: String },
}

/// The agent's frames.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "frame", rename_all = "snake_case")]
pub enum AgentFrame {
    /// Frozen: the first frame on every connection.
    Hello(AgentHello),
    /// The answer to request `id`.
    Reply {
        id: u64,
        result: Result<Reply, WireError>,
    },
    /// The store changed (another process saved, refreshed or deleted something).
    Changed,
    /// The connection is refused and about to close; the sentence says why.
    Refused { sentence: String },
}

/// Successful answers.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reply {
    Ok,
    /// The answer to a hello: what opening the store fixed, said to the first client only.
    Welcome {
        notes: Vec<String>,
    },
    AgentStatus(AgentInfo),
    Status(StatusReport),
    StatusJson(StatusJson),
    SystemApp(Result<SystemAppInfo, String>),
    ProfileSaved {
        name: String,
        callback_url: String,
        /// Warnings and notices that did not stop the save, one sentence each.
        remarks: Vec<String>,
    },
    Profile {
        draft: DraftWire,
        has_secret: bool,
    },
    Secret {
        value: String,
    },
    Configured {
        integration: Integration,
        removed_tokens: usize,
    },
    Prepared(AttemptView),
    CodeArrived,
    Sites {
        sites: Vec<Site>,
    },
    Authorized {
        sentence: String,
    },
    Token(TokenReply),
    Refreshed {
        results: Vec<RefreshResult>,
    },
    Events {
        events: Vec<crate::domain::Event>,
        /// How far back the trail goes; absent from an agent older than this field.
        #[serde(default)]
        trail: Option<EventTrail>,
    },
    Link(LinkView),
    /// The link was authorized; the sentence says as whom and where.
    LinkDone {
        sentence: String,
    },
    /// The page the receiver answers a callback with.
    Page(ReceiverPage),
    /// Every record copied to `target` and read back; this store is marked moved.
    StoreCopied {
        copied: crate::service::copy::Copied,
        target: String,
    },
}

/// The status report as `status --json` prints it, and what its exit code needs. The text
/// travels raw after the reply's JSON in the same frame (see [`encode_agent_frame`]): with
/// 10,000 users it is megabytes, which a client would otherwise parse and print again.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusJson {
    /// Some grant can only be revived by a new consent (`status` exits 3).
    pub needs_reauthorization: bool,
    /// The disk is full or a grant is held unsaved (`status` exits 4).
    pub needs_room: bool,
    /// Pretty JSON and its final newline, byte for byte what `status --json` prints.
    #[serde(skip)]
    pub text: Bytes,
}

impl StatusJson {
    pub fn of(report: &StatusReport) -> StatusJson {
        StatusJson {
            needs_reauthorization: report.needs_reauthorization(),
            needs_room: report.needs_room(),
            text: Bytes::from(report.json_text()),
        }
    }
}

impl AgentFrame {
    /// The raw bytes this frame carries after its JSON.
    fn tail(&self) -> Option<&Bytes> {
        match self {
            AgentFrame::Reply {
                result: Ok(Reply::StatusJson(status)),
                ..
            } => Some(&status.text),
            _ => None,
        }
    }
}

/// An agent frame's bytes: its JSON, then the raw tail of the one reply that has one.
pub fn encode_agent_frame(frame: &AgentFrame) -> Bytes {
    // Plain data with string keys: serializing cannot fail.
    let mut bytes =
        serde_json::to_vec(frame).unwrap_or_else(|e| unreachable!("frames serialize: {e}"));
    if let Some(tail) = frame.tail() {
        bytes.extend_from_slice(tail);
    }
    Bytes::from(bytes)
}

/// An agent frame read back: one JSON value, then (for [`StatusJson`] only) the raw tail.
/// Bytes after any other frame's JSON are an error, as a plain JSON read would say.
pub fn decode_agent_frame(bytes: &Bytes) -> Result<AgentFrame, serde_json::Error> {
    let mut values = serde_json::Deserializer::from_slice(bytes).into_iter::<AgentFrame>();
    let Some(frame) = values.next() else {
        // An empty frame: the error a plain read gives it.
        return serde_json::from_slice::<AgentFrame>(bytes);
    };
    let mut frame = frame?;
    let rest = bytes.slice(values.byte_offset()..);
    match &mut frame {
        AgentFrame::Reply {
            result: Ok(Reply::StatusJson(status)),
            ..
        } => status.text = rest,
        // Whitespace after the JSON is still JSON; anything else is not this protocol.
        _ if rest.iter().all(u8::is_ascii_whitespace) => {}
        _ => return serde_json::from_slice::<AgentFrame>(bytes),
    }
    Ok(frame)
}

/// How far back the audit trail goes: what the agent keeps, and its oldest kept event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventTrail {
    /// Events older than this many seconds are trimmed.
    pub keep_secs: u64,
    /// At most this many events are kept.
    pub max_events: u64,
    /// When the oldest kept event happened; `None` while the trail is empty.
    pub oldest: Option<crate::domain::Timestamp>,
}

/// A link handed out. `handle` names it for `AwaitLink`; unlike the state in the URL, it
/// cannot complete anything.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkView {
    pub integration: String,
    pub user: String,
    pub url: String,
    pub expires_at: crate::domain::Timestamp,
    pub handle: String,
}

/// What the end user's browser is told about their callback.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "page", rename_all = "snake_case")]
pub enum ReceiverPage {
    /// The path is no user-authorized integration's callback.
    NotFound,
    /// Refused before anything reached Atlassian; the sentence says why.
    Refused { sentence: String },
    /// The user declined the consent; nothing was stored.
    Declined { detail: Option<String> },
    /// Atlassian or the store failed after the link was spent.
    Failed { sentence: String, temporary: bool },
    /// The callback is still under way: with `stored`, its tokens are stored and being
    /// verified (the agent finishes by itself); without, Atlassian has not answered yet.
    Completing {
        integration: String,
        user: String,
        stored: bool,
    },
    /// A spent link whose authorization was completed (a reload, a replay).
    AlreadyConnected { integration: String, user: String },
    Authorized {
        integration: String,
        user: String,
        account: String,
        site_name: String,
        site_url: String,
    },
}

/// What `token` hands a script: the access token (never the refresh token) and where to use it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenReply {
    pub access_token: String,
    pub expires_at: crate::domain::Timestamp,
    pub site: Option<Site>,
    /// Why the token came from the agent's memory (the store could not be reached), for
    /// stderr: never part of what a script reads on stdout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One grant's outcome of a forced refresh: when its new token expires, or why it failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshResult {
    pub integration: String,
    pub principal: String,
    pub outcome: Result<crate::domain::Timestamp, WireError>,
}

/// A request that did not go through: the sentence a human reads and DESIGN.md's exit code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{sentence}")]
pub struct WireError {
    pub code: Exit,
    pub sentence: String,
}

/// Every error crosses the wire as its sentence and its exit code, converted here once.
impl<E: Exits> From<E> for WireError {
    fn from(error: E) -> WireError {
        WireError::new(error.exit(), error.to_string())
    }
}

impl WireError {
    pub fn new(code: Exit, sentence: impl Into<String>) -> WireError {
        WireError {
            code,
            sentence: sentence.into(),
        }
    }

    /// Network trouble, a 5xx, a busy store: the same request may work later.
    pub fn is_temporary(&self) -> bool {
        self.code.is_temporary()
    }
}

/// What `agent status` shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentInfo {
    pub pid: u32,
    pub version: String,
    pub protocol: u32,
    pub uptime_secs: u64,
    /// Connected clients, this one included.
    pub clients: usize,
    pub data_dir: String,
    /// Started on demand: exits after this many idle seconds. `None`: stays until stopped.
    pub idle_exit_secs: Option<u64>,
}

/// A profile draft on the wire. The secret travels only from a client that typed it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DraftWire {
    pub name: String,
    pub client_id: String,
    pub client_secret: String,
    pub callback_url: String,
    pub authorization_url: String,
    pub token_url: String,
    pub refresh_url: String,
    pub scopes: String,
}

impl DraftWire {
    pub fn of(draft: &crate::service::draft::ProfileDraft) -> DraftWire {
        DraftWire {
            name: draft.name.clone(),
            client_id: draft.client_id.clone(),
            client_secret: draft.client_secret.expose().to_owned(),
            callback_url: draft.callback_url.clone(),
            authorization_url: draft.authorization_url.clone(),
            token_url: draft.token_url.clone(),
            refresh_url: draft.refresh_url.clone(),
            scopes: draft.scopes.clone(),
        }
    }

    pub fn into_draft(self) -> crate::service::draft::ProfileDraft {
        crate::service::draft::ProfileDraft {
            name: self.name,
            client_id: self.client_id,
            client_secret: crate::domain::Secret::new(self.client_secret),
            callback_url: self.callback_url,
            authorization_url: self.authorization_url,
            token_url: self.token_url,
            refresh_url: self.refresh_url,
            scopes: self.scopes,
        }
    }
}

/// What a client may know of an authorization attempt: the URL to open, never the app's
/// secret or the tokens to come.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptView {
    /// The handle for the attempt's later requests (not its OAuth state).
    pub id: String,
    pub integration: String,
    pub mode: Mode,
    /// `admin` or `user:ID`.
    pub principal: String,
    /// "the system app \"Acme\"" or "the profile \"acme\"".
    pub app_label: String,
    pub url: String,
    pub callback_url: String,
    /// True when a token for this principal exists already.
    pub renewing: bool,
    pub listener: ListenerView,
}

/// The loopback listener of an attempt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ListenerView {
    /// Not asked for, or the callback URL is not on this machine: only paste works.
    NotApplicable,
    Listening {
        port: u16,
    },
    /// It could not start; the sentence says why (pasting still works).
    Failed {
        sentence: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_frozen_frames_keep_their_shape() {
        let stop = serde_json::to_string(&ClientFrame {
            id: 7,
            request: Request::Stop,
        })
        .unwrap();
        assert_eq!(stop, r#"{"id":7,"request":{"kind":"stop"}}"#);
        let hello = serde_json::to_value(AgentFrame::Hello(AgentHello {
            protocol: 1,
            build: Build {
                version: "0.1.0".into(),
                stamp: 5,
            },
            pid: 42,
        }))
        .unwrap();
        assert_eq!(
            hello,
            serde_json::json!({"frame":"hello","protocol":1,"build":{"version":"0.1.0","stamp":5},"pid":42})
        );
    }

    #[test]
    fn the_events_reply_reads_with_and_without_its_trail() {
        // An agent older than the trail answers without it.
        let old: Reply =
            serde_json::from_str(r#"{"kind":"events","events":[]}"#).expect("an old reply");
        assert!(matches!(old, Reply::Events { events, trail: None } if events.is_empty()));
        let trail = EventTrail {
            keep_secs: 90 * 86_400,
            max_events: 100_000,
            oldest: Some(crate::domain::Timestamp(1_788_480_000)),
        };
        let text = serde_json::to_string(&Reply::Events {
            events: Vec::new(),
            trail: Some(trail.clone()),
        })
        .unwrap();
        let back: Reply = serde_json::from_str(&text).unwrap();
        assert!(
            matches!(back, Reply::Events { trail: Some(t), .. } if t == trail),
            "{text}"
        );
    }

    #[test]
    fn a_real_hello_parses_back() {
        let hello = AgentFrame::Hello(AgentHello {
            protocol: PROTOCOL_VERSION,
            build: Build::current(),
            pid: 1,
        });
        let bytes = serde_json::to_vec(&hello).unwrap();
        assert!(matches!(
            serde_json::from_slice::<AgentFrame>(&bytes),
            Ok(AgentFrame::Hello(_))
        ));
    }

    #[test]
    fn the_status_text_travels_raw_after_its_reply() {
        let status = StatusJson {
            needs_reauthorization: true,
            needs_room: false,
            text: Bytes::from_static(b"{\n  \"integrations\": []\n}\n"),
        };
        let frame = AgentFrame::Reply {
            id: 9,
            result: Ok(Reply::StatusJson(status.clone())),
        };
        let bytes = encode_agent_frame(&frame);
        // The text is not escaped into the JSON: it follows it as it is.
        assert!(
            bytes.ends_with(b"}{\n  \"integrations\": []\n}\n"),
            "{bytes:?}"
        );
        match decode_agent_frame(&bytes).expect("reads back") {
            AgentFrame::Reply {
                id: 9,
                result: Ok(Reply::StatusJson(back)),
            } => assert_eq!(back, status),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn only_the_status_text_may_follow_a_frame() {
        let plain = encode_agent_frame(&AgentFrame::Changed);
        assert!(matches!(
            decode_agent_frame(&plain),
            Ok(AgentFrame::Changed)
        ));
        let mut trailing = plain.to_vec();
        trailing.extend_from_slice(b"{\"frame\":\"changed\"}");
        assert!(decode_agent_frame(&Bytes::from(trailing)).is_err());
        assert!(decode_agent_frame(&Bytes::new()).is_err());
    }

    #[test]
    fn an_unknown_request_does_not_parse() {
        let unknown = r#"{"id":1,"request":{"kind":"format_disk"}}"#;
        assert!(serde_json::from_str::<ClientFrame>(unknown).is_err());
    }
}
