//! Command-line surface: clap structs that only describe flags, and [`RunConfig::from_cli`]
//! that validates them once. Nothing downstream sees a clap type.

use crate::check::Expectations;
use crate::detect::{Allowlist, HuntConfig, SavedBaseline, Severity, Thresholds, DETECTORS};
use crate::entities::{KnownHost, NetworkKnowledge};
use crate::flows::FlowConfig;
use crate::model::EventKind;
use crate::report::{Destination, Format};
use crate::timeline::TimelineFilter;
use crate::util::net::{Cidr, InternalNets};
use crate::util::time::{parse_duration, parse_user_time};
use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

const EXIT_CODES: &str = "\
Exit codes:
  0  done (findings and tolerated input problems included; a closed stdout pipe too)
  1  findings at or above --fail-on (commands that detect); `seam check`: an expectation
     not met or something unexpected found
  2  fatal: usage error, no readable input, output not writable, an invalid EXPECT.toml,
     or any input problem under --strict";

/// Offline forensic investigation of packet captures and endpoint logs.
///
/// seam reads an evidence bundle — pcap/pcapng captures, Windows event logs (EVTX: Sysmon,
/// Security, System, PowerShell) and Linux audit logs, each optionally gzip-compressed — puts
/// them on one timeline and answers what talked to what, when, with which protocol and which
/// process, with evidence down to the packet and the record.
#[derive(Debug, Parser)]
#[command(name = "seam", version, propagate_version = true, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Worker threads (0 = all cores)
    ///
    /// Files are decoded in parallel. Output is identical whatever the value.
    #[arg(long, global = true, default_value_t = 0, value_name = "N")]
    pub threads: usize,

    /// Print no progress and no summary on stderr
    #[arg(long, short, global = true)]
    pub quiet: bool,

    /// Exit 2 when any input problem is found
    ///
    /// Without it, truncated or corrupt evidence is reported in the diagnostics and everything
    /// readable is still used (exit 0).
    #[arg(long, global = true)]
    pub strict: bool,

    /// Print how long each stage took on stderr (reading, correlation, detection, output), and
    /// the peak memory so far where the system reports it
    #[arg(long, global = true)]
    pub timings: bool,

    /// Read capture files with read() instead of memory-mapping them
    ///
    /// Captures are mapped and parsed where they lie, which is faster. A mapped file that
    /// shrinks while seam reads it (truncated by another program, or on a network share that
    /// changes under it) ends the run with SIGBUS; use this for evidence that may change.
    #[arg(long, global = true)]
    pub no_mmap: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the whole pipeline on a bundle and report what happened
    ///
    /// Inventory, ingestion of every capture and log, flows and events, clock correction and
    /// process attribution, the hunt (as `seam hunt`), findings chained into incidents, then a
    /// report: the evidence (files, hashes, time span, clock offsets), the incidents ranked by
    /// score with their stages in order (time, tactic, host, peer, process, evidence), the hosts
    /// and what they did, and the diagnostics. Exit code 1 when --fail-on is given and an
    /// incident reaches it.
    #[command(
        after_help = "Examples:\n  seam investigate testdata/demo\n  seam investigate case42/ --format json -o report.json\n  seam investigate case42/ --html ~/reports/case42.html --timeline ~/reports/case42.parquet\n  seam investigate capture.pcap.gz --strict"
    )]
    Investigate {
        #[command(flatten)]
        input: InputArgs,
        #[command(flatten)]
        flow: FlowArgs,
        #[command(flatten)]
        detect: DetectArgs,
        /// Exit with code 1 when an incident reaches this severity
        #[arg(long, value_enum, value_name = "SEVERITY")]
        fail_on: Option<Severity>,
        /// Also write a self-contained HTML report to FILE
        ///
        /// One file with inline styles and charts that fetches nothing from the network: the
        /// bundle (files with SHA-256, time span, hosts managed or not, clock offsets), each
        /// incident with a timeline chart (one lane per host, a mark per stage coloured by
        /// tactic), its chain drawn as a graph across hosts and its table of stages, then every
        /// finding and the diagnostics. Written atomically, besides the report on stdout or -o.
        /// Refused inside an evidence directory unless --allow-evidence-dir is given.
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
        /// Also write the whole timeline to FILE (.parquet, .csv or .jsonl)
        ///
        /// Every event of the bundle, flows included, as `seam timeline` writes it, in the format
        /// the extension names; written atomically beside the report. Other extensions are
        /// refused before any evidence is read, and so is a path inside an evidence directory
        /// unless --allow-evidence-dir is given.
        #[arg(long, value_name = "FILE")]
        timeline: Option<PathBuf>,
        /// Let -o, --html and --timeline write inside an evidence directory
        #[arg(long)]
        allow_evidence_dir: bool,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Replay a bundle against expected findings and incidents (for CI)
    ///
    /// Runs the pipeline of `seam investigate` (same input, flow and detection options) and
    /// compares its findings and incidents with EXPECT.toml: one line per expectation, ✓ when
    /// met, ✗ with the nearest candidate when not, then every finding and incident above
    /// `unexpected_above` that nothing in the file explains. Exit code 0 when every expectation
    /// is met and nothing unexpected is found, 1 otherwise, 2 when EXPECT.toml cannot be read
    /// or is invalid (the error names the file and the key).
    ///
    /// EXPECT.toml: `unexpected_above = "low"` (optional: findings and incidents above this
    /// severity must be expected); `[[finding]]` tables with `detector`, and optionally `host`
    /// (address or name), `peer` (address, domain or CIDR), `process` (executable path or file
    /// name) and `min_severity`; `[[incident]]` tables with optionally `hosts` (addresses or
    /// names, all in the one incident), `order` (detectors that must appear among its stages in
    /// this relative order) and `min_severity`. A finding is explained when a `[[finding]]`
    /// matches it (whatever its severity) or when it is a stage of an incident that meets an
    /// `[[incident]]`; an incident is explained when it meets an `[[incident]]` or all its
    /// stages are explained. `seam synth` writes an expect.toml for its bundle.
    #[command(
        after_help = "Examples:\n  seam check case42/ --expect case42.expect.toml\n  seam synth --scenario appliance-compromise --seed 7 -o /tmp/case7 && seam check /tmp/case7 --expect /tmp/case7/expect.toml\n  seam check today/ --expect expect.toml --baseline clean.json --allow allow.txt"
    )]
    Check {
        #[command(flatten)]
        input: InputArgs,
        #[command(flatten)]
        flow: FlowArgs,
        #[command(flatten)]
        detect: DetectArgs,
        /// Expected findings and incidents (TOML; see above)
        #[arg(long, value_name = "EXPECT.toml")]
        expect: PathBuf,
    },
    /// List evidence files: kind from content, size, SHA-256, time span, records
    ///
    /// Walks directories, identifies each file by its magic bytes (pcap in µs and ns and both
    /// byte orders, pcapng, EVTX, auditd text, each possibly gzip-compressed) and reads it to
    /// count records and find problems. Unknown files are listed as unknown.
    #[command(
        after_help = "Examples:\n  seam inventory case42/\n  seam inventory case42/ --format csv -o inventory.csv"
    )]
    Inventory {
        #[command(flatten)]
        input: InputArgs,
        /// Skip SHA-256 hashing
        #[arg(long)]
        no_hash: bool,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Bidirectional flows with Zeek-compatible fields
    ///
    /// One row per flow: start, id, originator and responder, transport, service recognised
    /// from content (dns, http, ssl, ssh, smb, stratum, dhcp, ntp), duration, payload bytes,
    /// packets, IP bytes, conn_state, history and Community ID. Flows still open at the end of
    /// a capture are emitted. When the bundle holds endpoint logs, each flow a Sysmon or WFP
    /// connection, an auditd connect or a Sysmon DNS lookup accounts for carries its process
    /// (pid, image, command line, user, host) and the record that says so; the rate of
    /// attributed connections per host and log is printed on stderr.
    #[command(
        after_help = "Examples:\n  seam flows capture.pcap\n  seam flows case42/ --format parquet -o flows.parquet\n  seam flows big.pcapng --tcp-timeout 1h --format jsonl | jq ."
    )]
    Flows {
        #[command(flatten)]
        input: InputArgs,
        #[command(flatten)]
        flow: FlowArgs,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Internal hosts: addresses, names, managed or not, roles, activity, telemetry span
    ///
    /// One row per internal address in the captures: the names endpoint logs give it (from
    /// connections it made), whether the bundle has endpoint telemetry for it, role hints
    /// from what others asked of it (DNS, DHCP, SMB, web, SSH, mail servers; internet-facing),
    /// first and last seen, flows and bytes both ways, peers, the span of its endpoint
    /// events and its logs' clock offset.
    #[command(after_help = "Examples:\n  seam assets case42/\n  seam assets case42/ --format csv -o assets.csv")]
    Assets {
        #[command(flatten)]
        input: InputArgs,
        #[command(flatten)]
        flow: FlowArgs,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Find what is unusual for this network: beacons, tunnels, uploads, scans, …
    ///
    /// Learns what is normal from the bundle itself (which destinations many internal hosts
    /// use, each host's habits, which internal hosts talk), optionally with a saved baseline
    /// from a clean bundle, then runs every detector and lists its findings: severity, score
    /// and the parts of the score, ATT&CK tactic and technique, host, peer, process when an
    /// endpoint log names it, a summary and the evidence (file and packet, record or line).
    /// The allowlist and thresholds apply when scoring: changing them needs no change to the
    /// evidence. Exit code 1 when --fail-on is given and a finding reaches it.
    #[command(
        after_help = "Examples:\n  seam hunt case42/\n  seam hunt case42/ --format json -o findings.json\n  seam hunt case42/ --baseline clean.json --allow allow.txt --fail-on high\n  seam hunt case42/ --detector beacon,dns-tunnel --min-severity medium\n  seam hunt --list"
    )]
    Hunt {
        #[command(flatten)]
        input: OptionalInputArgs,
        #[command(flatten)]
        flow: FlowArgs,
        #[command(flatten)]
        detect: DetectArgs,
        /// Only list findings at or above this severity
        #[arg(long, value_enum, value_name = "SEVERITY", default_value = "info")]
        min_severity: Severity,
        /// Exit with code 1 when a finding reaches this severity
        #[arg(long, value_enum, value_name = "SEVERITY")]
        fail_on: Option<Severity>,
        /// List the detectors and exit
        #[arg(long)]
        list: bool,
        /// Print the default thresholds file and exit
        #[arg(long)]
        print_thresholds: bool,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Learn a baseline from a clean bundle, for `seam hunt --baseline`
    ///
    /// Writes what the bundle shows as normal: destination prevalence (addresses, names,
    /// domains, JA4s, user agents) with first-seen times, each host's usual ports, services
    /// and volumes, and the internal host pairs. JSON, schema seam.baseline/1; the same
    /// evidence always gives the same file.
    #[command(
        after_help = "Examples:\n  seam learn last-week/ -o baseline.json\n  seam hunt today/ --baseline baseline.json"
    )]
    Learn {
        #[command(flatten)]
        input: InputArgs,
        #[command(flatten)]
        flow: FlowArgs,
        /// Thresholds file (only its [baseline] section matters here)
        #[arg(long, value_name = "FILE")]
        thresholds: Option<PathBuf>,
        /// Where to write the baseline
        #[arg(long, short = 'o', value_name = "FILE", required = true)]
        output: PathBuf,
    },
    /// Write a synthetic evidence bundle with a truth file
    ///
    /// Scenarios: appliance-compromise (an exploited VPN appliance: beacons, OAST callbacks,
    /// uploads, an ELF download, a web shell, a scan, lateral movement, DNS tunnelling, a miner,
    /// over ordinary background traffic; with the Windows server's Sysmon and Security logs and
    /// the Linux server's audit log) and benign (the background capture alone). The same seed
    /// always gives the same bundle; parameters vary with the seed. Beside the evidence it
    /// writes truth.json (every injected stage) and expect.toml, the expectations derived from
    /// it for `seam check`.
    #[command(
        after_help = "Examples:\n  seam synth --scenario appliance-compromise --seed 7 -o /tmp/case7\n  seam synth --scenario benign --seed 1 --hours 12 -o /tmp/quiet"
    )]
    Synth {
        /// Scenario to generate
        #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(crate::synth::scenario::SCENARIOS))]
        scenario: String,
        /// Seed of the generator
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Capture length in hours
        ///
        /// appliance-compromise needs at least 2: its beacons need a dozen check-ins and its
        /// telemetry gap an hour of logging before it, for the expectations it writes to hold.
        #[arg(long, default_value_t = 3.0)]
        hours: f64,
        /// Number of background workstations
        #[arg(long, default_value_t = 6)]
        hosts: usize,
        /// Directory to write the bundle into (created if missing)
        #[arg(long, short = 'o', value_name = "DIR")]
        output: PathBuf,
    },
    /// One time-ordered timeline of every event in the bundle
    ///
    /// Network events (flow, dns, http, tls, ssh, stratum) and endpoint events (process,
    /// connection, logon, account, service, task, file, registry, module, process-access,
    /// lookup, script, audit, firewall, anomaly, generic) in one order: time, then host, then
    /// evidence file and position.
    #[command(
        after_help = "Examples:\n  seam timeline case42/ --kind dns,http\n  seam timeline case42/ --since 2024-05-01T10:00:00Z --until 2024-05-01T11:00:00Z\n  seam timeline case42/ --grep evil.example --format timesketch -o ts.jsonl"
    )]
    Timeline {
        #[command(flatten)]
        input: InputArgs,
        #[command(flatten)]
        flow: FlowArgs,
        #[command(flatten)]
        filter: FilterArgs,
        #[command(flatten)]
        output: OutputArgs,
        /// Events an endpoint log's reader holds before writing them, sorted, to a temporary
        /// file; the timeline is then merged from these runs, so memory does not grow with the
        /// logs. Applies to JSON, JSON Lines, Timesketch and CSV output of bundles without
        /// captures and without --host; 0 holds every event
        #[arg(long, value_name = "EVENTS", default_value_t = 65_536)]
        spill_after: usize,
    },
}

