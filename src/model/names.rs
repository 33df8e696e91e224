//! Field names shared by every event: an audit log's events all repeat `SYSCALL.arch`,
//! `SYSCALL.exe`, … and an event log's `Image`, `CommandLine`, …, so [`Pairs`] keeps each
//! distinct name once for the whole run and refers to it by number instead of copying it into
//! every event (for audit events, names are two thirds of the text).
//!
//! The table is append-only and bounded: at most [`CAPACITY`] names of at most [`MAX_LEN`]
//! bytes, so hostile input with endless distinct names costs at most a few MB here; names that
//! do not fit are stored in the event, as before. Numbers are never written anywhere, so
//! output does not depend on the order names were first met (which varies with threads).
//!
//! [`Pairs`]: super::Pairs

use rustc_hash::FxHashMap;
use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};

/// Names the table holds at most.
pub const CAPACITY: usize = 1 << 16;
/// Longest name kept in the table.
pub const MAX_LEN: usize = 128;

static NAMES: [OnceLock<Name>; CAPACITY] = [const { OnceLock::new() }; CAPACITY];

/// A name of the table. A name JSON writes as it is (no character to escape, as nearly all)
/// is stored once, as its JSON string, quotes included: writers of JSON copy it instead of
/// escaping it again for every event, and the text is the same bytes without the quotes.
struct Name {
    text: &'static str,
    json: Option<&'static [u8]>,
}

/// Leaks `name` into the table's storage (see [`Name`]).
fn leak(name: &str) -> Name {
    let mut json = Vec::with_capacity(name.len() + 2);
    crate::util::escape::write_json_str(name, &mut json);
    if json.len() == name.len() + 2 {
        let json: &'static [u8] = Box::leak(json.into_boxed_slice());
        let text = json.get(1..json.len() - 1).and_then(|t| std::str::from_utf8(t).ok());
        if let Some(text) = text {
            return Name { text, json: Some(json) };
        }
    }
    Name { text: Box::leak(name.to_owned().into_boxed_str()), json: None }
}

/// Set once the table is full, so that new names no longer wait for the lock.
static FULL: AtomicBool = AtomicBool::new(false);

/// How many names have been handed out. Raised after a name enters [`INDEX`] and before its
/// number is returned, so a thread that reads it after receiving pairs holding a number sees at
/// least that many names (the cache of absent names below relies on it).
static COUNT: AtomicU32 = AtomicU32::new(0);

/// Name → number, for threads that have not met a name yet.
static INDEX: Mutex<Option<FxHashMap<&'static str, u32>>> = Mutex::new(None);

thread_local! {
    /// This thread's view of [`INDEX`]: looked up first, without a lock.
    static LOCAL: RefCell<FxHashMap<&'static str, u32>> = RefCell::new(FxHashMap::default());
}

/// The number of `name`, adding it to the table if needed; `None` when it is too long or the
/// table is full.
pub fn intern(name: &str) -> Option<u32> {
    if name.len() > MAX_LEN {
        return None;
    }
    if let Some(id) = known_here(name) {
        return Some(id);
    }
    if FULL.load(Ordering::Relaxed) {
        return None;
    }
    let (id, stored) = {
        let mut index = INDEX.lock().unwrap_or_else(|e| e.into_inner());
        let index = index.get_or_insert_with(FxHashMap::default);
        match index.get_key_value(name) {
            Some((&stored, &id)) => (id, stored),
            None => {
                let Some(id) = u32::try_from(index.len()).ok().filter(|&id| (id as usize) < CAPACITY) else {
                    FULL.store(true, Ordering::Relaxed);
                    return None;
                };
                // Leaked on purpose: the table lives as long as the process, and is bounded.
                let entry = leak(name);
                let stored = entry.text;
                NAMES.get(id as usize)?.set(entry).ok()?;
                index.insert(stored, id);
                COUNT.fetch_add(1, Ordering::Release);
                (id, stored)
            }
        }
    };
    LOCAL.with(|l| l.borrow_mut().insert(stored, id));
    remember(name, id);
    Some(id)
}

