//! Identify the type of a message body from its first bytes ("magic" sniffing).
//!
//! Role: label carved HTTP bodies (and any other payload) with a coarse
//! [`FileKind`] so reports can flag executables, archives and scripts moving
//! over the wire without storing the bodies themselves.
//!
//! Input: the leading bytes of a decoded body, as attacker-controlled
//! evidence. Only the first [`SNIFF_LEN`] bytes are examined; anything beyond
//! is ignored so the answer never depends on how much a caller happened to
//! keep.
//!
//! Output: `Some(kind)` for a recognised signature, `Some(FileKind::Text)` for
//! a fully printable ASCII/UTF-8 prefix that matched nothing more specific,
//! `None` for empty input or unidentified binary data.
//!
//! Limits: signatures are fixed byte strings at offset 0, except the textual
//! markers (scripts, HTML), which may follow a UTF-8 BOM and ASCII whitespace
//! and are matched case-insensitively. A long textual marker pushed past the
//! end of the window by leading whitespace still counts when at least
//! [`MIN_PARTIAL_MARKER`] of its bytes are visible and the window is full.
//!
//! Invariants: pure and total: no I/O, no allocation, no panics for any input.

#![forbid(unsafe_code)]
#![deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fmt;

/// Coarse type of a body, as far as its first bytes tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FileKind {
    Elf,
    Pe,
    MachO,
    Zip,
    Gzip,
    Script,
    Pdf,
    Html,
    JavaClass,
    Bzip2,
    Xz,
    SevenZip,
    Rar,
    Png,
    Jpeg,
    Gif,
    Text,
}

impl FileKind {
    /// Every kind, in declaration order (for tables and exhaustive tests).
    pub const ALL: [FileKind; 17] = [
        FileKind::Elf,
        FileKind::Pe,
        FileKind::MachO,
        FileKind::Zip,
        FileKind::Gzip,
        FileKind::Script,
        FileKind::Pdf,
        FileKind::Html,
        FileKind::JavaClass,
        FileKind::Bzip2,
        FileKind::Xz,
        FileKind::SevenZip,
        FileKind::Rar,
        FileKind::Png,
        FileKind::Jpeg,
        FileKind::Gif,
        FileKind::Text,
    ];

    /// Stable lower-case name used in reports and machine-readable output.
    pub fn as_str(self) -> &'static str {
        match self {
            FileKind::Elf => "elf",
            FileKind::Pe => "pe",
            FileKind::MachO => "macho",
            FileKind::Zip => "zip",
            FileKind::Gzip => "gzip",
            FileKind::Script => "script",
            FileKind::Pdf => "pdf",
            FileKind::Html => "html",
            FileKind::JavaClass => "java-class",
            FileKind::Bzip2 => "bzip2",
            FileKind::Xz => "xz",
            FileKind::SevenZip => "7z",
            FileKind::Rar => "rar",
            FileKind::Png => "png",
            FileKind::Jpeg => "jpeg",
            FileKind::Gif => "gif",
            FileKind::Text => "text",
        }
    }

    /// Kinds that run code when opened or launched: what an investigator
    /// wants surfaced first in a transfer listing.
    pub fn is_executable(self) -> bool {
        matches!(self, FileKind::Elf | FileKind::Pe | FileKind::MachO | FileKind::Script | FileKind::JavaClass)
    }
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Bytes of a body kept for identification. Every signature below fits.
pub const SNIFF_LEN: usize = 16;

/// Shortest visible part of a long textual marker that still counts when the
/// window cuts it. 11 bytes keeps `<!doctype h` distinct from other doctypes.
pub const MIN_PARTIAL_MARKER: usize = 11;

/// A Mach-O universal binary lists fewer architectures than this; a Java
/// class file has its version where the count would be, and Java majors start
/// at 45, so the two readings of `CA FE BA BE` do not overlap.
const MAX_FAT_ARCHS: u32 = 30;

/// First class-file major version (JDK 1.0.2).
const MIN_JAVA_MAJOR: u16 = 45;

/// `CA FE BA BE`: shared by Mach-O fat binaries and Java class files.
const CAFEBABE: &[u8] = b"\xca\xfe\xba\xbe";