#[derive(Debug, Args)]
pub struct InputArgs {
    /// Evidence files or directories (walked recursively)
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub rest: InputOptions,
}

/// How to read the evidence: host names of logs, clocks, the address plan.
#[derive(Debug, Args)]
pub struct InputOptions {
    /// Name the host an audit log came from, when its records carry no node= (repeatable)
    ///
    /// FILE is the log's path, or its file name alone. Records with node= keep their node.
    #[arg(long, value_name = "FILE=NAME")]
    pub log_host: Vec<String>,
    /// Keep endpoint times as logged (no clock-skew correction)
    ///
    /// By default each endpoint log's offset from the capture's clock is estimated from
    /// connections that name their flow, and subtracted before events are joined and ordered.
    #[arg(long)]
    pub no_skew_correction: bool,
    /// Set a host's clock offset instead of estimating it (repeatable): HOST=+2.5s, HOST=-90s
    ///
    /// The offset is the host's clock minus the capture's: +2.5s means the host is ahead.
    #[arg(long, value_name = "HOST=OFFSET", allow_hyphen_values = true)]
    pub clock_offset: Vec<String>,
    /// Address blocks that are internal, comma-separated or repeated (default: RFC 1918,
    /// RFC 6598, loopback, link-local, ULA)
    #[arg(long, value_delimiter = ',', value_name = "CIDR")]
    pub internal: Vec<String>,
    /// Names the analyst knows: a CSV of ip,name[,start,end] (times as for --since)
    #[arg(long, value_name = "FILE")]
    pub host_map: Option<PathBuf>,
}

