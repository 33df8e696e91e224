//! Escaping of attacker-controlled text before it reaches a terminal or a text format.
//!
//! Evidence strings (DNS names, URIs, user agents, command lines) may carry ANSI escape sequences
//! or control characters meant to rewrite an analyst's screen. Everything printed by the table
//! renderer goes through [`terminal_safe`]; JSON is escaped by serde and is always valid UTF-8
//! because decoders store text lossily.

use std::borrow::Cow;

/// Replaces control characters (C0, DEL, C1) with visible `\xNN` / `\u{NNNN}` escapes.
pub fn terminal_safe(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_unsafe(c) {
            let n = c as u32;
            if n <= 0xff {
                out.push_str(&format!("\\x{n:02x}"));
            } else {
                out.push_str(&format!("\\u{{{n:04x}}}"));
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
                | '\u{061c}'
                | '\u{feff}'
        )
}

/// Text from bytes that should be text: valid UTF-8 is kept, anything else is `\xNN`-escaped
/// byte by byte so that no information is lost and the result is valid UTF-8.
pub fn bytes_to_text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => {
            let mut out = String::with_capacity(bytes.len() + 8);
            let mut rest = bytes;
            while !rest.is_empty() {
                match std::str::from_utf8(rest) {
                    Ok(s) => {
                        out.push_str(s);
                        break;
                    }
                    Err(e) => {
                        let (good, bad) = rest.split_at(e.valid_up_to());
                        out.push_str(std::str::from_utf8(good).unwrap_or_default());
                        let n = e.error_len().unwrap_or(bad.len()).max(1).min(bad.len());
                        for b in &bad[..n] {
                            out.push_str(&format!("\\x{b:02x}"));
                        }
                        rest = &bad[n..];
                    }
                }
            }
            out
        }
    }
}

/// Appends `s` as a JSON string, exactly as serde_json writes it. Most evidence text needs no
/// escaping: it is then copied in one go after [`needs_escape`], instead of byte by byte
/// through serde_json's escape table.
pub fn write_json_str(s: &str, out: &mut Vec<u8>) {
    if !needs_escape(s.as_bytes()) {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        write_escaped(s.as_bytes(), out);
    }
}

/// Whether any byte of `s` is one JSON escapes (a control, `"` or `\\`). Tested eight bytes at
/// a time as one word (see [`escape_lanes`]), the last word overlapping the one before, and
/// with no early exit: most values are a few bytes long, and a branch per word costs more than
/// it saves. Shorter than eight bytes, two overlapping four-byte words; shorter than four,
/// byte by byte.
fn needs_escape(s: &[u8]) -> bool {
    let word = |i: usize| s.get(i..i + 8).and_then(|w| <[u8; 8]>::try_from(w).ok()).map_or(0, u64::from_le_bytes);
    let half = |i: usize| s.get(i..i + 4).and_then(|w| <[u8; 4]>::try_from(w).ok()).map_or(0, u32::from_le_bytes);
    let n = s.len();
    if n >= 8 {
        let mut hits = escape_lanes(word(n - 8));
        let mut i = 0;
        while i + 8 <= n {
            hits |= escape_lanes(word(i));
            i += 8;
        }
        hits != 0
    } else if n >= 4 {
        escape_lanes(u64::from(half(0)) | u64::from(half(n - 4)) << 32) != 0
    } else {
        s.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\')
    }
}

/// The top bit of each byte lane of `x` that is below 0x20 or a quote or backslash (lanes above
/// a true one may be set too, by a borrow; none is set when no lane is true).
fn escape_lanes(x: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const TOPS: u64 = 0x8080_8080_8080_8080;
    let zero_lanes = |x: u64| x.wrapping_sub(ONES) & !x;
    (x.wrapping_sub(ONES * 0x20) & !x | zero_lanes(x ^ (ONES * 0x22)) | zero_lanes(x ^ (ONES * 0x5c))) & TOPS
}

/// The escaping half of [`write_json_str`], serde_json's rules written straight into the
/// buffer: Windows paths and command lines, full of backslashes, come this way by the million.
/// The bytes between two that need escaping are found eight at a time and copied in one go.
fn write_escaped(s: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(s.len() + 8);
    out.push(b'"');
    let mut clean = 0;
    let mut i = next_to_escape(s, 0);
    while let Some(&b) = s.get(i) {
        let short: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            _ => &[b'\\', b'u', b'0', b'0', HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xf)]],
        };
        out.extend_from_slice(s.get(clean..i).unwrap_or_default());
        out.extend_from_slice(short);
        clean = i + 1;
        i = next_to_escape(s, clean);
    }
    out.extend_from_slice(s.get(clean..).unwrap_or_default());
    out.push(b'"');
}

