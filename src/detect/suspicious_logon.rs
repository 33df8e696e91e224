//! `suspicious-logon` — not written yet.

use super::{check, DetectCtx, Detector, Finding, Thresholds};
use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {}

pub struct SuspiciousLogon;

impl Detector for SuspiciousLogon {
    fn id(&self) -> &'static str {
        "suspicious-logon"
    }

    fn describe(&self) -> &'static str {
        "not written yet"
    }

    fn validate(&self, t: &Thresholds) -> Result<(), String> {
        check::<Config>(t, self.id())
    }

    fn run(&self, ctx: &DetectCtx<'_>) -> Vec<Finding> {
        let _config: Config = ctx.thresholds.section(self.id());
        Vec::new()
    }
}
