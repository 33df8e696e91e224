//! Formats. Every subcommand's output is a list of rows described by a column registry; the
//! same rows render as a terminal table, one JSON document, JSON Lines, CSV or Parquet, and
//! are streamed to the output as they are rendered.
//!
//! JSON document shape: `{"schema": "<name>/<version>", "<records>": [...], "diagnostics": {...}}`
//! with one row per line. JSON Lines: one row object per line, nothing else. Rows nest dotted
//! column names (`source.ip` → `{"source":{"ip":…}}`) with keys in sorted order and nulls left
//! out. CSV: flat dotted column names, lists joined with `;`. Parquet: typed columns,
//! timestamps `Datetime(ns, UTC)`.

use super::output::{Output, ReportError};
use crate::diag::Diagnostics;
use crate::timeline::frame::{self, Lists};
use crate::timeline::schema::{timestamp_desc, Column, Value};
use crate::timeline::RowCtx;
use crate::util::escape::terminal_safe;
use comfy_table::{presets, ContentArrangement, Table};
use polars::prelude::*;
use rayon::prelude::*;
use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::io::Write;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Jsonl,
    Csv,
    Parquet,
    /// JSON Lines for Timesketch import: message, datetime, timestamp, timestamp_desc + fields.
    Timesketch,
}

impl Format {
    pub fn is_binary(self) -> bool {
        self == Format::Parquet
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Json => "json",
            Format::Jsonl => "jsonl",
            Format::Csv => "csv",
            Format::Parquet => "parquet",
            Format::Timesketch => "timesketch",
        }
    }
}

/// Time, kind and message of a row, for Timesketch output.
pub type TimesketchFn<T> = fn(&T) -> (i64, crate::model::EventKind, String);

/// A rendering request for one table.
pub struct Rendered<'a, T> {
    pub rows: &'a [T],
    pub cols: &'a [Column<T>],
    pub ctx: &'a RowCtx,
    /// Schema id written in JSON documents, e.g. `seam.flows/1`.
    pub schema: &'static str,
    /// Key of the row array in JSON documents.
    pub key: &'static str,
    /// Columns shown in a terminal table.
    pub table_cols: &'a [&'static str],
    pub diagnostics: Option<&'a Diagnostics>,
    /// Timestamp, kind and message of a row, for Timesketch output.
    pub timesketch: Option<TimesketchFn<T>>,
    /// Terminal width for tables.
    pub width: u16,
}

/// Renders rows in the given format into `out`.
pub fn render<T: Sync>(r: &Rendered<'_, T>, format: Format, out: &mut Output) -> Result<(), ReportError> {
    let frame_err = |what| move |source| ReportError::Frame { what, source };
    match format {
        Format::Table => {
            let text = table(r);
            out.writer.write_all(text.as_bytes()).map_err(|e| out.error(e))
        }
        Format::Json | Format::Jsonl | Format::Timesketch => {
            let mut rows = RowWriter::begin(r, format, out)?;
            for window in r.rows.chunks(JSON_WINDOW_ROWS) {
                rows.window(window, out)?;
            }
            rows.end(out)
        }
        Format::Csv => {
            let mut df = frame::build(r.rows, r.cols, r.ctx, Lists::Joined).map_err(frame_err("csv"))?;
            write_csv(&mut df, true, out)
        }
        Format::Parquet => {
            let mut df = frame::build(r.rows, r.cols, r.ctx, Lists::Native).map_err(frame_err("parquet"))?;
            ParquetWriter::new(&mut out.writer)
                .with_compression(ParquetCompression::Zstd(None))
                .finish(&mut df)
                .map(|_| ())
                .map_err(frame_err("parquet"))
        }
    }
}

