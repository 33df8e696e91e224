//! Wiring: the only module that knows every stage. Builds the rayon pool, reads the evidence
//! (files in parallel, results collected in file order so output never depends on
//! scheduling), runs the flow layer, normalises, renders, and decides the outcome.

use crate::cli::SkewConfig;
use crate::cli::{OutputConfig, RunConfig, Task};
use crate::decode::auditd::{parse_line, Assembler, AuditEvent, AuditLine, LineError};
use crate::decode::winevt::parse_record_json;
use crate::detect::{DetectInput, Finding, HuntConfig, DETECTORS};
use crate::diag::{DiagKind, Diagnostics};
use crate::entities::{assets, attribute, estimate, Attributions, ClockOffset};
use crate::evidence::{self, EvidenceFile, EvidenceKind};
use crate::flows::shard::{self, shard_of, Batch};
use crate::flows::{FlowConfig, FlowOutput, FlowTable, PacketIn};
use crate::model::{Asset, Event, EventKind, Fields, FlowRecord, HostRef, InventoryEntry, NetTuple};
use crate::normalize::audit::map_event;
use crate::normalize::net::{app_event, app_event_owned, flow_event};
use crate::normalize::winevt::{map_record, RecordMeta};
use crate::report::{render, Format, Rendered};
use crate::sources::auditd::read_lines;
use crate::sources::buffer::{self, StreamBuf};
use crate::sources::evtx::{read_evtx, EvtxInput};
use crate::sources::{read_capture_from, CaptureSummary};
use crate::timeline::schema::{self, ASSET_COLUMNS, EVENT_COLUMNS, FLOW_COLUMNS, INVENTORY_COLUMNS};
use crate::timeline::{sort_events, RowCtx, TimelineFilter};
use crate::util::Timestamp;
use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

mod runs;

/// How a run ended, for the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Done; tolerated input problems included.
    Done,
    /// Findings at or above the requested severity.
    Findings,
    /// `seam check`: an expectation not met, or something unexpected found.
    ExpectationsFailed,
    /// Input problems under `--strict`.
    StrictFailure,
}

/// Runs a validated configuration.
pub fn run(cfg: RunConfig) -> Result<Outcome> {
    // The global pool, so that the evtx crate's chunk workers (spawned from a reader thread
    // outside any pool) share the one `--threads` budget. A process that already built it (a
    // test harness running several configurations) gets a pool of its own per run.
    if rayon::ThreadPoolBuilder::new().num_threads(cfg.threads).build_global().is_ok() {
        return run_in_pool(&cfg);
    }
    let pool =
        rayon::ThreadPoolBuilder::new().num_threads(cfg.threads).build().context("cannot start worker threads")?;
    pool.install(|| run_in_pool(&cfg))
}

