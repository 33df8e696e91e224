//! Rows → polars `DataFrame`, driven by a column registry.

use super::schema::{ColType, Column, Value};
use super::RowCtx;
use polars::prelude::*;

/// How list-valued columns appear in the frame: as lists (Parquet) or joined text (CSV, which
/// has no nested values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lists {
    Native,
    Joined,
}

/// Builds a frame with one column per registry entry, typed as the registry says.
pub fn build<T>(rows: &[T], cols: &[Column<T>], ctx: &RowCtx, lists: Lists) -> PolarsResult<DataFrame> {
    let mut columns = Vec::with_capacity(cols.len());
    for col in cols {
        let values: Vec<Value> = rows.iter().map(|r| (col.get)(r, ctx)).collect();
        let name = PlSmallStr::from_static(col.name);
        let series = match col.ty {
            ColType::Time => {
                let v: Vec<Option<i64>> = values.iter().map(Value::as_i64).collect();
                Int64Chunked::from_iter_options(name, v.into_iter())
                    .into_datetime(TimeUnit::Nanoseconds, Some(TimeZone::UTC))
                    .into_series()
            }
            ColType::Int => Series::new(name, values.iter().map(Value::as_i64).collect::<Vec<_>>()),
            ColType::UInt => Series::new(name, values.iter().map(Value::as_u64).collect::<Vec<_>>()),
            ColType::Float => Series::new(name, values.iter().map(Value::as_f64).collect::<Vec<_>>()),
            ColType::Bool => Series::new(name, values.iter().map(Value::as_bool).collect::<Vec<_>>()),
            ColType::Str => Series::new(name, values.iter().map(Value::as_text).collect::<Vec<_>>()),
            ColType::StrList => match lists {
                Lists::Joined => Series::new(name, values.iter().map(Value::as_text).collect::<Vec<_>>()),
                Lists::Native => {
                    let inner: Vec<Option<Series>> = values
                        .iter()
                        .map(|v| match v {
                            Value::List(items) => Some(Series::new(PlSmallStr::EMPTY, items.clone())),
                            _ => None,
                        })
                        .collect();
                    let mut s: ListChunked = inner.into_iter().collect();
                    s.rename(name);
                    if s.dtype() != &DataType::List(Box::new(DataType::String)) {
                        s = s.cast(&DataType::List(Box::new(DataType::String)))?.list()?.clone();
                    }
                    s.into_series()
                }
            },
        };
        columns.push(series.into_column());
    }
    DataFrame::new(rows.len(), columns)
}