/// Renders rows that arrive a window at a time (a timeline merged from sorted runs on disk)
/// in a format that needs no more than a window at once: JSON, JSON Lines, Timesketch or
/// CSV. `next` fills the window it is given (emptied before each call) and says whether any
/// rows are left after it; `r.rows` is not read. The bytes are those [`render`] writes for
/// the same rows.
pub fn render_stream<T: Sync + Send>(
    r: &Rendered<'_, T>,
    format: Format,
    out: &mut Output,
    mut next: impl FnMut(&mut Vec<T>, usize) -> Result<bool, ReportError>,
) -> Result<(), ReportError> {
    if !matches!(format, Format::Json | Format::Jsonl | Format::Timesketch | Format::Csv) {
        return Err(ReportError::Unsupported { format: format.name(), what: "rows read from sorted runs" });
    }
    let mut rows = RowWriter::begin(r, format, out)?;
    let mut window = Vec::with_capacity(JSON_WINDOW_ROWS);
    loop {
        // The rows written are dropped on the pool: freeing them is as much work as making
        // them.
        window.par_drain(..).for_each(drop);
        let more = next(&mut window, JSON_WINDOW_ROWS)?;
        rows.window(&window, out)?;
        if !more {
            break;
        }
    }
    rows.end(out)
}

/// Writes the formats that need no more than a window of rows at once, a window at a time.
struct RowWriter<'r, 'a, T> {
    r: &'r Rendered<'a, T>,
    format: Format,
    layout: JsonLayout,
    /// Rows written so far.
    written: usize,
    /// Each task's buffer, kept for the next window, so its pages are faulted in once.
    parts: Vec<Vec<u8>>,
    /// Whether a CSV header was written (with the first window, even an empty one).
    header: bool,
}

impl<'r, 'a, T: Sync> RowWriter<'r, 'a, T> {
    fn begin(r: &'r Rendered<'a, T>, format: Format, out: &mut Output) -> Result<Self, ReportError> {
        if format == Format::Json {
            let head = format!("{{\"schema\":{},\"{}\":[\n", Json::String(r.schema.into()), r.key);
            out.write_json(head.as_bytes())?;
        }
        Ok(RowWriter { r, format, layout: JsonLayout::new(r.cols), written: 0, parts: Vec::new(), header: false })
    }

    fn window(&mut self, window: &[T], out: &mut Output) -> Result<(), ReportError> {
        let r = self.r;
        if self.format == Format::Csv {
            // Every window's frame has the registry's types, so its rows are written as the
            // whole table's would be.
            let mut df = frame::build(window, r.cols, r.ctx, Lists::Joined)
                .map_err(|source| ReportError::Frame { what: "csv", source })?;
            write_csv(&mut df, !std::mem::replace(&mut self.header, true), out)?;
            self.written += window.len();
            return Ok(());
        }
        if self.format == Format::Timesketch {
            for row in window {
                let mut obj: serde_json::Map<String, Json> = r
                    .cols
                    .iter()
                    .filter_map(|c| (c.get)(row, r.ctx).to_json().map(|v| (c.name.to_string(), v)))
                    .collect();
                if let Some(f) = r.timesketch {
                    let (ts, kind, message) = f(row);
                    obj.insert("message".into(), Json::String(message));
                    obj.insert("datetime".into(), Json::String(crate::util::time::rfc3339(ts)));
                    obj.insert("timestamp".into(), Json::from(ts.div_euclid(1000)));
                    obj.insert("timestamp_desc".into(), Json::String(timestamp_desc(kind).into()));
                }
                let mut line = Json::Object(obj).to_string().into_bytes();
                line.push(b'\n');
                out.write_json(&line)?;
            }
            return Ok(());
        }
        // Rows are rendered in parallel and written in order: the bytes are the same as one
        // thread's, and memory holds one window, not the whole output.
        let tasks: Vec<&[T]> = window.chunks(JSON_CHUNK_ROWS).collect();
        if self.parts.len() < tasks.len() {
            self.parts.resize_with(tasks.len(), Vec::new);
        }
        let (layout, format, written) = (&self.layout, self.format, self.written);
        self.parts.par_iter_mut().zip(tasks.par_iter()).enumerate().for_each(|(c, (part, rows))| {
            part.clear();
            let first = written == 0 && c == 0;
            json_rows(rows, r.cols, r.ctx, layout, format, first, part);
        });
        for part in &self.parts[..tasks.len()] {
            out.write_json(part)?;
        }
        self.written += window.len();
        Ok(())
    }

