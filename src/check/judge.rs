//! How each check of the catalogue is run and judged: the notices it sends through the
//! probe and the verdict on the answers, before its level makes it a pass, a failure or
//! a warning.

use serde::{Deserialize, Serialize};

use super::catalogue::{CheckSpec, Expect, ANSWER_TIME_LIMIT, CONCURRENT_NOTICES, TIMED_NOTICES};
use super::probe::{Exchange, Probe, Signing};
use super::reference::MAX_SKEW;
use crate::platform::contracts::contract::ContractState;

/// How a check came out, before its level makes it a pass, a failure or a warning.
pub struct Judged {
    pub passed: bool,
    /// One sentence saying why.
    pub reason: String,
    pub exchanges: Vec<Exchange>,
    pub timings: Option<Timings>,
}

/// Answer times of a check that sends several notices.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Timings {
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub max_ms: f64,
}

/// Runs the check `spec` against the probe's target.
///
/// A check that expects a refusal is judged on the answers: a request that got none (a
/// refused connection, a timeout) leaves it unjudged, which counts as not passed.
pub async fn run(spec: &CheckSpec, probe: &Probe) -> Judged {
    let mut judged = run_unguarded(spec, probe).await;
    if spec.expect == Expect::Refuse {
        if let Some(silent) = judged.exchanges.iter().find(|e| e.answer.status.is_none()) {
            judged.passed = false;
            judged.reason = format!(
                "could not be judged: a request got {}",
                silent.answer.describe()
            );
        }
    }
    judged
}

async fn run_unguarded(spec: &CheckSpec, probe: &Probe) -> Judged {
    match spec.id {
        id if id.starts_with("payment-") => super::payment::run(id, probe).await,
        "answers-in-time" => answers_in_time(probe).await,
        "accepts-repeat" => accepts_repeat(probe).await,
        "accepts-every-state" => accepts_every_state(probe).await,
        "accepts-out-of-order" => accepts_out_of_order(probe).await,
        "tolerates-new-fields" => tolerates_new_fields(probe).await,
        "rejects-forged-signature" => rejects_forged_signature(probe).await,
        "rejects-tampered-body" => rejects_tampered_body(probe).await,
        "rejects-unsigned" => rejects_unsigned(probe).await,
        "rejects-replay" => rejects_replay(probe).await,
        "handles-concurrency" => handles_concurrency(probe).await,
        "no-redirect" => no_redirect(probe).await,
        "accepts-signed-notice" => accepts_signed_notice(probe).await,
        other => Judged {
            passed: false,
            reason: format!("no judge is written for the check {other:?}"),
            exchanges: Vec::new(),
            timings: None,
        },
    }
}

