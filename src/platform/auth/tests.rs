//! The signatures, headers and credentials checked against the platform's published vectors.

use super::*;
use chrono::TimeZone;
use sha2::{Digest, Sha256};

const APP_ID: &str = "12345678901234567890123456789012";
const APP_KEY: &str = "67890123456789012345678901234567";
const TS: &str = "20170101120000";
const NONCE: &str = "09876543210987654321098765432109";
const VECTOR_SIG: &str = "GINsCTyNKTpEI9KXO16KqZJ64fOyAytEKl8aaR/Dy08=";

#[test]
fn body_signature_matches_published_vector() {
    assert_eq!(body_signature(APP_ID, APP_KEY, TS, NONCE, b"A"), VECTOR_SIG);
    let verify = |body: &[u8], sig| verify_body_signature(APP_ID, APP_KEY, TS, NONCE, body, sig);
    assert!(verify(b"A", VECTOR_SIG));
    assert!(!verify(b"B", VECTOR_SIG));
    assert!(!verify(b"A", ""));
    assert!(!verify(b"A", &VECTOR_SIG[..43]));
}

#[test]
fn access_token_signature_is_lowercase_hex_sha256_of_concatenation() {
    let sig = access_token_signature(APP_ID, TS, NONCE, APP_KEY);
    let concatenated = format!("{APP_ID}{TS}{NONCE}{APP_KEY}");
    assert_eq!(sig, hex::encode(Sha256::digest(concatenated)));
    assert_eq!(sig, sig.to_lowercase());
    let verify = |key, sig: &str| verify_access_token_signature(APP_ID, TS, NONCE, key, sig);
    assert!(verify(APP_KEY, &sig));
    assert!(verify(APP_KEY, &sig.to_uppercase()));
    assert!(!verify("other", &sig));
}

#[test]
fn header_round_trips() {
    let header = open_body_sig_header(APP_ID, APP_KEY, TS, NONCE, b"A");
    let expected = format!(
        r#"OPEN-BODY-SIG AppId="{APP_ID}", Timestamp="{TS}", Nonce="{NONCE}", Signature="{VECTOR_SIG}""#
    );
    assert_eq!(header, expected);
    let creds = Credentials::BodySig {
        app_id: APP_ID.into(),
        timestamp: TS.into(),
        nonce: NONCE.into(),
        signature: VECTOR_SIG.into(),
    };
    assert_eq!(parse_authorization(&header), Ok(creds));
}

#[test]
fn body_sig_variants_are_accepted() {
    let expected = Credentials::BodySig {
        app_id: "a".into(),
        timestamp: "t".into(),
        nonce: "n".into(),
        signature: "s==".into(),
    };
    for header in [
        r#"OPEN-BODY-SIG AppId="a",Timestamp="t",Nonce="n",Signature="s==""#,
        r#"open-body-sig appid="a", timestamp="t", nonce="n", signature="s==""#,
        "OPEN-BODY-SIG APPID=a , NONCE=n,SIGNATURE=s== ,TIMESTAMP=t",
        r#"  OPEN-BODY-SIG   Signature="s==", Nonce=n, Timestamp="t", AppId=a  "#,
    ] {
        assert_eq!(
            parse_authorization(header).as_ref(),
            Ok(&expected),
            "{header}"
        );
    }
}