    fn end(self, out: &mut Output) -> Result<(), ReportError> {
        if self.format == Format::Json {
            let diags = self.r.diagnostics.map(diagnostics_json).unwrap_or(Json::Null);
            let tail = format!("\n],\"diagnostics\":{diags}}}\n");
            out.write_json(tail.as_bytes())?;
        }
        Ok(())
    }
}

/// Writes a frame as CSV, with its header line or without (the rows that follow an earlier
/// part). On a terminal, evidence strings must not drive it: control characters are escaped
/// line by line, as in tables.
fn write_csv(df: &mut DataFrame, header: bool, out: &mut Output) -> Result<(), ReportError> {
    let frame_err = |source| ReportError::Frame { what: "csv", source };
    if !out.terminal {
        return CsvWriter::new(&mut out.writer).include_header(header).finish(df).map_err(frame_err);
    }
    let mut text = Vec::new();
    CsvWriter::new(&mut text).include_header(header).finish(df).map_err(frame_err)?;
    for line in String::from_utf8_lossy(&text).split_inclusive('\n') {
        let (body, end) = line.strip_suffix('\n').map_or((line, ""), |b| (b, "\n"));
        let safe = crate::util::escape::terminal_safe(body);
        out.writer
            .write_all(safe.as_bytes())
            .and_then(|()| out.writer.write_all(end.as_bytes()))
            .map_err(|e| out.error(e))?;
    }
    Ok(())
}

/// Rows rendered per task, and per window of tasks, when writing JSON.
const JSON_CHUNK_ROWS: usize = 2048;
/// A window holds a few tasks per thread: enough to keep every thread busy, few enough that the
/// rendered text (~0.5 KB a row) stays a few MB rather than growing with the output.
const JSON_WINDOW_ROWS: usize = 8 * JSON_CHUNK_ROWS;

/// Appends the JSON text of consecutive rows to `out`: one per line for JSON Lines; for a JSON
/// document, comma-separated, the first row of the document without a leading comma.
fn json_rows<T>(
    rows: &[T],
    cols: &[Column<T>],
    ctx: &RowCtx,
    layout: &JsonLayout,
    format: Format,
    first: bool,
    out: &mut Vec<u8>,
) {
    out.reserve(rows.len() * 512);
    for (i, row) in rows.iter().enumerate() {
        if format == Format::Json && !(first && i == 0) {
            out.extend_from_slice(b",\n");
        }
        layout.write(&|col| cols.get(col).map_or(Value::Null, |c| (c.get)(row, ctx)), out);
        if format == Format::Jsonl {
            out.push(b'\n');
        }
    }
}

/// Diagnostics as JSON: per file, per kind, count and first examples.
pub fn diagnostics_json(d: &Diagnostics) -> Json {
    serde_json::to_value(&d.by_file).unwrap_or(Json::Null)
}

/// The nesting of a column registry's dotted names, computed once per table, so that each row
/// is written straight to bytes in sorted-key order without building a JSON tree.
struct JsonLayout {
    root: Vec<Node>,
}

enum Node {
    /// `json_key` is the key as JSON text with its colon (`"name":`), written once here
    /// rather than escaped again for every row.
    Leaf { key: String, json_key: Vec<u8>, col: usize },
    /// `open` is `"key":{`.
    Group { key: String, open: Vec<u8>, children: Vec<Node> },
}

impl Node {
    fn leaf(key: String, col: usize) -> Node {
        let mut json_key = Vec::with_capacity(key.len() + 3);
        write_str(&key, &mut json_key);
        json_key.push(b':');
        Node::Leaf { key, json_key, col }
    }

