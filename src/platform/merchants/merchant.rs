//! A merchant of the platform: who it is, where its notices go by default, the
//! credentials it signs with, and how its simulated users and buyers behave.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::limits::Budget;
use crate::platform::auth::AppKey;
use crate::platform::merchants::rotation::Grace;
use crate::platform::payments::order::{OrderState, Product};
use crate::platform::wire::fields;
use crate::policy::Destination;

/// A merchant and its credentials.
#[derive(Debug, Clone)]
pub struct Merchant {
    pub mid: String,
    pub name: String,
    /// The default notify URL, used by contracts that name none.
    pub notify_url: Option<String>,
    pub app_id: String,
    /// `Debug` prints `AppKey(***)`: a merchant can be logged without its key.
    pub app_key: AppKey,
    /// The communication key (通讯密钥, "md5Key") that signs payment-result notices;
    /// redacted in `Debug` like the app key.
    pub md5_key: AppKey,
    /// The appKey a rotation replaced, while it may still be accepted (see
    /// [`crate::platform::merchants::rotation`]).
    pub app_key_grace: Option<Grace>,
    /// The communication key a rotation of the message source replaced, the same on
    /// every merchant of the source.
    pub md5_key_grace: Option<Grace>,
    /// How payment-result notices are signed.
    pub sign_type: SignType,
    /// The source number (来源编号, msgSrcId): four characters every order number and
    /// refund order number of the merchant starts with.
    pub msg_src_id: String,
    /// The message source (系统来源, `msgSrc`) the merchant calls the bill gateway as.
    /// A source owns one communication key (this `md5_key`, shared by every merchant of
    /// the source) and may serve several merchants.
    pub msg_src: String,
    /// Simulated consent: new contracts sign themselves after this delay.
    pub auto_consent_after: Option<Duration>,
    /// Simulated buyers: new orders are paid after this delay.
    pub auto_pay_after: Option<Duration>,
    /// Every notification of this merchant is sent this many extra times.
    pub extra_copies: u32,
    /// Which order changes send a payment-result notice.
    pub payment_notices: PaymentNotices,
    /// The request budget on the platform API, set by the operator; `None` parts are the
    /// defaults (see [`crate::limits`]).
    pub rate_limit_per_second: Option<u32>,
    pub rate_limit_burst: Option<u32>,
    /// Whether its notices go to its notify URLs or down its relay session.
    pub delivery: DeliveryMode,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Merchant {
    /// The merchant's request budget on the platform API.
    pub fn budget(&self) -> Budget {
        Budget::of(self.rate_limit_per_second, self.rate_limit_burst)
    }

    /// The merchant's default notify URL, for an admin request that names none. It was
    /// accepted by the same check when the merchant was saved; should it fail now, the
    /// request is refused rather than every notification of it later.
    pub fn default_notify_target(&self) -> Result<Destination, NoDefaultNotify> {
        let url = self.notify_url.as_deref().ok_or(NoDefaultNotify::Missing)?;
        fields::notify_target(url).map_err(|error| NoDefaultNotify::Refused(error.message))
    }
}

/// Why an admin request that names no notify URL cannot use the merchant's default; its
/// `Display` is the message for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoDefaultNotify {
    /// The merchant has no default notify URL.
    #[error("`notify_url` is required: the merchant has no default notify URL")]
    Missing,
    /// The default is refused now, for this reason.
    #[error("the merchant's default notify URL is refused ({0}); give a `notify_url`")]
    Refused(String),
}

#[derive(Debug, Clone)]
pub struct NewMerchant {
    pub mid: String,
    pub name: String,
    pub notify_url: Option<String>,
    pub app_id: String,
    pub app_key: AppKey,
    /// The key the merchant brings; the source's when it joins one, else a random one.
    pub md5_key: Option<AppKey>,
    pub sign_type: SignType,
    pub msg_src_id: String,
    pub msg_src: String,
    pub auto_consent_after: Option<Duration>,
    pub auto_pay_after: Option<Duration>,
    pub extra_copies: u32,
    pub payment_notices: PaymentNotices,
    pub rate_limit_per_second: Option<u32>,
    pub rate_limit_burst: Option<u32>,
}

/// A partial update; `None` leaves a field as it is, `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct MerchantPatch {
    pub name: Option<String>,
    pub notify_url: Option<Option<String>>,
    pub auto_consent_after: Option<Option<Duration>>,
    pub auto_pay_after: Option<Option<Duration>>,
    pub md5_key: Option<AppKey>,
    pub sign_type: Option<SignType>,
    pub msg_src_id: Option<String>,
    pub extra_copies: Option<u32>,
    pub payment_notices: Option<PaymentNotices>,
    pub rate_limit_per_second: Option<Option<u32>>,
    pub rate_limit_burst: Option<Option<u32>>,
    pub delivery: Option<DeliveryMode>,
}

impl MerchantPatch {
    /// Whether the patch changes nothing.
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.notify_url.is_none()
            && self.auto_consent_after.is_none()
            && self.auto_pay_after.is_none()
            && self.md5_key.is_none()
            && self.sign_type.is_none()
            && self.msg_src_id.is_none()
            && self.extra_copies.is_none()
            && self.payment_notices.is_none()
            && self.rate_limit_per_second.is_none()
            && self.rate_limit_burst.is_none()
            && self.delivery.is_none()
    }
}

/// Which order changes send a payment-result notice.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum PaymentNotices {
    /// As each product's sources say: a QR bill notifies its payment only (the C扫B spec
    /// draws an HTTP notice for a completed payment alone); H5 and mini-program orders
    /// notify payment, refund and close, as their public handlers expect.
    #[default]
    Product,
    /// Every change of every product, to rehearse the handling of all of them.
    All,
}

impl PaymentNotices {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Product => "product",
            Self::All => "all",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "product" => Some(Self::Product),
            "all" => Some(Self::All),
            _ => None,
        }
    }

    /// Whether an order of `product` that moved to `state` sends a notice.
    pub fn sends(self, product: Product, state: OrderState) -> bool {
        match (self, product) {
            (Self::All, _) | (Self::Product, Product::Trade) => true,
            (Self::Product, Product::Bill) => state == OrderState::Paid,
        }
    }

    /// Whether a guarantee bill's completion or cancel sends a notice: under `product` a
    /// bill notifies its payment alone, whatever its state after the change.
    pub fn sends_guarantee(self) -> bool {
        self == Self::All
    }
}

/// Where a merchant's notices go: every try of them, first tries, retries, redeliveries
/// and duplicates alike.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryMode {
    /// To the notify URLs, over HTTP.
    #[default]
    Http,
    /// Down the merchant's live `ums-notify listen` session ([`crate::relay`]).
    Relay,
}

impl DeliveryMode {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Relay => "relay",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "http" => Some(Self::Http),
            "relay" => Some(Self::Relay),
            _ => None,
        }
    }
}

/// The hash of the merchant's `sign`s with its communication key (md5Key).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
pub enum SignType {
    #[serde(rename = "MD5")]
    Md5,
    #[default]
    #[serde(rename = "SHA256")]
    Sha256,
}

impl SignType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Md5 => "MD5",
            Self::Sha256 => "SHA256",
        }
    }

    /// `MD5` or `SHA256`, in any case.
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_uppercase().as_str() {
            "MD5" => Some(Self::Md5),
            "SHA256" => Some(Self::Sha256),
            _ => None,
        }
    }
}