/// Evidence for subcommands that can also run without it (`seam hunt --list`).
#[derive(Debug, Args)]
pub struct OptionalInputArgs {
    /// Evidence files or directories (walked recursively)
    #[arg(value_name = "PATH", required_unless_present_any = ["list", "print_thresholds"])]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub rest: InputOptions,
}

#[derive(Debug, Args)]
pub struct DetectArgs {
    /// Detectors to run, comma-separated (default: all; see --list)
    #[arg(long, value_delimiter = ',', value_name = "ID")]
    pub detector: Vec<String>,
    /// A baseline written by `seam learn`, consulted besides the bundle's own
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Safelist: one address, block, domain (*.example.com) or JA4 per line
    ///
    /// Findings whose peer (or a further name they carry: other domains, JA4s) is listed are
    /// dropped when scoring; the number dropped is printed on stderr.
    #[arg(long, value_name = "FILE")]
    pub allow: Option<PathBuf>,
    /// Thresholds overriding the defaults key by key (see --print-thresholds)
    #[arg(long, value_name = "FILE")]
    pub thresholds: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct FlowArgs {
    /// TCP inactivity timeout (Zeek's default 5m)
    #[arg(long, default_value = "5m", value_name = "DURATION")]
    pub tcp_timeout: String,
    /// UDP inactivity timeout (Zeek's default 1m)
    #[arg(long, default_value = "1m", value_name = "DURATION")]
    pub udp_timeout: String,
    /// ICMP inactivity timeout (Zeek's default 1m)
    #[arg(long, default_value = "1m", value_name = "DURATION")]
    pub icmp_timeout: String,
    /// Skip application-layer decoding (DNS, HTTP, TLS, SSH, Stratum)
    #[arg(long)]
    pub no_app: bool,
}

#[derive(Debug, Args)]
pub struct FilterArgs {
    /// Event kinds to keep, comma-separated
    ///
    /// Network: flow, dns, http, tls, ssh, stratum, dhcp. Endpoint: process, connection,
    /// logon, account, service, task, file, registry, module, process-access, lookup, script,
    /// audit, firewall, anomaly, generic.
    #[arg(long, value_delimiter = ',', value_name = "KIND")]
    pub kind: Vec<String>,
    /// Keep events of this host (name or address); repeatable
    #[arg(long, value_name = "HOST")]
    pub host: Vec<String>,
    /// Keep events at or after this time (RFC 3339, 'YYYY-MM-DD HH:MM:SS' UTC, or epoch seconds)
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Keep events at or before this time
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Keep events whose text contains this (case-insensitive)
    #[arg(long, value_name = "TEXT")]
    pub grep: Option<String>,
}

#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Output format [default: table on a terminal, jsonl otherwise]
    ///
    /// table: for reading. json: one document with a schema version. jsonl: one object per
    /// line. csv and parquet: flat typed columns (polars; not investigate, whose --timeline
    /// exports them). timesketch: JSON Lines with message, datetime and timestamp_desc
    /// (timeline only).
    #[arg(long, short = 'f', value_enum, value_name = "FORMAT")]
    pub format: Option<Format>,
    /// Write to FILE instead of stdout (atomically: no half-written file on interrupt)
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// What to run, validated.
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub threads: usize,
    pub quiet: bool,
    pub strict: bool,
    pub timings: bool,
    /// Whether capture files may be memory-mapped (not `--no-mmap`).
    pub mmap: bool,
    /// Host names for endpoint logs by file (`--log-host`).
    pub log_hosts: Vec<(PathBuf, String)>,
    /// Clock-skew handling of endpoint logs.
    pub skew: SkewConfig,
    /// Internal address blocks and known host names.
    pub knowledge: NetworkKnowledge,
    pub task: Task,
}