fn run_in_pool(cfg: &RunConfig) -> Result<Outcome> {
    if let Task::Synth { scenario, seed, hours, hosts, dir } = &cfg.task {
        let truth = crate::synth::scenario::generate(scenario, *seed, dir, *hours, *hosts)
            .with_context(|| format!("cannot write the bundle to {}", dir.display()))?;
        if !cfg.quiet {
            crate::note!("seam: wrote {} ({} stages) to {}", scenario, truth.stages.len(), dir.display());
        }
        return Ok(Outcome::Done);
    }
    if let Task::HuntInfo { thresholds } = &cfg.task {
        print_hunt_info(*thresholds)?;
        return Ok(Outcome::Done);
    }
    let mut diags = Diagnostics::new();
    let (paths, hash) = match &cfg.task {
        Task::Synth { .. } | Task::HuntInfo { .. } => return Ok(Outcome::Done),
        Task::Hunt { paths, .. } | Task::Learn { paths, .. } | Task::Check { paths, .. } => (paths, false),
        Task::Inventory { paths, hash, .. } => (paths, *hash),
        Task::Investigate { paths, .. } => (paths, true),
        Task::Flows { paths, .. } | Task::Timeline { paths, .. } | Task::Assets { paths, .. } => (paths, false),
    };
    let files = evidence::discover(paths, &mut diags);
    let listing = matches!(cfg.task, Task::Inventory { .. });
    // The inventory lists unknown files; every other command needs evidence it can read.
    if files.is_empty() || (!listing && files.iter().all(|f| f.kind == EvidenceKind::Unknown)) {
        print_diagnostics(&diags, cfg.quiet);
        let what = if files.is_empty() { "no readable evidence" } else { "no capture, event log or audit log" };
        bail!(
            "{what} in {} (files are identified by their content; seam inventory lists what each is)",
            paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
        );
    }
    // A --log-host given by file name alone must name one file: two logs of that name are
    // likely two machines.
    for (given, host) in &cfg.log_hosts {
        if given.components().count() != 1 {
            continue;
        }
        let named: Vec<&str> = files
            .iter()
            .filter(|f| f.path.file_name() == Some(given.as_os_str()))
            .map(|f| f.display.as_str())
            .collect();
        if named.len() > 1 {
            bail!(
                "--log-host {}={host} names {} files ({}); give the path of the one meant",
                given.display(),
                named.len(),
                named.join(", ")
            );
        }
    }
    let (flow_cfg, decode) = match &cfg.task {
        Task::Inventory { .. } | Task::Synth { .. } | Task::HuntInfo { .. } => (FlowConfig::default(), false),
        Task::Hunt { flow, .. } | Task::Learn { flow, .. } | Task::Check { flow, .. } => (*flow, true),
        Task::Investigate { flow, .. }
        | Task::Flows { flow, .. }
        | Task::Timeline { flow, .. }
        | Task::Assets { flow, .. } => (*flow, true),
    };
    let mut clock = StageClock::new(cfg.timings);
    // A timeline that needs nothing else of every event is merged from sorted runs on disk
    // (see `runs`): its logs' readers hand their events on as they go.
    let spilling = match &cfg.task {
        Task::Timeline { filter, out, spill_after, .. }
            if *spill_after > 0
                && filter.hosts.is_empty()
                && matches!(out.format, Format::Json | Format::Jsonl | Format::Timesketch | Format::Csv)
                && !files.iter().any(|f| f.kind.is_capture()) =>
        {
            Some(runs::Spilling::new(*spill_after, forced_offsets(&cfg.skew)))
        }
        _ => None,
    };
    if spilling.is_some() {
        // Each run's events are freed as the next are made, and each window's after it is
        // written: memory kept for 100 ms is reused instead of given back and faulted in again
        // (on the quarter audit log, half the system time and a tenth of the wall time, for
        // 4 MB more at the peak).
        crate::util::alloc::set_purge_delay(100);
    }
    let reading = Reading { flow: flow_cfg, decode, hash, mmap: cfg.mmap, spilling };
    let mut ingest = ingest(&files, &reading, &cfg.log_hosts, cfg.quiet);
    clock.lap("read");
    for r in &ingest {
        diags.merge(r.diags.clone());
    }
    // Runs were written for a timeline without captures: nothing to join, and the offsets set
    // were applied as the events were read.
    let streamed = runs::spilled(&ingest);
    let mut attributions = if streamed {
        Attributions { offsets: forced_offsets(&cfg.skew), ..Attributions::default() }
    } else if decode {
        attribute_bundle(&mut ingest, &cfg.skew)
    } else {
        Attributions::default()
    };
    // A --clock-offset for a host no log names applies to nothing: say so, and do not list it
    // among the offsets applied.
    attributions.offsets.retain(|o| {
        let named = !o.forced
            || ingest.iter().flat_map(|r| &r.events).any(|e| {
                e.host.as_ref().and_then(|h| h.name.as_deref()).is_some_and(|n| n.eq_ignore_ascii_case(&o.host))
            })
            || ingest
                .iter()
                .filter_map(|r| r.overflow.as_ref())
                .any(|w| w.hosts.contains(&o.host.to_ascii_lowercase()));
        if !named {
            let what = format!("no endpoint log names host {}: its offset applies to nothing", o.host);
            diags.push("--clock-offset", None, DiagKind::Skipped, what);
        }
        named
    });
    clock.lap("correlate");
    let ctx = RowCtx { files: files.iter().map(|f| f.display.clone()).collect() };
    let inventory: Vec<InventoryEntry> =
        files.iter().zip(&ingest).map(|(f, r)| inventory_entry(f, r, &diags)).collect();

    let mut outcome = Outcome::Done;
    match &cfg.task {
        Task::Hunt { hunt, report, out, .. } => {
            let found = detect_bundle(&mut ingest, &attributions, &ctx, cfg, hunt, &mut clock)?;
            report_allowed(&found, cfg.quiet);
            if report.fail_on.is_some_and(|s| found.findings.iter().any(|f| f.severity >= s)) {
                outcome = Outcome::Findings;
            }
            let shown: Vec<Finding> =
                found.findings.into_iter().filter(|f| f.severity >= report.min_severity).collect();
            let mut sink = out.dest.open()?;
            unless_pipe_closed(
                crate::report::findings::write(&shown, &diags, &ctx, out.format, out.width, out.color, &mut sink)
                    .and_then(|()| sink.commit()),
            )?;
        }
        Task::Learn { hunt, dest, .. } => {
            // The baseline reads flows and events only, no assets.
            let owned = detection_input(&mut ingest, &attributions);
            let saved = crate::detect::learn(&owned.input(cfg, &ctx), hunt)?.to_saved();
            let mut bytes = serde_json::to_vec_pretty(&saved)?;
            bytes.push(b'\n');
            dest.write_all(&bytes)?;
            if !cfg.quiet {
                crate::note!(
                    "seam: learned {} internal hosts, {} destinations, {} domains into {}",
                    saved.internal_hosts,
                    saved.ips.len(),
                    saved.domains.len(),
                    dest.label()
                );
            }
            std::mem::forget(owned);
        }
        Task::HuntInfo { .. } => {}
        Task::Check { hunt, expect, expect_path, .. } => {
            let owned = detection_input(&mut ingest, &attributions);
            let (assets, found) = detect_data(&owned, &attributions, &ctx, cfg, hunt)?;
            clock.lap("detect");
            report_allowed(&found, cfg.quiet);
            let mut incidents = crate::chains::build(&found.findings, &hunt.thresholds, &cfg.knowledge.internal);
            crate::chains::name_hosts(&mut incidents, &assets);
            let result = crate::check::evaluate(expect, &found.findings, &incidents);
            if !result.passed() {
                outcome = Outcome::ExpectationsFailed;
            }
            let text = crate::report::check::text(&result, &expect_path.display().to_string());
            unless_pipe_closed(crate::report::Destination::Stdout.write_all(text.as_bytes()))?;
            std::mem::forget(owned);
        }
        Task::Inventory { out, .. } => emit(
            out,
            &Rendered {
                rows: &inventory,
                cols: INVENTORY_COLUMNS,
                ctx: &ctx,
                schema: "seam.inventory/1",
                key: "files",
                table_cols: &[
                    "file.path",
                    "seam.kind",
                    "file.size",
                    "seam.records",
                    "seam.first",
                    "seam.last",
                    "seam.problems",
                    "file.hash.sha256",
                ],
                diagnostics: Some(&diags),
                timesketch: None,
                width: out.width,
            },
        )?,
        Task::Flows { out, .. } => {
            let flows = take_flows(&mut ingest);
            emit(
                out,
                &Rendered {
                    rows: &flows,
                    cols: FLOW_COLUMNS,
                    ctx: &ctx,
                    schema: "seam.flows/1",
                    key: "flows",
                    table_cols: &[
                        "@timestamp",
                        "source.ip",
                        "source.port",
                        "destination.ip",
                        "destination.port",
                        "network.transport",
                        "network.protocol",
                        "flow.duration",
                        "source.bytes",
                        "destination.bytes",
                        "flow.conn_state",
                        "flow.history",
                    ],
                    diagnostics: Some(&diags),
                    timesketch: None,
                    width: out.width,
                },
            )?
        }
        Task::Timeline { out, filter, .. } if streamed => {
            let spilling = reading.spilling.as_ref().context("runs written without a timeline to merge")?;
            runs::write_timeline(
                &mut ingest,
                spilling,
                filter,
                &timeline_rendered(&[], &ctx, &diags, out.width),
                out,
                cfg.timings,
                cfg.quiet,
            )?;
        }
        Task::Timeline { out, filter, .. } => {
            let widened;
            let filter = if filter.hosts.is_empty() {
                filter
            } else {
                // One host by any of its names or addresses: the asset inventory says which
                // belong together.
                widened = filter.with_aliases(&bundle_assets(&ingest, &attributions, cfg));
                &widened
            };
            let events = timeline_events(&mut ingest, filter, &attributions);
            emit(out, &timeline_rendered(&events, &ctx, &diags, out.width))?;
            // Like `ingest` below: not freed one allocation at a time just before the exit.
            std::mem::forget(events);
        }
        Task::Synth { .. } => {}
        Task::Assets { out, .. } => {
            let assets = bundle_assets(&ingest, &attributions, cfg);
            emit(
                out,
                &Rendered {
                    rows: &assets,
                    cols: ASSET_COLUMNS,
                    ctx: &ctx,
                    schema: "seam.assets/1",
                    key: "assets",
                    table_cols: &[
                        "host.ip",
                        "host.name",
                        "seam.managed",
                        "seam.roles",
                        "seam.first_seen",
                        "seam.last_seen",
                        "seam.flows_out",
                        "seam.flows_in",
                        "source.bytes",
                        "destination.bytes",
                        "seam.clock_offset",
                    ],
                    diagnostics: Some(&diags),
                    timesketch: None,
                    width: out.width,
                },
            )?
        }
        Task::Investigate { out, hunt, fail_on, timeline, html, .. } => {
            let owned = match timeline {
                // The whole timeline is written first; detection then takes its events but
                // the flows (it reads the flow records themselves).
                Some(export) => {
                    let all = timeline_events(&mut ingest, &TimelineFilter::default(), &attributions);
                    emit(export, &timeline_rendered(&all, &ctx, &diags, export.width))?;
                    let events = all.into_iter().filter(|e| e.kind != EventKind::Flow).collect();
                    DetectionData { events, flows: take_flows(&mut ingest) }
                }
                None => detection_input(&mut ingest, &attributions),
            };
            clock.lap("assemble");
            // The summary of the bundle needs no finding: it is gathered while the hunt runs.
            let (detected, mut summary) = rayon::join(
                || detect_data(&owned, &attributions, &ctx, cfg, hunt),
                || crate::report::investigate::Summary::build(&inventory, &owned.flows, &owned.events),
            );
            let (assets, found) = detected?;
            clock.lap("detect");
            print_hunt_timings(&found, cfg.timings);
            report_allowed(&found, cfg.quiet);
            let mut incidents = crate::chains::build(&found.findings, &hunt.thresholds, &cfg.knowledge.internal);
            crate::chains::name_hosts(&mut incidents, &assets);
            clock.lap("chains");
            if fail_on.is_some_and(|s| incidents.iter().any(|i| i.severity >= s)) {
                outcome = Outcome::Findings;
            }
            summary.attribution = attributions.rates.clone();
            summary.clock_offsets = attributions.offsets.clone();
            summary.findings = found.findings;
            summary.incidents = incidents;
            summary.assets = assets;
            let bytes = crate::report::investigate::render(
                &summary, &inventory, &diags, &ctx, out.format, out.width, out.color,
            )?;
            let json = matches!(out.format, Format::Json | Format::Jsonl);
            let written = if json { out.dest.write_json_all(&bytes) } else { out.dest.write_all(&bytes) };
            unless_pipe_closed(written)?;
            if let Some(dest) = html {
                dest.write_all(&crate::report::html::render(&summary, &inventory, &diags))?;
            }
            // Like `ingest` below: not freed one allocation at a time just before the exit.
            std::mem::forget(owned);
            std::mem::forget(summary);
        }
    }
    clock.lap("output");
    // The process ends here: freeing millions of flow and event allocations one by one would
    // only delay the exit (measured at ~5 % of a run on a 200 k-flow capture).
    std::mem::forget(ingest);
    print_attribution(&attributions, cfg.quiet || matches!(cfg.task, Task::Inventory { .. }));
    print_diagnostics(&diags, cfg.quiet);
    if cfg.strict && diags.input_problems() > 0 {
        return Ok(Outcome::StrictFailure);
    }
    Ok(outcome)
}

