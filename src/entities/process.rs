//! Process trees: every process start of a host, linked to its parent.
//!
//! A process is known by its Sysmon ProcessGuid where the log has one, else by (host, pid, start
//! time); a log that names no host is a host of its own. Its parent is the process its record
//! names by guid, else the latest process of the same host with the parent's pid that started
//! before it and had not ended by then — so a pid the system reused later never becomes the
//! parent of an earlier child. A guid the logs never started is not looked up by pid, and a
//! process found by pid whose image differs from the one the record names is not it. What the
//! tree adds to events: a process start whose record gives only the parent's pid (auditd,
//! Security 4688 without ParentProcessName) learns the parent's image, command line and guid;
//! any other event of a known process that names only its pid learns its image and command
//! line.

use crate::model::{Event, EventKind, ProcessRef};
use rayon::prelude::*;
use rustc_hash::FxHashMap;

/// Starts of one pid on one host: (time, index of the start), in time order.
type Starts = Vec<(i64, usize)>;

/// Fills in what the process tree knows: parents of process starts, images of processes
/// named by pid only. `events` must be in timeline order.
///
/// The tree refers to the process starts by index, so nothing is copied to build it; an event's
/// process is copied only when the tree gives it something it lacks. Every lookup sees the
/// events as they were before any was filled.
pub fn link(events: &mut [&mut Event]) -> usize {
    let patches: Vec<(usize, Patch)> = {
        let events: &[&mut Event] = events;
        let process = |i: usize| events.get(i).and_then(|e| e.process.as_deref()).map(Known::from);
        let mut hosts = HostIds::default();
        let hosts: Vec<u32> = events.iter().map(|e| hosts.id(e)).collect();
        let mut tree = Tree::default();
        for (i, e) in events.iter().enumerate() {
            if let (Some(role), Some(p)) = (role(e), e.process.as_deref()) {
                tree.add(hosts[i], e.ts, role, p.pid, p.entity_id.as_deref(), i);
            }
        }
        // Each event's patch depends only on the tree: worked out on the pool, in event order.
        let patch_of = |(i, e): (usize, &&mut Event)| Some((i, tree.patch(hosts[i], e, process)?));
        events.par_iter().enumerate().filter_map(patch_of).collect()
    };
    let filled = patches.len();
    for (i, patch) in patches {
        if let Some(p) = events.get_mut(i).and_then(|e| e.process.as_deref_mut()) {
            patch.apply(p);
        }
    }
    filled
}

/// What a process event does to the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Start,
    End,
}

/// Whether `e` starts or ends a process (and so belongs in the tree).
pub fn role(e: &Event) -> Option<Role> {
    if e.kind != EventKind::Process || e.process.is_none() {
        None
    } else if is_start(e) {
        Some(Role::Start)
    } else if is_end(e) {
        Some(Role::End)
    } else {
        None
    }
}

/// The process starts of a bundle by host and pid and by guid, and when pids were freed. The
/// starts themselves stay where the caller keeps them: the tree holds their indexes.
#[derive(Debug, Default)]
pub struct Tree {
    /// (host, pid) → starts of that pid on that host (time, index), in time order.
    by_pid: FxHashMap<(u32, u64), Starts>,
    by_guid: FxHashMap<Box<str>, usize>,
    /// (host, pid) → when a process of that pid ended (Sysmon 5, Security 4689), in time order.
    ends: FxHashMap<(u32, u64), Vec<i64>>,
}

impl Tree {
    /// Adds a start or an end of the process `pid` (and `guid`, for a start); they must be
    /// added in timeline order. `index` is how the caller finds the start's process again when
    /// [`Tree::patch`] asks for it.
    pub fn add(&mut self, host: u32, ts: i64, role: Role, pid: Option<u64>, guid: Option<&str>, index: usize) {
        match role {
            Role::End => {
                if let Some(pid) = pid {
                    self.ends.entry((host, pid)).or_default().push(ts);
                }
            }
            Role::Start => {
                if let Some(pid) = pid {
                    self.by_pid.entry((host, pid)).or_default().push((ts, index));
                }
                if let Some(guid) = guid {
                    self.by_guid.insert(guid.into(), index);
                }
            }
        }
    }

