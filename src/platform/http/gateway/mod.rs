//! The netpay bill gateway (网付, `netpay-route-server`, spec "POS通插件C扫B业务商户接入
//! 接口规范" V3.5): one URL, `POST /netpay-route-server/api/`, a JSON body whose `msgType`
//! picks the operation, and a `sign` over the sorted fields with the message source's
//! communication key, on the request and on the answer.
//!
//! The gateway is a second door into the same bills: [`operations`] reads a call into the
//! netpay [`Request`] the open-platform bills API reads, and the order service does the
//! rest (states, refunds, notices). What this module adds is the message: parsing
//! ([`message`]), the message source and its key, the sign both ways, and the answer's
//! shape.
//!
//! # Order of the checks
//!
//! 1. The body is one UTF-8 JSON object, whatever the Content-Type says, else
//!    `BAD_REQUEST`;
//! 2. `msgSrc` names a message source of the sandbox, else `INVALID_MSGSRC`;
//! 3. `signType` is `MD5` or `SHA256` (or absent: MD5), else `BAD_REQUEST`;
//! 4. `sign` is right for the source's key (or, while a rotation's grace lasts, for the
//!    key it replaced), else `BAD_SIGN`;
//! 5. `msgType` names an operation, else `NO_SERVICE`;
//! 6. the source serves `mid` (agent mode, spec §20.2), else `INVALID_MSGSRC`;
//! 7. the operation's own fields and rules.
//!
//! Every answer is HTTP 200 (500 for `INTERNAL_ERROR`) with `errCode`, `errMsg`,
//! `msgType`, `msgSrc`, `responseTimestamp`, the request's `msgId`, `srcReserve`,
//! `systemId`, `mid`, `tid` and `instMid` echoed, and `sign`. An answer is signed with
//! the source's key by the request's `signType` (echoed when sent) whenever the source
//! is known: only a body that cannot be read and an unknown source are answered
//! unsigned, since there is no key to sign with. A call signed with the key a rotation
//! replaced, during its grace, is answered signed with that key.

mod fixed;
pub mod message;
mod operations;
pub mod pay_info;
mod secure;
mod update;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{Map, Value};

use crate::platform::http::open::netpay::{NetpayCode, NetpayError};
use crate::platform::merchants::rotation::{grace_note, Credential};
use crate::platform::merchants::Merchant;
use crate::platform::payments::sign::{self, SignType};
use crate::platform::sandbox::Sandbox;
use crate::platform::wire::time::format_cst;

pub use message::Message;
pub use operations::Operation;

/// The gateway's address, as the spec and the official demo write it.
pub const PATH: &str = "/netpay-route-server/api/";

/// The request fields an answer repeats when they were sent.
const ECHOED: [&str; 8] = [
    "msgType",
    "msgSrc",
    "msgId",
    "srcReserve",
    "systemId",
    "mid",
    "tid",
    "instMid",
];

/// A call of the netpay bill gateway: its `msgType` picks the operation. Read `errCode`:
/// `SUCCESS`, or the name of the refusal (`BAD_REQUEST`, `BAD_SIGN`, `INVALID_MSGSRC`,
/// `NO_SERVICE`, `NO_ORDER`, `DUP_ORDER`, `OPERATION_NOT_ALLOWED`,
/// `ABNORMAL_REQUEST_TIME`). The body is read as JSON whatever the Content-Type says.
#[utoipa::path(post, path = "/netpay-route-server/api/", tag = "gateway",
    request_body(content = Object, content_type = "application/json",
        description = "`msgType`, `msgSrc`, `requestTimestamp`, `mid`, `tid`, `instMid`, the operation's fields and `sign`"),
    responses(
        (status = 200, description = "A signed answer: read `errCode`, then the operation's fields", body = Object),
        (status = 500, description = "`INTERNAL_ERROR`: the sandbox failed; its log has the details", body = Object),
    ))]
