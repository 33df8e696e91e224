//! Scenarios: whole bundles with a truth file, reproducible from a seed.
//!
//! - `appliance-compromise`: an unmanaged VPN appliance exploited from the internet beacons to
//!   two rare external hosts, makes OAST DNS callbacks, uploads system files by HTTP POST,
//!   downloads an ELF from an S3 bucket, serves a web shell, scans the internal range, moves to
//!   a Windows host (SMB, RDP) and a Linux server (SSH), tunnels over DNS, and the Linux server
//!   then mines Monero — all over background traffic of ordinary workstations.
//! - `benign`: the background alone, including periodic but popular services (NTP, update
//!   checks, a CDN), for false-positive checks.
//!
//! Parameters (beacon periods and jitter, sizes, the address plan's hosts, timing) vary with the
//! seed. `truth.json` lists every injected behaviour with host, peer and time window;
//! `expect.toml` restates it as expectations for `seam check` (see [`expect_toml`]).

use super::net::{Close, Endpoint, Exchange, Traffic};
use super::proto::{self, Answer};
use super::rng::Rng;
use serde::Serialize;
use std::fs::File;
use std::io::{self, BufWriter};
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

pub const SCENARIOS: &[&str] = &["appliance-compromise", "benign"];

const SEC: i64 = 1_000_000_000;
const MS: i64 = 1_000_000;

/// One injected behaviour, as detection should find it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TruthStage {
    /// Stable name of the behaviour (`beacon`, `dns-tunnel`, …), matching detector ids.
    pub behaviour: String,
    pub host: String,
    pub peer: Option<String>,
    pub domain: Option<String>,
    pub first: i64,
    pub last: i64,
    pub note: String,
    /// The executable the behaviour's connections came from, when an endpoint log names it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process: Option<String>,
}

/// What a scenario wrote.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Truth {
    pub scenario: String,
    pub seed: u64,
    pub start: i64,
    pub end: i64,
    pub internal: Vec<String>,
    pub stages: Vec<TruthStage>,
    /// Each endpoint log's clock minus the capture's, in nanoseconds, by host name.
    pub clock_offsets: std::collections::BTreeMap<String, i64>,
}

fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

/// The hosts of a generated network.
#[derive(Clone)]
struct Plan {
    dns_server: IpAddr,
    appliance: IpAddr,
    windows: IpAddr,
    linux: IpAddr,
    workstations: Vec<IpAddr>,
    c2: [IpAddr; 2],
    attacker: IpAddr,
    s3: IpAddr,
    pool: IpAddr,
}

/// Popular destinations every workstation uses.
const POPULAR: &[(&str, [u8; 4])] = &[
    ("www.microsoft.com", [23, 45, 100, 10]),
    ("update.googleapis.com", [142, 250, 74, 3]),
    ("outlook.office365.com", [52, 97, 150, 2]),
    ("cdn.jsdelivr.net", [151, 101, 1, 229]),
    ("github.com", [140, 82, 121, 4]),
    ("slack.com", [34, 196, 12, 8]),
    ("www.wikipedia.org", [185, 15, 59, 224]),
];

struct Gen {
    rng: Rng,
    t: Traffic,
    plan: Plan,
    start: i64,
    end: i64,
    dns_id: u16,
    stages: Vec<TruthStage>,
    /// Connections the managed hosts' own logs record (written after the capture, from a
    /// generator of their own, so the capture is the same with or without them).
    logged: Vec<Logged>,
}

/// One attack connection as the capture has it, for the endpoint logs to match.
#[derive(Debug, Clone, Copy)]
struct Logged {
    ts: i64,
    client: Endpoint,
    server: Endpoint,
    what: &'static str,
}

impl Gen {
    fn plan_hosts(&self) -> super::scenario_logs::Hosts {
        super::scenario_logs::Hosts {
            windows: self.plan.windows,
            linux: self.plan.linux,
            appliance: self.plan.appliance,
        }
    }

    fn logged_facts(&self) -> Vec<super::scenario_logs::Fact> {
        self.logged
            .iter()
            .map(|l| super::scenario_logs::Fact { ts: l.ts, client: l.client, server: l.server, what: l.what })
            .collect()
    }

