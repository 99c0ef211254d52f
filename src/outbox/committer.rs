//! Group commit: concurrent writers hand their work to a committer that writes many
//! units in one transaction and answers each only after the commit that holds it.
//!
//! A commit's cost (an fsync on SQLite, a round trip and a WAL flush on PostgreSQL) does
//! not grow with what it holds, so under load one commit carries everything that queued
//! up while the previous one ran. Durability is unchanged: nobody hears "done" before
//! their rows are committed.
//!
//! A group is written in the order of its units' [`Unit::PHASE`] (stable, so units of a
//! phase keep the order they came in), and units of one type that sit next to each other
//! are written by one call ([`Unit::write_all`]), so a type can write a whole run in one
//! statement. Any order is a valid one: the units of a group were submitted concurrently.
//!
//! A unit whose statements fail must not fail its neighbours: the group is rolled back
//! and each unit is written again alone, so only the bad one gets the error. A failed
//! commit is answered as a failure to every unit of the group without writing them again,
//! since whether it took effect is unknown.

use std::any::{Any, TypeId};
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::{mpsc, oneshot, Mutex};

use crate::db::{Db, Tx};

/// The most rows one group commit carries; a unit is never split across groups.
pub const MAX_GROUP_ROWS: usize = 1_000;

/// Units waiting for a committer before submitters wait for room.
const QUEUE: usize = 4_096;

/// One piece of work that commits atomically, alone or with others.
#[async_trait]
pub trait Unit: Send + 'static {
    type Output: Send + 'static;

    /// Where the unit's type is written in a group: lower first.
    const PHASE: u8 = 0;

    /// How many rows the unit writes, to bound a group's size.
    fn rows(&self) -> usize {
        1
    }

    /// Writes the unit inside the group's transaction. It may run more than once (when a
    /// neighbour fails, the group is written again unit by unit), each time in a fresh
    /// transaction, so it must not keep anything from an earlier run but its inputs.
    async fn write(&mut self, tx: &mut Tx) -> anyhow::Result<Written<Self::Output>>;

    /// Writes a run of units of this type that are neighbours in a group, returning one
    /// result per unit in order. By default each is written in turn; a type overrides it
    /// to write the run in fewer statements.
    async fn write_all(
        units: &mut [&mut Self],
        tx: &mut Tx,
    ) -> anyhow::Result<Vec<Written<Self::Output>>>
    where
        Self: Sized,
    {
        let mut written = Vec::with_capacity(units.len());
        for unit in units.iter_mut() {
            written.push(unit.write(tx).await?);
        }
        Ok(written)
    }
}

/// What a unit wrote.
pub struct Written<T> {
    pub output: T,
    /// Work became due: other instances are told when the group commits.
    pub due: bool,
}

/// A queued unit with its answer channel, its output type erased.
#[async_trait]
trait Pending: Send {
    fn rows(&self) -> usize;
    fn phase(&self) -> u8;
    /// The unit's type: a run of one type is written by one call.
    fn unit_type(&self) -> TypeId;
    fn as_any(&mut self) -> &mut dyn Any;
    /// Writes this unit and `others` (all of this unit's type) with [`Unit::write_all`];
    /// returns whether work became due.
    async fn write_run(
        &mut self,
        others: &mut [Box<dyn Pending>],
        tx: &mut Tx,
    ) -> anyhow::Result<bool>;
    fn answer(self: Box<Self>, result: anyhow::Result<()>);
}

struct Job<U: Unit> {
    unit: U,
    output: Option<U::Output>,
    reply: oneshot::Sender<anyhow::Result<U::Output>>,
}

#[async_trait]
impl<U: Unit> Pending for Job<U> {
    fn rows(&self) -> usize {
        self.unit.rows()
    }

    fn phase(&self) -> u8 {
        U::PHASE
    }

    fn unit_type(&self) -> TypeId {
        TypeId::of::<U>()
    }

    fn as_any(&mut self) -> &mut dyn Any {
        self
    }

    async fn write_run(
        &mut self,
        others: &mut [Box<dyn Pending>],
        tx: &mut Tx,
    ) -> anyhow::Result<bool> {
        let mut jobs: Vec<&mut Job<U>> = Vec::with_capacity(others.len() + 1);
        jobs.push(self);
        for other in others.iter_mut() {
            let job = other
                .as_any()
                .downcast_mut::<Job<U>>()
                .ok_or_else(|| anyhow::anyhow!("a run of units mixed types"))?;
            jobs.push(job);
        }
        for job in jobs.iter_mut() {
            job.output = None;
        }
        let mut units: Vec<&mut U> = jobs.iter_mut().map(|job| &mut job.unit).collect();
        let written = U::write_all(&mut units, tx).await?;
        anyhow::ensure!(
            written.len() == jobs.len(),
            "a run of {} units wrote {} results",
            jobs.len(),
            written.len()
        );
        let mut due = false;
        for (job, written) in jobs.into_iter().zip(written) {
            due |= written.due;
            job.output = Some(written.output);
        }
        Ok(due)
    }

