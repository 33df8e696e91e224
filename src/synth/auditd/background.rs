//! The background log: a seeded stream of the audit events of a busy Debian web server, for
//! benchmarks and as the noise of synthetic bundles. See [`generate_background`].

use super::{
    comm_of, AcceptCall, Account, AuditKind, AuditSpec, AuditWriter, AuditWriterOptions, ConnectResult, LogFormat,
    ModuleCall, Outcome, SockAddr, TargetProcess, UserMessage,
};
use crate::synth::rng::Rng;
use crate::util::Timestamp;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Parameters of [`generate_background`].
#[derive(Debug, Clone)]
pub struct BackgroundConfig {
    pub seed: u64,
    pub start: Timestamp,
    /// Span the events are spread over (nanoseconds). The event rate is chosen so that
    /// `target_bytes` is reached at about its end; generation stops at `target_bytes`.
    pub duration: i64,
    pub target_bytes: u64,
    /// Writer options; the generator adds its users to `names`.
    pub options: AuditWriterOptions,
}

/// What [`generate_background`] wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackgroundSummary {
    pub events: u64,
    pub records: u64,
    pub bytes: u64,
    pub first: Timestamp,
    pub last: Timestamp,
    /// Events per kind (`execve`, `connect`, `USER_LOGIN`…), most frequent first.
    pub by_kind: Vec<(String, u64)>,
}

/// Mean bytes per event of the background mix, measured: ~875 in the enriched format (auditd
/// 3's default), ~720 raw. Sets the event rate.
pub const fn background_bytes_per_event(format: LogFormat) -> u64 {
    match format {
        LogFormat::Raw => 720,
        LogFormat::Enriched => 875,
    }
}

/// Streams the audit log of a busy Debian web server (`web-01`, AppArmor, rules on execve,
/// connect, accept, bind and the rare calls below) to `out`, until `target_bytes`:
///
/// - cron jobs every few minutes (PAM `CRED_ACQ`/`LOGIN`/`USER_START`, `/bin/sh -c` and the
///   job, its connects, `USER_END`/`CRED_DISP`), systemd timers (`SERVICE_START`, the unit's
///   execs and connects, `SERVICE_STOP`);
/// - web traffic: nginx `accept4` from clients (IPv4 and IPv6), connects to the PHP-FPM unix
///   socket, PHP connects to the database and to remote APIs (non-blocking, `exit=-115`), the
///   odd `convert` exec; DNS `sendto`s from systemd-resolved;
/// - interactive SSH sessions by admins (`accept`, sshd's PAM sequence, `USER_LOGIN id=…`, a
///   shell and commands, sudo with its PAM records, git and curl connects), and failed logins
///   from internet scanners (`USER_AUTH`/`USER_LOGIN res=failed`, invalid users in hex);
/// - rarely: `kill`, `ptrace` (strace), `finit_module`, `ADD_USER`/`DEL_USER`, rule changes; an
///   auditd `DAEMON_START` and its rules' `CONFIG_CHANGE`s first.
///
/// Deterministic for a seed; memory is a few hundred pending events whatever the size.
pub fn generate_background(cfg: &BackgroundConfig, out: &mut impl Write) -> io::Result<BackgroundSummary> {
    let mut opts = cfg.options.clone();
    for (id, name) in USERS.iter().map(|u| (u.uid, u.name)).chain(SYSTEM_USERS.iter().copied()) {
        if !opts.names.iter().any(|(i, _)| *i == id) {
            opts.names.push((id, name.to_string()));
        }
    }
    let mut w = AuditWriter::new(out, opts);
    let mut g = Background::new(cfg.seed, cfg.start);
    let events_wanted = (cfg.target_bytes / background_bytes_per_event(cfg.options.format)).max(1);
    let mean_gap = (cfg.duration.max(1) as f64 / events_wanted as f64 * ACTIVITY_EVENTS_MEAN).max(1000.0);
    let mut summary = BackgroundSummary { first: cfg.start, last: cfg.start, ..Default::default() };
    let mut kinds: HashMap<&'static str, u64> = HashMap::new();
    g.startup();
    let mut next_activity = cfg.start;
    let mut serial = 1000 + g.rng.range(0, 5000);
    let mut written = 0u64;
    while written < cfg.target_bytes {
        // Emit everything due before the next activity starts, then start it.
        while let Some(Reverse(p)) = g.pending.peek() {
            if p.spec.ts > next_activity {
                break;
            }
            let Some(Reverse(mut p)) = g.pending.pop() else { break };
            // The kernel numbers every event, logged or not: serials have gaps.
            serial += if g.rng.chance(0.15) { g.rng.range(2, 9) } else { 1 };
            p.spec.serial = serial;
            *kinds.entry(kind_name(&p.spec.kind)).or_default() += 1;
            summary.last = p.spec.ts;
            let before = w.stats.bytes;
            w.write(&p.spec)?;
            written += w.stats.bytes - before;
            if written >= cfg.target_bytes {
                break;
            }
        }
        if written >= cfg.target_bytes {
            break;
        }
        g.activity(next_activity);
        next_activity += (g.rng_exp(mean_gap) as i64).max(1);
    }
    let (_, stats) = w.finish()?;
    summary.events = stats.events;
    summary.records = stats.records;
    summary.bytes = stats.bytes;
    let mut by_kind: Vec<(String, u64)> = kinds.into_iter().map(|(k, n)| (k.to_string(), n)).collect();
    by_kind.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    summary.by_kind = by_kind;
    Ok(summary)
}

/// Events per activity on average, measured on the mix below; with
/// [`background_bytes_per_event`] it sets how often activities start.
const ACTIVITY_EVENTS_MEAN: f64 = 6.6;

