//! The event contracts on the running platform: every envelope in the outbox (everything
//! services committed for publication) against `events/schemas/`, and every event the relay
//! logged as published found among them.

use std::collections::{BTreeSet, HashMap};

use finflow_contracts::Registry;
use serde_json::Value;

use crate::Platform;

/// `events/schemas/` with the `jsonschema` crate as its engine; each schema compiles once.
pub struct SchemaValidator {
    registry: Registry,
    compiled: HashMap<String, jsonschema::Validator>,
}

impl Default for SchemaValidator {
    fn default() -> Self {
        SchemaValidator::new()
    }
}

impl SchemaValidator {
    pub fn new() -> Self {
        SchemaValidator {
            registry: Registry::load().expect("events/schemas loads"),
            compiled: HashMap::new(),
        }
    }

    /// Everything wrong with one envelope (empty when it conforms).
    pub fn check(&mut self, envelope: &Value) -> Vec<String> {
        // Compile first: `check_envelope` asks for a plain function of schema and instance.
        let schemas = [Some(&self.registry.envelope)]
            .into_iter()
            .chain([envelope["event_type"].as_str().and_then(|t| {
                let version = u32::try_from(envelope["schema_version"].as_u64()?).ok()?;
                self.registry.data_schema(t, version)
            })])
            .flatten();
        for schema in schemas {
            self.compiled
                .entry(schema.to_string())
                .or_insert_with(|| jsonschema::validator_for(schema).expect("schemas compile"));
        }
        let compiled = &self.compiled;
        let validate = |schema: &Value, instance: &Value| -> Vec<String> {
            compiled[&schema.to_string()]
                .iter_errors(instance)
                .map(|error| format!("{} {error}", error.instance_path()))
                .collect()
        };
        self.registry.check_envelope(envelope, &validate)
    }
}

/// Every envelope in the outbox table, by event id.
pub async fn outbox_envelopes(platform: &Platform) -> Vec<(String, Result<Value, String>)> {
    let items = crate::events::outbox_items(platform).await;
    items
        .iter()
        .map(|item| {
            let id = item
                .get("pk")
                .and_then(|pk| pk.as_s().ok())
                .map(|pk| pk.trim_start_matches("EVENT#").to_owned())
                .unwrap_or_default();
            let envelope = match item.get("envelope").map(|e| e.as_s()) {
                Some(Ok(json)) => serde_json::from_str(json).map_err(|e| format!("not JSON: {e}")),
                _ => Err("no envelope attribute".to_owned()),
            };
            (id, envelope)
        })
        .collect()
}

/// The ids of the events the relay logged as published during this run.
pub fn published_event_ids(platform: &Platform) -> BTreeSet<String> {
    platform
        .runner_log()
        .iter()
        .filter(|line| line["message"] == "event published")
        .filter_map(|line| line["event_id"].as_str().map(str::to_owned))
        .collect()
}

/// What checking every committed envelope found.
#[derive(Debug, Default)]
pub struct ContractReport {
    /// Event ids of the envelopes that were checked.
    pub checked: BTreeSet<String>,
    /// Every violation, one line each, naming the event.
    pub problems: Vec<String>,
}

/// Checks every envelope in the outbox against its schemas, and that every event the relay
/// published is one of them (nothing reaches the bus but through the outbox).
pub async fn check_published_events(platform: &Platform) -> ContractReport {
    let mut validator = SchemaValidator::new();
    let mut report = ContractReport::default();
    // The log first: whatever it shows as published was committed before the scan starts.
    let published = published_event_ids(platform);
    for (id, envelope) in outbox_envelopes(platform).await {
        match envelope {
            Ok(envelope) => {
                let name = format!(
                    "{} {} v{}",
                    id, envelope["event_type"], envelope["schema_version"]
                );
                if envelope["event_id"] != id.as_str() {
                    report
                        .problems
                        .push(format!("{name}: stored under another event id"));
                }
                for problem in validator.check(&envelope) {
                    report.problems.push(format!("{name}: {problem}"));
                }
            }
            Err(reason) => report.problems.push(format!("{id}: {reason}")),
        }
        report.checked.insert(id);
    }
    for id in published {
        if !report.checked.contains(&id) {
            report
                .problems
                .push(format!("{id} was published but is not in the outbox"));
        }
    }
    report
}