/// Fixed signatures at offset 0. Longer, more specific ones come first where
/// two could overlap; `MZ` is short, so it is checked after the rest.
const MAGICS: &[(&[u8], FileKind)] = &[
    (b"\x7fELF", FileKind::Elf),
    (b"\xfe\xed\xfa\xce", FileKind::MachO),
    (b"\xfe\xed\xfa\xcf", FileKind::MachO),
    (b"\xce\xfa\xed\xfe", FileKind::MachO),
    (b"\xcf\xfa\xed\xfe", FileKind::MachO),
    // 64-bit fat header: unlike CA FE BA BE it has no Java reading.
    (b"\xca\xfe\xba\xbf", FileKind::MachO),
    (b"PK\x03\x04", FileKind::Zip),
    (b"PK\x05\x06", FileKind::Zip),
    (b"PK\x07\x08", FileKind::Zip),
    // Method byte 08 (deflate) is the only one ever used; it makes the
    // two-byte magic far less likely to hit by chance.
    (b"\x1f\x8b\x08", FileKind::Gzip),
    (b"%PDF-", FileKind::Pdf),
    (b"\xfd7zXZ\x00", FileKind::Xz),
    (b"7z\xbc\xaf\x27\x1c", FileKind::SevenZip),
    (b"Rar!\x1a\x07", FileKind::Rar),
    (b"\x89PNG\r\n\x1a\n", FileKind::Png),
    (b"\xff\xd8\xff", FileKind::Jpeg),
    (b"GIF87a", FileKind::Gif),
    (b"GIF89a", FileKind::Gif),
    (b"MZ", FileKind::Pe),
    // A shebang is only meaningful at the very first byte.
    (b"#!", FileKind::Script),
];

/// Bzip2 stream header `BZh` + block size digit.
const BZIP2_HEADER: &[u8] = b"BZh";
/// What follows the bzip2 header: a block (pi) or end of stream (sqrt pi).
const BZIP2_BLOCK: &[u8] = b"\x31\x41\x59\x26\x53\x59";
const BZIP2_EOS: &[u8] = b"\x17\x72\x45\x38\x50\x90";

/// UTF-8 byte order mark, which editors put before scripts and HTML.
const UTF8_BOM: &[u8] = b"\xef\xbb\xbf";

/// Lower-case markers that start an interpreted script.
const SCRIPT_MARKERS: &[&[u8]] = &[b"<?php", b"@echo off", b"powershell", b"$erroractionpreference"];

/// Lower-case doctype marker of an HTML document.
const HTML_DOCTYPE: &[u8] = b"<!doctype html";
/// Lower-case root element; must be followed by a delimiter (see
/// [`html_root`]) so `<htmlfoo>` is not taken for HTML.
const HTML_ROOT: &[u8] = b"<html";

/// Identify `prefix` (the first bytes of a body). See the module docs.
pub fn sniff(prefix: &[u8]) -> Option<FileKind> {
    let window = prefix.get(..SNIFF_LEN).unwrap_or(prefix);
    if window.is_empty() {
        return None;
    }
    fixed_magic(window)
        .or_else(|| cafebabe(window))
        .or_else(|| bzip2(window))
        .or_else(|| textual_marker(window))
        .or_else(|| printable_text(window))
}

fn fixed_magic(window: &[u8]) -> Option<FileKind> {
    MAGICS.iter().find(|(magic, _)| window.starts_with(magic)).map(|&(_, kind)| kind)
}

/// Resolve `CA FE BA BE` by the big-endian u32 that follows: a small
/// architecture count means Mach-O fat, `minor:u16 major:u16` with a
/// plausible major means Java. Fewer than 8 bytes cannot be told apart.
fn cafebabe(window: &[u8]) -> Option<FileKind> {
    let rest = window.strip_prefix(CAFEBABE)?;
    let next: [u8; 4] = rest.get(..4)?.try_into().ok()?;
    if (1..MAX_FAT_ARCHS).contains(&u32::from_be_bytes(next)) {
        return Some(FileKind::MachO);
    }
    let [_, _, major_hi, major_lo] = next;
    (u16::from_be_bytes([major_hi, major_lo]) >= MIN_JAVA_MAJOR).then_some(FileKind::JavaClass)
}