    /// What the tree gives `e`'s process (on host `host`), if it lacks something the tree
    /// knows; `process` gives the process of a start by its index, as it was added.
    pub fn patch<'p>(&self, host: u32, e: &Event, process: impl Fn(usize) -> Option<Known<'p>>) -> Option<Patch> {
        // The process of that pid running at `ts`: the latest to start by then, unless it had
        // ended before `ts` (the pid is then free, and whoever holds it next is unknown).
        // Starts and ends are in time order: both are found by binary search, so a pid reused
        // many times costs a logarithm, not a scan.
        let latest_before = |pid: u64, ts: i64| -> Option<Known<'p>> {
            let starts = self.by_pid.get(&(host, pid))?;
            let &(start, i) = starts.get(starts.partition_point(|&(start, _)| start <= ts).checked_sub(1)?)?;
            let ended = self
                .ends
                .get(&(host, pid))
                .is_some_and(|t| t.get(t.partition_point(|&t| t < start)).is_some_and(|&t| t < ts));
            if ended {
                return None;
            }
            process(i)
        };
        let by_guid =
            |guid: &Option<String>| guid.as_deref().and_then(|g| self.by_guid.get(g)).and_then(|&i| process(i));
        // A process named by a guid the logs never started is not looked up by its pid: the
        // pid may be another process's.
        let unknown_guid = |guid: &Option<String>| guid.as_deref().is_some_and(|g| !self.by_guid.contains_key(g));
        let p = e.process.as_deref()?;
        let start = e.kind == EventKind::Process && is_start(e);
        // Only events missing something the tree can give are looked up.
        let wants_parent = start && (p.parent_executable.is_none() || p.parent_command_line.is_none());
        let wants_self = !start && (p.executable.is_none() || p.command_line.is_none());
        let patch = if wants_parent {
            let parent = by_guid(&p.parent_entity_id).or_else(|| {
                let by_pid = p.parent_pid.filter(|_| !unknown_guid(&p.parent_entity_id));
                by_pid.and_then(|pp| latest_before(pp, e.ts.saturating_sub(1)))
            });
            let parent = parent.filter(|parent| same_image(p.parent_executable.as_deref(), parent.executable))?;
            Patch {
                parent_executable: missing(&p.parent_executable, parent.executable),
                parent_command_line: missing(&p.parent_command_line, parent.command_line),
                parent_entity_id: missing(&p.parent_entity_id, parent.entity_id),
                ..Patch::default()
            }
        } else if wants_self {
            let known = by_guid(&p.entity_id).or_else(|| {
                let by_pid = p.pid.filter(|_| !unknown_guid(&p.entity_id));
                by_pid.and_then(|pid| latest_before(pid, e.ts))
            });
            let known = known.filter(|known| same_image(p.executable.as_deref(), known.executable))?;
            Patch {
                executable: missing(&p.executable, known.executable),
                command_line: missing(&p.command_line, known.command_line),
                entity_id: missing(&p.entity_id, known.entity_id),
                parent_pid: if p.parent_pid.is_none() { known.parent_pid } else { None },
                ..Patch::default()
            }
        } else {
            return None;
        };
        (!patch.is_empty()).then_some(patch)
    }
}

/// What the tree gives one event's process: copies of only the fields it lacks, taken from the
/// process the tree found; the event's own fields stay where they are.
#[derive(Default)]
pub struct Patch {
    executable: Option<String>,
    command_line: Option<String>,
    entity_id: Option<String>,
    parent_pid: Option<u64>,
    parent_executable: Option<String>,
    parent_command_line: Option<String>,
    parent_entity_id: Option<String>,
}

impl Patch {
    fn is_empty(&self) -> bool {
        self.executable.is_none()
            && self.command_line.is_none()
            && self.entity_id.is_none()
            && self.parent_pid.is_none()
            && self.parent_executable.is_none()
            && self.parent_command_line.is_none()
            && self.parent_entity_id.is_none()
    }