/// `--timings`: wall time per stage, printed on stderr as it ends.
struct StageClock {
    on: bool,
    last: std::time::Instant,
}

impl StageClock {
    fn new(on: bool) -> StageClock {
        StageClock { on, last: std::time::Instant::now() }
    }

    fn lap(&mut self, stage: &str) {
        let now = std::time::Instant::now();
        if self.on {
            let secs = (now - self.last).as_secs_f64();
            match peak_rss_mib() {
                Some(peak) => crate::note!("seam: timing {stage} {secs:.3}s (peak RSS so far {peak} MiB)"),
                None => crate::note!("seam: timing {stage} {secs:.3}s"),
            }
        }
        self.last = now;
    }
}

/// How many findings the allowlist removed, on stderr (every command that takes `--allow`).
fn report_allowed(found: &crate::detect::Hunt, quiet: bool) {
    if !quiet && found.allowed > 0 {
        crate::note!("seam: the allowlist removed {} finding(s)", found.allowed);
    }
}

/// The process's peak resident set so far, in MiB, where the system reports it (Linux).
fn peak_rss_mib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("VmHWM:"))?;
    let kib: u64 = line.trim().strip_suffix("kB")?.trim().parse().ok()?;
    Some(kib / 1024)
}

/// `seam hunt --list` and `--print-thresholds`.
fn print_hunt_info(thresholds: bool) -> Result<()> {
    let text = if thresholds {
        crate::detect::thresholds::DEFAULTS.to_string()
    } else {
        DETECTORS.iter().map(|d| format!("{:<18} {}\n", d.id(), d.describe())).collect()
    };
    match std::io::stdout().write_all(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// What detection reads, owned: flows and every non-flow event.
struct DetectionData {
    flows: Vec<FlowRecord>,
    events: Vec<Event>,
}

impl DetectionData {
    /// Detection's input without the assets ([`detect_data`] gathers them).
    fn input<'a>(&'a self, cfg: &'a RunConfig, ctx: &'a RowCtx) -> DetectInput<'a> {
        DetectInput {
            flows: &self.flows,
            events: &self.events,
            assets: &[],
            internal: &cfg.knowledge.internal,
            files: &ctx.files,
        }
    }
}

/// Detection's input: the timeline's non-flow events and the flow records (the assets are
/// gathered by [`detect_data`]).
fn detection_input(ingest: &mut [Ingested], attributions: &Attributions) -> DetectionData {
    let filter = TimelineFilter {
        kinds: EventKind::ALL.iter().copied().filter(|k| *k != EventKind::Flow).collect(),
        ..TimelineFilter::default()
    };
    let events = timeline_events(ingest, &filter, attributions);
    DetectionData { events, flows: take_flows(ingest) }
}

/// Gathers the assets while detection learns the baseline and builds its indexes (neither
/// needs them), then runs the detectors: the assets and what the hunt found.
fn detect_data(
    data: &DetectionData,
    attributions: &Attributions,
    ctx: &RowCtx,
    cfg: &RunConfig,
    hunt: &HuntConfig,
) -> Result<(Vec<Asset>, crate::detect::Hunt)> {
    let t0 = std::time::Instant::now();
    let ((assets, assets_secs), prepared) = rayon::join(
        || {
            let flow_refs: Vec<&FlowRecord> = data.flows.iter().collect();
            let (mut endpoint, mut naming): (Vec<&Event>, Vec<&Event>) = (Vec::new(), Vec::new());
            for e in &data.events {
                if e.kind.is_endpoint() {
                    endpoint.push(e);
                } else if matches!(e.kind, EventKind::Dns | EventKind::Dhcp) {
                    naming.push(e);
                }
            }
            (assets(&flow_refs, &endpoint, &naming, &attributions.offsets, &cfg.knowledge), t0.elapsed().as_secs_f64())
        },
        || crate::detect::prepare(&data.input(cfg, ctx), hunt),
    );
    let prepared_secs = t0.elapsed().as_secs_f64();
    let mut found =
        crate::detect::hunt_prepared(&DetectInput { assets: &assets, ..data.input(cfg, ctx) }, prepared?, hunt);
    found.stages.insert(0, ("assets", assets_secs));
    found.stages.insert(1, ("prepared", prepared_secs));
    Ok((assets, found))
}

/// Runs the hunt over a correlated bundle.
fn detect_bundle(
    ingest: &mut [Ingested],
    attributions: &Attributions,
    ctx: &RowCtx,
    cfg: &RunConfig,
    hunt: &HuntConfig,
    clock: &mut StageClock,
) -> Result<crate::detect::Hunt> {
    let owned = detection_input(ingest, attributions);
    clock.lap("assemble");
    let (_, found) = detect_data(&owned, attributions, ctx, cfg, hunt)?;
    clock.lap("detect");
    print_hunt_timings(&found, cfg.timings);
    // Freeing the inputs one allocation at a time would only delay the exit.
    std::mem::forget(owned);
    Ok(found)
}

/// `--timings`: the parts of the detect stage.
fn print_hunt_timings(found: &crate::detect::Hunt, on: bool) {
    if !on {
        return;
    }
    for (stage, secs) in &found.stages {
        crate::note!("seam: timing detect:{stage} {secs:.3}s");
    }
    for (id, secs) in &found.timings {
        crate::note!("seam: timing detector {id} {secs:.3}s");
    }
}

/// The timeline as `seam timeline` renders it.
fn timeline_rendered<'a>(
    events: &'a [Event],
    ctx: &'a RowCtx,
    diags: &'a Diagnostics,
    width: u16,
) -> Rendered<'a, Event> {
    Rendered {
        rows: events,
        cols: EVENT_COLUMNS,
        ctx,
        schema: "seam.timeline/1",
        key: "events",
        table_cols: &["@timestamp", "event.kind", "message"],
        diagnostics: Some(diags),
        timesketch: Some(|e: &Event| (e.ts, e.kind, schema::message(e))),
        width,
    }
}

fn emit<T: Sync>(out: &OutputConfig, r: &Rendered<'_, T>) -> Result<()> {
    if out.format == Format::Timesketch && r.timesketch.is_none() {
        bail!("--format timesketch is only available for timelines");
    }
    let mut sink = out.dest.open()?;
    unless_pipe_closed(render(r, out.format, &mut sink).and_then(|()| sink.commit()))
}

/// A reader that stopped reading (`seam … | head`) is not an error; any other write error is.
fn unless_pipe_closed(written: Result<(), crate::report::ReportError>) -> Result<()> {
    match written {
        Err(e) if e.is_broken_pipe() => Ok(()),
        other => Ok(other?),
    }
}

/// What reading one evidence file produced.
#[derive(Default)]
pub struct Ingested {
    pub summary: Option<CaptureSummary>,
    pub flows: Option<FlowOutput>,
    /// Endpoint log summary (records, time span).
    pub log: Option<LogSummary>,
    /// Events of an endpoint log, in file order.
    pub events: Vec<Event>,
    pub diags: Diagnostics,
    pub sha256: Option<String>,
    /// The log's events written in sorted runs, when the timeline is merged from them.
    pub overflow: Option<runs::Overflow>,
}

/// Records and time span of an endpoint log.
#[derive(Debug, Clone, Default)]
pub struct LogSummary {
    pub records: u64,
    pub first_ts: Option<Timestamp>,
    pub last_ts: Option<Timestamp>,
    pub notes: Vec<String>,
}

/// How evidence files are read.
#[derive(Debug, Clone)]
struct Reading {
    flow: FlowConfig,
    /// Whether captures are decoded into flows (not for the inventory alone).
    decode: bool,
    /// Whether every file's SHA-256 is computed.
    hash: bool,
    /// Whether regular capture files may be memory-mapped.
    mmap: bool,
    /// Where endpoint logs' events go when the timeline is merged from sorted runs.
    spilling: Option<runs::Spilling>,
}