fn kind_name(k: &AuditKind) -> &'static str {
    match k {
        AuditKind::Execve { .. } => "execve",
        AuditKind::Connect { .. } => "connect",
        AuditKind::Accept { .. } => "accept",
        AuditKind::Bind { .. } => "bind",
        AuditKind::SendTo { .. } => "sendto",
        AuditKind::Ptrace { .. } => "ptrace",
        AuditKind::Kill { .. } => "kill",
        AuditKind::ModuleLoad { .. } => "module load",
        AuditKind::Login { .. } => "LOGIN",
        AuditKind::UserLogin(_) => "USER_LOGIN",
        AuditKind::UserAuth(_) => "USER_AUTH",
        AuditKind::UserAcct(_) => "USER_ACCT",
        AuditKind::CredAcq(_) => "CRED_ACQ",
        AuditKind::CredDisp(_) => "CRED_DISP",
        AuditKind::UserStart(_) => "USER_START",
        AuditKind::UserEnd(_) => "USER_END",
        AuditKind::AddUser(_) => "ADD_USER",
        AuditKind::DelUser(_) => "DEL_USER",
        AuditKind::ServiceStart { .. } => "SERVICE_START",
        AuditKind::ServiceStop { .. } => "SERVICE_STOP",
        AuditKind::ConfigChange { .. } => "CONFIG_CHANGE",
        AuditKind::DaemonStart { .. } => "DAEMON_START",
        AuditKind::DaemonEnd => "DAEMON_END",
    }
}

struct User {
    name: &'static str,
    uid: u32,
    /// Where the user logs in from.
    from: [u8; 4],
}

const USERS: &[User] = &[
    User { name: "alice", uid: 1000, from: [10, 20, 1, 15] },
    User { name: "bob", uid: 1001, from: [10, 20, 1, 22] },
    User { name: "deploy", uid: 1002, from: [10, 20, 4, 8] },
];

const SYSTEM_USERS: &[(u32, &str)] = &[(105, "sshd"), (108, "systemd-resolve"), (113, "mysql"), (997, "node-exp")];

/// PAM modules of Debian's sshd session stack.
const SSHD_SESSION_GRANTORS: &str = "pam_selinux,pam_loginuid,pam_keyinit,pam_permit,pam_umask,pam_unix,\
                                     pam_systemd,pam_mail,pam_limits,pam_env,pam_env,pam_selinux";
const APT_COLLECTOR: &str = "/usr/share/prometheus-node-exporter-collectors/apt_info.py \
                             | sponge /var/lib/prometheus/node-exporter/apt.prom";
const HOST_V4: [u8; 4] = [10, 20, 3, 11];
const PID_SYSTEMD: u32 = 1;
const PID_RESOLVED: u32 = 402;
const PID_CRON: u32 = 611;
const PID_SSHD: u32 = 733;
const PID_NGINX: u32 = 812;
const PID_FPM: u32 = 845;

/// One event waiting to be written, ordered by time then creation.
struct Pending {
    spec: AuditSpec,
    order: u64,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        (self.spec.ts, self.order) == (other.spec.ts, other.order)
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.spec.ts, self.order).cmp(&(other.spec.ts, other.order))
    }
}

/// A process the generator runs: who it is and how to make its events.
#[derive(Clone)]
struct Proc {
    pid: u32,
    ppid: u32,
    uid: u32,
    auid: Option<u32>,
    ses: Option<u32>,
    tty: Option<String>,
    comm: String,
    exe: String,
    cwd: String,
    cmdline: Vec<String>,
}

impl Proc {
    fn daemon(pid: u32, uid: u32, exe: &str, cmdline: &[&str]) -> Proc {
        Proc {
            pid,
            ppid: PID_SYSTEMD,
            uid,
            auid: None,
            ses: None,
            tty: None,
            comm: comm_of(exe),
            exe: exe.to_string(),
            cwd: "/".to_string(),
            cmdline: cmdline.iter().map(|s| s.to_string()).collect(),
        }
    }
}

struct Background {
    rng: Rng,
    pending: BinaryHeap<Reverse<Pending>>,
    order: u64,
    next_pid: u32,
    next_ses: u32,
    start: Timestamp,
}

const MS: i64 = 1_000_000;
const SEC: i64 = 1_000 * MS;

impl Background {
    fn new(seed: u64, start: Timestamp) -> Background {
        let mut rng = Rng::new(seed ^ 0xA0D1_7D00);
        let next_pid = 20_000 + rng.range(0, 10_000) as u32;
        let next_ses = 1 + rng.range(0, 50) as u32;
        Background { rng, pending: BinaryHeap::new(), order: 0, next_pid, next_ses, start }
    }

