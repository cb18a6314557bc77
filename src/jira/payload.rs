//! A request body that can be sent again when it must be (a 401 answered by a refresh, a
//! 429 waited out) and streamed when it is large: bytes in memory, a file reopened for each
//! try, or a stream that goes once.

use std::path::PathBuf;

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};

/// Bodies up to this size are read into memory, so the request can be replayed; larger ones
/// stream through once.
pub const REPLAY_LIMIT: usize = 1 << 20;

pub type ByteStream = futures_util::stream::BoxStream<
    'static,
    Result<Bytes, Box<dyn std::error::Error + Send + Sync>>,
>;

pub enum Payload {
    Empty,
    Bytes(Bytes),
    /// A file, opened anew for each try; its length is sent as Content-Length.
    File(PathBuf),
    /// Sent once (`None` once it went): stdin, or a caller's large body, with its length
    /// when the caller gave one.
    Once(Option<ByteStream>, Option<u64>),
}

impl Payload {
    /// Whether another try can send the same body.
    pub fn replayable(&self) -> bool {
        !matches!(self, Payload::Once(..))
    }

    /// The body for one try, and its length when known; `None` for no body (or a stream
    /// already sent).
    pub async fn body(&mut self) -> std::io::Result<Option<(reqwest::Body, Option<u64>)>> {
        Ok(match self {
            Payload::Empty => None,
            Payload::Bytes(bytes) => {
                Some((reqwest::Body::from(bytes.clone()), Some(bytes.len() as u64)))
            }
            Payload::File(path) => {
                let file = tokio::fs::File::open(&path).await?;
                let len = file.metadata().await?.len();
                let stream = tokio_util::io::ReaderStream::with_capacity(file, 64 * 1024);
                Some((reqwest::Body::wrap_stream(stream), Some(len)))
            }
            Payload::Once(stream, len) => {
                stream.take().map(|s| (reqwest::Body::wrap_stream(s), *len))
            }
        })
    }

    /// A stream read ahead up to [`REPLAY_LIMIT`]: kept in memory (replayable) when it ends
    /// by then, sent once as what was read and the rest otherwise.
    pub async fn read_ahead(
        mut stream: ByteStream,
        len: Option<u64>,
    ) -> Result<Payload, Box<dyn std::error::Error + Send + Sync>> {
        let mut head = Vec::new();
        while head.len() <= REPLAY_LIMIT {
            match stream.try_next().await? {
                Some(chunk) => head.extend_from_slice(&chunk),
                None => return Ok(Payload::Bytes(Bytes::from(head))),
            }
        }
        let first = futures_util::stream::once(async move { Ok(Bytes::from(head)) });
        Ok(Payload::Once(Some(Box::pin(first.chain(stream))), len))
    }
}
