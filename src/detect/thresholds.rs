//! Every threshold of detection, in one documented file of defaults
//! (`src/detect/thresholds.toml`, also printed by `seam hunt --print-thresholds`), overridable
//! key by key with `--thresholds FILE`.
//!
//! A user file holds any subset of the defaults' sections and keys; what it leaves out keeps
//! its default. Unknown sections or keys, and values of the wrong type, are errors at start-up,
//! before any evidence is read.

use serde::de::DeserializeOwned;
use std::path::Path;
use thiserror::Error;

/// The defaults, with a comment for every value.
pub const DEFAULTS: &str = include_str!("thresholds.toml");

#[derive(Debug, Error)]
pub enum ThresholdsError {
    #[error("cannot read {path}")]
    Read { path: String, source: std::io::Error },
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
    #[error("{path}: unknown section [{section}]")]
    UnknownSection { path: String, section: String },
    #[error("{path}: [{section}]: {message}")]
    Invalid { path: String, section: String, message: String },
}

/// The thresholds of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {
    table: toml::Table,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds::defaults()
    }
}

impl Thresholds {
    /// The built-in defaults.
    pub fn defaults() -> Thresholds {
        // The defaults file is part of the program and a unit test parses it.
        let table = DEFAULTS.parse::<toml::Table>().unwrap_or_default();
        Thresholds { table }
    }

    /// The defaults with a user file's values laid over them.
    pub fn load(path: &Path) -> Result<Thresholds, ThresholdsError> {
        let shown = path.display().to_string();
        let text =
            std::fs::read_to_string(path).map_err(|source| ThresholdsError::Read { path: shown.clone(), source })?;
        Thresholds::overlay(&text, &shown)
    }

    /// The defaults with the values of `text` (a thresholds file named `shown`) laid over them.
    pub fn overlay(text: &str, shown: &str) -> Result<Thresholds, ThresholdsError> {
        let user = text
            .parse::<toml::Table>()
            .map_err(|e| ThresholdsError::Parse { path: shown.into(), message: e.to_string() })?;
        let mut t = Thresholds::defaults();
        for (section, values) in user {
            let Some(toml::Value::Table(base)) = t.table.get_mut(&section) else {
                return Err(ThresholdsError::UnknownSection { path: shown.into(), section });
            };
            let toml::Value::Table(values) = values else {
                return Err(ThresholdsError::Invalid {
                    path: shown.into(),
                    section,
                    message: "expected a table of values".into(),
                });
            };
            for (key, value) in values {
                if !base.contains_key(&key) {
                    return Err(ThresholdsError::Invalid {
                        path: shown.into(),
                        section,
                        message: format!("unknown key `{key}`"),
                    });
                }
                if let Err(message) = check_value(&key, &value) {
                    return Err(ThresholdsError::Invalid { path: shown.into(), section, message });
                }
                base.insert(key, value);
            }
        }
        for section in t.table.keys() {
            t.check_section(section).map_err(|message| ThresholdsError::Invalid {
                path: shown.into(),
                section: section.clone(),
                message,
            })?;
        }
        Ok(t)
    }

    /// One section as a typed struct. Sections are validated when loaded, so this falls back
    /// to the type's defaults only for a section a test never parsed.
    pub fn section<T: DeserializeOwned + Default>(&self, name: &str) -> T {
        self.try_section(name).unwrap_or_default()
    }

    pub fn try_section<T: DeserializeOwned>(&self, name: &str) -> Result<T, String> {
        let value = self.table.get(name).cloned().unwrap_or(toml::Value::Table(toml::Table::new()));
        value.try_into::<T>().map_err(|e| e.message().to_string())
    }

    fn check_section(&self, name: &str) -> Result<(), String> {
        match name {
            "severity" => self.try_section::<super::SeverityCuts>(name)?.check(),
            "chains" => self.try_section::<super::ChainWeights>(name)?.check(),
            "baseline" => self.try_section::<super::baseline::BaselineThresholds>(name).map(drop),
            _ => match super::DETECTORS.iter().find(|d| d.id() == name) {
                Some(d) => d.validate(self),
                None => Err("no detector of that name".into()),
            },
        }
    }
}

