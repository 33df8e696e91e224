//! End-to-end behaviour of the capture pipeline on generated traffic with known answers:
//! flow accounting and timeouts, application records, filters, formats and determinism.

use assert_cmd::Command;
use seam::synth::net::{Close, Endpoint, Exchange, Traffic};
use seam::synth::proto;
use serde_json::Value;
use std::path::{Path, PathBuf};

const SEC: i64 = 1_000_000_000;
const T0: i64 = 1_714_550_400 * SEC;

fn seam() -> Command {
    Command::cargo_bin("seam").expect("binary built")
}

fn demo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/demo")
}

fn ep(ip: &str, port: u16) -> Endpoint {
    Endpoint::new(ip.parse().expect("address"), port)
}

fn write(dir: &Path, name: &str, t: Traffic) -> PathBuf {
    let path = dir.join(name);
    let f = std::fs::File::create(&path).expect("create capture");
    t.write_pcap(f).expect("write capture");
    path
}

/// Runs seam with args and parses its JSON Lines output.
fn jsonl(args: &[&str]) -> Vec<Value> {
    let out = seam().args(args).args(["--format", "jsonl"]).assert().success().get_output().stdout.clone();
    String::from_utf8(out).expect("utf-8").lines().map(|l| serde_json::from_str(l).expect("json line")).collect()
}

fn get<'a>(v: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(v, |v, k| &v[k])
}

#[test]
fn udp_flows_split_on_the_inactivity_timeout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut t = Traffic::new();
    let (c, s) = (ep("10.0.0.5", 5000), ep("10.0.0.9", 7000));
    t.udp(T0, c, s, b"one");
    t.udp(T0 + SEC, s, c, b"two!");
    // 61 s of silence: Zeek's 1-minute UDP timeout ends the first flow.
    t.udp(T0 + 62 * SEC, c, s, b"three");
    let pcap = write(dir.path(), "udp.pcap", t);
    let p = pcap.to_str().expect("path");
    let flows = jsonl(&["flows", p]);
    assert_eq!(flows.len(), 2);
    assert_eq!(get(&flows[0], "source.bytes"), 3);
    assert_eq!(get(&flows[0], "destination.bytes"), 4);
    assert_eq!(get(&flows[0], "flow.conn_state"), "SF");
    assert_eq!(get(&flows[1], "flow.conn_state"), "S0");
    let flows = jsonl(&["flows", p, "--udp-timeout", "2m"]);
    assert_eq!(flows.len(), 1);
    assert_eq!(get(&flows[0], "source.packets"), 2);
}

#[test]
fn tcp_session_accounting_matches_what_was_sent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut t = Traffic::new();
    let req = proto::http_request("GET", "files.example", "/a.bin", "curl/8", b"", None);
    let body = proto::elf_binary(5000);
    let resp = proto::http_response(200, "OK", "application/octet-stream", &body);
    let (req_len, resp_len) = (req.len() as u64, resp.len() as u64);
    t.tcp_session(
        T0,
        ep("10.0.0.5", 40000),
        ep("93.184.216.34", 80),
        20_000_000,
        &[Exchange::client(1, req), Exchange::server(1, resp)],
        Close::Fin,
    );
    // Idle past the 5-minute TCP timeout on the same ports: a second flow.
    t.tcp_session(T0 + 400 * SEC, ep("10.0.0.5", 40001), ep("93.184.216.34", 80), 20_000_000, &[], Close::Rst);
    let pcap = write(dir.path(), "http.pcap", t);
    let p = pcap.to_str().expect("path");
    let flows = jsonl(&["flows", p]);
    assert_eq!(flows.len(), 2);
    let f = &flows[0];
    assert_eq!(get(f, "source.bytes").as_u64(), Some(req_len));
    assert_eq!(get(f, "destination.bytes").as_u64(), Some(resp_len));
    assert_eq!(get(f, "flow.conn_state"), "SF");
    assert_eq!(get(f, "flow.history"), "ShADadFf");
    assert_eq!(get(f, "network.protocol"), "http");
    assert_eq!(get(&flows[1], "flow.conn_state"), "RSTO");
    let http = jsonl(&["timeline", p, "--kind", "http"]);
    assert_eq!(http.len(), 1);
    let h = &http[0];
    assert_eq!(get(h, "http.request.method"), "GET");
    assert_eq!(get(h, "url.domain"), "files.example");
    assert_eq!(get(h, "url.original"), "/a.bin");
    assert_eq!(get(h, "http.response.status_code"), 200);
    assert_eq!(get(h, "http.response.body.bytes"), 5000);
    assert_eq!(get(h, "http.response.body.type"), "elf");
    assert_eq!(get(h, "seam.locator"), "packet");
}

