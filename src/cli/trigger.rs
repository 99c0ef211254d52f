//! `ums-notify trigger FIXTURE --mid MID [--set field=value]...`: fires a named notice
//! through a running sandbox (`POST /admin/v1/merchants/{mid}/triggers`), and
//! `trigger --list`, the catalogue with what each fixture sends.

use std::process::ExitCode;

use clap::{Args, ValueEnum};
use serde_json::{json, Map, Value};

use super::{failed, refused, usage_error, Remote, RemoteArgs};
use crate::platform::triggers::FIXTURES;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Lines for a person.
    Text,
    /// The sandbox's JSON answer.
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct TriggerArgs {
    /// The fixture to fire, such as `payment.paid` (`--list` shows them all).
    #[arg(required_unless_present = "list")]
    pub fixture: Option<String>,
    /// The merchant whose notice it is.
    #[arg(long, required_unless_present = "list")]
    pub mid: Option<String>,
    /// A field of the order or contract, such as `total_amount=250` (repeatable).
    #[arg(long = "set", value_name = "FIELD=VALUE", value_parser = parse_set)]
    pub set: Vec<(String, String)>,
    /// Show every fixture, what it sends and the fields it takes, and exit.
    #[arg(long, conflicts_with_all = ["fixture", "mid", "set"])]
    pub list: bool,
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    #[command(flatten)]
    pub remote: RemoteArgs,
}

fn parse_set(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((field, value)) if !field.trim().is_empty() => {
            Ok((field.trim().to_owned(), value.to_owned()))
        }
        _ => Err(format!("expected FIELD=VALUE; got {text:?}")),
    }
}

/// The catalogue, for a person or as JSON.
pub fn catalogue(format: Format) -> String {
    match format {
        Format::Json => {
            let list: Vec<Value> = FIXTURES
                .iter()
                .map(|f| json!({"name": f.name, "sends": f.sends, "kind": f.kind(), "fields": f.fields()}))
                .collect();
            json!({ "fixtures": list }).to_string() + "\n"
        }
        Format::Text => FIXTURES
            .iter()
            .map(|f| {
                format!(
                    "{}\n    {}\n    kind {}; --set {}\n",
                    f.name,
                    f.sends,
                    f.kind(),
                    f.fields().join(", ")
                )
            })
            .collect(),
    }
}

/// The sandbox's answer in lines.
fn describe(answer: &Value) -> String {
    let mut text = String::new();
    let subject = match (answer["order_id"].as_i64(), answer["contract_id"].as_str()) {
        (Some(id), _) => format!(
            "order {id} ({})",
            answer["order_no"].as_str().unwrap_or_default()
        ),
        (None, Some(contract)) => format!("contract {contract}"),
        _ => "nothing".to_owned(),
    };
    text.push_str(&format!(
        "{} for merchant {}: created {subject}\n",
        answer["fixture"].as_str().unwrap_or_default(),
        answer["mid"].as_str().unwrap_or_default()
    ));
    for step in answer["steps"].as_array().into_iter().flatten() {
        let ids: Vec<String> = step["notification_ids"]
            .as_array()
            .into_iter()
            .flatten()
            .map(Value::to_string)
            .collect();
        text.push_str(&format!(
            "  -> {}: notification {}\n",
            step["state"].as_str().unwrap_or_default(),
            ids.join(", ")
        ));
    }
    text
}

pub async fn run(args: TriggerArgs) -> ExitCode {
    if args.list {
        print!("{}", catalogue(args.format));
        return ExitCode::SUCCESS;
    }
    let (Some(fixture), Some(mid)) = (args.fixture, args.mid) else {
        return usage_error("give a FIXTURE and --mid, or --list");
    };
    let remote = match Remote::new(&args.remote) {
        Ok(remote) => remote,
        Err(error) => return usage_error(error),
    };
    let set: Map<String, Value> = args
        .set
        .into_iter()
        .map(|(field, value)| (field, Value::String(value)))
        .collect();
    let body = json!({"fixture": fixture, "set": set});
    let path = format!("merchants/{}/triggers", urlencoding(&mid));
    match remote.post(&path, &body).await {
        Ok(Ok(answer)) => {
            match args.format {
                Format::Json => println!("{answer}"),
                Format::Text => print!("{}", describe(&answer)),
            }
            ExitCode::SUCCESS
        }
        Ok(Err(refusal)) => refused(&refusal),
        Err(error) => failed(error),
    }
}

/// A path segment with everything but unreserved characters percent-encoded.
fn urlencoding(segment: &str) -> String {
    url::form_urlencoded::byte_serialize(segment.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}
