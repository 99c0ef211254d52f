//! Credential rotation: a merchant's new appKey, or its message source's new
//! communication key (`md5_key`), with a grace period during which the key it replaced
//! is still accepted on requests ([`Grace`], [`Merchant::accepted_app_keys`],
//! [`Merchant::accepted_md5_keys`]); the rules of a rotation request and the merchant
//! service's [`MerchantService::rotate`], for the admin API and the console alike.
//!
//! What a rotation changes at once: the merchant's key (every merchant of its message
//! source, for the communication key, which the source's merchants share), so every
//! notice signed from then on is signed with the new key. What the grace keeps: requests
//! signed with the replaced key are accepted until the grace ends (not at that instant),
//! and access tokens obtained before the rotation, or with the replaced key during the
//! grace, expire at the latest when it ends. A second rotation of the same credential
//! during a grace replaces it: the key the first one kept stops being accepted at once.

use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::duration::{format_duration, parse_duration};
use crate::platform::auth::AppKey;
use crate::platform::merchants::merchant::Merchant;
use crate::platform::merchants::requests::{MerchantField, MerchantRefused};
use crate::platform::merchants::service::MerchantService;
use crate::platform::wire::time::format_cst;

/// The grace of a rotation that names none.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(3600);
/// The longest grace a rotation may ask for.
pub const MAX_GRACE: Duration = Duration::from_secs(7 * 24 * 3600);

/// Which secret a rotation replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Credential {
    /// The appKey: it signs the merchant's platform API calls (`OPEN-BODY-SIG`,
    /// `OPEN-FORM-PARAM`, the access-token request) and the platform's contract notices.
    AppKey,
    /// The communication key of the merchant's message source: it signs payment-result
    /// notices and the bill gateway's calls and answers, for every merchant of the source.
    Md5Key,
}

impl Credential {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::AppKey => "app_key",
            Self::Md5Key => "md5_key",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "app_key" => Some(Self::AppKey),
            "md5_key" => Some(Self::Md5Key),
            _ => None,
        }
    }

    /// The key as the merchant's documentation names it.
    pub const fn wire_name(self) -> &'static str {
        match self {
            Self::AppKey => "appKey",
            Self::Md5Key => "communication key",
        }
    }
}

/// The key a rotation replaced, accepted while `now < until`.
#[derive(Debug, Clone)]
pub struct Grace {
    /// Redacted in `Debug`, like every key.
    pub previous: AppKey,
    pub until: DateTime<Utc>,
}

impl Grace {
    pub fn lasts_at(&self, now: DateTime<Utc>) -> bool {
        now < self.until
    }
}

/// A key a request may be signed with now.
#[derive(Debug, Clone, Copy)]
pub struct AcceptedKey<'a> {
    pub key: &'a AppKey,
    /// When the key stops being accepted: the end of its rotation's grace. `None` for the
    /// current key.
    pub until: Option<DateTime<Utc>>,
}

fn accepted<'a>(
    current: &'a AppKey,
    grace: Option<&'a Grace>,
    now: DateTime<Utc>,
) -> Vec<AcceptedKey<'a>> {
    let mut keys = vec![AcceptedKey {
        key: current,
        until: None,
    }];
    if let Some(grace) = grace.filter(|grace| grace.lasts_at(now)) {
        keys.push(AcceptedKey {
            key: &grace.previous,
            until: Some(grace.until),
        });
    }
    keys
}

/// Words for a refused signature while a grace lasts: which keys were tried, so a
/// merchant rehearsing a rotation sees why. Empty when only the current key is accepted.
pub fn grace_note(credential: Credential, keys: &[AcceptedKey<'_>]) -> String {
    match keys.iter().find_map(|key| key.until) {
        Some(until) => format!(
            " (the {} was rotated: the current key and the one it replaced, until {} China Standard Time, were tried)",
            credential.wire_name(),
            format_cst(until)
        ),
        None => String::new(),
    }
}

impl Merchant {
    /// The appKeys a request may be signed with at `now`: the current one first, then
    /// the one a rotation replaced while its grace lasts.
    pub fn accepted_app_keys(&self, now: DateTime<Utc>) -> Vec<AcceptedKey<'_>> {
        accepted(&self.app_key, self.app_key_grace.as_ref(), now)
    }

    /// The communication keys of the merchant's message source a request may be signed
    /// with at `now`, the current one first.
    pub fn accepted_md5_keys(&self, now: DateTime<Utc>) -> Vec<AcceptedKey<'_>> {
        accepted(&self.md5_key, self.md5_key_grace.as_ref(), now)
    }

    /// The rotations whose grace lasts at `now`, with when each ends.
    pub fn graces(&self, now: DateTime<Utc>) -> Vec<(Credential, DateTime<Utc>)> {
        [
            (Credential::AppKey, &self.app_key_grace),
            (Credential::Md5Key, &self.md5_key_grace),
        ]
        .into_iter()
        .filter_map(|(credential, grace)| {
            grace
                .as_ref()
                .filter(|grace| grace.lasts_at(now))
                .map(|grace| (credential, grace.until))
        })
        .collect()
    }
}

/// A rotation to make, as the admin API's JSON body and the console's form give it.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateCredential {
    /// `app_key` or `md5_key`.
    #[schema(value_type = Credential, required = true)]
    pub credential: Option<String>,
    /// How long the replaced key stays accepted, such as `1h`, `30m` or `0s` (none):
    /// `1h` when left out, at most `7d`.
    #[schema(example = "1h")]
    pub grace: Option<String>,
}

