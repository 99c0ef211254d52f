//! The merchant guide's worked signature example and its errCode table, checked against
//! the code (and the example against the test suite's own signing).

use std::collections::HashMap;

use crate::common::platform::body_signature;
use serde_json::Value;
use sha2::{Digest, Sha256};
use ums_notify::platform::wire::errcode::ErrCode;

const GUIDE: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/docs/merchant-guide.md"
));

/// The `name = value` lines of the guide's worked example.
fn guide_example() -> HashMap<String, String> {
    let marker = GUIDE
        .find("<!-- signature-example")
        .expect("the guide marks its example");
    let block = &GUIDE[marker..];
    let start = block.find("```text\n").expect("a text block") + "```text\n".len();
    let end = block[start..].find("```").expect("the block ends") + start;
    block[start..end]
        .lines()
        .map(|line| {
            let (name, value) = line.split_once(" = ").expect("name = value");
            (name.trim().to_owned(), value.to_owned())
        })
        .collect()
}

#[test]
fn the_guide_signature_example_is_right() {
    let e = guide_example();
    let body = e["body"].as_bytes();
    let hash = hex::encode(Sha256::digest(body));
    assert_eq!(e["bodyHash"], hash);
    let message = format!("{}{}{}{hash}", e["appId"], e["Timestamp"], e["Nonce"]);
    assert_eq!(e["message"], message);
    let expected = body_signature(
        &e["appId"],
        &e["appKey"],
        &e["Timestamp"],
        &e["Nonce"],
        body,
    );
    assert_eq!(e["Signature"], expected);
    // The service signs the same way.
    let ours = ums_notify::platform::auth::body_signature(
        &e["appId"],
        &e["appKey"],
        &e["Timestamp"],
        &e["Nonce"],
        body,
    );
    assert_eq!(e["Signature"], ours);
    // And the example body is a real notification: ten string fields.
    let value: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(value.as_object().unwrap().len(), 10);
}

#[test]
fn the_guide_documents_every_error_code() {
    for err in ErrCode::ALL {
        let (code, meaning) = (err.code(), err.meaning());
        let row = GUIDE
            .lines()
            .find(|line| line.starts_with(&format!("| `{code}` |")))
            .unwrap_or_else(|| panic!("the guide has no row for errCode {code}"));
        let words = meaning.replace('`', "");
        assert!(row.replace('`', "").contains(&words), "{code}: {row}");
    }
    let sdk = body_signature(
        "12345678901234567890123456789012",
        "67890123456789012345678901234567",
        "20170101120000",
        "09876543210987654321098765432109",
        b"A",
    );
    assert!(
        GUIDE.contains(&format!("`{sdk}`")),
        "the SDK vector in the guide"
    );
}
