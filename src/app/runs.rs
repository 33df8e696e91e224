//! `seam timeline` over endpoint logs larger than memory.
//!
//! While a log is read, each time its reader holds [`Spilling::after`] events they are put on
//! the analyst's clock (`--clock-offset`), sorted and written as a run to a temporary file
//! (`timeline::spill`); only what the process tree needs of them is kept: the starts' processes
//! and the ends' pids. When every log is read, the tree is built, and the runs are merged in
//! timeline order; each event is completed from the tree, filtered and written as the merge
//! reaches it. The output is byte for byte the one the whole timeline held in memory gives.
//!
//! Memory holds a run being filled per log being read, the tree (which grows with processes,
//! not events) and one event per run while merging.
//!
//! Used only where the result cannot differ from the in-memory timeline and needs nothing
//! else of every event: no captures in the bundle (events joined to flows, clock offsets
//! estimated from them), no `--host` (widened through the asset inventory, built from every
//! event), and a format written a window of rows at a time (JSON, JSON Lines, Timesketch,
//! CSV).

use super::{apply_offset, Ingested};
use crate::entities::process::{role, HostIds, Known, Role, Tree};
use crate::entities::ClockOffset;
use crate::model::{Event, EventKind, Fields, Provenance};
use crate::report::{render_stream, Rendered};
use crate::timeline::spill::{Merge, Runs};
use crate::timeline::TimelineFilter;
use crate::util::Timestamp;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

/// How the logs' readers hand their events on.
#[derive(Debug, Clone)]
pub struct Spilling {
    /// Events a log's reader holds before writing them as a run.
    pub after: usize,
    /// The clock offsets the analyst set.
    pub offsets: Arc<[ClockOffset]>,
    /// The texts of the marks of every log (host names, images, command lines, guids).
    texts: Arc<Mutex<Texts>>,
}

impl Spilling {
    pub fn new(after: usize, offsets: Vec<ClockOffset>) -> Spilling {
        Spilling { after, offsets: offsets.into(), texts: Arc::default() }
    }
}

/// Texts kept once each, by number: a host runs the same programs with the same command lines
/// again and again, so the tree's marks refer to them rather than copy them.
#[derive(Debug, Default)]
struct Texts {
    index: FxHashMap<Arc<str>, u32>,
    texts: Vec<Arc<str>>,
}

/// No text.
const NONE: u32 = u32::MAX;

impl Texts {
    fn id(&mut self, text: Option<&str>) -> u32 {
        let Some(text) = text else { return NONE };
        if let Some(&id) = self.index.get(text) {
            return id;
        }
        let id = u32::try_from(self.texts.len()).unwrap_or(NONE);
        let text: Arc<str> = text.into();
        self.texts.push(text.clone());
        self.index.insert(text, id);
        id
    }

    fn get(&self, id: u32) -> Option<&str> {
        self.texts.get(id as usize).map(|t| &**t)
    }
}

/// What a log's reader wrote to runs.
pub struct Overflow {
    runs: Option<Runs>,
    /// The process starts and ends among the events written, in file order.
    marks: Vec<Mark>,
    /// Events written, and those of them carved from unallocated space.
    pub events: u64,
    pub carved: u64,
    /// Earliest and latest event time, as the log has them (before any clock offset).
    pub first_ts: Option<Timestamp>,
    pub last_ts: Option<Timestamp>,
    /// Host names of the events written, lower-cased, and as they were spelled.
    pub hosts: BTreeSet<String>,
    spellings: BTreeSet<Box<str>>,
    /// Why runs could not be written, if they could not: the events are then held.
    pub error: Option<String>,
}

/// A process start or end, as the tree needs it; texts by their number in [`Texts`].
struct Mark {
    ts: Timestamp,
    provenance: Provenance,
    pid: Option<u64>,
    parent_pid: Option<u64>,
    host: u32,
    executable: u32,
    command_line: u32,
    entity_id: u32,
    kind: EventKind,
    role: Role,
}

impl Overflow {
    fn new() -> Overflow {
        Overflow {
            runs: None,
            marks: Vec::new(),
            events: 0,
            carved: 0,
            first_ts: None,
            last_ts: None,
            hosts: BTreeSet::new(),
            spellings: BTreeSet::new(),
            error: None,
        }
    }

    /// Writes `events` as one run, emptying it; the events are held (not emptied) once a run
    /// could not be written.
    fn write(&mut self, events: &mut Vec<Event>, spilling: &Spilling) {
        if self.error.is_some() {
            return;
        }
        if self.runs.is_none() {
            match Runs::new() {
                Ok(runs) => self.runs = Some(runs),
                Err(e) => {
                    self.error = Some(e.to_string());
                    return;
                }
            }
        }
        for e in events.iter_mut() {
            self.first_ts = Some(self.first_ts.map_or(e.ts, |t| t.min(e.ts)));
            self.last_ts = Some(self.last_ts.map_or(e.ts, |t| t.max(e.ts)));
            if matches!(&e.fields, Fields::Endpoint(x) if x.carved) {
                self.carved += 1;
            }
            if let Some(name) = e.host.as_ref().and_then(|h| h.name.as_deref()) {
                if !self.spellings.contains(name) {
                    self.spellings.insert(name.into());
                    self.hosts.insert(name.to_ascii_lowercase());
                }
            }
            apply_offset(e, &spilling.offsets);
            if let (Some(role), Some(p)) = (role(e), e.process.as_deref()) {
                let mut texts = spilling.texts.lock().unwrap_or_else(|e| e.into_inner());
                self.marks.push(Mark {
                    ts: e.ts,
                    provenance: e.provenance,
                    pid: p.pid,
                    parent_pid: p.parent_pid,
                    host: texts.id(e.host.as_ref().and_then(|h| h.name.as_deref())),
                    executable: texts.id(p.executable.as_deref()),
                    command_line: texts.id(p.command_line.as_deref()),
                    entity_id: texts.id(p.entity_id.as_deref()),
                    kind: e.kind,
                    role,
                });
            }
            self.events += 1;
        }
        if let Some(runs) = self.runs.as_mut() {
            if let Err(e) = runs.write(events) {
                self.error = Some(e.to_string());
            }
        }
    }
}

