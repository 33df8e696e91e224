//! Process trees: every process start of a host, linked to its parent.
//!
//! A process is known by its Sysmon ProcessGuid where the log has one, else by (host, pid, start
//! time). Its parent is the process its record names by guid, else the latest process of the
//! same host with the parent's pid that started before it — so a pid the system reused later
//! never becomes the parent of an earlier child. What the tree adds to events: a process start
//! whose record gives only the parent's pid (auditd, Security 4688 without ParentProcessName)
//! learns the parent's image, command line and guid; any other event of a known process that
//! names only its pid learns its image and command line.

use crate::model::{Event, EventKind, ProcessRef};
use std::collections::HashMap;

/// One process start.
#[derive(Debug, Clone)]
struct Node {
    start: i64,
    process: ProcessRef,
}

/// Fills in what the process tree knows: parents of process starts, images of processes
/// named by pid only. `events` must be in timeline order.
pub fn link(events: &mut [&mut Event]) -> usize {
    // (host, pid) → starts of that pid on that host, in time order.
    let mut by_pid: HashMap<(String, u64), Vec<Node>> = HashMap::new();
    let mut by_guid: HashMap<String, ProcessRef> = HashMap::new();
    for e in events.iter() {
        let (EventKind::Process, Some(p)) = (e.kind, &e.process) else { continue };
        if !is_start(e) {
            continue;
        }
        if let Some(pid) = p.pid {
            by_pid.entry((host_of(e), pid)).or_default().push(Node { start: e.ts, process: (**p).clone() });
        }
        if let Some(guid) = &p.entity_id {
            by_guid.insert(guid.clone(), (**p).clone());
        }
    }
    let latest_before = |host: &str, pid: u64, ts: i64| -> Option<&ProcessRef> {
        let starts = by_pid.get(&(host.to_string(), pid))?;
        starts.iter().rev().find(|n| n.start <= ts).map(|n| &n.process)
    };
    let mut filled = 0;
    for e in events.iter_mut() {
        let Some(p) = &e.process else { continue };
        let start = e.kind == EventKind::Process && is_start(e);
        // Only events missing something the tree can give are looked up (and copied).
        let wants_parent = start && (p.parent_executable.is_none() || p.parent_command_line.is_none());
        let wants_self = !start && (p.executable.is_none() || p.command_line.is_none());
        if !wants_parent && !wants_self {
            continue;
        }
        let host = host_of(e);
        let mut update = p.clone();
        if wants_parent {
            let parent = p
                .parent_entity_id
                .as_ref()
                .and_then(|g| by_guid.get(g))
                .or_else(|| p.parent_pid.and_then(|pp| latest_before(&host, pp, e.ts.saturating_sub(1))));
            if let Some(parent) = parent {
                update.parent_executable = update.parent_executable.or_else(|| parent.executable.clone());
                update.parent_command_line = update.parent_command_line.or_else(|| parent.command_line.clone());
                update.parent_entity_id = update.parent_entity_id.or_else(|| parent.entity_id.clone());
            }
        } else if let Some(known) = p
            .entity_id
            .as_ref()
            .and_then(|g| by_guid.get(g))
            .or_else(|| p.pid.and_then(|pid| latest_before(&host, pid, e.ts)))
        {
            update.executable = update.executable.or_else(|| known.executable.clone());
            update.command_line = update.command_line.or_else(|| known.command_line.clone());
            update.entity_id = update.entity_id.or_else(|| known.entity_id.clone());
            update.parent_pid = update.parent_pid.or(known.parent_pid);
        }
        if &update != p {
            filled += 1;
            e.process = Some(update);
        }
    }
    filled
}

fn is_start(e: &Event) -> bool {
    matches!(&e.fields, crate::model::Fields::Endpoint(x) if x.action == "process-start")
}

fn host_of(e: &Event) -> String {
    e.host.as_ref().and_then(|h| h.name.clone()).unwrap_or_default().to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{EndpointFields, Fields, HostRef, Locator, LogSource, Provenance};

    fn ev(ts: i64, kind: EventKind, action: &'static str, p: ProcessRef) -> Event {
        Event {
            ts,
            kind,
            host: Some(HostRef { name: Some("web1".into()), ip: None }),
            net: None,
            process: Some(Box::new(p)),
            provenance: Provenance { file: 0, locator: Locator::Line(ts as u64) },
            fields: Fields::Endpoint(Box::new(EndpointFields::new(LogSource::Auditd, action, String::new()))),
        }
    }

    fn start(ts: i64, pid: u64, ppid: u64, exe: &str) -> Event {
        let p = ProcessRef {
            pid: Some(pid),
            parent_pid: Some(ppid),
            executable: Some(exe.into()),
            command_line: Some(exe.into()),
            ..ProcessRef::default()
        };
        ev(ts, EventKind::Process, "process-start", p)
    }

    #[test]
    fn parents_by_pid_respect_reuse_and_pid_only_events_learn_their_image() {
        let mut events = [
            start(10, 100, 1, "/usr/sbin/httpd"),
            start(20, 200, 100, "/bin/sh"),
            // pid 100 reused by another program after sh started
            start(30, 100, 1, "/usr/bin/cron"),
            start(40, 300, 100, "/usr/bin/curl"),
            ev(50, EventKind::Connection, "network-connect", ProcessRef { pid: Some(200), ..ProcessRef::default() }),
        ];
        let mut refs: Vec<&mut Event> = events.iter_mut().collect();
        assert_eq!(link(&mut refs), 3);
        let parent = |i: usize| events[i].process.as_ref().unwrap().parent_executable.clone();
        assert_eq!(parent(1).as_deref(), Some("/usr/sbin/httpd"));
        assert_eq!(parent(3).as_deref(), Some("/usr/bin/cron"), "the later holder of the pid");
        assert_eq!(events[4].process.as_ref().unwrap().executable.as_deref(), Some("/bin/sh"));
        assert_eq!(events[4].process.as_ref().unwrap().parent_pid, Some(100));
    }
}
