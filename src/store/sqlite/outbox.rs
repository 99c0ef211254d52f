//! The outbox operations of the SQLite backend: the [`Store`] trait implemented.

use async_trait::async_trait;

use super::*;

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    async fn migrate(&self) -> anyhow::Result<()> {
        MIGRATOR.run(&self.writer).await?;
        Ok(())
    }

    async fn ping(&self) -> anyhow::Result<()> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        Ok(())
    }

    async fn enqueue(&self, new: NewNotification, now: DateTime<Utc>) -> anyhow::Result<Enqueued> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let enqueued = Self::enqueue_in(&mut tx, new, now).await?;
        tx.commit().await?;
        Ok(enqueued)
    }

    async fn enqueue_batch(
        &self,
        batch: Vec<NewNotification>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<u64> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let mut created = 0;
        for new in &batch {
            created += u64::from(Self::insert(&mut tx, new, now).await?.is_some());
        }
        tx.commit().await?;
        Ok(created)
    }

    async fn claim(&self, request: &ClaimRequest) -> anyhow::Result<Vec<Claimed>> {
        let now = ms(request.now);
        let mut query = QueryBuilder::<Sqlite>::new(
            "UPDATE notifications SET status = 'delivering', lease_token = lease_token + 1, due_at = ",
        );
        query.push_bind(ms(request.now + request.lease));
        query.push(", updated_at = ").push_bind(now);
        // The window bounds the rows taken from one host; the inner LIMIT bounds the
        // window's work however large the backlog.
        query.push(
            " WHERE id IN (SELECT id FROM (SELECT id, due_at, ROW_NUMBER() OVER \
             (PARTITION BY host ORDER BY due_at, id) AS nth FROM (SELECT id, host, due_at \
             FROM notifications WHERE due_at <= ",
        );
        query.push_bind(now);
        if !request.exclude_hosts.is_empty() {
            query.push(" AND host NOT IN (");
            let mut list = query.separated(", ");
            for host in &request.exclude_hosts {
                list.push_bind(host);
            }
            query.push(")");
        }
        query.push(" ORDER BY due_at LIMIT ");
        query.push_bind(i64::from(request.limit) * 4);
        query.push(")) WHERE nth <= ");
        query.push_bind(i64::from(request.per_host));
        query.push(" ORDER BY due_at LIMIT ");
        query.push_bind(i64::from(request.limit));
        query.push(") RETURNING ");
        query.push(COLUMNS);
        let rows = query.build().fetch_all(&self.writer).await?;
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
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let mut applied = Vec::with_capacity(batch.len());
        for record in batch {
            // A row deleted meanwhile (retention) keeps no history: skip, don't fail the batch.
            sqlx::query(
                "INSERT INTO attempts (notification_id, number, started_at, duration_ms, \
                 status_code, failure, message, response_body) \
                 SELECT ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM notifications WHERE id = ?)",
            )
            .bind(record.notification_id)
            .bind(record.number as i64)
            .bind(ms(record.started_at))
            .bind(record.duration_ms)
            .bind(record.status_code.map(i64::from))
            .bind(record.failure.map(FailureKind::as_str))
            .bind(&record.message)
            .bind(&record.response_body)
            .bind(record.notification_id)
            .execute(&mut *tx)
            .await?;
            let (status, due_at, finished_at) = transition_of(record.next, now);
            let updated = sqlx::query(
                "UPDATE notifications SET attempts = attempts + 1, \
                 round_attempts = round_attempts + 1, status = ?, due_at = ?, finished_at = ?, \
                 last_error = ?, updated_at = ? \
                 WHERE id = ? AND lease_token = ? AND status = 'delivering'",
            )
            .bind(status.as_str())
            .bind(due_at.map(ms))
            .bind(finished_at.map(ms))
            .bind(last_error_of(record))
            .bind(ms(now))
            .bind(record.notification_id)
            .bind(record.lease_token)
            .execute(&mut *tx)
            .await?;
            if updated.rows_affected() == 1 {
                applied.push(record.notification_id);
            }
        }
        tx.commit().await?;
        Ok(applied)
    }

    async fn release(
        &self,
        leases: &[(i64, i64)],
        due_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        for (id, token) in leases {
            sqlx::query(
                "UPDATE notifications SET status = 'pending', due_at = ?, updated_at = ? \
                 WHERE id = ? AND lease_token = ? AND status = 'delivering'",
            )
            .bind(ms(due_at))
            .bind(ms(now))
            .bind(id)
            .bind(token)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn next_due_at(&self, exclude_hosts: &[String]) -> anyhow::Result<Option<DateTime<Utc>>> {
        let mut query = QueryBuilder::<Sqlite>::new(
            "SELECT MIN(due_at) FROM notifications WHERE due_at IS NOT NULL",
        );
        if !exclude_hosts.is_empty() {
            query.push(" AND host NOT IN (");
            let mut list = query.separated(", ");
            for host in exclude_hosts {
                list.push_bind(host);
            }
            query.push(")");
        }
        let min: Option<i64> = query.build_query_scalar().fetch_one(&self.reader).await?;
        Ok(min.map(from_ms))
    }

    async fn get(&self, id: i64) -> anyhow::Result<Option<Notification>> {
        let mut conn = self.reader.acquire().await?;
        Self::fetch_one_by(&mut conn, Lookup::Id(id)).await
    }

    async fn attempts(&self, id: i64) -> anyhow::Result<Vec<Attempt>> {
        let rows = sqlx::query(
            "SELECT number, started_at, duration_ms, status_code, failure, message, response_body \
             FROM attempts WHERE notification_id = ? ORDER BY number, id",
        )
        .bind(id)
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Attempt {
                    number: row.try_get::<i64, _>("number")? as u32,
                    started_at: from_ms(row.try_get("started_at")?),
                    duration_ms: row.try_get("duration_ms")?,
                    status_code: row
                        .try_get::<Option<i64>, _>("status_code")?
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
        let mut query =
            QueryBuilder::<Sqlite>::new(format!("SELECT {COLUMNS} FROM notifications WHERE 1 = 1"));
        push_list_filter(&mut query, filter);
        let rows = query.build().fetch_all(&self.reader).await?;
        rows.iter().map(notification_from_row).collect()
    }

    async fn act(
        &self,
        id: i64,
        action: AdminAction,
        now: DateTime<Utc>,
    ) -> anyhow::Result<ActionOutcome> {
        let (set, allowed) = action_sql(action, "?1");
        let sql = format!(
            "UPDATE notifications SET {set}, updated_at = ?1 WHERE id = ?2 AND status IN ({allowed}) \
             RETURNING {COLUMNS}"
        );
        let mut conn = self.writer.acquire().await?;
        let row = sqlx::query(&sql)
            .bind(ms(now))
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
        if let Some(row) = row {
            return Ok(ActionOutcome::Done(Box::new(notification_from_row(&row)?)));
        }
        Ok(match Self::fetch_one_by(&mut conn, Lookup::Id(id)).await? {
            Some(existing) => ActionOutcome::Conflict(existing.status),
            None => ActionOutcome::NotFound,
        })
    }

    async fn stats(&self, now: DateTime<Utc>) -> anyhow::Result<Stats> {
        let mut stats = Stats::default();
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT status, COUNT(*) FROM notifications GROUP BY status")
                .fetch_all(&self.reader)
                .await?;
        for (status, count) in rows {
            stats.set(decode_status(&status)?, count as u64);
        }
        let oldest: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(due_at) FROM notifications WHERE due_at <= ? AND status = 'pending'",
        )
        .bind(ms(now))
        .fetch_one(&self.reader)
        .await?;
        stats.oldest_due_seconds = oldest
            .map(|due| (ms(now) - due).max(0) as f64 / 1000.0)
            .unwrap_or(0.0);
        Ok(stats)
    }

    async fn purge_finished(&self, before: DateTime<Utc>, limit: u32) -> anyhow::Result<u64> {
        // Attempts go with their notification (ON DELETE CASCADE).
        let deleted = sqlx::query(
            "DELETE FROM notifications WHERE id IN (SELECT id FROM notifications \
             WHERE finished_at < ? ORDER BY finished_at LIMIT ?)",
        )
        .bind(ms(before))
        .bind(i64::from(limit))
        .execute(&self.writer)
        .await?;
        Ok(deleted.rows_affected())
    }
}