fn ingest(files: &[EvidenceFile], reading: &Reading, log_hosts: &[(PathBuf, String)], quiet: bool) -> Vec<Ingested> {
    let hash = reading.hash;
    let total: u64 = files.iter().map(|f| f.size).sum();
    let bar = if quiet || !std::io::stderr().is_terminal() {
        ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden())
    } else {
        let b = ProgressBar::new(total);
        b.set_style(
            ProgressStyle::with_template(
                "{spinner} reading evidence {bar:30} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        b
    };
    // Large captures are split across threads by host pair; the pool's threads are shared
    // among the captures read at the same time.
    let captures = files.iter().filter(|f| f.kind.is_capture()).count().max(1);
    let per_file = (rayon::current_num_threads() / captures).max(1);
    let is_evtx = |f: &&EvidenceFile| f.kind == EvidenceKind::Evtx;
    // Event logs are read one after another on a thread of their own, each parsed by the evtx
    // crate's chunk workers on the pool; everything else is read file-parallel on the pool.
    let (logs, mut others): (Numbered, Numbered) = std::thread::scope(|scope| {
        let logs = scope.spawn(|| {
            files
                .iter()
                .enumerate()
                .filter(|(_, f)| is_evtx(f))
                .map(|(i, f)| (i, ingest_evtx(f, hash, reading.spilling.as_ref(), &bar)))
                .collect::<Vec<_>>()
        });
        let others = files
            .par_iter()
            .enumerate()
            .filter(|(_, f)| !is_evtx(f))
            .map(|(i, f)| {
                let shards = if f.size >= SHARD_MIN_BYTES { per_file } else { 1 };
                let mut r = ingest_one(f, reading, shards, host_override(f, log_hosts), &bar);
                if r.flows.as_ref().is_some_and(|o| o.peaks.may_fill_one_table(shards)) {
                    // A full table drops by what it holds, and each thread's table holds its
                    // share of the capture: near a limit, the capture is read again on one
                    // thread, so that the result is the same whatever the thread count. The
                    // hash is taken again too, so that it and the flows come from one read.
                    r = ingest_one(f, reading, 1, host_override(f, log_hosts), &ProgressBar::hidden());
                }
                (i, r)
            })
            .collect();
        let logs = logs.join().unwrap_or_else(|_| {
            files
                .iter()
                .enumerate()
                .filter(|(_, f)| is_evtx(f))
                .map(|(i, f)| {
                    let mut r = Ingested::default();
                    r.diags.push(&f.display, None, DiagKind::Unreadable, "the event log reader failed");
                    (i, r)
                })
                .collect()
        });
        (logs, others)
    });
    others.extend(logs);
    others.sort_by_key(|(i, _)| *i);
    bar.finish_and_clear();
    others.into_iter().map(|(_, r)| r).collect()
}

/// The `--log-host` name given for a file: by its path, or by its file name alone.
fn host_override<'a>(file: &EvidenceFile, hosts: &'a [(PathBuf, String)]) -> Option<&'a str> {
    let canonical = std::fs::canonicalize(&file.path).ok();
    hosts
        .iter()
        .find(|(given, _)| {
            let by_name = given.components().count() == 1 && file.path.file_name() == Some(given.as_os_str());
            by_name || (canonical.is_some() && std::fs::canonicalize(given).ok() == canonical)
        })
        .map(|(_, name)| name.as_str())
}

/// Ingest results with their file index.
type Numbered = Vec<(usize, Ingested)>;

/// Reads one EVTX file into endpoint events.
fn ingest_evtx(file: &EvidenceFile, hash: bool, spilling: Option<&runs::Spilling>, bar: &ProgressBar) -> Ingested {
    let mut result = Ingested::default();
    let label = file.display.as_str();
    let input: Box<dyn EvtxInput> = match open_log(file) {
        Ok(Opened { input, cut: None }) => input,
        Ok(Opened { input, cut: Some((kept, e)) }) => {
            // The chunks decompressed before the fault are still read; the parser reports the
            // chunk the stream ends in.
            let what =
                format!("gzip stream unreadable after {kept} decompressed bytes: {e}; the chunks before it are read");
            result.diags.push(label, None, DiagKind::Decompression, what);
            input
        }
        Err(e) => {
            result.diags.push(label, None, DiagKind::Unreadable, e.to_string());
            return result;
        }
    };
    let file_id = file.id;
    let mut events = Vec::new();
    let mut unmapped = Vec::new();
    let mut overflow = None;
    // A plain file is hashed in the integrity pass; a compressed one is hashed as stored.
    let summary = read_evtx(
        input,
        label,
        0,
        hash && !file.gzip,
        &mut result.diags,
        move |raw| {
            let meta =
                RecordMeta { file: file_id, record_id: raw.record_id, written: raw.written, carved: raw.recovered };
            parse_record_json(raw.json)
                .map(|r| map_record(r, meta))
                .map_err(|e| (raw.record_id, raw.recovered, e.to_string()))
        },
        |mapped| match mapped {
            Ok(event) => {
                events.push(event);
                runs::offer(spilling, &mut overflow, &mut events);
            }
            Err(failure) => unmapped.push(failure),
        },
    );
    let mut remnants = 0;
    for (record_id, carved, why) in &unmapped {
        if *carved {
            // Carving finds record-shaped bytes in slack space; one that holds no event is a
            // remnant, not damage to the log.
            remnants += 1;
        } else {
            result.diags.push(label, None, DiagKind::CorruptRecord, format!("record {record_id}: {why}"));
        }
    }
    if remnants > 0 {
        result.diags.push_counted(
            label,
            None,
            DiagKind::Skipped,
            remnants,
            "record remnants carved from unallocated space hold no event",
        );
    }
    let carved = events.iter().filter(|e| matches!(&e.fields, crate::model::Fields::Endpoint(x) if x.carved)).count()
        + overflow.as_ref().map_or(0, |o| o.carved as usize);
    bar.inc(file.size);
    let mut notes = vec![format!("{} chunks", summary.chunks)];
    if summary.dirty {
        notes.push("dirty (not closed cleanly)".into());
    }
    if summary.failed > 0 {
        notes.push(format!("{} unreadable records or chunks", summary.failed));
    }
    if carved > 0 {
        notes.push(format!("{carved} records carved from unallocated space"));
    }
    result.log =
        Some(LogSummary { records: summary.records, first_ts: summary.first_ts, last_ts: summary.last_ts, notes });
    result.events = events;
    result.overflow = overflow;
    if hash {
        result.sha256 = match summary.sha256 {
            Some(digest) => Some(evidence::hex(&digest)),
            None => evidence::sha256_file(&file.path)
                .map_err(|e| result.diags.push(label, None, DiagKind::Unreadable, e.to_string()))
                .ok(),
        };
    }
    result
}

/// An endpoint log opened for seeking, and where its gzip stream failed, if it did: how many
/// bytes were decompressed before the fault, and the fault.
struct Opened {
    input: Box<dyn EvtxInput>,
    cut: Option<(usize, std::io::Error)>,
}

/// Opens an endpoint log for seeking: the file itself, or its decompressed content (as much of
/// it as decompresses, when the stream is cut or damaged).
fn open_log(file: &EvidenceFile) -> std::io::Result<Opened> {
    let raw = std::fs::File::open(&file.path)?;
    if !file.gzip {
        return Ok(Opened { input: Box::new(raw), cut: None });
    }
    let mut bytes = Vec::new();
    let cut = flate2::read::MultiGzDecoder::new(std::io::BufReader::new(raw)).read_to_end(&mut bytes).err();
    let cut = cut.map(|e| (bytes.len(), e));
    Ok(Opened { input: Box::new(std::io::Cursor::new(bytes)), cut })
}

