//! The outbox store directly, on both backends: an expired lease is claimed again and
//! its stale holder's result does not move the row; a claim takes at most `per_host` rows
//! of one host and none of an excluded host or tenant; hand-backs apply each under its own lease
//! token; retention removes only old finished rows, in bounded batches.

use std::time::Duration;

use chrono::Utc;
use ums_notify::outbox::{AttemptRecord, ClaimRequest, NextStep, Store};

use crate::common::outbox::new_notification;
use crate::common::TestDb;

both_backends!(
    retention_removes_only_old_finished_rows,
    expired_lease_is_claimed_again,
    claims_are_capped_per_host_and_skip_excluded_hosts,
    claims_skip_excluded_tenants,
    hand_backs_apply_each_under_its_own_lease_token,
);

/// A claim at `now` of up to ten rows, leased for 30 s, at most 100 of a host.
fn request(now: chrono::DateTime<Utc>) -> ClaimRequest {
    ClaimRequest {
        now,
        limit: 10,
        lease: Duration::from_secs(30),
        exclude_hosts: vec![],
        exclude_tenants: vec![],
        per_host: 100,
    }
}

/// Four due rows of host 127.0.0.3:9 and a claim capped at three a host: it takes three
/// of them, all of that host. Their ids and lease tokens.
async fn three_of_four_claimed(store: &dyn Store, now: chrono::DateTime<Utc>) -> Vec<(i64, i64)> {
    store
        .enqueue_batch(
            (2..6)
                .map(|i| new_notification("http://127.0.0.3:9/n", i))
                .collect(),
            now,
        )
        .await
        .unwrap();
    let mut capped = request(now);
    capped.per_host = 3;
    let taken = store.claim(&capped).await.unwrap();
    assert_eq!(taken.len(), 3, "3 of the 4 due rows of 127.0.0.3:9");
    assert!(taken
        .iter()
        .all(|c| c.notification.destination.host == "127.0.0.3:9"));
    taken
        .iter()
        .map(|c| (c.notification.id, c.lease_token))
        .collect()
}

async fn retention_removes_only_old_finished_rows(db: TestDb) {
    let store = db.store().await;
    let url = "http://127.0.0.1:9/n";
    let t0 = Utc::now() - chrono::Duration::days(10);
    store
        .enqueue_batch((0..4).map(|i| new_notification(url, i)).collect(), t0)
        .await
        .unwrap();
    let claimed = store
        .claim(&ClaimRequest {
            now: t0,
            limit: 3,
            lease: Duration::from_secs(60),
            exclude_hosts: vec![],
            exclude_tenants: vec![],
            per_host: 100,
        })
        .await
        .unwrap();
    assert_eq!(claimed.len(), 3);
    // Two finish ten days ago, one yesterday; the fourth stays pending (old, unfinished).
    let finish = |i: usize, at| AttemptRecord {
        notification_id: claimed[i].notification.id,
        lease_token: claimed[i].lease_token,
        number: 1,
        started_at: at,
        duration_ms: 1,
        status_code: Some(200),
        failure: None,
        message: None,
        response_body: None,
        next: NextStep::Delivered,
    };
    store
        .record(&[finish(0, t0), finish(1, t0)], t0)
        .await
        .unwrap();
    let yesterday = Utc::now() - chrono::Duration::days(1);
    store
        .record(&[finish(2, yesterday)], yesterday)
        .await
        .unwrap();

    let cutoff = Utc::now() - chrono::Duration::days(7);
    assert_eq!(
        store.purge_finished(cutoff, 1).await.unwrap(),
        1,
        "batches are bounded"
    );
    assert_eq!(store.purge_finished(cutoff, 100).await.unwrap(), 1);
    assert_eq!(store.purge_finished(cutoff, 100).await.unwrap(), 0);
    let stats = store.stats(Utc::now()).await.unwrap();
    assert_eq!((stats.delivered, stats.pending), (1, 1));
    assert!(store
        .get(claimed[0].notification.id)
        .await
        .unwrap()
        .is_none());
    assert!(store
        .attempts(claimed[0].notification.id)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store
            .attempts(claimed[2].notification.id)
            .await
            .unwrap()
            .len(),
        1
    );
}

