//! The payment-element query (固定二维码支付要素查询, spec §9): the one call of the bill
//! gateway's protocol that goes the other way. When a buyer scans a fixed QR code that
//! has no amount, the platform POSTs a signed JSON query to the merchant's
//! `payInfoQueryAddr` and reads the amount from the merchant's signed JSON answer. This
//! module builds the query, sends it through the egress guard, and judges the answer
//! field by field, so the merchant sees exactly what the platform would have refused.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::egress::EgressGuard;
use crate::platform::http::gateway::message::Message;
use crate::platform::payments::sign::{self, SignType};
use crate::platform::wire::time::parse_cst;

/// The most of an answer kept to judge and show.
pub const ANSWER_LIMIT: usize = 4096;

/// What the query asks about: the code that was scanned.
#[derive(Debug, Clone)]
pub struct Scanned<'a> {
    pub msg_src: &'a str,
    pub mid: &'a str,
    pub tid: &'a str,
    pub qr_code_id: &'a str,
    pub system_id: &'a str,
    pub src_reserve: &'a str,
    pub member_id: &'a str,
    pub counter_no: &'a str,
}

/// The query's fields in the spec's order, `sign` last: signed with SHA-256 always
/// ("签名类型固定为SHA256"), with the source's communication key, and no `msgType` or
/// `signType`.
pub fn query(
    scanned: &Scanned<'_>,
    msg_id: &str,
    timestamp: &str,
    key: &str,
) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = [
        ("msgId", msg_id),
        ("msgSrc", scanned.msg_src),
        ("requestTimestamp", timestamp),
        ("mid", scanned.mid),
        ("tid", scanned.tid),
        ("qrCodeId", scanned.qr_code_id),
        ("systemId", scanned.system_id),
        ("srcReserve", scanned.src_reserve),
        ("memberId", scanned.member_id),
        ("counterNo", scanned.counter_no),
    ]
    .into_iter()
    .filter(|(_, value)| !sign::is_blank(value))
    .map(|(name, value)| (name.to_owned(), value.to_owned()))
    .collect();
    let value = sign::sign(&fields, key, SignType::Sha256);
    fields.push(("sign".to_owned(), value));
    fields
}

/// The query's JSON body, its fields in order.
pub fn body(fields: &[(String, String)]) -> Vec<u8> {
    let members: Vec<String> = fields
        .iter()
        .map(|(name, value)| {
            format!(
                "{}:{}",
                Value::String(name.clone()),
                Value::String(value.clone())
            )
        })
        .collect();
    format!("{{{}}}", members.join(",")).into_bytes()
}

/// What the merchant's answer says, once judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The amount to pay, in fen, when the answer is right.
    pub amount: Option<i64>,
    /// `billDesc`, `memberId` and `counterNo` of a right answer: shown to the buyer and
    /// carried into the bill's notice.
    pub bill_desc: String,
    pub member_id: String,
    pub counter_no: String,
    /// Everything wrong with the answer, each naming what was expected and what came.
    pub problems: Vec<String>,
}

impl Verdict {
    fn refused(problem: String) -> Self {
        Self {
            amount: None,
            bill_desc: String::new(),
            member_id: String::new(),
            counter_no: String::new(),
            problems: vec![problem],
        }
    }
}

