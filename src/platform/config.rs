//! Settings of the platform simulation, flattened into `serve`'s command line.

use std::time::Duration;

use clap::Args;

use crate::duration::parse_duration;

#[derive(Debug, Clone, Args)]
pub struct PlatformArgs {
    /// How far a signed request's timestamp may be from the platform's clock, either way.
    /// A nonce cannot be used twice within this window.
    #[arg(long = "platform-auth-window", env = "UMS_NOTIFY_PLATFORM_AUTH_WINDOW", default_value = "10m", value_parser = parse_duration)]
    pub auth_window: Duration,
    /// How long an access token from `POST /v1/token/access` stays valid.
    #[arg(long = "platform-token-ttl", env = "UMS_NOTIFY_PLATFORM_TOKEN_TTL", default_value = "1h", value_parser = parse_duration)]
    pub token_ttl: Duration,
    /// How long a contract is valid after its signature (`contractExpiredTime`).
    #[arg(long = "platform-contract-term", env = "UMS_NOTIFY_PLATFORM_CONTRACT_TERM", default_value = "365d", value_parser = parse_duration)]
    pub contract_term: Duration,
    /// How often due automatic consents are looked for (and expired tokens and nonces
    /// pruned, at most once a minute).
    #[arg(long = "platform-consent-poll", env = "UMS_NOTIFY_PLATFORM_CONSENT_POLL", default_value = "1s", value_parser = parse_duration)]
    pub consent_poll: Duration,
    /// The address buyers' browsers reach the sandbox at, such as
    /// `http://192.168.1.20:8080`: the base of the QR code URLs of new bills
    /// (`billQRCode`, `{this}/bills/qrCode.do?id=…`), which open the sandbox's bill page.
    /// Default: `http://` and the address the server listens on (loopback for an
    /// unspecified one).
    #[arg(long = "platform-public-url", env = "UMS_NOTIFY_PLATFORM_PUBLIC_URL", value_parser = parse_public_url)]
    pub public_url: Option<String>,
}

/// A base URL: `http` or `https`, a host, no query or fragment; without a trailing `/`.
fn parse_public_url(text: &str) -> Result<String, String> {
    let url = url::Url::parse(text).map_err(|error| format!("not a URL ({error}): {text:?}"))?;
    if !matches!(url.scheme(), "http" | "https")
        || url.host().is_none()
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return Err(format!(
            "must be an http or https URL with a host and no query or fragment, such as \
             http://192.168.1.20:8080; received {text:?}"
        ));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

impl PlatformArgs {
    /// The base of the QR code URLs: the public URL, or the address `listening`.
    pub fn code_base(&self, listening: std::net::SocketAddr) -> String {
        if let Some(url) = &self.public_url {
            return url.clone();
        }
        let mut addr = listening;
        if addr.ip().is_unspecified() {
            addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        format!("http://{addr}")
    }

    /// Checks what a single flag cannot.
    pub fn validate(&self) -> anyhow::Result<()> {
        const DAY: u64 = 24 * 3600;
        let within = |value: Duration, min: Duration, max_days: u64, name: &str| {
            if value < min || value > Duration::from_secs(max_days * DAY) {
                anyhow::bail!("{name} must be between {min:?} and {max_days}d");
            }
            Ok(())
        };
        let second = Duration::from_secs(1);
        within(
            self.auth_window,
            second,
            1,
            "UMS_NOTIFY_PLATFORM_AUTH_WINDOW",
        )?;
        within(self.token_ttl, second, 30, "UMS_NOTIFY_PLATFORM_TOKEN_TTL")?;
        within(
            self.contract_term,
            second,
            36_500,
            "UMS_NOTIFY_PLATFORM_CONTRACT_TERM",
        )?;
        within(
            self.consent_poll,
            Duration::from_millis(1),
            1,
            "UMS_NOTIFY_PLATFORM_CONSENT_POLL",
        )
    }
}
