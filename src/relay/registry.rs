//! Which instance holds each merchant's relay session, in the database: an instance
//! records the sessions it holds and beats for them, and asks which relay-mode merchants
//! another live instance holds, so that it leaves their notifications to that one.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::clock::Clock;
use crate::db::{Db, Sql};

/// How often an instance beats for the sessions it holds.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(5);

/// A session whose instance has not beaten for this long is taken for dead.
const ALIVE_WITHIN: Duration = Duration::from_secs(20);

/// How long the list of merchants held elsewhere is reused before it is read again.
const ELSEWHERE_TTL: Duration = Duration::from_secs(1);

/// This instance's view of the sessions' rows. Cheap to clone.
#[derive(Clone)]
pub struct Registry {
    db: Db,
    clock: Clock,
    /// This process's name in the rows: random, drawn at start-up.
    instance: Arc<str>,
    elsewhere: Arc<Mutex<Option<ReadAt>>>,
}

/// The merchants held elsewhere, and when that was read.
type ReadAt = (Instant, Vec<String>);

impl Registry {
    pub fn new(db: Db, clock: Clock) -> Self {
        Self {
            db,
            clock,
            instance: hex::encode(rand::random::<[u8; 8]>()).into(),
            elsewhere: Arc::default(),
        }
    }

    /// Records that this instance now holds `mid`'s session (a session elsewhere is
    /// replaced: that instance learns it on its next beat).
    pub async fn hold(&self, mid: &str) -> anyhow::Result<()> {
        let sql = Sql::new(
            "INSERT INTO relay_sessions (mid, instance, heartbeat_at) VALUES ($1, $2, $3) \
             ON CONFLICT (mid) DO UPDATE SET instance = excluded.instance, \
             heartbeat_at = excluded.heartbeat_at",
        )
        .bind(mid)
        .bind(&*self.instance)
        .bind(self.clock.now());
        self.db.write(&sql).await?;
        Ok(())
    }

    /// Beats for `mid`'s session; `false` when another instance holds it now.
    pub async fn beat(&self, mid: &str) -> anyhow::Result<bool> {
        let sql = Sql::new(
            "UPDATE relay_sessions SET heartbeat_at = $1 WHERE mid = $2 AND instance = $3",
        )
        .bind(self.clock.now())
        .bind(mid)
        .bind(&*self.instance);
        Ok(self.db.write(&sql).await? > 0)
    }

    /// Records that this instance no longer holds `mid`'s session.
    pub async fn release(&self, mid: &str) -> anyhow::Result<()> {
        let sql = Sql::new("DELETE FROM relay_sessions WHERE mid = $1 AND instance = $2")
            .bind(mid)
            .bind(&*self.instance);
        self.db.write(&sql).await?;
        Ok(())
    }

    /// The relay-mode merchants whose session another live instance holds: this
    /// instance claims none of their notifications.
    pub async fn held_elsewhere(&self) -> anyhow::Result<Vec<String>> {
        if let Some((read, mids)) = &*lock(&self.elsewhere) {
            if read.elapsed() < ELSEWHERE_TTL {
                return Ok(mids.clone());
            }
        }
        let alive_since = self.clock.now()
            - chrono::Duration::from_std(ALIVE_WITHIN).unwrap_or_else(|_| chrono::Duration::zero());
        let rows: Vec<(String,)> = self
            .db
            .read_all(
                &Sql::new(
                    "SELECT r.mid FROM relay_sessions r JOIN merchants m ON m.mid = r.mid \
                     WHERE r.instance <> $1 AND r.heartbeat_at > $2 AND m.delivery = 'relay' \
                     ORDER BY r.mid",
                )
                .bind(&*self.instance)
                .bind(alive_since),
            )
            .await?;
        let mids: Vec<String> = rows.into_iter().map(|(mid,)| mid).collect();
        *lock(&self.elsewhere) = Some((Instant::now(), mids.clone()));
        Ok(mids)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