    /// The Linux server's nightly-style backup, every 15 minutes: rsync to the Windows host,
    /// which its audit log records too. Drawn from a generator of its own, so the rest of the
    /// capture does not depend on it.
    fn backups(&mut self, seed: u64) {
        let mut rng = Rng::new(seed ^ 0xBAC0_0B5E);
        let (linux, windows) = (self.plan.linux, self.plan.windows);
        let mut t = self.start + rng.range(60, 600) as i64 * SEC;
        while t < self.end - 60 * SEC {
            let client = Endpoint::new(linux, rng.range(32768, 60999) as u16);
            let server = Endpoint::new(windows, 873);
            let up = vec![b'x'; rng.range(20_000, 60_000) as usize];
            self.logged.push(Logged { ts: t, client, server, what: "backup" });
            self.t.tcp_session(
                t,
                client,
                server,
                MS,
                &[
                    Exchange::server(MS, b"@RSYNCD: 31.0\n".to_vec()),
                    Exchange::client(MS, b"@RSYNCD: 31.0\ndb\n".to_vec()),
                    Exchange::client(MS, up),
                    Exchange::server(MS, b"@RSYNCD: EXIT\n".to_vec()),
                ],
                Close::Fin,
            );
            t += 15 * 60 * SEC;
        }
    }

    /// Each workstation renews its DHCP lease from the DNS server (which also serves DHCP) early
    /// in the capture, naming itself `ws-<n>`. Drawn from a generator of its own, so the rest of
    /// the capture does not depend on it.
    fn leases(&mut self, seed: u64) {
        let mut rng = Rng::new(seed ^ 0xD4C9_1EA5);
        let IpAddr::V4(server) = self.plan.dns_server else { return };
        for &h in &self.plan.workstations {
            let IpAddr::V4(v4) = h else { continue };
            let ts = self.start + rng.range(1, 600) as i64 * SEC;
            let xid = rng.range(1, u64::from(u32::MAX)) as u32;
            let mac = super::net::mac_of(h);
            let name = format!("ws-{}", v4.octets()[3]);
            let (c, s) = (Endpoint::new(h, 68), Endpoint::new(self.plan.dns_server, 67));
            let req = proto::dhcp_message(1, xid, v4.octets(), [0; 4], mac, 3, None, Some(&name));
            let ack = proto::dhcp_message(2, xid, v4.octets(), v4.octets(), mac, 5, Some(server.octets()), None);
            self.t.udp(ts, c, s, &req);
            self.t.udp(ts + 2 * MS, s, c, &ack);
        }
    }

    fn ephemeral(&mut self) -> u16 {
        self.rng.range(32768, 60999) as u16
    }

    /// A DNS lookup through the internal resolver, answered after a few ms.
    fn lookup(&mut self, ts: i64, client: IpAddr, name: &str, qtype: u16, answers: &[Answer], rcode: u8) {
        self.dns_id = self.dns_id.wrapping_add(7919);
        let c = Endpoint::new(client, self.ephemeral());
        let s = Endpoint::new(self.plan.dns_server, 53);
        self.t.udp(ts, c, s, &proto::dns_query(self.dns_id, name, qtype));
        let rtt = self.rng.range(2, 30) as i64 * MS;
        self.t.udp(ts + rtt, s, c, &proto::dns_response(self.dns_id, name, qtype, rcode, answers));
    }

    fn tls(&mut self, ts: i64, client: IpAddr, server: IpAddr, sni: &str, up: usize, down: usize) -> i64 {
        let mut random = [0u8; 32];
        for b in random.iter_mut() {
            *b = self.rng.next_u64() as u8;
        }
        let c = Endpoint::new(client, self.ephemeral());
        let s = Endpoint::new(server, 443);
        let rtt = self.rng.range(10, 60) as i64 * MS;
        let ex = [
            Exchange::client(MS, proto::tls_client_hello(sni, &["h2", "http/1.1"], random)),
            Exchange::server(rtt, proto::tls_server_hello(0x1301, random)),
            Exchange::client(MS, proto::tls_app_data(up.max(50), 1)),
            Exchange::server(rtt, proto::tls_app_data(down.clamp(50, 16_000), 2)),
        ];
        self.t.tcp_session(ts, c, s, rtt, &ex, Close::Fin)
    }

