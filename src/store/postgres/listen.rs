//! The LISTEN connection: one per agent, outside the pool, carrying the other agents' change
//! notices. When it drops (the database restarted, the network cut) the agent hears `Lost`
//! and the store's version says it cannot tell until the connection is back, tried again
//! every second, then every ten; then `Back`, and everything is read again.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::{broadcast, mpsc};
use tokio_postgres::AsyncMessage;
use tokio_postgres_rustls::MakeRustlsConnect;

use super::super::contract::StoreNotice;
use super::schema::CHANNEL;

pub(super) struct Listener {
    pub config: tokio_postgres::Config,
    pub connector: MakeRustlsConnect,
    pub notices: broadcast::Sender<StoreNotice>,
    pub version: Arc<AtomicU64>,
    pub listening: Arc<AtomicBool>,
}

const RETRY_FIRST: Duration = Duration::from_secs(1);
const RETRY_MOST: Duration = Duration::from_secs(10);

pub(super) async fn run(listener: Listener) {
    let mut retry = RETRY_FIRST;
    let mut lost = false;
    loop {
        let why = match listen_once(&listener, &mut lost).await {
            Ok(why) => {
                retry = RETRY_FIRST;
                why
            }
            Err(why) => why,
        };
        if listener.listening.swap(false, Ordering::SeqCst) || !lost {
            listener.version.fetch_add(1, Ordering::SeqCst);
            let _ = listener.notices.send(StoreNotice::Lost(why));
            lost = true;
        }
        tokio::time::sleep(retry).await;
        retry = (retry * 2).min(RETRY_MOST);
    }
}

/// Connects, listens and forwards notices until the connection ends: `Ok` with why it
/// ended once it had been listening, `Err` with why it never was.
async fn listen_once(listener: &Listener, lost: &mut bool) -> Result<String, String> {
    let (client, mut connection) = listener
        .config
        .connect(listener.connector.clone())
        .await
        .map_err(|e| e.to_string())?;
    let (heard, mut hearing) = mpsc::unbounded_channel();
    let driver = tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(notice)) => {
                    let _ = heard.send(notice.payload().to_owned());
                }
                Ok(_) => {}
                Err(e) => return e.to_string(),
            }
        }
        "the database closed the connection".to_owned()
    });
    if let Err(e) = client.batch_execute(&format!("LISTEN {CHANNEL}")).await {
        driver.abort();
        return Err(e.to_string());
    }
    listener.listening.store(true, Ordering::SeqCst);
    listener.version.fetch_add(1, Ordering::SeqCst);
    if *lost {
        let _ = listener.notices.send(StoreNotice::Back);
        *lost = false;
    }
    while let Some(what) = hearing.recv().await {
        listener.version.fetch_add(1, Ordering::SeqCst);
        let _ = listener.notices.send(StoreNotice::Changed(what));
    }
    drop(client);
    Ok(driver
        .await
        .unwrap_or_else(|_| "the connection's task ended".to_owned()))
}
