//! Says plainly whether the browser tests of the console can run. It has no test harness,
//! so its line is printed even when the other tests' output is captured; with
//! `UMS_NOTIFY_REQUIRE_BROWSER=1` (as CI sets) a missing Chromium or ChromeDriver fails
//! the run.

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let required = std::env::var("UMS_NOTIFY_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
    let missing: Vec<&str> = ["/usr/bin/chromium", "/usr/bin/chromedriver"]
        .into_iter()
        .filter(|path| !Path::new(path).exists())
        .collect();
    match (missing.is_empty(), required) {
        (true, _) => {
            println!("Browser tests: RUN with /usr/bin/chromium and /usr/bin/chromedriver");
            ExitCode::SUCCESS
        }
        (false, false) => {
            println!(
                "Browser tests: SKIPPED, {} not installed (apt-get install chromium chromium-driver fonts-noto-cjk)",
                missing.join(" and ")
            );
            ExitCode::SUCCESS
        }
        (false, true) => {
            println!(
                "Browser tests: REQUIRED but {} not installed",
                missing.join(" and ")
            );
            ExitCode::FAILURE
        }
    }
}
