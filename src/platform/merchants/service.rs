//! The merchant service: the rules of creating a merchant (issuing its appId, appKey and
//! communication key) and of changing its settings, for the admin API and the console
//! alike, over the merchants' rows ([`MerchantStore`]). A notify URL the egress guard
//! refuses is refused when it is given.

use std::time::Duration;

use crate::clock::Clock;
use crate::duration::parse_duration;
use crate::egress::EgressGuard;
use crate::limits::MAX_BUDGET;
use crate::platform::auth::{generate_credential, AppKey, CREDENTIAL_LEN};
use crate::platform::merchants::merchant::{
    DeliveryMode, Merchant, MerchantPatch, NewMerchant, PaymentNotices, SignType,
};
use crate::platform::merchants::requests::{
    CreateMerchant, MerchantField, MerchantRefused, PatchMerchant,
};
use crate::platform::merchants::store::{MerchantCreateOutcome, MerchantStore};
use crate::platform::wire::fields;

/// The most extra copies a merchant can ask for.
pub const MAX_EXTRA_COPIES: u32 = 10;
/// The longest simulated consent delay.
pub const MAX_CONSENT_DELAY: Duration = Duration::from_secs(30 * 24 * 3600);
const NAME_MAX_LEN: usize = 100;

/// Cheap to clone.
#[derive(Clone)]
pub struct MerchantService {
    pub store: MerchantStore,
    pub(super) clock: Clock,
    egress: EgressGuard,
}

type Checked<T> = Result<T, MerchantRefused>;

impl MerchantService {
    pub fn new(store: MerchantStore, clock: Clock, egress: EgressGuard) -> Self {
        Self {
            store,
            clock,
            egress,
        }
    }

    /// A notify URL the egress guard admits, or none.
    fn admit(&self, notify_url: Option<&str>) -> Checked<()> {
        match notify_url {
            Some(url) => self
                .egress
                .admit_url(url)
                .map_err(|refused| MerchantRefused::DestinationNotAllowed(refused.to_string())),
            None => Ok(()),
        }
    }

    /// Creates a merchant with a new appId and appKey (and communication key and source
    /// number, unless the request brings its own).
    pub async fn create(&self, request: CreateMerchant) -> anyhow::Result<Checked<Merchant>> {
        let new = match new_merchant(request)
            .and_then(|new| self.admit(new.notify_url.as_deref()).map(|()| new))
        {
            Ok(new) => new,
            Err(refused) => return Ok(Err(refused)),
        };
        let mid = new.mid.clone();
        let merchant = match self.store.create_merchant(new, self.clock.now()).await? {
            MerchantCreateOutcome::Created(merchant) => *merchant,
            MerchantCreateOutcome::MidTaken => return Ok(Err(MerchantRefused::Exists(mid))),
            MerchantCreateOutcome::SourceKeyDiffers(msg_src) => {
                return Ok(Err(MerchantRefused::invalid(
                    MerchantField::Md5Key,
                    format!(
                        "message source {msg_src} already has a communication key, which all \
                         of its merchants share: leave `md5_key` out to take it, or give that key"
                    ),
                )))
            }
        };
        tracing::info!(%mid, app_id = %merchant.app_id, "merchant created");
        Ok(Ok(merchant))
    }

    /// Changes merchant `mid`'s settings as `request` asks.
    pub async fn update(
        &self,
        mid: &str,
        request: PatchMerchant,
    ) -> anyhow::Result<Checked<Merchant>> {
        let patch = match patch_of(request).and_then(|patch| {
            self.admit(patch.notify_url.as_ref().and_then(Option::as_deref))
                .map(|()| patch)
        }) {
            Ok(patch) => patch,
            Err(refused) => return Ok(Err(refused)),
        };
        let updated = self
            .store
            .update_merchant(mid, patch, self.clock.now())
            .await?;
        Ok(updated.ok_or_else(|| MerchantRefused::NotFound(mid.to_owned())))
    }
}

