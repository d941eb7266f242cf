//! The seams between the engine and the world it runs in: where bytes come from ([`Fetcher`]),
//! what time it is ([`Clock`]) and how concurrent work is started ([`Spawner`]).
//!
//! Everything is single-threaded (`Rc`, `LocalBoxFuture`): a browser tab and each Web Worker
//! run one thread, and native tests run the same code on a `futures` `LocalPool`. The
//! browser glue implements these traits over `fetch`, `Date.now` and `spawn_local`; this crate
//! provides native ones ([`crate::fetch`], [`SystemClock`], [`PoolSpawner`]).

use futures::future::LocalBoxFuture;
use futures::stream::LocalBoxStream;
use futures::task::{LocalSpawn, LocalSpawnExt};
use futures::FutureExt;
use msq_common::{MsqError, Result};

/// A stream of byte chunks, in order.
pub type ByteStream = LocalBoxStream<'static, Result<Vec<u8>>>;

/// Reads the files external inputs name.
///
/// `uri` is what the input source holds: an `http(s)://` URI of an `http` source, or a path of
/// a `local` source (`files` entries, or `baseDir` joined with a listed name).
pub trait Fetcher {
    /// Opens `uri` as a stream of chunks.
    ///
    /// # Errors
    /// A Druid-style error naming the URI and why it cannot be read (not found, network,
    /// refused).
    fn open(&self, uri: &str) -> LocalBoxFuture<'_, Result<ByteStream>>;

    /// The file names under `base_dir` matching the glob `filter` (`*` and `?`), sorted — the
    /// `local` input source's `baseDir` + `filter` form.
    ///
    /// # Errors
    /// When the directory cannot be listed.
    fn list(&self, base_dir: &str, filter: &str) -> LocalBoxFuture<'_, Result<Vec<String>>>;

    /// The size of `uri` when it can be read in byte ranges ([`Fetcher::open_range`]) as it is
    /// stored (not content-encoded); `None` when it cannot, or when that cannot be told. Never
    /// an error: a file that cannot be probed is simply read whole.
    fn probe(&self, uri: &str) -> LocalBoxFuture<'_, Option<u64>> {
        let _ = uri;
        futures::future::ready(None).boxed_local()
    }

    /// Bytes `start..=end_inclusive` of `uri` ([`crate::split`]).
    ///
    /// # Errors
    /// As [`Fetcher::open`], and when the source does not serve byte ranges.
    fn open_range(
        &self,
        uri: &str,
        start: u64,
        end_inclusive: u64,
    ) -> LocalBoxFuture<'_, Result<ByteStream>> {
        let _ = (start, end_inclusive);
        let error = crate::fetch::cannot_open(uri, "this source does not serve byte ranges");
        futures::future::ready(Err(error)).boxed_local()
    }
}

/// Milliseconds since the Unix epoch, and the turns of the thread's event loop.
pub trait Clock {
    /// Now, in UTC milliseconds.
    fn now_ms(&self) -> i64;

    /// Resolves on a later turn of the event loop, after the messages already waiting have
    /// been handled. A stage thread awaits it between long synchronous steps, so that another
    /// thread's request for frames it holds is answered then, not after all its own work.
    /// Natively (queues, no event loop) it is ready at once.
    fn next_turn(&self) -> LocalBoxFuture<'static, ()> {
        Box::pin(futures::future::ready(()))
    }
}

/// Starts futures that run concurrently with the caller on the same thread.
pub trait Spawner {
    /// Runs `future` to completion in the background.
    fn spawn(&self, future: LocalBoxFuture<'static, ()>);
}

/// The system clock (native builds).
#[cfg(not(target_arch = "wasm32"))]
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

#[cfg(not(target_arch = "wasm32"))]
impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    }
}

/// A clock that only moves when told to (deterministic tests).
#[derive(Debug, Clone, Default)]
pub struct ManualClock(std::rc::Rc<std::cell::Cell<i64>>);

impl ManualClock {
    /// A clock reading `now_ms`.
    pub fn new(now_ms: i64) -> Self {
        Self(std::rc::Rc::new(std::cell::Cell::new(now_ms)))
    }

    /// Moves the clock forward.
    pub fn advance(&self, ms: i64) {
        self.0.set(self.0.get() + ms);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.get()
    }
}

/// Spawns onto a `futures` local executor (`LocalPool::spawner()`).
#[derive(Debug, Clone)]
pub struct PoolSpawner<S>(pub S);

impl<S: LocalSpawn> Spawner for PoolSpawner<S> {
    fn spawn(&self, future: LocalBoxFuture<'static, ()>) {
        if let Err(error) = self.0.spawn_local(future) {
            // Only happens when the executor is shut down, i.e. the engine is being dropped.
            let _ = MsqError::internal(format!("executor is shut down: {error}"));
        }
    }
}

/// Whether `name` matches the glob `pattern` (`*` any run, `?` one character).
pub fn glob_matches(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ni));
            pi += 1;
        } else if let Some((sp, sn)) = star {
            pi = sp + 1;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_matches("*.json.gz", "wikipedia.json.gz"));
        assert!(glob_matches("*", "x"));
        assert!(glob_matches("a?c*", "abcdef"));
        assert!(!glob_matches("*.csv", "a.json"));
        assert!(!glob_matches("a?c", "ac"));
    }

    #[test]
    fn manual_clock_moves_when_told() {
        let clock = ManualClock::new(10);
        clock.advance(5);
        assert_eq!(clock.now_ms(), 15);
    }
}
