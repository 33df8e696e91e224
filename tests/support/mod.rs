//! Shared helpers for the integration tests.

/// Capture writers for tests that build their evidence in code: classic pcap (either byte order,
/// µs or ns), pcapng blocks (SHB, IDB, EPB, SPB, or any block with chosen lengths) and frames.
///
/// Every writer returns the byte offset at which it wrote, so a test can assert the exact offset
/// a diagnostic must name. Writers never validate: lying lengths are the point.
pub mod capture {
    /// Classic pcap magic for microsecond timestamps.
    pub const PCAP_MAGIC_MICROS: u32 = 0xa1b2_c3d4;
    /// Classic pcap magic for nanosecond timestamps.
    pub const PCAP_MAGIC_NANOS: u32 = 0xa1b2_3c4d;
    /// Size of the classic pcap global header.
    pub const PCAP_HEADER_LEN: usize = 24;
    /// Size of a classic pcap record header.
    pub const PCAP_RECORD_HEADER_LEN: usize = 16;
    pub const LINKTYPE_ETHERNET: u32 = 1;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum ByteOrder {
        Little,
        Big,
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum TsPrecision {
        Micros,
        Nanos,
    }

    fn put_u16(out: &mut Vec<u8>, order: ByteOrder, v: u16) {
        match order {
            ByteOrder::Little => out.extend_from_slice(&v.to_le_bytes()),
            ByteOrder::Big => out.extend_from_slice(&v.to_be_bytes()),
        }
    }

    fn put_u32(out: &mut Vec<u8>, order: ByteOrder, v: u32) {
        match order {
            ByteOrder::Little => out.extend_from_slice(&v.to_le_bytes()),
            ByteOrder::Big => out.extend_from_slice(&v.to_be_bytes()),
        }
    }

    /// A classic pcap file under construction.
    pub struct PcapFile {
        bytes: Vec<u8>,
        order: ByteOrder,
    }

    impl PcapFile {
        /// Little-endian, microseconds, snaplen 65535, Ethernet.
        pub fn ethernet() -> Self {
            Self::with_header(ByteOrder::Little, TsPrecision::Micros, 65_535, LINKTYPE_ETHERNET)
        }

        pub fn with_header(order: ByteOrder, precision: TsPrecision, snaplen: u32, linktype: u32) -> Self {
            let magic = match precision {
                TsPrecision::Micros => PCAP_MAGIC_MICROS,
                TsPrecision::Nanos => PCAP_MAGIC_NANOS,
            };
            let mut bytes = Vec::new();
            put_u32(&mut bytes, order, magic);
            put_u16(&mut bytes, order, 2);
            put_u16(&mut bytes, order, 4);
            put_u32(&mut bytes, order, 0); // thiszone
            put_u32(&mut bytes, order, 0); // sigfigs
            put_u32(&mut bytes, order, snaplen);
            put_u32(&mut bytes, order, linktype);
            PcapFile { bytes, order }
        }

        /// Appends a well-formed record (caplen = origlen = data length); returns its offset.
        pub fn packet(&mut self, ts_sec: u32, ts_frac: u32, data: &[u8]) -> usize {
            let len = u32::try_from(data.len()).expect("test packet fits a u32 length");
            self.record(ts_sec, ts_frac, len, len, data)
        }

        /// Appends a record header with the given lengths followed by `data` as is (the lengths
        /// may lie about it); returns the record's offset.
        pub fn record(&mut self, ts_sec: u32, ts_frac: u32, caplen: u32, origlen: u32, data: &[u8]) -> usize {
            let at = self.bytes.len();
            put_u32(&mut self.bytes, self.order, ts_sec);
            put_u32(&mut self.bytes, self.order, ts_frac);
            put_u32(&mut self.bytes, self.order, caplen);
            put_u32(&mut self.bytes, self.order, origlen);
            self.bytes.extend_from_slice(data);
            at
        }

        /// Appends arbitrary bytes; returns where they start.
        pub fn raw(&mut self, data: &[u8]) -> usize {
            let at = self.bytes.len();
            self.bytes.extend_from_slice(data);
            at
        }

        pub fn len(&self) -> usize {
            self.bytes.len()
        }

        pub fn bytes(&self) -> &[u8] {
            &self.bytes
        }

        pub fn into_bytes(self) -> Vec<u8> {
            self.bytes
        }
    }

    pub const PCAPNG_SHB_TYPE: u32 = 0x0A0D_0D0A;
    pub const PCAPNG_IDB_TYPE: u32 = 1;
    pub const PCAPNG_SPB_TYPE: u32 = 3;
    pub const PCAPNG_EPB_TYPE: u32 = 6;
    pub const PCAPNG_BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;

    fn pad4(out: &mut Vec<u8>) {
        while out.len() % 4 != 0 {
            out.push(0);
        }
    }

    /// A little-endian pcapng file under construction; it starts with a section header block.
    pub struct PcapngFile {
        bytes: Vec<u8>,
    }

    impl Default for PcapngFile {
        fn default() -> Self {
            Self::new()
        }
    }

    impl PcapngFile {
        pub fn new() -> Self {
            let mut f = PcapngFile { bytes: Vec::new() };
            f.section_header();
            f
        }

        /// Appends a section header block (version 1.0, unknown section length).
        pub fn section_header(&mut self) -> usize {
            let mut body = Vec::new();
            body.extend_from_slice(&PCAPNG_BYTE_ORDER_MAGIC.to_le_bytes());
            body.extend_from_slice(&1u16.to_le_bytes());
            body.extend_from_slice(&0u16.to_le_bytes());
            body.extend_from_slice(&(-1i64).to_le_bytes());
            self.block(PCAPNG_SHB_TYPE, &body)
        }

        /// Appends an interface description block; `tsresol` adds an `if_tsresol` option.
        pub fn interface(&mut self, linktype: u16, snaplen: u32, tsresol: Option<u8>) -> usize {
            let mut body = Vec::new();
            body.extend_from_slice(&linktype.to_le_bytes());
            body.extend_from_slice(&0u16.to_le_bytes());
            body.extend_from_slice(&snaplen.to_le_bytes());
            if let Some(r) = tsresol {
                body.extend_from_slice(&9u16.to_le_bytes()); // if_tsresol
                body.extend_from_slice(&1u16.to_le_bytes());
                body.push(r);
                pad4(&mut body);
                body.extend_from_slice(&0u32.to_le_bytes()); // opt_endofopt
            }
            self.block(PCAPNG_IDB_TYPE, &body)
        }

        /// Appends an enhanced packet block with timestamp `ticks` in the interface's units.
        pub fn enhanced_packet(&mut self, if_id: u32, ticks: u64, data: &[u8]) -> usize {
            let len = u32::try_from(data.len()).expect("test packet fits a u32 length");
            let mut body = Vec::new();
            body.extend_from_slice(&if_id.to_le_bytes());
            body.extend_from_slice(&((ticks >> 32) as u32).to_le_bytes());
            body.extend_from_slice(&(ticks as u32).to_le_bytes());
            body.extend_from_slice(&len.to_le_bytes());
            body.extend_from_slice(&len.to_le_bytes());
            body.extend_from_slice(data);
            pad4(&mut body);
            self.block(PCAPNG_EPB_TYPE, &body)
        }

        /// Appends a simple packet block.
        pub fn simple_packet(&mut self, data: &[u8]) -> usize {
            let len = u32::try_from(data.len()).expect("test packet fits a u32 length");
            let mut body = Vec::new();
            body.extend_from_slice(&len.to_le_bytes());
            body.extend_from_slice(data);
            pad4(&mut body);
            self.block(PCAPNG_SPB_TYPE, &body)
        }

        /// Appends a block whose leading and trailing lengths are both correct.
        pub fn block(&mut self, block_type: u32, body: &[u8]) -> usize {
            let len = u32::try_from(12 + body.len()).expect("test block fits a u32 length");
            self.block_with_lengths(block_type, body, len, len)
        }

        /// Appends a block with the given leading and trailing length fields, whatever the body's
        /// real size; returns its offset.
        pub fn block_with_lengths(&mut self, block_type: u32, body: &[u8], leading: u32, trailing: u32) -> usize {
            let at = self.bytes.len();
            self.bytes.extend_from_slice(&block_type.to_le_bytes());
            self.bytes.extend_from_slice(&leading.to_le_bytes());
            self.bytes.extend_from_slice(body);
            self.bytes.extend_from_slice(&trailing.to_le_bytes());
            at
        }

        pub fn raw(&mut self, data: &[u8]) -> usize {
            let at = self.bytes.len();
            self.bytes.extend_from_slice(data);
            at
        }

        pub fn len(&self) -> usize {
            self.bytes.len()
        }

        pub fn bytes(&self) -> &[u8] {
            &self.bytes
        }

        pub fn into_bytes(self) -> Vec<u8> {
            self.bytes
        }
    }

    /// Body of an enhanced packet block as [`PcapngFile::enhanced_packet`] writes it, for blocks
    /// written with lying lengths.
    pub fn enhanced_packet_body(if_id: u32, ticks: u64, data: &[u8]) -> Vec<u8> {
        let mut f = PcapngFile { bytes: Vec::new() };
        f.enhanced_packet(if_id, ticks, data);
        let b = f.into_bytes();
        b[8..b.len() - 4].to_vec()
    }

    fn ipv4_checksum(header: &[u8]) -> u16 {
        let mut sum: u32 = header.chunks(2).map(|c| u32::from(u16::from_be_bytes([c[0], c[1]]))).sum();
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        !(sum as u16)
    }

    /// IPv4 "don't fragment", as the flags-and-offset field of an unfragmented datagram.
    pub const IPV4_DONT_FRAGMENT: u16 = 0x4000;
    /// IPv4 "more fragments" flag.
    pub const IPV4_MORE_FRAGMENTS: u16 = 0x2000;

    /// An IPv4 packet (20-byte header, checksum filled in) around `payload`. `flags_offset` is
    /// the flags-and-fragment-offset field: the offset is in 8-byte units.
    pub fn ipv4(src: [u8; 4], dst: [u8; 4], protocol: u8, ident: u16, flags_offset: u16, payload: &[u8]) -> Vec<u8> {
        let total = u16::try_from(20 + payload.len()).expect("IPv4 packet fits");
        let mut ip = vec![0x45, 0];
        ip.extend_from_slice(&total.to_be_bytes());
        ip.extend_from_slice(&ident.to_be_bytes());
        ip.extend_from_slice(&flags_offset.to_be_bytes());
        ip.extend_from_slice(&[64, protocol, 0, 0]);
        ip.extend_from_slice(&src);
        ip.extend_from_slice(&dst);
        let sum = ipv4_checksum(&ip);
        ip[10..12].copy_from_slice(&sum.to_be_bytes());
        ip.extend_from_slice(payload);
        ip
    }

    /// A UDP header and payload (checksum 0, allowed over IPv4).
    pub fn udp(src_port: u16, dst_port: u16, payload: &[u8]) -> Vec<u8> {
        let udp_len = u16::try_from(8 + payload.len()).expect("UDP payload fits");
        let mut out = Vec::with_capacity(8 + payload.len());
        out.extend_from_slice(&src_port.to_be_bytes());
        out.extend_from_slice(&dst_port.to_be_bytes());
        out.extend_from_slice(&udp_len.to_be_bytes());
        out.extend_from_slice(&0u16.to_be_bytes());
        out.extend_from_slice(payload);
        out
    }

    /// An IPv4 datagram carrying UDP.
    pub fn ipv4_udp(src: [u8; 4], src_port: u16, dst: [u8; 4], dst_port: u16, payload: &[u8]) -> Vec<u8> {
        ipv4(src, dst, 17, 0x1234, IPV4_DONT_FRAGMENT, &udp(src_port, dst_port, payload))
    }

    /// An Ethernet II frame with the given EtherType around `payload`.
    pub fn ethernet(ether_type: u16, payload: &[u8]) -> Vec<u8> {
        let mut frame = vec![0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01];
        frame.extend_from_slice(&ether_type.to_be_bytes());
        frame.extend_from_slice(payload);
        frame
    }

    /// An Ethernet II frame around an IPv4/UDP datagram.
    pub fn ethernet_ipv4_udp(src: [u8; 4], src_port: u16, dst: [u8; 4], dst_port: u16, payload: &[u8]) -> Vec<u8> {
        ethernet(0x0800, &ipv4_udp(src, src_port, dst, dst_port, payload))
    }
}

/// The external conformance corpus (`../shared/corpus`, see its MANIFEST.md) and running seam over
/// it. Tests that use the corpus skip, printing the reason, when it is absent.
pub mod corpus {
    use std::ffi::OsStr;
    use std::path::{Path, PathBuf};

