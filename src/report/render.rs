//! Formats. Every subcommand's output is a list of rows described by a column registry; the
//! same rows render as a terminal table, one JSON document, JSON Lines, CSV or Parquet.
//!
//! JSON document shape: `{"schema": "<name>/<version>", "<records>": [...], "diagnostics": {...}}`.
//! JSON Lines: one row object per line, nothing else. CSV: flat dotted column names, lists joined
//! with `;`. Parquet: typed columns, timestamps `Datetime(ns, UTC)`.

use super::output::ReportError;
use crate::diag::Diagnostics;
use crate::timeline::frame::{self, Lists};
use crate::timeline::schema::{row_flat_json, row_json, timestamp_desc, Column};
use crate::timeline::RowCtx;
use crate::util::escape::terminal_safe;
use comfy_table::{presets, ContentArrangement, Table};
use polars::prelude::*;
use serde_json::Value as Json;

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
    /// Timestamp and kind of a row, for Timesketch output.
    pub timesketch: Option<TimesketchFn<T>>,
    /// Terminal width for tables.
    pub width: u16,
}

/// Renders rows in the given format to bytes.
pub fn render<T>(r: &Rendered<'_, T>, format: Format) -> Result<Vec<u8>, ReportError> {
    match format {
        Format::Table => Ok(table(r).into_bytes()),
        Format::Json => {
            let rows: Vec<Json> = r.rows.iter().map(|row| row_json(row, r.cols, r.ctx)).collect();
            let mut doc = serde_json::Map::new();
            doc.insert("schema".into(), Json::String(r.schema.into()));
            doc.insert(r.key.into(), Json::Array(rows));
            if let Some(d) = r.diagnostics {
                doc.insert("diagnostics".into(), diagnostics_json(d));
            }
            let mut out = serde_json::to_vec_pretty(&Json::Object(doc)).unwrap_or_default();
            out.push(b'\n');
            Ok(out)
        }
        Format::Jsonl => {
            let mut out = Vec::new();
            for row in r.rows {
                out.extend_from_slice(row_json(row, r.cols, r.ctx).to_string().as_bytes());
                out.push(b'\n');
            }
            Ok(out)
        }
        Format::Timesketch => {
            let mut out = Vec::new();
            for row in r.rows {
                let mut obj = row_flat_json(row, r.cols, r.ctx);
                if let Some(f) = r.timesketch {
                    let (ts, kind, message) = f(row);
                    obj.insert("message".into(), Json::String(message));
                    obj.insert("datetime".into(), Json::String(crate::util::time::rfc3339(ts)));
                    obj.insert("timestamp".into(), Json::from(ts.div_euclid(1000)));
                    obj.insert("timestamp_desc".into(), Json::String(timestamp_desc(kind).into()));
                }
                out.extend_from_slice(Json::Object(obj).to_string().as_bytes());
                out.push(b'\n');
            }
            Ok(out)
        }
        Format::Csv => {
            let mut df = frame::build(r.rows, r.cols, r.ctx, Lists::Joined)
                .map_err(|source| ReportError::Frame { what: "csv", source })?;
            let mut out = Vec::new();
            CsvWriter::new(&mut out)
                .include_header(true)
                .finish(&mut df)
                .map_err(|source| ReportError::Frame { what: "csv", source })?;
            Ok(out)
        }
        Format::Parquet => {
            let mut df = frame::build(r.rows, r.cols, r.ctx, Lists::Native)
                .map_err(|source| ReportError::Frame { what: "parquet", source })?;
            let mut out = Vec::new();
            ParquetWriter::new(&mut out)
                .with_compression(ParquetCompression::Zstd(None))
                .finish(&mut df)
                .map_err(|source| ReportError::Frame { what: "parquet", source })?;
            Ok(out)
        }
    }
}

/// Diagnostics as JSON: per file, per kind, count and first examples.
pub fn diagnostics_json(d: &Diagnostics) -> Json {
    serde_json::to_value(&d.by_file).unwrap_or(Json::Null)
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
        other => other.rsplit('.').next().unwrap_or(other).replace('_', " "),
    }
}
