//! Helpers of the tests that write to the store directly: a generic notification.

use ums_notify::outbox::NewNotification;
use ums_notify::policy::{Destination, RetryPolicy, RetrySchedule};

/// A generic JSON notification `{"i": i}` to `url`: ten tries, 100 ms apart.
pub fn new_notification(url: &str, i: usize) -> NewNotification {
    NewNotification {
        success: Default::default(),
        destination: Destination::parse(url).unwrap(),
        body: format!(r#"{{"i":{i}}}"#).into_bytes(),
        content_type: "application/json".to_owned(),
        headers: vec![],
        policy: RetryPolicy {
            max_attempts: 10,
            schedule: RetrySchedule::parse("100ms").unwrap(),
        },
        idempotency_key: None,
        tenant: None,
        subject: None,
        kind: "generic".to_owned(),
    }
}