/// `BZh1`..`BZh9`; when the window is long enough the block or end-of-stream
/// magic must follow too, because `BZh9` alone is plausible text.
fn bzip2(window: &[u8]) -> Option<FileKind> {
    let rest = window.strip_prefix(BZIP2_HEADER)?;
    let (&level, after) = rest.split_first()?;
    if !(b'1'..=b'9').contains(&level) {
        return None;
    }
    let confirmed = match after.get(..BZIP2_BLOCK.len()) {
        Some(magic) => magic == BZIP2_BLOCK || magic == BZIP2_EOS,
        None => true,
    };
    confirmed.then_some(FileKind::Bzip2)
}

/// Script and HTML markers after an optional BOM and ASCII whitespace.
fn textual_marker(window: &[u8]) -> Option<FileKind> {
    let full = window.len() >= SNIFF_LEN;
    let rest = skip_bom_and_space(window);
    if rest.is_empty() {
        return None;
    }
    if marker_at(rest, HTML_DOCTYPE, full) || html_root(rest) {
        return Some(FileKind::Html);
    }
    SCRIPT_MARKERS.iter().any(|marker| marker_at(rest, marker, full)).then_some(FileKind::Script)
}

fn skip_bom_and_space(window: &[u8]) -> &[u8] {
    let rest = window.strip_prefix(UTF8_BOM).unwrap_or(window);
    let skip = rest.iter().take_while(|b| b.is_ascii_whitespace()).count();
    rest.get(skip..).unwrap_or_default()
}

/// Case-insensitive `marker` at the start of `rest`. When the window is full
/// and ends inside the marker, a visible part of at least
/// [`MIN_PARTIAL_MARKER`] bytes is enough: the rest was simply not kept.
fn marker_at(rest: &[u8], marker: &[u8], window_full: bool) -> bool {
    match rest.get(..marker.len()) {
        Some(head) => head.eq_ignore_ascii_case(marker),
        None => {
            window_full
                && rest.len() >= MIN_PARTIAL_MARKER
                && marker.get(..rest.len()).is_some_and(|part| part.eq_ignore_ascii_case(rest))
        }
    }
}

/// `<html` followed by whitespace, `>` or the end of the window.
fn html_root(rest: &[u8]) -> bool {
    let Some(head) = rest.get(..HTML_ROOT.len()) else {
        return false;
    };
    head.eq_ignore_ascii_case(HTML_ROOT)
        && rest.get(HTML_ROOT.len()).is_none_or(|&b| b == b'>' || b.is_ascii_whitespace())
}

