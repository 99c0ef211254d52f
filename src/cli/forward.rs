//! The local side of a relayed try: POST the frame's bytes and headers, unchanged, to
//! the forward URL of the notice's family, and make the answer frame (status, headers,
//! the first 4 KiB of the body, the duration).

use std::time::{Duration, Instant};

use reqwest::header::{HeaderName, HeaderValue};

use crate::relay::frames::{Bytes, ClientFrame, TryFrame, ANSWER_BODY_LIMIT};

/// Where each family's notices go.
#[derive(Debug, Clone)]
pub struct Targets {
    pub default: String,
    pub contract: Option<String>,
    pub payment: Option<String>,
}

impl Targets {
    /// The URL a notice of `kind` is forwarded to.
    pub fn url_for(&self, kind: &str) -> &str {
        let specific = match kind {
            crate::platform::contracts::notice::KIND => self.contract.as_deref(),
            crate::platform::payments::notice::KIND => self.payment.as_deref(),
            _ => None,
        };
        specific.unwrap_or(&self.default)
    }
}

/// What forwarding one try did, for the printed line and the answer frame.
pub struct Forwarded {
    pub frame: ClientFrame,
    pub status: Option<u16>,
    pub error: Option<String>,
    pub duration: Duration,
}

/// Headers a client sets itself from the body and the URL.
const SET_BY_CLIENT: [&str; 3] = ["host", "content-length", "transfer-encoding"];

/// POSTs one try to `url` and reads the answer.
pub async fn forward(client: &reqwest::Client, url: &str, frame: TryFrame) -> Forwarded {
    let started = Instant::now();
    let mut request = client.post(url);
    for (name, value) in &frame.headers {
        if SET_BY_CLIENT.contains(&name.to_ascii_lowercase().as_str()) {
            continue;
        }
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            request = request.header(name, value);
        }
    }
    let id = frame.id;
    let result = async {
        let mut response = request.body(frame.body.0).send().await?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect::<Vec<_>>();
        let mut body = Vec::new();
        while body.len() < ANSWER_BODY_LIMIT {
            match response.chunk().await? {
                Some(chunk) => {
                    let room = ANSWER_BODY_LIMIT - body.len();
                    body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                }
                None => break,
            }
        }
        Ok::<_, reqwest::Error>((status, headers, body))
    }
    .await;
    let duration = started.elapsed();
    let duration_ms = duration.as_millis().try_into().unwrap_or(u64::MAX);
    match result {
        Ok((status, headers, body)) => Forwarded {
            frame: ClientFrame::Answer {
                id,
                status,
                headers,
                body: Bytes(body),
                duration_ms,
            },
            status: Some(status),
            error: None,
            duration,
        },
        Err(error) => {
            let kind = if error.is_timeout() {
                "timeout"
            } else if error.is_connect() {
                "connect"
            } else {
                "other"
            };
            let message = format!("{url}: {}", crate::delivery::sender::describe(&error));
            Forwarded {
                frame: ClientFrame::Failed {
                    id,
                    kind: kind.to_owned(),
                    message: message.clone(),
                    duration_ms,
                },
                status: None,
                error: Some(format!("{kind}: {message}")),
                duration,
            }
        }
    }
}