fn ingest_one(
    file: &EvidenceFile,
    reading: &Reading,
    shards: usize,
    log_host: Option<&str>,
    bar: &ProgressBar,
) -> Ingested {
    let Reading { flow: flow_cfg, decode, hash, mmap, .. } = *reading;
    let mut diags = Diagnostics::new();
    let label = file.display.as_str();
    let mut result = Ingested::default();
    let streamed = file.kind.is_capture() || file.kind == EvidenceKind::Auditd;
    let raw = if streamed {
        match std::fs::File::open(&file.path) {
            Ok(f) => Some(f),
            Err(e) => {
                diags.push(label, None, DiagKind::Unreadable, e.to_string());
                result.diags = diags;
                return result;
            }
        }
    } else {
        None
    };
    if let Some(map) = raw.as_ref().filter(|_| mmap && file.kind.is_capture() && !file.gzip).and_then(buffer::map_file)
    {
        let hash_from = raw.as_ref().filter(|_| hash);
        return ingest_mapped(file, map, hash_from, decode.then_some(flow_cfg), shards, bar, diags);
    }
    let (feed, hashing) = if hash { Some(HashFeed::start()).unzip() } else { (None, None) };
    let hashed_bytes = Arc::new(Mutex::new(0u64));
    if let Some(raw) = raw {
        let tap = Tap { inner: raw, hash: feed, count: hashed_bytes.clone(), bar: bar.clone() };
        let reader: Box<dyn Read + Send> = if file.gzip {
            Box::new(flate2::read::MultiGzDecoder::new(std::io::BufReader::with_capacity(1 << 20, tap)))
        } else {
            Box::new(tap)
        };
        let reader = GzipErrors { inner: reader, gzip: file.gzip };
        if file.kind.is_capture() {
            let (summary, flows) = read_and_decode(reader, file, label, decode.then_some(flow_cfg), shards, &mut diags);
            if let Some(out) = &flows {
                out.report(label, &mut diags);
            }
            result.flows = flows;
            result.summary = Some(summary);
        } else {
            let (log, events, overflow) =
                read_audit(reader, file, label, log_host, reading.spilling.as_ref(), &mut diags);
            result.log = Some(log);
            result.events = events;
            result.overflow = overflow;
        }
    } else {
        drop(feed);
        bar.inc(file.size);
    }
    if let Some(hashing) = hashing {
        let complete = *hashed_bytes.lock().unwrap_or_else(|e| e.into_inner()) == file.size;
        let digest = hashing.join().ok().filter(|_| complete && streamed);
        result.sha256 = digest_or_reread(digest, file, &mut diags);
    }
    result.diags = diags;
    result
}

/// Reads an audit log: lines parsed, assembled into events by `(node, audit(sec.ms:serial))`
/// and mapped; a line that is not an audit record is a diagnostic naming its line and offset.
fn read_audit<R: Read>(
    reader: R,
    file: &EvidenceFile,
    label: &str,
    host: Option<&str>,
    spilling: Option<&runs::Spilling>,
    diags: &mut Diagnostics,
) -> (LogSummary, Vec<Event>, Option<runs::Overflow>) {
    let mut assembler = Assembler::new();
    let mut events = Vec::new();
    let mut overflow = None;
    let mut records = 0u64;
    let mut bad = Diagnostics::new();
    let mut batch = LineBatch::default();
    let lines = read_lines(reader, label, diags, |line| {
        if line.text.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        batch.push(line.line, line.offset, line.text);
        if batch.is_full() {
            records += batch.drain(&mut assembler, &mut events, file.id, host, label, &mut bad);
            runs::offer(spilling, &mut overflow, &mut events);
        }
    });
    // The last lines, then what they parsed to.
    for _ in 0..2 {
        records += batch.drain(&mut assembler, &mut events, file.id, host, label, &mut bad);
    }
    diags.merge(bad);
    events.par_extend(assembler.finish().into_par_iter().map(|ev| map_event(&ev, file.id, host)));
    let stats = assembler.stats();
    if stats.evicted > 0 {
        diags.push_counted(
            label,
            None,
            DiagKind::LimitReached,
            stats.evicted,
            "events still open when the pending-event limit was reached were closed early (they may lack records)",
        );
    }
    // Held until the run ends: the room left from growing is given back.
    events.shrink_to_fit();
    let spilled = overflow.as_ref();
    let first_ts = events.iter().map(|e| e.ts).chain(spilled.and_then(|o| o.first_ts)).min();
    let last_ts = events.iter().map(|e| e.ts).chain(spilled.and_then(|o| o.last_ts)).max();
    let held = events.len() as u64 + spilled.map_or(0, |o| o.events);
    let mut notes = vec![format!("{held} events from {records} records")];
    if lines.too_long > 0 {
        notes.push(format!("{} over-long lines skipped", lines.too_long));
    }
    (LogSummary { records, first_ts, last_ts, notes }, events, overflow)
}

/// Audit lines waiting to be parsed together: parsing and mapping run on the pool, assembly
/// (which needs file order) on the reading thread, overlapping the next batch's parse.
/// Its buffers are kept from one batch to the next.
#[derive(Default)]
struct LineBatch {
    text: Vec<u8>,
    /// Line number, byte offset, and end of the line in `text`.
    lines: Vec<(u64, u64, usize)>,
    /// The previous batch's lines parsed, in line order, waiting to be assembled: line number,
    /// byte offset and what parsing found.
    parsed: Vec<ParsedLine>,
    /// Where this batch's lines are parsed to.
    next: Vec<ParsedLine>,
    /// Events the assembly completed.
    ready: Vec<AuditEvent>,
}

type ParsedLine = (u64, u64, Result<AuditLine, LineError>);

impl LineBatch {
    const LINES: usize = 16_384;

    fn push(&mut self, line: u64, offset: u64, text: &[u8]) {
        self.text.extend_from_slice(text);
        self.lines.push((line, offset, self.text.len()));
    }

    fn is_full(&self) -> bool {
        self.lines.len() >= Self::LINES
    }

    /// Parses the batch on the pool while the previous batch is assembled in order on this
    /// thread, then maps the events that completed on the pool; returns the records assembled.
    /// After the last batch, a call on an empty batch assembles what is still parsed.
    fn drain(
        &mut self,
        assembler: &mut Assembler,
        events: &mut Vec<Event>,
        file: u32,
        host: Option<&str>,
        label: &str,
        bad: &mut Diagnostics,
    ) -> u64 {
        let (text, lines) = (&self.text, &self.lines);
        let (parsed, next, ready) = (&mut self.parsed, &mut self.next, &mut self.ready);
        let start = |i: usize| if i == 0 { 0 } else { lines[i - 1].2 };
        let assemble = || {
            let mut records = 0;
            for (line, offset, result) in parsed.drain(..) {
                match result {
                    Ok(record) => {
                        records += 1;
                        assembler.push_into(line, record, ready);
                    }
                    Err(e) => bad.push(
                        label,
                        Some(offset + e.column() as u64),
                        DiagKind::CorruptRecord,
                        format!("line {line}: {e}"),
                    ),
                }
            }
            records
        };
        let (records, ()) = rayon::join(assemble, || {
            (0..lines.len())
                .into_par_iter()
                .map(|i| (lines[i].0, lines[i].1, parse_line(&text[start(i)..lines[i].2])))
                .collect_into_vec(next)
        });
        std::mem::swap(parsed, next);
        // The assembled events are consumed where they are mapped, so they are freed on the
        // pool too.
        events.par_extend(ready.par_drain(..).map(|ev| map_event(&ev, file, host)));
        self.text.clear();
        self.lines.clear();
        records
    }
}

/// How far (in bytes of the file) the reader gets past a shard's oldest unsent packet before
/// the batch is sent anyway: well inside [`buffer::RELEASE_LAG`], so that pages are given
/// back only after the shards have read them.
const STALE_BATCH_BYTES: u64 = 8 << 20;

/// Bytes of the file between checks of every shard's batch for staleness.
const STALE_CHECK_STEP: u64 = 1 << 20;

/// Captures smaller than this are decoded on one thread; splitting costs more than it saves.
const SHARD_MIN_BYTES: u64 = 64 << 20;

/// Reads a capture and, when `flow_cfg` is given, runs the flow layer on it — on `shards`
/// threads fed by this one when more than one. The result is the same for every shard count.
pub fn read_and_decode<R: Read>(
    reader: R,
    file: &EvidenceFile,
    label: &str,
    flow_cfg: Option<FlowConfig>,
    shards: usize,
    diags: &mut Diagnostics,
) -> (CaptureSummary, Option<FlowOutput>) {
    decode_capture(StreamBuf::new(reader), file, label, flow_cfg, shards, diags)
}

