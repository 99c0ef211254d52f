//! Known answers for the payment-result `sign`, MD5 and SHA-256. The expected values were
//! computed outside this code base (Python's hashlib over the string written out below);
//! the test also rebuilds that string by hand, so the crate's ordering and skipping rules
//! are checked against it, not against themselves.

use ums_notify::platform::payments::sign::{sign, signed_string, verify, SignType};

const KEY: &str = "fcAmtnx7MwismjWNhNKdHC44mNXtnEQeJkRrhKJwyrW2ysRR";

/// A C-scan-B bill notice with Chinese text, a JSON-valued field and an empty one.
fn notice(sign_type: &str) -> Vec<(String, String)> {
    [
        ("mid", "898340149000005"),
        ("tid", "88880001"),
        ("instMid", "QRPAYDEFAULT"),
        ("billNo", "31940000201700002"),
        ("billDate", "2024-07-01"),
        ("billStatus", "PAID"),
        ("totalAmount", "100"),
        ("receiptAmount", "100"),
        (
            "billPayment",
            r#"{"payTime":"2024-07-01 10:05:00","buyerId":"otdJ_u","targetSys":"WXPay","targetOrderId":"4200000001"}"#,
        ),
        ("billDesc", "测试账单"),
        ("notifyId", "8d2d5c9e-1a2b-4c3d-9e8f-000000000001"),
        ("createTime", "2024-07-01 10:04:00"),
        ("attachedData", ""),
        ("signType", sign_type),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect()
}

fn written_out(sign_type: &str) -> String {
    format!(
        "billDate=2024-07-01&billDesc=测试账单&billNo=31940000201700002&billPayment=\
         {{\"payTime\":\"2024-07-01 10:05:00\",\"buyerId\":\"otdJ_u\",\"targetSys\":\"WXPay\",\
         \"targetOrderId\":\"4200000001\"}}&billStatus=PAID&createTime=2024-07-01 10:04:00&\
         instMid=QRPAYDEFAULT&mid=898340149000005&notifyId=8d2d5c9e-1a2b-4c3d-9e8f-000000000001&\
         receiptAmount=100&signType={sign_type}&tid=88880001&totalAmount=100"
    )
}

#[test]
fn md5_known_answer() {
    let params = notice("MD5");
    assert_eq!(signed_string(&params), written_out("MD5"));
    assert_eq!(
        sign(&params, KEY, SignType::Md5),
        "7EFEE74328C4F4D6FFEFC7EFB40EA130"
    );
}

#[test]
fn sha256_known_answer() {
    let params = notice("SHA256");
    assert_eq!(signed_string(&params), written_out("SHA256"));
    assert_eq!(
        sign(&params, KEY, SignType::Sha256),
        "67CF0B3161146105464B24F5F6111D02873BE44B43EFC8D79F7C164A679FD7B1"
    );
}

#[test]
fn a_random_named_field_takes_part_and_a_forgery_fails() {
    let mut params = notice("SHA256");
    params.push(("x9Rk2".to_owned(), "nonce-like".to_owned()));
    let value = sign(&params, KEY, SignType::Sha256);
    params.push(("sign".to_owned(), value));
    assert!(verify(&params, KEY));
    params.retain(|(name, _)| name != "x9Rk2");
    assert!(!verify(&params, KEY), "every received parameter is signed");
}

/// The worked example of docs/payments.md §2, body as sent: decoding, signing and both
/// hashes agree with the figures written there (computed outside the code base).
#[test]
fn the_guide_s_worked_example_holds() {
    const BODY: &str = "mid=898310048161234&tid=88880001&instMid=MINIDEFAULT&merOrderId=31942024120113000000001234&status=TRADE_SUCCESS&totalAmount=1990&createTime=2024-12-01+12%3A59%3A30&orderDesc=%E5%92%96%E5%95%A1+%E5%A4%A7%E6%9D%AF&buyerPayAmount=1990&receiptAmount=1990&invoiceAmount=1990&payTime=2024-12-01+13%3A00%3A05&settleDate=2024-12-01&seqId=301234567890&targetSys=WXPay&targetOrderId=4200001234567890123456789012&buyerId=oAbCdEfGhIjKlMnOpQrStUvWxYz1&merName=Test+shop&notifyId=5f0c2a1e9b7d4c3a8e6f1d2b3c4a5e6f&signType=SHA256&rC=Xy7q&sign=FA64A35FE60FD39770D455E552595C8044867A7981FEF022BBA97DA72A6F9F21";
    const GUIDE_KEY: &str = "Jb6mQ2x9TzR4kV8nW1pL5sD7fH3cY0aE";
    let mut params: Vec<(String, String)> = url::form_urlencoded::parse(BODY.as_bytes())
        .into_owned()
        .collect();
    assert!(signed_string(&params).contains("&orderDesc=咖啡 大杯&payTime="));
    assert!(verify(&params, GUIDE_KEY));
    for (name, value) in &mut params {
        if name == "signType" {
            *value = "MD5".to_owned();
        }
    }
    assert_eq!(
        sign(&params, GUIDE_KEY, SignType::Md5),
        "E36F5EABAC887F5AA1631DCE062C1522"
    );
}

/// The netpay spec's public test key (通讯密钥), printed in its §14 and in the
/// platform's demo.
const SPEC_KEY: &str = "fcAmtnx7MwismjWNhNKdHC44mNXtnEQeJkRrhKJwyrW2ysRR";

/// The spec's two signature vectors (§14): one string, hashed with MD5 and with SHA-256;
/// the spec prints the first in upper case and the second in lower case.
#[test]
fn the_spec_s_two_signature_vectors_hold() {
    let params: Vec<(String, String)> = [
        ("msgSrc", "WWW.TEST.COM"),
        ("msgType", "bills.getQRCode"),
        ("requestTimestamp", "2017-06-26 17:28:02"),
        ("mid", "898340149000005"),
        ("tid", "88880001"),
        ("instMid", "QRPAYDEFAULT"),
        ("billNo", "31940000201700002"),
        ("billDate", "2017-06-26"),
        ("totalAmount", "1"),
        (
            "goods",
            r#"[{"body":"微信二维码测试","price":"1","goodsName":"微信二维码测试","goodsId":"1","quantity":"1","goodsCategory":"TEST"}]"#,
        ),
        ("walletOption", "SINGLE"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    assert_eq!(
        signed_string(&params),
        r#"billDate=2017-06-26&billNo=31940000201700002&goods=[{"body":"微信二维码测试","price":"1","goodsName":"微信二维码测试","goodsId":"1","quantity":"1","goodsCategory":"TEST"}]&instMid=QRPAYDEFAULT&mid=898340149000005&msgSrc=WWW.TEST.COM&msgType=bills.getQRCode&requestTimestamp=2017-06-26 17:28:02&tid=88880001&totalAmount=1&walletOption=SINGLE"#
    );
    assert_eq!(
        sign(&params, SPEC_KEY, SignType::Md5),
        "57F81BAF8E3BAE1190B26D6C733038AF"
    );
    assert_eq!(
        sign(&params, SPEC_KEY, SignType::Sha256).to_ascii_lowercase(),
        "a9eced8dd8425d1fc4047cf94e672c69ed1073557ee831c51287341cfab0b21f"
    );
    // The verifier takes the spec's MD5 sign, and the lower-case hex it prints.
    let mut signed = params.clone();
    signed.push((
        "sign".to_owned(),
        "57f81baf8e3bae1190b26d6c733038af".to_owned(),
    ));
    assert!(verify(&signed, SPEC_KEY));
}

/// The genuine platform-sent notice (the platform's demo, 2018): its `sign` is the MD5
/// of every field but `sign`, the random `gY` and the undocumented `subInst` included,
/// with no `signType`; and our form encoding writes its decoded fields back byte for
/// byte (UTF-8, space as `+`).
#[test]
fn the_genuine_platform_notice_verifies_and_our_encoding_reproduces_it() {
    let body = include_bytes!("../../../../src/check/platform_sample.form");
    let params: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
    assert_eq!(params.len(), 17);
    assert!(params.iter().all(|(name, _)| name != "signType"));
    assert!(verify(&params, SPEC_KEY), "the genuine notice must verify");
    assert_eq!(
        sign(&params, SPEC_KEY, SignType::Md5),
        "C51E0BA3C8A3881DA8DB097786BE814F"
    );
    assert!(!verify(&params, "another key"));
    // Leaving out the random field breaks it: it is signed.
    let without_random: Vec<(String, String)> =
        params.iter().filter(|(n, _)| n != "gY").cloned().collect();
    assert!(!verify(&without_random, SPEC_KEY));
    assert_eq!(
        ums_notify::platform::payments::notice::form_body(&params),
        body.trim_ascii_end(),
        "re-encoding the decoded fields gives the platform's bytes"
    );
}
