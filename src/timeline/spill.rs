//! Timelines larger than memory: an endpoint log's events are written in sorted runs to a
//! temporary file as they are read, and the runs of every log are merged back in timeline
//! order while the output is written. Memory then holds one run being filled per log and one
//! event per run being merged, whatever the logs' size.
//!
//! The order is the one [`super::sort_events`] gives the same events held in memory: runs are
//! sorted the same way, and the merge breaks ties between runs by the order they were written.
//! Events with equal sort keys share their file and record (the key holds both), and a file's
//! runs are written in file order, so ties keep their file order as the in-memory sort does.
//!
//! The temporary files are unnamed (removed by the system when closed, even if seam is
//! killed). Events are written in the private binary form of [`crate::model::spill`].

use crate::model::spill::{decode, encode, Key, SpillError};
use crate::model::Event;
use rayon::prelude::*;
use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

/// Why a run could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("temporary file for the timeline's sorted runs: {0}")]
    Io(#[from] std::io::Error),
    #[error("timeline run at byte {offset} of its temporary file: {source}")]
    Codec { offset: u64, source: SpillError },
}

/// The runs written for one log: one temporary file, runs one after the other.
pub struct Runs {
    file: Arc<File>,
    /// (offset, length) of each run, in the order written.
    runs: Vec<(u64, u64)>,
    len: u64,
}

/// Events encoded together (on the pool) before they are written, and per task.
const ENCODE_GROUP: usize = 8 * ENCODE_TASK;
const ENCODE_TASK: usize = 1024;
/// Bytes read from a run at a time while merging.
const READ_BYTES: usize = 256 << 10;

impl Runs {
    pub fn new() -> Result<Runs, RunError> {
        Ok(Runs { file: Arc::new(tempfile::tempfile()?), runs: Vec::new(), len: 0 })
    }

    /// Sorts `events` into timeline order and writes them as one run, leaving `events` empty
    /// (its room kept for the next run).
    pub fn write(&mut self, events: &mut Vec<Event>) -> Result<(), RunError> {
        if events.is_empty() {
            return Ok(());
        }
        super::sort_events(events);
        let start = self.len;
        // Encoded on the pool a group at a time, each task into a buffer of its own, and
        // written in order.
        let mut parts: Vec<Vec<u8>> = Vec::new();
        for group in events.chunks(ENCODE_GROUP) {
            let tasks: Vec<&[Event]> = group.chunks(ENCODE_TASK).collect();
            parts.resize_with(parts.len().max(tasks.len()), Vec::new);
            let encoded: Result<(), SpillError> =
                parts.par_iter_mut().zip(tasks.par_iter()).try_for_each(|(part, events)| {
                    part.clear();
                    for e in events.iter() {
                        let at = part.len();
                        part.extend_from_slice(&[0; 4]);
                        encode(e, part)?;
                        let len = u32::try_from(part.len() - at - 4).unwrap_or(u32::MAX);
                        part[at..at + 4].copy_from_slice(&len.to_le_bytes());
                    }
                    Ok(())
                });
            encoded.map_err(|source| RunError::Codec { offset: self.len, source })?;
            for part in &parts[..tasks.len()] {
                (&*self.file).write_all(part)?;
                self.len += part.len() as u64;
            }
        }
        // Freed on the pool, the vector's room kept for the next run.
        events.par_drain(..).for_each(drop);
        self.runs.push((start, self.len - start));
        Ok(())
    }

    /// Runs written so far.
    pub fn count(&self) -> usize {
        self.runs.len()
    }
}

/// The events of several logs' runs, in timeline order.
///
/// Runs are merged by the keys at the front of their records, without decoding them; a window
/// of records at a time is then decoded on the pool.
pub struct Merge {
    cursors: Vec<Cursor>,
    heap: BinaryHeap<Head>,
    /// Records of the window being gathered, one after the other, and where each ends and
    /// starts in its run's file.
    window: Vec<u8>,
    ends: Vec<(usize, u64)>,
}

