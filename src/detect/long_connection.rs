//! `long-connection` — sessions lasting hours between an internal host and a rare external
//! address.
//!
//! Per internal originator and external address, the flows are chained into sessions: a flow
//! joins the session before it when it starts within `adjacent_gap` of that session's end
//! (a client that reconnects at once, or several connections open side by side), or when it is
//! the same TCP connection resumed after an idle timeout split it (same ports, no opening
//! SYN). A session's length is its first start to its last end, so concurrent flows are not
//! counted twice (RITA v5 sums the durations of a pair's connections instead). The longest
//! session of each pair is judged when it lasts at least `min_duration`.
//!
//! Score: `duration × rarity weight`, with `duration = duration_low + (duration_high −
//! duration_low) × ramp(length, min_duration, long_duration)` and the rarity weight
//! `prevalence_floor + (1 − prevalence_floor) × ramp(rarity, rarity_low, rarity_high)` as for
//! beacons: a session of hours to an address most hosts use stays at `prevalence_floor ×
//! duration_high`, below medium.
//!
//! Technique: T1071 (application-layer protocol) and its web or DNS sub-technique by what the
//! flows spoke, as for beacons: a session kept open for hours is a command channel held open,
//! whatever port it runs on (T1571, non-standard port, would describe the port, not the
//! behaviour).

use super::beacon::{most_common, span_text, technique, Rarity};
use super::finding::Tactic;
use super::stats::ramp;
use super::{check, DetectCtx, Detector, Finding, Thresholds};
use crate::model::{FlowRecord, Transport};
use serde::Deserialize;
use std::net::IpAddr;

const NANOS: i64 = 1_000_000_000;

/// The `[long-connection]` section of the thresholds.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    min_duration: f64,
    long_duration: f64,
    adjacent_gap: f64,
    duration_low: f64,
    duration_high: f64,
    min_score: f64,
    prevalence_floor: f64,
    rarity_low: f64,
    rarity_high: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            min_duration: 3600.0,
            long_duration: 43_200.0,
            adjacent_gap: 10.0,
            duration_low: 0.55,
            duration_high: 0.9,
            min_score: 0.3,
            prevalence_floor: 0.3,
            rarity_low: 0.4,
            rarity_high: 0.9,
        }
    }
}

impl Config {
    fn check(&self) -> Result<(), String> {
        if self.min_duration <= 0.0 || self.long_duration <= self.min_duration {
            return Err("long_duration must be above min_duration, both positive".into());
        }
        if self.rarity_high <= self.rarity_low {
            return Err("rarity_high must be above rarity_low".into());
        }
        Ok(())
    }
}

pub struct LongConnection;

impl Detector for LongConnection {
    fn id(&self) -> &'static str {
        "long-connection"
    }

    fn describe(&self) -> &'static str {
        "sessions lasting hours to a rare external address"
    }

    fn validate(&self, t: &Thresholds) -> Result<(), String> {
        check::<Config>(t, self.id())?;
        t.try_section::<Config>(self.id())?.check()
    }

    fn run(&self, ctx: &DetectCtx<'_>) -> Vec<Finding> {
        let config: Config = ctx.thresholds.section(self.id());
        ctx.outgoing_pairs()
            .filter_map(|group| {
                let &(host, peer, _) = group.first()?;
                // No session outlasts the pair's whole span: most pairs are judged by it alone.
                let first = group.iter().filter_map(|k| ctx.flows.get(k.2)).map(|f| f.start).min()?;
                let last = group.iter().filter_map(|k| ctx.flows.get(k.2)).map(|f| f.end).max()?;
                if (last.saturating_sub(first) as f64 / NANOS as f64) < config.min_duration {
                    return None;
                }
                // Sessions chain in start order.
                let mut flows: Vec<usize> = group.iter().map(|k| k.2).collect();
                flows.sort_by_key(|&i| ctx.flows.get(i).map(|f| (f.start, f.end, i)));
                judge(ctx, &config, host, peer, &flows)
            })
            .collect()
    }
}

/// One chain of flows: indices into `ctx.flows`, first start, last end.
#[derive(Debug, Clone, PartialEq)]
struct Session {
    flows: Vec<usize>,
    start: i64,
    end: i64,
}

impl Session {
    fn length(&self) -> i64 {
        self.end - self.start
    }
}

/// Whether `next` continues the TCP connection `prev` after an idle split: same ports, and
/// its history does not open with a SYN.
fn resumes(prev: &FlowRecord, next: &FlowRecord) -> bool {
    prev.transport == Transport::Tcp
        && next.transport == Transport::Tcp
        && prev.orig_port == next.orig_port
        && prev.resp_port == next.resp_port
        && !next.history.starts_with('S')
}

