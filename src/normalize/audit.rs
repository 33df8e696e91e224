//! Linux audit mapper: an assembled audit event (the records sharing one
//! `audit(sec.msec:serial)`) → one [`Event`].
//!
//! SYSCALL events map on the syscall (named from the enriched `SYSCALL=` field, else from the
//! architecture's number table below): execve/execveat are process starts with their argv from
//! EXECVE; connect/accept/accept4/bind/sendto carry the socket address from SOCKADDR; ptrace,
//! kill and module loads are typed too. User-space records (PAM logins, account changes,
//! services, audit configuration and the daemon's own start and end, anomalies) map on the
//! record type. Everything else becomes a `generic` event; every field of every record is kept
//! under `RECORD.key` (a second record of a type is `RECORD[1].key`).

use crate::decode::auditd::{AuditEvent, AuditLine, SockAddr};
use crate::model::{
    EndpointFields, Event, EventKind, Fields, HostRef, Locator, LogSource, Pairs, ProcessRef, Provenance,
};
use crate::util::net::endpoint_text;
use std::net::IpAddr;

/// Records that only accompany a SYSCALL record.
const AUXILIARY: &[&str] =
    &["SYSCALL", "EXECVE", "CWD", "PATH", "PROCTITLE", "SOCKADDR", "OBJ_PID", "EOE", "BPRM_FCAPS", "MMAP", "FD_PAIR"];

/// `errno` of a non-blocking connect still in progress.
const EINPROGRESS: &str = "-115";

/// Maps one assembled event; `host` names the machine when the records carry no `node=`.
pub fn map_event(ev: &AuditEvent, file: u32, host: Option<&str>) -> Event {
    let first = ev.records.iter().find(|r| r.record_type != "EOE");
    let record_type = first.map_or("EOE", |r| r.record_type.as_str());
    let syscall = ev.record("SYSCALL");
    let mut process = syscall.map(process_of).unwrap_or_default();
    let (kind, mut fields) = match syscall {
        Some(sc) => {
            let name = syscall_name(sc);
            let mut f = EndpointFields::new(LogSource::Auditd, "syscall", format!("SYSCALL:{name}"));
            let mut kind = map_syscall(&name, sc, ev, &mut process, &mut f);
            // A syscall seam does not model can carry a record that says more (the kernel's
            // LOGIN record on a write to loginuid, an anomaly): map on that record instead.
            if kind == EventKind::Generic {
                if let Some(r) = ev.records.iter().find(|r| !AUXILIARY.contains(&r.record_type.as_str())) {
                    let mut p = process.clone();
                    let mut g = EndpointFields::new(LogSource::Auditd, "event", r.record_type.clone());
                    let k = map_user_record(r, &mut p, &mut g);
                    if k != EventKind::Generic {
                        g.outcome = g.outcome.or(f.outcome);
                        (kind, f) = (k, g);
                        process = ProcessRef { pid: process.pid.or(p.pid), ..process };
                    }
                }
            }
            (kind, f)
        }
        None => {
            let mut f = EndpointFields::new(LogSource::Auditd, "event", record_type.to_string());
            let kind = first.map_or(EventKind::Generic, |r| map_user_record(r, &mut process, &mut f));
            (kind, f)
        }
    };
    if process.command_line.is_none() && syscall.is_some() {
        // A process may rewrite its title (`postgres: walsender`): join it as written.
        let argv = ev.proctitle_args();
        process.command_line = (!argv.is_empty()).then(|| argv.join(" "));
    }
    fields.data = flatten(ev);
    let node = ev.node.as_deref().or(host);
    Event {
        ts: ev.ts_ns,
        kind,
        host: node.map(|n| HostRef { name: Some(n.to_string()), ip: None }),
        net: None,
        process: (!process.is_empty()).then(|| Box::new(process)),
        provenance: Provenance { file, locator: Locator::Line(ev.first_line) },
        fields: Fields::Endpoint(Box::new(fields)),
    }
}

/// The record's value, with audit's "unset" markers (`?`, `(none)`, `4294967295`) as absent.
fn value<'a>(r: &'a AuditLine, key: &str) -> Option<&'a str> {
    r.field(key).filter(|v| !v.is_empty() && *v != "?" && *v != "(none)" && *v != "4294967295")
}

fn owned(r: &AuditLine, key: &str) -> Option<String> {
    value(r, key).map(str::to_string)
}

