//! The provisioned stack as `infra/provision.py` describes it (`stack.json`): the physical name
//! of every table, queue, rule, the bus and the archive, and every function of template.yaml
//! with its resolved environment and event sources. The one reader of it: the runner,
//! `finflow invoke`, `finflow replay` and the system tests.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct Manifest {
    pub endpoint: String,
    pub region: String,
    #[serde(default)]
    pub event_bus: Option<Named>,
    #[serde(default)]
    pub archive: Option<Named>,
    /// Table logical id → its physical name.
    #[serde(default)]
    pub tables: BTreeMap<String, String>,
    /// Queue logical id → where it is.
    #[serde(default)]
    pub queues: BTreeMap<String, Queue>,
    /// Rule logical id → its name and ARN.
    #[serde(default)]
    pub rules: BTreeMap<String, Named>,
    /// Set when the tables live on another endpoint (DynamoDB Local).
    #[serde(default)]
    pub dynamodb_endpoint: Option<String>,
    #[serde(default)]
    pub dynamodbstreams_endpoint: Option<String>,
    pub functions: BTreeMap<String, Function>,
}

/// A resource known by its name and ARN (the bus, the archive, a rule).
#[derive(Debug, Clone, Deserialize)]
pub struct Named {
    pub name: String,
    pub arn: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Queue {
    pub url: String,
    pub arn: String,
}

#[derive(Debug, Deserialize)]
pub struct Function {
    pub service: String,
    pub binary: String,
    pub environment: HashMap<String, String>,
    #[serde(default)]
    pub http_routes: Vec<HttpRoute>,
    #[serde(default)]
    pub sqs_sources: Vec<SqsSource>,
    #[serde(default)]
    pub stream_sources: Vec<StreamSource>,
    #[serde(default)]
    pub schedules: Vec<Schedule>,
    /// An HTTP API's Lambda authorizer: API Gateway invokes it before the routes it guards.
    #[serde(default)]
    pub authorizer: bool,
    /// What its execution role allows its code (its inline policies, resolved).
    #[serde(default)]
    pub permissions: Vec<Permission>,
}

/// One IAM Allow statement: `actions` (`service:Action`, wildcards allowed) on `resources`
/// (ARNs, wildcards allowed).
#[derive(Debug, Clone, Deserialize)]
pub struct Permission {
    pub actions: Vec<String>,
    pub resources: Vec<String>,
}

/// A SAM `HttpApi` event: `method` is upper case or `ANY`.
#[derive(Debug, Clone, Deserialize)]
pub struct HttpRoute {
    pub method: String,
    pub path: String,
    /// The logical id of the Lambda authorizer API Gateway invokes first, if any.
    #[serde(default)]
    pub authorizer: Option<String>,
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

    /// The emulator's account id (from the bus's ARN), for the events' `account` fields.
    pub fn account_id(&self) -> String {
        self.event_bus
            .as_ref()
            .and_then(|bus| bus.arn.split(':').nth(4))
            .filter(|account| !account.is_empty())
            .unwrap_or("000000000000")
            .to_owned()
    }
}