/// [`read_and_decode`] over a buffer already set up. For a mapped file the shards read each
/// packet where it lies in the map: nothing is copied.
pub fn decode_capture<R: Read>(
    mut reader: StreamBuf<R>,
    file: &EvidenceFile,
    label: &str,
    flow_cfg: Option<FlowConfig>,
    shards: usize,
    diags: &mut Diagnostics,
) -> (CaptureSummary, Option<FlowOutput>) {
    let Some(cfg) = flow_cfg else {
        let summary = read_capture_from(&mut reader, label, diags, |_| {});
        reader.finish();
        return (summary, None);
    };
    if shards <= 1 {
        let mut table = FlowTable::new(file.id, cfg).tagged(file.tag);
        let mut packet_diags = Diagnostics::new();
        let summary = read_capture_from(&mut reader, label, diags, |p| {
            let packet = PacketIn { ts: p.ts, index: p.index, link: p.link, data: p.data, offset: p.offset };
            table.process(packet, label, &mut packet_diags);
        });
        reader.finish();
        diags.merge(packet_diags);
        return (summary, Some(table.finish()));
    }
    let map = reader.map();
    let mapped: &[u8] = map.as_deref().map_or(&[], |m| &m[..]);
    let new_batch = || if map.is_some() { Batch::for_map() } else { Batch::with_capacity() };
    let decoded = std::thread::scope(|scope| {
        let mut senders = Vec::with_capacity(shards);
        let mut workers = Vec::with_capacity(shards);
        // Workers hand their emptied batches back, so the reader refills the same buffers
        // instead of allocating (and the kernel zeroing) a fresh megabyte per batch.
        let (give_back, recycled) = std::sync::mpsc::channel::<Batch>();
        for _ in 0..shards {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Batch>(4);
            senders.push(tx);
            let give_back = give_back.clone();
            workers.push(scope.spawn(move || {
                let mut table = FlowTable::new(file.id, cfg).tagged(file.tag);
                let mut d = Diagnostics::new();
                for mut batch in rx {
                    for (clock, p) in batch.packets(mapped) {
                        table.advance_clock(clock);
                        table.process(p, label, &mut d);
                    }
                    batch.clear();
                    let _ = give_back.send(batch);
                }
                (table.finish(), d)
            }));
        }
        drop(give_back);
        let mut batches: Vec<Batch> = (0..shards).map(|_| new_batch()).collect();
        let mut clock = Timestamp::MIN;
        let base = mapped.as_ptr() as usize;
        let mut next_check = 0u64;
        let summary = read_capture_from(&mut reader, label, diags, |p| {
            clock = clock.max(p.ts);
            let k = shard_of(p.link, p.data, shards);
            let packet = PacketIn { ts: p.ts, index: p.index, link: p.link, data: p.data, offset: p.offset };
            // Where the packet lies in the map, when it does (always, for a mapped file).
            let at = (p.data.as_ptr() as usize).wrapping_sub(base);
            if at.checked_add(p.data.len()).is_some_and(|end| end <= mapped.len()) && !mapped.is_empty() {
                batches[k].push_mapped(clock, packet, at);
            } else {
                batches[k].push(clock, packet);
            }
            // A batch is sent when full, and, reading a map, before its first packet falls so
            // far behind the reader that the packet's pages could be given back.
            let stale = |b: &Batch| {
                !mapped.is_empty() && b.first_offset().is_some_and(|o| p.offset.saturating_sub(o) > STALE_BATCH_BYTES)
            };
            let send = |batches: &mut [Batch], j: usize| {
                let next = recycled.try_recv().unwrap_or_else(|_| new_batch());
                let full = std::mem::replace(&mut batches[j], next);
                let _ = senders[j].send(full);
            };
            if batches[k].is_full() || stale(&batches[k]) {
                send(&mut batches, k);
            }
            if p.offset >= next_check {
                next_check = p.offset.saturating_add(STALE_CHECK_STEP);
                for j in 0..shards {
                    if j != k && stale(&batches[j]) {
                        send(&mut batches, j);
                    }
                }
            }
        });
        for (k, batch) in batches.into_iter().enumerate() {
            if !batch.is_empty() {
                let _ = senders[k].send(batch);
            }
        }
        drop(senders);
        let mut parts = Vec::with_capacity(shards);
        for worker in workers {
            match worker.join() {
                Ok((out, d)) => {
                    parts.push(out);
                    diags.merge(d);
                }
                Err(_) => {
                    diags.push(label, None, DiagKind::Unreadable, "a decoding thread failed; its flows are missing")
                }
            }
        }
        (summary, Some(shard::merge(parts)))
    });
    // Only now, with every shard done, are the last pages of a mapped file given back.
    reader.finish();
    decoded
}

/// Counts, hashes and reports progress on the raw bytes of an evidence file as it is read.
struct Tap {
    inner: std::fs::File,
    hash: Option<HashFeed>,
    count: Arc<Mutex<u64>>,
    bar: ProgressBar,
}

impl Read for Tap {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(h) = &mut self.hash {
            h.feed(&buf[..n]);
        }
        *self.count.lock().unwrap_or_else(|e| e.into_inner()) += n as u64;
        self.bar.inc(n as u64);
        Ok(n)
    }
}

/// [`ingest_one`] for a regular capture file: parsed where it lies in its map, with no read
/// copies. With `hash_from` (the open file the map was made from), it is hashed on a thread of
/// its own through a second map of that same open file — the bytes parsed, whatever happens to
/// the path meanwhile — not from copies of its bytes.
fn ingest_mapped(
    file: &EvidenceFile,
    map: memmap2::Mmap,
    hash_from: Option<&std::fs::File>,
    flow_cfg: Option<FlowConfig>,
    shards: usize,
    bar: &ProgressBar,
    mut diags: Diagnostics,
) -> Ingested {
    let label = file.display.as_str();
    let parsed = map.len() as u64;
    let hashing = hash_from.map(|f| {
        let handle = f.try_clone();
        std::thread::spawn(move || handle.ok().as_ref().and_then(hash_mapped))
    });
    let progress = bar.clone();
    let buf = StreamBuf::mapped(Arc::new(map), Box::new(move |bytes: &[u8]| progress.inc(bytes.len() as u64)));
    let (summary, flows) = decode_capture(buf, file, label, flow_cfg, shards, &mut diags);
    if let Some(out) = &flows {
        out.report(label, &mut diags);
    }
    let sha256 = hashing.and_then(|h| {
        let digest = h.join().ok().flatten().filter(|&(_, len)| len == file.size && len == parsed);
        digest_or_reread(digest.map(|(d, _)| d), file, &mut diags)
    });
    Ingested { flows, summary: Some(summary), sha256, diags, ..Ingested::default() }
}

/// The file's SHA-256 as hex: the digest taken while reading when it covered the whole file,
/// else from a read of its own (an unreadable file is a diagnostic and has none).
fn digest_or_reread(digest: Option<Sha256Digest>, file: &EvidenceFile, diags: &mut Diagnostics) -> Option<String> {
    match digest {
        Some(digest) => Some(evidence::hex(&digest)),
        None => evidence::sha256_file(&file.path)
            .map_err(|e| diags.push(&file.display, None, DiagKind::Unreadable, e.to_string()))
            .ok(),
    }
}

/// SHA-256 of an open file read through a map of its own, and the number of bytes hashed;
/// `None` when it cannot be mapped.
fn hash_mapped(file: &std::fs::File) -> Option<(Sha256Digest, u64)> {
    let map = buffer::map_file(file)?;
    let mut h = Sha256::new();
    buffer::each_step(&map, |step| h.update(step));
    Some((h.finalize(), map.len() as u64))
}

/// Bytes handed to the hashing thread at a time.
const HASH_CHUNK: usize = 1 << 20;

/// Feeds a file's bytes, as they are read, to SHA-256 on a thread of its own: hashing a large
/// capture costs about as much as decoding it, and on the reading thread it would hold up every
/// decoder behind it. Buffers go back and forth rather than being allocated per chunk.
struct HashFeed {
    pending: Vec<u8>,
    to_hasher: std::sync::mpsc::SyncSender<Vec<u8>>,
    spare: std::sync::mpsc::Receiver<Vec<u8>>,
}