/// An enriched (`ausearch -i` style) value; `unset` (the id 4294967295) and `?` are absent, as
/// their raw forms are.
fn interpreted(r: &AuditLine, key: &str) -> Option<String> {
    r.interpreted_field(key).filter(|v| !v.is_empty() && *v != "unset" && *v != "?").map(str::to_string)
}

/// The acting process of a SYSCALL record.
fn process_of(sc: &AuditLine) -> ProcessRef {
    let user = interpreted(sc, "UID").or_else(|| owned(sc, "uid").map(|u| format!("uid {u}")));
    ProcessRef {
        pid: value(sc, "pid").and_then(|p| p.parse().ok()),
        executable: owned(sc, "exe"),
        user,
        parent_pid: value(sc, "ppid").and_then(|p| p.parse().ok()),
        ..ProcessRef::default()
    }
}

fn outcome(sc: &AuditLine) -> Option<&'static str> {
    match sc.field("success") {
        Some("yes") => Some("success"),
        Some("no") if sc.field("exit") == Some(EINPROGRESS) => None,
        Some("no") => Some("failure"),
        _ => None,
    }
}

fn map_syscall(name: &str, sc: &AuditLine, ev: &AuditEvent, p: &mut ProcessRef, f: &mut EndpointFields) -> EventKind {
    f.outcome = outcome(sc);
    f.logon_id = owned(sc, "ses");
    f.user = interpreted(sc, "AUID").or_else(|| owned(sc, "auid").map(|u| format!("auid {u}")));
    f.user_id = owned(sc, "auid");
    // An IPv4 peer reached over an IPv6 socket is logged `::ffff:a.b.c.d`: the capture sees
    // the IPv4 address.
    let addr = ev.sockaddr().map(|a| match a {
        SockAddr::Inet { ip: IpAddr::V6(v6), port } => {
            SockAddr::Inet { ip: v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4), port }
        }
        other => other,
    });
    let unix_path = |f: &mut EndpointFields| {
        if let Some(SockAddr::Unix(path)) = &addr {
            f.target = Some(path.clone());
        }
    };
    match name {
        "execve" | "execveat" => {
            f.action = "process-start";
            let argv = ev.execve_args();
            let argv = if argv.is_empty() { ev.proctitle_args() } else { argv };
            if !argv.is_empty() {
                p.command_line = Some(join_argv(&argv));
            }
            f.target = ev.field("PATH", "name").map(str::to_string).or_else(|| p.executable.clone());
            f.details = ev.field("CWD", "cwd").map(|c| format!("cwd {c}"));
            EventKind::Process
        }
        "connect" | "sendto" | "sendmsg" => {
            f.action = if name == "connect" { "network-connect" } else { "network-send" };
            if sc.field("exit") == Some(EINPROGRESS) {
                f.details = Some("in progress (non-blocking)".into());
            }
            match &addr {
                Some(SockAddr::Inet { ip, port }) => {
                    f.destination_ip = Some(*ip);
                    f.destination_port = Some(*port);
                    f.target = Some(endpoint_text(*ip, *port));
                }
                _ => unix_path(f),
            }
            EventKind::Connection
        }
        "accept" | "accept4" => {
            f.action = "network-accept";
            if let Some(SockAddr::Inet { ip, port }) = &addr {
                f.source_ip = Some(*ip);
                f.source_port = Some(*port);
            }
            unix_path(f);
            EventKind::Connection
        }
        "bind" | "listen" => {
            f.action = if name == "bind" { "network-bind" } else { "network-listen" };
            match &addr {
                Some(SockAddr::Inet { ip, port }) => f.target = Some(endpoint_text(*ip, *port)),
                _ => unix_path(f),
            }
            EventKind::Connection
        }
        "ptrace" | "kill" | "tkill" | "tgkill" | "process_vm_writev" | "process_vm_readv" => {
            f.action = if name == "ptrace" { "process-traced" } else { "signal-sent" };
            let target = ev.record("OBJ_PID");
            f.target = target.and_then(|o| owned(o, "ocomm")).or_else(|| target.and_then(|o| owned(o, "opid")));
            f.details = target.and_then(|o| owned(o, "opid")).map(|pid| format!("pid {pid}"));
            EventKind::ProcessAccess
        }
        "init_module" | "finit_module" | "delete_module" => {
            f.action = if name == "delete_module" { "kernel-module-unload" } else { "kernel-module-load" };
            f.target = ev.field("KERN_MODULE", "name").or_else(|| ev.field("PATH", "name")).map(str::to_string);
            EventKind::Module
        }
        _ => EventKind::Generic,
    }
}

