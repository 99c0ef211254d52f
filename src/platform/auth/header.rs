//! `Authorization` headers: the credentials of either scheme, parsed.

use super::signature::{SCHEME_ACCESS_TOKEN, SCHEME_BODY_SIG};

/// The credentials carried by an `Authorization` header.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// `OPEN-ACCESS-TOKEN AccessToken=<token>[, AppId="…"]`.
    AccessToken {
        token: String,
        app_id: Option<String>,
    },
    /// `OPEN-BODY-SIG AppId="…", Timestamp="…", Nonce="…", Signature="…"`.
    BodySig {
        app_id: String,
        timestamp: String,
        nonce: String,
        signature: String,
    },
}

impl std::fmt::Debug for Credentials {
    /// The bearer token is redacted; everything else is shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::AccessToken { app_id, .. } => f
                .debug_struct("AccessToken")
                .field("token", &"***")
                .field("app_id", app_id)
                .finish(),
            Self::BodySig {
                app_id,
                timestamp,
                nonce,
                signature,
            } => f
                .debug_struct("BodySig")
                .field("app_id", app_id)
                .field("timestamp", timestamp)
                .field("nonce", nonce)
                .field("signature", signature)
                .finish(),
        }
    }
}

/// Why an `Authorization` header could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthParseError {
    #[error("Authorization header is empty")]
    Empty,
    #[error(
        "unsupported Authorization scheme {0:?} (expected OPEN-ACCESS-TOKEN or OPEN-BODY-SIG)"
    )]
    UnknownScheme(String),
    #[error("malformed Authorization parameter {0:?} (expected Name=value or Name=\"value\")")]
    MalformedParam(String),
    #[error("unexpected Authorization parameter {0:?}")]
    UnknownParam(String),
    #[error("Authorization parameter {0} is given more than once")]
    DuplicateParam(&'static str),
    #[error("Authorization parameter {0} is missing")]
    MissingParam(&'static str),
}

/// Parses an `Authorization` header value.
///
/// The scheme and parameter names match case-insensitively; parameters are
/// separated by commas with or without spaces, may come in any order, and their
/// values may be double-quoted or bare. Every parameter must be present once.
pub fn parse_authorization(header: &str) -> Result<Credentials, AuthParseError> {
    let header = header.trim();
    if header.is_empty() {
        return Err(AuthParseError::Empty);
    }
    let (scheme, rest) = header
        .split_once(|c: char| c.is_ascii_whitespace())
        .unwrap_or((header, ""));
    if scheme.eq_ignore_ascii_case(SCHEME_ACCESS_TOKEN) {
        let [token, app_id] = parse_params(rest, ["AccessToken", "AppId"])?;
        Ok(Credentials::AccessToken {
            token: token.ok_or(AuthParseError::MissingParam("AccessToken"))?,
            app_id,
        })
    } else if scheme.eq_ignore_ascii_case(SCHEME_BODY_SIG) {
        let [app_id, timestamp, nonce, signature] =
            parse_params(rest, ["AppId", "Timestamp", "Nonce", "Signature"])?;
        let require = |value: Option<String>, name| value.ok_or(AuthParseError::MissingParam(name));
        Ok(Credentials::BodySig {
            app_id: require(app_id, "AppId")?,
            timestamp: require(timestamp, "Timestamp")?,
            nonce: require(nonce, "Nonce")?,
            signature: require(signature, "Signature")?,
        })
    } else {
        Err(AuthParseError::UnknownScheme(
            scheme.chars().take(32).collect(),
        ))
    }
}

/// Splits `Name=value` parameters and assigns each to the slot of its name.
fn parse_params<const N: usize>(
    params: &str,
    names: [&'static str; N],
) -> Result<[Option<String>; N], AuthParseError> {
    let mut values: [Option<String>; N] = std::array::from_fn(|_| None);
    if params.trim().is_empty() {
        return Ok(values);
    }
    for param in params.split(',').map(str::trim) {
        let malformed = || AuthParseError::MalformedParam(param.chars().take(64).collect());
        let (name, value) = param.split_once('=').ok_or_else(malformed)?;
        let (name, value) = (name.trim(), value.trim());
        let value = match value.strip_prefix('"') {
            Some(quoted) => quoted.strip_suffix('"').ok_or_else(malformed)?,
            None => value,
        };
        if name.is_empty() || value.is_empty() || value.contains('"') {
            return Err(malformed());
        }
        let slot = names
            .iter()
            .position(|known| known.eq_ignore_ascii_case(name))
            .ok_or_else(|| AuthParseError::UnknownParam(name.chars().take(32).collect()))?;
        if values[slot].replace(value.to_owned()).is_some() {
            return Err(AuthParseError::DuplicateParam(names[slot]));
        }
    }
    Ok(values)
}
