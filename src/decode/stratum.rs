//! Stratum mining JSON-RPC (Bitcoin-style `mining.*` and Monero-style `login`/`submit`/`job`),
//! newline-delimited JSON over TCP, often in clear.

use serde_json::Value;

/// Longest line parsed; longer lines are not Stratum as seam knows it.
pub const MAX_LINE: usize = 8192;

/// What one client line says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StratumMessage {
    pub method: String,
    pub login: Option<String>,
    pub agent: Option<String>,
}

const METHODS: &[&str] = &[
    "mining.subscribe",
    "mining.authorize",
    "mining.submit",
    "mining.notify",
    "mining.set_difficulty",
    "mining.configure",
    "mining.extranonce.subscribe",
    "login",
    "submit",
    "job",
    "keepalived",
    "getjob",
    "eth_submitLogin",
    "eth_getWork",
    "eth_submitWork",
];

/// Cheap content check: a JSON object whose text names a Stratum method.
pub fn looks_like_stratum(prefix: &[u8]) -> bool {
    let line = first_line(prefix);
    line.first() == Some(&b'{') && parse_line(line).is_some()
}

fn first_line(buf: &[u8]) -> &[u8] {
    let end = buf.iter().position(|&b| b == b'\n').unwrap_or(buf.len());
    &buf[..end.min(MAX_LINE)]
}

/// Parses one JSON-RPC line; `None` when it is not a Stratum call.
pub fn parse_line(line: &[u8]) -> Option<StratumMessage> {
    if line.len() > MAX_LINE {
        return None;
    }
    let v: Value = serde_json::from_slice(line).ok()?;
    let method = v.get("method")?.as_str()?;
    if !METHODS.contains(&method) {
        return None;
    }
    let params = v.get("params");
    let (login, agent) = match params {
        Some(Value::Object(p)) => (
            p.get("login").and_then(Value::as_str).map(str::to_string),
            p.get("agent").and_then(Value::as_str).map(str::to_string),
        ),
        Some(Value::Array(a)) => match method {
            "mining.authorize" | "eth_submitLogin" => (a.first().and_then(Value::as_str).map(str::to_string), None),
            "mining.subscribe" => (None, a.first().and_then(Value::as_str).map(str::to_string)),
            _ => (None, None),
        },
        _ => (None, None),
    };
    Some(StratumMessage { method: method.to_string(), login, agent })
}

/// Parses every complete line of a buffered client stream.
pub fn parse_lines(buf: &[u8]) -> Vec<StratumMessage> {
    buf.split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .filter_map(|l| parse_line(l.strip_suffix(b"\r").unwrap_or(l)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitcoin_style() {
        let s = br#"{"id":1,"method":"mining.subscribe","params":["cgminer/4.10.0"]}
{"id":2,"method":"mining.authorize","params":["wallet.worker","x"]}
"#;
        assert!(looks_like_stratum(s));
        let msgs = parse_lines(s);
        assert_eq!(msgs.len(), 2);
        assert_eq!(msgs[0].agent.as_deref(), Some("cgminer/4.10.0"));
        assert_eq!(msgs[1].login.as_deref(), Some("wallet.worker"));
    }

    #[test]
    fn monero_style() {
        let s = br#"{"id":1,"jsonrpc":"2.0","method":"login","params":{"login":"4AdUnd","pass":"x","agent":"XMRig/6.21.0"}}"#;
        let m = parse_line(s).unwrap();
        assert_eq!(m.method, "login");
        assert_eq!(m.login.as_deref(), Some("4AdUnd"));
        assert_eq!(m.agent.as_deref(), Some("XMRig/6.21.0"));
    }

    #[test]
    fn other_json_is_not_stratum() {
        assert!(!looks_like_stratum(br#"{"method":"getUser","params":[]}"#));
        assert!(!looks_like_stratum(b"{not json"));
        assert!(parse_line(&[b'{'; MAX_LINE + 1]).is_none());
    }
}
