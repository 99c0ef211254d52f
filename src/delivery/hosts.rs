//! The per-destination cap: how many tries may run against one host at once, so a slow
//! or hanging merchant cannot take every worker.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::Wakeup;

/// In-flight tries per host.
#[derive(Clone)]
pub struct HostSlots {
    limit: usize,
    inflight: Arc<Mutex<HashMap<String, usize>>>,
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
    pub fn new(limit: usize, freed: Wakeup) -> Self {
        Self {
            limit: limit.max(1),
            inflight: Arc::default(),
            freed,
        }
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, usize>> {
        self.inflight
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes a slot of `host` unless the host is at its cap.
    pub fn try_take(&self, host: &str) -> Option<HostSlot> {
        let mut map = self.map();
        let count = map.entry(host.to_owned()).or_insert(0);
        if *count >= self.limit {
            return None;
        }
        *count += 1;
        Some(HostSlot {
            host: host.to_owned(),
            slots: self.clone(),
        })
    }

    /// The room a claim should plan with: the hosts with fewer than `refill` free slots
    /// (left out of the claim: their work waits until enough slots are free to claim it in
    /// a batch) and the fewest free slots among the other busy hosts (the most a claim
    /// takes from one host, so nothing claimed has to be handed back).
    pub fn room(&self, refill: usize) -> Room {
        let refill = refill.clamp(1, self.limit);
        let mut room = Room {
            crowded: Vec::new(),
            per_host: self.limit,
        };
        for (host, count) in self.map().iter() {
            let free = self.limit.saturating_sub(*count);
            if free < refill {
                room.crowded.push(host.clone());
            } else {
                room.per_host = room.per_host.min(free);
            }
        }
        room
    }

    /// Whether any of `hosts` has at least `refill` free slots.
    pub fn any_has_room(&self, hosts: &[String], refill: usize) -> bool {
        let map = self.map();
        hosts.iter().any(|host| {
            let count = map.get(host).copied().unwrap_or(0);
            self.limit.saturating_sub(count) >= refill.clamp(1, self.limit)
        })
    }
}

impl Drop for HostSlot {
    fn drop(&mut self) {
        let mut map = self.slots.map();
        if let Some(count) = map.get_mut(&self.host) {
            *count -= 1;
            if *count == 0 {
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
    fn caps_each_host_separately() {
        let slots = HostSlots::new(2, Wakeup::default());
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
        let slots = HostSlots::new(8, Wakeup::default());
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