type Sha256Digest = sha2::digest::Output<Sha256>;

impl HashFeed {
    /// The feed and the thread that returns the digest of everything fed once the feed is dropped.
    fn start() -> (HashFeed, std::thread::JoinHandle<Sha256Digest>) {
        let (to_hasher, chunks) = std::sync::mpsc::sync_channel::<Vec<u8>>(4);
        let (give_back, spare) = std::sync::mpsc::channel::<Vec<u8>>();
        let thread = std::thread::spawn(move || {
            let mut h = Sha256::new();
            for mut chunk in chunks {
                h.update(&chunk);
                chunk.clear();
                let _ = give_back.send(chunk);
            }
            h.finalize()
        });
        (HashFeed { pending: Vec::with_capacity(HASH_CHUNK), to_hasher, spare }, thread)
    }

    fn feed(&mut self, bytes: &[u8]) {
        self.pending.extend_from_slice(bytes);
        if self.pending.len() >= HASH_CHUNK {
            self.flush();
        }
    }

    fn flush(&mut self) {
        let next = self.spare.try_recv().unwrap_or_else(|_| Vec::with_capacity(HASH_CHUNK));
        let full = std::mem::replace(&mut self.pending, next);
        let _ = self.to_hasher.send(full);
    }
}

impl Drop for HashFeed {
    fn drop(&mut self) {
        if !self.pending.is_empty() {
            self.flush();
        }
    }
}

/// Marks read errors from a gzip stream so they are reported as decompression problems.
struct GzipErrors {
    inner: Box<dyn Read + Send>,
    gzip: bool,
}

impl Read for GzipErrors {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.inner.read(buf).map_err(|e| {
            if self.gzip {
                std::io::Error::new(e.kind(), crate::sources::DecompressionError(e.to_string()))
            } else {
                e
            }
        })
    }
}

fn inventory_entry(f: &EvidenceFile, r: &Ingested, diags: &Diagnostics) -> InventoryEntry {
    let problems = diags.for_file(&f.display).filter(|(k, _)| k.is_input_problem()).map(|(_, s)| s.count).sum();
    let notes = match (&r.summary, f.kind) {
        (Some(s), _) => {
            let links: Vec<String> = s.link_types.iter().map(|l| link_name(*l)).collect();
            let mut notes = Vec::new();
            if !links.is_empty() {
                notes.push(format!("link types: {}", links.join(", ")));
            }
            if let Some(st) = r.flows.as_ref().map(|f| &f.stats) {
                if st.non_ip > 0 {
                    notes.push(format!("{} frames without IP", st.non_ip));
                }
                if st.fragments > 0 {
                    notes.push(format!(
                        "{} IP fragments, {} datagrams reassembled, {} incomplete",
                        st.fragments, st.reassembled, st.fragments_dropped
                    ));
                }
            }
            notes.join("; ")
        }
        (None, _) => r.log.as_ref().map(|l| l.notes.join("; ")).unwrap_or_default(),
    };
    let log = r.log.as_ref();
    InventoryEntry {
        id: f.id,
        path: f.display.clone(),
        kind: f.kind.as_str().into(),
        gzip: f.gzip,
        size: f.size,
        sha256: r.sha256.clone(),
        first_ts: r.summary.as_ref().and_then(|s| s.first_ts).or(log.and_then(|l| l.first_ts)),
        last_ts: r.summary.as_ref().and_then(|s| s.last_ts).or(log.and_then(|l| l.last_ts)),
        records: r.summary.as_ref().map(|s| s.packets).or(log.map(|l| l.records)),
        problems,
        notes,
        clock_offset: r.events.iter().find_map(|e| match &e.fields {
            Fields::Endpoint(x) => x.clock_offset,
            _ => None,
        }),
    }
}

fn link_name(link: u32) -> String {
    match link {
        0 => "null".into(),
        1 => "ethernet".into(),
        101 | 12 | 14 => "raw-ip".into(),
        108 => "loop".into(),
        113 => "linux-sll".into(),
        228 => "ipv4".into(),
        229 => "ipv6".into(),
        276 => "linux-sll2".into(),
        n => format!("linktype-{n}"),
    }
}

/// Moves every capture's flows out of the ingest results, in one deterministic order.
fn take_flows(ingest: &mut [Ingested]) -> Vec<FlowRecord> {
    // One capture's flows are moved, not copied, and come out of the flow table in this order.
    let mut flows =
        crate::util::concat(ingest.iter_mut().filter_map(|r| r.flows.as_mut()).map(|o| std::mem::take(&mut o.flows)));
    if !flows.is_sorted_by(|a, b| flow_order(a, b).is_le()) {
        flows.sort_by(flow_order);
    }
    flows
}

/// One deterministic order of flows: start, then file, first packet and id.
fn flow_order(a: &FlowRecord, b: &FlowRecord) -> std::cmp::Ordering {
    (a.start, a.file, a.first_packet, &a.id).cmp(&(b.start, b.file, b.first_packet, &b.id))
}

/// Every event of the bundle that `filter` keeps, in timeline order; endpoint events and
/// application records are moved out of `ingest`, not copied (nothing reads them there after).
fn timeline_events(ingest: &mut [Ingested], filter: &TimelineFilter, attributions: &Attributions) -> Vec<Event> {
    let flows = filter.wants(EventKind::Flow);
    let total: usize = ingest
        .iter()
        .map(|r| {
            let net = r.flows.as_ref().map_or(0, |o| o.app.len() + if flows { o.flows.len() } else { 0 });
            r.events.len() + net
        })
        .sum();
    // The largest endpoint log's events become the timeline's vector, so that they are moved,
    // not copied (ties in the sort stay in file order: a file's events keep their order).
    let largest = ingest.iter_mut().max_by_key(|r| r.events.len());
    let mut events: Vec<Event> = largest.map(|r| std::mem::take(&mut r.events)).unwrap_or_default();
    events.retain(|e| filter.matches(e));
    events.reserve_exact(total.saturating_sub(events.len()));
    for (file, r) in ingest.iter_mut().enumerate() {
        events.extend(std::mem::take(&mut r.events).into_iter().filter(|e| filter.matches(e)));
        let Some(out) = r.flows.as_mut() else { continue };
        if flows {
            events.extend(out.flows.iter().map(flow_event).filter(|e| filter.matches(e)));
        }
        // Built on the pool straight into the reserved room, in record order; the records are
        // consumed (their strings move into the events), so they are not held twice. The
        // filter runs after: an indexed parallel extend writes in place, a filtered one would
        // gather the events elsewhere and copy them.
        let from = events.len();
        events.par_extend(std::mem::take(&mut out.app).into_par_iter().map(|a| {
            let mut e = app_event_owned(file as u32, a);
            let attributed = e.net.as_ref().and_then(|n| attributions.of(n.flow_id.as_deref()?));
            if let Some(a) = attributed {
                e.process = Some(Box::new(a.process.clone()));
                e.host = e.host.or_else(|| a.host.clone().map(|name| HostRef { name: Some(name), ip: None }));
            }
            e
        }));
        if events[from..].iter().any(|e| !filter.matches(e)) {
            let kept: Vec<Event> = events.drain(from..).filter(|e| filter.matches(e)).collect();
            events.extend(kept);
        }
    }
    sort_events(&mut events);
    events
}

