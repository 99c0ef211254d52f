//! The per-destination cap: how many tries may run against one host at once, so a slow
//! or hanging merchant cannot take every worker; and how many more of its claimed
//! notifications may wait, leased, to start the moment a slot frees.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::Wakeup;

/// Tries in flight and claimed notifications waiting, of one host.
#[derive(Debug, Clone, Copy, Default)]
struct Load {
    inflight: usize,
    queued: usize,
}

/// In-flight tries and waiting claims per host.
#[derive(Clone)]
pub struct HostSlots {
    limit: usize,
    /// Claimed notifications a host may have waiting beside its `limit` in flight.
    ahead: usize,
    load: Arc<Mutex<HashMap<String, Load>>>,
    freed: Wakeup,
}

/// What a claim may take, per [`HostSlots::room`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Room {
    pub crowded: Vec<String>,
    pub per_host: usize,
}

/// Holds one slot of a host; dropping it frees the slot and wakes the dispatcher.
pub struct HostSlot {
    host: String,
    slots: HostSlots,
}

impl HostSlots {
    /// `limit` tries in flight per host, and `ahead` more claimed and waiting.
    pub fn new(limit: usize, ahead: usize, freed: Wakeup) -> Self {
        Self {
            limit: limit.max(1),
            ahead,
            load: Arc::default(),
            freed,
        }
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Load>> {
        self.load
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// What a claim may still take of a host with `load`: its free slots and its free
    /// places to wait.
    fn free(&self, load: Load) -> usize {
        (self.limit + self.ahead).saturating_sub(load.inflight + load.queued)
    }

    /// Takes a slot of `host` unless the host is at its cap.
    pub fn try_take(&self, host: &str) -> Option<HostSlot> {
        let mut map = self.map();
        let load = map.entry(host.to_owned()).or_default();
        if load.inflight >= self.limit {
            return None;
        }
        load.inflight += 1;
        Some(HostSlot {
            host: host.to_owned(),
            slots: self.clone(),
        })
    }

    /// Counts a claimed notification of `host` waiting for a slot; `false` (and nothing
    /// counted) if the host has no place left to wait.
    pub(super) fn queue(&self, host: &str) -> bool {
        let mut map = self.map();
        let load = map.entry(host.to_owned()).or_default();
        if load.queued >= self.ahead {
            if load.inflight == 0 && load.queued == 0 {
                map.remove(host);
            }
            return false;
        }
        load.queued += 1;
        true
    }

    /// Stops counting a waiting notification of `host`: it started, or went back.
    pub(super) fn unqueue(&self, host: &str) {
        let mut map = self.map();
        if let Some(load) = map.get_mut(host) {
            load.queued = load.queued.saturating_sub(1);
            if load.inflight == 0 && load.queued == 0 {
                map.remove(host);
            }
        }
    }

    /// The room a claim should plan with: the hosts with fewer than `refill` free places
    /// (slots and places to wait; left out of the claim: their work waits until enough
    /// are free to claim it in a batch) and the fewest free places among the other busy
    /// hosts (the most a claim takes from one host, so nothing claimed has to be handed
    /// back).
    pub fn room(&self, refill: usize) -> Room {
        let refill = refill.clamp(1, self.limit);
        let mut room = Room {
            crowded: Vec::new(),
            per_host: self.limit + self.ahead,
        };
        for (host, load) in self.map().iter() {
            let free = self.free(*load);
            if free < refill {
                room.crowded.push(host.clone());
            } else {
                room.per_host = room.per_host.min(free);
            }
        }
        room
    }

    /// Whether any of `hosts` has at least `refill` free places.
    pub fn any_has_room(&self, hosts: &[String], refill: usize) -> bool {
        let map = self.map();
        hosts.iter().any(|host| {
            let load = map.get(host).copied().unwrap_or_default();
            self.free(load) >= refill.clamp(1, self.limit)
        })
    }
}

impl Drop for HostSlot {
    fn drop(&mut self) {
        let mut map = self.slots.map();
        if let Some(load) = map.get_mut(&self.host) {
            load.inflight = load.inflight.saturating_sub(1);
            if load.inflight == 0 && load.queued == 0 {
                map.remove(&self.host);
            }
        }
        drop(map);
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