/// User-space records (PAM, account tools, systemd, auditd itself) and kernel anomalies.
fn map_user_record(r: &AuditLine, p: &mut ProcessRef, f: &mut EndpointFields) -> EventKind {
    p.pid = value(r, "pid").and_then(|v| v.parse().ok());
    p.executable = owned(r, "exe");
    p.user = interpreted(r, "UID").or_else(|| owned(r, "uid").map(|u| format!("uid {u}")));
    f.logon_id = owned(r, "ses");
    f.outcome = match r.field("res") {
        Some("success") | Some("1") => Some("success"),
        Some("failed") | Some("0") => Some("failure"),
        _ => None,
    };
    let t = r.record_type.as_str();
    let (kind, action) = match t {
        "USER_LOGIN" => (EventKind::Logon, "logon"),
        "USER_LOGOUT" => (EventKind::Logon, "logoff"),
        "USER_AUTH" => (EventKind::Logon, "authentication"),
        "USER_ACCT" => (EventKind::Logon, "account-check"),
        "USER_START" => (EventKind::Logon, "session-start"),
        "USER_END" => (EventKind::Logon, "session-end"),
        "CRED_ACQ" => (EventKind::Logon, "credentials-acquired"),
        "CRED_DISP" => (EventKind::Logon, "credentials-disposed"),
        "USER_ERR" => (EventKind::Logon, "logon-error"),
        "ADD_USER" => (EventKind::Account, "account-created"),
        "DEL_USER" => (EventKind::Account, "account-deleted"),
        "ADD_GROUP" => (EventKind::Account, "group-created"),
        "DEL_GROUP" => (EventKind::Account, "group-deleted"),
        "USER_MGMT" | "GRP_MGMT" => (EventKind::Account, "account-changed"),
        "USER_CHAUTHTOK" => (EventKind::Account, "password-changed"),
        "SERVICE_START" => (EventKind::Service, "service-started"),
        "SERVICE_STOP" => (EventKind::Service, "service-stopped"),
        "CONFIG_CHANGE" => (EventKind::Audit, "audit-config-changed"),
        "DAEMON_START" => (EventKind::Audit, "audit-daemon-started"),
        "DAEMON_END" => (EventKind::Audit, "audit-daemon-stopped"),
        "DAEMON_ABORT" => (EventKind::Audit, "audit-daemon-aborted"),
        "DAEMON_CONFIG" => (EventKind::Audit, "audit-daemon-reconfigured"),
        "DAEMON_ROTATE" => (EventKind::Audit, "audit-log-rotated"),
        "KERN_MODULE" => (EventKind::Module, "kernel-module-load"),
        "LOGIN" => (EventKind::Logon, "login-uid-set"),
        _ if t.starts_with("ANOM_") => (EventKind::Anomaly, "anomaly"),
        _ => (EventKind::Generic, "event"),
    };
    f.action = action;
    match kind {
        EventKind::Logon => {
            f.user =
                owned(r, "acct").or_else(|| owned(r, "id")).or_else(|| owned(r, "auid").map(|a| format!("auid {a}")));
            f.source_ip = value(r, "addr").and_then(|a| a.parse::<IpAddr>().ok());
            f.source_host = owned(r, "hostname").filter(|h| Some(h.as_str()) != value(r, "addr"));
            f.target = owned(r, "terminal");
            f.details = owned(r, "op");
        }
        EventKind::Account => {
            f.user = owned(r, "acct").or_else(|| owned(r, "id"));
            f.details = owned(r, "op");
        }
        EventKind::Service => f.target = owned(r, "unit"),
        EventKind::Audit => {
            f.target = owned(r, "key").or_else(|| owned(r, "list"));
            f.details = owned(r, "op").or_else(|| owned(r, "ver")).or_else(|| owned(r, "reason"));
        }
        EventKind::Module => f.target = owned(r, "name"),
        EventKind::Anomaly => {
            f.target = owned(r, "comm").or_else(|| owned(r, "dev"));
            f.details = owned(r, "sig").map(|s| format!("signal {s}")).or_else(|| owned(r, "op"));
        }
        _ => {}
    }
    kind
}