/// Judges exchanges that should all be answered 200.
fn all_accepted(exchanges: Vec<Exchange>, what: &str) -> Judged {
    let refused: Vec<(usize, String)> = exchanges
        .iter()
        .enumerate()
        .filter(|(_, e)| !e.answer.is_ok())
        .map(|(i, e)| (i + 1, e.answer.describe()))
        .collect();
    let reason = match refused.first() {
        None => format!("{what}: every answer was HTTP 200"),
        Some((_, answer)) if exchanges.len() == 1 => {
            format!("{what}: got {answer}, not HTTP 200")
        }
        Some(_) => format!(
            "{what}: {} of {} answers were not HTTP 200 ({})",
            refused.len(),
            exchanges.len(),
            refused
                .iter()
                .take(3)
                .map(|(n, answer)| format!("#{n}: {answer}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    Judged {
        passed: refused.is_empty(),
        reason,
        exchanges,
        timings: None,
    }
}

/// Judges exchanges that should all be refused (anything but 200, an answer or not).
fn all_refused(exchanges: Vec<Exchange>, what: &str, danger: &str) -> Judged {
    let accepted = exchanges.iter().filter(|e| e.answer.is_ok()).count();
    let reason = if accepted == 0 {
        let answers: Vec<String> = exchanges.iter().map(|e| e.answer.describe()).collect();
        format!("{what} was refused ({})", answers.join(", "))
    } else {
        format!("{what} was answered HTTP 200: {danger}")
    };
    Judged {
        passed: accepted == 0,
        reason,
        exchanges,
        timings: None,
    }
}

async fn accepts_signed_notice(probe: &Probe) -> Judged {
    let body = probe.notice(ContractState::Signed).to_body();
    all_accepted(
        vec![probe.send(&body, Signing::Valid).await],
        "a signed SIGNED notice",
    )
}

async fn answers_in_time(probe: &Probe) -> Judged {
    let mut exchanges = Vec::with_capacity(TIMED_NOTICES);
    for _ in 0..TIMED_NOTICES {
        let body = probe.notice(ContractState::Signed).to_body();
        exchanges.push(probe.send(&body, Signing::Valid).await);
    }
    let mut times: Vec<f64> = exchanges.iter().map(|e| e.answer.time_ms).collect();
    times.sort_by(f64::total_cmp);
    let at = |q: f64| times[((times.len() as f64 * q).ceil() as usize).clamp(1, times.len()) - 1];
    let timings = Timings {
        p50_ms: at(0.5),
        p95_ms: at(0.95),
        max_ms: times.last().copied().unwrap_or_default(),
    };
    let limit_ms = ANSWER_TIME_LIMIT.as_secs_f64() * 1e3;
    let refused = exchanges.iter().filter(|e| !e.answer.is_ok()).count();
    let (passed, reason) = if refused > 0 {
        (
            false,
            format!("{refused} of {TIMED_NOTICES} notices were not answered HTTP 200"),
        )
    } else if timings.p95_ms >= limit_ms {
        (
            false,
            format!(
                "p95 answer time {:.0} ms is over {:.0} ms (p50 {:.0} ms, max {:.0} ms)",
                timings.p95_ms, limit_ms, timings.p50_ms, timings.max_ms
            ),
        )
    } else {
        (
            true,
            format!(
                "p95 answer time {:.1} ms, under {:.0} ms (p50 {:.1} ms, max {:.1} ms)",
                timings.p95_ms, limit_ms, timings.p50_ms, timings.max_ms
            ),
        )
    };
    Judged {
        passed,
        reason,
        exchanges,
        timings: Some(timings),
    }
}

async fn accepts_repeat(probe: &Probe) -> Judged {
    let body = probe.notice(ContractState::Signed).to_body();
    let first = probe.send(&body, Signing::Valid).await;
    let repeat = probe.send(&body, Signing::Valid).await;
    let (first_ok, repeat_ok) = (first.answer.is_ok(), repeat.answer.is_ok());
    let reason = match (first_ok, repeat_ok) {
        (true, true) => "the notice and its repeat were both answered HTTP 200".to_owned(),
        (true, false) => format!(
            "the repeat was answered {}; a repeat must get 200 like the first",
            repeat.answer.describe()
        ),
        (false, _) => format!(
            "the first send was answered {}, so the repeat could not be judged",
            first.answer.describe()
        ),
    };
    Judged {
        passed: first_ok && repeat_ok,
        reason,
        exchanges: vec![first, repeat],
        timings: None,
    }
}

async fn accepts_every_state(probe: &Probe) -> Judged {
    let mut exchanges = Vec::with_capacity(ContractState::ALL.len());
    for state in ContractState::ALL {
        let body = probe.notice(state).to_body();
        exchanges.push(probe.send(&body, Signing::Valid).await);
    }
    let mut judged = all_accepted(exchanges, "one notice per state");
    if !judged.passed {
        let refused: Vec<&str> = ContractState::ALL
            .iter()
            .zip(&judged.exchanges)
            .filter(|(_, e)| !e.answer.is_ok())
            .map(|(state, _)| state.as_str())
            .collect();
        judged.reason = format!("not answered HTTP 200 in state {}", refused.join(", "));
    }
    judged
}

async fn accepts_out_of_order(probe: &Probe) -> Judged {
    let signed = probe.notice(ContractState::Signed);
    let mut rescinded = signed.clone();
    rescinded.contract_state = ContractState::Rescission.as_str().to_owned();
    // One second later, as the platform stamps a later change of the same contract.
    rescinded.request_timestamp =
        crate::platform::wire::time::format_cst(probe.now() + chrono::Duration::seconds(1));
    let signed = signed.to_body();
    let first = probe.send(&signed, Signing::Valid).await;
    let later = probe.send(&rescinded.to_body(), Signing::Valid).await;
    let late = probe.send(&signed, Signing::Valid).await;
    let reason = if !later.answer.is_ok() {
        format!("the RESCISSION was answered {}", later.answer.describe())
    } else if !late.answer.is_ok() {
        format!(
            "the late SIGNED after the RESCISSION was answered {}; acknowledge it with 200 and keep the contract rescinded",
            late.answer.describe()
        )
    } else {
        "the RESCISSION and the late SIGNED were both answered HTTP 200".to_owned()
    };
    Judged {
        passed: later.answer.is_ok() && late.answer.is_ok(),
        reason,
        exchanges: vec![first, later, late],
        timings: None,
    }
}

async fn tolerates_new_fields(probe: &Probe) -> Judged {
    let notice = probe.notice(ContractState::Signed);
    let mut value = serde_json::to_value(&notice).unwrap_or_default();
    if let Some(object) = value.as_object_mut() {
        object.insert(
            "futureField".to_owned(),
            serde_json::Value::String("a field a later platform version may add".to_owned()),
        );
    }
    let body = serde_json::to_vec(&value).unwrap_or_default();
    all_accepted(
        vec![probe.send(&body, Signing::Valid).await],
        "a notice with an extra field `futureField`",
    )
}

async fn rejects_forged_signature(probe: &Probe) -> Judged {
    let body = probe.notice(ContractState::Signed).to_body();
    let forger_key = crate::platform::auth::generate_credential(32);
    all_refused(
        vec![probe.send(&body, Signing::ForeignKey(&forger_key)).await],
        "a notice signed with another key",
        "anyone who can reach this URL can forge a contract state",
    )
}

async fn rejects_tampered_body(probe: &Probe) -> Judged {
    let notice = probe.notice(ContractState::Signed);
    let signed = notice.to_body();
    let mut tampered = notice;
    tampered.avl_num = "9999".to_owned();
    all_refused(
        vec![
            probe
                .send(&tampered.to_body(), Signing::OverOtherBody(&signed))
                .await,
        ],
        "a notice whose avlNum was changed after signing",
        "anyone on the path can change a notice's content",
    )
}

async fn rejects_unsigned(probe: &Probe) -> Judged {
    let body = probe.notice(ContractState::Signed).to_body();
    all_refused(
        vec![probe.send(&body, Signing::None).await],
        "a notice without an Authorization header",
        "anyone who can reach this URL can send a contract state",
    )
}

async fn rejects_replay(probe: &Probe) -> Judged {
    // Well beyond the skew any handler should allow.
    let old = probe.now() - chrono::Duration::hours(1);
    let skew = chrono::Duration::from_std(MAX_SKEW).unwrap_or_default();
    debug_assert!(chrono::Duration::hours(1) > skew);
    let stale_stamp = crate::platform::auth::format_compact_timestamp(old);
    let (_, stale_nonce) = probe.fresh_stamp();
    let stale_body = probe.notice(ContractState::Signed).to_body();
    let stale = probe
        .send(
            &stale_body,
            Signing::With {
                timestamp: &stale_stamp,
                nonce: &stale_nonce,
            },
        )
        .await;

    let (stamp, nonce) = probe.fresh_stamp();
    let signing = || Signing::With {
        timestamp: &stamp,
        nonce: &nonce,
    };
    let original = probe
        .send(&probe.notice(ContractState::Signed).to_body(), signing())
        .await;
    let reused = probe
        .send(&probe.notice(ContractState::Signed).to_body(), signing())
        .await;

    // The reused nonce is only a test of the nonce if its first use was accepted.
    let passed = !stale.answer.is_ok() && !reused.answer.is_ok() && original.answer.is_ok();
    let reason = match (stale.answer.is_ok(), reused.answer.is_ok()) {
        (false, false) if original.answer.is_ok() => format!(
            "the hour-old Timestamp was refused ({}) and so was the reused Nonce ({})",
            stale.answer.describe(),
            reused.answer.describe()
        ),
        (false, false) => format!(
            "could not be judged: the first use of the nonce was refused too ({}), so refusing its reuse proves nothing",
            original.answer.describe()
        ),
        (true, true) => "a Timestamp an hour old and a reused Nonce were both answered HTTP 200: a captured notice can be sent again".to_owned(),
        (true, false) => "a Timestamp an hour old was answered HTTP 200: a captured notice can be sent again later".to_owned(),
        (false, true) => "a reused Nonce was answered HTTP 200: a captured notice can be sent again at once".to_owned(),
    };
    Judged {
        passed,
        reason,
        exchanges: vec![stale, original, reused],
        timings: None,
    }
}

async fn handles_concurrency(probe: &Probe) -> Judged {
    let bodies: Vec<Vec<u8>> = (0..CONCURRENT_NOTICES)
        .map(|_| probe.notice(ContractState::Signed).to_body())
        .collect();
    let sends = bodies.iter().map(|body| probe.send(body, Signing::Valid));
    let exchanges = futures_util::future::join_all(sends).await;
    all_accepted(exchanges, "16 notices at once")
}

async fn no_redirect(probe: &Probe) -> Judged {
    let body = probe.notice(ContractState::Signed).to_body();
    let exchange = probe.send(&body, Signing::Valid).await;
    if exchange.answer.is_redirect() {
        let to = exchange
            .answer
            .location
            .clone()
            .unwrap_or_else(|| "nowhere (no Location header)".to_owned());
        return Judged {
            passed: false,
            reason: format!(
                "the answer was a redirect ({}) to {to}; the platform does not follow redirects, so every notice fails",
                exchange.answer.describe()
            ),
            exchanges: vec![exchange],
            timings: None,
        };
    }
    all_accepted(vec![exchange], "a signed notice")
}
