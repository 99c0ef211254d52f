//! `ums-notify listen`: relays a merchant's notices from a sandbox to a local handler.
//!
//! Opens the sandbox's relay WebSocket with the merchant's access key, POSTs every try
//! that comes down it unchanged to `--forward-to` (or the family's own URL) and sends the
//! answer back; prints one line per try, or JSON lines with `--format json`. A dropped
//! connection is reopened with backoff; a newer session of the merchant replaces this
//! one, which then exits 1. Status messages go to stderr, the tries' lines to stdout.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use futures_util::{SinkExt as _, StreamExt as _};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::header::{AUTHORIZATION, USER_AGENT};
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_util::sync::CancellationToken;

use super::forward::{forward, Forwarded, Targets};
use super::RemoteArgs;
use crate::duration::parse_duration;
use crate::relay::frames::{ClientFrame, ServerFrame, TryFrame};

#[derive(Debug, Clone, Args)]
pub struct ListenArgs {
    #[command(flatten)]
    pub remote: RemoteArgs,
    /// The local URL every notice is POSTed to.
    #[arg(long)]
    pub forward_to: String,
    /// The URL contract notices go to instead (`contract_state`).
    #[arg(long)]
    pub forward_contract_to: Option<String>,
    /// The URL payment-result notices go to instead (`payment_result`).
    #[arg(long)]
    pub forward_payment_to: Option<String>,
    /// Set the merchant's delivery to `relay`, so its notices come here.
    #[arg(long)]
    pub take_over: bool,
    /// One line per try as text, or as JSON.
    #[arg(long, default_value = "text", value_parser = ["text", "json"])]
    pub format: String,
    /// How long the local handler may take to answer.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub forward_timeout: Duration,
}

/// The longest wait between reconnections.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// A sandbox silent this long (it pings every 15s) is taken for gone.
const SILENT_FOR: Duration = Duration::from_secs(45);

/// How a session ended.
enum Ended {
    /// Reconnect, after saying why.
    Lost(String),
    /// Stop with this exit code.
    Exit(ExitCode),
}

