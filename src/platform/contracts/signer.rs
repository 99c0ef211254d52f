//! Signs the notifications of a merchant as the platform does: every try carries
//! `Authorization: OPEN-BODY-SIG …` over the exact stored body, with the merchant's appId
//! and appKey and a fresh timestamp and nonce. The merchant is the notification's tenant;
//! the sandbox plugs this signer in for its notice family's `kind`.

use anyhow::Context as _;
use async_trait::async_trait;
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION};

use crate::clock::Clock;
use crate::delivery::Signer;
use crate::outbox::Notification;
use crate::platform::auth::{
    format_compact_timestamp, generate_credential, open_body_sig_header, CREDENTIAL_LEN,
};
use crate::platform::merchants::MerchantStore;

pub struct MerchantSigner {
    store: MerchantStore,
    clock: Clock,
}

impl MerchantSigner {
    pub fn new(store: MerchantStore, clock: Clock) -> Self {
        Self { store, clock }
    }
}

#[async_trait]
impl Signer for MerchantSigner {
    async fn headers(&self, notification: &Notification) -> anyhow::Result<HeaderMap> {
        let mut headers = HeaderMap::new();
        let mid = notification
            .tenant
            .as_deref()
            .context("a merchant's notice without a merchant")?;
        // Read per try, so a merchant's new key applies to the next try.
        let merchant = self
            .store
            .merchant(mid)
            .await?
            .with_context(|| format!("merchant {mid} does not exist"))?;
        let timestamp = format_compact_timestamp(self.clock.now());
        let nonce = generate_credential(CREDENTIAL_LEN);
        let value = open_body_sig_header(
            &merchant.app_id,
            merchant.app_key.expose(),
            &timestamp,
            &nonce,
            &notification.body,
        );
        headers.insert(AUTHORIZATION, HeaderValue::from_str(&value)?);
        Ok(headers)
    }
}
