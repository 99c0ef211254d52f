//! The web console: its pages and forms over plain HTTP (fixed QR codes scanned from
//! their page among them), and the same pages in a real browser.

mod browser;
mod chinese;
mod codes;
mod pages;
mod relay;
mod rotation;
mod states;
mod times;
mod triggers;