    fn http(&mut self, ts: i64, client: IpAddr, server: IpAddr, port: u16, req: Vec<u8>, resp: Vec<u8>) -> i64 {
        let c = Endpoint::new(client, self.ephemeral());
        let s = Endpoint::new(server, port);
        let rtt = self.rng.range(5, 80) as i64 * MS;
        self.t.tcp_session(ts, c, s, rtt, &[Exchange::client(MS, req), Exchange::server(rtt, resp)], Close::Fin)
    }

    fn stage(
        &mut self,
        behaviour: &str,
        host: IpAddr,
        peer: Option<IpAddr>,
        domain: Option<&str>,
        window: (i64, i64),
        note: &str,
    ) {
        let (first, last) = window;
        self.stages.push(TruthStage {
            behaviour: behaviour.into(),
            host: host.to_string(),
            peer: peer.map(|p| p.to_string()),
            domain: domain.map(str::to_string),
            first,
            last,
            note: note.into(),
            process: None,
        });
    }

    /// Ordinary workstation activity, including periodic but popular services.
    fn background(&mut self) {
        let hosts = self.plan.workstations.clone();
        for &h in &hosts {
            // Browsing: lookups then TLS sessions to popular sites, at human intervals.
            let mut ts = self.start + self.rng.range(0, 300) as i64 * SEC;
            while ts < self.end {
                let (name, addr) = *self.rng.pick(POPULAR);
                let ip = v4(addr[0], addr[1], addr[2], addr[3]);
                self.lookup(ts, h, name, proto::QTYPE_A, &[Answer::Addr(ip, 300)], 0);
                let up = self.rng.range(300, 2000) as usize;
                let down = self.rng.range(2000, 16000) as usize;
                self.tls(ts + 40 * MS, h, ip, name, up, down);
                ts += self.rng.range(20, 600) as i64 * SEC;
            }
            // NTP every 1024 s (periodic, and every host does it: popular).
            let mut ts = self.start + self.rng.range(0, 1024) as i64 * SEC;
            while ts < self.end {
                let c = Endpoint::new(h, 123);
                let s = Endpoint::new(v4(162, 159, 200, 1), 123);
                self.t.udp(ts, c, s, &[0x23; 48]);
                self.t.udp(ts + 15 * MS, s, c, &[0x24; 48]);
                ts += 1024 * SEC;
            }
            // Update check every 15 minutes over HTTP.
            let mut ts = self.start + self.rng.range(0, 900) as i64 * SEC;
            while ts < self.end {
                let ip = v4(142, 250, 74, 3);
                let req = proto::http_request(
                    "GET",
                    "update.googleapis.com",
                    "/service/update2/json?cup2key=9",
                    "GoogleUpdater/1.3",
                    b"",
                    None,
                );
                let resp = proto::http_response(
                    200,
                    "OK",
                    "application/json",
                    b"{\"response\":{\"protocol\":\"3.1\",\"app\":[]}}",
                );
                self.http(ts, h, ip, 80, req, resp);
                ts += 900 * SEC;
            }
        }
    }

