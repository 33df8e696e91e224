//! Clock skew: how far each endpoint log's clock is from the capture's.
//!
//! Pairs come from the joins that identify a flow without trusting time: a connection that
//! carries its 5-tuple (Sysmon 3, WFP 5156) and the flow with that Community ID starting
//! nearest it within [`SKEW_WINDOW`]; an auditd connect and the flow to its remote address and
//! port within the window — the only one, or the nearest when the next is clearly farther. Per host and log, the offset is the median of `record time −
//! flow start` over at least [`MIN_PAIRS`] pairs, and the spread its median absolute deviation:
//! a small spread over many pairs is a confident estimate.

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
        by_cid.entry(f.community_id.as_str()).or_default().push(f);
        by_remote.entry((f.resp_ip, f.resp_port)).or_default().push(f);
    }
    let mut pairs: BTreeMap<(String, &'static str), Vec<i64>> = BTreeMap::new();
    for e in endpoint {
        let Fields::Endpoint(x) = &e.fields else { continue };
        if e.kind != EventKind::Connection || !is_outgoing(x) {
            continue;
        }
        let within = |f: &&&FlowRecord| f.start.abs_diff(e.ts) <= SKEW_WINDOW as u64;
        let flow = match (&e.net, x.destination_ip, x.destination_port) {
            (Some(net), _, _) => by_cid
                .get(net.community_id.as_str())
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
                    _ => None,
                }
            }
            _ => None,
        };
        if let Some(f) = flow {
            let host = e.host.as_ref().and_then(|h| h.name.clone()).unwrap_or_default();
            pairs.entry((host, x.source.as_str())).or_default().push(e.ts.saturating_sub(f.start));
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

/// The median (the lower of the middle two for an even count).
fn median(v: &mut [i64]) -> i64 {
    v.sort_unstable();
    v.get(v.len().saturating_sub(1) / 2).copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_spread() {
        assert_eq!(median(&mut [5, 1, 3]), 3);
        assert_eq!(median(&mut [4, 1, 3, 2]), 2);
        assert_eq!(median(&mut []), 0);
    }
}