#[test]
fn access_token_variants_are_accepted() {
    let token = |t: &str, a: Option<&str>| {
        Ok(Credentials::AccessToken {
            token: t.into(),
            app_id: a.map(Into::into),
        })
    };
    let parse = |params: &str| parse_authorization(&format!("OPEN-ACCESS-TOKEN {params}"));
    assert_eq!(parse("AccessToken=abc123"), token("abc123", None));
    assert_eq!(parse(r#"AccessToken="abc123""#), token("abc123", None));
    assert_eq!(
        parse(r#"AccessToken=abc, AppId="x""#),
        token("abc", Some("x"))
    );
    assert_eq!(parse("AccessToken=abc,AppId=x"), token("abc", Some("x")));
    let lower = parse_authorization("open-access-token accesstoken=abc");
    assert_eq!(lower, token("abc", None));
}

#[test]
fn bad_headers_are_rejected_with_a_reason() {
    use AuthParseError::*;
    let token = |params: &str| parse_authorization(&format!("OPEN-ACCESS-TOKEN {params}"));
    let sig = |params: &str| parse_authorization(&format!("OPEN-BODY-SIG {params}"));
    assert_eq!(parse_authorization(""), Err(Empty));
    assert_eq!(parse_authorization("   "), Err(Empty));
    assert_eq!(
        parse_authorization("Bearer abc"),
        Err(UnknownScheme("Bearer".into()))
    );
    assert_eq!(
        parse_authorization("OPEN-ACCESS-TOKEN"),
        Err(MissingParam("AccessToken"))
    );
    assert_eq!(token("AppId=x"), Err(MissingParam("AccessToken")));
    assert_eq!(
        token("AccessToken=a, AccessToken=b"),
        Err(DuplicateParam("AccessToken"))
    );
    assert_eq!(token("abc"), Err(MalformedParam("abc".into())));
    assert_eq!(
        sig("AppId=a, Timestamp=t, Nonce=n"),
        Err(MissingParam("Signature"))
    );
    assert_eq!(
        sig("Timestamp=t, Nonce=n, Signature=s"),
        Err(MissingParam("AppId"))
    );
    let all = "Timestamp=t, Nonce=n, Signature=s";
    assert_eq!(
        sig(&format!("AppId=a, appid=b, {all}")),
        Err(DuplicateParam("AppId"))
    );
    let extra = sig(&format!("AppId=a, Extra=1, {all}"));
    assert_eq!(extra, Err(UnknownParam("Extra".into())));
    let unterminated = sig(&format!("AppId=\"a, {all}"));
    assert_eq!(unterminated, Err(MalformedParam("AppId=\"a".into())));
    let empty_value = sig(&format!("AppId=, {all}"));
    assert_eq!(empty_value, Err(MalformedParam("AppId=".into())));
    let empty_param = sig(&format!("AppId=a,, {all}"));
    assert_eq!(empty_param, Err(MalformedParam(String::new())));
    let message = sig("AppId=a").unwrap_err().to_string();
    assert_eq!(message, "Authorization parameter Timestamp is missing");
}

#[test]
fn credentials_debug_redacts_token() {
    let creds = parse_authorization("OPEN-ACCESS-TOKEN AccessToken=s3cret").unwrap();
    assert!(!format!("{creds:?}").contains("s3cret"));
}

#[test]
fn compact_timestamp_is_china_standard_time() {
    let instant = parse_compact_timestamp(TS).unwrap();
    assert_eq!(instant, Utc.with_ymd_and_hms(2017, 1, 1, 4, 0, 0).unwrap());
    assert_eq!(format_compact_timestamp(instant), TS);
    let late = Utc.with_ymd_and_hms(2024, 2, 29, 16, 30, 5).unwrap();
    assert_eq!(format_compact_timestamp(late), "20240301003005");
    assert_eq!(parse_compact_timestamp("20240301003005"), Ok(late));
}

#[test]
fn compact_timestamp_is_strict() {
    let bad = [
        "",
        "2017010112000",
        "201701011200000",
        "2017-01-01 12:00:00",
        "2017010112000a",
        "+2017010112000",
        "20170230120000",
        "20171301120000",
        "20170101240000",
        "20170101126000",
        "20170101120060",
        "２01701011200",
    ];
    for bad in bad {
        assert!(parse_compact_timestamp(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn generated_credentials_are_alphanumeric_and_distinct() {
    let a = generate_credential(CREDENTIAL_LEN);
    assert_eq!(a.len(), CREDENTIAL_LEN);
    assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()));
    assert_ne!(a, generate_credential(CREDENTIAL_LEN));
    assert_eq!(generate_credential(0), "");
}

#[test]
fn app_key_is_redacted_in_debug_but_serialized_plain() {
    let key = AppKey::new("topsecret");
    assert_eq!(format!("{key:?}"), "AppKey(***)");
    assert_eq!(serde_json::to_string(&key).unwrap(), r#""topsecret""#);
    let back: AppKey = serde_json::from_str(r#""topsecret""#).unwrap();
    assert_eq!(back, key);
    assert_eq!(back.expose(), "topsecret");
    assert_ne!(AppKey::generate(), AppKey::generate());
    assert_eq!(AppKey::generate().expose().len(), CREDENTIAL_LEN);
}