#[derive(Debug, Clone)]
pub enum Task {
    Investigate {
        paths: Vec<PathBuf>,
        flow: FlowConfig,
        hunt: Box<HuntConfig>,
        fail_on: Option<Severity>,
        /// `--timeline FILE`: the whole timeline, written beside the report.
        timeline: Option<OutputConfig>,
        out: OutputConfig,
        /// `--html`: where the self-contained HTML report goes.
        html: Option<Destination>,
    },
    /// `seam check`: the investigate pipeline, judged against expectations.
    Check {
        paths: Vec<PathBuf>,
        flow: FlowConfig,
        hunt: Box<HuntConfig>,
        expect: Box<Expectations>,
        /// Where the expectations came from, for the report.
        expect_path: PathBuf,
    },
    Inventory {
        paths: Vec<PathBuf>,
        hash: bool,
        out: OutputConfig,
    },
    Flows {
        paths: Vec<PathBuf>,
        flow: FlowConfig,
        out: OutputConfig,
    },
    Assets {
        paths: Vec<PathBuf>,
        flow: FlowConfig,
        out: OutputConfig,
    },
    Timeline {
        paths: Vec<PathBuf>,
        flow: FlowConfig,
        filter: TimelineFilter,
        out: OutputConfig,
        /// Events a log's reader holds before writing a sorted run (0: never).
        spill_after: usize,
    },
    Synth {
        scenario: String,
        seed: u64,
        hours: f64,
        hosts: usize,
        dir: PathBuf,
    },
    Hunt {
        paths: Vec<PathBuf>,
        flow: FlowConfig,
        hunt: Box<HuntConfig>,
        report: HuntReport,
        out: OutputConfig,
    },
    /// `seam hunt --list` / `--print-thresholds`: print and exit.
    HuntInfo {
        thresholds: bool,
    },
    Learn {
        paths: Vec<PathBuf>,
        flow: FlowConfig,
        hunt: Box<HuntConfig>,
        dest: Destination,
    },
}

