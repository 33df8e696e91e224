//! Evidence discovery: walk the paths an analyst gives, identify each file by its magic bytes
//! (never by its name), see through gzip, and hash.
//!
//! Input: paths (files or directories). Output: [`EvidenceFile`]s in a deterministic order
//! (sorted by path), each with an index that provenance refers to. Files are only ever opened
//! read-only. An unreadable file is a diagnostic, not an error: the rest of the bundle goes on.
//! Imports `util`, `diag`, `model`.

pub mod sniff;

use crate::diag::{DiagKind, Diagnostics};
use flate2::read::MultiGzDecoder;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

pub use sniff::{sniff, EvidenceKind};

/// Directory depth followed when walking; deeper trees are reported, not followed, so a symlink
/// loop cannot hang the walk.
pub const MAX_WALK_DEPTH: usize = 32;

/// One evidence file of the bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EvidenceFile {
    /// Index in the run's inventory; provenance refers to it.
    pub id: u32,
    pub path: PathBuf,
    /// The path as shown to the analyst (as given or found under a given directory).
    pub display: String,
    pub kind: EvidenceKind,
    /// Whether the content is gzip-compressed (seen through transparently).
    pub gzip: bool,
    /// Size on disk in bytes.
    pub size: u64,
    /// The file's own mark, from its size and first bytes (and, for files alike in those, its
    /// rank among them by path): flow ids are made from it, so that they do not change when
    /// other files join the bundle.
    pub tag: u64,
}

/// Walks `paths`, identifies every regular file and returns them sorted by path. A file reached
/// twice (given twice under two spellings, or through a symbolic link) is read once, under its
/// first path; a directory reached again through a link is not walked again.
pub fn discover(paths: &[PathBuf], diags: &mut Diagnostics) -> Vec<EvidenceFile> {
    let mut found = Vec::new();
    let mut walked = std::collections::HashSet::new();
    for p in paths {
        walk(p, 0, &mut found, &mut walked, diags);
    }
    found.sort();
    found.dedup();
    // One file, one read: the first path (in sorted order) stands for every other.
    let mut seen: std::collections::HashMap<FileId, PathBuf> = std::collections::HashMap::new();
    found.retain(|path| {
        let Some(id) = file_id(path) else { return true };
        match seen.get(&id) {
            Some(first) => {
                let what = format!("the same file as {}: read once, under that name", first.display());
                diags.push(&path.display().to_string(), None, DiagKind::Skipped, what);
                false
            }
            None => {
                seen.insert(id, path.clone());
                true
            }
        }
    });
    // Ids follow the identified files only, so an unreadable one leaves no hole.
    let mut files = Vec::with_capacity(found.len());
    for path in found {
        if let Some(f) = identify(&path, files.len() as u32, diags) {
            files.push(f);
        }
    }
    // Files alike in size and first bytes (copies, mostly) are told apart by their rank.
    let mut alike: std::collections::HashMap<u64, u64> = std::collections::HashMap::new();
    for f in &mut files {
        let rank = alike.entry(f.tag).or_default();
        f.tag = f.tag.wrapping_add(*rank);
        *rank += 1;
    }
    files
}

/// Everything a walk of `paths` reaches, links followed: the files and the directories.
#[derive(Debug, Default)]
pub struct Reach {
    files: std::collections::HashSet<FileId>,
    dirs: std::collections::HashSet<FileId>,
}

impl Reach {
    pub fn of(paths: &[PathBuf]) -> Reach {
        let (mut found, mut walked) = (Vec::new(), std::collections::HashSet::new());
        let mut ignored = Diagnostics::new();
        for p in paths {
            walk(p, 0, &mut found, &mut walked, &mut ignored);
        }
        Reach { files: found.iter().filter_map(|p| file_id(p)).collect(), dirs: walked }
    }

    /// Whether `path` is one of the files reached, under whatever name.
    pub fn has_file(&self, path: &Path) -> bool {
        file_id(path).is_some_and(|id| self.files.contains(&id))
    }

    /// Whether `path` is one of the directories walked, under whatever name.
    pub fn has_dir(&self, path: &Path) -> bool {
        file_id(path).is_some_and(|id| self.dirs.contains(&id))
    }
}

/// What makes a file the same file whatever its path: device and inode where the system has
/// them, else the resolved path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum FileId {
    #[cfg(unix)]
    Inode(u64, u64),
    #[cfg(not(unix))]
    Path(PathBuf),
}

fn file_id(path: &Path) -> Option<FileId> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(path).ok()?;
        Some(FileId::Inode(m.dev(), m.ino()))
    }
    #[cfg(not(unix))]
    {
        path.canonicalize().ok().map(FileId::Path)
    }
}