/// Slots of the per-thread cache of recent names.
const RECENT_SLOTS: usize = 1 << 10;
/// An empty slot (no name has this number: the table holds fewer).
const EMPTY: u32 = u32::MAX;

thread_local! {
    /// Numbers of names this thread looked up lately, in a slot picked by [`slot`]. A reader
    /// meets the same few dozen names over and over: checking one slot and comparing the name
    /// with the table's copy costs less than hashing it and probing [`LOCAL`].
    static RECENT: [Cell<u32>; RECENT_SLOTS] = const { [const { Cell::new(EMPTY) }; RECENT_SLOTS] };
}

/// The slot of `name` in [`RECENT`]: a hash of its length and of [`words`].
fn slot(name: &[u8]) -> usize {
    let (head, tail) = words(name);
    let h = (head ^ tail.rotate_left(29) ^ name.len() as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (h >> (64 - RECENT_SLOTS.trailing_zeros())) as usize
}

/// The first and last eight bytes of `b` as two words (overlapping when it is shorter than 16
/// bytes; shorter than 8, the first and last four; shorter than 4, its bytes): read in two
/// loads, not byte by byte. Two names of one length with the same words are equal when they
/// are at most 16 bytes long.
fn words(b: &[u8]) -> (u64, u64) {
    if let (Some(head), Some(tail)) = (b.first_chunk::<8>(), b.last_chunk::<8>()) {
        return (u64::from_le_bytes(*head), u64::from_le_bytes(*tail));
    }
    if let (Some(head), Some(tail)) = (b.first_chunk::<4>(), b.last_chunk::<4>()) {
        return (u64::from(u32::from_le_bytes(*head)), u64::from(u32::from_le_bytes(*tail)));
    }
    (b.iter().fold(0u64, |w, &c| (w << 8) | u64::from(c)), 0)
}

/// Whether two names are equal: their [`words`], and what lies between when that is not all.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && words(a) == words(b) && (a.len() <= 16 || a.get(8..a.len() - 8) == b.get(8..b.len() - 8))
}

/// The number of `name` when this thread looked it up lately.
fn recent(name: &str) -> Option<u32> {
    let id = RECENT.with(|r| r.get(slot(name.as_bytes())).map_or(EMPTY, Cell::get));
    (id != EMPTY && same(resolve(id).as_bytes(), name.as_bytes())).then_some(id)
}

/// The number of `name` when this thread has met it: in [`RECENT`], else in [`LOCAL`] (and
/// then noted in [`RECENT`]).
fn known_here(name: &str) -> Option<u32> {
    if let Some(id) = recent(name) {
        return Some(id);
    }
    let id = LOCAL.with(|l| l.borrow().get(name).copied())?;
    remember(name, id);
    Some(id)
}

/// Notes that `name` is numbered `id`, for [`recent`].
fn remember(name: &str, id: u32) {
    RECENT.with(|r| {
        if let Some(cell) = r.get(slot(name.as_bytes())) {
            cell.set(id);
        }
    });
}

thread_local! {
    /// Names this thread found absent from the table, and how many names the table held then:
    /// valid while it holds as many.
    static ABSENT: RefCell<(u32, rustc_hash::FxHashSet<Box<str>>)> = RefCell::default();
}

/// Names remembered absent per thread at most; the set starts again when it is full.
const ABSENT_CAPACITY: usize = 4096;