    pub fn apply(self, p: &mut ProcessRef) {
        let slots = [
            (&mut p.executable, self.executable),
            (&mut p.command_line, self.command_line),
            (&mut p.entity_id, self.entity_id),
            (&mut p.parent_executable, self.parent_executable),
            (&mut p.parent_command_line, self.parent_command_line),
            (&mut p.parent_entity_id, self.parent_entity_id),
        ];
        for (slot, value) in slots {
            if slot.is_none() {
                *slot = value;
            }
        }
        p.parent_pid = p.parent_pid.or(self.parent_pid);
    }
}

/// A copy of `from` for an empty `slot`; nothing when the slot has a value.
fn missing(slot: &Option<String>, from: Option<&str>) -> Option<String> {
    if slot.is_none() {
        from.map(str::to_owned)
    } else {
        None
    }
}

/// What the tree gives of a started process to events that lack it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Known<'a> {
    pub executable: Option<&'a str>,
    pub command_line: Option<&'a str>,
    pub entity_id: Option<&'a str>,
    pub parent_pid: Option<u64>,
}

impl<'a> From<&'a ProcessRef> for Known<'a> {
    fn from(p: &'a ProcessRef) -> Known<'a> {
        Known {
            executable: p.executable.as_deref(),
            command_line: p.command_line.as_deref(),
            entity_id: p.entity_id.as_deref(),
            parent_pid: p.parent_pid,
        }
    }
}

/// Each event's host as a small number, names compared without case; a log that names no host
/// is a host of its own (two such logs may come from different machines). Each distinct
/// spelling is lower-cased once, not once per event.
#[derive(Debug, Default)]
pub struct HostIds {
    by_spelling: FxHashMap<Box<str>, u32>,
    by_name: FxHashMap<String, u32>,
    by_file: FxHashMap<u32, u32>,
    count: u32,
}

impl HostIds {
    pub fn id(&mut self, e: &Event) -> u32 {
        self.id_of(e.host.as_ref().and_then(|h| h.name.as_deref()), e.provenance.file)
    }

    /// The id already given to a host by name, or to the unnamed host of a file (ids start at
    /// 1).
    pub fn get(&self, name: Option<&str>, file: u32) -> Option<u32> {
        match name {
            Some(name) => self.by_spelling.get(name).or_else(|| self.by_name.get(&name.to_ascii_lowercase())).copied(),
            None => self.by_file.get(&file).copied(),
        }
    }

    /// The id of a host by name, or of the unnamed host of a file.
    pub fn id_of(&mut self, name: Option<&str>, file: u32) -> u32 {
        let count = &mut self.count;
        let mut fresh = || {
            *count += 1;
            *count
        };
        match name {
            Some(name) => match self.by_spelling.get(name) {
                Some(&id) => id,
                None => {
                    let id = *self.by_name.entry(name.to_ascii_lowercase()).or_insert_with(fresh);
                    self.by_spelling.insert(name.into(), id);
                    id
                }
            },
            None => *self.by_file.entry(file).or_insert_with(&mut fresh),
        }
    }
}

/// Whether a process found by pid can be the one an event names: the images' file names
/// agree, where both are known. File names, because one program is written many ways
/// (`C:\Windows\…`, WFP's `\device\harddiskvolume2\windows\…`), and without case.
fn same_image(named: Option<&str>, found: Option<&str>) -> bool {
    fn file_name(path: &str) -> &str {
        path.rsplit(['\\', '/']).next().unwrap_or(path)
    }
    match (named, found) {
        (Some(a), Some(b)) => file_name(a).eq_ignore_ascii_case(file_name(b)),
        _ => true,
    }
}

fn is_start(e: &Event) -> bool {
    matches!(&e.fields, crate::model::Fields::Endpoint(x) if x.action == "process-start")
}