/// Joins the bundle's endpoint connections and lookups to its flows (see `entities`), records
/// each attribution on its flow and each joined endpoint event's flow id on the event.
fn attribute_bundle(ingest: &mut [Ingested], skew: &SkewConfig) -> Attributions {
    let offsets = correct_clocks(ingest, skew);
    // Process trees span files (a host's Sysmon and Security logs): link in timeline order.
    let mut endpoint: Vec<&mut Event> = ingest.iter_mut().flat_map(|r| r.events.iter_mut()).collect();
    endpoint.par_sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    crate::entities::process::link(&mut endpoint);
    // A bundle of captures alone has nothing to join: skip the indexes.
    if ingest.iter().all(|r| r.events.is_empty()) || ingest.iter().all(|r| r.flows.is_none()) {
        return Attributions { offsets, ..Attributions::default() };
    }
    let mut endpoint: Vec<(usize, usize)> =
        ingest.iter().enumerate().flat_map(|(f, r)| (0..r.events.len()).map(move |i| (f, i))).collect();
    endpoint.sort_by(|a, b| ingest[a.0].events[a.1].sort_key().cmp(&ingest[b.0].events[b.1].sort_key()));
    let flows = flow_refs(ingest);
    let dns = dns_events(ingest);
    let dns_refs: Vec<&Event> = dns.iter().collect();
    let endpoint_refs: Vec<&Event> = endpoint.iter().map(|&(f, i)| &ingest[f].events[i]).collect();
    let mut attributions = attribute(&endpoint_refs, &flows, &dns_refs);
    attributions.offsets = offsets;
    // What each joined endpoint event learns: its flow id, and the full 5-tuple when the
    // record named only the remote end.
    let by_id: HashMap<&str, &FlowRecord> = flows.iter().map(|f| (&*f.id, *f)).collect();
    let updates: Vec<(usize, usize, NetTuple)> = attributions
        .events
        .iter()
        .filter_map(|(&k, id)| {
            let (f, i) = endpoint[k];
            let flow = by_id.get(id.as_str())?;
            let net = match &ingest[f].events[i].net {
                Some(n) => NetTuple { flow_id: Some(flow.id.clone()), ..n.clone() },
                None => flow_event(flow).net?,
            };
            Some((f, i, net))
        })
        .filter(|(f, i, _)| ingest[*f].events[*i].kind != EventKind::Lookup)
        .collect();
    for (f, i, net) in updates {
        ingest[f].events[i].net = Some(net);
    }
    for r in ingest.iter_mut() {
        for flow in r.flows.iter_mut().flat_map(|o| o.flows.iter_mut()) {
            if let Some(a) = attributions.of(&flow.id) {
                flow.process = Some(Box::new(a.clone()));
            }
        }
    }
    attributions
}

/// Every capture's flows, in the order `take_flows` gives them.
/// The bundle's internal hosts, from what was read and correlated (`seam assets`).
fn bundle_assets(ingest: &[Ingested], attributions: &Attributions, cfg: &RunConfig) -> Vec<Asset> {
    let endpoint: Vec<&Event> = ingest.iter().flat_map(|r| &r.events).collect();
    let flows = flow_refs(ingest);
    let dns = naming_events(ingest);
    let dns: Vec<&Event> = dns.iter().collect();
    assets(&flows, &endpoint, &dns, &attributions.offsets, &cfg.knowledge)
}

fn flow_refs(ingest: &[Ingested]) -> Vec<&FlowRecord> {
    let mut flows: Vec<&FlowRecord> = ingest.iter().filter_map(|r| r.flows.as_ref()).flat_map(|o| &o.flows).collect();
    flows.sort_by(|a, b| flow_order(a, b));
    flows
}

/// The bundle's DNS transactions as events.
fn dns_events(ingest: &[Ingested]) -> Vec<Event> {
    app_events_where(ingest, |k| k == EventKind::Dns)
}

/// What names hosts on the network: DNS transactions and DHCP messages.
fn naming_events(ingest: &[Ingested]) -> Vec<Event> {
    app_events_where(ingest, |k| matches!(k, EventKind::Dns | EventKind::Dhcp))
}

fn app_events_where(ingest: &[Ingested], keep: impl Fn(EventKind) -> bool) -> Vec<Event> {
    ingest
        .iter()
        .enumerate()
        .filter_map(|(file, r)| Some((file, r.flows.as_ref()?)))
        .flat_map(|(file, o)| o.app.iter().map(move |a| (file, a)))
        .filter(|(_, a)| keep(a.kind))
        .map(|(file, a)| app_event(file as u32, a))
        .collect()
}

/// Estimates each endpoint log's clock offset from the capture (unless turned off), adds the
/// analyst's `--clock-offset`s, and moves every endpoint event onto the capture's clock.
fn correct_clocks(ingest: &mut [Ingested], skew: &SkewConfig) -> Vec<ClockOffset> {
    let mut offsets = forced_offsets(skew);
    let has_endpoint = ingest.iter().any(|r| !r.events.is_empty());
    if skew.correct && has_endpoint {
        let endpoint: Vec<&Event> = ingest.iter().flat_map(|r| &r.events).collect();
        let flows = flow_refs(ingest);
        if !flows.is_empty() {
            let estimated = estimate(&endpoint, &flows);
            offsets.extend(
                estimated.into_iter().filter(|o| !skew.forced.iter().any(|(h, _)| h.eq_ignore_ascii_case(&o.host))),
            );
        }
    }
    if offsets.is_empty() {
        return offsets;
    }
    for e in ingest.iter_mut().flat_map(|r| r.events.iter_mut()) {
        apply_offset(e, &offsets);
    }
    offsets
}

/// The clock offsets the analyst set (`--clock-offset`).
fn forced_offsets(skew: &SkewConfig) -> Vec<ClockOffset> {
    skew.forced
        .iter()
        .map(|(host, offset)| ClockOffset {
            host: host.clone(),
            source: "*".into(),
            offset: *offset,
            spread: 0,
            pairs: 0,
            forced: true,
        })
        .collect()
}

/// Puts an endpoint event on the capture's clock: the offset set for its host, else the one
/// estimated for its host and log source.
fn apply_offset(e: &mut Event, offsets: &[ClockOffset]) {
    let host = e.host.as_ref().and_then(|h| h.name.as_deref()).unwrap_or("");
    let Fields::Endpoint(x) = &mut e.fields else { return };
    let offset = offsets
        .iter()
        .find(|o| o.forced && o.host.eq_ignore_ascii_case(host))
        .or_else(|| offsets.iter().find(|o| !o.forced && o.host == host && o.source == x.source.as_str()));
    if let Some(o) = offset {
        x.clock_offset = Some(o.offset);
        e.ts = e.ts.saturating_sub(o.offset);
    }
}

/// One stderr line per host and log: how many of its connections found their flow.
fn print_attribution(attributions: &Attributions, quiet: bool) {
    if quiet || (attributions.rates.is_empty() && attributions.offsets.is_empty()) {
        return;
    }
    let mut text = String::new();
    if !attributions.offsets.is_empty() {
        text.push_str("seam: endpoint clocks against the capture (subtracted from their times)\n");
        for o in &attributions.offsets {
            let how = if o.forced {
                "set by --clock-offset".to_string()
            } else {
                format!("median of {} pairs, spread {:.3}s", o.pairs, o.spread as f64 / 1e9)
            };
            text.push_str(&format!(
                "  {} [{}]: {:+.3}s ({how})\n",
                crate::util::escape::terminal_safe(if o.host.is_empty() { "(unnamed)" } else { &o.host }),
                o.source,
                o.offset as f64 / 1e9
            ));
        }
    }
    text.push_str("seam: process attribution (endpoint connections and lookups joined to flows)\n");
    for r in &attributions.rates {
        let pct = if r.records == 0 { 0.0 } else { 100.0 * r.attributed as f64 / r.records as f64 };
        text.push_str(&format!(
            "  {} [{}]: {} of {} ({pct:.0} %)\n",
            crate::util::escape::terminal_safe(if r.host.is_empty() { "(unnamed)" } else { &r.host }),
            r.source,
            r.attributed,
            r.records
        ));
    }
    crate::util::to_stderr(&text);
}

/// Prints the diagnostics summary to stderr: one line per file and kind, then the first
/// examples with offsets.
fn print_diagnostics(diags: &Diagnostics, quiet: bool) {
    if quiet || diags.is_empty() {
        return;
    }
    let mut text = String::from("seam: diagnostics\n");
    for (file, kinds) in &diags.by_file {
        for (kind, summary) in kinds {
            text.push_str(&format!("  {}: {} × {}\n", crate::util::escape::terminal_safe(file), summary.count, kind));
            for ex in summary.examples.iter().take(3) {
                let at = ex.offset.map(|o| format!("offset {o}: ")).unwrap_or_default();
                text.push_str(&format!("    {at}{}\n", crate::util::escape::terminal_safe(&ex.detail)));
            }
        }
    }
    crate::util::to_stderr(&text);
}
