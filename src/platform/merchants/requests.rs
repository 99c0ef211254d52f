//! What an admin asks of the merchant service (create a merchant, change its settings), as
//! the admin API's JSON bodies and the console's forms give it, and why the service may
//! refuse (the field and a message for people).

use serde::{Deserialize, Deserializer};

use crate::platform::merchants::merchant::{DeliveryMode, PaymentNotices, SignType};

/// A merchant to create; the sandbox issues its appId and appKey.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateMerchant {
    pub mid: Option<String>,
    pub name: Option<String>,
    pub notify_url: Option<String>,
    pub auto_consent_after: Option<String>,
    pub auto_pay_after: Option<String>,
    /// The communication key; a random one when left out.
    pub md5_key: Option<String>,
    /// `SHA256` (the default) or `MD5`.
    #[schema(value_type = Option<SignType>)]
    pub sign_type: Option<String>,
    /// The source number (来源编号): 4 letters or digits; a random one when left out.
    pub msg_src_id: Option<String>,
    /// The message source (`msgSrc`) it calls the bill gateway as: 1 to 20 printable
    /// ASCII characters; its `mid` when left out. Joining a source that serves merchants
    /// already shares the source's communication key.
    pub msg_src: Option<String>,
    pub extra_copies: Option<u32>,
    /// Which order changes send a payment-result notice: `product` (the default, as each
    /// product's sources say) or `all`.
    #[schema(value_type = Option<PaymentNotices>)]
    pub payment_notices: Option<String>,
    /// The request budget on the platform API: requests per second, 1 to 10000; the
    /// default (50) when left out.
    pub rate_limit_per_second: Option<u32>,
    /// The burst of that budget, 1 to 10000; the default (100) when left out.
    pub rate_limit_burst: Option<u32>,
}

/// Absent stays `None`; `null` becomes `Some(None)`: a patch can clear a field.
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// A patch: an absent field is kept. `null` clears `notify_url` (no default) and
/// `auto_consent_after` (no automatic consent), and sets `extra_copies` to its default, 0;
/// `name` cannot be cleared, so `"name": null` is refused (`invalid_name`).
/// The fields to change; a field left out is kept, `null` clears it (see the guide).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchMerchant {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub notify_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub auto_consent_after: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub auto_pay_after: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub md5_key: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<SignType>)]
    pub sign_type: Option<Option<String>>,
    /// A new source number; `null` draws a random one. Orders made before keep theirs.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub msg_src_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u32>)]
    pub extra_copies: Option<Option<u32>>,
    /// `product` or `all`; `null` is `product`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<PaymentNotices>)]
    pub payment_notices: Option<Option<String>>,
    /// 1 to 10000 requests per second; `null` is the default, 50.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u32>)]
    pub rate_limit_per_second: Option<Option<u32>>,
    /// 1 to 10000; `null` is the default, 100.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u32>)]
    pub rate_limit_burst: Option<Option<u32>>,
    /// `http` (to the notify URLs) or `relay` (down the merchant's `ums-notify listen`
    /// session); `null` is `http`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<DeliveryMode>)]
    pub delivery: Option<Option<String>>,
}

/// A field of a merchant request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MerchantField {
    Mid,
    Name,
    NotifyUrl,
    AutoConsentAfter,
    AutoPayAfter,
    Md5Key,
    SignType,
    MsgSrcId,
    MsgSrc,
    ExtraCopies,
    PaymentNotices,
    RateLimitPerSecond,
    RateLimitBurst,
    Delivery,
    /// Of a rotation: which key it replaces.
    Credential,
    /// Of a rotation: how long the replaced key stays accepted.
    Grace,
}

impl MerchantField {
    /// The field as the request names it.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Mid => "mid",
            Self::Name => "name",
            Self::NotifyUrl => "notify_url",
            Self::AutoConsentAfter => "auto_consent_after",
            Self::AutoPayAfter => "auto_pay_after",
            Self::Md5Key => "md5_key",
            Self::SignType => "sign_type",
            Self::MsgSrcId => "msg_src_id",
            Self::MsgSrc => "msg_src",
            Self::ExtraCopies => "extra_copies",
            Self::PaymentNotices => "payment_notices",
            Self::RateLimitPerSecond => "rate_limit_per_second",
            Self::RateLimitBurst => "rate_limit_burst",
            Self::Delivery => "delivery",
            Self::Credential => "credential",
            Self::Grace => "grace",
        }
    }
}

/// Why the merchant service refused a request; nothing changed. Its `Display` is the
/// message for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MerchantRefused {
    /// A field is missing or breaks its rule.
    #[error("{message}")]
    Invalid {
        field: MerchantField,
        message: String,
    },
    /// The notify URL names an address the egress guard refuses.
    #[error("`notify_url`: {0}")]
    DestinationNotAllowed(String),
    /// A patch that changes nothing.
    #[error(
        "give at least one of name, notify_url, auto_consent_after, auto_pay_after, \
         md5_key, sign_type, msg_src_id, extra_copies, payment_notices, \
         rate_limit_per_second, rate_limit_burst, delivery"
    )]
    EmptyPatch,
    #[error("merchant {0} already exists")]
    Exists(String),
    /// No merchant has this mid (as the caller wrote it).
    #[error("merchant {0:?} does not exist")]
    NotFound(String),
}

impl MerchantRefused {
    /// The field of the request the refusal is about, if it is about one.
    pub fn field(&self) -> Option<MerchantField> {
        match self {
            Self::Invalid { field, .. } => Some(*field),
            Self::Exists(_) => Some(MerchantField::Mid),
            Self::DestinationNotAllowed(_) => Some(MerchantField::NotifyUrl),
            Self::EmptyPatch | Self::NotFound(_) => None,
        }
    }

    /// `field` breaks its rule, as `message` says.
    pub(crate) fn invalid(field: MerchantField, message: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            message: message.into(),
        }
    }
}
