//! Clock skew: how far each endpoint log's clock is from the capture's.
//!
//! Pairs come from the joins that identify a flow without trusting time: a connection that
//! carries its 5-tuple (Sysmon 3, WFP 5156) and the flow with that Community ID starting
//! nearest it within [`SKEW_WINDOW`]; an auditd connect and the flow to its remote address and
//! port within the window — the only one, or the nearest when the next is clearly farther. Per
//! host and log, the offset is the median of `record time − flow start` over at least
//! [`MIN_PAIRS`] pairs, and the spread its median absolute deviation: a small spread over many
//! pairs is a confident estimate. A log whose connections never single out one flow (programs
//! and hosts reaching the same servers again and again) gets the offset most of its records
//! agree on: the densest narrow band of `record time − candidate flow start` over all its
//! records' candidates, nearest zero among equally supported bands (see [`peak`]).

use super::attribution::is_outgoing;
use crate::model::{Event, EventKind, Fields, FlowRecord};
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

/// Widest clock difference looked for.
pub const SKEW_WINDOW: i64 = 15 * 60 * 1_000_000_000;
/// How much farther the second-nearest flow must be than the nearest (beyond four times the
/// nearest's distance) for an address-and-port join to pick the nearest.
const CLEARLY_APART: u64 = 60_000_000_000;

/// Fewest pairs an estimate is made from.
pub const MIN_PAIRS: usize = 3;

/// One endpoint log's clock against the capture's.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ClockOffset {
    pub host: String,
    pub source: String,
    /// Endpoint time minus capture time, in nanoseconds (positive: the host's clock is ahead).
    pub offset: i64,
    /// Median absolute deviation of the pairs' offsets, in nanoseconds.
    pub spread: i64,
    /// Pairs the estimate rests on (0 when the analyst set the offset).
    pub pairs: u64,
    /// Set by the analyst (`--clock-offset`), not estimated.
    pub forced: bool,
}