/// What `seam hunt` lists and when it fails.
#[derive(Debug, Clone, Copy)]
pub struct HuntReport {
    pub min_severity: Severity,
    pub fail_on: Option<Severity>,
}

#[derive(Debug, Clone)]
pub struct OutputConfig {
    pub format: Format,
    pub dest: Destination,
    /// Terminal width for tables.
    pub width: u16,
    /// Colour severities: only when writing to a terminal, and not when `NO_COLOR` is set.
    pub color: bool,
}

impl RunConfig {
    pub fn from_cli(cli: Cli) -> Result<RunConfig> {
        let g = cli.global;
        let (log_hosts, skew, knowledge) = match &cli.command {
            Command::Investigate { input, .. }
            | Command::Check { input, .. }
            | Command::Inventory { input, .. }
            | Command::Flows { input, .. }
            | Command::Timeline { input, .. }
            | Command::Assets { input, .. } => {
                (log_hosts(&input.rest.log_host)?, skew_config(&input.rest)?, network_knowledge(&input.rest)?)
            }
            Command::Hunt { input, .. } => {
                (log_hosts(&input.rest.log_host)?, skew_config(&input.rest)?, network_knowledge(&input.rest)?)
            }
            Command::Learn { input, .. } => {
                (log_hosts(&input.rest.log_host)?, skew_config(&input.rest)?, network_knowledge(&input.rest)?)
            }
            Command::Synth { .. } => (Vec::new(), SkewConfig::default(), NetworkKnowledge::default()),
        };
        let task = match cli.command {
            Command::Investigate { input, flow, detect, fail_on, html, timeline, allow_evidence_dir, output } => {
                if allow_evidence_dir && html.is_none() && timeline.is_none() && output.output.is_none() {
                    bail!("--allow-evidence-dir applies to -o, --html and --timeline; give one of them");
                }
                // The checks below share one walk of what the evidence reaches.
                let evidence = EvidencePaths::new(&input.paths);
                if let Some(p) = &output.output {
                    report_destination(p, &evidence, allow_evidence_dir, "-o")?;
                }
                let out = output_config(&output, false, &evidence)?;
                // Refused before the evidence is read, not after: a report is a document.
                if !matches!(out.format, Format::Table | Format::Json | Format::Jsonl) {
                    bail!(
                        "investigate writes table, json or jsonl, not {} (--timeline FILE exports the rows as csv or parquet)",
                        out.format.name()
                    );
                }
                let html_path = html.clone();
                let html = html.map(|p| report_destination(&p, &evidence, allow_evidence_dir, "--html")).transpose()?;
                let named =
                    [("-o", output.output.as_ref()), ("--html", html_path.as_ref()), ("--timeline", timeline.as_ref())];
                for (i, (flag, path)) in named.iter().enumerate() {
                    let Some(path) = path else { continue };
                    for (other, other_path) in named.iter().skip(i + 1) {
                        if other_path.is_some_and(|o| same_file(path, o)) {
                            bail!("{flag} and {other} name the same file");
                        }
                    }
                }
                let timeline = timeline
                    .map(|p| {
                        report_destination(&p, &evidence, allow_evidence_dir, "--timeline")?;
                        timeline_export(&p, out.width)
                    })
                    .transpose()?;
                Task::Investigate {
                    paths: input.paths,
                    flow: flow_config(&flow)?,
                    hunt: Box::new(hunt_config(&detect)?),
                    fail_on,
                    timeline,
                    out,
                    html,
                }
            }
            Command::Check { input, flow, detect, expect } => Task::Check {
                paths: input.paths,
                flow: flow_config(&flow)?,
                hunt: Box::new(hunt_config(&detect)?),
                expect: Box::new(Expectations::load(&expect)?),
                expect_path: expect,
            },
            Command::Inventory { input, no_hash, output } => {
                let out = output_config(&output, false, &EvidencePaths::new(&input.paths))?;
                Task::Inventory { paths: input.paths, hash: !no_hash, out }
            }
            Command::Flows { input, flow, output } => {
                // Flow records only: the application records are not listed, so not kept.
                let flow = FlowConfig { app_records: false, ..flow_config(&flow)? };
                let out = output_config(&output, false, &EvidencePaths::new(&input.paths))?;
                Task::Flows { paths: input.paths, flow, out }
            }
            Command::Assets { input, flow, output } => {
                let out = output_config(&output, false, &EvidencePaths::new(&input.paths))?;
                Task::Assets { paths: input.paths, flow: flow_config(&flow)?, out }
            }
            Command::Synth { scenario, seed, hours, hosts, output } => {
                if !(hours > 0.0 && hours <= 24.0 * 14.0) {
                    bail!("--hours must be more than 0 and at most 336 (two weeks)");
                }
                if scenario == "appliance-compromise" && hours < 2.0 {
                    bail!("--hours must be at least 2 for appliance-compromise: its stages need the time to be found");
                }
                if hosts == 0 || hosts > 150 {
                    bail!("--hosts must be between 1 and 150");
                }
                Task::Synth { scenario, seed, hours, hosts, dir: output }
            }
            Command::Hunt { input, flow, detect, min_severity, fail_on, list, print_thresholds, output } => {
                if list || print_thresholds {
                    Task::HuntInfo { thresholds: print_thresholds }
                } else {
                    let out = output_config(&output, false, &EvidencePaths::new(&input.paths))?;
                    Task::Hunt {
                        paths: input.paths,
                        flow: flow_config(&flow)?,
                        hunt: Box::new(hunt_config(&detect)?),
                        report: HuntReport { min_severity, fail_on },
                        out,
                    }
                }
            }
            Command::Learn { input, flow, thresholds, output } => {
                let detect = DetectArgs { detector: Vec::new(), baseline: None, allow: None, thresholds };
                let dest = report_destination(&output, &EvidencePaths::new(&input.paths), true, "-o")?;
                Task::Learn {
                    paths: input.paths,
                    flow: flow_config(&flow)?,
                    hunt: Box::new(hunt_config(&detect)?),
                    dest,
                }
            }
            Command::Timeline { input, flow, filter, output, spill_after } => {
                let out = output_config(&output, true, &EvidencePaths::new(&input.paths))?;
                let (flow, filter) = (flow_config(&flow)?, filter_config(&filter)?);
                Task::Timeline { paths: input.paths, flow, filter, out, spill_after }
            }
        };
        Ok(RunConfig {
            threads: g.threads,
            quiet: g.quiet,
            strict: g.strict,
            timings: g.timings,
            mmap: !g.no_mmap,
            log_hosts,
            skew,
            knowledge,
            task,
        })
    }
}