/// A rotation made. The new key is shown once, in the answer to the rotation.
#[derive(Debug, Clone)]
pub struct Rotation {
    /// The merchant as rotated.
    pub merchant: Merchant,
    pub credential: Credential,
    /// The new key.
    pub key: AppKey,
    pub rotated_at: DateTime<Utc>,
    pub grace: Duration,
    /// When the replaced key stops being accepted.
    pub grace_until: DateTime<Utc>,
    /// The merchants that took the new key, by `mid`: the merchant itself for an appKey,
    /// every merchant of its message source for a communication key.
    pub merchants: Vec<String>,
}

type Checked<T> = Result<T, MerchantRefused>;

impl MerchantService {
    /// Replaces merchant `mid`'s `credential` with a new random key, keeping the replaced
    /// one accepted for the grace the request asks for. A refused request changes
    /// nothing.
    pub async fn rotate(
        &self,
        mid: &str,
        request: RotateCredential,
    ) -> anyhow::Result<Checked<Rotation>> {
        let (credential, grace) = match checked(request) {
            Ok(checked) => checked,
            Err(refused) => return Ok(Err(refused)),
        };
        let now = self.clock.now();
        let grace_until =
            now + chrono::Duration::from_std(grace).context("a grace of at most 7d is in range")?;
        let key = AppKey::generate();
        let Some((merchant, merchants)) = self
            .store
            .rotate_key(mid, credential, &key, grace_until, now)
            .await?
        else {
            return Ok(Err(MerchantRefused::NotFound(mid.to_owned())));
        };
        // The times as stored (to the database's precision), as the merchant view shows
        // them.
        let stored = match credential {
            Credential::AppKey => merchant.app_key_grace.as_ref(),
            Credential::Md5Key => merchant.md5_key_grace.as_ref(),
        };
        let grace_until = stored.map_or(grace_until, |grace| grace.until);
        let rotated_at = merchant.updated_at;
        tracing::info!(
            %mid,
            credential = credential.as_str(),
            grace = %format_duration(grace),
            merchants = merchants.len(),
            "credential rotated"
        );
        Ok(Ok(Rotation {
            merchant,
            credential,
            key,
            rotated_at,
            grace,
            grace_until,
            merchants,
        }))
    }
}

fn checked(request: RotateCredential) -> Checked<(Credential, Duration)> {
    let credential = match request.credential.as_deref() {
        None => {
            return Err(MerchantRefused::invalid(
                MerchantField::Credential,
                "`credential` is required: \"app_key\" or \"md5_key\"",
            ))
        }
        Some(text) => Credential::parse(text).ok_or_else(|| {
            MerchantRefused::invalid(
                MerchantField::Credential,
                format!(
                    "`credential` must be \"app_key\" or \"md5_key\"; received {:?}",
                    text.chars().take(32).collect::<String>()
                ),
            )
        })?,
    };
    let grace = match request.grace.as_deref() {
        None => DEFAULT_GRACE,
        Some(text) => {
            let bad = |why: String| MerchantRefused::invalid(MerchantField::Grace, why);
            let grace = parse_duration(text).map_err(|e| bad(format!("`grace`: {e}")))?;
            if grace > MAX_GRACE {
                return Err(bad(format!(
                    "`grace` must be at most {}; received {text:?}",
                    format_duration(MAX_GRACE)
                )));
            }
            grace
        }
    };
    Ok((credential, grace))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(credential: Option<&str>, grace: Option<&str>) -> RotateCredential {
        RotateCredential {
            credential: credential.map(str::to_owned),
            grace: grace.map(str::to_owned),
        }
    }

    #[test]
    fn a_request_names_its_credential_and_a_bounded_grace() {
        assert_eq!(
            checked(request(Some("app_key"), None)).unwrap(),
            (Credential::AppKey, DEFAULT_GRACE)
        );
        assert_eq!(
            checked(request(Some("md5_key"), Some("0s"))).unwrap(),
            (Credential::Md5Key, Duration::ZERO)
        );
        assert_eq!(
            checked(request(Some("md5_key"), Some("7d"))).unwrap().1,
            MAX_GRACE
        );
        for (credential, grace, field) in [
            (None, None, MerchantField::Credential),
            (Some("appKey"), None, MerchantField::Credential),
            (Some("app_key"), Some("8d"), MerchantField::Grace),
            (Some("app_key"), Some("soon"), MerchantField::Grace),
            (Some("app_key"), Some("-1h"), MerchantField::Grace),
        ] {
            let refused = checked(request(credential, grace)).unwrap_err();
            assert_eq!(refused.field(), Some(field), "{refused}");
        }
        let refused = checked(request(Some("app_key"), Some("8d"))).unwrap_err();
        assert!(refused.to_string().contains("at most 7d"), "{refused}");
        assert!(refused.to_string().contains("\"8d\""), "{refused}");
    }

    #[test]
    fn the_replaced_key_is_accepted_until_its_grace_ends_not_at_it() {
        let current = AppKey::new("new");
        let until = DateTime::parse_from_rfc3339("2024-07-01T03:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let grace = Grace {
            previous: AppKey::new("old"),
            until,
        };
        let before = accepted(&current, Some(&grace), until - chrono::Duration::seconds(1));
        assert_eq!(before.len(), 2);
        assert_eq!(before[0].key.expose(), "new");
        assert_eq!(before[1].key.expose(), "old");
        assert_eq!(before[1].until, Some(until));
        assert!(grace_note(Credential::AppKey, &before).contains("until 2024-07-01 11:00:00"));
        let at_end = accepted(&current, Some(&grace), until);
        assert_eq!(at_end.len(), 1);
        assert_eq!(grace_note(Credential::AppKey, &at_end), "");
        assert_eq!(format!("{grace:?}").matches("old").count(), 0);
    }
}
