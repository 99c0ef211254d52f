//! The live sessions of this instance, one per merchant, and the tries waiting for their
//! answers.
//!
//! A try of a relay-mode merchant's notice ([`Relay::deliver`]) goes down the merchant's
//! session as a [`TryFrame`] and waits for the answer, at most the request timeout. With
//! no session the try fails `relay_offline` at once; a session that closes before it
//! answers fails its waiting tries the same way.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::frames::{Bytes, TryFrame};
use crate::platform::merchants::merchant::DeliveryMode;
use crate::platform::merchants::MerchantStore;

/// How long a merchant's delivery setting is trusted before it is read again; a change
/// through this instance applies at once ([`Relay::forget_mode`]).
const MODE_TTL: Duration = Duration::from_secs(1);

/// What came back for one try.
#[derive(Debug)]
pub enum Reply {
    Answer {
        status: u16,
        body: Vec<u8>,
        duration: Duration,
    },
    Failed {
        kind: String,
        message: String,
        duration: Duration,
    },
}

/// The relay of this instance. Cheap to clone.
#[derive(Clone)]
pub struct Relay(Arc<Inner>);

struct Inner {
    merchants: MerchantStore,
    /// Which instance holds each session, for instances sharing one database.
    registry: super::registry::Registry,
    sessions: Mutex<HashMap<String, Live>>,
    modes: Mutex<HashMap<String, (Instant, DeliveryMode)>>,
    next: AtomicU64,
}

/// A connected session as the registry keeps it.
struct Live {
    session: u64,
    frames: mpsc::UnboundedSender<TryFrame>,
    pending: Pending,
    info: SessionInfo,
    /// Cancelled, with the reason in `replaced_by`, when a newer session takes over.
    replaced: CancellationToken,
    replaced_by: Arc<Mutex<Option<String>>>,
}

/// The tries a session has sent and not yet had answered, by frame id.
pub type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Reply>>>>;

/// What is known of a live session.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub session: u64,
    pub since: DateTime<Utc>,
    /// The peer address the session came from.
    pub from: String,
    /// The client's `User-Agent`.
    pub client: Option<String>,
    pub in_flight: Arc<AtomicUsize>,
    pub relayed: Arc<AtomicU64>,
}

/// A session's end of the registry: what it sends and how it learns it was replaced.
pub struct Opened {
    pub session: u64,
    pub frames: mpsc::UnboundedReceiver<TryFrame>,
    pub pending: Pending,
    pub replaced: CancellationToken,
    replaced_by: Arc<Mutex<Option<String>>>,
}

