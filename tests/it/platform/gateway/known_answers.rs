//! Known answers of the gateway's sign (spec §14; reference §2.2, §2.5): the spec's own
//! request, with its own sign, is accepted as the spec's test merchant at the spec's
//! time; the spec's SHA-256 vector and a genuine platform answer hash as printed.

use serde_json::{json, Map, Value};

use ums_notify::platform::http::gateway::{signed_fields, Message};
use ums_notify::platform::payments::sign::{self, SignType};

use crate::common::gateway::{assert_refused, test_merchant, Gateway, TEST_KEY, TEST_SRC};
use crate::common::payments::NOWHERE;
use crate::common::platform::at;
use crate::common::TestDb;
use ums_notify::clock::Clock;

both_backends!(the_specs_own_request_is_accepted_with_its_own_sign);

/// The spec's §14 parameter array, as a merchant would send it, with `sign`.
fn spec_request(sign: &str) -> String {
    format!(
        r#"{{"msgSrc":"WWW.TEST.COM","msgType":"bills.getQRCode","requestTimestamp":"2017-06-26 17:28:02","billNo":"31940000201700002","billDate":"2017-06-26","mid":"898340149000005","tid":"88880001","instMid":"QRPAYDEFAULT","totalAmount":"1","walletOption":"SINGLE","goods":[{{"body":"微信二维码测试","price":"1","goodsName":"微信二维码测试","goodsId":"1","quantity":"1","goodsCategory":"TEST"}}],"sign":"{sign}"}}"#
    )
}

const SPEC_STRING: &str = r#"billDate=2017-06-26&billNo=31940000201700002&goods=[{"body":"微信二维码测试","price":"1","goodsName":"微信二维码测试","goodsId":"1","quantity":"1","goodsCategory":"TEST"}]&instMid=QRPAYDEFAULT&mid=898340149000005&msgSrc=WWW.TEST.COM&msgType=bills.getQRCode&requestTimestamp=2017-06-26 17:28:02&tid=88880001&totalAmount=1&walletOption=SINGLE"#;

async fn the_specs_own_request_is_accepted_with_its_own_sign(db: TestDb) {
    // 2017-06-26 17:28:02 China Standard Time.
    let app = db
        .spawn_with_clock(Clock::fixed(at("2017-06-26T09:28:02Z")), |_| {})
        .await;
    test_merchant(&app, NOWHERE).await;
    let client = Gateway::new(TEST_SRC, TEST_KEY);
    let wrong = client
        .post(&app, spec_request("57F81BAF8E3BAE1190B26D6C733038AE"))
        .await;
    assert_refused(&wrong, "BAD_SIGN", SPEC_STRING);
    let answer = client
        .post(&app, spec_request("57F81BAF8E3BAE1190B26D6C733038AF"))
        .await;
    client.assert_signed(&answer);
    assert_eq!(answer["errCode"], "SUCCESS", "{answer}");
    assert_eq!(answer["billNo"], "31940000201700002");
    assert_eq!(answer["msgType"], "bills.getQRCode");
    assert_eq!(answer["msgSrc"], TEST_SRC);
    assert!(answer["billQRCode"]
        .as_str()
        .unwrap()
        .ends_with(answer["qrCodeId"].as_str().unwrap()));
    // The same request in lower-case hex is the same sign.
    let again = client
        .post(&app, spec_request("57f81baf8e3bae1190b26d6c733038af"))
        .await;
    assert_refused(&again, "DUP_ORDER", "31940000201700002");
    app.stop().await;
}

#[test]
fn the_specs_vectors_hash_as_printed() {
    let message = Message::parse(spec_request("x").as_bytes()).unwrap();
    assert_eq!(sign::signed_string(&message.signed), SPEC_STRING);
    assert_eq!(
        sign::sign(&message.signed, TEST_KEY, SignType::Md5),
        "57F81BAF8E3BAE1190B26D6C733038AF"
    );
    assert_eq!(
        sign::sign(&message.signed, TEST_KEY, SignType::Sha256).to_ascii_lowercase(),
        "a9eced8dd8425d1fc4047cf94e672c69ed1073557ee831c51287341cfab0b21f"
    );
    assert!(!message.verify(TEST_KEY), "x is no sign");
}

#[test]
fn a_genuine_platform_answer_is_signed_as_the_gateway_signs_its_answers() {
    let answer = json!({
        "billDate": "2019-09-05",
        "billNo": "3194201909051048400795928430",
        "billQRCode": "https://qr-test2.chinaums.com/bills/qrCode.do?id=10001909052754840109799410",
        "errCode": "SUCCESS",
        "errMsg": "查询二维码成功",
        "instMid": "QRPAYDEFAULT",
        "mid": "898340149000005",
        "msgSrc": "WWW.TEST.COM",
        "msgType": "bills.getQRCode",
        "qrCodeId": "10001909052754840109799410",
        "responseTimestamp": "2019-09-05 10:48:40",
        "tid": "88880001",
    });
    let map: Map<String, Value> = answer.as_object().unwrap().clone();
    assert_eq!(
        sign::sign(&signed_fields(&map), TEST_KEY, SignType::Md5),
        "59D9AB858037B79C32536027747E99E6"
    );
}
