//! The web console: its pages and forms over plain HTTP, and the same pages in a real
//! browser.

mod browser;
mod chinese;
mod pages;
mod rotation;
mod states;
mod times;
