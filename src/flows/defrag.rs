//! IPv4/IPv6 fragment reassembly with hard bounds.
//!
//! Fragments are held per (source, destination, protocol, id) until the datagram is complete,
//! [`FRAGMENT_TIMEOUT`] passes, or a bound is hit; an attacker sending endless first fragments
//! costs at most [`MAX_DATAGRAMS_IN_PROGRESS`] × [`MAX_DATAGRAM_LEN`] bytes.

use crate::util::Timestamp;
use rustc_hash::FxHashMap;
use std::net::IpAddr;

/// Datagrams being reassembled at once; beyond it the oldest is dropped.
pub const MAX_DATAGRAMS_IN_PROGRESS: usize = 1024;
/// Largest reassembled IP payload (IPv4 limit; jumbograms are not reassembled).
pub const MAX_DATAGRAM_LEN: usize = 65_535;
/// Fragments older than this are dropped, as IP stacks do.
pub const FRAGMENT_TIMEOUT: Timestamp = 30_000_000_000;

/// Which datagram a fragment belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FragKey {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub proto: u8,
    pub id: u32,
}

#[derive(Debug, Default)]
struct Partial {
    first_seen: Timestamp,
    /// (offset, bytes) pieces as received.
    pieces: Vec<(u32, Vec<u8>)>,
    total: Option<u32>,
    bytes: usize,
}

/// Counters for the diagnostics summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DefragStats {
    pub fragments: u64,
    pub reassembled: u64,
    pub dropped: u64,
}

#[derive(Debug, Default)]
pub struct Defragmenter {
    partial: FxHashMap<FragKey, Partial>,
    pub stats: DefragStats,
    /// The most datagrams in progress at once (before the one a fragment adds).
    pub peak: usize,
}

impl Defragmenter {
    /// Adds a fragment; returns the reassembled IP payload when the datagram is complete.
    pub fn add(&mut self, ts: Timestamp, key: FragKey, offset: u32, more: bool, data: &[u8]) -> Option<Vec<u8>> {
        self.stats.fragments += 1;
        self.peak = self.peak.max(self.partial.len());
        if !self.partial.contains_key(&key) && self.partial.len() >= MAX_DATAGRAMS_IN_PROGRESS {
            self.expire(ts);
            if self.partial.len() >= MAX_DATAGRAMS_IN_PROGRESS {
                if let Some(oldest) =
                    self.partial.iter().min_by_key(|(k, p)| (p.first_seen, format!("{k:?}"))).map(|(k, _)| *k)
                {
                    self.partial.remove(&oldest);
                    self.stats.dropped += 1;
                }
            }
        }
        let end = offset as usize + data.len();
        // A datagram whose first fragment is older than the timeout is gone, whatever other
        // traffic did or did not trigger a sweep meanwhile.
        if self.partial.get(&key).is_some_and(|p| ts.saturating_sub(p.first_seen) > FRAGMENT_TIMEOUT) {
            self.partial.remove(&key);
            self.stats.dropped += 1;
        }
        let p = self.partial.entry(key).or_insert_with(|| Partial { first_seen: ts, ..Partial::default() });
        if end > MAX_DATAGRAM_LEN || p.bytes + data.len() > 2 * MAX_DATAGRAM_LEN {
            self.partial.remove(&key);
            self.stats.dropped += 1;
            return None;
        }
        if !more {
            p.total = Some(end as u32);
        }
        p.bytes += data.len();
        p.pieces.push((offset, data.to_vec()));
        let total = p.total? as usize;
        let mut pieces: Vec<&(u32, Vec<u8>)> = p.pieces.iter().collect();
        pieces.sort_by_key(|(o, _)| *o);
        let mut covered = 0usize;
        for (o, bytes) in &pieces {
            if *o as usize > covered {
                return None;
            }
            covered = covered.max(*o as usize + bytes.len());
        }
        if covered < total {
            return None;
        }
        let mut out = vec![0u8; total];
        for (o, bytes) in pieces {
            let start = *o as usize;
            let n = bytes.len().min(total.saturating_sub(start));
            out[start..start + n].copy_from_slice(&bytes[..n]);
        }
        self.partial.remove(&key);
        self.stats.reassembled += 1;
        Some(out)
    }

    /// Drops datagrams whose first fragment is older than the timeout.
    pub fn expire(&mut self, now: Timestamp) {
        let before = self.partial.len();
        self.partial.retain(|_, p| now.saturating_sub(p.first_seen) <= FRAGMENT_TIMEOUT);
        self.stats.dropped += (before - self.partial.len()) as u64;
    }

    /// Datagrams never completed, at the end of the capture.
    pub fn finish(&mut self) {
        self.stats.dropped += self.partial.len() as u64;
        self.partial.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn reassembles_out_of_order() {
        let mut d = Defragmenter::default();
        let (a, b) = (ip("10.0.0.1"), ip("10.0.0.2"));
        assert!(d.add(0, FragKey { src: a, dst: b, proto: 17, id: 7 }, 8, false, b"world").is_none());
        let whole = d.add(1, FragKey { src: a, dst: b, proto: 17, id: 7 }, 0, true, b"hello...").unwrap();
        assert_eq!(whole, b"hello...world");
        assert_eq!(d.stats.reassembled, 1);
    }

    #[test]
    fn bounded_in_progress() {
        let mut d = Defragmenter::default();
        let (a, b) = (ip("10.0.0.1"), ip("10.0.0.2"));
        for id in 0..(MAX_DATAGRAMS_IN_PROGRESS as u32 + 10) {
            d.add(0, FragKey { src: a, dst: b, proto: 17, id }, 0, true, b"x");
        }
        assert!(d.partial.len() <= MAX_DATAGRAMS_IN_PROGRESS);
        assert_eq!(d.stats.dropped, 10);
    }

    #[test]
    fn oversize_is_dropped() {
        let mut d = Defragmenter::default();
        assert!(d
            .add(0, FragKey { src: ip("1.1.1.1"), dst: ip("2.2.2.2"), proto: 17, id: 1 }, 65_530, false, &[0; 100])
            .is_none());
        assert_eq!(d.stats.dropped, 1);
    }
}
