//! The analyst's safelist (`--allow FILE`), applied to findings at scoring time: nothing is
//! dropped from the timeline, and changing the list needs no re-reading of evidence.
//!
//! One entry per line; `#` starts a comment. An entry is an address (`203.0.113.7`), a block
//! (`203.0.113.0/24`), a domain (`example.com` or `*.example.com`, both matching the domain and
//! every name below it), or a JA4 fingerprint (`t13d1516h2_8daaf6152771_02713d6af862`). A
//! finding is dropped when its peer address, its peer domain, or any further name it carries
//! (the other domains, JA4s and user agents its detector recorded) is on the list.

use super::domain;
use super::finding::Finding;
use crate::util::net::Cidr;
use std::path::Path;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum AllowError {
    #[error("cannot read allowlist {path}")]
    Read { path: String, source: std::io::Error },
    #[error("{path}:{line}: `{entry}` is not an address, block, domain or JA4")]
    Entry { path: String, line: usize, entry: String },
    #[error("{path}:{line}: `{entry}` is a public suffix: it would allow every domain under it")]
    Suffix { path: String, line: usize, entry: String },
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Allowlist {
    pub blocks: Vec<Cidr>,
    pub domains: Vec<String>,
    pub ja4s: Vec<String>,
}

impl Allowlist {
    pub fn load(path: &Path) -> Result<Allowlist, AllowError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| AllowError::Read { path: shown.clone(), source })?;
        Allowlist::parse(&text, &shown)
    }

    pub fn parse(text: &str, shown: &str) -> Result<Allowlist, AllowError> {
        let mut list = Allowlist::default();
        for (n, line) in text.lines().enumerate() {
            let entry = line.split('#').next().unwrap_or("").trim();
            if entry.is_empty() {
                continue;
            }
            if let Some(c) = Cidr::parse(entry) {
                list.blocks.push(c);
            } else if is_ja4(entry) {
                list.ja4s.push(entry.to_string());
            } else if is_domain(entry) {
                let name = domain::normalize(entry.trim_start_matches("*."));
                // A registry's suffix (ICANN's section of the list: `com`, `co.uk`) would allow
                // a whole registry; a provider's (`cloudfront.net`) and `arpa`'s (`in-addr.arpa`,
                // `home.arpa`) are what analysts allow on purpose.
                let icann = |s: psl::Suffix<'_>| s.is_known() && s.typ() == Some(psl::Type::Icann);
                let whole = psl::suffix(name.as_bytes()).filter(|s| s.as_bytes() == name.as_bytes());
                if whole.is_some_and(icann) && name != "arpa" && !name.ends_with(".arpa") {
                    return Err(AllowError::Suffix { path: shown.into(), line: n + 1, entry: entry.into() });
                }
                list.domains.push(name);
            } else {
                return Err(AllowError::Entry { path: shown.into(), line: n + 1, entry: entry.into() });
            }
        }
        Ok(list)
    }

    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty() && self.domains.is_empty() && self.ja4s.is_empty()
    }

    /// Whether the finding's peer (or any further name it carries) is allowed.
    pub fn covers(&self, f: &Finding) -> bool {
        if f.peer.ip.is_some_and(|ip| self.blocks.iter().any(|c| c.contains(ip))) {
            return true;
        }
        let names = f.peer.domain.iter().chain(&f.keys);
        for name in names {
            if self.ja4s.iter().any(|j| j == name) || self.domains.iter().any(|d| domain::matches(name, d)) {
                return true;
            }
            if let Ok(ip) = name.parse() {
                if self.blocks.iter().any(|c| c.contains(ip)) {
                    return true;
                }
            }
        }
        false
    }
}

/// `t13d1516h2_8daaf6152771_02713d6af862`: protocol, version, SNI flag, counts and ALPN, then
/// two 12-hex-digit hashes.
fn is_ja4(s: &str) -> bool {
    let parts: Vec<&str> = s.split('_').collect();
    parts.len() == 3
        && parts[0].len() == 10
        && matches!(parts[0].as_bytes()[0], b't' | b'q' | b'd')
        && parts[1..].iter().all(|p| p.len() == 12 && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Labels of letters, digits, `-` and `_`; the last one not all digits (`999.1.1.1` is a
/// mistyped address, not a name).
fn is_domain(s: &str) -> bool {
    let s = s.trim_start_matches("*.").trim_end_matches('.');
    let last = s.rsplit('.').next().unwrap_or_default();
    !s.is_empty()
        && !last.bytes().all(|b| b.is_ascii_digit())
        && s.split('.').all(|l| {
            !l.is_empty() && l.len() <= 63 && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::finding::Tactic;

    fn finding(ip: &str, domain: Option<&str>) -> Finding {
        let mut f = Finding::new("beacon", Tactic::CommandAndControl, "T1071", 0.9);
        f.peer.ip = ip.parse().ok();
        f.peer.domain = domain.map(String::from);
        f
    }

    #[test]
    fn entries_of_every_kind() {
        let text = "# benign\n203.0.113.7\n198.51.100.0/24  # cdn\n*.example.com\nwindowsupdate.com\n\
                    t13d1516h2_8daaf6152771_02713d6af862\n";
        let a = Allowlist::parse(text, "allow.txt").unwrap();
        assert_eq!((a.blocks.len(), a.domains.len(), a.ja4s.len()), (2, 2, 1));
        assert!(a.covers(&finding("203.0.113.7", None)));
        assert!(a.covers(&finding("198.51.100.99", None)));
        assert!(!a.covers(&finding("198.51.101.1", None)));
        assert!(a.covers(&finding("1.1.1.1", Some("example.com"))));
        assert!(a.covers(&finding("1.1.1.1", Some("a.b.example.com"))));
        assert!(!a.covers(&finding("1.1.1.1", Some("notexample.com"))));
        let mut f = finding("1.1.1.1", None);
        f.keys.push("t13d1516h2_8daaf6152771_02713d6af862".into());
        assert!(a.covers(&f));
    }

    #[test]
    fn bad_entries_name_the_line() {
        let e = Allowlist::parse("ok.com\nnot an entry\n", "a.txt").unwrap_err().to_string();
        assert_eq!(e, "a.txt:2: `not an entry` is not an address, block, domain or JA4");
        // A mistyped address is not a name; a public suffix would allow whole registries.
        let e = Allowlist::parse("999.1.1.1\n", "a.txt").unwrap_err().to_string();
        assert_eq!(e, "a.txt:1: `999.1.1.1` is not an address, block, domain or JA4");
        for suffix in ["com", "*.co.uk", "net"] {
            let e = Allowlist::parse(suffix, "a.txt").unwrap_err().to_string();
            assert!(e.contains("is a public suffix"), "{e}");
        }
        // Internal names, providers' domains and reverse-lookup zones are what analysts allow.
        let fine = "fileserver\nbucket.s3.amazonaws.com\ngoogleapis.com\ncloudfront.net\nhome.arpa\nin-addr.arpa";
        assert_eq!(Allowlist::parse(fine, "a.txt").map(|l| l.domains.len()).ok(), Some(6));
    }
}
