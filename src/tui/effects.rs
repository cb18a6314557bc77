//! The effect runner: does what `update` asked for and reports back as `Msg`. Store calls go
//! through `spawn_blocking` since sled blocks. The clipboard stays here, on the loop's
//! thread: one long-lived handle (X11 forgets a copy when its owner goes), and OSC 52 bytes
//! must not interleave with a frame being drawn.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::app::{Effect, Msg, Outcome};
use crate::atlassian::Endpoints;
use crate::clipboard::{Clipboard, ClipboardEnv};
use crate::domain::Timestamp;
use crate::service;
use crate::service::draft::ProfileDraft;
use crate::service::system_app::SystemApp;
use crate::store::Store;

pub struct EffectRunner {
    store: Arc<dyn Store>,
    sender: mpsc::UnboundedSender<Msg>,
    endpoints: Endpoints,
    system_app: Option<Arc<SystemApp>>,
    clipboard: Clipboard,
}

impl EffectRunner {
    pub fn new(
        store: Arc<dyn Store>,
        sender: mpsc::UnboundedSender<Msg>,
        endpoints: Endpoints,
        system_app: Option<SystemApp>,
    ) -> Self {
        EffectRunner {
            store,
            sender,
            endpoints,
            system_app: system_app.map(Arc::new),
            clipboard: Clipboard::new(ClipboardEnv::from_env()),
        }
    }

    pub fn spawn(&mut self, effect: Effect) {
        let store = Arc::clone(&self.store);
        let sender = self.sender.clone();
        let endpoints = self.endpoints.clone();
        let done = move |outcome| {
            let _ = sender.send(Msg::Done(outcome));
        };
        match effect {
            Effect::LoadStatus => {
                let sender = self.sender.clone();
                tokio::task::spawn_blocking(move || {
                    let result = service::status::status(store.as_ref(), Timestamp::now())
                        .map_err(|e| e.to_string());
                    let _ = sender.send(Msg::StatusLoaded(result));
                });
            }
            Effect::SaveProfile { draft, original } => {
                tokio::task::spawn_blocking(move || {
                    let now = Timestamp::now();
                    let store = store.as_ref();
                    let result = match original {
                        Some(original) => {
                            service::profiles::replace(store, &original, &draft, &endpoints, now)
                        }
                        None => service::profiles::add(store, &draft, &endpoints, now)
                            .map(|(profile, _)| profile),
                    };
                    let result = result.map(|p| p.name).map_err(|e| e.to_string());
                    done(Outcome::ProfileSaved(result));
                });
            }
            Effect::OpenProfile { name, mode } => {
                tokio::task::spawn_blocking(move || {
                    let draft = match store.profile(&name) {
                        Ok(Some(profile)) => Ok(Box::new(ProfileDraft::from_profile(&profile))),
                        Ok(None) => Err(format!("the profile {name:?} is gone from the store")),
                        Err(e) => Err(e.to_string()),
                    };
                    done(Outcome::ProfileOpened { draft, mode });
                });
            }
            Effect::DeleteProfile { name } => {
                tokio::task::spawn_blocking(move || {
                    let result = service::profiles::remove(store.as_ref(), &name)
                        .map(|()| name)
                        .map_err(|e| e.to_string());
                    done(Outcome::ProfileDeleted(result));
                });
            }
            Effect::SaveIntegration { plan } => {
                let system_app = self.system_app.clone();
                tokio::task::spawn_blocking(move || {
                    let system = system_app
                        .as_deref()
                        .ok_or_else(|| "no system app is configured on this host".to_owned());
                    let result =
                        service::setup::apply(store.as_ref(), &plan, system, Timestamp::now())
                            .map(|r| r.integration.name)
                            .map_err(|e| e.to_string());
                    done(Outcome::IntegrationSaved(result));
                });
            }
            Effect::Copy { text, what } => {
                let report = self.clipboard.copy(&text, &mut std::io::stdout());
                done(Outcome::Copied {
                    what,
                    note: report.note,
                });
            }
        }
    }
}