    /// `$SEAM_CORPUS`, else `../shared/corpus` beside the repository; the error says why it is
    /// unusable (absent, or without its MANIFEST.md).
    pub fn dir() -> Result<PathBuf, String> {
        let dir = match std::env::var_os("SEAM_CORPUS") {
            Some(d) => PathBuf::from(d),
            None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"),
        };
        if dir.join("MANIFEST.md").is_file() {
            Ok(dir)
        } else {
            Err(format!("conformance corpus not found at {} (set SEAM_CORPUS to use another)", dir.display()))
        }
    }

    /// One seam run's JSON Lines output.
    #[derive(Debug, Default)]
    pub struct JsonLines {
        pub values: Vec<serde_json::Value>,
        /// Lines of stdout that were not a JSON value.
        pub bad_lines: usize,
        pub success: bool,
        pub stderr: String,
    }

    /// Runs the built seam with `args` and parses each line of its stdout as JSON.
    pub fn seam_jsonl<I, S>(args: I) -> JsonLines
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let output = assert_cmd::Command::cargo_bin("seam")
            .map_err(|e| e.to_string())
            .and_then(|mut cmd| cmd.args(args).output().map_err(|e| e.to_string()));
        let out = match output {
            Ok(out) => out,
            Err(e) => return JsonLines { stderr: e, ..JsonLines::default() },
        };
        let mut lines = JsonLines {
            success: out.status.success(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            ..JsonLines::default()
        };
        for line in String::from_utf8_lossy(&out.stdout).lines().filter(|l| !l.trim().is_empty()) {
            match serde_json::from_str(line) {
                Ok(v) => lines.values.push(v),
                Err(_) => lines.bad_lines += 1,
            }
        }
        lines
    }
}

/// seam's own small fixtures under `testdata/` (each described in `testdata/README.md`).
pub mod fixtures {
    use std::path::{Path, PathBuf};