impl Merge {
    /// Merges the runs of `logs`; ties between runs go to the earlier log, then the earlier
    /// run (see the module's documentation).
    pub fn new(logs: Vec<Runs>) -> Result<Merge, RunError> {
        let mut cursors = Vec::new();
        for log in logs {
            for &(start, len) in &log.runs {
                cursors.push(Cursor { file: log.file.clone(), at: start, end: start + len, buf: Vec::new(), pos: 0 });
            }
        }
        let mut heap = BinaryHeap::with_capacity(cursors.len());
        for (run, c) in cursors.iter_mut().enumerate() {
            let mut head = Head { key: OwnedKey::default(), run };
            if c.peek_key(&mut head.key)? {
                heap.push(head);
            }
        }
        Ok(Merge { cursors, heap, window: Vec::new(), ends: Vec::new() })
    }

    /// Up to `max` next events in timeline order, appended to `out`; false once every run is
    /// read.
    pub fn next_events(&mut self, max: usize, out: &mut Vec<Event>) -> Result<bool, RunError> {
        self.window.clear();
        self.ends.clear();
        let mut more = true;
        while self.ends.len() < max {
            let Some(mut head) = self.heap.pop() else {
                more = false;
                break;
            };
            let cursor = &mut self.cursors[head.run];
            let offset = cursor.take_record(&mut self.window)?;
            self.ends.push((self.window.len(), offset));
            if cursor.peek_key(&mut head.key)? {
                self.heap.push(head);
            }
        }
        let (window, ends) = (&self.window, &self.ends);
        let decoded: Result<Vec<Event>, RunError> = (0..ends.len())
            .into_par_iter()
            .map(|i| {
                let start = if i == 0 { 0 } else { ends[i - 1].0 };
                let (end, offset) = ends[i];
                let mut input = &window[start..end];
                decode(&mut input).map_err(|source| RunError::Codec { offset, source })
            })
            .collect();
        out.extend(decoded?);
        Ok(more && !self.heap.is_empty())
    }
}

/// A record's [`Key`], held apart from its run's buffer.
#[derive(Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
struct OwnedKey {
    ts: i64,
    host: Option<Vec<u8>>,
    file: u32,
    locator: (u8, u64),
    kind: u8,
}

impl OwnedKey {
    /// Takes `key`'s values, reusing the room of the host name held before.
    fn set(&mut self, key: Key<'_>) {
        self.ts = key.ts;
        match (key.host, &mut self.host) {
            (Some(new), Some(held)) => {
                held.clear();
                held.extend_from_slice(new);
            }
            (new, held) => *held = new.map(<[u8]>::to_vec),
        }
        self.file = key.file;
        self.locator = key.locator;
        self.kind = key.kind;
    }
}

/// Where the merge is in one run.
struct Cursor {
    file: Arc<File>,
    /// File offset of the bytes after `buf`, and of the run's end.
    at: u64,
    end: u64,
    buf: Vec<u8>,
    /// Where the next record (its length) starts in `buf`.
    pos: usize,
}

impl Cursor {
    /// Reads the next record's key into `key`; false at the run's end.
    fn peek_key(&mut self, key: &mut OwnedKey) -> Result<bool, RunError> {
        let offset = self.offset();
        let Some(len) = self.record_len()? else { return Ok(false) };
        let record = &self.buf[self.pos + 4..self.pos + 4 + len];
        key.set(crate::model::spill::key(record).map_err(|source| RunError::Codec { offset: offset + 4, source })?);
        Ok(true)
    }

    /// Appends the next record (whose key was peeked) to `out`; returns its offset in the file.
    fn take_record(&mut self, out: &mut Vec<u8>) -> Result<u64, RunError> {
        let offset = self.offset() + 4;
        let len = self.record_len()?.ok_or(RunError::Codec { offset, source: SpillError::Truncated })?;
        out.extend_from_slice(&self.buf[self.pos + 4..self.pos + 4 + len]);
        self.pos += 4 + len;
        Ok(offset)
    }

    /// The length of the next record, with the whole record buffered; `None` at the run's end.
    fn record_len(&mut self) -> Result<Option<usize>, RunError> {
        let offset = self.offset();
        if !self.fill(4)? {
            if self.buf.len() == self.pos {
                return Ok(None);
            }
            return Err(RunError::Codec { offset, source: SpillError::Truncated });
        }
        let b = &self.buf[self.pos..self.pos + 4];
        let len = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize;
        if !self.fill(4 + len)? {
            return Err(RunError::Codec { offset: offset + 4, source: SpillError::Truncated });
        }
        Ok(Some(len))
    }

    /// File offset of the next unread byte.
    fn offset(&self) -> u64 {
        self.at - (self.buf.len() - self.pos) as u64
    }

