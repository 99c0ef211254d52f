//! The report of a run and its renderings: a text table for a terminal, JSON with stable
//! field names (documented in docs/merchant-guide.md), and JUnit XML for CI systems.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::catalogue::{CheckSpec, Expect, Level};
use super::judge::{Judged, Timings};
use super::probe::Exchange;
use super::{Settings, Target};

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    /// A `must` check did not pass.
    Fail,
    /// A `should` check did not pass.
    Warn,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "fail",
            Self::Warn => "warn",
        }
    }
}

/// One check's result.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CheckResult {
    pub id: String,
    pub level: Level,
    pub outcome: Outcome,
    /// One sentence saying why.
    pub reason: String,
    /// How to fix it; only when it did not pass.
    pub hint: Option<String>,
    /// What the platform would do with the answers.
    pub platform: String,
    pub sends: String,
    pub expects: String,
    /// Answer times, for checks that send several notices in turn.
    pub timings: Option<Timings>,
    pub exchanges: Vec<Exchange>,
}

impl CheckResult {
    pub fn new(spec: &CheckSpec, judged: Judged, settings: &Settings) -> Self {
        let outcome = match (judged.passed, spec.level) {
            (true, _) => Outcome::Pass,
            (false, Level::Must) => Outcome::Fail,
            (false, Level::Should) => Outcome::Warn,
        };
        let platform = super::effect::platform_effect(spec, &judged, settings);
        Self {
            id: spec.id.to_owned(),
            level: spec.level,
            outcome,
            reason: judged.reason,
            hint: (!judged.passed).then(|| spec.hint.to_owned()),
            platform,
            sends: spec.sends.to_owned(),
            expects: spec.expects.to_owned(),
            timings: judged.timings,
            exchanges: judged.exchanges,
        }
    }
}

/// Counts by outcome.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Summary {
    pub pass: usize,
    pub fail: usize,
    pub warn: usize,
}

/// The report of one run.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Report {
    pub notify_url: String,
    pub mid: String,
    pub app_id: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    /// No `must` check failed (warnings allowed).
    pub passed: bool,
    pub summary: Summary,
    /// The platform's acceptance form (联调报告) asks two questions of a payment notify
    /// handler; the run's answers to them, when its payment checks ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acceptance: Option<Acceptance>,
    pub checks: Vec<CheckResult>,
}

/// The answers to the acceptance form's two notice questions, from the checks that ask
/// them; `None` when that check did not run.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Acceptance {
    /// "收到支付通知后是否向银商平台响应 SUCCESS?" Does the handler answer SUCCESS to a
    /// notice (`payment-accepts-signed`)?
    pub answers_success: Option<bool>,
    /// "重复收到通知时是否已做相应处理?" Does it handle a notice received twice
    /// (`payment-accepts-repeat`)?
    pub handles_repeats: Option<bool>,
}

impl Acceptance {
    fn of(checks: &[CheckResult]) -> Option<Self> {
        let passed = |id: &str| {
            checks
                .iter()
                .find(|c| c.id == id)
                .map(|c| c.outcome == Outcome::Pass)
        };
        let acceptance = Self {
            answers_success: passed("payment-accepts-signed"),
            handles_repeats: passed("payment-accepts-repeat"),
        };
        (acceptance.answers_success.is_some() || acceptance.handles_repeats.is_some())
            .then_some(acceptance)
    }

    fn lines(&self) -> [(String, Option<bool>); 2] {
        [
            (
                "Answers SUCCESS to a payment notice (acceptance form, question 1)".to_owned(),
                self.answers_success,
            ),
            (
                "Handles a notice received twice (acceptance form, question 2)".to_owned(),
                self.handles_repeats,
            ),
        ]
    }
}

impl Report {
    pub fn new(
        target: &Target,
        started_at: DateTime<Utc>,
        finished_at: DateTime<Utc>,
        checks: Vec<CheckResult>,
    ) -> Self {
        let mut summary = Summary::default();
        for check in &checks {
            match check.outcome {
                Outcome::Pass => summary.pass += 1,
                Outcome::Fail => summary.fail += 1,
                Outcome::Warn => summary.warn += 1,
            }
        }
        Self {
            notify_url: target.notify_url.clone(),
            mid: target.mid.clone(),
            app_id: target.app_id.clone(),
            started_at,
            finished_at,
            passed: summary.fail == 0,
            summary,
            acceptance: Acceptance::of(&checks),
            checks,
        }
    }