pub async fn run(args: ListenArgs, shutdown: CancellationToken) -> ExitCode {
    let Some(key) = args.remote.key.clone().filter(|k| !k.is_empty()) else {
        return super::usage_error(
            "--key (or UMS_NOTIFY_KEY) is required: a relay session needs a merchant access key (umsk_…)",
        );
    };
    let targets = Targets {
        default: args.forward_to.clone(),
        contract: args.forward_contract_to.clone(),
        payment: args.forward_payment_to.clone(),
    };
    for url in [
        Some(&targets.default),
        targets.contract.as_ref(),
        targets.payment.as_ref(),
    ]
    .into_iter()
    .flatten()
    {
        if let Err(message) = check_http_url(url) {
            return super::usage_error(message);
        }
    }
    let endpoint = match session_url(&args.remote.sandbox, args.take_over) {
        Ok(url) => url,
        Err(message) => return super::usage_error(message),
    };
    let client = match reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(args.forward_timeout)
        .build()
    {
        Ok(client) => client,
        Err(error) => return super::failed(error.into()),
    };
    let listener = Listener {
        endpoint,
        key,
        targets,
        client,
        json: args.format == "json",
    };
    let mut backoff = Duration::from_secs(1);
    loop {
        let ended = tokio::select! {
            ended = listener.session(&mut backoff) => ended,
            _ = shutdown.cancelled() => return ExitCode::SUCCESS,
        };
        match ended {
            Ended::Exit(code) => return code,
            Ended::Lost(why) => {
                eprintln!("{why}; reconnecting in {}s", backoff.as_secs());
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = shutdown.cancelled() => return ExitCode::SUCCESS,
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

fn check_http_url(url: &str) -> Result<(), String> {
    match url::Url::parse(url) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => Ok(()),
        Ok(_) => Err(format!("{url:?} is not an http(s) URL")),
        Err(error) => Err(format!("{url:?}: {error}")),
    }
}

/// The WebSocket URL of the sandbox's relay session route.
fn session_url(sandbox: &str, take_over: bool) -> Result<url::Url, String> {
    let mut base = url::Url::parse(sandbox).map_err(|e| format!("--sandbox {sandbox:?}: {e}"))?;
    let scheme = match base.scheme() {
        "http" => "ws",
        "https" => "wss",
        _ => return Err(format!("--sandbox {sandbox:?}: not an http(s) URL")),
    };
    if !base.path().ends_with('/') {
        let path = format!("{}/", base.path());
        base.set_path(&path);
    }
    let mut url = base
        .join("admin/v1/relay/session")
        .map_err(|e| format!("--sandbox {sandbox:?}: {e}"))?;
    url.set_scheme(scheme)
        .map_err(|()| format!("--sandbox {sandbox:?}: cannot be a WebSocket URL"))?;
    if take_over {
        url.set_query(Some("take_over=true"));
    }
    Ok(url)
}

struct Listener {
    endpoint: url::Url,
    key: String,
    targets: Targets,
    client: reqwest::Client,
    json: bool,
}

impl Listener {
    /// One session, from connecting to its end.
    async fn session(&self, backoff: &mut Duration) -> Ended {
        let mut request = match self.endpoint.as_str().into_client_request() {
            Ok(request) => request,
            Err(error) => return Ended::Exit(super::usage_error(error)),
        };
        let Ok(bearer) = HeaderValue::from_str(&format!("Bearer {}", self.key)) else {
            return Ended::Exit(super::usage_error(
                "--key has characters a header cannot carry",
            ));
        };
        request.headers_mut().insert(AUTHORIZATION, bearer);
        request.headers_mut().insert(
            USER_AGENT,
            HeaderValue::from_static(concat!("ums-notify/", env!("CARGO_PKG_VERSION"), " listen")),
        );
        let mut socket = match tokio_tungstenite::connect_async(request).await {
            Ok((socket, _)) => socket,
            Err(WsError::Http(response)) => {
                let status = response.status();
                let body = response.body().as_deref().unwrap_or_default();
                let json: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
                let message = json["error"]["message"]
                    .as_str()
                    .map_or_else(|| String::from_utf8_lossy(body).into_owned(), str::to_owned);
                let code = json["error"]["code"].as_str().unwrap_or("unknown");
                if status.is_client_error() && status.as_u16() != 429 {
                    eprintln!("error: the sandbox refused the session: {status} {code}: {message}");
                    return Ended::Exit(ExitCode::FAILURE);
                }
                return Ended::Lost(format!("the sandbox answered {status} {code}: {message}"));
            }
            Err(error) => {
                return Ended::Lost(format!("cannot connect to {}: {error}", self.endpoint))
            }
        };
        let (answers_tx, mut answers) = mpsc::unbounded_channel::<ClientFrame>();
        let mut watch = tokio::time::interval(SILENT_FOR / 3);
        let mut heard = Instant::now();
        loop {
            tokio::select! {
                message = socket.next() => {
                    heard = Instant::now();
                    let text = match message {
                        Some(Ok(Message::Text(text))) => text,
                        Some(Ok(Message::Close(_))) | None => {
                            return Ended::Lost("the sandbox closed the session".to_owned())
                        }
                        Some(Err(error)) => return Ended::Lost(format!("connection lost: {error}")),
                        Some(Ok(_)) => continue,
                    };
                    match serde_json::from_str::<ServerFrame>(text.as_str()) {
                        Ok(ServerFrame::Hello { mid, session, delivery }) => {
                            *backoff = Duration::from_secs(1);
                            self.ready(&mid, session, &delivery);
                        }
                        Ok(ServerFrame::Try(frame)) => self.spawn_forward(frame, answers_tx.clone()),
                        Ok(ServerFrame::Replaced { reason }) => {
                            eprintln!("this session was replaced: {reason}; exiting");
                            return Ended::Exit(ExitCode::FAILURE);
                        }
                        Err(error) => eprintln!("warning: a frame this version does not understand: {error}"),
                    }
                }
                Some(answer) = answers.recv() => {
                    let Ok(text) = serde_json::to_string(&answer) else { continue };
                    if let Err(error) = socket.send(Message::Text(text.into())).await {
                        return Ended::Lost(format!("connection lost while answering: {error}"));
                    }
                }
                _ = watch.tick() => {
                    if heard.elapsed() > SILENT_FOR {
                        return Ended::Lost("the sandbox stopped pinging".to_owned());
                    }
                }
            }
        }
    }

    fn ready(&self, mid: &str, session: u64, delivery: &str) {
        eprintln!(
            "Ready: relaying merchant {mid}'s notices to {} (session {session})",
            self.targets.default
        );
        if delivery != "relay" {
            eprintln!(
                "note: merchant {mid}'s delivery is {delivery:?}: its notices still go to its notify URLs; pass --take-over (or PATCH \"delivery\": \"relay\") to receive them here"
            );
        }
    }

    fn spawn_forward(&self, frame: TryFrame, answers: mpsc::UnboundedSender<ClientFrame>) {
        let client = self.client.clone();
        let url = self.targets.url_for(&frame.kind).to_owned();
        let json = self.json;
        tokio::spawn(async move {
            let line = Line::of(&frame);
            let forwarded = forward(&client, &url, frame).await;
            line.print(&forwarded, json);
            let _ = answers.send(forwarded.frame);
        });
    }
}

/// What is printed of one try.
struct Line {
    notification_id: i64,
    attempt: u32,
    kind: String,
    subject: Option<String>,
}

impl Line {
    fn of(frame: &TryFrame) -> Self {
        Self {
            notification_id: frame.notification_id,
            attempt: frame.attempt,
            kind: frame.kind.clone(),
            subject: frame.subject.clone(),
        }
    }

    fn print(&self, forwarded: &Forwarded, json: bool) {
        let time = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let duration_ms = forwarded.duration.as_millis();
        if json {
            let line = serde_json::json!({
                "time": time,
                "notification_id": self.notification_id,
                "attempt": self.attempt,
                "kind": self.kind,
                "subject": self.subject,
                "status": forwarded.status,
                "error": forwarded.error,
                "duration_ms": duration_ms,
            });
            println!("{line}");
        } else {
            let outcome = match (forwarded.status, &forwarded.error) {
                (Some(status), _) => status.to_string(),
                (None, Some(error)) => error.clone(),
                (None, None) => "-".to_owned(),
            };
            println!(
                "{time}  {:<15} {:<32} {outcome:<5} {duration_ms} ms  (notification {}, try {})",
                self.kind,
                self.subject.as_deref().unwrap_or("-"),
                self.notification_id,
                self.attempt,
            );
        }
    }
}