pub async fn api(State(sandbox): State<Sandbox>, body: Bytes) -> Response {
    let message = match Message::parse(&body) {
        Ok(message) => message,
        Err(why) => return refusal(&sandbox, None, NetpayCode::BadRequest, why, None),
    };
    let Some(msg_src) = message.text("msgSrc") else {
        let why = "msgSrc is required: the message source that signs the call";
        return refusal(&sandbox, Some(&message), NetpayCode::BadRequest, why, None);
    };
    let source = match sandbox.merchants.merchants_of_source(msg_src).await {
        Ok(source) => source,
        Err(error) => return internal(&sandbox, &message, error, None),
    };
    let Some(first) = source.first() else {
        let why =
            format!("no message source {msg_src}: a merchant's msgSrc is set when it is created");
        return refusal(
            &sandbox,
            Some(&message),
            NetpayCode::InvalidMsgSrc,
            why,
            None,
        );
    };
    let key = first.md5_key.expose().to_owned();
    let Some(sign_type) = message.sign_type() else {
        let why = format!(
            "signType must be MD5 or SHA256 (absent is MD5); received {:?}",
            message.text("signType").unwrap_or_default()
        );
        let signer = Some((key.as_str(), SignType::Md5));
        return refusal(
            &sandbox,
            Some(&message),
            NetpayCode::BadRequest,
            why,
            signer,
        );
    };
    // During a rotation's grace the source's replaced key is accepted too, and the
    // answer is signed with the key the call was signed with.
    let keys = first.accepted_md5_keys(sandbox.now());
    let Some(key) = keys
        .iter()
        .find(|accepted| message.verify(accepted.key.expose()))
        .map(|accepted| accepted.key.expose().to_owned())
    else {
        let (string, _) = message.expected_sign(&key, sign_type);
        let why = format!(
            "sign does not match: the sandbox hashed ({}) the sorted fields \"{string}\" followed by the communication key of {msg_src}{}",
            sign_type.as_str(),
            grace_note(Credential::Md5Key, &keys)
        );
        let signer = Some((key.as_str(), sign_type));
        return refusal(&sandbox, Some(&message), NetpayCode::BadSign, why, signer);
    };
    let signer = Some((key.as_str(), sign_type));
    let msg_type = message.text("msgType").unwrap_or_default();
    let Some(operation) = Operation::of(msg_type) else {
        let why = format!(
            "no service for msgType {msg_type:?}; the gateway serves {}",
            Operation::names().join(", ")
        );
        return refusal(&sandbox, Some(&message), NetpayCode::NoService, why, signer);
    };
    if let Err(why) = common_lengths(&message) {
        return refusal(
            &sandbox,
            Some(&message),
            NetpayCode::BadRequest,
            why,
            signer,
        );
    }
    let call = Call {
        sandbox: &sandbox,
        message: &message,
        source: &source,
    };
    match operation.run(&call).await {
        Ok((text, fields)) => reply(
            &sandbox,
            &message,
            NetpayCode::Success,
            text,
            fields,
            signer,
        ),
        Err(NetpayError::Refused { code, message: why }) => {
            refusal(&sandbox, Some(&message), code, why, signer)
        }
        Err(NetpayError::Gateway(error)) => internal(
            &sandbox,
            &message,
            anyhow::anyhow!("the gateway met an open-platform refusal: {error:?}"),
            signer,
        ),
    }
}

/// The gateway at its address without the trailing slash: the same as [`api`].
#[utoipa::path(post, path = "/netpay-route-server/api", tag = "gateway",
    request_body(content = Object, content_type = "application/json",
        description = "As `/netpay-route-server/api/`"),
    responses(
        (status = 200, description = "A signed answer: read `errCode`, then the operation's fields", body = Object),
        (status = 500, description = "`INTERNAL_ERROR`: the sandbox failed; its log has the details", body = Object),
    ))]
pub async fn api_without_slash(state: State<Sandbox>, body: Bytes) -> Response {
    api(state, body).await
}