/// Chains a pair's flows (indices in start order) into sessions.
fn sessions(flows: &[FlowRecord], order: &[usize], gap: i64) -> Vec<Session> {
    let mut out: Vec<Session> = Vec::new();
    for &i in order {
        let Some(f) = flows.get(i) else { continue };
        let joins = out.last().is_some_and(|s| {
            f.start <= s.end.saturating_add(gap)
                || s.flows.last().and_then(|&p| flows.get(p)).is_some_and(|p| resumes(p, f))
        });
        match out.last_mut() {
            Some(s) if joins => {
                s.flows.push(i);
                s.end = s.end.max(f.end);
            }
            _ => out.push(Session { flows: vec![i], start: f.start, end: f.end }),
        }
    }
    out
}

fn judge(ctx: &DetectCtx<'_>, config: &Config, host: IpAddr, peer: IpAddr, flows: &[usize]) -> Option<Finding> {
    let gap = (config.adjacent_gap * NANOS as f64) as i64;
    let all = sessions(ctx.flows, flows, gap);
    // The longest session; ties to the earliest.
    let longest = all.iter().fold(None::<&Session>, |best, s| match best {
        Some(b) if b.length() >= s.length() => Some(b),
        _ => Some(s),
    })?;
    let secs = longest.length() as f64 / NANOS as f64;
    if secs < config.min_duration {
        return None;
    }
    let long_sessions = all.iter().filter(|s| s.length() as f64 / NANOS as f64 >= config.min_duration).count();
    let records: Vec<&FlowRecord> = longest.flows.iter().filter_map(|&i| ctx.flows.get(i)).collect();
    let duration = config.duration_low
        + (config.duration_high - config.duration_low) * ramp(secs, config.min_duration, config.long_duration);
    let rarity = Rarity::of(
        ctx,
        ctx.baseline.ip_prevalence(peer),
        config.prevalence_floor,
        config.rarity_low,
        config.rarity_high,
    );
    let score = (duration * rarity.weight).clamp(0.0, 1.0);
    if score < config.min_score {
        return None;
    }
    let port = most_common(records.iter().map(|f| f.resp_port))?;
    let name = longest.flows.iter().find_map(|&i| ctx.name_of(i));
    let open = records.iter().any(|f| f.history.is_empty() || !f.history.contains(['F', 'R', 'f', 'r']));
    let shown = match name {
        Some(n) => format!("{n} ({peer}:{port})"),
        None => format!("{peer}:{port}"),
    };
    let summary = format!(
        "{host} → {shown}: one session of {}{}, {} flow{}, {} bytes out",
        span_text(longest.length()),
        if open { ", still open at the end of the capture" } else { "" },
        records.len(),
        if records.len() == 1 { "" } else { "s" },
        records.iter().map(|f| f.orig.bytes).sum::<u64>()
    );
    let mut f = Finding::new("long-connection", Tactic::CommandAndControl, technique(&records), score)
        .component("duration", duration)
        .component("duration_s", secs)
        .component("rarity", rarity.rarity)
        .component("prevalence", rarity.prevalence)
        .component("rarity_weight", rarity.weight)
        .component("flows", records.len() as f64)
        .component("long_sessions", long_sessions as f64)
        .window(longest.start, longest.end)
        .summary(summary)
        .evidence(records.iter().map(|f| ctx.flow_evidence(f)));
    f.host = ctx.host(host);
    f.peer.ip = Some(peer);
    f.peer.port = Some(port);
    f.peer.domain = name.map(String::from);
    f.process = ctx.process_of(records.iter().copied());
    Some(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::testkit::{background, Bundle};

    /// `n` TCP flows back to back on one connection's ports, as an idle timeout splits them.
    fn split_session(b: &mut Bundle, host: &str, peer: &str, at: f64, pieces: usize, each: f64, idle: f64) {
        let mut t = at;
        let mut port = None;
        for k in 0..pieces {
            let i = b.tcp(host, peer, 443, t, each, 5_000, 9_000);
            let f = &mut b.flows[i];
            match port {
                None => port = Some(f.orig_port),
                Some(p) => f.orig_port = p,
            }
            if k > 0 {
                f.history = "DadA".into();
            }
            t += each + idle;
        }
    }

    #[test]
    fn config_default_matches_the_thresholds_file() {
        let t = Thresholds::defaults();
        assert_eq!(t.try_section::<Config>("long-connection").unwrap(), Config::default());
        assert!(LongConnection.validate(&t).is_ok());
    }

    #[test]
    fn a_three_hour_session_to_a_rare_address_is_found() {
        let mut b = Bundle::default();
        background(&mut b, 10);
        // 10.0.0.5 holds one TCP session of 3 h to 198.51.100.7:8443.
        b.tcp("10.0.0.5", "198.51.100.7", 8443, 100.0, 3.0 * 3600.0, 80_000, 400_000);
        let found = b.run(&LongConnection);
        assert_eq!(found.len(), 1, "{found:#?}");
        let f = &found[0];
        assert_eq!(f.host.ip, Some("10.0.0.5".parse().unwrap()));
        assert_eq!(f.peer.ip, Some("198.51.100.7".parse().unwrap()));
        assert_eq!(f.peer.port, Some(8443));
        assert_eq!(f.components["duration_s"], 10_800.0);
        // duration = 0.55 + 0.35 × (3 − 1) / (12 − 1) = 0.6136; one host in 11: rarity 0.909 →
        // weight 1.
        assert!((f.components["duration"] - 0.6136).abs() < 1e-3, "{:?}", f.components);
        assert_eq!(f.components["rarity_weight"], 1.0);
        assert!(f.score >= 0.6 && f.score < 0.62, "{}", f.score);
        assert_eq!(f.technique, "T1071.001", "8443 is a web port");
    }

    #[test]
    fn an_idle_split_connection_counts_as_one_session() {
        let mut b = Bundle::default();
        background(&mut b, 10);
        // Four 40-minute pieces of one connection, 6 minutes idle between them (over the TCP
        // timeout): 2 h 58 min in all.
        split_session(&mut b, "10.0.0.5", "198.51.100.7", 0.0, 4, 2400.0, 360.0);
        let found = b.run(&LongConnection);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].components["flows"], 4.0);
        assert_eq!(found[0].components["duration_s"], 4.0 * 2400.0 + 3.0 * 360.0);
    }

    #[test]
    fn near_misses_are_not_reported() {
        let mut b = Bundle::default();
        background(&mut b, 10);
        // 50 minutes only.
        b.tcp("10.0.0.5", "198.51.100.7", 443, 0.0, 3000.0, 1000, 1000);
        // A beacon of 1-second connections every 30 s for 3 h: never one session.
        for k in 0..360 {
            b.tcp("10.0.0.6", "198.51.100.8", 443, 30.0 * f64::from(k), 1.0, 300, 200);
        }
        // Fresh connections 6 minutes apart on new ports are separate sessions.
        for k in 0..4 {
            b.tcp("10.0.0.7", "198.51.100.9", 443, 2760.0 * f64::from(k), 2400.0, 300, 200);
        }
        assert!(b.run(&LongConnection).is_empty());
    }

    #[test]
    fn a_long_session_to_a_popular_address_stays_low() {
        let mut b = Bundle::default();
        background(&mut b, 10);
        // Every background host keeps a 5 h session to 52.97.150.2.
        for h in 0..10 {
            b.tcp(&format!("10.0.0.{}", 100 + h), "52.97.150.2", 443, 10.0, 5.0 * 3600.0, 1000, 1000);
        }
        assert!(b.run(&LongConnection).is_empty(), "not reported by default");
        let all = Thresholds::overlay("[long-connection]\nmin_score = 0.0\n", "test").unwrap();
        let found = b.run_with(&LongConnection, &all);
        assert_eq!(found.len(), 10);
        for f in &found {
            assert!(f.score < 0.5, "{f:#?}");
            assert_eq!(f.components["rarity_weight"], 0.3);
        }
    }

    #[test]
    fn concurrent_flows_are_not_counted_twice() {
        let flows = {
            let mut b = Bundle::default();
            b.tcp("10.0.0.5", "198.51.100.7", 443, 0.0, 3600.0, 1, 1);
            b.tcp("10.0.0.5", "198.51.100.7", 443, 600.0, 1200.0, 1, 1);
            b.tcp("10.0.0.5", "198.51.100.7", 443, 3605.0, 100.0, 1, 1);
            b.tcp("10.0.0.5", "198.51.100.7", 443, 9000.0, 10.0, 1, 1);
            b.flows
        };
        let s = sessions(&flows, &[0, 1, 2, 3], 10 * NANOS);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].flows, vec![0, 1, 2]);
        assert_eq!(s[0].length(), 3705 * NANOS);
        assert_eq!(s[1].flows, vec![3]);
    }
}