    /// Pretty JSON.
    pub fn to_json(&self) -> String {
        // A report is plain data; serializing it cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// A table a person reads, then the details of every check that did not pass. With
    /// `colour`, outcomes are coloured with ANSI escapes.
    pub fn to_text(&self, colour: bool) -> String {
        let paint = |outcome: Outcome| {
            let word = outcome.as_str().to_uppercase();
            if !colour {
                return word;
            }
            let code = match outcome {
                Outcome::Pass => "32",
                Outcome::Fail => "31",
                Outcome::Warn => "33",
            };
            format!("\x1b[1;{code}m{word}\x1b[0m")
        };
        let mut out = String::new();
        let who = if self.app_id.is_empty() {
            format!("mid {}", self.mid)
        } else {
            format!("mid {}, appId {}", self.mid, self.app_id)
        };
        let _ = writeln!(out, "ums-notify check: {} ({who})\n", self.notify_url);
        if let Some(acceptance) = &self.acceptance {
            for (question, answer) in acceptance.lines() {
                let answer = match answer {
                    Some(true) => "yes",
                    Some(false) => "NO",
                    None => "not checked",
                };
                let _ = writeln!(out, "  {question}: {answer}");
            }
            out.push('\n');
        }
        let width = self.checks.iter().map(|c| c.id.len()).max().unwrap_or(5);
        for check in &self.checks {
            // The painted word is wider than it shows; pad the plain one.
            let pad = 5 - check.outcome.as_str().len();
            let _ = writeln!(
                out,
                "  {}{}  {:<6}  {:<width$}  {}",
                paint(check.outcome),
                " ".repeat(pad),
                format!("{:?}", check.level).to_lowercase(),
                check.id,
                check.reason,
            );
        }
        for check in self.checks.iter().filter(|c| c.outcome != Outcome::Pass) {
            let _ = writeln!(out, "\n{} {}", paint(check.outcome), check.id);
            let _ = writeln!(out, "  why:       {}", check.reason);
            if let Some(hint) = &check.hint {
                let _ = writeln!(out, "  fix:       {hint}");
            }
            let _ = writeln!(out, "  platform:  {}", check.platform);
            for exchange in check
                .exchanges
                .iter()
                .filter(|e| !matches_expectation(check, e))
            {
                write_exchange(&mut out, exchange);
            }
        }
        let verdict = if self.passed {
            paint(Outcome::Pass)
        } else {
            paint(Outcome::Fail)
        };
        let _ = writeln!(
            out,
            "\n{verdict}: {} passed, {} failed, {} warned ({} ms)",
            self.summary.pass,
            self.summary.fail,
            self.summary.warn,
            (self.finished_at - self.started_at).num_milliseconds()
        );
        out
    }

    /// JUnit XML: one test suite, one test case per check. A failed `must` check is a
    /// `<failure>`; a warning passes, with its reason in `<system-out>`.
    pub fn to_junit(&self) -> String {
        let seconds = (self.finished_at - self.started_at).num_milliseconds() as f64 / 1e3;
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let _ = writeln!(
            out,
            "<testsuites name=\"ums-notify check\" tests=\"{}\" failures=\"{}\" time=\"{seconds:.3}\">",
            self.checks.len(),
            self.summary.fail
        );
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"0\" time=\"{seconds:.3}\" timestamp=\"{}\">",
            xml_escape(&format!("ums-notify check {}", self.notify_url)),
            self.checks.len(),
            self.summary.fail,
            self.started_at.format("%Y-%m-%dT%H:%M:%S")
        );
        for check in &self.checks {
            let time: f64 = check
                .exchanges
                .iter()
                .map(|e| e.answer.time_ms)
                .sum::<f64>()
                / 1e3;
            let _ = write!(
                out,
                "    <testcase classname=\"ums-notify.check.{}\" name=\"{}\" time=\"{time:.3}\"",
                format!("{:?}", check.level).to_lowercase(),
                xml_escape(&check.id)
            );
            let mut details = String::new();
            let _ = writeln!(details, "{}", check.reason);
            if let Some(hint) = &check.hint {
                let _ = writeln!(details, "fix: {hint}");
            }
            let _ = writeln!(details, "platform: {}", check.platform);
            for exchange in &check.exchanges {
                write_exchange(&mut details, exchange);
            }
            match check.outcome {
                Outcome::Pass => out.push_str(" />\n"),
                Outcome::Fail => {
                    let _ = write!(
                        out,
                        ">\n      <failure message=\"{}\" type=\"must\">{}</failure>\n    </testcase>\n",
                        xml_escape(&check.reason),
                        xml_escape(&details)
                    );
                }
                Outcome::Warn => {
                    let _ = write!(
                        out,
                        ">\n      <system-out>{}</system-out>\n    </testcase>\n",
                        xml_escape(&format!("WARNING (should): {details}"))
                    );
                }
            }
        }
        out.push_str("  </testsuite>\n</testsuites>\n");
        out
    }
}

/// Whether `exchange` got the answer its check wanted (shown only when it did not).
fn matches_expectation(check: &CheckResult, exchange: &Exchange) -> bool {
    match super::catalogue::spec(&check.id).map(|spec| spec.expect) {
        Some(Expect::Refuse) => !exchange.answer.is_ok(),
        _ => exchange.answer.is_ok(),
    }
}

fn write_exchange(out: &mut String, exchange: &Exchange) {
    let request = &exchange.request;
    let _ = writeln!(out, "  > {} {}", request.method, request.url);
    for (name, value) in &request.headers {
        let _ = writeln!(out, "  > {name}: {value}");
    }
    let _ = writeln!(out, "  > {}", request.body);
    let answer = &exchange.answer;
    match answer.status {
        Some(_) => {
            let _ = writeln!(out, "  < {} in {:.1} ms", answer.describe(), answer.time_ms);
            if let Some(location) = &answer.location {
                let _ = writeln!(out, "  < Location: {location}");
            }
            if let Some(body) = answer.body.as_deref().filter(|b| !b.is_empty()) {
                let _ = writeln!(out, "  < {body}");
            }
        }
        None => {
            let _ = writeln!(
                out,
                "  < {} after {:.1} ms",
                answer.describe(),
                answer.time_ms
            );
        }
    }
}

/// Escapes text for XML content and attribute values, dropping characters XML 1.0 cannot
/// carry at all.
fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_escape_handles_markup_and_control_characters() {
        assert_eq!(
            xml_escape("<a href=\"x\">&'\u{1}</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;"
        );
    }
}
