//! SSH identification strings (RFC 4253 §4.2): `SSH-protoversion-softwareversion [comments]`.
//! A server may send other lines first; they are skipped up to [`MAX_BANNER_SEARCH`] bytes.

/// Bytes of a stream searched for the identification line.
pub const MAX_BANNER_SEARCH: usize = 2048;
/// Longest identification line kept (the RFC allows 255 including CR LF).
pub const MAX_BANNER_LEN: usize = 255;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BannerParse {
    Done(String),
    NeedMore,
    NotSsh,
}

/// Cheap content check on the first bytes of a direction.
pub fn looks_like_ssh(prefix: &[u8]) -> bool {
    prefix.starts_with(b"SSH-1.")
        || prefix.starts_with(b"SSH-2.0-")
        || b"SSH-2.0-".starts_with(prefix) && !prefix.is_empty()
}

/// Finds the identification line in the first bytes of a direction.
pub fn parse_banner(prefix: &[u8]) -> BannerParse {
    let window = &prefix[..prefix.len().min(MAX_BANNER_SEARCH)];
    let mut rest = window;
    loop {
        match rest.iter().position(|&b| b == b'\n') {
            Some(eol) => {
                let line = trim_cr(&rest[..eol]);
                if line.starts_with(b"SSH-") {
                    let kept = &line[..line.len().min(MAX_BANNER_LEN)];
                    return BannerParse::Done(String::from_utf8_lossy(kept).into_owned());
                }
                if line.contains(&0) {
                    return BannerParse::NotSsh;
                }
                rest = &rest[eol + 1..];
            }
            None if window.len() >= MAX_BANNER_SEARCH => return BannerParse::NotSsh,
            None => return BannerParse::NeedMore,
        }
    }
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn banner_with_and_without_preamble() {
        assert_eq!(
            parse_banner(b"SSH-2.0-OpenSSH_8.9p1 Ubuntu-3\r\nxx"),
            BannerParse::Done("SSH-2.0-OpenSSH_8.9p1 Ubuntu-3".into())
        );
        assert_eq!(parse_banner(b"hello\r\nSSH-2.0-x\n"), BannerParse::Done("SSH-2.0-x".into()));
        assert_eq!(parse_banner(b"SSH-2.0-Open"), BannerParse::NeedMore);
        assert_eq!(parse_banner(b"\x00\x01\n"), BannerParse::NotSsh);
        assert_eq!(parse_banner(&[b'a'; 4000]), BannerParse::NotSsh);
    }

    #[test]
    fn detection() {
        assert!(looks_like_ssh(b"SSH-2.0-Go"));
        assert!(looks_like_ssh(b"SSH-1.99-x"));
        assert!(!looks_like_ssh(b"GET / HTTP/1.1"));
        assert!(!looks_like_ssh(b""));
    }
}