    fn attack(&mut self) {
        let p = self.plan.clone();
        let span = self.end - self.start;
        let t_exploit = self.start + span / 6;

        // Initial access: HTTPS from the attacker to the appliance, then the web shell.
        let mut ts = t_exploit;
        for _ in 0..4 {
            let c = Endpoint::new(p.attacker, self.ephemeral());
            let s = Endpoint::new(p.appliance, 443);
            let body = vec![b'A'; 1800];
            let req = proto::http_request(
                "POST",
                "vpn.example.org",
                "/dana-na/auth/url_default/welcome.cgi",
                "python-requests/2.31",
                &body,
                Some("application/x-www-form-urlencoded"),
            );
            self.t.tcp_session(
                ts,
                c,
                s,
                80 * MS,
                &[
                    Exchange::client(MS, req),
                    Exchange::server(90 * MS, proto::http_response(200, "OK", "text/html", b"<html>ok</html>")),
                ],
                Close::Fin,
            );
            ts += self.rng.range(3, 20) as i64 * SEC;
        }
        let shell_start = ts;
        for cmd in ["id", "uname+-a", "cat+/etc/passwd", "ip+addr"] {
            let uri = format!("/dana-na/css/ds.php?cmd={cmd}");
            let req = proto::http_request("GET", "vpn.example.org", &uri, "curl/8.4.0", b"", None);
            let resp = proto::http_response(200, "OK", "text/plain", b"uid=0(root) gid=0(root)\n");
            let c = Endpoint::new(p.attacker, self.ephemeral());
            let s = Endpoint::new(p.appliance, 80);
            self.t.tcp_session(
                ts,
                c,
                s,
                80 * MS,
                &[Exchange::client(MS, req), Exchange::server(90 * MS, resp)],
                Close::Fin,
            );
            ts += self.rng.range(5, 30) as i64 * SEC;
        }
        self.stage(
            "webshell",
            p.appliance,
            Some(p.attacker),
            None,
            (shell_start, ts),
            "inbound requests to a rare URI returning command output",
        );

        // OAST callbacks validating the exploit.
        let oast = format!("{}.oast.fun", self.rng.label(20));
        let t_oast = t_exploit + 2 * SEC;
        self.lookup(t_oast, p.appliance, &oast, proto::QTYPE_A, &[Answer::Addr(v4(178, 128, 16, 97), 60)], 0);
        self.lookup(t_oast + 3 * SEC, p.appliance, &oast, proto::QTYPE_A, &[Answer::Addr(v4(178, 128, 16, 97), 60)], 0);
        self.stage(
            "oast",
            p.appliance,
            None,
            Some("oast.fun"),
            (t_oast, t_oast + 3 * SEC),
            "interactsh callback lookups",
        );

        // Payload: an ELF from an S3 bucket.
        let t_payload = ts + 30 * SEC;
        self.lookup(
            t_payload,
            p.appliance,
            "update-cdn-17.s3.amazonaws.com",
            proto::QTYPE_A,
            &[Answer::Addr(p.s3, 5)],
            0,
        );
        let elf = proto::elf_binary(self.rng.range(300_000, 900_000) as usize);
        let req =
            proto::http_request("GET", "update-cdn-17.s3.amazonaws.com", "/x86_64/agent", "Wget/1.21.3", b"", None);
        let resp = proto::http_response(200, "OK", "binary/octet-stream", &elf);
        let end = self.http(t_payload + 50 * MS, p.appliance, p.s3, 80, req, resp);
        self.stage(
            "payload-download",
            p.appliance,
            Some(p.s3),
            Some("update-cdn-17.s3.amazonaws.com"),
            (t_payload, end),
            "ELF fetched over HTTP from S3",
        );

        // Beacons to two rare hosts, with seeded period and jitter.
        for (i, c2) in p.c2.iter().enumerate() {
            let period = self.rng.range(30, 300) as i64 * SEC;
            let jitter = self.rng.unit() * 0.3;
            let mut bt = t_payload + (60 + 30 * i as i64) * SEC;
            let first = bt;
            let mut last = bt;
            while bt < self.end - period {
                let c = Endpoint::new(p.appliance, self.ephemeral());
                let s = Endpoint::new(*c2, 443);
                let mut random = [0u8; 32];
                random[0] = i as u8;
                let ex = [
                    Exchange::client(MS, proto::tls_client_hello("", &[], random)),
                    Exchange::server(40 * MS, proto::tls_server_hello(0x1302, random)),
                    Exchange::client(MS, proto::tls_app_data(180, 3)),
                    Exchange::server(40 * MS, proto::tls_app_data(90, 4)),
                ];
                last = self.t.tcp_session(bt, c, s, 40 * MS, &ex, Close::Fin);
                let j = 1.0 + jitter * (2.0 * self.rng.unit() - 1.0);
                bt += (period as f64 * j) as i64;
            }
            self.stage(
                "beacon",
                p.appliance,
                Some(*c2),
                None,
                (first, last),
                &format!("period {} s, jitter {:.0} %", period / SEC, jitter * 100.0),
            );
        }

        // Exfiltration: large POSTs of .dat and .sys files to the first C2.
        let mut xt = t_payload + 600 * SEC;
        let x_first = xt;
        for name in ["system.dat", "config.dat", "kernel.sys"] {
            let body: Vec<u8> = (0..self.rng.range(400_000, 1_200_000)).map(|i| (i * 31 % 251) as u8).collect();
            let uri = format!("/upload?f={name}");
            let req = proto::http_request(
                "POST",
                &p.c2[0].to_string(),
                &uri,
                "curl/8.4.0",
                &body,
                Some("application/octet-stream"),
            );
            xt = self.http(xt, p.appliance, p.c2[0], 8080, req, proto::http_response(200, "OK", "text/plain", b"ok"))
                + 20 * SEC;
        }
        self.stage(
            "exfil",
            p.appliance,
            Some(p.c2[0]),
            None,
            (x_first, xt),
            "large HTTP POST uploads of .dat/.sys files",
        );

        // Internal scan.
        let mut st = xt + 60 * SEC;
        let s_first = st;
        for host in 1..=40u8 {
            let target = match p.dns_server {
                IpAddr::V4(d) => v4(d.octets()[0], d.octets()[1], d.octets()[2], host),
                IpAddr::V6(_) => p.windows,
            };
            for port in [22u16, 445, 3389] {
                let c = Endpoint::new(p.appliance, self.ephemeral());
                let s = Endpoint::new(target, port);
                let rejected = self.rng.chance(0.5);
                // The scanner does not probe itself (its own address is in the /24); the draws
                // are made all the same, so the rest of the bundle stays as the seed gives it.
                if target != p.appliance {
                    if rejected {
                        self.t.tcp_rejected(st, c, s, MS);
                    } else {
                        self.t.tcp_unanswered(st, c, s);
                    }
                }
                st += 20 * MS;
            }
        }
        self.stage("scan", p.appliance, None, None, (s_first, st), "SYN sweep of the internal /24 on 22, 445, 3389");

        // Lateral movement: SMB and RDP to the Windows host, SSH to the Linux server.
        let lt = st + 120 * SEC;
        let smb_neg: Vec<u8> = [&[0u8, 0, 0, 0x44][..], &[0xfe, b'S', b'M', b'B', 64, 0], &[0u8; 58]].concat();
        let c = Endpoint::new(p.appliance, self.ephemeral());
        self.logged.push(Logged { ts: lt, client: c, server: Endpoint::new(p.windows, 445), what: "smb" });
        let l1 = self.t.tcp_session(
            lt,
            c,
            Endpoint::new(p.windows, 445),
            2 * MS,
            &[Exchange::client(MS, smb_neg.clone()), Exchange::server(2 * MS, smb_neg)],
            Close::Fin,
        );
        let c = Endpoint::new(p.appliance, self.ephemeral());
        self.logged.push(Logged { ts: l1 + 10 * SEC, client: c, server: Endpoint::new(p.windows, 3389), what: "rdp" });
        let l2 = self.t.tcp_session(
            l1 + 10 * SEC,
            c,
            Endpoint::new(p.windows, 3389),
            2 * MS,
            &[
                Exchange::client(MS, vec![3, 0, 0, 19, 14, 224, 0, 0, 0, 0, 0, 1, 0, 8, 0, 3, 0, 0, 0]),
                Exchange::server(2 * MS, vec![3, 0, 0, 19, 14, 208, 0, 0, 18, 52, 0, 2, 15, 8, 0, 2, 0, 0, 0]),
            ],
            Close::Fin,
        );
        self.stage(
            "lateral-movement",
            p.appliance,
            Some(p.windows),
            None,
            (lt, l2),
            "first SMB then RDP connection from the appliance",
        );
        let c = Endpoint::new(p.appliance, self.ephemeral());
        self.logged.push(Logged { ts: l2 + 30 * SEC, client: c, server: Endpoint::new(p.linux, 22), what: "ssh" });
        let l3 = self.t.tcp_session(
            l2 + 30 * SEC,
            c,
            Endpoint::new(p.linux, 22),
            2 * MS,
            &[
                Exchange::server(MS, b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n".to_vec()),
                Exchange::client(MS, b"SSH-2.0-Go\r\n".to_vec()),
                Exchange::client(MS, vec![0u8; 1200]),
                Exchange::server(MS, vec![0u8; 900]),
            ],
            Close::Fin,
        );
        self.stage(
            "lateral-movement",
            p.appliance,
            Some(p.linux),
            None,
            (l2 + 30 * SEC, l3),
            "first SSH connection from the appliance",
        );

        // DNS tunnel from the appliance.
        let mut dt = l3 + 60 * SEC;
        let d_first = dt;
        let tunnel = "t.cdn-sync-api.net";
        for _ in 0..self.rng.range(150, 300) {
            let n = self.rng.range(40, 60) as usize;
            let name = format!("{}.{}", self.rng.label(n), tunnel);
            let txt = self.rng.label(120);
            self.lookup(dt, p.appliance, &name, proto::QTYPE_TXT, &[Answer::Txt(txt, 0)], 0);
            dt += self.rng.range(500, 4000) as i64 * MS;
        }
        self.stage(
            "dns-tunnel",
            p.appliance,
            None,
            Some("cdn-sync-api.net"),
            (d_first, dt),
            "TXT queries with long random labels",
        );

        // The Linux server mines Monero through a pool.
        let mt = dt + 120 * SEC;
        let c = Endpoint::new(p.linux, self.ephemeral());
        let wallet = format!("4{}", self.rng.label(94));
        let mut ex = vec![Exchange::client(
            MS,
            proto::stratum_login(&wallet, "XMRig/6.21.0 (Linux x86_64) libuv/1.44.2 gcc/12.2.0"),
        )];
        ex.push(Exchange::server(80 * MS, b"{\"id\":1,\"jsonrpc\":\"2.0\",\"error\":null,\"result\":{\"id\":\"1\",\"job\":{\"blob\":\"0707\",\"job_id\":\"1\",\"target\":\"b88d0600\"},\"status\":\"OK\"}}\n".to_vec()));
        let mut k = 0;
        while mt + k * 30 * SEC < self.end - 60 * SEC && k < 200 {
            ex.push(Exchange::client(30 * SEC, format!("{{\"id\":{},\"jsonrpc\":\"2.0\",\"method\":\"submit\",\"params\":{{\"id\":\"1\",\"job_id\":\"1\",\"nonce\":\"{:08x}\",\"result\":\"00\"}}}}\n", k + 2, k).into_bytes()));
            k += 1;
        }
        self.logged.push(Logged { ts: mt, client: c, server: Endpoint::new(p.pool, 3333), what: "miner" });
        let m_end = self.t.tcp_session(mt, c, Endpoint::new(p.pool, 3333), 80 * MS, &ex, Close::Open);
        self.stage(
            "cryptominer",
            p.linux,
            Some(p.pool),
            None,
            (mt, m_end),
            "Stratum login and share submissions in clear",
        );
        self.stage(
            "process-network-anomaly",
            p.linux,
            Some(p.pool),
            None,
            (mt, m_end),
            "the miner, run from the hidden temporary directory /tmp/.x, connects to a rare address",
        );
        if let Some(s) = self.stages.last_mut() {
            s.process = Some("/tmp/.x/xmrig".into());
        }
        self.stage(
            "unmanaged-asset",
            p.appliance,
            None,
            None,
            (t_payload, l3),
            "an internet-facing host without endpoint telemetry reaching rare external hosts and internal \
             SMB, RDP and SSH",
        );
    }

    /// The Windows host's Sysmon service stopped half-way (see `scenario_logs`): its Sysmon log
    /// ends while its traffic goes on.
    fn agent_stopped(&mut self, seed: u64) {
        let windows = self.plan.windows;
        let stop = super::scenario_logs::sysmon_stop(seed, self.start, self.end);
        self.stage(
            "edr-tamper",
            windows,
            None,
            None,
            (stop - super::scenario_logs::SYSMON_STOP_LEAD, stop + super::scenario_logs::SYSMON_STOP_TRAIL),
            "sc.exe stop Sysmon64: Sysmon's state record Stopped, System 7036 Sysmon64 entered the stopped state",
        );
        self.stage(
            "telemetry-gap",
            windows,
            None,
            None,
            (stop, self.end),
            "the Sysmon log ends while the host keeps answering the backups and its other logs go on",
        );
    }
}

/// Writes the bundle of `scenario` with `seed` into `dir` (created if missing). `hours` sets
/// the capture length; `workstations` the background size.
pub fn generate(scenario: &str, seed: u64, dir: &Path, hours: f64, workstations: usize) -> io::Result<Truth> {
    if !SCENARIOS.contains(&scenario) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("unknown scenario '{scenario}'; known: {}", SCENARIOS.join(", ")),
        ));
    }
    std::fs::create_dir_all(dir)?;
    let mut rng = Rng::new(seed);
    let subnet = rng.range(10, 250) as u8;
    let net = |d: u8| v4(10, subnet, 0, d);
    let plan = Plan {
        dns_server: net(2),
        appliance: net(1),
        windows: net(50),
        linux: net(60),
        workstations: (0..workstations.max(1)).map(|i| net(100 + i as u8)).collect(),
        c2: [
            v4(45, 77, rng.range(1, 250) as u8, rng.range(1, 250) as u8),
            v4(185, 220, rng.range(1, 250) as u8, rng.range(1, 250) as u8),
        ],
        attacker: v4(103, 75, rng.range(1, 250) as u8, rng.range(1, 250) as u8),
        s3: v4(52, 216, rng.range(1, 250) as u8, rng.range(1, 250) as u8),
        pool: v4(94, 130, rng.range(1, 250) as u8, rng.range(1, 250) as u8),
    };
    // 2024-05-01T08:00:00Z plus up to a day, from the seed.
    let start = 1_714_550_400 * SEC + rng.range(0, 86_400) as i64 * SEC;
    let end = start + (hours * 3600.0) as i64 * SEC;
    let mut internal: Vec<String> =
        [plan.dns_server, plan.appliance, plan.windows, plan.linux].iter().map(|i| i.to_string()).collect();
    internal.extend(plan.workstations.iter().map(|i| i.to_string()));
    let mut g =
        Gen { rng, t: Traffic::new(), plan, start, end, dns_id: seed as u16, stages: Vec::new(), logged: Vec::new() };
    g.background();
    g.leases(seed);
    if scenario == "appliance-compromise" {
        g.attack();
        g.backups(seed);
        g.agent_stopped(seed);
    }
    if scenario == "appliance-compromise" {
        super::scenario_logs::write(dir, seed, &g.plan_hosts(), start, end, &g.logged_facts())?;
    }
    let pcap = BufWriter::new(File::create(dir.join("network.pcap"))?);
    g.t.write_pcap(pcap)?.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    let clock_offsets = if scenario == "appliance-compromise" {
        [
            (super::scenario_logs::LINUX_NAME.to_string(), super::scenario_logs::linux_clock_offset(seed)),
            (super::scenario_logs::WINDOWS_NAME.to_string(), 0),
        ]
        .into_iter()
        .collect()
    } else {
        Default::default()
    };
    let truth = Truth { scenario: scenario.into(), seed, start, end, internal, stages: g.stages, clock_offsets };
    let json = serde_json::to_vec_pretty(&truth).map_err(io::Error::other)?;
    std::fs::write(dir.join("truth.json"), json)?;
    std::fs::write(dir.join("expect.toml"), expect_toml(&truth))?;
    Ok(truth)
}