    fn group(key: String, children: Vec<Node>) -> Node {
        let mut open = Vec::with_capacity(key.len() + 4);
        write_str(&key, &mut open);
        open.extend_from_slice(b":{");
        Node::Group { key, open, children }
    }

    fn key(&self) -> &str {
        match self {
            Node::Leaf { key, .. } | Node::Group { key, .. } => key,
        }
    }
}

#[derive(Default)]
struct Tree {
    leaf: Option<usize>,
    children: BTreeMap<String, Tree>,
}

impl JsonLayout {
    fn new<T>(cols: &[Column<T>]) -> Self {
        let mut tree = Tree::default();
        for (i, c) in cols.iter().enumerate() {
            let parts: Vec<&str> = if c.name.starts_with('@') { vec![c.name] } else { c.name.split('.').collect() };
            let mut node = &mut tree;
            for p in parts {
                node = node.children.entry(p.to_string()).or_default();
            }
            node.leaf = Some(i);
        }
        JsonLayout { root: Self::nodes(tree) }
    }

    fn nodes(tree: Tree) -> Vec<Node> {
        let mut out = Vec::new();
        for (key, sub) in tree.children {
            match (sub.leaf, sub.children.is_empty()) {
                (Some(col), true) => out.push(Node::leaf(key, col)),
                (leaf, _) => {
                    // A name that is both a value and a group keeps the value under `value`.
                    let mut children = Self::nodes(Tree { leaf: None, children: sub.children });
                    if let Some(col) = leaf {
                        children.push(Node::leaf("value".into(), col));
                        children.sort_by(|a, b| a.key().cmp(b.key()));
                    }
                    out.push(Node::group(key, children));
                }
            }
        }
        out
    }

    /// Writes one row; `value` gives a column's value by its number, asked for once per
    /// column as the walk reaches it (no row's values are gathered first).
    fn write<'a>(&self, value: &dyn Fn(usize) -> Value<'a>, out: &mut Vec<u8>) {
        write_object(&self.root, value, out);
    }
}

/// Writes the object of `nodes`: absent values are left out, and so is a group none of whose
/// values is present. A group is written as it is walked and taken back when it stays empty,
/// so each value is looked at once.
fn write_object<'a>(nodes: &[Node], value: &dyn Fn(usize) -> Value<'a>, out: &mut Vec<u8>) {
    out.push(b'{');
    write_members(nodes, value, out);
    out.push(b'}');
}

/// The members of [`write_object`]'s object, comma-separated; whether any was written.
fn write_members<'a>(nodes: &[Node], value: &dyn Fn(usize) -> Value<'a>, out: &mut Vec<u8>) -> bool {
    let mut first = true;
    for node in nodes {
        let before = out.len();
        if !first {
            out.push(b',');
        }
        match node {
            Node::Leaf { json_key, col, .. } => {
                let v = value(*col);
                let Some(v) = v.to_json_ref() else {
                    out.truncate(before);
                    continue;
                };
                out.extend_from_slice(json_key);
                v.write_json(out);
            }
            Node::Group { open, children, .. } => {
                out.extend_from_slice(open);
                if !write_members(children, value, out) {
                    out.truncate(before);
                    continue;
                }
                out.push(b'}');
            }
        }
        first = false;
    }
    !first
}

fn write_str(s: &str, out: &mut Vec<u8>) {
    crate::util::escape::write_json_str(s, out);
}

fn table<T>(r: &Rendered<'_, T>) -> String {
    let cols: Vec<&Column<T>> =
        r.table_cols.iter().filter_map(|name| r.cols.iter().find(|c| c.name == *name)).collect();
    let mut t = Table::new();
    t.load_preset(presets::UTF8_BORDERS_ONLY).set_content_arrangement(ContentArrangement::Dynamic).set_width(r.width);
    t.set_header(cols.iter().map(|c| short_header(c.name)));
    for row in r.rows {
        t.add_row(cols.iter().map(|c| {
            let text = (c.get)(row, r.ctx).as_table_text().unwrap_or_default();
            terminal_safe(&text).into_owned()
        }));
    }
    let mut out = t.to_string();
    out.push('\n');
    out.push_str(&format!("{} {}\n", r.rows.len(), r.key));
    out
}