/// The syscall's name: the enriched `SYSCALL=` field, else the number by architecture.
fn syscall_name(sc: &AuditLine) -> String {
    let name = plain_syscall_name(sc);
    if name != "socketcall" {
        return name;
    }
    // 32-bit x86 multiplexes the socket calls through socketcall(2); its first argument says
    // which (`ausearch -i` prints `socketcall(connect)`).
    let call = match sc.field("a0").and_then(|a| u32::from_str_radix(a, 16).ok()) {
        Some(1) => "socket",
        Some(2) => "bind",
        Some(3) => "connect",
        Some(4) => "listen",
        Some(5) => "accept",
        Some(11) => "sendto",
        Some(16) => "sendmsg",
        Some(18) => "accept4",
        _ => return name,
    };
    call.to_string()
}

fn plain_syscall_name(sc: &AuditLine) -> String {
    if let Some(name) = sc.interpreted_field("SYSCALL") {
        return name.to_string();
    }
    let number: Option<u32> = sc.field("syscall").and_then(|n| n.parse().ok());
    let table = match sc.field("arch") {
        Some("c000003e") => X86_64,
        Some("40000003") => I386,
        Some("c00000b7") => AARCH64,
        _ => &[],
    };
    match number {
        Some(n) => table.iter().find(|(k, _)| *k == n).map_or(format!("syscall-{n}"), |(_, name)| name.to_string()),
        None => sc.field("syscall").unwrap_or("unknown").to_string(),
    }
}

/// Syscalls seam names without the enriched format (Linux's unistd tables).
const X86_64: &[(u32, &str)] = &[
    (0, "read"),
    (1, "write"),
    (2, "open"),
    (3, "close"),
    (41, "socket"),
    (42, "connect"),
    (43, "accept"),
    (44, "sendto"),
    (46, "sendmsg"),
    (49, "bind"),
    (50, "listen"),
    (56, "clone"),
    (57, "fork"),
    (59, "execve"),
    (62, "kill"),
    (82, "rename"),
    (87, "unlink"),
    (90, "chmod"),
    (101, "ptrace"),
    (105, "setuid"),
    (175, "init_module"),
    (176, "delete_module"),
    (200, "tkill"),
    (234, "tgkill"),
    (257, "openat"),
    (263, "unlinkat"),
    (288, "accept4"),
    (310, "process_vm_readv"),
    (311, "process_vm_writev"),
    (313, "finit_module"),
    (322, "execveat"),
];
const I386: &[(u32, &str)] = &[
    (11, "execve"),
    (26, "ptrace"),
    (37, "kill"),
    (102, "socketcall"),
    (128, "init_module"),
    (129, "delete_module"),
    (238, "tkill"),
    (270, "tgkill"),
    (350, "finit_module"),
    (358, "execveat"),
    (361, "bind"),
    (362, "connect"),
    (363, "listen"),
    (364, "accept4"),
    (369, "sendto"),
];
const AARCH64: &[(u32, &str)] = &[
    (105, "init_module"),
    (106, "delete_module"),
    (117, "ptrace"),
    (129, "kill"),
    (130, "tkill"),
    (131, "tgkill"),
    (198, "socket"),
    (200, "bind"),
    (201, "listen"),
    (202, "accept"),
    (203, "connect"),
    (206, "sendto"),
    (211, "sendmsg"),
    (221, "execve"),
    (242, "accept4"),
    (273, "finit_module"),
    (281, "execveat"),
];