    fn answer(self: Box<Self>, result: anyhow::Result<()>) {
        let Job { output, reply, .. } = *self;
        let answer = result.and_then(|()| {
            output.ok_or_else(|| anyhow::anyhow!("a committed unit left no output"))
        });
        // The submitter may have gone away (its request was cancelled); its rows stay
        // committed, like a write whose answer was lost on the wire.
        let _ = reply.send(answer);
    }
}

fn job<U: Unit>(
    unit: U,
) -> (
    Box<dyn Pending>,
    oneshot::Receiver<anyhow::Result<U::Output>>,
) {
    let (reply, answer) = oneshot::channel();
    let job = Job {
        unit,
        output: None,
        reply,
    };
    (Box::new(job), answer)
}

type Queue = Arc<Mutex<mpsc::Receiver<Box<dyn Pending>>>>;

/// The door to the committers of one database. Cheap to clone; the committers stop when
/// the last clone is dropped and the queue is empty.
#[derive(Clone)]
pub struct Committer {
    queue: mpsc::Sender<Box<dyn Pending>>,
}

impl Committer {
    /// Starts `writers` committer tasks on `db`. More than one lets a group gather and
    /// write while another commits; SQLite has one writer connection, so one is enough.
    pub fn start(db: Db, writers: usize) -> Self {
        let (queue, receiver) = mpsc::channel(QUEUE);
        let receiver: Queue = Arc::new(Mutex::new(receiver));
        for _ in 0..writers.max(1) {
            tokio::spawn(run(db.clone(), receiver.clone()));
        }
        Self { queue }
    }

    /// Writes `unit` in the next group commit and returns its output once committed.
    pub async fn submit<U: Unit>(&self, unit: U) -> anyhow::Result<U::Output> {
        let (job, answer) = job(unit);
        self.queue
            .send(job)
            .await
            .map_err(|_| anyhow::anyhow!("the committer has stopped"))?;
        answer
            .await
            .map_err(|_| anyhow::anyhow!("the committer stopped before answering"))?
    }
}

/// Writes `units` as one group, bypassing the queue, and returns each one's result in
/// order: the group's behaviour, reachable with a group of the caller's choosing.
pub async fn commit_together<U: Unit>(db: &Db, units: Vec<U>) -> Vec<anyhow::Result<U::Output>> {
    let (group, answers): (Vec<_>, Vec<_>) = units.into_iter().map(job).unzip();
    commit_group(db, group).await;
    let mut results = Vec::with_capacity(answers.len());
    for answer in answers {
        results.push(
            answer
                .await
                .unwrap_or_else(|_| Err(anyhow::anyhow!("a unit was not answered"))),
        );
    }
    results
}

async fn run(db: Db, queue: Queue) {
    loop {
        let group = {
            let mut receiver = queue.lock().await;
            let Some(first) = receiver.recv().await else {
                return;
            };
            let mut rows = first.rows();
            let mut group = vec![first];
            while rows < MAX_GROUP_ROWS {
                match receiver.try_recv() {
                    Ok(next) => {
                        rows += next.rows();
                        group.push(next);
                    }
                    Err(_) => break,
                }
            }
            group
        };
        commit_group(&db, group).await;
    }
}

/// Why a group did not commit.
enum GroupError {
    /// A unit's statements failed; nothing was committed.
    Write(anyhow::Error),
    /// The transaction could not start or commit; if it committed is unknown.
    Commit(anyhow::Error),
}

async fn write_group(db: &Db, group: &mut [Box<dyn Pending>]) -> Result<(), GroupError> {
    let mut tx = db.begin().await.map_err(GroupError::Commit)?;
    let mut due = false;
    let mut rest = group;
    while let Some((first, others)) = rest.split_first_mut() {
        let kind = first.unit_type();
        let run = others
            .iter()
            .take_while(|other| other.unit_type() == kind)
            .count();
        let (same, after) = others.split_at_mut(run);
        due |= first
            .write_run(same, &mut tx)
            .await
            .map_err(GroupError::Write)?;
        rest = after;
    }
    if due {
        tx.notify_due();
    }
    tx.commit().await.map_err(GroupError::Commit)
}

/// Writes a group in one transaction and answers every unit.
async fn commit_group(db: &Db, mut group: Vec<Box<dyn Pending>>) {
    group.sort_by_key(|job| job.phase());
    match write_group(db, &mut group).await {
        Ok(()) => group.into_iter().for_each(|job| job.answer(Ok(()))),
        Err(GroupError::Write(error)) if group.len() > 1 => {
            tracing::debug!(
                error = format!("{error:#}"),
                units = group.len(),
                "a unit of a group commit failed; writing the group unit by unit"
            );
            for mut job in group {
                let result = write_group(db, std::slice::from_mut(&mut job)).await;
                job.answer(result.map_err(|(GroupError::Write(e) | GroupError::Commit(e))| e));
            }
        }
        Err(GroupError::Write(error) | GroupError::Commit(error)) => {
            if let [_] = group.as_slice() {
                // Alone, the unit gets its own error, with its type for the caller to read.
                if let Some(job) = group.pop() {
                    job.answer(Err(error));
                }
                return;
            }
            let message = format!("{error:#}");
            for job in group {
                job.answer(Err(anyhow::anyhow!("{message}")));
            }
        }
    }
}