/// `FS01 (10.0.0.5)`, a name or an address alone, or `?`: a finding's or stage's host.
pub fn host_label(h: &crate::detect::FindingHost) -> String {
    match (&h.name, h.ip) {
        (Some(n), Some(ip)) => format!("{n} ({ip})"),
        (Some(n), None) => n.clone(),
        (None, Some(ip)) => ip.to_string(),
        (None, None) => "?".into(),
    }
}

/// ` → evil.example:443` (the domain, else the address, else the range, with the port), or
/// nothing when the peer is unknown.
pub fn peer_arrow(p: &crate::detect::Peer) -> String {
    p.domain
        .clone()
        .or(p.ip.map(|ip| ip.to_string()))
        .or(p.cidr.clone())
        .map(|peer| match p.port {
            Some(port) => format!(" → {peer}:{port}"),
            None => format!(" → {peer}"),
        })
        .unwrap_or_default()
}

/// `  [xmrig 31337]`: the process's file name and pid, or nothing.
pub fn process_tag(p: Option<&crate::detect::FindingProcess>) -> String {
    p.map(|p| {
        let exe = p.executable.as_deref().unwrap_or("?");
        let short = exe.rsplit(['/', '\\']).next().unwrap_or(exe);
        p.pid.map_or(format!("  [{short}]"), |pid| format!("  [{short} {pid}]"))
    })
    .unwrap_or_default()
}