    fn rng_exp(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.rng.unit()).ln()
    }

    fn pid(&mut self) -> u32 {
        self.next_pid += 1 + self.rng.range(0, 3) as u32;
        if self.next_pid > 4_194_000 {
            self.next_pid = 1000;
        }
        self.next_pid
    }

    fn push(&mut self, p: &Proc, ts: Timestamp, kind: AuditKind) {
        let mut spec = AuditSpec::new(ts, 0, &p.exe, kind);
        spec.pid = p.pid;
        spec.ppid = p.ppid;
        spec.uid = p.uid;
        spec.gid = p.uid;
        spec.euid = p.uid;
        spec.egid = p.uid;
        spec.auid = p.auid;
        spec.ses = p.ses;
        spec.tty = p.tty.clone();
        spec.comm = p.comm.clone();
        spec.cwd = p.cwd.clone();
        spec.cmdline = p.cmdline.clone();
        spec.subj = Some("unconfined".into());
        spec.key = match &spec.kind {
            AuditKind::Execve { .. } => Some("exec".into()),
            AuditKind::Connect { .. } | AuditKind::Accept { .. } | AuditKind::Bind { .. } => Some("network".into()),
            AuditKind::SendTo { .. } => Some("dns".into()),
            AuditKind::Ptrace { .. } => Some("tracing".into()),
            AuditKind::Kill { .. } => Some("kill".into()),
            AuditKind::ModuleLoad { .. } => Some("modules".into()),
            _ => None,
        };
        self.order += 1;
        self.pending.push(Reverse(Pending { spec, order: self.order }));
    }

    /// `parent` forks and the child execs `argv` (as `uid`): the new process.
    fn exec(&mut self, parent: &Proc, ts: Timestamp, exe: &str, argv: &[&str]) -> Proc {
        // The kernel names the process after the path it was run by (argv[0] for a shell's
        // exec, `sh` for `/bin/sh` → dash); a login shell's `-bash` is not a path.
        let comm = match argv.first() {
            Some(a0) if !a0.is_empty() && !a0.starts_with('-') => comm_of(a0),
            _ => comm_of(exe),
        };
        let child = Proc {
            pid: self.pid(),
            ppid: parent.pid,
            comm,
            exe: exe.to_string(),
            cmdline: argv.iter().map(|s| s.to_string()).collect(),
            ..parent.clone()
        };
        self.push(&child, ts, AuditKind::Execve { argv: child.cmdline.clone() });
        child
    }

    fn user_msg(&mut self, p: &Proc, ts: Timestamp, kind: fn(UserMessage) -> AuditKind, m: UserMessage) {
        self.push(p, ts, kind(m));
    }

    /// auditd starting and loading its rules.
    fn startup(&mut self) {
        let t = self.start;
        let auditd = Proc::daemon(318, 0, "/usr/sbin/auditd", &["/sbin/auditd"]);
        self.push(&auditd, t, AuditKind::DaemonStart { version: "3.0.9".into(), kernel: "6.1.0-18-amd64".into() });
        let auditctl = Proc::daemon(321, 0, "/usr/sbin/auditctl", &["/sbin/auditctl", "-R", "/etc/audit/audit.rules"]);
        for (i, key) in
            ["exec", "exec", "network", "network", "network", "dns", "tracing", "kill", "modules", "modules"]
                .iter()
                .enumerate()
        {
            self.push(
                &auditctl,
                t + 20 * MS + i as i64 * MS,
                AuditKind::ConfigChange {
                    op: "add_rule".into(),
                    key: Some(key.to_string()),
                    list: 4,
                    outcome: Outcome::Success,
                },
            );
        }
    }

    /// Starts one activity at `t`, queueing its events.
    fn activity(&mut self, t: Timestamp) {
        let weights = [
            16.0, // web request
            10.0, // cron job
            6.0,  // systemd timer
            3.0,  // DNS lookups
            1.0,  // ssh brute force
            1.5,  // admin session
            14.0, // monitoring agent
            0.08, // rare
        ];
        let total: f64 = weights.iter().sum();
        let mut x = self.rng.unit() * total;
        let mut pick = 0;
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                pick = i;
                break;
            }
            x -= w;
        }
        match pick {
            0 => self.web_request(t),
            1 => self.cron_job(t),
            2 => self.timer(t),
            3 => self.dns(t),
            4 => self.ssh_failed(t),
            5 => self.admin_session(t),
            6 => self.monitoring(t),
            _ => self.rare(t),
        }
    }

    fn public_v4(&mut self) -> Ipv4Addr {
        let first = *self.rng.pick(&[23u8, 45, 51, 62, 77, 89, 91, 103, 141, 176, 185, 193, 203, 212]);
        Ipv4Addr::new(first, self.rng.range(0, 256) as u8, self.rng.range(0, 256) as u8, self.rng.range(1, 255) as u8)
    }

    fn public_v6(&mut self) -> Ipv6Addr {
        let mut seg = [0u16; 8];
        seg[0] = *self.rng.pick(&[0x2001u16, 0x2a01, 0x2a02, 0x2600, 0x2604, 0x2003]);
        for s in seg.iter_mut().skip(1) {
            *s = self.rng.range(0, 0x10000) as u16;
        }
        Ipv6Addr::from(seg)
    }

    fn web_request(&mut self, t: Timestamp) {
        let nginx = Proc::daemon(
            PID_NGINX + 1 + self.rng.range(0, 2) as u32,
            33,
            "/usr/sbin/nginx",
            &["nginx: worker process"],
        );
        let peer = if self.rng.chance(0.25) {
            SocketAddr::new(IpAddr::V6(self.public_v6()), self.rng.range(32768, 61000) as u16)
        } else {
            SocketAddr::new(IpAddr::V4(self.public_v4()), self.rng.range(32768, 61000) as u16)
        };
        self.push(&nginx, t, AuditKind::Accept { peer: SockAddr::Inet(peer), call: AcceptCall::Accept4 });
        let requests = 1 + self.rng.range(0, 3);
        let mut at = t + self.rng.range(2, 40) as i64 * MS;
        for _ in 0..requests {
            if self.rng.chance(0.7) {
                self.push(
                    &nginx,
                    at,
                    AuditKind::Connect {
                        addr: SockAddr::Unix("/run/php/php8.2-fpm.sock".into()),
                        result: ConnectResult::Connected,
                    },
                );
                let fpm = Proc::daemon(
                    PID_FPM + 1 + self.rng.range(0, 6) as u32,
                    33,
                    "/usr/sbin/php-fpm8.2",
                    &["php-fpm: pool www"],
                );
                let fpm = Proc { cwd: "/var/www/shop".into(), ..fpm };
                at += self.rng.range(1, 5) as i64 * MS;
                self.push(
                    &fpm,
                    at,
                    AuditKind::Connect {
                        addr: SockAddr::Inet(SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 20, 3, 30)), 3306)),
                        result: ConnectResult::Connected,
                    },
                );
                if self.rng.chance(0.12) {
                    // A payment or shipping API: non-blocking connect.
                    let api =
                        if self.rng.chance(0.3) { IpAddr::V6(self.public_v6()) } else { IpAddr::V4(self.public_v4()) };
                    at += self.rng.range(5, 30) as i64 * MS;
                    self.push(
                        &fpm,
                        at,
                        AuditKind::Connect {
                            addr: SockAddr::Inet(SocketAddr::new(api, 443)),
                            result: ConnectResult::InProgress,
                        },
                    );
                }
                if self.rng.chance(0.08) {
                    at += self.rng.range(5, 30) as i64 * MS;
                    let sh = self.exec(&fpm, at, "/usr/bin/dash", &[
                        "sh",
                        "-c",
                        "convert '/var/www/shop/uploads/tmp/phpA1b2C3' -resize 800x800 '/var/www/shop/media/cache/p.jpg'",
                    ]);
                    at += self.rng.range(1, 4) as i64 * MS;
                    let name = format!("/var/www/shop/media/cache/{}.jpg", self.rng.label(10));
                    self.exec(
                        &sh,
                        at,
                        "/usr/bin/convert-im6.q16",
                        &["convert", "/var/www/shop/uploads/tmp/phpA1b2C3", "-resize", "800x800", &name],
                    );
                }
            }
            at += self.rng.range(20, 2000) as i64 * MS;
        }
    }

    fn cron_job(&mut self, t: Timestamp) {
        let cron = Proc::daemon(PID_CRON, 0, "/usr/sbin/cron", &["/usr/sbin/cron", "-f"]);
        let (user, uid) = if self.rng.chance(0.8) { ("root", 0) } else { ("www-data", 33) };
        let child = Proc { pid: self.pid(), ppid: PID_CRON, ..cron.clone() };
        let msg = |grantors: &str| UserMessage {
            grantors: Some(grantors.into()),
            terminal: Some("cron".into()),
            ..UserMessage::new(user)
        };
        let ses = self.next_ses;
        self.next_ses += 1;
        self.user_msg(&child, t, AuditKind::UserAcct, msg("pam_permit"));
        self.user_msg(&child, t + 1, AuditKind::CredAcq, msg("pam_permit,pam_env"));
        let logged = Proc { auid: Some(uid), ses: Some(ses), ..child.clone() };
        self.push(&logged, t + 2 * MS, AuditKind::Login { old_auid: None, old_ses: None });
        self.user_msg(
            &logged,
            t + 3 * MS,
            AuditKind::UserStart,
            msg("pam_loginuid,pam_env,pam_permit,pam_unix,pam_limits"),
        );
        let jobs: &[(&str, &[&str])] = &[
            ("/usr/lib/php/sessionclean", &["/usr/lib/php/sessionclean"]),
            ("/usr/lib/sysstat/debian-sa1", &["/usr/lib/sysstat/debian-sa1", "1", "1"]),
            ("/usr/bin/run-parts", &["run-parts", "--report", "/etc/cron.hourly"]),
            ("/usr/bin/python3.11", &["/usr/bin/python3", "/opt/shop/bin/sync_inventory.py", "--quiet"]),
            ("/usr/bin/php8.2", &["php", "/var/www/shop/bin/console", "cron:run", "--no-interaction"]),
            ("/usr/local/bin/backup.sh", &["/usr/local/bin/backup.sh", "--incremental"]),
        ];
        let (exe, argv) = *self.rng.pick(jobs);
        let line = argv.join(" ");
        let cron_line = format!("{line} >/dev/null 2>&1");
        let as_user = Proc { uid, cwd: if uid == 0 { "/root".into() } else { "/var/www".into() }, ..logged.clone() };
        let mut at = t + self.rng.range(4, 12) as i64 * MS;
        let sh = self.exec(&as_user, at, "/usr/bin/dash", &["/bin/sh", "-c", &cron_line]);
        at += self.rng.range(1, 5) as i64 * MS;
        let job = self.exec(&sh, at, exe, argv);
        at += self.rng.range(5, 200) as i64 * MS;
        match exe {
            "/usr/local/bin/backup.sh" => {
                let stamp = format!("{}", 20240514 + self.rng.range(0, 20));
                let dump = format!("/var/backups/shop-{stamp}.sql.gz");
                let sh = self.exec(
                    &job,
                    at,
                    "/usr/bin/dash",
                    &["/bin/sh", "-c", &format!("mysqldump --single-transaction --quick shop | gzip -6 > {dump}")],
                );
                at += self.rng.range(1, 5) as i64 * MS;
                let mysqldump = self.exec(
                    &sh,
                    at,
                    "/usr/bin/mariadb-dump",
                    &["mysqldump", "--single-transaction", "--quick", "shop"],
                );
                self.exec(&sh, at + 1, "/usr/bin/gzip", &["gzip", "-6"]);
                at += self.rng.range(1, 5) as i64 * MS;
                self.push(
                    &mysqldump,
                    at,
                    AuditKind::Connect {
                        addr: SockAddr::Inet(SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 20, 3, 30)), 3306)),
                        result: ConnectResult::Connected,
                    },
                );
                at += self.rng.range(2, 40) as i64 * SEC;
                self.exec(
                    &job,
                    at,
                    "/usr/bin/tar",
                    &[
                        "tar",
                        "--create",
                        "--gzip",
                        "--file",
                        &format!("/var/backups/etc-{stamp}.tar.gz"),
                        "--exclude=/etc/ssl/private",
                        "/etc",
                        "/var/www/shop/config",
                    ],
                );
                at += self.rng.range(1, 10) as i64 * SEC;
                self.exec(
                    &job,
                    at,
                    "/usr/bin/find",
                    &["find", "/var/backups", "-name", "shop-*.sql.gz", "-mtime", "+14", "-delete"],
                );
                at += self.rng.range(10, 300) as i64 * MS;
                let rsync = self.exec(
                    &job,
                    at,
                    "/usr/bin/rsync",
                    &["rsync", "-a", "--delete", "/var/backups/", "backup@10.20.0.15:/srv/backup/web-01/"],
                );
                at += self.rng.range(2, 10) as i64 * MS;
                let ssh = self.exec(
                    &rsync,
                    at,
                    "/usr/bin/ssh",
                    &[
                        "ssh",
                        "-l",
                        "backup",
                        "10.20.0.15",
                        "rsync",
                        "--server",
                        "-logDtpre.iLsfxCIvu",
                        "--delete",
                        ".",
                        "/srv/backup/web-01/",
                    ],
                );
                at += self.rng.range(2, 10) as i64 * MS;
                self.push(
                    &ssh,
                    at,
                    AuditKind::Connect {
                        addr: SockAddr::Inet(SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 20, 0, 15)), 22)),
                        result: ConnectResult::Connected,
                    },
                );
                at += self.rng.range(2, 60) as i64 * SEC;
            }
            "/usr/bin/python3.11" | "/usr/bin/php8.2" => {
                for _ in 0..1 + self.rng.range(0, 3) {
                    self.push(
                        &job,
                        at,
                        AuditKind::Connect {
                            addr: SockAddr::Inet(SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 20, 3, 30)), 3306)),
                            result: ConnectResult::Connected,
                        },
                    );
                    at += self.rng.range(5, 300) as i64 * MS;
                }
                if self.rng.chance(0.5) {
                    let api = IpAddr::V4(self.public_v4());
                    self.push(
                        &job,
                        at,
                        AuditKind::Connect {
                            addr: SockAddr::Inet(SocketAddr::new(api, 443)),
                            result: ConnectResult::InProgress,
                        },
                    );
                    at += self.rng.range(50, 900) as i64 * MS;
                }
            }
            "/usr/bin/run-parts" => {
                let lr = self.exec(&job, at, "/usr/bin/dash", &["/bin/sh", "/etc/cron.hourly/shop-cache"]);
                at += self.rng.range(1, 8) as i64 * MS;
                self.exec(&lr, at, "/usr/bin/du", &["du", "-sh", "/var/www/shop/var/cache"]);
                at += self.rng.range(5, 80) as i64 * MS;
                self.exec(
                    &lr,
                    at,
                    "/usr/bin/logger",
                    &["logger", "-t", "shop-cache", "pruning cache entries older than 120 minutes"],
                );
                at += self.rng.range(1, 8) as i64 * MS;
                self.exec(
                    &lr,
                    at,
                    "/usr/bin/find",
                    &["find", "/var/www/shop/var/cache", "-type", "f", "-mmin", "+120", "-delete"],
                );
                at += self.rng.range(10, 400) as i64 * MS;
            }
            "/usr/lib/sysstat/debian-sa1" => {
                self.exec(&job, at, "/usr/bin/date", &["date", "+%d"]);
                at += self.rng.range(1, 4) as i64 * MS;
                self.exec(
                    &job,
                    at,
                    "/usr/lib/sysstat/sadc",
                    &["/usr/lib/sysstat/sadc", "-F", "-L", "-S", "DISK", "1", "1", "/var/log/sysstat"],
                );
                at += self.rng.range(10, 100) as i64 * MS;
            }
            _ => {
                // Debian's sessionclean: asks PHP for each SAPI's session settings, then
                // deletes stale sessions.
                for sapi in ["apache2", "cli", "fpm"] {
                    let ini = format!("/etc/php/8.2/{sapi}/php.ini");
                    self.exec(
                        &job,
                        at,
                        "/usr/bin/php8.2",
                        &[
                            "/usr/bin/php8.2",
                            "-c",
                            &ini,
                            "-d",
                            "error_reporting='~E_ALL'",
                            "-r",
                            "foreach(ini_get_all(\"session\") as $k => $v) echo \"$k=\".$v[\"local_value\"].\"\\n\";",
                        ],
                    );
                    at += self.rng.range(20, 60) as i64 * MS;
                }
                self.exec(&job, at, "/usr/bin/sort", &["sort", "-rn", "-t:", "-k2,2"]);
                at += self.rng.range(1, 5) as i64 * MS;
                self.exec(
                    &job,
                    at,
                    "/usr/bin/find",
                    &[
                        "find",
                        "-O3",
                        "/var/lib/php/sessions/",
                        "-ignore_readdir_race",
                        "-depth",
                        "-mindepth",
                        "1",
                        "-name",
                        "sess_*",
                        "-type",
                        "f",
                        "-cmin",
                        "+24",
                        "-delete",
                    ],
                );
                at += self.rng.range(10, 200) as i64 * MS;
            }
        }
        self.user_msg(&logged, at, AuditKind::UserEnd, msg("pam_loginuid,pam_env,pam_permit,pam_unix,pam_limits"));
        self.user_msg(&logged, at + 1, AuditKind::CredDisp, msg("pam_permit"));
    }

    fn timer(&mut self, t: Timestamp) {
        let systemd = Proc::daemon(PID_SYSTEMD, 0, "/usr/lib/systemd/systemd", &["/sbin/init"]);
        let units: &[(&str, &str, &[&str])] = &[
            ("logrotate", "/usr/sbin/logrotate", &["/usr/sbin/logrotate", "/etc/logrotate.conf"]),
            ("man-db", "/usr/bin/mandb", &["/usr/bin/mandb", "--quiet"]),
            ("systemd-tmpfiles-clean", "/usr/bin/systemd-tmpfiles", &["systemd-tmpfiles", "--clean"]),
            ("phpsessionclean", "/usr/lib/php/sessionclean", &["/usr/lib/php/sessionclean"]),
            ("sysstat-collect", "/usr/lib/sysstat/debian-sa1", &["/usr/lib/sysstat/debian-sa1", "1", "1"]),
            ("apt-daily", "/usr/lib/apt/apt.systemd.daily", &["/bin/sh", "/usr/lib/apt/apt.systemd.daily", "update"]),
            ("certbot", "/usr/bin/python3.11", &["/usr/bin/python3", "/usr/bin/certbot", "-q", "renew"]),
        ];
        let (unit, exe, argv) = *self.rng.pick(units);
        self.push(&systemd, t, AuditKind::ServiceStart { unit: unit.to_string() });
        let mut at = t + self.rng.range(1, 20) as i64 * MS;
        let p = self.exec(&systemd, at, exe, argv);
        at += self.rng.range(5, 100) as i64 * MS;
        match unit {
            "apt-daily" => {
                let apt = self.exec(&p, at, "/usr/bin/apt-get", &["apt-get", "-qq", "-y", "update"]);
                for _ in 0..2 + self.rng.range(0, 3) {
                    at += self.rng.range(1, 30) as i64 * MS;
                    let http = Proc {
                        pid: self.pid(),
                        ppid: apt.pid,
                        uid: 42,
                        exe: "/usr/lib/apt/methods/http".into(),
                        cmdline: vec!["/usr/lib/apt/methods/http".into()],
                        ..apt.clone()
                    };
                    self.push(&http, at, AuditKind::Execve { argv: http.cmdline.clone() });
                    let mirror = if self.rng.chance(0.5) {
                        IpAddr::V6(Ipv6Addr::new(0x2a04, 0x4e42, 0x8b, 0, 0, 0, 0, 0x644))
                    } else {
                        IpAddr::V4(Ipv4Addr::new(151, 101, 2, 132))
                    };
                    at += self.rng.range(1, 30) as i64 * MS;
                    self.push(
                        &http,
                        at,
                        AuditKind::Connect {
                            addr: SockAddr::Inet(SocketAddr::new(mirror, 80)),
                            result: ConnectResult::InProgress,
                        },
                    );
                }
                at += self.rng.range(1, 20) as i64 * SEC;
            }
            "certbot" => {
                self.push(
                    &p,
                    at,
                    AuditKind::Connect {
                        addr: SockAddr::Inet(SocketAddr::new(IpAddr::V4(Ipv4Addr::new(172, 65, 32, 248)), 443)),
                        result: ConnectResult::InProgress,
                    },
                );
                at += self.rng.range(300, 3000) as i64 * MS;
            }
            "logrotate" => {
                let sh = self.exec(
                    &p,
                    at,
                    "/usr/bin/dash",
                    &[
                        "sh",
                        "-c",
                        "invoke-rc.d nginx rotate >/dev/null 2>&1",
                        "logrotate_script",
                        "/var/log/nginx/*.log",
                    ],
                );
                at += self.rng.range(1, 10) as i64 * MS;
                self.exec(&sh, at, "/usr/sbin/invoke-rc.d", &["/bin/sh", "/usr/sbin/invoke-rc.d", "nginx", "rotate"]);
                at += self.rng.range(10, 300) as i64 * MS;
            }
            _ => at += self.rng.range(10, 2000) as i64 * MS,
        }
        self.push(&systemd, at, AuditKind::ServiceStop { unit: unit.to_string() });
    }

    fn dns(&mut self, t: Timestamp) {
        let resolved =
            Proc::daemon(PID_RESOLVED, 108, "/usr/lib/systemd/systemd-resolved", &["/lib/systemd/systemd-resolved"]);
        let server = if self.rng.chance(0.8) { Ipv4Addr::new(10, 20, 0, 2) } else { Ipv4Addr::new(10, 20, 0, 3) };
        let mut at = t;
        for _ in 0..1 + self.rng.range(0, 2) {
            let len = self.rng.range(28, 80) as u32;
            self.push(
                &resolved,
                at,
                AuditKind::SendTo { addr: SockAddr::Inet(SocketAddr::new(IpAddr::V4(server), 53)), len },
            );
            at += self.rng.range(0, 3) as i64 * MS + 1;
        }
    }

    fn ssh_failed(&mut self, t: Timestamp) {
        let sshd =
            Proc::daemon(PID_SSHD, 0, "/usr/sbin/sshd", &["sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups"]);
        let from = self.public_v4();
        let tries = 1 + self.rng.range(0, 4);
        let names = ["root", "admin", "ubuntu", "test", "oracle", "postgres", "git", "user", "guest", "deploy"];
        let mut at = t;
        for _ in 0..tries {
            let port = self.rng.range(32768, 61000) as u16;
            self.push(
                &sshd,
                at,
                AuditKind::Accept {
                    peer: SockAddr::Inet(SocketAddr::new(IpAddr::V4(from), port)),
                    call: AcceptCall::Accept,
                },
            );
            at += self.rng.range(1, 4) as i64 * MS;
            let child = self.exec(&sshd, at, "/usr/sbin/sshd", &["/usr/sbin/sshd", "-D", "-R"]);
            let child = Proc { cmdline: vec!["sshd: unknown [priv]".to_string()], ..child };
            let name = *self.rng.pick(&names);
            let known = name == "root" || name == "deploy";
            let acct = if known { name.to_string() } else { "(invalid user)".to_string() };
            let attempts = 1 + self.rng.range(0, 3);
            for _ in 0..attempts {
                at += self.rng.range(1500, 4000) as i64 * MS;
                let m = UserMessage {
                    account: Account::Name(if known { name.into() } else { "?".into() }),
                    grantors: Some("?".into()),
                    hostname: Some(from.to_string()),
                    addr: Some(IpAddr::V4(from)),
                    terminal: Some("ssh".into()),
                    outcome: Outcome::Failed,
                };
                self.user_msg(&child, at, AuditKind::UserAuth, m);
            }
            at += self.rng.range(1, 50) as i64 * MS;
            let m = UserMessage {
                account: Account::Name(acct),
                grantors: None,
                hostname: None,
                addr: Some(IpAddr::V4(from)),
                terminal: Some("ssh".into()),
                outcome: Outcome::Failed,
            };
            self.user_msg(&child, at, AuditKind::UserLogin, m);
            at += self.rng.range(200, 5000) as i64 * MS;
        }
    }

    fn admin_session(&mut self, t: Timestamp) {
        let user = self.rng.pick(USERS);
        let (name, uid, from) = (user.name, user.uid, IpAddr::V4(Ipv4Addr::from(user.from)));
        let sshd =
            Proc::daemon(PID_SSHD, 0, "/usr/sbin/sshd", &["sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups"]);
        let port = self.rng.range(40000, 61000) as u16;
        self.push(
            &sshd,
            t,
            AuditKind::Accept { peer: SockAddr::Inet(SocketAddr::new(from, port)), call: AcceptCall::Accept },
        );
        let mut at = t + 2 * MS;
        let child = self.exec(&sshd, at, "/usr/sbin/sshd", &["/usr/sbin/sshd", "-D", "-R"]);
        let child = Proc { cmdline: vec![format!("sshd: {name} [priv]")], ..child };
        let ses = self.next_ses;
        self.next_ses += 1;
        let msg = |grantors: &str, outcome: Outcome| UserMessage {
            account: Account::Name(name.into()),
            grantors: Some(grantors.into()),
            hostname: Some(from.to_string()),
            addr: Some(from),
            terminal: Some("ssh".into()),
            outcome,
        };
        at += self.rng.range(100, 900) as i64 * MS;
        self.user_msg(&child, at, AuditKind::UserAcct, msg("pam_permit", Outcome::Success));
        at += 3 * MS;
        self.user_msg(&child, at, AuditKind::CredAcq, msg("pam_permit", Outcome::Success));
        let logged = Proc { auid: Some(uid), ses: Some(ses), ..child.clone() };
        at += 2 * MS;
        self.push(&logged, at, AuditKind::Login { old_auid: None, old_ses: None });
        let session_grantors = SSHD_SESSION_GRANTORS;
        at += 20 * MS;
        self.user_msg(&logged, at, AuditKind::UserStart, msg(session_grantors, Outcome::Success));
        let pts = self.rng.range(0, 4);
        let login = UserMessage {
            account: Account::Id(uid),
            grantors: None,
            hostname: Some(from.to_string()),
            addr: Some(from),
            terminal: Some(format!("/dev/pts/{pts}")),
            outcome: Outcome::Success,
        };
        at += 40 * MS;
        self.user_msg(&logged, at, AuditKind::UserLogin, login);
        let user_proc = Proc { uid, tty: Some(format!("pts{pts}")), cwd: format!("/home/{name}"), ..logged.clone() };
        at += 10 * MS;
        let shell = self.exec(&user_proc, at, "/usr/bin/bash", &["-bash"]);
        let commands: &[(&str, &[&str])] = &[
            ("/usr/bin/ls", &["ls", "--color=auto", "-la"]),
            ("/usr/bin/ps", &["ps", "aux"]),
            ("/usr/bin/tail", &["tail", "-n", "200", "/var/log/nginx/error.log"]),
            ("/usr/bin/df", &["df", "-h"]),
            ("/usr/bin/vim.basic", &["vim", "/etc/nginx/sites-available/shop"]),
            ("/usr/bin/grep", &["grep", "-r", "upstream timed out", "/var/log/nginx/"]),
            ("/usr/bin/systemctl", &["systemctl", "status", "php8.2-fpm"]),
            ("/usr/bin/journalctl", &["journalctl", "-u", "nginx", "--since", "-1h"]),
            ("/usr/bin/git", &["git", "pull", "--ff-only"]),
            (
                "/usr/bin/curl",
                &["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "https://shop.example.com/health"],
            ),
            ("/usr/bin/sudo", &["sudo", "systemctl", "reload", "nginx"]),
            ("/usr/bin/htop", &["htop"]),
            ("/usr/bin/cat", &["cat", "/etc/os-release"]),
        ];
        let n = 3 + self.rng.range(0, 25);
        for _ in 0..n {
            at += self.rng_exp(25.0 * SEC as f64) as i64 + 300 * MS;
            let (exe, argv) = *self.rng.pick(commands);
            let cmd = self.exec(&shell, at, exe, argv);
            match exe {
                "/usr/bin/git" => {
                    let ssh = self.exec(
                        &cmd,
                        at + 5 * MS,
                        "/usr/bin/ssh",
                        &["/usr/bin/ssh", "git@git.example.com", "git-upload-pack '/shop/web.git'"],
                    );
                    self.push(
                        &ssh,
                        at + 30 * MS,
                        AuditKind::Connect {
                            addr: SockAddr::Inet(SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 20, 0, 40)), 22)),
                            result: ConnectResult::Connected,
                        },
                    );
                }
                "/usr/bin/curl" => {
                    self.push(
                        &cmd,
                        at + 8 * MS,
                        AuditKind::Connect {
                            addr: SockAddr::Inet(SocketAddr::new(IpAddr::V4(Ipv4Addr::from(HOST_V4)), 443)),
                            result: ConnectResult::InProgress,
                        },
                    );
                }
                "/usr/bin/sudo" => {
                    let sudo_msg = |acct: &str, grantors: &str| UserMessage {
                        account: Account::Name(acct.into()),
                        grantors: Some(grantors.into()),
                        hostname: None,
                        addr: None,
                        terminal: Some(format!("/dev/pts/{pts}")),
                        outcome: Outcome::Success,
                    };
                    self.user_msg(&cmd, at + 900 * MS, AuditKind::UserAuth, sudo_msg(name, "pam_unix"));
                    self.user_msg(&cmd, at + 901 * MS, AuditKind::UserAcct, sudo_msg(name, "pam_permit"));
                    self.user_msg(&cmd, at + 902 * MS, AuditKind::CredAcq, sudo_msg("root", "pam_permit"));
                    self.user_msg(
                        &cmd,
                        at + 903 * MS,
                        AuditKind::UserStart,
                        sudo_msg("root", "pam_limits,pam_permit,pam_unix"),
                    );
                    let root = Proc { uid: 0, ..cmd.clone() };
                    self.exec(&root, at + 905 * MS, "/usr/bin/systemctl", &["systemctl", "reload", "nginx"]);
                    self.user_msg(
                        &cmd,
                        at + 990 * MS,
                        AuditKind::UserEnd,
                        sudo_msg("root", "pam_limits,pam_permit,pam_unix"),
                    );
                    self.user_msg(&cmd, at + 991 * MS, AuditKind::CredDisp, sudo_msg("root", "pam_permit"));
                    at += SEC;
                }
                _ => {}
            }
        }
        at += self.rng.range(1, 30) as i64 * SEC;
        self.user_msg(&logged, at, AuditKind::UserEnd, msg(session_grantors, Outcome::Success));
        self.user_msg(&logged, at + 2 * MS, AuditKind::CredDisp, msg("pam_permit", Outcome::Success));
    }

    fn monitoring(&mut self, t: Timestamp) {
        let agent = Proc::daemon(
            1024,
            997,
            "/usr/bin/prometheus-node-exporter",
            &["/usr/bin/prometheus-node-exporter", "--collector.textfile.directory=/var/lib/prometheus/node-exporter"],
        );
        let scraper = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 20, 0, 5)), self.rng.range(40000, 61000) as u16);
        self.push(&agent, t, AuditKind::Accept { peer: SockAddr::Inet(scraper), call: AcceptCall::Accept4 });
        if self.rng.chance(0.3) {
            let at = t + self.rng.range(1, 50) as i64 * MS;
            self.push(
                &agent,
                at,
                AuditKind::Connect {
                    addr: SockAddr::Unix("/run/systemd/private".into()),
                    result: ConnectResult::Connected,
                },
            );
        }
        if self.rng.chance(0.8) {
            // A textfile collector run by its systemd timer.
            let systemd = Proc::daemon(PID_SYSTEMD, 0, "/usr/lib/systemd/systemd", &["/sbin/init"]);
            let at = t + self.rng.range(100, 900) as i64 * MS;
            let sh = self.exec(&systemd, at, "/usr/bin/dash", &["/bin/sh", "-c", APT_COLLECTOR]);
            self.exec(
                &sh,
                at + 3 * MS,
                "/usr/bin/python3.11",
                &["/usr/bin/python3", "/usr/share/prometheus-node-exporter-collectors/apt_info.py"],
            );
            self.exec(
                &sh,
                at + 3 * MS + 1,
                "/usr/bin/sponge",
                &["sponge", "/var/lib/prometheus/node-exporter/apt.prom"],
            );
        }
    }

    /// Rare but interesting: signals, tracing, module loads, account and rule changes.
    fn rare(&mut self, t: Timestamp) {
        let admin = USERS[0].uid;
        let root_shell = Proc {
            pid: self.pid(),
            ppid: 1,
            uid: 0,
            auid: Some(admin),
            ses: Some(self.next_ses.saturating_sub(1)),
            tty: Some("pts0".into()),
            comm: "bash".into(),
            exe: "/usr/bin/bash".into(),
            cwd: "/root".into(),
            cmdline: vec!["bash".into()],
        };
        match self.rng.range(0, 7) {
            0 => {
                let kill = self.exec(&root_shell, t, "/usr/bin/kill", &["kill", "-HUP", "812"]);
                self.push(
                    &kill,
                    t + MS,
                    AuditKind::Kill {
                        target: TargetProcess { pid: PID_NGINX, auid: None, uid: 0, ses: None, comm: "nginx".into() },
                        signal: 1,
                    },
                );
            }
            1 => {
                let pid = PID_FPM + 1 + self.rng.range(0, 6) as u32;
                let strace = self.exec(&root_shell, t, "/usr/bin/strace", &["strace", "-f", "-p", &pid.to_string()]);
                self.push(
                    &strace,
                    t + 2 * MS,
                    AuditKind::Ptrace {
                        target: TargetProcess { pid, auid: None, uid: 33, ses: None, comm: "php-fpm8.2".into() },
                        request: 0x4206,
                    },
                );
            }
            2 => {
                let name = *self.rng.pick(&["nf_conntrack_ftp", "xt_recent", "usb_storage", "overlay"]);
                let modprobe = self.exec(&root_shell, t, "/usr/bin/kmod", &["modprobe", name]);
                self.push(
                    &modprobe,
                    t + 4 * MS,
                    AuditKind::ModuleLoad { name: name.into(), call: ModuleCall::FinitModule },
                );
            }
            3 => {
                let useradd =
                    self.exec(&root_shell, t, "/usr/sbin/useradd", &["useradd", "-m", "-s", "/bin/bash", "contractor"]);
                let m = UserMessage {
                    terminal: Some("pts/0".into()),
                    hostname: Some("web-01".into()),
                    ..UserMessage::new("contractor")
                };
                self.user_msg(&useradd, t + 30 * MS, AuditKind::AddUser, m);
            }
            4 => {
                let userdel = self.exec(&root_shell, t, "/usr/sbin/userdel", &["userdel", "-r", "contractor"]);
                let m = UserMessage {
                    terminal: Some("pts/0".into()),
                    hostname: Some("web-01".into()),
                    ..UserMessage::new("contractor")
                };
                self.user_msg(&userdel, t + 30 * MS, AuditKind::DelUser, m);
            }
            5 => {
                // `systemctl restart php8.2-fpm`: the new master binds its socket.
                let systemd = Proc::daemon(PID_SYSTEMD, 0, "/usr/lib/systemd/systemd", &["/sbin/init"]);
                let unit = "php8.2-fpm".to_string();
                self.push(&systemd, t, AuditKind::ServiceStop { unit: unit.clone() });
                let argv = ["php-fpm: master process (/etc/php/8.2/fpm/php-fpm.conf)"];
                let fpm = self.exec(
                    &systemd,
                    t + 80 * MS,
                    "/usr/sbin/php-fpm8.2",
                    &["/usr/sbin/php-fpm8.2", "--nodaemonize", "--fpm-config", "/etc/php/8.2/fpm/php-fpm.conf"],
                );
                let fpm = Proc { cmdline: argv.iter().map(|s| s.to_string()).collect(), ..fpm };
                let socket = SockAddr::Unix("/run/php/php8.2-fpm.sock".into());
                self.push(&fpm, t + 95 * MS, AuditKind::Bind { addr: socket });
                self.push(&systemd, t + 120 * MS, AuditKind::ServiceStart { unit });
            }
            _ => {
                let auditctl = self.exec(
                    &root_shell,
                    t,
                    "/usr/sbin/auditctl",
                    &["auditctl", "-w", "/etc/shadow", "-p", "wa", "-k", "shadow"],
                );
                self.push(
                    &auditctl,
                    t + MS,
                    AuditKind::ConfigChange {
                        op: "add_rule".into(),
                        key: Some("shadow".into()),
                        list: 4,
                        outcome: Outcome::Success,
                    },
                );
            }
        }
    }
}