/// The number of `name` when the table holds it, without adding it: for looking a name up
/// among pairs, which then compares numbers instead of text. `None` means no pair holds the
/// name by number (it may still be stored in an event, see [`super::Pairs`]).
pub fn number_of(name: &str) -> Option<u32> {
    if name.len() > MAX_LEN {
        return None;
    }
    if let Some(id) = known_here(name) {
        return Some(id);
    }
    let count = COUNT.load(Ordering::Acquire);
    if ABSENT.with(|a| {
        let a = a.borrow();
        a.0 == count && a.1.contains(name)
    }) {
        return None;
    }
    let found = {
        let index = INDEX.lock().unwrap_or_else(|e| e.into_inner());
        index.as_ref().and_then(|index| index.get_key_value(name)).map(|(&stored, &id)| (stored, id))
    };
    match found {
        Some((stored, id)) => {
            LOCAL.with(|l| l.borrow_mut().insert(stored, id));
            Some(id)
        }
        None => {
            ABSENT.with_borrow_mut(|(at, names)| {
                if *at != count || names.len() >= ABSENT_CAPACITY {
                    *at = count;
                    names.clear();
                }
                names.insert(name.into());
            });
            None
        }
    }
}

/// Slots of the per-thread cache of recent joined names.
const JOINED_SLOTS: usize = 1 << 11;

thread_local! {
    /// (prefix's number, name's number) → number of the name they make together.
    static PREFIXED: RefCell<FxHashMap<(u32, u32), u32>> = RefCell::new(FxHashMap::default());
    /// The latest pairs looked up, one per slot, in front of [`PREFIXED`]: (prefix, name, joined).
    static JOINED: [Cell<(u32, u32, u32)>; JOINED_SLOTS] =
        const { [const { Cell::new((EMPTY, EMPTY, EMPTY)) }; JOINED_SLOTS] };
}

/// The number of the name `prefix` + `name` (both numbered already), adding it if needed;
/// `None` when it is too long or the table is full. Looked up by the two numbers, so a name
/// made of a record type and a field name is neither spelled out nor hashed as text each time.
pub fn intern_prefixed(prefix: u32, name: u32) -> Option<u32> {
    let key = (u64::from(prefix) << 32 | u64::from(name)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let slot = (key >> (64 - JOINED_SLOTS.trailing_zeros())) as usize;
    let (p, n, id) = JOINED.with(|j| j.get(slot).map_or((EMPTY, EMPTY, EMPTY), Cell::get));
    if (p, n) == (prefix, name) && id != EMPTY {
        return Some(id);
    }
    let found = PREFIXED.with(|p| p.borrow().get(&(prefix, name)).copied());
    let id = match found {
        Some(id) => id,
        None => {
            let id = intern(&format!("{}{}", resolve(prefix), resolve(name)))?;
            PREFIXED.with(|p| p.borrow_mut().insert((prefix, name), id));
            id
        }
    };
    JOINED.with(|j| j.get(slot).map(|c| c.set((prefix, name, id))));
    Some(id)
}

/// The name numbered `id` (empty for a number never handed out).
pub fn resolve(id: u32) -> &'static str {
    NAMES.get(id as usize).and_then(OnceLock::get).map_or("", |n| n.text)
}