/// Called by a log's reader with the events it holds: writes them as a run when there are
/// enough of them (or `last`, once the log has spilled, for the rest).
pub fn offer(spilling: Option<&Spilling>, slot: &mut Option<Overflow>, events: &mut Vec<Event>) {
    let Some(spilling) = spilling else { return };
    if events.len() >= spilling.after.max(1) {
        slot.get_or_insert_with(Overflow::new).write(events, spilling);
    }
}

/// Whether any log was written to runs.
pub fn spilled(ingest: &[Ingested]) -> bool {
    ingest.iter().any(|r| r.overflow.is_some())
}

/// Writes the timeline of logs some of which were written to runs (see the module's
/// documentation).
pub fn write_timeline(
    ingest: &mut [Ingested],
    spilling: &Spilling,
    filter: &TimelineFilter,
    r: &Rendered<'_, Event>,
    out: &crate::cli::OutputConfig,
    timings: bool,
    quiet: bool,
) -> anyhow::Result<()> {
    // Every log's last events join its runs, so that one merge orders them all.
    let mut logs = Vec::new();
    let mut marks = Vec::new();
    for log in ingest.iter_mut() {
        if log.events.is_empty() && log.overflow.is_none() {
            continue;
        }
        let overflow = log.overflow.get_or_insert_with(Overflow::new);
        overflow.write(&mut log.events, spilling);
        if let Some(e) = overflow.error.take() {
            anyhow::bail!(
                "{e} (in {}): set TMPDIR to a directory with room, or --spill-after 0 to hold every event in memory",
                std::env::temp_dir().display()
            );
        }
        logs.extend(overflow.runs.take());
        marks.append(&mut overflow.marks);
    }
    // The tree, from the starts and ends in timeline order. The marks are in file order, each
    // file's in the order read: a stable sort keeps that order for ties, as the in-memory
    // sort does.
    let texts = spilling.texts.lock().unwrap_or_else(|e| e.into_inner());
    marks.sort_by(|a, b| {
        (a.ts, texts.get(a.host), a.provenance, a.kind).cmp(&(b.ts, texts.get(b.host), b.provenance, b.kind))
    });
    let mut hosts = HostIds::default();
    let mut tree = Tree::default();
    for (i, m) in marks.iter().enumerate() {
        let host = hosts.id_of(texts.get(m.host), m.provenance.file);
        tree.add(host, m.ts, m.role, m.pid, texts.get(m.entity_id), i);
    }
    let process = |i: usize| {
        marks.get(i).map(|m| Known {
            executable: texts.get(m.executable),
            command_line: texts.get(m.command_line),
            entity_id: texts.get(m.entity_id),
            parent_pid: m.parent_pid,
        })
    };
    if timings {
        let count: usize = logs.iter().map(Runs::count).sum();
        crate::note!("seam: timeline merged from {count} sorted runs, {} process starts and ends held", marks.len());
    }
    let total: u64 = ingest.iter().filter_map(|r| r.overflow.as_ref()).map(|o| o.events).sum();
    let bar = merge_bar(total, quiet);
    let mut merge = Merge::new(logs)?;
    let mut sink = out.dest.open()?;
    let written = render_stream(r, out.format, &mut sink, |window, room| {
        let more = merge.next_events(room, window)?;
        bar.inc(window.len() as u64);
        // Completed from the tree and filtered on the pool; the tree is only read. A host it
        // does not know started no process (its number, 0, is no host's), though its events
        // may still name another host's process by guid.
        window.par_iter_mut().for_each(|e| {
            let host = hosts.get(e.host.as_ref().and_then(|h| h.name.as_deref()), e.provenance.file).unwrap_or(0);
            if let Some(patch) = tree.patch(host, e, process) {
                if let Some(p) = e.process.as_deref_mut() {
                    patch.apply(p);
                }
            }
        });
        // Each event is matched once (`--grep` renders its message to look).
        let keep: Vec<bool> = window.par_iter().map(|e| filter.matches(e)).collect();
        if keep.contains(&false) {
            let mut keep = keep.into_iter();
            window.retain(|_| keep.next().unwrap_or(false));
        }
        Ok(more)
    });
    bar.finish_and_clear();
    super::unless_pipe_closed(written.and_then(|()| sink.commit()))
}

/// Progress of the merge on stderr, as reading's is: hidden with `--quiet` or when stderr is
/// not a terminal.
fn merge_bar(events: u64, quiet: bool) -> ProgressBar {
    use std::io::IsTerminal;
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(events);
    let style =
        ProgressStyle::with_template("{spinner} writing timeline {bar:30} {human_pos}/{human_len} events eta {eta}");
    bar.set_style(style.unwrap_or_else(|_| ProgressStyle::default_bar()));
    bar
}
