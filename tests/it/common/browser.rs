//! A real browser for the console's tests: headless Chromium driven through WebDriver
//! (`chromedriver`). Where they are not installed the tests are skipped
//! (`tests/browser_check.rs` says so in one line); with `UMS_NOTIFY_REQUIRE_BROWSER=1`
//! (CI sets it) that is a failure. Screenshots go to `target/tmp/browser-screenshots/`.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use super::{eventually, TestApp};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A WebDriver session on headless Chromium, with its driver process.
pub struct Browser {
    pub client: Client,
    driver: Child,
    shots: PathBuf,
}

impl Browser {
    /// Starts chromedriver and a browser session, or says why the tests are skipped.
    pub async fn start() -> Option<Self> {
        let required = std::env::var("UMS_NOTIFY_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
        let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER]
            .into_iter()
            .filter(|path| !std::path::Path::new(path).exists())
            .collect();
        if !missing.is_empty() {
            let why = format!(
                "{} not installed (apt-get install chromium chromium-driver fonts-noto-cjk)",
                missing.join(" and ")
            );
            assert!(!required, "Browser tests: required, but {why}");
            super::say_skipped(&why);
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let url = format!("http://127.0.0.1:{port}");
        let status = format!("{url}/status");
        let ready = eventually(Duration::from_secs(20), || async {
            reqwest::get(&status)
                .await
                .is_ok_and(|r| r.status().is_success())
        })
        .await;
        assert!(ready, "chromedriver did not come up on {url}");
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".to_owned(),
            json!({
                "binary": CHROMIUM,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1280,900"],
            }),
        );
        // The driver is on loopback: plain HTTP, no TLS stack needed.
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&url)
            .await
            .expect("a browser session");
        let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser-screenshots");
        std::fs::create_dir_all(&shots).expect("the screenshot folder");
        Some(Self {
            client,
            driver,
            shots,
        })
    }

    pub async fn shot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("a screenshot");
        std::fs::write(self.shots.join(format!("{name}.png")), png).expect("saved");
    }

    pub async fn open(&self, app: &TestApp, path: &str) {
        self.client.goto(&app.url(path)).await.expect("navigation");
    }

    pub async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"))
            .click()
            .await
            .expect("click");
    }

    pub async fn fill(&self, css: &str, text: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"))
            .send_keys(text)
            .await
            .expect("typing");
    }

    pub async fn page(&self) -> String {
        self.client.source().await.expect("the page source")
    }

    /// Waits, without reloading, until the current page contains `text` (a form's answer
    /// may still be loading when the click returns).
    pub async fn shows(&self, text: &str) -> bool {
        eventually(Duration::from_secs(10), || async {
            self.page().await.contains(text)
        })
        .await
    }

    /// Reloads `path` until its source contains `text` (the console also refreshes itself).
    pub async fn wait_for_text(&self, app: &TestApp, path: &str, text: &str) -> bool {
        eventually(Duration::from_secs(20), || async {
            self.open(app, path).await;
            self.page().await.contains(text)
        })
        .await
    }

    /// The fonts Chromium drew `text` with, where it is the whole text of an element,
    /// each with how many glyphs it drew (DevTools' `CSS.getPlatformFontsForNode`,
    /// through chromedriver).
    pub async fn fonts_drawing(&self, text: &str) -> Vec<(String, u64)> {
        self.devtools("DOM.enable", json!({})).await;
        self.devtools("CSS.enable", json!({})).await;
        self.devtools("DOM.getDocument", json!({"depth": -1})).await;
        let xpath = format!("//*[text()='{text}']");
        let search = self
            .devtools("DOM.performSearch", json!({"query": xpath}))
            .await;
        assert!(
            search["resultCount"].as_u64() > Some(0),
            "no element says {text:?}"
        );
        let found = self
            .devtools(
                "DOM.getSearchResults",
                json!({"searchId": search["searchId"], "fromIndex": 0, "toIndex": 1}),
            )
            .await;
        let fonts = self
            .devtools(
                "CSS.getPlatformFontsForNode",
                json!({"nodeId": found["nodeIds"][0]}),
            )
            .await;
        fonts["fonts"]
            .as_array()
            .expect("a font list")
            .iter()
            .map(|font| {
                let family = font["familyName"].as_str().unwrap_or_default().to_owned();
                (family, font["glyphCount"].as_u64().unwrap_or_default())
            })
            .collect()
    }

    /// One DevTools command on the current page; its result.
    async fn devtools(&self, cmd: &str, params: serde_json::Value) -> serde_json::Value {
        self.client
            .issue_cmd(DevTools(json!({"cmd": cmd, "params": params})))
            .await
            .unwrap_or_else(|e| panic!("{cmd}: {e}"))
    }

    pub async fn stop(mut self) {
        let _ = self.client.close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// chromedriver's own endpoint for a DevTools command: `POST …/goog/cdp/execute`.
#[derive(Debug)]
struct DevTools(serde_json::Value);

impl WebDriverCompatibleCommand for DevTools {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/goog/cdp/execute",
            session.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (axum::http::Method, Option<String>) {
        (axum::http::Method::POST, Some(self.0.to_string()))
    }
}