    /// Reads more of the run until `n` bytes are buffered past `pos`; false when the run ends
    /// before that.
    fn fill(&mut self, n: usize) -> std::io::Result<bool> {
        if self.buf.len() - self.pos >= n {
            return Ok(true);
        }
        self.buf.drain(..self.pos);
        self.pos = 0;
        let left = usize::try_from(self.end - self.at).unwrap_or(usize::MAX);
        let want = (n - self.buf.len()).max(READ_BYTES).min(left);
        let have = self.buf.len();
        self.buf.resize(have + want, 0);
        self.file.read_exact_at(&mut self.buf[have..], self.at)?;
        self.at += want as u64;
        Ok(self.buf.len() >= n)
    }
}

/// A run's next record, ordered for the heap: the earliest in timeline order first, ties to
/// the earlier run.
struct Head {
    key: OwnedKey,
    run: usize,
}

impl Ord for Head {
    fn cmp(&self, other: &Self) -> Ordering {
        // The heap is a max-heap: reversed.
        other.key.cmp(&self.key).then(other.run.cmp(&self.run))
    }
}

impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Head {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Head {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{EndpointFields, EventKind, Fields, HostRef, Locator, LogSource, Provenance};

    fn ev(ts: i64, host: &str, file: u32, line: u64, tag: &str) -> Event {
        let mut x = EndpointFields::new(LogSource::Auditd, "x", tag.into());
        x.data.push("k", tag);
        Event {
            ts,
            kind: EventKind::Audit,
            host: Some(HostRef { name: Some(host.into()), ip: None }),
            net: None,
            process: None,
            provenance: Provenance { file, locator: Locator::Line(line) },
            fields: Fields::Endpoint(Box::new(x)),
        }
    }

    fn code(e: &Event) -> String {
        match &e.fields {
            Fields::Endpoint(x) => x.code.clone(),
            _ => String::new(),
        }
    }

    /// Events of two logs, out of order and with ties (two events of one record), cut into
    /// runs of every size: the merge gives what sorting them all in memory gives.
    #[test]
    fn merged_runs_are_in_the_order_sorting_in_memory_gives() {
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let mut rand = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let logs: Vec<Vec<Event>> = (0..2u32)
            .map(|file| {
                (0..300u64)
                    .map(|i| {
                        let line = if i % 10 == 3 { i - 1 } else { i };
                        let host = ["a", "b", "c"][rand(3) as usize];
                        ev(rand(50) as i64, host, file, line, &format!("{file}:{i}"))
                    })
                    .collect()
            })
            .collect();
        let mut expected: Vec<Event> = logs.iter().flatten().cloned().collect();
        crate::timeline::sort_events(&mut expected);
        let expected: Vec<String> = expected.iter().map(code).collect();
        for size in [1usize, 2, 7, 64, 299, 300, 1000] {
            let mut all = Vec::new();
            for log in &logs {
                let mut runs = Runs::new().unwrap();
                for chunk in log.chunks(size) {
                    runs.write(&mut chunk.to_vec()).unwrap();
                }
                assert_eq!(runs.count(), log.len().div_ceil(size));
                all.push(runs);
            }
            let mut merge = Merge::new(all).unwrap();
            let mut events = Vec::new();
            while merge.next_events(size.min(13), &mut events).unwrap() {}
            let got: Vec<String> = events.iter().map(code).collect();
            assert_eq!(got, expected, "runs of {size}");
        }
    }

    #[test]
    fn a_damaged_run_is_an_error_naming_its_offset() {
        let mut runs = Runs::new().unwrap();
        runs.write(&mut vec![ev(1, "a", 0, 1, "one"), ev(2, "a", 0, 2, "two")]).unwrap();
        // The second event's length says more than the run holds.
        let second = {
            let mut buf = vec![0u8; 4];
            runs.file.read_exact_at(&mut buf, 0).unwrap();
            4 + u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]) as u64
        };
        runs.file.write_all_at(&u32::MAX.to_le_bytes(), second).unwrap();
        // The merge reads each run's next record ahead: taking the first finds the damage.
        let mut merge = Merge::new(vec![runs]).unwrap();
        let err = merge.next_events(10, &mut Vec::new()).unwrap_err().to_string();
        assert!(err.contains(&format!("byte {}", second + 4)), "{err}");
    }
}