/// How endpoint clocks are put on the capture's.
#[derive(Debug, Clone, Default)]
pub struct SkewConfig {
    /// Estimate offsets and correct times (the default).
    pub correct: bool,
    /// Offsets the analyst set, by host name (nanoseconds, host clock minus capture clock).
    pub forced: Vec<(String, i64)>,
}

fn skew_config(input: &InputOptions) -> Result<SkewConfig> {
    let forced = input
        .clock_offset
        .iter()
        .map(|spec| {
            let parsed = spec.rsplit_once('=').and_then(|(host, offset)| {
                let offset = offset.trim();
                let (sign, magnitude) = match offset.strip_prefix('-') {
                    Some(rest) => (-1, rest),
                    None => (1, offset.strip_prefix('+').unwrap_or(offset)),
                };
                let ns = parse_duration(magnitude)?;
                (!host.trim().is_empty()).then(|| (host.trim().to_string(), sign * ns))
            });
            parsed.with_context(|| format!("invalid --clock-offset '{spec}': expected HOST=+2.5s or HOST=-90s"))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(SkewConfig { correct: !input.no_skew_correction, forced })
}

fn network_knowledge(input: &InputOptions) -> Result<NetworkKnowledge> {
    let internal = input
        .internal
        .iter()
        .map(|c| {
            Cidr::parse(c).with_context(|| format!("invalid --internal '{c}': expected a block such as 10.0.0.0/8"))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut known = Vec::new();
    if let Some(path) = &input.host_map {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("cannot read --host-map {}", path.display()))?;
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let cols: Vec<&str> = line.split(',').map(str::trim).collect();
            let Ok(ip) = cols[0].parse() else {
                if n == 0 {
                    continue; // a header row
                }
                bail!("--host-map {} line {}: '{}' is not an address", path.display(), n + 1, cols[0]);
            };
            let name = cols
                .get(1)
                .filter(|s| !s.is_empty())
                .with_context(|| format!("--host-map {} line {}: no name after the address", path.display(), n + 1))?;
            let time = |i: usize| -> Result<Option<i64>> {
                match cols.get(i).filter(|s| !s.is_empty()) {
                    None => Ok(None),
                    Some(t) => parse_user_time(t)
                        .map(Some)
                        .with_context(|| format!("--host-map {} line {}: bad time '{t}'", path.display(), n + 1)),
                }
            };
            known.push(KnownHost { ip, name: name.to_string(), start: time(2)?, end: time(3)? });
        }
    }
    Ok(NetworkKnowledge { internal: InternalNets(internal), known })
}

fn log_hosts(specs: &[String]) -> Result<Vec<(PathBuf, String)>> {
    specs
        .iter()
        .map(|spec| match spec.rsplit_once('=') {
            Some((file, name)) if !file.is_empty() && !name.trim().is_empty() => {
                Ok((PathBuf::from(file), name.trim().to_string()))
            }
            _ => bail!("invalid --log-host '{spec}': expected FILE=NAME"),
        })
        .collect()
}

fn flow_config(a: &FlowArgs) -> Result<FlowConfig> {
    let d = |s: &str, what: &str| -> Result<i64> {
        match parse_duration(s) {
            Some(ns) if ns > 0 => Ok(ns),
            _ => bail!("invalid {what} '{s}': expected a positive duration such as 90s, 5m or 1h"),
        }
    };
    Ok(FlowConfig {
        tcp_timeout: d(&a.tcp_timeout, "--tcp-timeout")?,
        udp_timeout: d(&a.udp_timeout, "--udp-timeout")?,
        icmp_timeout: d(&a.icmp_timeout, "--icmp-timeout")?,
        app_layer: !a.no_app,
        app_records: true,
    })
}

fn filter_config(a: &FilterArgs) -> Result<TimelineFilter> {
    let mut kinds = Vec::new();
    for k in &a.kind {
        let k = k.trim();
        match EventKind::parse(k) {
            Some(kind) => kinds.push(kind),
            None => bail!(
                "unknown --kind '{k}': expected one of {}",
                EventKind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
            ),
        }
    }
    let time = |s: &Option<String>, what: &str| -> Result<Option<i64>> {
        s.as_deref()
            .map(|t| {
                parse_user_time(t).with_context(|| {
                    format!("invalid {what} '{t}': expected RFC 3339, 'YYYY-MM-DD HH:MM:SS' (UTC) or epoch seconds")
                })
            })
            .transpose()
    };
    let since = time(&a.since, "--since")?;
    let until = time(&a.until, "--until")?;
    if let (Some(s), Some(u)) = (since, until) {
        if s > u {
            bail!("--since is after --until");
        }
    }
    Ok(TimelineFilter { hosts: a.host.clone(), since, until, kinds, grep: a.grep.clone() })
}

/// Loads and checks everything a hunt needs before any evidence is read.
fn hunt_config(a: &DetectArgs) -> Result<HuntConfig> {
    for id in &a.detector {
        if !DETECTORS.iter().any(|d| d.id() == id) {
            let known: Vec<&str> = DETECTORS.iter().map(|d| d.id()).collect();
            bail!("unknown detector `{id}` (known: {})", known.join(", "));
        }
    }
    let thresholds = match &a.thresholds {
        Some(p) => Thresholds::load(p)?,
        None => Thresholds::defaults(),
    };
    let allow = match &a.allow {
        Some(p) => Allowlist::load(p)?,
        None => Allowlist::default(),
    };
    let baseline = a.baseline.as_deref().map(SavedBaseline::load).transpose()?;
    Ok(HuntConfig { detectors: a.detector.clone(), allow, thresholds, baseline })
}

/// Where and how a command writes. A file given with `-o` never replaces evidence: not a file
/// of the bundle, nor a file inside an evidence directory other than an earlier report (see
/// [`report_destination`]).
fn output_config(a: &OutputArgs, timesketch_ok: bool, evidence: &EvidencePaths<'_>) -> Result<OutputConfig> {
    let stdout_tty = std::io::stdout().is_terminal();
    let format = a.format.unwrap_or(if a.output.is_none() && stdout_tty { Format::Table } else { Format::Jsonl });
    if format == Format::Timesketch && !timesketch_ok {
        bail!("--format timesketch is only available for `seam timeline`");
    }
    if format.is_binary() && a.output.is_none() && stdout_tty {
        bail!("refusing to write {} to a terminal; use -o FILE", format.name());
    }
    let dest = match &a.output {
        Some(p) => report_destination(p, evidence, true, "-o")?,
        None => Destination::Stdout,
    };
    let width = terminal_width().unwrap_or(120);
    let color = a.output.is_none() && stdout_tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    Ok(OutputConfig { format, dest, width, color })
}

/// A report file's destination, checked before any evidence is read: not a directory, not an
/// evidence file, and not inside an evidence directory unless `allow_evidence_dir` (a bundle
/// stays as it was handed over; a report written into it would also be read as evidence by
/// the next run). Paths are compared after resolving `.`, `..` and symbolic links of the
/// directories.
pub fn report_destination(
    path: &Path,
    evidence: &EvidencePaths<'_>,
    allow_evidence_dir: bool,
    flag: &str,
) -> Result<Destination> {
    if path.is_dir() {
        bail!("{flag} path {} is a directory", path.display());
    }
    if path.file_name().is_none() {
        bail!("{flag} path {} names no file", path.display());
    }
    let target = resolve_output(path).with_context(|| {
        let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        format!("cannot write {flag} {}: no directory {}", path.display(), parent.display())
    })?;
    for e in evidence.paths {
        let Ok(e_canon) = e.canonicalize() else { continue };
        if e_canon == target {
            bail!("{flag} {} would overwrite the evidence file {}", path.display(), e.display());
        }
        if e_canon.is_dir() && target.starts_with(&e_canon) {
            if !allow_evidence_dir {
                bail!(
                    "{flag} {} is inside the evidence directory {}; write it elsewhere or add --allow-evidence-dir",
                    path.display(),
                    e.display()
                );
            }
            // Allowed in: still never over a file of the bundle, only over an earlier report.
            if target.exists() && !is_earlier_report(&target) {
                bail!("{flag} {} would overwrite a file in the evidence directory {}", path.display(), e.display());
            }
        }
    }
    // What the walk reaches through links: a file or directory of the bundle under another name.
    let reach = evidence.reach();
    let earlier_report = || allow_evidence_dir && is_earlier_report(&target);
    if target.exists() && reach.has_file(&target) && !earlier_report() {
        bail!("{flag} {} would overwrite a file of the evidence (reached through a link)", path.display());
    }
    if !allow_evidence_dir && target.parent().is_some_and(|dir| reach.has_dir(dir)) {
        bail!(
            "{flag} {} is inside an evidence directory (reached through a link); write it elsewhere or add --allow-evidence-dir",
            path.display()
        );
    }
    Ok(Destination::File(path.to_path_buf()))
}

/// The bundle's paths as the output checks see them: what the evidence walk reaches through
/// links is walked once, when a check first needs it, however many outputs are checked.
pub struct EvidencePaths<'a> {
    paths: &'a [PathBuf],
    reach: std::cell::OnceCell<crate::evidence::Reach>,
}

impl<'a> EvidencePaths<'a> {
    pub fn new(paths: &'a [PathBuf]) -> Self {
        EvidencePaths { paths, reach: std::cell::OnceCell::new() }
    }

    fn reach(&self) -> &crate::evidence::Reach {
        self.reach.get_or_init(|| crate::evidence::Reach::of(self.paths))
    }
}

/// Whether two output paths name one file: compared after resolving their directories, as
/// [`report_destination`] resolves them.
fn same_file(a: &Path, b: &Path) -> bool {
    a == b || resolve_output(a).ok().is_some_and(|ra| resolve_output(b).ok() == Some(ra))
}

/// An output path with its directory resolved (`.`, `..`, symbolic links); the file itself
/// need not exist. Errors when it names no file or its directory does not exist.
fn resolve_output(path: &Path) -> std::io::Result<PathBuf> {
    let no_file = || std::io::Error::new(std::io::ErrorKind::InvalidInput, "names no file");
    let name = path.file_name().ok_or_else(no_file)?;
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    Ok(parent.canonicalize()?.join(name))
}

/// Whether a file is an earlier report rather than evidence: an HTML or JSON report, or a
/// JSON Lines, CSV or Parquet timeline, as seam writes them.
fn is_earlier_report(path: &Path) -> bool {
    use std::io::Read;
    let mut head = vec![0u8; 4096];
    let Ok(n) = std::fs::File::open(path).and_then(|mut f| f.read(&mut head)) else { return false };
    head.truncate(n);
    let has = |needle: &[u8]| head.windows(needle.len()).any(|w| w == needle);
    (head.len() >= 15 && head[..15].eq_ignore_ascii_case(b"<!DOCTYPE html>"))
        || (head.first() == Some(&b'{') && (has(b"\"schema\":\"seam.") || has(b"\"schema\": \"seam.")))
        || head.starts_with(b"{\"@timestamp\"")
        || head.starts_with(b"PAR1")
        || head.starts_with(b"@timestamp,")
}

/// `--timeline FILE`: the format from the extension (parquet, csv or jsonl), nothing else.
fn timeline_export(path: &std::path::Path, width: u16) -> Result<OutputConfig> {
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    let format = match ext.as_deref() {
        Some("parquet") => Format::Parquet,
        Some("csv") => Format::Csv,
        Some("jsonl") => Format::Jsonl,
        _ => bail!(
            "--timeline {}: unknown extension; name the file .parquet, .csv or .jsonl to choose the format",
            path.display()
        ),
    };
    if path.is_dir() {
        bail!("--timeline path {} is a directory", path.display());
    }
    Ok(OutputConfig { format, dest: Destination::File(path.to_path_buf()), width, color: false })
}

/// Width for tables: `$COLUMNS` when set, else the width of the terminal on stdout.
fn terminal_width() -> Option<u16> {
    let from_env = std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok());
    let width = from_env.or_else(|| terminal_size::terminal_size_of(std::io::stdout()).map(|(w, _)| w.0));
    width.filter(|w: &u16| *w >= 40)
}