#[test]
fn dns_transactions_pair_queries_and_answers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut t = Traffic::new();
    let (c, s) = (ep("10.0.0.5", 53001), ep("10.0.0.2", 53));
    t.udp(T0, c, s, &proto::dns_query(77, "www.example.com", proto::QTYPE_A));
    let ans = [proto::Answer::Addr("93.184.216.34".parse().expect("ip"), 300)];
    t.udp(T0 + 5_000_000, s, c, &proto::dns_response(77, "www.example.com", proto::QTYPE_A, 0, &ans));
    t.udp(T0 + SEC, c, s, &proto::dns_query(78, "nope.example.com", proto::QTYPE_AAAA));
    t.udp(T0 + SEC + 4_000_000, s, c, &proto::dns_response(78, "nope.example.com", proto::QTYPE_AAAA, 3, &[]));
    t.udp(T0 + 2 * SEC, c, s, &proto::dns_query(79, "lost.example.com", proto::QTYPE_TXT));
    let pcap = write(dir.path(), "dns.pcap", t);
    let events = jsonl(&["timeline", pcap.to_str().expect("path"), "--kind", "dns"]);
    assert_eq!(events.len(), 3);
    assert_eq!(get(&events[0], "dns.question.name"), "www.example.com");
    assert_eq!(get(&events[0], "dns.answers"), &serde_json::json!(["93.184.216.34"]));
    assert_eq!(get(&events[0], "dns.response_code"), "NOERROR");
    assert!((get(&events[0], "dns.rtt").as_f64().expect("rtt") - 0.005).abs() < 1e-9);
    assert_eq!(get(&events[1], "dns.question.type"), "AAAA");
    assert_eq!(get(&events[1], "dns.response_code"), "NXDOMAIN");
    assert_eq!(get(&events[2], "dns.question.name"), "lost.example.com");
    assert!(get(&events[2], "dns.response_code").is_null(), "an unanswered query has no rcode");
}

#[test]
fn demo_bundle_shows_the_injected_network_behaviour() {
    let d = demo();
    let d = d.to_str().expect("path");
    let truth: Value = serde_json::from_slice(&std::fs::read(demo().join("truth.json")).expect("truth")).expect("json");
    let stage = |name: &str| {
        truth["stages"].as_array().expect("stages").iter().find(|s| s["behaviour"] == name).cloned().expect("stage")
    };
    let events = jsonl(&["timeline", d]);
    let flows: Vec<&Value> = events.iter().filter(|e| get(e, "event.kind") == "flow").collect();
    // The scan: the first 40 addresses of the /24 × 3 ports from the appliance, all but its
    // own, every attempt failed.
    let scan = stage("scan");
    let attempts = flows
        .iter()
        .filter(|f| {
            get(f, "source.ip") == &scan["host"]
                && ["REJ", "S0"].contains(&get(f, "flow.conn_state").as_str().unwrap_or(""))
        })
        .count();
    assert_eq!(attempts, 117);
    // The payload: an ELF body fetched over HTTP from the S3 host.
    let payload = stage("payload-download");
    assert!(events
        .iter()
        .any(|e| get(e, "http.response.body.type") == "elf" && get(e, "destination.ip") == &payload["peer"]));
    // The miner: a Stratum login with XMRig's agent string.
    assert!(events.iter().any(|e| get(e, "stratum.agent").as_str().is_some_and(|a| a.starts_with("XMRig"))));
    // OAST lookups.
    assert_eq!(
        events
            .iter()
            .filter(|e| get(e, "dns.question.name").as_str().is_some_and(|n| n.ends_with(".oast.fun")))
            .count(),
        2
    );
    // SSH banners of the lateral movement to the Linux server.
    let lm =
        truth["stages"].as_array().expect("stages").iter().filter(|s| s["behaviour"] == "lateral-movement").count();
    assert_eq!(lm, 2);
    assert!(events.iter().any(|e| get(e, "ssh.server").as_str().is_some_and(|s| s.starts_with("SSH-2.0-OpenSSH"))));
}

