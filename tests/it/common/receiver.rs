//! A real HTTP receiver standing in for a merchant's notify URL.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tokio::sync::Notify;

/// How the receiver answers one request.
#[derive(Debug, Clone)]
pub enum Reply {
    Status(u16),
    /// The status with this body.
    Body(u16, &'static str),
    /// A 302 to the given location.
    Redirect(String),
    /// Never answers (until the client gives up).
    Hang,
    /// Answers with the status after a delay.
    Slow(u16, Duration),
    /// Answers with the status and body once the test lets it (`notify_one`).
    Held(u16, &'static str, Arc<Notify>),
}

#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub at: Instant,
}

struct Inner {
    log: Mutex<Vec<Received>>,
    /// Replies for the next requests, in order; then `default`.
    queue: Mutex<VecDeque<Reply>>,
    default: Mutex<Reply>,
    arrived: Notify,
}

#[derive(Clone)]
pub struct Receiver {
    pub addr: SocketAddr,
    inner: Arc<Inner>,
}

impl Receiver {
    /// Starts a receiver on a free port of 127.0.0.1 that answers every request with
    /// `default`.
    pub async fn start(default: Reply) -> Self {
        Self::start_at("127.0.0.1:0".parse().expect("addr"), default).await
    }

    /// Starts a receiver on `addr` (port 0 picks a free port).
    pub async fn start_at(addr: SocketAddr, default: Reply) -> Self {
        let inner = Arc::new(Inner {
            log: Mutex::default(),
            queue: Mutex::default(),
            default: Mutex::new(default),
            arrived: Notify::new(),
        });
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .expect("bind receiver");
        let addr = listener.local_addr().expect("receiver addr");
        let app = Router::new().fallback(handle).with_state(inner.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, inner }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Answers the next requests with these replies, in order.
    pub fn then(&self, replies: impl IntoIterator<Item = Reply>) {
        self.inner.queue.lock().unwrap().extend(replies);
    }

    pub fn set_default(&self, reply: Reply) {
        *self.inner.default.lock().unwrap() = reply;
    }

    pub fn received(&self) -> Vec<Received> {
        self.inner.log.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.inner.log.lock().unwrap().len()
    }

    /// Waits until at least `n` requests have arrived; panics after `within`.
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let notified = self.inner.arrived.notified();
            if self.count() >= n {
                return self.received();
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!(
                    "receiver got {} requests, expected at least {n} within {within:?}",
                    self.count()
                );
            }
        }
    }
}

async fn handle(
    State(inner): State<Arc<Inner>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    inner.log.lock().unwrap().push(Received {
        path: uri.path().to_owned(),
        headers,
        body,
        at: Instant::now(),
    });
    inner.arrived.notify_waiters();
    let reply = inner
        .queue
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or_else(|| inner.default.lock().unwrap().clone());
    match reply {
        Reply::Status(code) => (StatusCode::from_u16(code).unwrap(), "answer").into_response(),
        Reply::Body(code, body) => (StatusCode::from_u16(code).unwrap(), body).into_response(),
        Reply::Redirect(location) => (
            StatusCode::FOUND,
            [(axum::http::header::LOCATION, location)],
            "moved",
        )
            .into_response(),
        Reply::Slow(code, delay) => {
            tokio::time::sleep(delay).await;
            StatusCode::from_u16(code).unwrap().into_response()
        }
        Reply::Held(code, body, gate) => {
            gate.notified().await;
            (StatusCode::from_u16(code).unwrap(), body).into_response()
        }
        Reply::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::OK.into_response()
        }
    }
}
