//! The two signatures of the open platform: the access-token request's `signature`
//! (SHA-256 hex) and `OPEN-BODY-SIG`'s (HMAC-SHA256 of the body's digest, Base64), with
//! their constant-time checks and the header that carries the latter.

use base64::{engine::general_purpose::STANDARD, Engine as _};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Scheme name of access-token authentication.
pub const SCHEME_ACCESS_TOKEN: &str = "OPEN-ACCESS-TOKEN";
/// Scheme name of body-signature authentication.
pub const SCHEME_BODY_SIG: &str = "OPEN-BODY-SIG";
/// The only `signMethod` of an access-token request.
pub const SIGN_METHOD_SHA256: &str = "SHA256";
/// Length of generated appIds, appKeys and nonces (as in the platform's samples).
pub const CREDENTIAL_LEN: usize = 32;

/// Lowercase hex SHA-256 of `appId + timestamp + nonce + appKey`: the
/// `signature` of a `POST /v1/token/access` request.
pub fn access_token_signature(app_id: &str, timestamp: &str, nonce: &str, app_key: &str) -> String {
    let digest = Sha256::new()
        .chain_update(app_id)
        .chain_update(timestamp)
        .chain_update(nonce)
        .chain_update(app_key)
        .finalize();
    hex::encode(digest)
}

/// Checks an access-token request signature in constant time. Hex digits are
/// accepted in either case.
pub fn verify_access_token_signature(
    app_id: &str,
    timestamp: &str,
    nonce: &str,
    app_key: &str,
    signature: &str,
) -> bool {
    let expected = access_token_signature(app_id, timestamp, nonce, app_key);
    let given = signature.to_ascii_lowercase();
    bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
}

/// `Base64(HMAC-SHA256(key = appKey, msg = appId + timestamp + nonce + lowercase_hex(SHA-256(body))))`:
/// the `Signature` of an `OPEN-BODY-SIG` header.
pub fn body_signature(
    app_id: &str,
    app_key: &str,
    timestamp: &str,
    nonce: &str,
    body: &[u8],
) -> String {
    let body_hash = hex::encode(Sha256::digest(body));
    let mut mac = Hmac::<Sha256>::new_from_slice(app_key.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(app_id.as_bytes());
    mac.update(timestamp.as_bytes());
    mac.update(nonce.as_bytes());
    mac.update(body_hash.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

/// The full `Authorization` value of a body-signed request:
/// `OPEN-BODY-SIG AppId="…", Timestamp="…", Nonce="…", Signature="…"`.
pub fn open_body_sig_header(
    app_id: &str,
    app_key: &str,
    timestamp: &str,
    nonce: &str,
    body: &[u8],
) -> String {
    let signature = body_signature(app_id, app_key, timestamp, nonce, body);
    format!(
        r#"{SCHEME_BODY_SIG} AppId="{app_id}", Timestamp="{timestamp}", Nonce="{nonce}", Signature="{signature}""#
    )
}

/// Checks an `OPEN-BODY-SIG` signature in constant time.
pub fn verify_body_signature(
    app_id: &str,
    app_key: &str,
    timestamp: &str,
    nonce: &str,
    body: &[u8],
    signature: &str,
) -> bool {
    let expected = body_signature(app_id, app_key, timestamp, nonce, body);
    bool::from(expected.as_bytes().ct_eq(signature.as_bytes()))
}
