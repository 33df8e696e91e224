//! Domain names as detection sees them: normalised, and cut to their registrable part
//! (`a.b.example.co.uk` → `example.co.uk`) with the Public Suffix List compiled into the `psl`
//! crate, so that prevalence and tunnelling are judged per organisation, not per label.

/// Lower-case, without a trailing dot.
pub fn normalize(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// `name` in ASCII lower case, copied only when it has upper-case letters (names nearly
/// always come lower case already).
pub fn ascii_lower(name: &str) -> std::borrow::Cow<'_, str> {
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        name.to_ascii_lowercase().into()
    } else {
        name.into()
    }
}

/// `host:port` → `host`, `[2001:db8::1]:443` → `2001:db8::1` (an HTTP Host header's name).
pub fn strip_port(h: &str) -> &str {
    if let Some(rest) = h.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match h.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) && !host.contains(':') => host,
        _ => h,
    }
}

/// The registrable domain (eTLD+1) of a name, or the name itself when it has none (a bare
/// suffix, a single label, an address).
pub fn registrable(name: &str) -> String {
    let n = normalize(name);
    if crate::util::net::parse_ip(&n).is_some() {
        return n;
    }
    match psl::domain_str(&n) {
        Some(d) => d.to_string(),
        None => n,
    }
}

/// The labels in front of the registrable domain (`x.y` of `x.y.example.com`), or "".
pub fn subdomain<'a>(name: &'a str, registrable: &str) -> &'a str {
    let name = name.trim_end_matches('.');
    if name.len() > registrable.len() && name[name.len() - registrable.len()..].eq_ignore_ascii_case(registrable) {
        name[..name.len() - registrable.len()].trim_end_matches('.')
    } else {
        ""
    }
}

/// Whether `name` is `pattern` or below it (`*.example.com` and `example.com` both match
/// `example.com` and `a.example.com`).
pub fn matches(name: &str, pattern: &str) -> bool {
    let pattern = pattern.strip_prefix("*.").unwrap_or(pattern);
    let pattern = pattern.strip_suffix('.').unwrap_or(pattern);
    let name = name.strip_suffix('.').unwrap_or(name);
    if pattern.is_empty() || name.len() < pattern.len() {
        return false;
    }
    if name.len() == pattern.len() {
        return name.eq_ignore_ascii_case(pattern);
    }
    name.len() > pattern.len()
        && name.as_bytes()[name.len() - pattern.len() - 1] == b'.'
        && name[name.len() - pattern.len()..].eq_ignore_ascii_case(pattern)
}

/// A fixed list of domains, each matching itself and its subdomains without regard to case (as
/// [`matches`] does), found by looking up a name's parent domains of the lengths the list has
/// rather than by trying every entry: it runs for every name and flow of a capture.
pub struct DomainSet {
    by_name: rustc_hash::FxHashMap<String, &'static str>,
    /// Fewest and most labels of an entry.
    labels: (usize, usize),
}

impl DomainSet {
    pub fn new(domains: &[&'static str]) -> DomainSet {
        let clean = |d: &'static str| d.strip_prefix("*.").unwrap_or(d).trim_end_matches('.');
        let counts = domains.iter().map(|d| clean(d).split('.').count());
        let labels = (counts.clone().min().unwrap_or(1), counts.max().unwrap_or(0));
        let by_name = domains.iter().map(|d| (clean(d).to_ascii_lowercase(), *d)).collect();
        DomainSet { by_name, labels }
    }

    /// The entry `name` is, or is a subdomain of.
    pub fn find(&self, name: &str) -> Option<&'static str> {
        let name = ascii_lower(name.strip_suffix('.').unwrap_or(name));
        let name = name.as_ref();
        // The parent domains of `labels.0` to `labels.1` labels, shortest first.
        let mut start = name.len();
        let mut labels = 0;
        while labels < self.labels.1 {
            start = name[..start].rfind('.').unwrap_or(0);
            labels += 1;
            let suffix = if start == 0 { name } else { &name[start + 1..] };
            if labels >= self.labels.0 {
                if let Some(entry) = self.by_name.get(suffix) {
                    return Some(entry);
                }
            }
            if start == 0 {
                return None;
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_sets_match_names_and_their_subdomains() {
        let set = DomainSet::new(&["example.com", "*.deep.example.org", "a.b"]);
        for (name, want) in [
            ("example.com", Some("example.com")),
            ("WWW.Example.COM.", Some("example.com")),
            ("x.y.example.com", Some("example.com")),
            ("notexample.com", None),
            ("com", None),
            ("", None),
            ("deep.example.org", Some("*.deep.example.org")),
            ("x.deep.example.org", Some("*.deep.example.org")),
            ("example.org", None),
            ("a.b", Some("a.b")),
            ("..a.b", Some("a.b")),
            ("b", None),
        ] {
            assert_eq!(set.find(name), want, "{name}");
            let linear = ["example.com", "*.deep.example.org", "a.b"].into_iter().find(|p| matches(name, p));
            assert_eq!(set.find(name), linear, "{name} as matches() has it");
        }
    }

    #[test]
    fn registrable_parts() {
        assert_eq!(registrable("A.B.Example.COM."), "example.com");
        assert_eq!(registrable("www.bbc.co.uk"), "bbc.co.uk");
        assert_eq!(registrable("x1.oast.fun"), "oast.fun");
        assert_eq!(registrable("bucket.s3.amazonaws.com"), "bucket.s3.amazonaws.com");
        assert_eq!(registrable("localhost"), "localhost");
        assert_eq!(registrable("10.0.0.1"), "10.0.0.1");
    }

    #[test]
    fn subdomains() {
        assert_eq!(subdomain("abc.def.example.com", "example.com"), "abc.def");
        assert_eq!(subdomain("example.com", "example.com"), "");
        assert_eq!(subdomain("other.org", "example.com"), "");
    }

    #[test]
    fn suffix_matching() {
        assert!(matches("example.com", "*.example.com"));
        assert!(matches("a.example.com", "example.com"));
        assert!(matches("A.Example.com.", "example.com"));
        assert!(!matches("badexample.com", "example.com"));
        assert!(!matches("example.com.evil", "example.com"));
        assert!(!matches("x", ""));
    }
}