fn new_merchant(request: CreateMerchant) -> Checked<NewMerchant> {
    let mid = request
        .mid
        .ok_or_else(|| MerchantRefused::invalid(MerchantField::Mid, "`mid` is required"))?;
    fields::validate_mid(&mid)
        .map_err(|e| MerchantRefused::invalid(MerchantField::Mid, e.message))?;
    let name = check_name(
        request
            .name
            .as_deref()
            .ok_or_else(|| MerchantRefused::invalid(MerchantField::Name, "`name` is required"))?,
    )?;
    let msg_src = match request.msg_src.as_deref() {
        Some(source) => check_msg_src(source)?,
        None => mid.clone(),
    };
    Ok(NewMerchant {
        msg_src,
        mid,
        name,
        notify_url: request
            .notify_url
            .as_deref()
            .map(check_notify_url)
            .transpose()?,
        app_id: generate_credential(CREDENTIAL_LEN),
        app_key: AppKey::generate(),
        md5_key: request.md5_key.as_deref().map(check_md5_key).transpose()?,
        sign_type: request
            .sign_type
            .as_deref()
            .map(check_sign_type)
            .transpose()?
            .unwrap_or_default(),
        msg_src_id: match request.msg_src_id.as_deref() {
            Some(id) => check_msg_src_id(id)?,
            None => random_msg_src_id(),
        },
        auto_consent_after: request
            .auto_consent_after
            .as_deref()
            .map(check_delay)
            .transpose()?,
        auto_pay_after: request
            .auto_pay_after
            .as_deref()
            .map(check_pay_delay)
            .transpose()?,
        extra_copies: check_copies(request.extra_copies.unwrap_or(0))?,
        payment_notices: request
            .payment_notices
            .as_deref()
            .map_or(Ok(PaymentNotices::default()), check_payment_notices)?,
        rate_limit_per_second: request
            .rate_limit_per_second
            .map(|n| check_budget(MerchantField::RateLimitPerSecond, n))
            .transpose()?,
        rate_limit_burst: request
            .rate_limit_burst
            .map(|n| check_budget(MerchantField::RateLimitBurst, n))
            .transpose()?,
    })
}

fn patch_of(request: PatchMerchant) -> Checked<MerchantPatch> {
    let name = match request.name {
        None => None,
        Some(None) => {
            return Err(MerchantRefused::invalid(
                MerchantField::Name,
                "`name` cannot be cleared: a merchant always has a name; give a new one or leave it out",
            ))
        }
        Some(Some(name)) => Some(check_name(&name)?),
    };
    let patch = MerchantPatch {
        name,
        notify_url: request
            .notify_url
            .map(|url| url.as_deref().map(check_notify_url).transpose())
            .transpose()?,
        auto_consent_after: request
            .auto_consent_after
            .map(|delay| delay.as_deref().map(check_delay).transpose())
            .transpose()?,
        auto_pay_after: request
            .auto_pay_after
            .map(|delay| delay.as_deref().map(check_pay_delay).transpose())
            .transpose()?,
        // `null` draws a new random key.
        md5_key: request
            .md5_key
            .map(|key| key.as_deref().map_or(Ok(AppKey::generate()), check_md5_key))
            .transpose()?,
        // `null` is the default, SHA256.
        sign_type: request
            .sign_type
            .map(|t| t.as_deref().map(check_sign_type).transpose())
            .transpose()?
            .map(Option::unwrap_or_default),
        msg_src_id: request
            .msg_src_id
            .map(|id| {
                id.as_deref()
                    .map_or(Ok(random_msg_src_id()), check_msg_src_id)
            })
            .transpose()?,
        // `null` is the default: no extra copies.
        extra_copies: request
            .extra_copies
            .map(|copies| check_copies(copies.unwrap_or(0)))
            .transpose()?,
        payment_notices: request
            .payment_notices
            .map(|which| {
                which
                    .as_deref()
                    .map_or(Ok(PaymentNotices::default()), check_payment_notices)
            })
            .transpose()?,
        // `null` is the default budget.
        rate_limit_per_second: request
            .rate_limit_per_second
            .map(|n| {
                n.map(|n| check_budget(MerchantField::RateLimitPerSecond, n))
                    .transpose()
            })
            .transpose()?,
        rate_limit_burst: request
            .rate_limit_burst
            .map(|n| {
                n.map(|n| check_budget(MerchantField::RateLimitBurst, n))
                    .transpose()
            })
            .transpose()?,
        // `null` is the default, HTTP.
        delivery: request
            .delivery
            .map(|mode| {
                mode.as_deref()
                    .map_or(Ok(DeliveryMode::Http), check_delivery)
            })
            .transpose()?,
    };
    if patch.is_empty() {
        return Err(MerchantRefused::EmptyPatch);
    }
    Ok(patch)
}

fn check_name(name: &str) -> Checked<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > NAME_MAX_LEN {
        return Err(MerchantRefused::invalid(
            MerchantField::Name,
            format!("`name` must have 1 to {NAME_MAX_LEN} characters"),
        ));
    }
    Ok(name.to_owned())
}

