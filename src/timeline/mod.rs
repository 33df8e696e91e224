//! The timeline: events of every source in one deterministic order, the column registries that
//! define every output table, and the only place polars frames are built.
//!
//! Input: [`crate::model::Event`]s and [`crate::model::FlowRecord`]s. Output: sorted and
//! filtered rows, and polars `DataFrame`s with the documented schema (see [`schema`]) for CSV and
//! Parquet export. Imports `util`, `model`.

pub mod frame;
pub mod schema;
pub mod spill;

use crate::model::{Event, EventKind};
use crate::util::Timestamp;

/// Context the column extractors need beyond the row: evidence file names by index.
#[derive(Debug, Clone, Default)]
pub struct RowCtx {
    pub files: Vec<String>,
}

impl RowCtx {
    pub fn file(&self, id: u32) -> Option<&str> {
        self.files.get(id as usize).map(String::as_str)
    }
}

/// What the analyst asked to see.
#[derive(Debug, Clone, Default)]
pub struct TimelineFilter {
    pub hosts: Vec<String>,
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
    pub kinds: Vec<EventKind>,
    /// Case-insensitive substring over the event's rendered message and text fields.
    pub grep: Option<String>,
}

impl TimelineFilter {
    /// The filter with every `--host` widened to the host's other names and addresses, as the
    /// asset inventory knows them: a host asked for by name also matches the flows of its
    /// address, and one asked for by address the events of its logs.
    pub fn with_aliases(&self, assets: &[crate::model::Asset]) -> TimelineFilter {
        let mut hosts = self.hosts.clone();
        for asset in assets {
            let ip = asset.ip.to_string();
            let named = self.hosts.iter().any(|w| *w == ip || asset.names.iter().any(|n| name_matches(n, w)));
            if named {
                hosts.push(ip);
                hosts.extend(asset.names.iter().cloned());
            }
        }
        hosts.sort();
        hosts.dedup();
        TimelineFilter { hosts, ..self.clone() }
    }

    /// Whether events of this kind can pass at all (lets callers skip building them).
    pub fn wants(&self, kind: crate::model::EventKind) -> bool {
        self.kinds.is_empty() || self.kinds.contains(&kind)
    }

    pub fn matches(&self, e: &Event) -> bool {
        if self.since.is_some_and(|s| e.ts < s) || self.until.is_some_and(|u| e.ts > u) {
            return false;
        }
        if !self.kinds.is_empty() && !self.kinds.contains(&e.kind) {
            return false;
        }
        if !self.hosts.is_empty() && !self.hosts.iter().any(|h| host_matches(e, h)) {
            return false;
        }
        if let Some(g) = &self.grep {
            let needle = g.to_lowercase();
            if !schema::message(e).to_lowercase().contains(&needle)
                && !serde_json::to_string(&e.fields).unwrap_or_default().to_lowercase().contains(&needle)
            {
                return false;
            }
        }
        true
    }
}

/// A host filter matches the event's host name, or either address of its network tuple.
fn host_matches(e: &Event, wanted: &str) -> bool {
    if let Some(h) = &e.host {
        if h.name.as_deref().is_some_and(|n| name_matches(n, wanted)) || h.ip.is_some_and(|ip| ip.to_string() == wanted)
        {
            return true;
        }
    }
    e.net.as_ref().is_some_and(|n| n.src_ip.to_string() == wanted || n.dst_ip.to_string() == wanted)
}

/// A host name matches the name asked for, ignoring case; a name asked for without a domain
/// (`FS01`) also matches a full name it begins (`FS01.corp.example`).
fn name_matches(name: &str, wanted: &str) -> bool {
    name.eq_ignore_ascii_case(wanted)
        || (!wanted.contains('.') && name.split('.').next().is_some_and(|first| first.eq_ignore_ascii_case(wanted)))
}

/// Sorts events into timeline order: time, host, provenance, kind — a total order, so the
/// result never depends on how the events were produced.
pub fn sort_events(events: &mut [Event]) {
    use rayon::slice::ParallelSliceMut;
    if events.is_sorted_by(|a, b| a.sort_key() <= b.sort_key()) {
        return;
    }
    // Positions are sorted, not the events: an event is some 180 bytes, and a stable sort
    // of the events themselves would need a second buffer as large as all of them. The position
    // breaks ties, so the order is the one a stable sort gives, on any number of threads.
    let mut order: Vec<usize> = (0..events.len()).collect();
    order.par_sort_unstable_by(|&a, &b| events[a].sort_key().cmp(&events[b].sort_key()).then(a.cmp(&b)));
    permute(events, order);
}

/// Rearranges `items` in place so that position `i` holds what was at `order[i]` (a
/// permutation), following each cycle of it once.
fn permute<T>(items: &mut [T], mut order: Vec<usize>) {
    for start in 0..items.len() {
        let mut at = start;
        while order[at] != at {
            let from = order[at];
            order[at] = at;
            if from == start {
                break;
            }
            items.swap(at, from);
            at = from;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::permute;

    #[test]
    fn permute_puts_each_item_where_the_order_says() {
        // Several cycles, a fixed point and a two-cycle.
        let order = vec![3, 0, 2, 5, 1, 4, 7, 6];
        let mut items: Vec<char> = "abcdefgh".chars().collect();
        let expected: Vec<char> = order.iter().map(|&i| items[i]).collect();
        permute(&mut items, order);
        assert_eq!(items, expected);
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        for n in [0usize, 1, 2, 17, 300] {
            let mut order: Vec<usize> = (0..n).collect();
            for i in (1..n).rev() {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                order.swap(i, (seed % (i as u64 + 1)) as usize);
            }
            let mut items: Vec<usize> = (0..n).map(|i| i * 10).collect();
            let expected: Vec<usize> = order.iter().map(|&i| i * 10).collect();
            permute(&mut items, order);
            assert_eq!(items, expected, "n = {n}");
        }
    }
}
