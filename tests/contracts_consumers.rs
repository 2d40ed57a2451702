//! Each consumer pins the events and fields it reads (`EventConsumer::reads`, declared next to
//! its code). For every consumer function in template.yaml this builds the consumer exactly as
//! its Lambda binary does, then checks its declarations:
//! - against `events/schemas/`: the type and version exist, every field is in the schema,
//!   and the declared fields alone decode the way the consumer decodes (nothing undeclared is
//!   required);
//! - against the EventBridge rules that feed its queue: it is sent every type it declares,
//!   from the producer the catalog names, and nothing it does not declare.
//!
//! Needs no running platform: it reads files and builds clients without calling them.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use finflow_shared::config::{ConfigError, Env};
use finflow_shared::consumer::EventConsumer;
use finflow_shared::contracts::{Registry, catalog};
use serde_yaml::Value;

type ConsumerFunction =
    fn(&str, &SdkConfig, &Env) -> Option<Result<Arc<dyn EventConsumer>, ConfigError>>;

/// Every service's consumer builders, as the Lambda binaries call them.
const CONSUMER_FUNCTIONS: &[ConsumerFunction] = &[
    finflow_auth::functions::consumer,
    finflow_wallet::functions::consumer,
    finflow_kyc::functions::consumer,
    finflow_payment::functions::consumer,
    finflow_reporting::functions::consumer,
    finflow_notification::functions::consumer,
];

/// A function template.yaml triggers from SQS.
struct ConsumerFunctionSpec {
    logical_id: String,
    binary: String,
    environment: Vec<String>,
    queues: Vec<String>,
}

/// What the rules targeting one queue send to it.
#[derive(Default)]
struct Routing {
    sources: BTreeSet<String>,
    detail_types: BTreeSet<String>,
}

fn template() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/template.yaml");
    serde_yaml::from_str(&std::fs::read_to_string(path).expect("template.yaml reads"))
        .expect("template.yaml parses")
}

