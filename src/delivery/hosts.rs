//! The per-destination cap: how many tries may run against one host at once, so a slow
//! or hanging merchant cannot take every worker; and how many more of its claimed
//! notifications may wait, leased, to start the moment a slot frees.
//!
//! A claim is sized for the places a host will have free when the claim lands, not when
//! it is asked: each host's recent pace (how long its tries take) and the claims' recent
//! round trip tell how much of what runs and waits now will be done by then. A host that
//! answers faster than a claim comes back would otherwise drain each claim long before
//! the next one lands, and deliver no more than its places per claim round trip.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::Wakeup;

/// Tries in flight and claimed notifications waiting, of one host.
#[derive(Debug, Clone, Copy, Default)]
struct Load {
    inflight: usize,
    queued: usize,
}

/// How many hosts' paces are kept; past it they are forgotten and learned again.
const PACES_KEPT: usize = 4_096;

/// The longest a claim's round trip counts as: one that waited long (for a connection,
/// behind a stalled disk) says little about the next.
const LONGEST_CLAIM: Duration = Duration::from_millis(100);

/// How much a new measurement moves an average: one eighth.
const SMOOTHING: f64 = 0.125;

#[derive(Default)]
struct State {
    load: HashMap<String, Load>,
    /// The average time of a try, per host, kept while the host is idle too.
    pace: HashMap<String, f64>,
    /// The average round trip of a claim, in seconds.
    claim_latency: f64,
}

/// In-flight tries and waiting claims per host.
#[derive(Clone)]
pub struct HostSlots {
    limit: usize,
    /// Claimed notifications a host may have waiting beside its `limit` in flight.
    ahead: usize,
    state: Arc<Mutex<State>>,
    freed: Wakeup,
}

fn smooth(average: f64, sample: f64) -> f64 {
    if average == 0.0 {
        sample
    } else {
        average + (sample - average) * SMOOTHING
    }
}

/// Adds a slot held for `held` seconds to `host`'s pace.
fn add_pace(state: &mut State, host: String, held: f64) {
    if state.pace.len() >= PACES_KEPT && !state.pace.contains_key(&host) {
        state.pace.clear();
    }
    let pace = state.pace.entry(host).or_default();
    *pace = smooth(*pace, held);
}

/// What a claim may take, per [`HostSlots::room`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Room {
    pub crowded: Vec<String>,
    pub per_host: usize,
}

/// Holds one slot of a host; dropping it frees the slot, adds the time it was held to the
/// host's pace and wakes the dispatcher.
pub struct HostSlot {
    host: String,
    slots: HostSlots,
    taken: Instant,
}