fn check_notify_url(url: &str) -> Checked<String> {
    fields::validate_notify_url(url).map_err(|e| {
        MerchantRefused::invalid(
            MerchantField::NotifyUrl,
            e.message.replace("notifyUrl", "`notify_url`"),
        )
    })?;
    Ok(url.to_owned())
}

fn check_delay(text: &str) -> Checked<Duration> {
    delay(MerchantField::AutoConsentAfter, text)
}

fn check_pay_delay(text: &str) -> Checked<Duration> {
    delay(MerchantField::AutoPayAfter, text)
}

fn delay(field: MerchantField, text: &str) -> Checked<Duration> {
    let name = field.name();
    let bad = |why: String| MerchantRefused::invalid(field, why);
    let delay = parse_duration(text).map_err(|e| bad(format!("`{name}`: {e}")))?;
    if delay > MAX_CONSENT_DELAY {
        return Err(bad(format!("`{name}` must be at most 30d")));
    }
    Ok(delay)
}

/// A communication key a merchant brings: 8 to 64 printable ASCII characters, no
/// spaces (it is appended to the signed string as it is).
fn check_md5_key(key: &str) -> Checked<AppKey> {
    if !(8..=64).contains(&key.len()) || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(MerchantRefused::invalid(
            MerchantField::Md5Key,
            "`md5_key` must have 8 to 64 printable ASCII characters without spaces",
        ));
    }
    Ok(AppKey::new(key))
}

/// A message source: 1 to 20 printable ASCII characters without spaces (spec field
/// `msgSrc`, String 1–20).
fn check_msg_src(source: &str) -> Checked<String> {
    if !(1..=20).contains(&source.len()) || !source.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(MerchantRefused::invalid(
            MerchantField::MsgSrc,
            format!(
                "`msg_src` must have 1 to 20 printable ASCII characters without spaces, such as WWW.TEST.COM; received {:?}",
                source.chars().take(24).collect::<String>()
            ),
        ));
    }
    Ok(source.to_owned())
}

/// A source number: exactly 4 ASCII letters or digits.
fn check_msg_src_id(id: &str) -> Checked<String> {
    if id.len() != 4 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(MerchantRefused::invalid(
            MerchantField::MsgSrcId,
            "`msg_src_id` must be exactly 4 ASCII letters or digits",
        ));
    }
    Ok(id.to_owned())
}

/// A random source number: four digits or capital letters.
fn random_msg_src_id() -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    (0..4)
        .map(|_| char::from(ALPHABET[rand::random_range(0..ALPHABET.len())]))
        .collect()
}

fn check_sign_type(text: &str) -> Checked<SignType> {
    match text {
        "MD5" => Ok(SignType::Md5),
        "SHA256" => Ok(SignType::Sha256),
        _ => Err(MerchantRefused::invalid(
            MerchantField::SignType,
            format!(
                "`sign_type` must be SHA256 or MD5, not {:?}",
                text.chars().take(16).collect::<String>()
            ),
        )),
    }
}

fn check_payment_notices(text: &str) -> Checked<PaymentNotices> {
    PaymentNotices::parse(text).ok_or_else(|| {
        MerchantRefused::invalid(
            MerchantField::PaymentNotices,
            format!(
                "`payment_notices` must be \"product\" (as each product's sources say) or \"all\" (every change); received {text:?}"
            ),
        )
    })
}

fn check_delivery(text: &str) -> Checked<DeliveryMode> {
    DeliveryMode::parse(text).ok_or_else(|| {
        MerchantRefused::invalid(
            MerchantField::Delivery,
            format!(
                "`delivery` must be \"http\" (to the notify URLs) or \"relay\" (down the merchant's `ums-notify listen` session); received {:?}",
                text.chars().take(16).collect::<String>()
            ),
        )
    })
}

fn check_copies(copies: u32) -> Checked<u32> {
    if copies > MAX_EXTRA_COPIES {
        return Err(MerchantRefused::invalid(
            MerchantField::ExtraCopies,
            format!("`extra_copies` must be between 0 and {MAX_EXTRA_COPIES}"),
        ));
    }
    Ok(copies)
}

/// A part of a request budget: 1 to [`MAX_BUDGET`].
fn check_budget(field: MerchantField, value: u32) -> Checked<u32> {
    if !(1..=MAX_BUDGET).contains(&value) {
        return Err(MerchantRefused::invalid(
            field,
            format!(
                "`{}` must be between 1 and {MAX_BUDGET}, or null for the default",
                field.name()
            ),
        ));
    }
    Ok(value)
}
