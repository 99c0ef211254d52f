//! The outbox operations of the PostgreSQL backend: the [`Store`] trait implemented.

use async_trait::async_trait;

use super::*;

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    async fn migrate(&self) -> anyhow::Result<()> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    async fn ping(&self) -> anyhow::Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn enqueue(&self, new: NewNotification, now: DateTime<Utc>) -> anyhow::Result<Enqueued> {
        let mut tx = self.pool.begin().await?;
        let enqueued = Self::enqueue_in(&mut tx, new, now).await?;
        tx.commit().await?;
        Ok(enqueued)
    }

    async fn enqueue_batch(
        &self,
        batch: Vec<NewNotification>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<u64> {
        let column = |f: fn(&NewNotification) -> String| batch.iter().map(f).collect::<Vec<_>>();
        let urls = column(|n| n.url.clone());
        let hosts = column(|n| n.host.clone());
        let types = column(|n| n.content_type.clone());
        let headers = column(|n| encode_headers(&n.headers));
        let schedules = column(|n| encode_schedule(&n.retry_schedule));
        let kinds = column(|n| n.kind.clone());
        let bodies: Vec<&[u8]> = batch.iter().map(|n| n.body.as_slice()).collect();
        let max_attempts: Vec<i32> = batch.iter().map(|n| n.max_attempts as i32).collect();
        let keys: Vec<Option<&str>> = batch.iter().map(|n| n.idempotency_key.as_deref()).collect();
        let mids: Vec<Option<&str>> = batch.iter().map(|n| n.mid.as_deref()).collect();
        let contracts: Vec<Option<&str>> = batch.iter().map(|n| n.contract_id.as_deref()).collect();
        let mut tx = self.pool.begin().await?;
        let created = sqlx::query(
            "INSERT INTO notifications (status, url, host, body, content_type, headers, \
             max_attempts, retry_schedule, idempotency_key, mid, contract_id, kind, due_at, \
             created_at, updated_at) \
             SELECT 'pending', u.*, $12, $12, $12 FROM UNNEST($1::text[], $2::text[], \
             $3::bytea[], $4::text[], $5::text[], $6::int[], $7::text[], $8::text[], \
             $9::text[], $10::text[], $11::text[]) AS u \
             ON CONFLICT (idempotency_key) DO NOTHING",
        )
        .bind(&urls)
        .bind(&hosts)
        .bind(&bodies)
        .bind(&types)
        .bind(&headers)
        .bind(&max_attempts)
        .bind(&schedules)
        .bind(&keys)
        .bind(&mids)
        .bind(&contracts)
        .bind(&kinds)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        Self::wake_others(&mut tx).await?;
        tx.commit().await?;
        Ok(created)
    }

    async fn claim(&self, request: &ClaimRequest) -> anyhow::Result<Vec<Claimed>> {
        let rows = sqlx::query(CLAIM)
            .bind(request.now)
            .bind(request.now + request.lease)
            .bind(i64::from(request.limit))
            .bind(&request.exclude_hosts)
            .bind(i64::from(request.limit) * 4)
            .bind(i64::from(request.per_host))
            .fetch_all(&self.pool)
            .await?;
        Ok(decode_claims(rows.iter().map(|row| {
            Ok(Claimed {
                lease_token: row.try_get("lease_token")?,
                notification: notification_from_row(row)?,
            })
        })))
    }

    async fn record(
        &self,
        batch: &[AttemptRecord],
        now: DateTime<Utc>,
    ) -> anyhow::Result<Vec<i64>> {
        // Two statements for the whole batch, whatever its size: round trips, not rows,
        // are what a commit costs here.
        let mut ids = Vec::with_capacity(batch.len());
        let mut tokens = Vec::with_capacity(batch.len());
        let mut numbers = Vec::with_capacity(batch.len());
        let mut started = Vec::with_capacity(batch.len());
        let mut durations = Vec::with_capacity(batch.len());
        let mut codes = Vec::with_capacity(batch.len());
        let mut failures = Vec::with_capacity(batch.len());
        let mut messages = Vec::with_capacity(batch.len());
        let mut bodies = Vec::with_capacity(batch.len());
        let mut statuses = Vec::with_capacity(batch.len());
        let mut dues = Vec::with_capacity(batch.len());
        let mut finishes = Vec::with_capacity(batch.len());
        let mut errors = Vec::with_capacity(batch.len());
        for record in batch {
            let (status, due_at, finished_at) = transition_of(record.next, now);
            ids.push(record.notification_id);
            tokens.push(record.lease_token);
            numbers.push(record.number as i32);
            started.push(record.started_at);
            durations.push(record.duration_ms);
            codes.push(record.status_code.map(i32::from));
            failures.push(record.failure.map(|f| f.as_str().to_owned()));
            messages.push(record.message.clone());
            bodies.push(record.response_body.clone());
            statuses.push(status.as_str().to_owned());
            dues.push(due_at);
            finishes.push(finished_at);
            errors.push(last_error_of(record));
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO attempts (notification_id, number, started_at, duration_ms, \
             status_code, failure, message, response_body) \
             SELECT u.* FROM UNNEST($1::bigint[], $2::int[], $3::timestamptz[], $4::bigint[], \
             $5::int[], $6::text[], $7::text[], $8::bytea[]) \
             AS u(id, number, started_at, duration_ms, status_code, failure, message, body) \
             WHERE EXISTS (SELECT 1 FROM notifications n WHERE n.id = u.id)",
        )
        .bind(&ids)
        .bind(&numbers)
        .bind(&started)
        .bind(&durations)
        .bind(&codes)
        .bind(&failures)
        .bind(&messages)
        .bind(&bodies)
        .execute(&mut *tx)
        .await?;
        // Applied only while the row is still leased under the try's token.
        let applied: Vec<i64> = sqlx::query_scalar(
            "UPDATE notifications n SET attempts = n.attempts + 1, \
             round_attempts = n.round_attempts + 1, status = u.status, due_at = u.due_at, \
             finished_at = u.finished_at, last_error = u.last_error, updated_at = $1 \
             FROM UNNEST($2::bigint[], $3::bigint[], $4::text[], $5::timestamptz[], \
                         $6::timestamptz[], $7::text[]) \
                  AS u(id, token, status, due_at, finished_at, last_error) \
             WHERE n.id = u.id AND n.lease_token = u.token AND n.status = 'delivering' \
             RETURNING n.id",
        )
        .bind(now)
        .bind(&ids)
        .bind(&tokens)
        .bind(&statuses)
        .bind(&dues)
        .bind(&finishes)
        .bind(&errors)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(applied)
    }

    async fn release(
        &self,
        leases: &[(i64, i64)],
        due_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let (ids, tokens): (Vec<i64>, Vec<i64>) = leases.iter().copied().unzip();
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE notifications n SET status = 'pending', due_at = $1, updated_at = $4 \
             FROM UNNEST($2::bigint[], $3::bigint[]) AS u(id, token) \
             WHERE n.id = u.id AND n.lease_token = u.token AND n.status = 'delivering'",
        )
        .bind(due_at)
        .bind(&ids)
        .bind(&tokens)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        Self::wake_others(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn next_due_at(&self, exclude_hosts: &[String]) -> anyhow::Result<Option<DateTime<Utc>>> {
        Ok(sqlx::query_scalar(
            "SELECT MIN(due_at) FROM notifications WHERE due_at IS NOT NULL AND host <> ALL($1)",
        )
        .bind(exclude_hosts)
        .fetch_one(&self.pool)
        .await?)
    }

    async fn get(&self, id: i64) -> anyhow::Result<Option<Notification>> {
        let mut conn = self.pool.acquire().await?;
        Self::fetch_one_by(&mut conn, Lookup::Id(id)).await
    }

    async fn attempts(&self, id: i64) -> anyhow::Result<Vec<Attempt>> {
        let rows = sqlx::query(
            "SELECT number, started_at, duration_ms, status_code, failure, message, response_body \
             FROM attempts WHERE notification_id = $1 ORDER BY number, id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Attempt {
                    number: row.try_get::<i32, _>("number")? as u32,
                    started_at: row.try_get("started_at")?,
                    duration_ms: row.try_get("duration_ms")?,
                    status_code: row
                        .try_get::<Option<i32>, _>("status_code")?
                        .map(|c| c as u16),
                    failure: row
                        .try_get::<Option<String>, _>("failure")?
                        .and_then(|f| FailureKind::parse(&f)),
                    message: row.try_get("message")?,
                    response_body: row.try_get("response_body")?,
                })
            })
            .collect()
    }

    async fn list(&self, filter: &ListFilter) -> anyhow::Result<Vec<Notification>> {
        let mut query = QueryBuilder::<Postgres>::new(format!(
            "SELECT {COLUMNS} FROM notifications WHERE 1 = 1"
        ));
        push_list_filter(&mut query, filter);
        let rows = query.build().fetch_all(&self.pool).await?;
        rows.iter().map(notification_from_row).collect()
    }

    async fn act(
        &self,
        id: i64,
        action: AdminAction,
        now: DateTime<Utc>,
    ) -> anyhow::Result<ActionOutcome> {
        let (set, allowed) = action_sql(action, "$1");
        let sql = format!(
            "UPDATE notifications SET {set}, updated_at = $1 WHERE id = $2 AND status IN ({allowed}) \
             RETURNING {COLUMNS}"
        );
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(&sql)
            .bind(now)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let outcome = match row {
            Some(row) => {
                Self::wake_others(&mut tx).await?;
                ActionOutcome::Done(Box::new(notification_from_row(&row)?))
            }
            None => match Self::fetch_one_by(&mut tx, Lookup::Id(id)).await? {
                Some(existing) => ActionOutcome::Conflict(existing.status),
                None => ActionOutcome::NotFound,
            },
        };
        tx.commit().await?;
        Ok(outcome)
    }

    async fn stats(&self, now: DateTime<Utc>) -> anyhow::Result<Stats> {
        let mut stats = Stats::default();
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT status, COUNT(*) FROM notifications GROUP BY status")
                .fetch_all(&self.pool)
                .await?;
        for (status, count) in rows {
            stats.set(decode_status(&status)?, count as u64);
        }
        let oldest: Option<DateTime<Utc>> = sqlx::query_scalar(
            "SELECT MIN(due_at) FROM notifications WHERE due_at <= $1 AND status = 'pending'",
        )
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        stats.oldest_due_seconds = oldest
            .map(|due| (now - due).num_milliseconds().max(0) as f64 / 1000.0)
            .unwrap_or(0.0);
        Ok(stats)
    }

    async fn purge_finished(&self, before: DateTime<Utc>, limit: u32) -> anyhow::Result<u64> {
        // Attempts go with their notification (ON DELETE CASCADE). SKIP LOCKED lets several
        // instances sweep at once without waiting on each other.
        let deleted = sqlx::query(
            "DELETE FROM notifications WHERE id IN (SELECT id FROM notifications \
             WHERE finished_at < $1 ORDER BY finished_at LIMIT $2 FOR UPDATE SKIP LOCKED)",
        )
        .bind(before)
        .bind(i64::from(limit))
        .execute(&self.pool)
        .await?;
        Ok(deleted.rows_affected())
    }

    async fn wait_for_remote_wakeup(&self) -> anyhow::Result<()> {
        let mut guard = self.listener.lock().await;
        if guard.is_none() {
            let mut listener = PgListener::connect_with(&self.pool).await?;
            listener.listen(WAKEUP_CHANNEL).await?;
            *guard = Some(listener);
        }
        let Some(listener) = guard.as_mut() else {
            return Ok(());
        };
        match listener.try_recv().await {
            Ok(Some(_)) => Ok(()),
            // The connection dropped: the listener reconnects on the next call. Work may
            // have been signalled meanwhile, so report a wake-up.
            Ok(None) => Ok(()),
            Err(error) => {
                *guard = None;
                Err(error.into())
            }
        }
    }
}
