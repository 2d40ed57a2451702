//! The provisioned stack as `infra/provision.py` describes it: every function of template.yaml
//! with its resolved environment and event sources.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct Manifest {
    pub endpoint: String,
    pub region: String,
    pub functions: BTreeMap<String, Function>,
}

#[derive(Debug, Deserialize)]
pub struct Function {
    pub service: String,
    pub binary: String,
    pub environment: HashMap<String, String>,
    #[serde(default)]
    pub sqs_sources: Vec<SqsSource>,
    #[serde(default)]
    pub stream_sources: Vec<StreamSource>,
    #[serde(default)]
    pub schedules: Vec<Schedule>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SqsSource {
    pub queue: String,
    pub queue_url: String,
    pub queue_arn: String,
    pub batch_size: i32,
    pub report_batch_item_failures: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StreamSource {
    pub table: String,
    pub stream_arn: String,
    pub batch_size: i32,
    pub starting_position: String,
}

/// A SAM `Schedule` event.
#[derive(Debug, Clone, Deserialize)]
pub struct Schedule {
    pub name: String,
    pub expression: String,
    pub enabled: bool,
}

impl Manifest {
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            format!(
                "cannot read {}: {e} (run infra/provision.py first)",
                path.display()
            )
        })?;
        serde_json::from_str(&text)
            .map_err(|e| format!("{} is not a stack manifest: {e}", path.display()))
    }
}
