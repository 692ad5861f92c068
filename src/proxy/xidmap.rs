//! Proxy-assigned xids ↔ (client, original xid) (sans-IO).
//!
//! Every call forwarded on an upstream connection gets a fresh xid from the proxy,
//! so calls of different clients that happen to use the same xid never collide on
//! the shared connection, and a reply is routed back only to the client whose call
//! it answers. A reply whose xid is not outstanding (late, duplicate, forged) is
//! counted as a bad xid and dropped.
#![forbid(unsafe_code)]

use std::collections::HashMap;

/// Outstanding calls of one upstream connection, keyed by proxy xid.
#[derive(Debug)]
pub struct XidMap<V> {
    next: u32,
    map: HashMap<u32, V>,
}

impl<V> XidMap<V> {
    /// Starts allocating at `seed` (use something unpredictable per daemon run, so a
    /// restarted proxy does not reuse recent xids towards a server's reply cache).
    pub fn new(seed: u32) -> Self {
        XidMap {
            next: seed,
            map: HashMap::new(),
        }
    }
    /// Stores `v` under a new xid not currently outstanding.
    pub fn insert(&mut self, v: V) -> u32 {
        loop {
            self.next = self.next.wrapping_add(1);
            if !self.map.contains_key(&self.next) {
                self.map.insert(self.next, v);
                return self.next;
            }
        }
    }
    pub fn get(&self, xid: u32) -> Option<&V> {
        self.map.get(&xid)
    }
    pub fn get_mut(&mut self, xid: u32) -> Option<&mut V> {
        self.map.get_mut(&xid)
    }
    pub fn remove(&mut self, xid: u32) -> Option<V> {
        self.map.remove(&xid)
    }
    pub fn len(&self) -> usize {
        self.map.len()
    }
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
    /// Removes and returns every outstanding entry.
    pub fn drain(&mut self) -> Vec<(u32, V)> {
        self.map.drain().collect()
    }
    /// Removes entries matching `f`.
    pub fn remove_where(&mut self, mut f: impl FnMut(&V) -> bool) -> Vec<(u32, V)> {
        let keys: Vec<u32> = self
            .map
            .iter()
            .filter(|(_, v)| f(v))
            .map(|(k, _)| *k)
            .collect();
        keys.into_iter()
            .filter_map(|k| self.map.remove(&k).map(|v| (k, v)))
            .collect()
    }
    pub fn iter(&self) -> impl Iterator<Item = (&u32, &V)> {
        self.map.iter()
    }
}

/// Overwrites the xid (first four bytes) of an RPC message; false if too short.
pub fn set_xid(msg: &mut [u8], xid: u32) -> bool {
    match msg.get_mut(..4) {
        Some(h) => {
            h.copy_from_slice(&xid.to_be_bytes());
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpc::msg::peek_xid;
    use proptest::prelude::*;
    use std::collections::HashSet;

    #[test]
    fn wraps_and_skips_outstanding() {
        let mut m = XidMap::new(u32::MAX - 1);
        let a = m.insert("a");
        assert_eq!(a, u32::MAX);
        let b = m.insert("b");
        assert_eq!(b, 0);
        m.next = u32::MAX - 1; // force a collision with `a`
        let c = m.insert("c");
        assert_eq!(c, 1, "skips u32::MAX and 0, both outstanding");
        assert_eq!(m.remove(a), Some("a"));
        assert_eq!(m.remove(a), None, "a reply is routed at most once");
    }

    proptest! {
        /// Any interleaving of calls from clients that reuse the same xids: every
        /// proxy xid is unique while outstanding, and each reply maps back to exactly
        /// the (client, original xid) that sent it.
        #[test]
        fn routes_back_exactly(seed in any::<u32>(), calls in proptest::collection::vec((0u8..8, 0u32..4), 1..200), order in any::<u64>()) {
            let mut m = XidMap::new(seed);
            let mut out = Vec::new();
            let mut live = HashSet::new();
            for (client, orig) in &calls {
                let x = m.insert((*client, *orig));
                prop_assert!(live.insert(x), "proxy xid reused while outstanding");
                let mut msg = orig.to_be_bytes().to_vec();
                msg.extend_from_slice(&[0, 0, 0, 0]);
                prop_assert!(set_xid(&mut msg, x));
                out.push((x, (*client, *orig), msg));
            }
            // Replies in a scrambled order.
            let n = out.len();
            for i in 0..n {
                let j = (order as usize).wrapping_mul(i + 7) % n;
                out.swap(i, j);
            }
            for (x, who, mut msg) in out {
                let px = peek_xid(&msg).unwrap();
                prop_assert_eq!(px, x);
                let back = m.remove(px).unwrap();
                prop_assert_eq!(back, who);
                set_xid(&mut msg, back.1);
                prop_assert_eq!(peek_xid(&msg), Some(who.1));
            }
            prop_assert!(m.is_empty());
        }
    }

    #[test]
    fn short_message_not_rewritten() {
        let mut b = [1u8, 2, 3];
        assert!(!set_xid(&mut b, 7));
        assert_eq!(b, [1, 2, 3]);
    }
}
