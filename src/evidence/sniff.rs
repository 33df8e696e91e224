//! File identification from the first bytes (after gzip, when compressed).

use serde::Serialize;

/// Bytes read to identify a file.
pub const SNIFF_BYTES: usize = 4096;

/// What a file is, judged by content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EvidenceKind {
    Pcap,
    Pcapng,
    Evtx,
    Auditd,
    Unknown,
}

impl EvidenceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EvidenceKind::Pcap => "pcap",
            EvidenceKind::Pcapng => "pcapng",
            EvidenceKind::Evtx => "evtx",
            EvidenceKind::Auditd => "auditd",
            EvidenceKind::Unknown => "unknown",
        }
    }

    pub fn is_capture(self) -> bool {
        matches!(self, EvidenceKind::Pcap | EvidenceKind::Pcapng)
    }
}

const PCAP_MAGICS: [[u8; 4]; 5] = [
    [0xd4, 0xc3, 0xb2, 0xa1], // µs, little-endian
    [0xa1, 0xb2, 0xc3, 0xd4], // µs, big-endian
    [0x4d, 0x3c, 0xb2, 0xa1], // ns, little-endian
    [0xa1, 0xb2, 0x3c, 0x4d], // ns, big-endian
    [0x34, 0xcd, 0xb2, 0xa1], // Kuznetzov's modified pcap, little-endian
];

/// Identifies a file from its first bytes.
pub fn sniff(head: &[u8]) -> EvidenceKind {
    let magic = head.get(..4);
    if magic.is_some_and(|m| PCAP_MAGICS.iter().any(|p| p == m)) {
        return EvidenceKind::Pcap;
    }
    if magic == Some(&[0x0a, 0x0d, 0x0d, 0x0a])
        && matches!(head.get(8..12), Some([0x4d, 0x3c, 0x2b, 0x1a]) | Some([0x1a, 0x2b, 0x3c, 0x4d]))
    {
        return EvidenceKind::Pcapng;
    }
    if head.starts_with(b"ElfFile\0") {
        return EvidenceKind::Evtx;
    }
    if looks_like_auditd(head) {
        return EvidenceKind::Auditd;
    }
    EvidenceKind::Unknown
}

/// auditd text: one of the first lines is `[node=N ]type=T msg=audit(sec.ms:serial): …`.
/// A log may open with a damaged line or a comment, so up to eight non-blank lines are looked
/// at, not only the first.
fn looks_like_auditd(head: &[u8]) -> bool {
    String::from_utf8_lossy(head).lines().filter(|l| !l.trim().is_empty()).take(8).any(|line| {
        let rest = match line.strip_prefix("node=") {
            Some(r) => r.split_once(' ').map(|(_, r)| r).unwrap_or(""),
            None => line,
        };
        rest.starts_with("type=") && rest.contains(" msg=audit(")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifies_each_kind_by_magic() {
        assert_eq!(sniff(&[0xd4, 0xc3, 0xb2, 0xa1, 2, 0]), EvidenceKind::Pcap);
        assert_eq!(sniff(&[0xa1, 0xb2, 0x3c, 0x4d]), EvidenceKind::Pcap);
        let shb = [0x0a, 0x0d, 0x0d, 0x0a, 0x1c, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a];
        assert_eq!(sniff(&shb), EvidenceKind::Pcapng);
        assert_eq!(sniff(b"ElfFile\0rest"), EvidenceKind::Evtx);
        assert_eq!(
            sniff(b"type=SYSCALL msg=audit(1364481363.243:24287): arch=c000003e syscall=2\n"),
            EvidenceKind::Auditd
        );
        assert_eq!(sniff(b"node=web1 type=EXECVE msg=audit(1.0:1): argc=1 a0=\"ls\"\n"), EvidenceKind::Auditd);
    }

    #[test]
    fn names_and_near_misses_are_unknown() {
        assert_eq!(sniff(b""), EvidenceKind::Unknown);
        assert_eq!(sniff(b"type=SYSCALL but not audit\n"), EvidenceKind::Unknown);
        assert_eq!(sniff(&[0x0a, 0x0d, 0x0d, 0x0a, 0, 0, 0, 0, 1, 2, 3, 4]), EvidenceKind::Unknown);
        assert_eq!(sniff(b"ElfFil"), EvidenceKind::Unknown);
    }
}