/// argv as a shell would need it typed: arguments with spaces or quotes are single-quoted.
fn join_argv(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            if !a.is_empty() && !a.contains(|c: char| c.is_whitespace() || c == '\'' || c == '"') {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Every field of every record as `TYPE.key` (`TYPE[n].key` for the n-th repeat of a type),
/// enriched values as `TYPE.KEY` (audit writes interpreted names in capitals).
fn flatten(ev: &AuditEvent) -> Pairs {
    let records = || ev.records.iter().filter(|r| r.record_type != "EOE");
    // Sized first, so the buffers are allocated once. The buffer holds the values: names are
    // kept once for the whole run (see `model::names`).
    let (mut pairs, mut text) = (0, 0);
    for r in records() {
        pairs += r.fields.len() + r.interpreted.len();
        text += r.fields.stored_len() + r.interpreted.stored_len();
    }
    let mut seen: Vec<(&str, usize)> = Vec::new();
    let mut out = Pairs::with_capacity(pairs, text);
    let mut prefix = String::new();
    for r in records() {
        let t = r.record_type.as_str();
        let n = match seen.iter_mut().find(|(k, _)| *k == t) {
            Some((_, n)) => {
                *n += 1;
                *n
            }
            None => {
                seen.push((t, 0));
                0
            }
        };
        prefix.clear();
        prefix.push_str(t);
        if n > 0 {
            prefix.push('[');
            prefix.push_str(&n.to_string());
            prefix.push(']');
        }
        prefix.push('.');
        out.extend_prefixed(&r.fields, &prefix);
        out.extend_prefixed(&r.interpreted, &prefix);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::auditd::{parse_line, Assembler};

    fn events(lines: &[&str]) -> Vec<AuditEvent> {
        let mut a = Assembler::new();
        let mut out = Vec::new();
        for (i, l) in lines.iter().enumerate() {
            out.extend(a.push(i as u64 + 1, parse_line(l.as_bytes()).expect("a valid audit line")));
        }
        out.extend(a.finish());
        out
    }

    fn endpoint(e: &Event) -> &EndpointFields {
        match &e.fields {
            Fields::Endpoint(f) => f,
            other => panic!("not an endpoint event: {other:?}"),
        }
    }

    #[test]
    fn execve_is_a_process_start_with_its_argv() {
        let evs = events(&[
            r#"type=SYSCALL msg=audit(1700000000.123:42): arch=c000003e syscall=59 success=yes exit=0 a0=55 a1=56 a2=57 a3=0 items=2 ppid=1 pid=4242 auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=3 comm="curl" exe="/usr/bin/curl" key=(null)"#,
            r#"type=EXECVE msg=audit(1700000000.123:42): argc=3 a0="curl" a1="-o" a2=2F746D702F7820790A"#,
            r#"type=CWD msg=audit(1700000000.123:42): cwd="/root""#,
            r#"type=PATH msg=audit(1700000000.123:42): item=0 name="/usr/bin/curl" inode=1 dev=08:01 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL"#,
        ]);
        assert_eq!(evs.len(), 1);
        let e = map_event(&evs[0], 3, Some("web1"));
        assert_eq!((e.kind, e.ts), (EventKind::Process, 1_700_000_000_123_000_000));
        let p = e.process.as_ref().unwrap();
        assert_eq!((p.pid, p.parent_pid), (Some(4242), Some(1)));
        assert_eq!(p.executable.as_deref(), Some("/usr/bin/curl"));
        assert_eq!(p.command_line.as_deref(), Some("curl -o '/tmp/x y\n'"));
        let f = endpoint(&e);
        assert_eq!((f.action, f.code.as_str(), f.outcome), ("process-start", "SYSCALL:execve", Some("success")));
        assert_eq!(f.details.as_deref(), Some("cwd /root"));
        assert_eq!(f.get("PATH.name"), Some("/usr/bin/curl"));
        assert_eq!(e.host.as_ref().unwrap().name.as_deref(), Some("web1"), "no node=: the per-file host");
        assert_eq!(e.provenance.locator, Locator::Line(1));
    }

    #[test]
    fn a_nonblocking_connect_is_kept_as_a_connect() {
        let evs = events(&[
            r#"node=app2 type=SYSCALL msg=audit(1700000001.000:43): arch=c000003e syscall=42 success=no exit=-115 a0=3 a1=7ffd a2=10 a3=0 items=0 ppid=1 pid=77 auid=4294967295 uid=33 gid=33 euid=33 suid=33 fsuid=33 egid=33 sgid=33 fsgid=33 tty=(none) ses=4294967295 comm="sh" exe="/bin/dash" key="egress""#,
            r#"node=app2 type=SOCKADDR msg=audit(1700000001.000:43): saddr=020001BB5DB8D8220000000000000000"#,
        ]);
        let e = map_event(&evs[0], 0, Some("ignored"));
        let f = endpoint(&e);
        assert_eq!((e.kind, f.action, f.outcome), (EventKind::Connection, "network-connect", None));
        assert_eq!(f.destination_ip, Some("93.184.216.34".parse().unwrap()));
        assert_eq!(f.destination_port, Some(443));
        assert_eq!(f.user, None, "an unset auid is no user");
        assert_eq!(e.host.as_ref().unwrap().name.as_deref(), Some("app2"), "node= wins over the per-file host");
    }

    #[test]
    fn an_ipv4_peer_over_an_ipv6_socket_and_unset_enriched_ids() {
        // connect(2) on an AF_INET6 socket to ::ffff:93.184.216.34 port 80, enriched, with the
        // audit id unset.
        let evs = events(&[
            "type=SYSCALL msg=audit(1700000001.000:44): arch=c000003e syscall=42 success=yes exit=0 a0=3 a1=7ffd a2=1c a3=0 items=0 ppid=1 pid=78 auid=4294967295 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=4294967295 comm=\"java\" exe=\"/usr/bin/java\" key=(null)\x1dARCH=x86_64 SYSCALL=connect AUID=\"unset\" UID=\"root\" GID=\"root\"",
            "type=SOCKADDR msg=audit(1700000001.000:44): saddr=0A0000500000000000000000000000000000FFFF5DB8D82200000000",
        ]);
        let e = map_event(&evs[0], 0, Some("app3"));
        let f = endpoint(&e);
        assert_eq!(f.destination_ip, Some("93.184.216.34".parse().unwrap()), "{f:?}");
        assert_eq!(f.destination_port, Some(80));
        assert_eq!(f.user, None, "an unset audit id is no user, raw or enriched");
        assert_eq!(e.process.as_ref().and_then(|p| p.user.as_deref()), Some("root"));
    }

    #[test]
    fn pam_logins_and_unknown_records() {
        let evs = events(&[
            r#"type=USER_LOGIN msg=audit(1700000002.500:77): pid=900 uid=0 auid=1000 ses=3 msg='op=login acct="alice" exe="/usr/sbin/sshd" hostname=10.0.0.9 addr=10.0.0.9 terminal=ssh res=failed'"#,
            r#"type=MAC_STATUS msg=audit(1700000010.000:78): enforcing=1 old_enforcing=0 auid=0 ses=1"#,
        ]);
        assert_eq!(evs.len(), 2);
        let login = map_event(&evs[0], 0, None);
        let f = endpoint(&login);
        assert_eq!((login.kind, f.action, f.outcome), (EventKind::Logon, "logon", Some("failure")));
        assert_eq!(f.user.as_deref(), Some("alice"));
        assert_eq!(f.source_ip, Some("10.0.0.9".parse().unwrap()));
        assert_eq!(f.target.as_deref(), Some("ssh"));
        assert_eq!(login.host, None);
        let other = map_event(&evs[1], 0, None);
        assert_eq!((other.kind, endpoint(&other).code.as_str()), (EventKind::Generic, "MAC_STATUS"));
        assert_eq!(endpoint(&other).get("MAC_STATUS.enforcing"), Some("1"));
    }

    #[test]
    fn syscall_names_without_the_enriched_format() {
        let line =
            parse_line(br#"type=SYSCALL msg=audit(1.0:1): arch=c00000b7 syscall=203 success=yes exit=0"#).unwrap();
        assert_eq!(syscall_name(&line), "connect");
        let line =
            parse_line(br#"type=SYSCALL msg=audit(1.0:1): arch=c000003e syscall=999 success=yes exit=0"#).unwrap();
        assert_eq!(syscall_name(&line), "syscall-999");
        // i386 socketcall(SYS_CONNECT, …), raw and enriched.
        let line =
            parse_line(br#"type=SYSCALL msg=audit(1.0:1): arch=40000003 syscall=102 success=yes exit=0 a0=3 a1=ffd0"#)
                .unwrap();
        assert_eq!(syscall_name(&line), "connect");
        let line = parse_line(
            b"type=SYSCALL msg=audit(1.0:1): arch=40000003 syscall=102 success=yes exit=0 a0=3\x1dSYSCALL=socketcall",
        )
        .unwrap();
        assert_eq!(syscall_name(&line), "connect");
        let line = parse_line(br#"type=SYSCALL msg=audit(1.0:1): arch=40000003 syscall=102 success=yes exit=0 a0=2a"#)
            .unwrap();
        assert_eq!(syscall_name(&line), "socketcall", "an unknown call stays what it is");
    }
}