/// Where the first byte at or after `from` that JSON escapes (a control, `"` or `\\`) is, or
/// the length of `s`. Eight bytes are tested at once as one word: a byte lane's top bit is set
/// where the lane is below 0x20 or equal to a quote or backslash. A borrow can set lanes above
/// a true one, never below it, so the lowest set lane is exact.
fn next_to_escape(s: &[u8], from: usize) -> usize {
    let mut i = from;
    while let Some(word) = s.get(i..i + 8).and_then(|w| <[u8; 8]>::try_from(w).ok()) {
        let hits = escape_lanes(u64::from_le_bytes(word));
        if hits != 0 {
            return i + (hits.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    let rest = s.get(i..).unwrap_or_default();
    i + rest.iter().position(|&b| b < 0x20 || b == b'"' || b == b'\\').unwrap_or(rest.len())
}

/// JSON text bound for a terminal: characters that could drive or reorder it (C1 controls,
/// bidirectional and invisible formatting marks; C0 controls are already escaped by JSON) are
/// written as `\uXXXX` escapes, which a JSON reader turns back into the same characters.
pub fn json_for_terminal(json: &[u8]) -> Cow<'_, [u8]> {
    let Ok(text) = std::str::from_utf8(json) else { return Cow::Borrowed(json) };
    let unsafe_char = |c: char| c != '\n' && c != '\t' && is_unsafe(c);
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if unsafe_char(c) {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_on_a_terminal_escapes_what_could_drive_it() {
        let json = serde_json::to_vec(&serde_json::json!({"q": "a\u{202e}b\u{85}c\u{1b}d é"})).unwrap_or_default();
        let safe = json_for_terminal(&json);
        assert_eq!(String::from_utf8_lossy(&safe), r#"{"q":"a\u202eb\u0085c\u001bd é"}"#);
        let back: serde_json::Value = serde_json::from_slice(&safe).unwrap_or_default();
        assert_eq!(back["q"], "a\u{202e}b\u{85}c\u{1b}d é");
        assert!(matches!(json_for_terminal(b"{\"plain\":1}\n"), Cow::Borrowed(_)));
    }

    #[test]
    fn json_strings_match_serde_json() {
        let every_byte: String = (0u8..=0x7f).map(char::from).collect();
        let path = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe -nop -w hidden \"iex\"";
        let long_clean = "x".repeat(100);
        let mixed = format!("{long_clean}\u{0}é{path}{every_byte}€\\");
        for s in ["", "plain", "é €", "q\"uote", "back\\slash", "tab\tnl\n", "\u{1}\u{1f}\u{7f}", "a/b"]
            .into_iter()
            .chain([every_byte.as_str(), path, long_clean.as_str(), mixed.as_str()])
        {
            let mut ours = Vec::new();
            write_json_str(s, &mut ours);
            assert_eq!(ours, serde_json::to_vec(s).unwrap_or_default(), "{s:?}");
        }
    }

    /// Every byte value in every lane of the eight-byte scan, and escapes side by side.
    #[test]
    fn json_escapes_match_serde_json_in_every_lane() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let specials = [0u8, 0x1f, b'"', b'\\', b'\n', 0x20, 0x21, 0x5b, 0x5d, 0x7f, b'a'];
        for _ in 0..20_000 {
            let len = (next() % 40) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    let r = next();
                    if r % 3 == 0 {
                        specials[(r >> 8) as usize % specials.len()]
                    } else {
                        (r >> 16) as u8 & 0x7f
                    }
                })
                .collect();
            let text = String::from_utf8(bytes).unwrap_or_default();
            let mut ours = Vec::new();
            write_json_str(&text, &mut ours);
            assert_eq!(ours, serde_json::to_vec(&text).unwrap_or_default(), "{text:?}");
        }
        // Every ASCII byte at every place of every short length (the word tests' edges), among
        // clean ASCII or among multi-byte characters.
        for len in 1..=24 {
            for at in 0..len {
                for b in 0u8..0x80 {
                    for filler in ["x", "é"] {
                        let mut text: String = std::iter::repeat_n(filler, len).collect();
                        let start = text.char_indices().nth(at).map_or(0, |(i, _)| i);
                        text.replace_range(start..start + filler.len(), char::from(b).encode_utf8(&mut [0; 4]));
                        let mut ours = Vec::new();
                        write_json_str(&text, &mut ours);
                        assert_eq!(ours, serde_json::to_vec(&text).unwrap_or_default(), "{b:#x} at {at} of {len}");
                    }
                }
            }
        }
        for b in 0u8..0x80 {
            for at in 0..17 {
                let mut text = "x".repeat(17);
                text.replace_range(at..at + 1, char::from(b).encode_utf8(&mut [0; 4]));
                let mut ours = Vec::new();
                write_json_str(&text, &mut ours);
                assert_eq!(ours, serde_json::to_vec(&text).unwrap_or_default(), "{b:#x} at {at}");
            }
        }
    }

    #[test]
    fn ansi_escape_is_neutralised() {
        let hostile = "evil\u{1b}[2J\u{1b}]0;pwned\u{7}.com";
        assert_eq!(terminal_safe(hostile), "evil\\x1b[2J\\x1b]0;pwned\\x07.com");
    }

    #[test]
    fn plain_text_is_borrowed() {
        assert!(matches!(terminal_safe("example.com"), Cow::Borrowed(_)));
    }

    #[test]
    fn bidi_override_is_escaped() {
        assert_eq!(terminal_safe("a\u{202e}b"), "a\\u{202e}b");
        // Line and paragraph separators, the Arabic letter mark and a byte-order mark too.
        assert_eq!(terminal_safe("a\u{2028}\u{2029}\u{61c}\u{feff}b"), "a\\u{2028}\\u{2029}\\u{061c}\\u{feff}b");
    }

    #[test]
    fn invalid_utf8_is_marked_not_dropped() {
        assert_eq!(bytes_to_text(b"ab\xffc\xc3"), "ab\\xffc\\xc3");
        assert_eq!(bytes_to_text("é".as_bytes()), "é");
    }
}
