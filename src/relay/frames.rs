//! The relay's wire protocol: JSON text frames over the WebSocket, one message each.
//!
//! Bodies travel base64-encoded inside the JSON ([`Bytes`]), so the bytes the merchant's
//! handler gets are exactly the stored ones: nothing is re-encoded on the way. Headers
//! are an ordered list of name/value pairs, as they would be sent.

use base64::{engine::general_purpose::STANDARD, Engine as _};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The most of a local answer's body that is sent back (and kept with the try).
pub const ANSWER_BODY_LIMIT: usize = crate::delivery::sender::RESPONSE_BODY_LIMIT;

/// Raw bytes, written as standard base64 in JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bytes(pub Vec<u8>);

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        STANDARD
            .decode(text.as_bytes())
            .map(Bytes)
            .map_err(serde::de::Error::custom)
    }
}

/// What the sandbox sends down a session.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// The session is open and bound to merchant `mid`.
    Hello {
        mid: String,
        session: u64,
        /// The merchant's delivery setting when the session opened.
        delivery: String,
    },
    /// One try of a notice: POST these bytes with these headers and answer.
    Try(TryFrame),
    /// A newer session of the same merchant took over; this one is closing.
    Replaced { reason: String },
}

/// One try to forward.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TryFrame {
    /// Names the answer.
    pub id: u64,
    pub notification_id: i64,
    /// The try's number over the notification's life, from 1.
    pub attempt: u32,
    /// The notice family (`contract_state`, `payment_result`, `generic`).
    pub kind: String,
    pub subject: Option<String>,
    /// Every header of the request, in order (`content-type` and the signature included).
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

/// What the `listen` command sends back.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    /// The local handler answered.
    Answer {
        id: u64,
        status: u16,
        headers: Vec<(String, String)>,
        /// The first [`ANSWER_BODY_LIMIT`] bytes of the answer.
        body: Bytes,
        duration_ms: u64,
    },
    /// The local handler could not be reached or did not answer in time.
    Failed {
        id: u64,
        /// `connect`, `timeout` or `other`.
        kind: String,
        message: String,
        duration_ms: u64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_round_trip_byte_for_byte() {
        let body = "a=1+2%3D&b=商户".as_bytes().to_vec();
        let frame = ServerFrame::Try(TryFrame {
            id: 7,
            notification_id: 1,
            attempt: 1,
            kind: "generic".to_owned(),
            subject: None,
            headers: vec![("content-type".to_owned(), "text/plain".to_owned())],
            body: Bytes(body.clone()),
        });
        let text = serde_json::to_string(&frame).expect("serialise");
        let ServerFrame::Try(back) = serde_json::from_str(&text).expect("parse") else {
            panic!("not a try: {text}");
        };
        assert_eq!(back.body.0, body);
    }
}