/// Estimates the offset of every (host, log) with enough pairs.
pub fn estimate(endpoint: &[&Event], flows: &[&FlowRecord]) -> Vec<ClockOffset> {
    let mut by_cid: HashMap<&str, Vec<&FlowRecord>> = HashMap::new();
    let mut by_remote: HashMap<(IpAddr, u16), Vec<&FlowRecord>> = HashMap::new();
    for f in flows {
        by_cid.entry(&*f.community_id).or_default().push(f);
        by_remote.entry((f.resp_ip, f.resp_port)).or_default().push(f);
    }
    let mut pairs: BTreeMap<(String, &'static str), Vec<i64>> = BTreeMap::new();
    let mut candidates: BTreeMap<(String, &'static str), Candidates> = BTreeMap::new();
    for e in endpoint {
        let Fields::Endpoint(x) = &e.fields else { continue };
        if e.kind != EventKind::Connection || !is_outgoing(x) {
            continue;
        }
        let within = |f: &&&FlowRecord| f.start.abs_diff(e.ts) <= SKEW_WINDOW as u64;
        let flow = match (&e.net, x.destination_ip, x.destination_port) {
            (Some(net), _, _) => by_cid
                .get(&*net.community_id)
                .and_then(|c| c.iter().filter(within).min_by_key(|f| (f.start.abs_diff(e.ts), f.start))),
            (None, Some(ip), Some(port)) => {
                let mut near: Vec<(u64, &&FlowRecord)> = by_remote
                    .get(&(ip, port))
                    .into_iter()
                    .flatten()
                    .filter(within)
                    .map(|f| (f.start.abs_diff(e.ts), f))
                    .collect();
                near.sort_by(|a, b| (a.0, a.1.start, &a.1.id).cmp(&(b.0, b.1.start, &b.1.id)));
                match near.as_slice() {
                    [(_, only)] => Some(*only),
                    // Repeated connections (a backup every few minutes): the nearest, when the
                    // next is clearly farther than any clock error it could stand for.
                    [(d0, best), (d1, _), ..] if *d1 >= 4 * d0 + CLEARLY_APART => Some(*best),
                    [] => None,
                    several => {
                        // Ambiguous alone; every candidate's offset is kept for the peak search.
                        let host = e.host.as_ref().and_then(|h| h.name.clone()).unwrap_or_default();
                        let c = candidates.entry((host, x.source.as_str())).or_default();
                        c.records += 1;
                        c.offsets
                            .extend(several.iter().take(MAX_CANDIDATES).map(|(_, f)| e.ts.saturating_sub(f.start)));
                        None
                    }
                }
            }
            _ => None,
        };
        if let Some(f) = flow {
            let host = e.host.as_ref().and_then(|h| h.name.clone()).unwrap_or_default();
            pairs.entry((host, x.source.as_str())).or_default().push(e.ts.saturating_sub(f.start));
        }
    }
    // A log whose connections never name one flow alone (many hosts or programs reaching the
    // same servers): the offset most of its records agree on.
    for (key, c) in candidates {
        if pairs.get(&key).is_some_and(|p| p.len() >= MIN_PAIRS) {
            continue;
        }
        if let Some(peak) = peak(c.offsets, c.records) {
            pairs.insert(key, peak);
        }
    }
    pairs
        .into_iter()
        .filter(|(_, offsets)| offsets.len() >= MIN_PAIRS)
        .map(|((host, source), mut offsets)| {
            let offset = median(&mut offsets);
            let mut deviations: Vec<i64> = offsets.iter().map(|o| (o - offset).abs()).collect();
            ClockOffset {
                host,
                source: source.to_string(),
                offset,
                spread: median(&mut deviations),
                pairs: offsets.len() as u64,
                forced: false,
            }
        })
        .collect()
}

/// Candidate flows kept per ambiguous record (the nearest ones).
const MAX_CANDIDATES: usize = 32;
/// Offsets closer than this count as the same clock difference.
const PEAK_WIDTH: i64 = 250_000_000;

/// The offsets of a log's ambiguous records to every flow each could be.
#[derive(Default)]
struct Candidates {
    records: usize,
    offsets: Vec<i64>,
}

/// The clock offset most of a log's ambiguous records agree on: among the [`PEAK_WIDTH`]
/// windows of candidate offsets holding at least half of the records (and [`MIN_PAIRS`]) and
/// three quarters of the densest window's count, the one nearest zero — periodic connections
/// alias at multiples of their period, and clocks are usually closer than that. Returns the
/// offsets in it, as pairs.
fn peak(mut offsets: Vec<i64>, records: usize) -> Option<Vec<i64>> {
    offsets.sort_unstable();
    let count_from = |i: usize| offsets[i..].partition_point(|&o| o <= offsets[i] + PEAK_WIDTH);
    let densest = (0..offsets.len()).map(count_from).max()?;
    let floor = MIN_PAIRS.max(records.div_ceil(2)).max((3 * densest).div_ceil(4));
    let chosen = (0..offsets.len()).filter(|&i| count_from(i) >= floor).min_by_key(|&i| {
        // Nearest zero to within a window's width, then the densest, then the first.
        let median = offsets[i + count_from(i) / 2].unsigned_abs() / PEAK_WIDTH.unsigned_abs();
        (median, std::cmp::Reverse(count_from(i)), i)
    })?;
    Some(offsets[chosen..chosen + count_from(chosen)].to_vec())
}

/// The median (the lower of the middle two for an even count).
fn median(v: &mut [i64]) -> i64 {
    v.sort_unstable();
    v.get(v.len().saturating_sub(1) / 2).copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_offset_most_records_agree_on() {
        const S: i64 = 1_000_000_000;
        // Ten records of two programs that reach one server 0.3 s apart: each record has its
        // own flow at −12.5 s, its sibling's 0.3 s off (one side or the other), and flows to the
        // same server a dozen minutes away.
        let mut offsets = Vec::new();
        for i in 0..10 {
            let sibling = if i % 2 == 0 { -12_800_000_000 } else { -12_200_000_000 };
            offsets.extend([-12_500_000_000 + i, sibling, 707 * S + i * S, -733 * S]);
        }
        let p = peak(offsets.clone(), 10).expect("a clear peak");
        assert_eq!(p.len(), 10);
        assert!(p.iter().all(|&o| (o + 12_500_000_000).abs() < 100));
        // Periodic connections alias the offset at multiples of their period (here −733 s,
        // as dense as the truth): the peak nearest zero is taken.
        let mut tied = offsets;
        tied.extend((0..10).map(|i| 40 * S + i));
        assert!(peak(tied, 10).expect("a peak").iter().all(|&o| (o + 12_500_000_000).abs() < 100));
        // Too few records agree.
        assert_eq!(peak(vec![5, 6, 7, 900 * S], 10), None);
    }

    #[test]
    fn median_and_spread() {
        assert_eq!(median(&mut [5, 1, 3]), 3);
        assert_eq!(median(&mut [4, 1, 3, 2]), 2);
        assert_eq!(median(&mut []), 0);
    }
}
