//! Helpers of the contract tests: the ten fields of a contract notice, read without the
//! crate.

use serde_json::Value;

pub const TEN_FIELDS: [&str; 10] = [
    "requestTimestamp",
    "mid",
    "contractNo",
    "contractId",
    "contractState",
    "contractSignedTime",
    "contractExpiredTime",
    "singleLimitAmt",
    "avlNum",
    "planId",
];

/// The notification body as a JSON object with exactly the ten fields, all strings.
pub fn ten_fields(body: &[u8]) -> serde_json::Map<String, Value> {
    let value: Value = serde_json::from_slice(body).expect("JSON body");
    let object = value.as_object().expect("a JSON object").clone();
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    let mut expected = TEN_FIELDS.to_vec();
    keys.sort_unstable();
    expected.sort_unstable();
    assert_eq!(keys, expected, "exactly the ten documented fields");
    assert!(
        object.values().all(Value::is_string),
        "all strings: {value}"
    );
    object
}

/// The `contractState` of a notice body.
pub fn state_of(body: &[u8]) -> String {
    let body: Value = serde_json::from_slice(body).expect("JSON body");
    body["contractState"]
        .as_str()
        .expect("contractState")
        .to_owned()
}