fn walk(
    path: &Path,
    depth: usize,
    out: &mut Vec<PathBuf>,
    walked: &mut std::collections::HashSet<FileId>,
    diags: &mut Diagnostics,
) {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => {
            diags.push(&path.display().to_string(), None, DiagKind::Unreadable, e.to_string());
            return;
        }
    };
    if meta.is_file() {
        out.push(path.to_path_buf());
    } else if meta.is_dir() {
        if depth >= MAX_WALK_DEPTH {
            diags.push(
                &path.display().to_string(),
                None,
                DiagKind::LimitReached,
                format!("directory deeper than {MAX_WALK_DEPTH} levels not followed"),
            );
            return;
        }
        // A directory met again (a link back up the tree, or one given twice) is walked once.
        if let Some(id) = file_id(path) {
            if !walked.insert(id) {
                return;
            }
        }
        match std::fs::read_dir(path) {
            Ok(entries) => {
                let mut children: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
                children.sort();
                for child in children {
                    walk(&child, depth + 1, out, walked, diags);
                }
            }
            Err(e) => diags.push(&path.display().to_string(), None, DiagKind::Unreadable, e.to_string()),
        }
    } else {
        // A pipe, socket or device is not read: it could block the walk, and it cannot be
        // read twice (once to identify, once to decode). Copy its content into a file.
        let what = "not a regular file or directory (a pipe, socket or device): not read; copy it into a file";
        diags.push(&path.display().to_string(), None, DiagKind::Unreadable, what);
    }
}

fn identify(path: &Path, id: u32, diags: &mut Diagnostics) -> Option<EvidenceFile> {
    let display = path.display().to_string();
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let mut head = Vec::with_capacity(sniff::SNIFF_BYTES);
    let raw = match File::open(path) {
        Ok(f) => f,
        Err(e) => {
            diags.push(&display, None, DiagKind::Unreadable, e.to_string());
            return None;
        }
    };
    if let Err(e) = raw.take(sniff::SNIFF_BYTES as u64).read_to_end(&mut head) {
        diags.push(&display, Some(0), DiagKind::Unreadable, e.to_string());
        return None;
    }
    let gzip = head.starts_with(&[0x1f, 0x8b]);
    if gzip {
        head.clear();
        // A damaged gzip stream still leaves the file listed, as unknown, and says so.
        let read = open_path(path, true).and_then(|r| r.take(sniff::SNIFF_BYTES as u64).read_to_end(&mut head));
        if let Err(e) = read {
            let what = format!("gzip stream unreadable after {} bytes: {e}; not identified", head.len());
            diags.push(&display, Some(0), DiagKind::Decompression, what);
        }
    }
    let kind = sniff(&head);
    if kind == EvidenceKind::Unknown {
        if let Some(named) = named_as_evidence(path) {
            // Identified by content, not by name; but a capture or event log whose first bytes
            // were damaged would otherwise leave the analysis without a word.
            let what = if size == 0 {
                format!("named like {named} but empty")
            } else {
                format!("named like {named} but its first bytes are not one: not read")
            };
            diags.push(&display, Some(0), DiagKind::BadHeader, what);
        }
    }
    let tag = {
        let digest = Sha256::new().chain_update(size.to_be_bytes()).chain_update(&head).finalize();
        u64::from_be_bytes(digest[..8].try_into().unwrap_or_default())
    };
    Some(EvidenceFile { id, path: path.to_path_buf(), display, kind, gzip, size, tag })
}

/// What a file's name says it is, for the evidence kinds whose names are conventional.
fn named_as_evidence(path: &Path) -> Option<&'static str> {
    let name = path.file_name()?.to_str()?.to_ascii_lowercase();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    let ext = name.rsplit_once('.').map(|(_, e)| e);
    match ext {
        Some("pcap" | "cap") => Some("a capture"),
        Some("pcapng" | "ntar") => Some("a pcapng capture"),
        Some("evtx") => Some("an event log"),
        _ if name.starts_with("audit.log") || name.ends_with("audit.log") => Some("an audit log"),
        _ => None,
    }
}

/// Opens an evidence file read-only, decompressing gzip transparently.
pub fn open(file: &EvidenceFile) -> io::Result<Box<dyn Read + Send>> {
    open_path(&file.path, file.gzip)
}

fn open_path(path: &Path, gzip: bool) -> io::Result<Box<dyn Read + Send>> {
    let f = File::open(path)?;
    if gzip {
        Ok(Box::new(MultiGzDecoder::new(BufReader::with_capacity(1 << 20, f))))
    } else {
        Ok(Box::new(f))
    }
}

/// Lowercase hex SHA-256 of the file as stored on disk.
pub fn sha256_file(path: &Path) -> io::Result<String> {
    let mut f = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}