/// The name numbered `id` as a JSON string, quotes included, when it needs no escaping (and
/// was handed out).
pub fn resolve_json(id: u32) -> Option<&'static [u8]> {
    NAMES.get(id as usize).and_then(OnceLock::get).and_then(|n| n.json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_across_threads_until_the_table_is_full() {
        let a = intern("SYSCALL.arch").expect("fits");
        assert_eq!(intern("SYSCALL.arch"), Some(a));
        assert_eq!(resolve(a), "SYSCALL.arch");
        let from_other = std::thread::spawn(|| intern("SYSCALL.arch")).join().expect("thread");
        assert_eq!(from_other, Some(a), "one number per name, whichever thread met it first");
        assert_eq!(intern(&"x".repeat(MAX_LEN + 1)), None);
        let (prefix, name) = (intern("PATH[1].").expect("fits"), intern("nametype").expect("fits"));
        let joined = intern_prefixed(prefix, name).expect("fits");
        assert_eq!(resolve(joined), "PATH[1].nametype");
        assert_eq!(intern("PATH[1].nametype"), Some(joined), "the same number as the name spelled out");
        assert_eq!(intern_prefixed(prefix, name), Some(joined));
        let long = intern(&"y".repeat(MAX_LEN)).expect("fits");
        assert_eq!(intern_prefixed(prefix, long), None, "too long together");
        assert_eq!(resolve(u32::MAX), "");
        assert_eq!(resolve_json(u32::MAX), None);
        assert_eq!(resolve_json(joined), Some(&br#""PATH[1].nametype""#[..]));
        // Looked up without being added: absent until some thread adds it, whichever asks.
        assert_eq!(number_of("looked-up-first"), None);
        assert_eq!(number_of("looked-up-first"), None, "remembered absent");
        let added = std::thread::spawn(|| intern("looked-up-first")).join().expect("thread");
        assert!(added.is_some());
        assert_eq!(number_of("looked-up-first"), added, "an absence is forgotten once the table grows");
        assert_eq!(number_of("SYSCALL.arch"), Some(a));
        assert_eq!(number_of(&"x".repeat(MAX_LEN + 1)), None);
        let odd = intern("a\"b\\c").expect("fits");
        assert_eq!((resolve(odd), resolve_json(odd)), ("a\"b\\c", None));

        // More names than the caches of recent lookups have slots, so that names share slots:
        // every lookup still finds its own name, by text and by the pair it was joined from.
        let many: Vec<String> = (0..3 * RECENT_SLOTS).map(|i| format!("f{i}")).collect();
        let ids: Vec<u32> = many.iter().map(|n| intern(n).expect("fits")).collect();
        for (n, &id) in many.iter().zip(&ids).rev() {
            assert_eq!((intern(n), number_of(n), resolve(id)), (Some(id), Some(id), n.as_str()));
        }
        for (i, &id) in ids.iter().enumerate().take(JOINED_SLOTS + 7) {
            let joined = intern_prefixed(prefix, id).expect("fits");
            assert_eq!(resolve(joined), format!("PATH[1].f{i}"));
            assert_eq!(intern_prefixed(prefix, id), Some(joined));
        }
        // Names equal in their first and last eight bytes, or of one length, are told apart.
        for n in
            ["abcdefgh-1-abcdefgh", "abcdefgh-2-abcdefgh", "abcdefghabcdefgh", "abc", "abd", "ab", "abcde", "abcdf"]
        {
            let id = intern(n).expect("fits");
            assert_eq!((resolve(id), intern(n)), (n, Some(id)));
        }
        assert!(same(b"abcdefgh-1-abcdefgh", b"abcdefgh-1-abcdefgh"));
        assert!(!same(b"abcdefgh-1-abcdefgh", b"abcdefgh-2-abcdefgh"));
        assert!(!same(b"abcde", b"abcdf") && !same(b"ab", b"abc") && same(b"", b""));

        // Hostile input with endless distinct names fills the table; past that, names are kept
        // in each event and read back the same. (This fills the table for the rest of the test
        // process, which only moves later names into their events: hence one test, in order.)
        let kept = intern("kept-before-full").expect("fits");
        let mut i = 0u64;
        while intern(&format!("filler-{i}")).is_some() {
            i += 1;
            assert!(i <= CAPACITY as u64, "the table is bounded");
        }
        assert_eq!(intern("never-seen-before"), None);
        assert_eq!(intern("kept-before-full"), Some(kept), "names already in the table still resolve");
        let mut pairs = super::super::Pairs::new();
        pairs.push("never-seen-before", "v1");
        pairs.push("kept-before-full", "v2");
        assert_eq!(pairs.get("never-seen-before"), Some("v1"));
        assert_eq!(pairs.iter().collect::<Vec<_>>(), [("never-seen-before", "v1"), ("kept-before-full", "v2")]);
    }
}