/// What every value must be, whatever its detector checks besides: numbers finite and not
/// negative; shares, weights, scores, prevalences and rarities within [0, 1]; ports ports;
/// prefix lengths within their address's bits.
fn check_value(key: &str, value: &toml::Value) -> Result<(), String> {
    const UNIT: &[&str] = &["weight", "score", "share", "prevalence", "rarity", "damp", "boost"];
    let number = match value {
        toml::Value::Float(f) => Some(*f),
        toml::Value::Integer(n) => Some(*n as f64),
        _ => None,
    };
    if let Some(x) = number {
        if key.split('_').any(|part| UNIT.contains(&part)) && !(0.0..=1.0).contains(&x) {
            return Err(format!("`{key}` must lie in [0, 1], not {x}"));
        }
        if !x.is_finite() || x < 0.0 {
            return Err(format!("`{key}` must be a finite number of at least 0, not {x}"));
        }
        let bits = match key {
            "block_prefix_v4" => 32.0,
            "block_prefix_v6" => 128.0,
            _ => f64::INFINITY,
        };
        if x > bits {
            return Err(format!("`{key}` must be at most {bits}, not {x}"));
        }
    }
    if let (true, toml::Value::Array(items)) = (key.ends_with("_ports"), value) {
        if let Some(bad) = items.iter().find(|v| !v.as_integer().is_some_and(|p| (0..=65535).contains(&p))) {
            return Err(format!("`{key}` holds {bad}, which is not a port"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_out_of_their_range_are_refused() {
        for bad in [
            "[beacon]\nmin_score = nan\n",
            "[beacon]\nmin_score = inf\n",
            "[baseline]\nrare_prevalence = 2.0\n",
            "[scan]\nblock_prefix_v4 = 255\n",
            "[exfil]\nmin_out_bytes = -1.0\n",
            "[lateral-movement]\nsmb_ports = [445, 70000]\n",
        ] {
            assert!(Thresholds::overlay(bad, "t").is_err(), "{bad}");
        }
        assert!(Thresholds::overlay("[baseline]\nrare_prevalence = 0.2\n[scan]\nblock_prefix_v4 = 16\n", "t").is_ok());
        // Every default passes the same checks.
        for (section, values) in DEFAULTS.parse::<toml::Table>().expect("defaults parse") {
            for (key, value) in values.as_table().into_iter().flatten() {
                assert_eq!(check_value(key, value), Ok(()), "[{section}] {key}");
            }
        }
    }

    #[test]
    fn severity_cuts_must_rise_within_zero_to_one() {
        assert!(Thresholds::overlay("[severity]\ncritical = 0.1\nhigh = 0.9\n", "t").is_err(), "out of order");
        assert!(Thresholds::overlay("[severity]\ncritical = 5.0\n", "t").is_err(), "beyond 1");
        assert!(Thresholds::overlay("[severity]\nlow = -0.1\n", "t").is_err(), "below 0");
        assert!(Thresholds::overlay("[severity]\ncritical = 0.95\n", "t").is_ok());
    }

    #[test]
    fn defaults_parse_and_every_section_is_valid() {
        let t = DEFAULTS.parse::<toml::Table>().expect("defaults parse");
        let loaded = Thresholds::overlay("", "defaults").expect("defaults validate");
        assert_eq!(loaded, Thresholds::defaults());
        for d in super::super::DETECTORS {
            assert!(t.contains_key(d.id()), "no [{}] section in the defaults", d.id());
        }
    }

    #[test]
    fn overlay_changes_one_key_and_rejects_unknowns() {
        let t = Thresholds::overlay("[severity]\nhigh = 0.8\n", "t.toml").unwrap();
        let cuts: super::super::SeverityCuts = t.try_section("severity").unwrap();
        assert_eq!(cuts.high, 0.8);
        assert_eq!(cuts.critical, 0.9);
        let e = Thresholds::overlay("[nope]\nx = 1\n", "t.toml").unwrap_err().to_string();
        assert!(e.contains("unknown section [nope]"), "{e}");
        let e = Thresholds::overlay("[severity]\nhgih = 1\n", "t.toml").unwrap_err().to_string();
        assert!(e.contains("unknown key `hgih`"), "{e}");
        let e = Thresholds::overlay("[severity]\nhigh = \"x\"\n", "t.toml").unwrap_err().to_string();
        assert!(e.contains("[severity]"), "{e}");
    }
}