/// Judges the merchant's answer to the query `msg_id`: HTTP 200, a UTF-8 JSON object,
/// `errCode` `SUCCESS` (anything else is the merchant's refusal, whose `errMsg` the
/// buyer sees), `errMsg` and `responseTimestamp` present, `totalAmount` 1 to 100000000
/// fen, `msgId` the query's when sent, `billDesc` at most 255 characters, `memberId` and
/// `counterNo` at most 32, and a `sign` right for the key by the answer's `signType`
/// (MD5 when absent) for one of `keys` (the source's current key first, then one a
/// rotation replaced while its grace lasts).
pub fn judge(status: Option<u16>, answer: &[u8], msg_id: &str, keys: &[&str]) -> Verdict {
    match status {
        Some(200) => {}
        Some(other) => return Verdict::refused(format!("expected HTTP 200, got {other}")),
        None => return Verdict::refused("no answer came".to_owned()),
    }
    let message = match Message::parse(answer) {
        Ok(message) => message,
        Err(why) => return Verdict::refused(format!("the answer cannot be read: {why}")),
    };
    let text = |name: &str| message.text(name).unwrap_or_default().to_owned();
    let mut problems = Vec::new();
    let err_code = text("errCode");
    if err_code != "SUCCESS" {
        problems.push(format!(
            "errCode is {err_code:?}, not SUCCESS: the merchant refused the scan ({:?} is shown to the buyer)",
            text("errMsg")
        ));
    }
    if message.text("errMsg").is_none() {
        problems.push("errMsg is required (the spec marks it M)".to_owned());
    }
    match message.text("responseTimestamp") {
        None => problems.push("responseTimestamp is required".to_owned()),
        Some(at) if parse_cst(at).is_err() => problems.push(format!(
            "responseTimestamp must be yyyy-MM-dd HH:mm:ss; received {at:?}"
        )),
        Some(_) => {}
    }
    let amount = match message.text("totalAmount") {
        None => {
            problems.push("totalAmount is required: the amount the buyer pays, in fen".to_owned());
            None
        }
        Some(text) => match text.parse::<i64>() {
            Ok(fen)
                if (1..=100_000_000).contains(&fen) && text.bytes().all(|b| b.is_ascii_digit()) =>
            {
                Some(fen)
            }
            _ => {
                problems.push(format!(
                    "totalAmount must be a whole number of fen from 1 to 100000000; received {text:?}"
                ));
                None
            }
        },
    };
    if let Some(given) = message.text("msgId") {
        if given != msg_id {
            problems.push(format!(
                "msgId must be the query's {msg_id:?}; received {given:?}"
            ));
        }
    }
    for (name, max) in [("billDesc", 255), ("memberId", 32), ("counterNo", 32)] {
        let value = text(name);
        if value.chars().count() > max {
            problems.push(format!(
                "{name} has at most {max} characters; received {}",
                value.chars().count()
            ));
        }
    }
    match message.sign_type() {
        _ if message.text("sign").is_none() => problems.push("sign is required".to_owned()),
        None => problems.push(format!(
            "signType must be MD5 or SHA256 (absent is MD5); received {:?}",
            text("signType")
        )),
        Some(sign_type) if !keys.iter().any(|key| message.verify(key)) => {
            let (string, expected) =
                message.expected_sign(keys.first().copied().unwrap_or_default(), sign_type);
            problems.push(format!(
                "sign does not match: expected {expected} ({}) over \"{string}\" and the communication key",
                sign_type.as_str()
            ));
        }
        Some(_) => {}
    }
    let right = problems.is_empty();
    Verdict {
        amount: amount.filter(|_| right),
        bill_desc: text("billDesc"),
        member_id: text("memberId"),
        counter_no: text("counterNo"),
        problems,
    }
}

/// What one query did: the request, the answer as far as it was kept, and the verdict.
#[derive(Debug, Clone)]
pub struct Asked {
    pub url: String,
    pub request: Vec<u8>,
    pub status: Option<u16>,
    pub answer: Vec<u8>,
    /// Why no answer came (a timeout, a refused connection, the egress guard).
    pub error: Option<String>,
    pub duration: Duration,
    pub verdict: Verdict,
}

/// How long the sandbox waits for the merchant's answer to a payment-element query.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// The client the sandbox asks merchants with: built once, its connections through the
/// egress guard, no redirects followed. Cheap to clone.
#[derive(Clone)]
pub struct PayInfoClient {
    client: reqwest::Client,
    egress: EgressGuard,
}

impl PayInfoClient {
    pub fn new(egress: &EgressGuard) -> anyhow::Result<Self> {
        let client = egress
            .client_builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            .build()?;
        Ok(Self {
            client,
            egress: egress.clone(),
        })
    }

    /// Sends the query `fields` (made by [`query`]) to `url` and judges the answer by
    /// `keys`.
    pub async fn ask(&self, url: &str, fields: &[(String, String)], keys: &[&str]) -> Asked {
        let request = body(fields);
        let msg_id = fields
            .iter()
            .find(|(name, _)| name == "msgId")
            .map(|(_, value)| value.as_str())
            .unwrap_or_default();
        let started = Instant::now();
        let (status, answer, error) = match self.send(url, request.clone()).await {
            Ok((status, answer)) => (Some(status), answer, None),
            Err(error) => (None, Vec::new(), Some(error)),
        };
        let mut verdict = judge(status, &answer, msg_id, keys);
        if let Some(error) = &error {
            verdict.problems = vec![format!("no answer came: {error}")];
        }
        Asked {
            url: url.to_owned(),
            request,
            status,
            answer,
            error,
            duration: started.elapsed(),
            verdict,
        }
    }

    async fn send(&self, url: &str, body: Vec<u8>) -> Result<(u16, Vec<u8>), String> {
        // A literal address never reaches the guard's resolver.
        self.egress
            .admit_url(url)
            .map_err(|refused| refused.to_string())?;
        let mut response = self
            .client
            .post(url)
            .header("content-type", "application/json; charset=UTF-8")
            .body(body)
            .send()
            .await
            .map_err(|error| describe(&error))?;
        let status = response.status().as_u16();
        // Read no more than is kept: an endless answer ends at the limit.
        let mut answer = Vec::new();
        while answer.len() < ANSWER_LIMIT {
            match response.chunk().await.map_err(|error| describe(&error))? {
                Some(chunk) => answer.extend_from_slice(&chunk),
                None => break,
            }
        }
        answer.truncate(ANSWER_LIMIT);
        Ok((status, answer))
    }
}

fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "timed out".to_owned()
    } else if let Some(refused) = crate::egress::NotAllowed::in_chain(error) {
        refused.to_string()
    } else {
        let mut text = error.to_string();
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            text = format!("{text}: {cause}");
            source = cause.source();
        }
        text
    }
}

#[cfg(test)]
mod tests;