async fn expired_lease_is_claimed_again(db: TestDb) {
    let store = db.store().await;
    let now = Utc::now();
    store
        .enqueue_batch(vec![new_notification("http://127.0.0.1:9/n", 0)], now)
        .await
        .unwrap();
    let first = store.claim(&request(now)).await.unwrap();
    assert_eq!(first.len(), 1);
    assert!(
        store.claim(&request(now)).await.unwrap().is_empty(),
        "leased"
    );
    let later = now + chrono::Duration::seconds(31);
    let second = store.claim(&request(later)).await.unwrap();
    assert_eq!(second.len(), 1, "the lease expired");
    assert!(second[0].lease_token > first[0].lease_token);
    // The stale holder's result is kept as an attempt but does not move the row.
    let stale = AttemptRecord {
        notification_id: first[0].notification.id,
        lease_token: first[0].lease_token,
        number: 1,
        started_at: now,
        duration_ms: 1,
        status_code: Some(500),
        failure: Some(ums_notify::outbox::FailureKind::HttpStatus),
        message: None,
        response_body: None,
        next: NextStep::Exhausted,
    };
    assert!(
        store.record(&[stale], later).await.unwrap().is_empty(),
        "not applied"
    );
    let row = store.get(first[0].notification.id).await.unwrap().unwrap();
    assert_eq!(row.status.as_str(), "delivering");
}

/// A claim takes at most `per_host` rows of one host, and none of an excluded host.
async fn claims_are_capped_per_host_and_skip_excluded_hosts(db: TestDb) {
    let store = db.store().await;
    let now = Utc::now();
    three_of_four_claimed(store.as_ref(), now).await;
    store
        .enqueue_batch(vec![new_notification("http://127.0.0.2:9/n", 1)], now)
        .await
        .unwrap();
    let mut excluded = request(now);
    excluded.exclude_hosts = vec!["127.0.0.2:9".to_owned(), "127.0.0.3:9".to_owned()];
    assert!(store.claim(&excluded).await.unwrap().is_empty());
}

/// Hand-backs apply together, each only under its own lease token.
async fn hand_backs_apply_each_under_its_own_lease_token(db: TestDb) {
    let store = db.store().await;
    let later = Utc::now();
    let taken = three_of_four_claimed(store.as_ref(), later).await;
    store
        .enqueue_batch(vec![new_notification("http://127.0.0.2:9/n", 1)], later)
        .await
        .unwrap();
    let due = later + chrono::Duration::seconds(5);
    let leases: Vec<(i64, i64)> = taken
        .iter()
        .enumerate()
        .map(|(i, (id, token))| (*id, token + i64::from(i == 2)))
        .collect();
    store.release(&leases, due, later).await.unwrap();
    for (i, (id, _)) in taken.iter().enumerate() {
        let row = store.get(*id).await.unwrap().unwrap();
        if i < 2 {
            let due_ms = row.due_at.map(|at| at.timestamp_millis());
            assert_eq!(
                (row.status.as_str(), due_ms),
                ("pending", Some(due.timestamp_millis()))
            );
        } else {
            assert_eq!(
                row.status.as_str(),
                "delivering",
                "a stale token changes nothing"
            );
        }
    }
    let mut excluded = request(later);
    excluded.exclude_hosts = vec!["127.0.0.2:9".to_owned()];
    assert_eq!(
        store.claim(&excluded).await.unwrap().len(),
        1,
        "the fourth row of .3"
    );
}

/// Rows of an excluded tenant (a merchant whose relay session another instance holds)
/// stay where they are; rows of other tenants and of none are claimed.
async fn claims_skip_excluded_tenants(db: TestDb) {
    let store = db.store().await;
    let now = Utc::now();
    let mut batch = Vec::new();
    for (i, tenant) in [Some("A"), Some("B"), None, Some("A")]
        .into_iter()
        .enumerate()
    {
        let mut new = new_notification("http://127.0.0.1:9/n", i);
        new.tenant = tenant.map(str::to_owned);
        batch.push(new);
    }
    store.enqueue_batch(batch, now).await.unwrap();
    let claimed = store
        .claim(&ClaimRequest {
            exclude_tenants: vec!["A".to_owned()],
            ..request(now)
        })
        .await
        .unwrap();
    let mut tenants: Vec<Option<String>> = claimed
        .iter()
        .map(|c| c.notification.tenant.clone())
        .collect();
    tenants.sort();
    assert_eq!(tenants, vec![None, Some("B".to_owned())]);
    let rest = store.claim(&request(now)).await.unwrap();
    assert_eq!(rest.len(), 2, "A's rows were left for another claimer");
}