impl HostSlots {
    /// `limit` tries in flight per host, and `ahead` more claimed and waiting.
    pub fn new(limit: usize, ahead: usize, freed: Wakeup) -> Self {
        Self {
            limit: limit.max(1),
            ahead,
            state: Arc::default(),
            freed,
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// What a claim may still take of a host with `load`: its free slots and its free
    /// places to wait.
    fn free(&self, load: Load) -> usize {
        (self.limit + self.ahead).saturating_sub(load.inflight + load.queued)
    }

    /// What a claim asked now may take of `host` with `load`: its places free once what
    /// runs and waits there now has had a claim's round trip to finish, at the host's
    /// pace with all its slots busy. A host with no pace yet counts what it holds.
    fn free_at_landing(&self, state: &State, host: &str, load: Load) -> usize {
        // The cast saturates: a pace of zero finishes everything.
        let finished = state.pace.get(host).map_or(0, |&pace| {
            (self.limit as f64 * state.claim_latency / pace) as usize
        });
        let held = (load.inflight + load.queued).saturating_sub(finished);
        (self.limit + self.ahead).saturating_sub(held)
    }

    /// Adds one successful claim's round trip to the average [`HostSlots::room`] plans
    /// with; a sample is taken as at most [`LONGEST_CLAIM`].
    pub fn claim_took(&self, elapsed: Duration) {
        let mut state = self.state();
        let sample = elapsed.min(LONGEST_CLAIM).as_secs_f64();
        state.claim_latency = smooth(state.claim_latency, sample);
    }

    /// Takes a slot of `host` unless the host is at its cap.
    pub fn try_take(&self, host: &str) -> Option<HostSlot> {
        let mut state = self.state();
        let load = state.load.entry(host.to_owned()).or_default();
        if load.inflight >= self.limit {
            return None;
        }
        load.inflight += 1;
        Some(HostSlot {
            host: host.to_owned(),
            slots: self.clone(),
            taken: Instant::now(),
        })
    }

    /// Counts a claimed notification of `host` waiting for a slot; `false` (and nothing
    /// counted) if the host has no place left to wait.
    pub(super) fn queue(&self, host: &str) -> bool {
        let mut state = self.state();
        let load = state.load.entry(host.to_owned()).or_default();
        if load.queued >= self.ahead {
            if load.inflight == 0 && load.queued == 0 {
                state.load.remove(host);
            }
            return false;
        }
        load.queued += 1;
        true
    }

    /// Stops counting a waiting notification of `host`: it started, or went back.
    pub(super) fn unqueue(&self, host: &str) {
        let mut state = self.state();
        if let Some(load) = state.load.get_mut(host) {
            load.queued = load.queued.saturating_sub(1);
            if load.inflight == 0 && load.queued == 0 {
                state.load.remove(host);
            }
        }
    }

    /// The room a claim should plan with: the hosts with fewer than `refill` places free
    /// now (slots and places to wait; left out of the claim: their work waits until enough
    /// are free to claim it in a batch, and meanwhile other hosts' work is claimed) and
    /// the fewest places free when the claim lands among the other busy hosts (the most a
    /// claim takes from one host, so that what it brings can start or wait rather than go
    /// back).
    pub fn room(&self, refill: usize) -> Room {
        let refill = refill.clamp(1, self.limit);
        let mut room = Room {
            crowded: Vec::new(),
            per_host: self.limit + self.ahead,
        };
        let state = self.state();
        for (host, load) in state.load.iter() {
            if self.free(*load) < refill {
                room.crowded.push(host.clone());
            } else {
                room.per_host = room.per_host.min(self.free_at_landing(&state, host, *load));
            }
        }
        room
    }

    /// Forgets `host`'s pace, so claims count everything it holds until its next tries
    /// end: a claim brought more of it than could start or wait, so the pace no longer
    /// tells how fast it works (a fast host that began to hang, say).
    pub fn forget_pace(&self, host: &str) {
        self.state().pace.remove(host);
    }

    /// Whether any of `hosts` has at least `refill` free places.
    pub fn any_has_room(&self, hosts: &[String], refill: usize) -> bool {
        let state = self.state();
        hosts.iter().any(|host| {
            let load = state.load.get(host).copied().unwrap_or_default();
            self.free(load) >= refill.clamp(1, self.limit)
        })
    }
}

impl Drop for HostSlot {
    fn drop(&mut self) {
        let held = self.taken.elapsed().as_secs_f64();
        let mut state = self.slots.state();
        if let Some(load) = state.load.get_mut(&self.host) {
            load.inflight = load.inflight.saturating_sub(1);
            if load.inflight == 0 && load.queued == 0 {
                state.load.remove(&self.host);
            }
        }
        add_pace(&mut state, std::mem::take(&mut self.host), held);
        drop(state);
        self.slots.freed.wake();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiting_claims_count_toward_a_host_s_room_but_not_its_slots() {
        let slots = HostSlots::new(2, 2, Wakeup::default());
        let _a1 = slots.try_take("a:80").unwrap();
        let _a2 = slots.try_take("a:80").unwrap();
        assert!(slots.try_take("a:80").is_none(), "two in flight at most");
        assert_eq!(slots.room(2).per_host, 2, "two more may wait");
        assert!(slots.queue("a:80") && slots.queue("a:80"));
        assert!(!slots.queue("a:80"), "no third place to wait");
        assert_eq!(slots.room(1).crowded, vec!["a:80".to_owned()]);
        slots.unqueue("a:80");
        assert!(slots.any_has_room(&["a:80".to_owned()], 1));
    }

    #[test]
    fn a_host_faster_than_a_claim_has_its_places_counted_free_for_the_landing() {
        let slots = HostSlots::new(4, 4, Wakeup::default());
        // Fast: tries of half a millisecond, claims of 5 ms.
        add_pace(&mut slots.state(), "fast:80".to_owned(), 0.000_5);
        slots.claim_took(Duration::from_millis(5));
        let _held: Vec<_> = (0..4).filter_map(|_| slots.try_take("fast:80")).collect();
        assert!((0..2).all(|_| slots.queue("fast:80")));
        let room = slots.room(2);
        assert!(room.crowded.is_empty(), "two places free now");
        assert_eq!(room.per_host, 8, "all done by the time a claim lands");
        // Who is left out is decided by the room it has now.
        assert!((0..2).all(|_| slots.queue("fast:80")));
        assert_eq!(slots.room(2).crowded, vec!["fast:80".to_owned()]);
        // A claim that brought more than fitted makes the pace be forgotten.
        slots.forget_pace("fast:80");
        slots.unqueue("fast:80");
        slots.unqueue("fast:80");
        assert_eq!(
            slots.room(2).per_host,
            2,
            "without a pace, what it holds counts"
        );
    }

    #[test]
    fn a_host_slower_than_a_claim_or_not_yet_measured_counts_what_it_holds() {
        let slots = HostSlots::new(4, 4, Wakeup::default());
        slots.claim_took(Duration::from_micros(1));
        let _unmeasured: Vec<_> = (0..3).filter_map(|_| slots.try_take("new:80")).collect();
        assert_eq!(
            slots.room(1).per_host,
            5,
            "no pace yet: three held of eight"
        );
        // Slow: tries of 20 ms.
        add_pace(&mut slots.state(), "slow:80".to_owned(), 0.02);
        let _slow: Vec<_> = (0..4).filter_map(|_| slots.try_take("slow:80")).collect();
        let room = slots.room(1);
        assert_eq!(
            room.per_host, 4,
            "the slow host's four tries are still held then"
        );
    }

    #[test]
    fn caps_each_host_separately() {
        let slots = HostSlots::new(2, 0, Wakeup::default());
        let a1 = slots.try_take("a:80").unwrap();
        let _a2 = slots.try_take("a:80").unwrap();
        assert!(slots.try_take("a:80").is_none());
        assert_eq!(slots.room(1).crowded, vec!["a:80".to_owned()]);
        let _b = slots.try_take("b:80").unwrap();
        drop(a1);
        assert!(slots.room(1).crowded.is_empty());
        assert!(slots.try_take("a:80").is_some());
    }

    #[test]
    fn room_leaves_out_crowded_hosts_and_takes_the_least_free() {
        let slots = HostSlots::new(8, 0, Wakeup::default());
        let held: Vec<_> = (0..6).filter_map(|_| slots.try_take("a:80")).collect();
        let other: Vec<_> = (0..3).filter_map(|_| slots.try_take("b:80")).collect();
        // a has 2 free (below a refill of 4), b has 5.
        let room = slots.room(4);
        assert_eq!(room.crowded, vec!["a:80".to_owned()]);
        assert_eq!(room.per_host, 5);
        assert!(!slots.any_has_room(&room.crowded, 4));
        drop(held);
        assert!(slots.any_has_room(&room.crowded, 4));
        assert_eq!(slots.room(4).per_host, 5);
        drop(other);
        assert_eq!(
            slots.room(4),
            Room {
                crowded: vec![],
                per_host: 8
            }
        );
    }
}
