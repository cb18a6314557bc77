//! The `Store` trait is synchronous (sled blocks) and is called from tokio's blocking pool and
//! from plain threads; tokio-postgres is asynchronous. The store therefore owns a small
//! runtime on a thread of its own and runs each operation there, the caller waiting on a
//! channel: it works from any thread, and never calls `block_on` inside another runtime.

use std::future::Future;
use std::sync::mpsc;

use tokio::runtime::Handle;
use tokio::sync::oneshot;

pub(super) struct Bridge {
    handle: Handle,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Bridge {
    pub fn start() -> std::io::Result<Bridge> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("jira-auth-postgres".into())
            .spawn(move || {
                // Spawned tasks run while this waits; dropping the runtime ends them.
                let _ = runtime.block_on(stopped);
            })?;
        Ok(Bridge {
            handle,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Runs `work` on the store's runtime and waits for it; `None` when the runtime is gone
    /// (the store is being dropped).
    pub fn run<T: Send + 'static>(
        &self,
        work: impl Future<Output = T> + Send + 'static,
    ) -> Option<T> {
        let (done, result) = mpsc::sync_channel(1);
        self.handle.spawn(async move {
            let _ = done.send(work.await);
        });
        result.recv().ok()
    }

    /// Starts `work` on the store's runtime, not waiting for it.
    pub fn spawn(&self, work: impl Future<Output = ()> + Send + 'static) {
        self.handle.spawn(work);
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_from_a_plain_thread_and_from_inside_another_runtime() {
        let bridge = std::sync::Arc::new(Bridge::start().unwrap());
        assert_eq!(bridge.run(async { 2 + 2 }), Some(4));
        let other = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let inside = std::sync::Arc::clone(&bridge);
        let answer = other.block_on(async move {
            tokio::task::spawn_blocking(move || {
                inside.run(async {
                    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                    7
                })
            })
            .await
            .unwrap()
        });
        assert_eq!(answer, Some(7));
    }
}