/// A severity as tables show it: upper case, padded to eight columns, and coloured (bold red,
/// red, yellow, cyan, dim) when `color`.
pub fn severity_label(s: crate::detect::Severity, color: bool) -> String {
    use crate::detect::Severity;
    let text = format!("{:<8}", s.as_str().to_uppercase());
    if !color {
        return text;
    }
    let code = match s {
        Severity::Critical => "1;31",
        Severity::High => "31",
        Severity::Medium => "33",
        Severity::Low => "36",
        Severity::Info => "2",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

/// Table headers drop the common ECS prefixes to save width.
fn short_header(name: &str) -> String {
    match name {
        "@timestamp" => "time (UTC)".into(),
        "source.ip" => "orig".into(),
        "source.port" => "o.port".into(),
        "destination.ip" => "resp".into(),
        "destination.port" => "r.port".into(),
        "network.transport" => "proto".into(),
        "network.protocol" => "service".into(),
        "source.bytes" => "o.bytes".into(),
        "destination.bytes" => "r.bytes".into(),
        "source.packets" => "o.pkts".into(),
        "destination.packets" => "r.pkts".into(),
        "host.ip" => "host".into(),
        "peer.ip" => "peer".into(),
        other => other.rsplit('.').next().unwrap_or(other).replace('_', " "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_are_coloured_only_when_asked() {
        use crate::detect::Severity;
        assert_eq!(severity_label(Severity::High, false), "HIGH    ");
        assert_eq!(severity_label(Severity::Critical, true), "\x1b[1;31mCRITICAL\x1b[0m");
        assert_eq!(severity_label(Severity::Info, true), "\x1b[2mINFO    \x1b[0m");
    }
    use crate::report::Destination;

    const COLS: &[Column<u64>] = &[
        Column {
            name: "n",
            ty: crate::timeline::schema::ColType::UInt,
            doc: "row number",
            get: |n, _| Value::UInt(*n),
        },
        Column {
            name: "a.b",
            ty: crate::timeline::schema::ColType::UInt,
            doc: "nested",
            get: |n, _| Value::UInt(n * 2),
        },
    ];

    fn rendered(rows: &[u64], format: Format) -> Vec<u8> {
        let dir = std::env::temp_dir().join(format!("seam-render-{}-{}", std::process::id(), format.name()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("out");
        let ctx = RowCtx::default();
        let r = Rendered {
            rows,
            cols: COLS,
            ctx: &ctx,
            schema: "seam.test/1",
            key: "rows",
            table_cols: &["n"],
            diagnostics: None,
            timesketch: None,
            width: 80,
        };
        let dest = Destination::File(path.clone());
        let mut out = dest.open().unwrap();
        render(&r, format, &mut out).unwrap();
        out.commit().unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        bytes
    }

    /// Absent values are left out, and so are groups with nothing present however deep, with
    /// the commas right; a name that is both a value and a group keeps the value as `value`.
    #[test]
    fn absent_values_and_empty_groups_are_left_out() {
        fn col(name: &'static str, get: for<'a> fn(&'a u64, &'a RowCtx) -> Value<'a>) -> Column<u64> {
            Column { name, ty: crate::timeline::schema::ColType::UInt, doc: "", get }
        }
        let cols = [
            col("a.b.c", |n, _| if n & 1 != 0 { Value::UInt(1) } else { Value::Null }),
            col("a.d", |n, _| if n & 2 != 0 { Value::UInt(2) } else { Value::Null }),
            col("e", |n, _| if n & 4 != 0 { Value::UInt(4) } else { Value::Null }),
            col("f", |n, _| if n & 8 != 0 { Value::UInt(8) } else { Value::Null }),
            col("f.g", |n, _| if n & 16 != 0 { Value::UInt(16) } else { Value::Null }),
        ];
        let layout = JsonLayout::new(&cols);
        let ctx = RowCtx::default();
        let text = |n: u64| {
            let mut out = Vec::new();
            layout.write(&|col| (cols[col].get)(&n, &ctx), &mut out);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(text(0), "{}");
        assert_eq!(text(1), r#"{"a":{"b":{"c":1}}}"#);
        assert_eq!(text(2), r#"{"a":{"d":2}}"#);
        assert_eq!(text(4), r#"{"e":4}"#);
        assert_eq!(text(5), r#"{"a":{"b":{"c":1}},"e":4}"#);
        assert_eq!(text(8), r#"{"f":{"value":8}}"#);
        assert_eq!(text(16 | 2), r#"{"a":{"d":2},"f":{"g":16}}"#);
        // Every combination is valid JSON whose values add up to the bits present.
        fn sum(v: &Json) -> u64 {
            match v {
                Json::Object(m) => m.values().map(sum).sum(),
                other => other.as_u64().unwrap_or(1000),
            }
        }
        for n in 0..32 {
            let json: Json = serde_json::from_str(&text(n)).unwrap_or_else(|e| panic!("{n}: {e}: {}", text(n)));
            assert_eq!(sum(&json), n, "{json}");
        }
    }

    /// Rows rendered in parallel chunks and windows come out whole and in order.
    #[test]
    fn json_across_chunk_and_window_boundaries() {
        let rows: Vec<u64> = (0..(JSON_WINDOW_ROWS as u64 + 3 * JSON_CHUNK_ROWS as u64 + 7)).collect();
        let doc: Json = serde_json::from_slice(&rendered(&rows, Format::Json)).unwrap();
        let got: Vec<u64> = doc["rows"].as_array().unwrap().iter().map(|r| r["n"].as_u64().unwrap()).collect();
        assert_eq!(got, rows);
        assert_eq!(doc["rows"][3]["a"]["b"], 6);
        let lines = rendered(&rows, Format::Jsonl);
        let text = String::from_utf8(lines).unwrap();
        assert_eq!(text.lines().count(), rows.len());
        assert_eq!(
            text.lines().last().unwrap(),
            format!("{{\"a\":{{\"b\":{}}},\"n\":{}}}", 2 * (rows.len() - 1), rows.len() - 1)
        );
    }
}