/// The logical id a `!GetAtt X.Arn` or `!Ref X` names.
fn referenced(value: &Value) -> Option<String> {
    match value {
        Value::Tagged(tagged) => {
            let target = tagged.value.as_str()?;
            Some(target.split('.').next().unwrap_or(target).to_owned())
        }
        _ => None,
    }
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_sequence()
        .map(|items| {
            items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn keys(value: &Value) -> Vec<String> {
    value
        .as_mapping()
        .map(|m| {
            m.keys()
                .filter_map(|k| k.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn resources(template: &Value) -> Vec<(String, &Value)> {
    template["Resources"]
        .as_mapping()
        .expect("template.yaml has Resources")
        .iter()
        .filter_map(|(id, resource)| Some((id.as_str()?.to_owned(), resource)))
        .collect()
}

fn consumer_functions(template: &Value) -> Vec<ConsumerFunctionSpec> {
    let globals = keys(&template["Globals"]["Function"]["Environment"]["Variables"]);
    resources(template)
        .into_iter()
        .filter(|(_, r)| r["Type"] == "AWS::Serverless::Function")
        .filter_map(|(logical_id, resource)| {
            let properties = &resource["Properties"];
            let queues: Vec<String> = properties["Events"]
                .as_mapping()
                .into_iter()
                .flatten()
                .filter(|(_, event)| event["Type"] == "SQS")
                .filter_map(|(_, event)| referenced(&event["Properties"]["Queue"]))
                .collect();
            if queues.is_empty() {
                return None;
            }
            let binary = resource["Metadata"]["BuildProperties"]["Binary"]
                .as_str()
                .unwrap_or_else(|| panic!("{logical_id} names no Binary"))
                .to_owned();
            let mut environment = globals.clone();
            environment.extend(keys(&properties["Environment"]["Variables"]));
            Some(ConsumerFunctionSpec {
                logical_id,
                binary,
                environment,
                queues,
            })
        })
        .collect()
}

/// Queue logical id → what the rules send it.
fn routing(template: &Value) -> HashMap<String, Routing> {
    let mut routing: HashMap<String, Routing> = HashMap::new();
    for (_, rule) in resources(template)
        .into_iter()
        .filter(|(_, r)| r["Type"] == "AWS::Events::Rule")
    {
        let pattern = &rule["Properties"]["EventPattern"];
        for target in rule["Properties"]["Targets"]
            .as_sequence()
            .into_iter()
            .flatten()
        {
            let Some(queue) = referenced(&target["Arn"]) else {
                continue;
            };
            let entry = routing.entry(queue).or_default();
            entry.sources.extend(strings(&pattern["source"]));
            entry.detail_types.extend(strings(&pattern["detail-type"]));
        }
    }
    routing
}

/// Builds the consumer of `binary` with every variable the template gives it (values that
/// only need to look plausible: nothing is called).
fn build(spec: &ConsumerFunctionSpec) -> Result<Arc<dyn EventConsumer>, String> {
    let env = Env::from_map(
        spec.environment
            .iter()
            .map(|name| {
                (
                    name.clone(),
                    format!("contract-test-{name}-0123456789abcdef"),
                )
            })
            .collect(),
    );
    let sdk = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .build();
    CONSUMER_FUNCTIONS
        .iter()
        .find_map(|build| build(&spec.binary, &sdk, &env))
        .ok_or_else(|| {
            format!(
                "{} ({}): no service builds this consumer; add the service's \
                 `functions::consumer` to CONSUMER_FUNCTIONS here and in infra/local",
                spec.logical_id, spec.binary
            )
        })?
        .map_err(|e| format!("{} ({}): {e}", spec.logical_id, spec.binary))
}

#[tokio::test]
async fn contracts_every_consumer_declares_what_it_reads_and_receives_exactly_that() {
    let template = template();
    let registry = Registry::load().expect("events/schemas loads");
    let routing = routing(&template);
    let functions = consumer_functions(&template);
    assert!(
        functions.len() >= 5,
        "template.yaml lists only {} consumer functions",
        functions.len()
    );
    let mut problems = Vec::new();
    let mut table = BTreeMap::new();
    for spec in &functions {
        let consumer = match build(spec) {
            Ok(consumer) => consumer,
            Err(problem) => {
                problems.push(problem);
                continue;
            }
        };
        let name = format!("{} ({})", consumer.name(), spec.logical_id);
        let reads = consumer.reads();
        problems.extend(registry.check_reads(&name, reads));

        let mut sources = BTreeSet::new();
        let mut routed = BTreeSet::new();
        for queue in &spec.queues {
            let Some(rules) = routing.get(queue) else {
                problems.push(format!("{name}: no rule sends events to {queue}"));
                continue;
            };
            sources.extend(rules.sources.iter().cloned());
            routed.extend(rules.detail_types.iter().cloned());
        }
        let declared: BTreeSet<String> = reads.iter().map(|r| r.event_type.to_owned()).collect();
        for read in reads {
            if !routed.contains(read.event_type) {
                problems.push(format!(
                    "{name} reads {} but no rule sends it to {:?}",
                    read.event_type, spec.queues
                ));
            }
            if let Some(entry) = catalog::lookup(read.event_type, read.version) {
                let source = format!("finflow.{}", entry.producer);
                if !sources.contains(&source) {
                    problems.push(format!(
                        "{name} reads {} but its rule does not take source {source}",
                        read.event_type
                    ));
                }
            }
        }
        for detail_type in &routed {
            if !declared.contains(detail_type) {
                problems.push(format!(
                    "{name} is sent {detail_type} but does not declare reading it"
                ));
            }
            if !catalog::CATALOG.iter().any(|e| e.event_type == detail_type) {
                problems.push(format!(
                    "the rule for {name} routes {detail_type}, which is not in the catalog"
                ));
            }
        }
        table.insert(
            name,
            reads.iter().map(|r| format!("{r:?}")).collect::<Vec<_>>(),
        );
    }
    for (consumer, reads) in &table {
        println!("{consumer}");
        for read in reads {
            println!("    {read}");
        }
    }
    assert!(
        problems.is_empty(),
        "{} problem(s):\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
}

#[test]
fn contracts_template_parsing_finds_the_known_consumers() {
    let template = template();
    let functions = consumer_functions(&template);
    let wallet = functions
        .iter()
        .find(|f| f.binary == "wallet-user-events")
        .expect("wallet's user-event consumer is in template.yaml");
    assert_eq!(wallet.queues, ["WalletUserEventsQueue"]);
    assert!(wallet.environment.iter().any(|v| v == "WALLET_TABLE"));
    let routing = routing(&template);
    let sent = &routing["WalletUserEventsQueue"];
    assert!(sent.detail_types.contains("user.tier_changed"));
    assert!(sent.sources.contains("finflow.auth"));
}