impl Opened {
    /// Why the session was replaced, once it was.
    pub fn replaced_reason(&self) -> String {
        lock(&self.replaced_by)
            .clone()
            .unwrap_or_else(|| "a newer session of this merchant connected".to_owned())
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Relay {
    pub fn new(merchants: MerchantStore, registry: super::registry::Registry) -> Self {
        Self(Arc::new(Inner {
            merchants,
            registry,
            sessions: Mutex::new(HashMap::new()),
            modes: Mutex::new(HashMap::new()),
            next: AtomicU64::new(1),
        }))
    }

    /// Registers a new session of `mid`; an older one is told to go.
    pub fn open(
        &self,
        mid: &str,
        from: String,
        client: Option<String>,
        now: DateTime<Utc>,
    ) -> Opened {
        let session = self.0.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::unbounded_channel();
        let pending = Pending::default();
        let replaced = CancellationToken::new();
        let replaced_by = Arc::new(Mutex::new(None));
        let live = Live {
            session,
            frames: tx,
            pending: pending.clone(),
            info: SessionInfo {
                session,
                since: now,
                from: from.clone(),
                client,
                in_flight: Arc::default(),
                relayed: Arc::default(),
            },
            replaced: replaced.clone(),
            replaced_by: replaced_by.clone(),
        };
        if let Some(older) = lock(&self.0.sessions).insert(mid.to_owned(), live) {
            *lock(&older.replaced_by) = Some(format!(
                "session {session} of merchant {mid} connected from {from} and replaced this one"
            ));
            older.replaced.cancel();
        }
        Opened {
            session,
            frames: rx,
            pending,
            replaced,
            replaced_by,
        }
    }

    /// Removes session `session` of `mid`, if it is still the live one; whether it was.
    pub fn close(&self, mid: &str, session: u64) -> bool {
        let mut sessions = lock(&self.0.sessions);
        if sessions
            .get(mid)
            .is_some_and(|live| live.session == session)
        {
            sessions.remove(mid);
            return true;
        }
        false
    }

    /// The sessions' rows shared by the instances.
    pub fn registry(&self) -> &super::registry::Registry {
        &self.0.registry
    }

    /// Tells session `session` of `mid`, if it is still the live one here, that a session
    /// on another instance replaced it.
    pub fn replaced_elsewhere(&self, mid: &str, session: u64) {
        if let Some(live) = lock(&self.0.sessions).remove(mid) {
            if live.session == session {
                *lock(&live.replaced_by) = Some(format!(
                    "a newer session of merchant {mid} connected to another instance and replaced this one"
                ));
                live.replaced.cancel();
            } else {
                lock(&self.0.sessions).insert(mid.to_owned(), live);
            }
        }
    }

    /// The live session of `mid` on this instance.
    pub fn status(&self, mid: &str) -> Option<SessionInfo> {
        lock(&self.0.sessions)
            .get(mid)
            .map(|live| live.info.clone())
    }

    /// Forgets the cached delivery setting of `mid` (it was just changed).
    pub fn forget_mode(&self, mid: &str) {
        lock(&self.0.modes).remove(mid);
    }

    /// Where `mid`'s notices go; `http` for an unknown merchant.
    pub async fn mode(&self, mid: &str) -> anyhow::Result<DeliveryMode> {
        if let Some((read, mode)) = lock(&self.0.modes).get(mid) {
            if read.elapsed() < MODE_TTL {
                return Ok(*mode);
            }
        }
        let mode = self
            .0
            .merchants
            .delivery_mode(mid)
            .await?
            .unwrap_or_default();
        lock(&self.0.modes).insert(mid.to_owned(), (Instant::now(), mode));
        Ok(mode)
    }

    /// Sends one try down `mid`'s session and waits up to `timeout` for its answer.
    pub async fn exchange(&self, mid: &str, mut frame: TryFrame, timeout: Duration) -> Exchange {
        let (tx, rx) = oneshot::channel();
        let id = self.0.next.fetch_add(1, Ordering::Relaxed);
        frame.id = id;
        let info = {
            let sessions = lock(&self.0.sessions);
            let Some(live) = sessions.get(mid) else {
                return Exchange::Offline;
            };
            lock(&live.pending).insert(id, tx);
            if live.frames.send(frame).is_err() {
                lock(&live.pending).remove(&id);
                return Exchange::Offline;
            }
            live.info.clone()
        };
        info.in_flight.fetch_add(1, Ordering::Relaxed);
        info.relayed.fetch_add(1, Ordering::Relaxed);
        let answer = tokio::time::timeout(timeout, rx).await;
        info.in_flight.fetch_sub(1, Ordering::Relaxed);
        match answer {
            Ok(Ok(reply)) => Exchange::Replied(reply),
            Ok(Err(_closed)) => Exchange::Closed,
            Err(_elapsed) => {
                if let Some(live) = lock(&self.0.sessions).get(mid) {
                    lock(&live.pending).remove(&id);
                }
                Exchange::TimedOut
            }
        }
    }
}

/// How one exchange over a session ended.
#[derive(Debug)]
pub enum Exchange {
    /// No session of the merchant is connected to this instance.
    Offline,
    /// The session closed before answering.
    Closed,
    /// No answer within the timeout.
    TimedOut,
    Replied(Reply),
}

/// Hands an answer to the try waiting for it; `false` if none waits (it timed out).
pub fn answer(pending: &Pending, id: u64, reply: Reply) -> bool {
    match lock(pending).remove(&id) {
        Some(waiting) => waiting.send(reply).is_ok(),
        None => false,
    }
}

/// A try frame for `body` (the id is set when it is sent).
pub fn try_frame(
    notification_id: i64,
    attempt: u32,
    kind: &str,
    subject: Option<&str>,
    headers: Vec<(String, String)>,
    body: &[u8],
) -> TryFrame {
    TryFrame {
        id: 0,
        notification_id,
        attempt,
        kind: kind.to_owned(),
        subject: subject.map(str::to_owned),
        headers,
        body: Bytes(body.to_vec()),
    }
}