/// Text: valid UTF-8 without control characters other than common layout
/// ones. A multi-byte character cut by the end of a full window is allowed,
/// since the window, not the body, ended there.
fn printable_text(window: &[u8]) -> Option<FileKind> {
    let text = match std::str::from_utf8(window) {
        Ok(text) => text,
        Err(err) if err.error_len().is_none() && window.len() >= SNIFF_LEN => {
            let valid = window.get(..err.valid_up_to()).unwrap_or_default();
            std::str::from_utf8(valid).ok()?
        }
        Err(_) => return None,
    };
    let printable =
        !text.is_empty() && text.chars().all(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r' | '\x0c'));
    printable.then_some(FileKind::Text)
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_recognised() {
        let cases: &[(&[u8], FileKind)] = &[
            (b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00", FileKind::Elf),
            (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff", FileKind::Pe),
            (b"\xcf\xfa\xed\xfe\x07\x00\x00\x01", FileKind::MachO),
            (b"\xfe\xed\xfa\xce\x00\x00\x00\x12", FileKind::MachO),
            (b"\xfe\xed\xfa\xcf", FileKind::MachO),
            (b"\xce\xfa\xed\xfe", FileKind::MachO),
            (b"\xca\xfe\xba\xbf\x00\x00\x00\x02", FileKind::MachO),
            (b"PK\x03\x04\x14\x00\x06\x00", FileKind::Zip),
            (b"PK\x05\x06\x00\x00", FileKind::Zip),
            (b"\x1f\x8b\x08\x00\x00\x00\x00\x00", FileKind::Gzip),
            (b"#!/bin/sh\nwget x", FileKind::Script),
            (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3", FileKind::Pdf),
            (b"<!DOCTYPE html>\n", FileKind::Html),
            (b"\xca\xfe\xba\xbe\x00\x00\x00\x34", FileKind::JavaClass),
            (b"BZh91AY&SY\x12\x34", FileKind::Bzip2),
            (b"\xfd7zXZ\x00\x00\x04", FileKind::Xz),
            (b"7z\xbc\xaf\x27\x1c\x00\x04", FileKind::SevenZip),
            (b"Rar!\x1a\x07\x01\x00", FileKind::Rar),
            (b"Rar!\x1a\x07\x00", FileKind::Rar),
            (b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR", FileKind::Png),
            (b"\xff\xd8\xff\xe0\x00\x10JFIF", FileKind::Jpeg),
            (b"GIF89a\x01\x00\x01\x00", FileKind::Gif),
            (b"GIF87a", FileKind::Gif),
            (b"hello, world\n", FileKind::Text),
        ];
        for (bytes, kind) in cases {
            assert_eq!(sniff(bytes), Some(*kind), "{bytes:x?}");
        }
        for kind in FileKind::ALL {
            assert!(cases.iter().any(|(_, k)| *k == kind), "no case for {kind}");
        }
    }

    #[test]
    fn cafebabe_is_fat_macho_or_java_by_next_word() {
        // Fat binary with 2 architectures (x86_64 + arm64).
        assert_eq!(sniff(b"\xca\xfe\xba\xbe\x00\x00\x00\x02"), Some(FileKind::MachO));
        assert_eq!(sniff(b"\xca\xfe\xba\xbe\x00\x00\x00\x1d"), Some(FileKind::MachO));
        // Java 8 (major 52), Java 1.1 (minor 3, major 45), Java 21 (65).
        assert_eq!(sniff(b"\xca\xfe\xba\xbe\x00\x00\x00\x34"), Some(FileKind::JavaClass));
        assert_eq!(sniff(b"\xca\xfe\xba\xbe\x00\x03\x00\x2d"), Some(FileKind::JavaClass));
        assert_eq!(sniff(b"\xca\xfe\xba\xbe\xff\xff\x00\x41"), Some(FileKind::JavaClass));
        // Neither: zero archs and too-old major, or too short to decide.
        assert_eq!(sniff(b"\xca\xfe\xba\xbe\x00\x00\x00\x00"), None);
        assert_eq!(sniff(b"\xca\xfe\xba\xbe\x00\x00\x00\x20"), None);
        assert_eq!(sniff(b"\xca\xfe\xba\xbe\x00\x00"), None);
        assert_eq!(sniff(b"\xca\xfe\xba\xbe"), None);
    }

    #[test]
    fn scripts_after_bom_and_whitespace_any_case() {
        for s in [
            &b"<?php system($_GET['c']);"[..],
            b"  \r\n<?PHP echo 1;",
            b"\xef\xbb\xbf@ECHO OFF\r\n",
            b"@echo off",
            b"PowerShell -nop -w hidden",
            b"\n\tpowershell.exe",
            // Cut by the 16-byte window: 16 of 22 marker bytes visible.
            b"$ErrorActionPreference = 'Stop'",
            // Whitespace leaves 12 visible bytes: still enough.
            b"    $ErrorActionPreference",
        ] {
            assert_eq!(sniff(s), Some(FileKind::Script), "{}", String::from_utf8_lossy(s));
        }
        // Shebang only counts at offset 0; too little of a long marker
        // visible falls back to text.
        assert_eq!(sniff(b" #!/bin/sh"), Some(FileKind::Text));
        assert_eq!(sniff(b"      $ErrorActionPref"), Some(FileKind::Text));
        // A short body that *is* a marker prefix is not a cut marker.
        assert_eq!(sniff(b"$ErrorActionPr"), Some(FileKind::Text));
    }

    #[test]
    fn html_markers() {
        assert_eq!(sniff(b"<!doctype HTML>"), Some(FileKind::Html));
        assert_eq!(sniff(b"\r\n<html lang=en>"), Some(FileKind::Html));
        assert_eq!(sniff(b"<HTML>"), Some(FileKind::Html));
        assert_eq!(sniff(b"<html"), Some(FileKind::Html));
        assert_eq!(sniff(b"\xef\xbb\xbf<html>"), Some(FileKind::Html));
        // Doctype pushed past the window by whitespace, 11+ bytes visible.
        assert_eq!(sniff(b"\r\n\r\n<!DOCTYPE html>"), Some(FileKind::Html));
        assert_eq!(sniff(b"<htmlfoo>"), Some(FileKind::Text));
        assert_eq!(sniff(b"<!DOCTYPE svg>"), Some(FileKind::Text));
        assert_eq!(sniff(b"<head><title>"), Some(FileKind::Text));
    }

    #[test]
    fn text_and_unidentified() {
        assert_eq!(sniff(b""), None);
        assert_eq!(sniff(b"\x00\x01\x02\x03"), None);
        assert_eq!(sniff(b"abc\x00def"), None);
        assert_eq!(sniff(b"\x1b[31mred"), None);
        assert_eq!(sniff(b"\xff\xfe\x00\x00"), None);
        assert_eq!(sniff(b"{\"a\": 1}\r\n"), Some(FileKind::Text));
        assert_eq!(sniff("héllo wörld".as_bytes()), Some(FileKind::Text));
        assert_eq!(sniff(b"   \r\n"), Some(FileKind::Text));
        // "é" (C3 A9) cut after its first byte by a full window: still text.
        assert_eq!(sniff(b"abcdefghijklmno\xc3\xa9"), Some(FileKind::Text));
        // The same truncation in a short body is invalid UTF-8.
        assert_eq!(sniff(b"abc\xc3"), None);
        // Bytes past the window do not matter.
        assert_eq!(sniff(b"0123456789abcdef\x00\x00"), Some(FileKind::Text));
    }

    #[test]
    fn near_misses() {
        assert_eq!(sniff(b"BZh0"), Some(FileKind::Text));
        assert_eq!(sniff(b"BZh9"), Some(FileKind::Bzip2));
        assert_eq!(sniff(b"BZh9abcdefgh"), Some(FileKind::Text));
        assert_eq!(sniff(b"BZh9\x17\x72\x45\x38\x50\x90"), Some(FileKind::Bzip2));
        assert_eq!(sniff(b"\x1f\x8b\x00"), None);
        assert_eq!(sniff(b"PK\x01\x02"), None);
        assert_eq!(sniff(b"\x7fEL"), None);
    }

    #[test]
    fn names_are_unique_and_executables_flagged() {
        let mut names: Vec<_> = FileKind::ALL.iter().map(|k| k.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), FileKind::ALL.len());
        assert_eq!(FileKind::JavaClass.to_string(), "java-class");
        let exec: Vec<_> = FileKind::ALL.into_iter().filter(|k| k.is_executable()).collect();
        assert_eq!(exec, [FileKind::Elf, FileKind::Pe, FileKind::MachO, FileKind::Script, FileKind::JavaClass]);
    }

    #[test]
    fn only_the_window_matters_and_random_input_is_safe() {
        // xorshift64: deterministic, dependency-free noise. Half of the
        // inputs start with a real signature so the deeper checks run too.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..20_000 {
            let mut buf = Vec::new();
            if next() % 2 == 0 {
                let (magic, _) = MAGICS[usize::try_from(next() % 20).unwrap() % MAGICS.len()];
                buf.extend_from_slice(magic);
            }
            let extra = usize::try_from(next() % 24).unwrap();
            buf.extend((0..extra).map(|_| next().to_le_bytes()[0]));
            let short = &buf[..buf.len().min(SNIFF_LEN)];
            assert_eq!(sniff(&buf), sniff(short), "{buf:x?}");
        }
    }
}