#[test]
fn output_is_identical_whatever_the_thread_count() {
    let d = demo();
    let d = d.to_str().expect("path");
    let one = seam()
        .args(["--threads", "1", "timeline", d, "--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let many = seam()
        .args(["--threads", "4", "timeline", d, "--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert!(one == many, "timeline JSON differs between --threads 1 and 4");
}

#[test]
fn timeline_filters_narrow_the_events() {
    let d = demo();
    let d = d.to_str().expect("path");
    let all = jsonl(&["timeline", d]);
    let dns = jsonl(&["timeline", d, "--kind", "dns"]);
    assert!(!dns.is_empty() && dns.len() < all.len());
    assert!(dns.iter().all(|e| get(e, "event.kind") == "dns"));
    let grep = jsonl(&["timeline", d, "--grep", "OAST.FUN"]);
    assert_eq!(grep.len(), 2, "case-insensitive grep finds the two OAST lookups");
    let first = get(&all[0], "@timestamp").as_str().expect("ts").to_string();
    let later = jsonl(&["timeline", d, "--since", &first, "--until", &first]);
    assert!(!later.is_empty() && later.iter().all(|e| get(e, "@timestamp") == first.as_str()));
    seam().args(["timeline", d, "--kind", "bogus"]).assert().code(2);
    seam().args(["timeline", d, "--since", "not-a-time"]).assert().code(2);
}

#[test]
fn every_format_renders() {
    let d = demo();
    let d = d.to_str().expect("path");
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = seam().args(["flows", d, "--format", "csv"]).assert().success().get_output().stdout.clone();
    let csv = String::from_utf8(csv).expect("utf-8");
    assert!(csv.lines().next().expect("header").starts_with("@timestamp,flow.id,source.ip,source.port"));
    let parquet = dir.path().join("flows.parquet");
    seam().args(["flows", d, "--format", "parquet", "-o"]).arg(&parquet).assert().success();
    let bytes = std::fs::read(&parquet).expect("parquet written");
    assert!(bytes.starts_with(b"PAR1") && bytes.ends_with(b"PAR1"));
    let ts = seam()
        .args(["timeline", d, "--kind", "http", "--format", "timesketch"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let first: Value =
        serde_json::from_str(String::from_utf8(ts).expect("utf-8").lines().next().expect("line")).expect("json");
    for key in ["message", "datetime", "timestamp", "timestamp_desc", "url.original"] {
        assert!(!first[key].is_null(), "timesketch line lacks {key}");
    }
    let doc: Value =
        serde_json::from_slice(&seam().args(["flows", d, "--format", "json"]).assert().success().get_output().stdout)
            .expect("json");
    assert_eq!(doc["schema"], "seam.flows/1");
    assert!(doc["flows"].as_array().is_some_and(|f| !f.is_empty()));
    seam().args(["flows", d, "--format", "timesketch"]).assert().code(2);
}

#[test]
fn inventory_hashes_and_identifies_by_content() {
    let d = demo();
    let rows = jsonl(&["inventory", d.to_str().expect("path")]);
    assert_eq!(rows.len(), 7);
    let kinds: Vec<&str> = rows.iter().map(|r| get(r, "seam.kind").as_str().unwrap_or("")).collect();
    // db01-audit.log, expect.toml, three fs01 logs, network.pcap, truth.json
    assert_eq!(kinds, vec!["auditd", "unknown", "evtx", "evtx", "evtx", "pcap", "unknown"], "sorted by path");
    let pcap = rows.iter().find(|r| get(r, "seam.kind") == "pcap").expect("pcap row");
    use sha2::Digest;
    let expected = sha2::Sha256::digest(std::fs::read(d.join("network.pcap")).expect("read"));
    let hex: String = expected.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(get(pcap, "file.hash.sha256"), hex.as_str());
    assert!(get(pcap, "seam.records").as_u64().is_some_and(|n| n > 1000));
    let truth = rows
        .iter()
        .find(|r| get(r, "file.path").as_str().is_some_and(|p| p.ends_with("truth.json")))
        .expect("truth row");
    assert_eq!(get(truth, "seam.kind"), "unknown");
}

#[test]
fn gzip_capture_renamed_to_txt_is_still_a_capture() {
    use std::io::Write;
    let dir = tempfile::tempdir().expect("tempdir");
    let raw = std::fs::read(demo().join("network.pcap")).expect("read");
    let path = dir.path().join("notes.txt");
    let mut gz =
        flate2::write::GzEncoder::new(std::fs::File::create(&path).expect("create"), flate2::Compression::fast());
    gz.write_all(&raw).expect("compress");
    gz.finish().expect("finish");
    let rows = jsonl(&["inventory", path.to_str().expect("path")]);
    assert_eq!(get(&rows[0], "seam.kind"), "pcap");
    assert_eq!(get(&rows[0], "seam.gzip"), true);
    let plain = jsonl(&["flows", demo().join("network.pcap").to_str().expect("path")]);
    let gzipped = jsonl(&["flows", path.to_str().expect("path")]);
    assert_eq!(plain.len(), gzipped.len());
}

#[test]
fn mapped_and_read_captures_give_the_same_answer() {
    let pcap = demo().join("network.pcap");
    let path = pcap.to_str().expect("path");
    let mapped = jsonl(&["flows", path]);
    let read = jsonl(&["--no-mmap", "flows", path]);
    assert!(mapped.len() > 500);
    assert_eq!(mapped, read);
    let hashes = |extra: &[&str]| {
        let mut args = extra.to_vec();
        args.extend(["inventory", path]);
        jsonl(&args).iter().map(|r| get(r, "file.hash.sha256").to_string()).collect::<Vec<_>>()
    };
    let sha = hashes(&[]);
    assert_eq!(sha.len(), 1);
    assert_eq!(sha[0].trim_matches('"').len(), 64, "{sha:?}");
    assert_eq!(sha, hashes(&["--no-mmap"]));
}

/// A corrupt record followed by more junk than a resync searches, then good records: a mapped
/// file holds all of it at once and a read buffer only a window, but both readings give up at
/// the same place with the same diagnostic.
#[test]
fn mapped_and_read_captures_resync_alike() {
    let record = |sec: u32, data: &[u8]| {
        let len = (data.len() as u32).to_le_bytes();
        [&sec.to_le_bytes()[..], &[0; 4], &len, &len, data].concat()
    };
    let mut file = [&0xa1b2_c3d4u32.to_le_bytes()[..], &2u16.to_le_bytes(), &4u16.to_le_bytes(), &[0; 8]].concat();
    file.extend_from_slice(&65_535u32.to_le_bytes());
    file.extend_from_slice(&1u32.to_le_bytes());
    let frame = [0u8; 60];
    file.extend(record(1_700_000_000, &frame));
    // A record whose length is absurd, then 24 MiB of junk, then 100 good records.
    file.extend(
        [&1_700_000_001u32.to_le_bytes()[..], &[0; 4], &[0xff, 0xff, 0xff, 0x7f], &[0xff, 0xff, 0xff, 0x7f]].concat(),
    );
    file.extend(std::iter::repeat_n(0xffu8, 24 << 20));
    for i in 0..100 {
        file.extend(record(1_700_000_002 + i, &frame));
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("damaged.pcap");
    std::fs::write(&path, &file).expect("write");
    let run = |extra: &[&str]| {
        let out = seam()
            .args(extra)
            .args(["inventory", path.to_str().expect("path"), "--format", "jsonl"])
            .output()
            .expect("run");
        (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (mapped, mapped_diags) = run(&[]);
    let (read, read_diags) = run(&["--no-mmap"]);
    assert_eq!(mapped, read);
    assert_eq!(mapped_diags, read_diags);
    assert!(mapped_diags.contains("no plausible record in the next 16777216 bytes"), "{mapped_diags}");
}

#[test]
fn sharded_decoding_equals_one_table() {
    use seam::diag::Diagnostics;
    use seam::evidence;
    let mut diags = Diagnostics::new();
    let files = evidence::discover(&[demo()], &mut diags);
    let pcap = files.iter().find(|f| f.kind.is_capture()).expect("demo capture");
    let run = |shards: usize| {
        let mut d = Diagnostics::new();
        let reader = evidence::open(pcap).expect("open");
        let (summary, out) =
            seam::app::read_and_decode(reader, pcap, &pcap.display, Some(Default::default()), shards, &mut d);
        (summary, out.expect("flows"), d)
    };
    // The same file memory-mapped: the shards read packets where they lie in the map.
    let mapped = |shards: usize| {
        let mut d = Diagnostics::new();
        let file = std::fs::File::open(&pcap.path).expect("open");
        let map = seam::sources::buffer::map_file(&file).expect("a regular file maps");
        let seen = std::sync::Arc::new(std::sync::Mutex::new(0u64));
        let count = seen.clone();
        let buf = seam::sources::buffer::StreamBuf::mapped(
            std::sync::Arc::new(map),
            Box::new(move |b: &[u8]| *count.lock().expect("count") += b.len() as u64),
        );
        let (summary, out) =
            seam::app::decode_capture(buf, pcap, &pcap.display, Some(Default::default()), shards, &mut d);
        assert_eq!(*seen.lock().expect("count"), pcap.size, "every byte is released once");
        (summary, out.expect("flows"), d)
    };
    let (s1, one, d1) = run(1);
    for (shards, (s, many, d)) in
        [2, 3, 5].into_iter().flat_map(|n| [(n, run(n)), (n, mapped(n))]).chain([(1, mapped(1))])
    {
        assert_eq!(s, s1);
        assert_eq!(many.flows, one.flows, "flows differ with {shards} shards");
        assert_eq!(many.app, one.app, "application records differ with {shards} shards");
        assert_eq!(many.stats, one.stats);
        assert_eq!(d, d1);
    }
    assert!(one.flows.len() > 500);
}

#[test]
fn tls_after_starttls_is_recognised() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut t = Traffic::new();
    let hello = proto::tls_client_hello("mail.example.org", &[], [7; 32]);
    let exchanges = [
        Exchange::server(1, b"220 mail.example.org ESMTP\r\n".to_vec()),
        Exchange::client(1, b"EHLO client.example\r\n".to_vec()),
        Exchange::server(1, b"250-mail.example.org\r\n250 STARTTLS\r\n".to_vec()),
        Exchange::client(1, b"STARTTLS\r\n".to_vec()),
        Exchange::server(1, b"220 2.0.0 Ready to start TLS\r\n".to_vec()),
        Exchange::client(1, hello),
        Exchange::server(1, proto::tls_server_hello(0x1301, [9; 32])),
    ];
    t.tcp_session(T0, ep("10.0.0.5", 40500), ep("10.0.0.25", 25), 1_000_000, &exchanges, Close::Fin);
    let pcap = write(dir.path(), "smtp.pcap", t);
    let tls = jsonl(&["timeline", pcap.to_str().expect("path"), "--kind", "tls"]);
    assert_eq!(tls.len(), 1);
    assert_eq!(get(&tls[0], "tls.client.server_name"), "mail.example.org");
    assert_eq!(get(&tls[0], "tls.version"), "TLSv13");
}

#[test]
fn demo_bundle_attributes_the_attack_connections_to_their_processes() {
    let d = demo();
    let flows = jsonl(&["flows", d.to_str().expect("path")]);
    let by_port = |port: u64| {
        flows
            .iter()
            .find(|f| get(f, "destination.port") == port && get(f, "process.executable").is_string())
            .unwrap_or_else(|| panic!("no attributed flow to port {port}"))
    };
    assert_eq!(get(by_port(445), "host.name"), "FS01.corp.example");
    assert_eq!(get(by_port(3389), "process.executable"), "C:\\Windows\\System32\\svchost.exe");
    let miner = by_port(3333);
    assert_eq!(
        (get(miner, "process.executable"), get(miner, "host.name")),
        (&Value::from("/tmp/.x/xmrig"), &Value::from("db01"))
    );
    assert!(get(miner, "seam.attribution").as_str().unwrap().starts_with("remote-endpoint: auditd line"));
    // The Linux server's clock is off by the truth's offset (drawn from the seed in
    // src/synth/scenario_logs.rs); its backups give the pairs to see it, within 100 ms.
    let truth: Value = serde_json::from_slice(&std::fs::read(d.join("truth.json")).expect("truth")).expect("json");
    let offset = truth["clock_offsets"]["db01"].as_i64().expect("db01's offset in the truth") as f64 / 1e9;
    let assets = jsonl(&["assets", d.to_str().expect("path")]);
    let db01 = assets.iter().find(|a| get(a, "host.name") == &serde_json::json!(["db01"])).expect("db01");
    let estimated = get(db01, "seam.clock_offset").as_f64().expect("an estimated offset");
    assert!((estimated - offset).abs() <= 0.1, "estimated {estimated} s, truth {offset} s");
    let fs01 = assets.iter().find(|a| get(a, "host.name") == &serde_json::json!(["FS01.corp.example"])).expect("FS01");
    assert_eq!(get(fs01, "seam.managed"), true);
    // The appliance opened the flows FS01 accepted: it does not take FS01's name.
    let appliance = truth["stages"][0]["host"].as_str().expect("first stage host");
    let a = assets.iter().find(|a| get(a, "host.ip") == appliance).expect("appliance asset");
    assert_eq!((get(a, "seam.managed"), get(a, "host.name")), (&Value::Bool(false), &Value::Null));
}

#[test]
fn netbios_and_mdns_answers_name_their_hosts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut t = Traffic::new();
    // FS01 answers a NetBIOS name query for FS01<20> (no question section, one NB record).
    let mut nbns = vec![0x12, 0x34, 0x85, 0x00, 0, 0, 0, 1, 0, 0, 0, 0];
    nbns.push(32);
    nbns.extend_from_slice(b"EGFDDADBCACACACACACACACACACACACA");
    nbns.push(0);
    nbns.extend_from_slice(&[0, 32, 0, 1, 0, 4, 0x93, 0xe0, 0, 6, 0, 0, 10, 0, 0, 50]);
    t.udp(T0, ep("10.0.0.50", 137), ep("10.0.0.7", 137), &nbns);
    // A printer announces itself over mDNS (no question, one A record).
    let mut mdns = vec![0, 0, 0x84, 0x00, 0, 0, 0, 1, 0, 0, 0, 0];
    for label in [&b"printer3"[..], b"local"] {
        mdns.push(label.len() as u8);
        mdns.extend_from_slice(label);
    }
    mdns.push(0);
    mdns.extend_from_slice(&[0, 1, 0x80, 1, 0, 0, 0, 120, 0, 4, 10, 0, 0, 9]);
    t.udp(T0 + 1_000_000, ep("10.0.0.9", 5353), ep("224.0.0.251", 5353), &mdns);
    let pcap = write(dir.path(), "names.pcap", t);
    let assets = jsonl(&["assets", pcap.to_str().expect("path")]);
    let names = |ip: &str| {
        assets.iter().find(|a| get(a, "host.ip") == ip).map(|a| get(a, "host.name").clone()).unwrap_or(Value::Null)
    };
    assert_eq!(names("10.0.0.50"), serde_json::json!(["fs01"]));
    assert_eq!(names("10.0.0.9"), serde_json::json!(["printer3.local"]));
}

/// An Ethernet frame carrying an IPv4 packet (checksum left zero: seam does not check it).
fn ipv4_frame(src: [u8; 4], dst: [u8; 4], ident: u16, flags_offset: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0, 0x11, 0x22, 0x33, 0x44, 0x55, 0, 0x66, 0x77, 0x88, 0x99, 0xaa, 0x08, 0x00];
    let total = u16::try_from(20 + payload.len()).expect("packet fits");
    f.extend_from_slice(&[0x45, 0]);
    f.extend_from_slice(&total.to_be_bytes());
    f.extend_from_slice(&ident.to_be_bytes());
    f.extend_from_slice(&flags_offset.to_be_bytes());
    f.extend_from_slice(&[64, 17, 0, 0]);
    f.extend_from_slice(&src);
    f.extend_from_slice(&dst);
    f.extend_from_slice(payload);
    f
}

/// 1100 fragmented datagrams in progress at once (more than one table holds), from 1100
/// hosts, then their second halves; then large packets to make the capture big enough to be
/// split across threads. One table drops the oldest datagrams when full; split tables, each
/// holding its share, would not: seam must give the one-table answer whatever `--threads` says.
#[test]
fn a_full_table_gives_the_same_answer_on_any_number_of_threads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let udp = |i: u16| {
        let mut u = Vec::new();
        u.extend_from_slice(&(40_000 + i % 1000).to_be_bytes());
        u.extend_from_slice(&5353u16.to_be_bytes());
        u.extend_from_slice(&32u16.to_be_bytes());
        u.extend_from_slice(&[0, 0]);
        u.extend_from_slice(&[b'Q'; 24]);
        u
    };
    let src = |i: u16| [10, 1, (i >> 8) as u8, i as u8];
    let n = 1100u16;
    let firsts = (0..n).map(|i| ipv4_frame(src(i), [8, 8, 8, 8], i, 0x2000, &udp(i)[..16]));
    let seconds = (0..n).map(|i| ipv4_frame(src(i), [8, 8, 8, 8], i, 2, &udp(i)[16..]));
    let padding = (0..1100u16).map(|j| ipv4_frame([192, 168, 9, 1], [192, 168, 9, 2], j, 0, &[b'P'; 64_000]));
    // 10 µs apart.
    let mut pcap = crate::support::capture::PcapFile::ethernet();
    for (i, f) in firsts.chain(seconds).chain(padding).enumerate() {
        let us = 10 * i as u32;
        pcap.packet(1_714_600_000 + us / 1_000_000, us % 1_000_000, &f);
    }
    let bytes = pcap.into_bytes();
    assert!(bytes.len() >= 64 << 20, "large enough to be split: {}", bytes.len());
    std::fs::write(dir.path().join("frag.pcap"), bytes).expect("write capture");
    let run = |threads: &str| {
        let out = seam()
            .args(["--threads", threads, "flows", "--format", "jsonl"])
            .arg(dir.path())
            .assert()
            .success()
            .get_output()
            .clone();
        (out.stdout, String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (one, one_err) = run("1");
    assert!(one_err.contains("IP fragments whose datagram never completed"), "{one_err}");
    for threads in ["2", "3"] {
        let (many, many_err) = run(threads);
        assert!(many == one, "flows differ with --threads {threads}");
        assert_eq!(many_err, one_err);
    }
}

/// Flow ids belong to the capture: a report written beside it, or any other file joining the
/// bundle, leaves them as they were; a copy of the capture gets ids of its own.
#[test]
fn flow_ids_do_not_depend_on_the_other_files_of_a_bundle() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(demo().join("network.pcap"), dir.path().join("net.pcap")).expect("copy");
    let ids = || -> Vec<String> {
        jsonl(&["flows", dir.path().to_str().expect("utf-8 path")])
            .iter()
            .filter(|r| r["seam"]["file"].as_str().is_some_and(|f| f.ends_with("net.pcap")))
            .map(|r| get(r, "flow.id").as_str().unwrap_or_default().to_string())
            .collect()
    };
    let before = ids();
    assert!(before.len() > 100);
    std::fs::write(dir.path().join("a-notes.txt"), "sorted before the capture\n").expect("write");
    std::fs::copy(demo().join("db01-audit.log"), dir.path().join("a-audit.log")).expect("copy");
    assert_eq!(ids(), before);
    // Two files alike are told apart by their order: their ids differ from each other's.
    std::fs::copy(demo().join("network.pcap"), dir.path().join("net-copy.pcap")).expect("copy");
    let rows = jsonl(&["flows", dir.path().to_str().expect("utf-8 path")]);
    let of = |name: &str| -> std::collections::BTreeSet<String> {
        rows.iter()
            .filter(|r| r["seam"]["file"].as_str().is_some_and(|f| f.ends_with(name)))
            .map(|r| get(r, "flow.id").as_str().unwrap_or_default().to_string())
            .collect()
    };
    let (copy, original) = (of("net-copy.pcap"), of("/net.pcap"));
    assert_eq!((copy.len(), original.len()), (before.len(), before.len()));
    assert!(copy.is_disjoint(&original), "a copy's flows have ids of their own");
}