    /// `testdata/auditd/<name>`: hand-written audit logs.
    pub fn auditd(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/auditd").join(name)
    }
}

/// Generated bundles and what `seam` says about them, for the acceptance tests.
pub mod bundles {
    use assert_cmd::Command;
    use serde_json::Value;
    use std::path::Path;

    pub fn seam() -> Command {
        Command::cargo_bin("seam").expect("binary built")
    }

    /// Writes a `seam synth` bundle into `dir` and returns its `truth.json`.
    pub fn synth(dir: &Path, scenario: &str, seed: u64, hours: f64) -> Value {
        synth_with(dir, scenario, seed, hours, &[])
    }

    /// [`synth`] with further `seam synth` options (`--hosts N`).
    pub fn synth_with(dir: &Path, scenario: &str, seed: u64, hours: f64, extra: &[&str]) -> Value {
        seam()
            .args([
                "synth",
                "--scenario",
                scenario,
                "--seed",
                &seed.to_string(),
                "--hours",
                &hours.to_string(),
                "-q",
                "-o",
            ])
            .arg(dir)
            .args(extra)
            .assert()
            .success();
        serde_json::from_slice(&std::fs::read(dir.join("truth.json")).expect("truth written")).expect("truth parses")
    }

    /// The detectors, as `seam hunt --list` names them.
    pub fn detectors() -> Vec<String> {
        let out = seam().args(["hunt", "--list"]).output().expect("seam runs");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_whitespace().next())
            .map(String::from)
            .collect()
    }

    const RANK: &[&str] = &["info", "low", "medium", "high", "critical"];

    /// A finding's or incident's severity as a number (info 0 … critical 4).
    pub fn rank(v: &Value) -> usize {
        RANK.iter().position(|s| v["severity"] == *s).unwrap_or(0)
    }
}
