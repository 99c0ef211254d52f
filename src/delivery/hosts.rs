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

    /// The hosts at their cap now.
    pub fn saturated(&self) -> Vec<String> {
        self.map()
            .iter()
            .filter(|(_, count)| **count >= self.limit)
            .map(|(host, _)| host.clone())
            .collect()
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
        assert_eq!(slots.saturated(), vec!["a:80".to_owned()]);
        let _b = slots.try_take("b:80").unwrap();
        drop(a1);
        assert!(slots.saturated().is_empty());
        assert!(slots.try_take("a:80").is_some());
    }
}
