//! Helpers of the console's tests over plain HTTP: a signed-in client that does not
//! follow redirects, and a page's form token.

use reqwest::redirect::Policy;
use reqwest::StatusCode;

use super::{TestApp, ADMIN_TOKEN};

/// A client that does not follow redirects, signed in: it and its session cookie
/// (`name=value`).
pub async fn signed_in(app: &TestApp) -> (reqwest::Client, String) {
    signed_in_with(app, ADMIN_TOKEN).await
}

/// As [`signed_in`], with `token`: the admin token or a merchant access key.
pub async fn signed_in_with(app: &TestApp, token: &str) -> (reqwest::Client, String) {
    let http = reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap();
    let response = http
        .post(app.url("/console/sign-in"))
        .form(&[("token", token), ("next", "/console/merchants")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap().to_owned();
    (http, cookie)
}

/// The form token of a page (every form of it carries the same one).
pub fn form_token(html: &str) -> String {
    let marker = "name=\"form_token\" value=\"";
    let at = html.find(marker).expect("a form token") + marker.len();
    html[at..at + html[at..].find('"').unwrap()].to_owned()
}
