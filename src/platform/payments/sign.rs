//! The `sign` field of the payment-result notices (支付结果通知): form parameters signed
//! with the merchant's communication key (通讯密钥, "md5Key").
//!
//! 1. every parameter except `sign`, leaving out empty values;
//! 2. sorted by name in ASCII (byte) order;
//! 3. joined as `name=value` with `&`;
//! 4. the key appended directly (no `&key=`);
//! 5. hashed with MD5 or SHA-256 as `signType` says, written as hex.
//!
//! This is the netpay spec's rule (V3.5 §14), and its two vectors and a genuine
//! platform-sent notice hold under it (see the known-answer tests). `signType`, when
//! present, is a parameter like any other and so signed; when absent the hash is MD5.
//! The hex is written UPPERCASE, as the spec prints MD5 and the platform sends it;
//! verification here accepts either case (the spec prints its SHA-256 example in lower
//! case).

use md5::Md5;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub use crate::platform::merchants::merchant::SignType;

/// The string that is hashed, before the key: steps 1 to 3.
pub fn signed_string(params: &[(String, String)]) -> String {
    let mut kept: Vec<&(String, String)> = params
        .iter()
        .filter(|(name, value)| name != "sign" && !is_blank(value))
        .collect();
    kept.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    kept.iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// Whether a value is empty or only whitespace: the spec (V3.4) neither sends nor
/// signs such a value.
pub fn is_blank(value: &str) -> bool {
    value
        .trim_matches(|c: char| c.is_ascii_whitespace())
        .is_empty()
}

/// The `sign` of `params`: UPPERCASE hex of the hash of the signed string and the key.
pub fn sign(params: &[(String, String)], md5_key: &str, sign_type: SignType) -> String {
    let message = signed_string(params) + md5_key;
    let digest = match sign_type {
        SignType::Md5 => hex::encode(Md5::digest(message.as_bytes())),
        SignType::Sha256 => hex::encode(Sha256::digest(message.as_bytes())),
    };
    digest.to_ascii_uppercase()
}

/// Whether `params` carry a right `sign` for `md5_key`, hashed as their `signType` says
/// (`MD5` when they name none); hex of either case is accepted.
pub fn verify(params: &[(String, String)], md5_key: &str) -> bool {
    let Some(given) = params.iter().find(|(name, _)| name == "sign") else {
        return false;
    };
    // A blank signType is neither sent nor signed (V3.4): MD5, as when absent.
    let sign_type = params
        .iter()
        .find(|(name, value)| name == "signType" && !is_blank(value))
        .map_or(Some(SignType::Md5), |(_, value)| SignType::parse(value));
    let Some(sign_type) = sign_type else {
        return false;
    };
    let expected = sign(params, md5_key, sign_type);
    let given = given.1.to_ascii_uppercase();
    bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn the_signed_string_sorts_by_byte_skips_empty_values_and_sign() {
        let p = params(&[
            ("totalAmount", "1"),
            ("sign", "X"),
            ("billNo", "B1"),
            ("attachedData", ""),
            ("memo", " \t\r\n"),
            ("Zeta", "z"),
            ("signType", "SHA256"),
        ]);
        assert_eq!(
            signed_string(&p),
            "Zeta=z&billNo=B1&signType=SHA256&totalAmount=1"
        );
    }

    #[test]
    fn sign_and_verify_agree_whatever_the_case_of_the_hex() {
        let mut p = params(&[
            ("billNo", "B1"),
            ("signType", "MD5"),
            ("totalAmount", "100"),
        ]);
        let value = sign(&p, "KEY", SignType::Md5);
        assert_eq!(value, value.to_ascii_uppercase());
        assert_eq!(value.len(), 32);
        p.push(("sign".to_owned(), value.to_ascii_lowercase()));
        assert!(verify(&p, "KEY"));
        assert!(!verify(&p, "OTHER"));
        p[2].1 = "101".to_owned();
        assert!(!verify(&p, "KEY"), "a changed amount breaks the sign");
        assert_eq!(SignType::parse("sha256"), Some(SignType::Sha256));
        assert_eq!(SignType::parse("RSA"), None);
    }
}