fn is_end(e: &Event) -> bool {
    matches!(&e.fields, crate::model::Fields::Endpoint(x) if x.action == "process-end")
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

    /// A pid reused thousands of times (a busy host over days): each child finds the holder of
    /// its parent's pid when it started, and none when that holder had ended before.
    #[test]
    fn a_much_reused_pid_finds_the_holder_of_its_time() {
        let mut events = Vec::new();
        for k in 0..3000i64 {
            let t = k * 100;
            events.push(start(t, 7, 1, &format!("/usr/bin/job{k}")));
            events.push(start(t + 10, 1000 + k as u64, 7, "/bin/sh"));
            if k % 2 == 1 {
                let end = ProcessRef { pid: Some(7), ..ProcessRef::default() };
                events.push(ev(t + 20, EventKind::Process, "process-end", end));
                events.push(start(t + 30, 9000 + k as u64, 7, "/bin/sh"));
            }
        }
        let mut refs: Vec<&mut Event> = events.iter_mut().collect();
        link(&mut refs);
        let parent_of = |pid: u64| {
            let e = events.iter().find(|e| e.process.as_ref().and_then(|p| p.pid) == Some(pid));
            e.and_then(|e| e.process.as_ref()?.parent_executable.clone())
        };
        for k in [0u64, 1, 2, 1499, 2998, 2999] {
            assert_eq!(parent_of(1000 + k).as_deref(), Some(format!("/usr/bin/job{k}").as_str()), "{k}");
        }
        for k in [1u64, 3, 2999] {
            assert_eq!(parent_of(9000 + k), None, "the holder of pid 7 had ended: {k}");
        }
    }

    #[test]
    fn host_ids_ignore_case_and_number_unnamed_logs_by_file() {
        let mut ids = HostIds::default();
        let web = ids.id_of(Some("WEB1"), 0);
        assert_eq!(ids.id_of(Some("web1"), 3), web);
        let unnamed = ids.id_of(None, 7);
        assert_ne!(unnamed, web);
        assert_ne!(ids.id_of(None, 8), unnamed);
        assert!(web > 0 && unnamed > 0);
        assert_eq!(ids.get(Some("Web1"), 9), Some(web), "a spelling not seen yet");
        assert_eq!(ids.get(None, 7), Some(unnamed));
        assert_eq!(ids.get(Some("db1"), 0), None);
        assert_eq!(ids.get(None, 9), None);
    }

    #[test]
    fn an_ended_a_different_or_another_logs_process_is_no_parent() {
        let with_parent_image = |mut e: Event, image: &str| {
            if let Some(p) = e.process.as_deref_mut() {
                p.parent_executable = Some(image.into());
            }
            e
        };
        let mut events = [
            start(10, 100, 1, "notepad.exe"),
            ev(20, EventKind::Process, "process-end", ProcessRef { pid: Some(100), ..ProcessRef::default() }),
            // pid 100 ended: its next holder is unknown.
            start(30, 300, 100, "cmd.exe"),
            start(40, 101, 1, "explorer.exe"),
            // The record names its parent's image, and pid 101 is someone else's.
            with_parent_image(start(50, 400, 101, "mmc.exe"), "WmiPrvSE.exe"),
        ];
        // A log without a host name, from another file: its pid 1 is not web1's… nor the
        // other unnamed log's.
        let mut unnamed = [start(5, 1, 0, "/sbin/init"), start(60, 500, 1, "/bin/bash")];
        for e in &mut unnamed {
            e.host = None;
            e.provenance.file = 7;
        }
        let mut other = [start(70, 600, 1, "/bin/sh")];
        other[0].host = None;
        other[0].provenance.file = 8;
        let mut refs: Vec<&mut Event> = events.iter_mut().chain(unnamed.iter_mut()).chain(other.iter_mut()).collect();
        link(&mut refs);
        let parent = |e: &Event| e.process.as_ref().unwrap().parent_executable.clone();
        assert_eq!(parent(&events[2]), None, "pid 100 had ended");
        assert_eq!(parent(&events[4]).as_deref(), Some("WmiPrvSE.exe"), "not explorer's command line either");
        assert_eq!(events[4].process.as_ref().unwrap().parent_command_line, None);
        assert_eq!(parent(&unnamed[1]).as_deref(), Some("/sbin/init"), "the same file's process");
        assert_eq!(parent(&other[0]), None, "another unnamed log is another machine");
        assert!(same_image(
            Some("\\device\\harddiskvolume3\\Windows\\explorer.exe"),
            Some("C:\\Windows\\Explorer.EXE")
        ));
        assert!(!same_image(Some("C:\\Windows\\notepad.exe"), Some("C:\\Windows\\System32\\wbem\\WmiPrvSE.exe")));
    }
}
