//! Per-try headers by notice family: each family (an outbox `kind`) may plug in a
//! [`Signer`] that computes headers for every try, such as a signature over the body with
//! a fresh timestamp. Notifications of a kind without one are sent as stored.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use reqwest::header::HeaderMap;

use crate::outbox::Notification;

/// Adds headers computed per try.
#[async_trait]
pub trait Signer: Send + Sync + 'static {
    async fn headers(&self, notification: &Notification) -> anyhow::Result<HeaderMap>;
}

/// The signers of the notice families, by `kind`.
#[derive(Clone, Default)]
pub struct Signers {
    by_kind: HashMap<String, Arc<dyn Signer>>,
}

impl Signers {
    /// Signs every try of notifications of `kind` with `signer`.
    pub fn with(mut self, kind: &str, signer: Arc<dyn Signer>) -> Self {
        self.by_kind.insert(kind.to_owned(), signer);
        self
    }

    /// The headers of one try: the family's signature, or none.
    pub async fn headers(&self, notification: &Notification) -> anyhow::Result<HeaderMap> {
        match self.by_kind.get(&notification.kind) {
            Some(signer) => signer.headers(notification).await,
            None => Ok(HeaderMap::new()),
        }
    }
}
