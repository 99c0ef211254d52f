//! Tests of the payment-element query: its sign, and the judge of each mistake.

use super::*;
use serde_json::{json, Map};

const KEY: &str = "fcAmtnx7MwismjWNhNKdHC44mNXtnEQeJkRrhKJwyrW2ysRR";

fn scanned() -> Scanned<'static> {
    Scanned {
        msg_src: "WWW.TEST.COM",
        mid: "898340149000005",
        tid: "88880001",
        qr_code_id: "31942026120300000000000001",
        system_id: "",
        src_reserve: "",
        member_id: "M1",
        counter_no: "",
    }
}

#[test]
fn the_query_is_signed_with_sha256_and_leaves_out_blank_fields() {
    let fields = query(&scanned(), "q-1", "2026-12-03 12:00:00", KEY);
    let names: Vec<&str> = fields.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "msgId",
            "msgSrc",
            "requestTimestamp",
            "mid",
            "tid",
            "qrCodeId",
            "memberId",
            "sign"
        ]
    );
    let sign = &fields.last().unwrap().1;
    assert_eq!(sign.len(), 64, "SHA-256");
    let parsed = Message::parse(&body(&fields)).unwrap();
    assert_eq!(
        &sign::sign(&parsed.signed, KEY, SignType::Sha256),
        sign,
        "the body carries what was signed"
    );
    assert_ne!(&sign::sign(&parsed.signed, KEY, SignType::Md5), sign);
}

fn answer(fields: Value) -> Vec<u8> {
    let map = fields.as_object().unwrap().clone();
    serde_json::to_vec(&Value::Object(signed_answer(map, KEY))).unwrap()
}

fn right() -> Value {
    json!({"errCode": "SUCCESS", "errMsg": "ok", "msgId": "q-1",
           "responseTimestamp": "2026-12-03 12:00:01", "totalAmount": "1234",
           "billDesc": "咖啡", "memberId": "M1"})
}

#[test]
fn a_right_answer_gives_its_amount() {
    let verdict = judge(Some(200), &answer(right()), "q-1", &[KEY]);
    assert_eq!(verdict.problems, Vec::<String>::new());
    assert_eq!(verdict.amount, Some(1234));
    assert_eq!(verdict.bill_desc, "咖啡");
}

#[test]
fn each_mistake_is_named() {
    let mut unsigned = right();
    unsigned["sign"] = json!("00");
    let body = serde_json::to_vec(&unsigned).unwrap();
    let cases: Vec<(Option<u16>, Vec<u8>, &str)> = vec![
        (Some(500), answer(right()), "expected HTTP 200, got 500"),
        (None, vec![], "no answer"),
        (Some(200), b"SUCCESS".to_vec(), "cannot be read"),
        (Some(200), body, "sign does not match"),
        (
            Some(200),
            answer(
                json!({"errCode": "FAIL", "errMsg": "售罄", "responseTimestamp": "2026-12-03 12:00:01", "totalAmount": "1"}),
            ),
            "售罄",
        ),
        (
            Some(200),
            answer(
                json!({"errCode": "SUCCESS", "errMsg": "ok", "responseTimestamp": "2026-12-03 12:00:01", "totalAmount": "0"}),
            ),
            "1 to 100000000",
        ),
        (
            Some(200),
            answer(
                json!({"errCode": "SUCCESS", "errMsg": "ok", "responseTimestamp": "2026-12-03 12:00:01", "totalAmount": "1.5"}),
            ),
            "whole number",
        ),
        (
            Some(200),
            answer(
                json!({"errCode": "SUCCESS", "errMsg": "ok", "responseTimestamp": "now", "totalAmount": "1"}),
            ),
            "yyyy-MM-dd",
        ),
        (
            Some(200),
            answer(
                json!({"errCode": "SUCCESS", "responseTimestamp": "2026-12-03 12:00:01", "totalAmount": "1"}),
            ),
            "errMsg is required",
        ),
        (
            Some(200),
            answer(
                json!({"errCode": "SUCCESS", "errMsg": "ok", "msgId": "other", "responseTimestamp": "2026-12-03 12:00:01", "totalAmount": "1"}),
            ),
            "msgId must be",
        ),
    ];
    for (status, body, says) in cases {
        let verdict = judge(status, &body, "q-1", &[KEY]);
        assert_eq!(verdict.amount, None, "{says}");
        assert!(
            verdict.problems.iter().any(|p| p.contains(says)),
            "{says:?} not in {:?}",
            verdict.problems
        );
    }
}

/// The fields of a right answer, signed with `key` as the merchant would.
fn signed_answer(mut fields: Map<String, Value>, key: &str) -> Map<String, Value> {
    let pairs = crate::platform::http::gateway::signed_fields(&fields);
    fields.insert("sign".into(), sign::sign(&pairs, key, SignType::Md5).into());
    fields
}