/// Expectations for `seam check` derived from the truth: every stage as a finding of at least
/// medium on its host (and peer, domain or process when the truth names one); the stages in
/// one incident of at least high holding every acting host, in the truth's time order (one
/// stage per distinct start time, since stages that start together may be told either way
/// round); nothing else above low.
pub fn expect_toml(truth: &Truth) -> String {
    let q = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
    let mut out = format!(
        "# Expectations for `seam check DIR --expect DIR/expect.toml`, derived from truth.json\n\
         # (scenario {}, seed {}).\n\
         unexpected_above = \"low\"\n",
        truth.scenario, truth.seed
    );
    for st in &truth.stages {
        out.push_str(&format!("\n[[finding]]\ndetector = {}\nhost = {}\n", q(&st.behaviour), q(&st.host)));
        if let Some(peer) = st.peer.as_deref().or(st.domain.as_deref()) {
            out.push_str(&format!("peer = {}\n", q(peer)));
        }
        if let Some(p) = &st.process {
            out.push_str(&format!("process = {}\n", q(p)));
        }
        out.push_str("min_severity = \"medium\"\n");
    }
    if !truth.stages.is_empty() {
        let mut hosts: Vec<&str> = Vec::new();
        for st in &truth.stages {
            if !hosts.contains(&st.host.as_str()) {
                hosts.push(&st.host);
            }
        }
        let mut timed: Vec<(i64, usize)> = truth.stages.iter().enumerate().map(|(i, s)| (s.first, i)).collect();
        timed.sort();
        timed.dedup_by_key(|(t, _)| *t);
        let order: Vec<String> = timed.iter().map(|&(_, i)| q(&truth.stages[i].behaviour)).collect();
        let hosts: Vec<String> = hosts.iter().map(|h| q(h)).collect();
        out.push_str(&format!(
            "\n[[incident]]\nhosts = [{}]\norder = [{}]\nmin_severity = \"high\"\n",
            hosts.join(", "),
            order.join(", ")
        ));
    }
    out
}