/// The common fields' lengths (spec §3.3): `msgSrc` 1 to 20 characters, `msgId` at most
/// 64, `srcReserve` at most 255, `systemId` at most 32.
fn common_lengths(message: &Message) -> Result<(), String> {
    for (name, max) in [
        ("msgSrc", 20),
        ("msgId", 64),
        ("srcReserve", 255),
        ("systemId", 32),
    ] {
        let chars = message.text(name).map_or(0, |value| value.chars().count());
        if chars > max {
            return Err(format!(
                "{name} has at most {max} characters; received {chars}"
            ));
        }
    }
    Ok(())
}

/// What an operation works with: the sandbox, the message and the merchants of its
/// source.
pub struct Call<'a> {
    pub sandbox: &'a Sandbox,
    pub message: &'a Message,
    pub source: &'a [Merchant],
}

impl Call<'_> {
    /// The merchant the source serves under `mid`. In agent mode (spec §20.2) a source
    /// acts only for its own merchants; the spec words the refusal "不允许该交易来源系统
    /// 进行此商户交易" without naming its errCode, and the sandbox answers
    /// `INVALID_MSGSRC` for it, whether the mid is another source's merchant or no one's.
    pub fn merchant(&self, mid: &str) -> Result<&Merchant, NetpayError> {
        self.source.iter().find(|m| m.mid == mid).ok_or_else(|| {
            NetpayError::new(
                NetpayCode::InvalidMsgSrc,
                format!(
                    "不允许该交易来源系统进行此商户交易: message source {} serves no merchant {mid}",
                    self.message.text("msgSrc").unwrap_or_default()
                ),
            )
        })
    }
}

fn internal(
    sandbox: &Sandbox,
    message: &Message,
    error: anyhow::Error,
    signer: Option<(&str, SignType)>,
) -> Response {
    tracing::error!(error = format!("{error:#}"), "a gateway call failed");
    let why = "internal error; the service log has the details";
    refusal(
        sandbox,
        Some(message),
        NetpayCode::InternalError,
        why,
        signer,
    )
}

/// A refused call's answer: `code`, `why`, and the request's echoed fields.
fn refusal(
    sandbox: &Sandbox,
    message: Option<&Message>,
    code: NetpayCode,
    why: impl Into<String>,
    signer: Option<(&str, SignType)>,
) -> Response {
    let empty = Message::empty();
    let message = message.unwrap_or(&empty);
    reply(sandbox, message, code, &why.into(), Map::new(), signer)
}

/// The answer: `errCode`, `errMsg`, `responseTimestamp`, the echoed request fields, the
/// operation's `fields` and, with a key, `sign`.
fn reply(
    sandbox: &Sandbox,
    message: &Message,
    code: NetpayCode,
    text: &str,
    fields: Map<String, Value>,
    signer: Option<(&str, SignType)>,
) -> Response {
    let mut answer = Map::new();
    for name in ECHOED {
        if let Some(value) = message.text(name) {
            answer.insert(name.to_owned(), value.into());
        }
    }
    answer.extend(fields);
    answer.insert("errCode".into(), code.as_str().into());
    answer.insert("errMsg".into(), text.into());
    answer.insert("responseTimestamp".into(), format_cst(sandbox.now()).into());
    if let Some((key, sign_type)) = signer {
        if message.text("signType").is_some() {
            answer.insert("signType".into(), sign_type.as_str().into());
        }
        let value = sign::sign(&signed_fields(&answer), key, sign_type);
        answer.insert("sign".into(), value.into());
    }
    let status = if code == NetpayCode::InternalError {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    };
    (status, Json(Value::Object(answer))).into_response()
}

/// An answer's fields as they are signed: a string as itself, anything else as its
/// compact JSON text, which is how the answer writes it.
pub fn signed_fields(answer: &Map<String, Value>) -> Vec<(String, String)> {
    answer
        .iter()
        .filter(|(_, value)| !value.is_null())
        .map(|(name, value)| {
            let text = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (name.clone(), text)
        })
        .collect()
}
