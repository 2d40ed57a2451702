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

use finflow_contracts::Registry;
use finflow_shared::contracts::catalog;
use finflow_tools::contracts::build_consumer;
use finflow_tools::template::Template;

/// What the rules targeting one queue send to it.
#[derive(Default)]
struct Routing {
    sources: BTreeSet<String>,
    detail_types: BTreeSet<String>,
}

/// template.yaml, read as the `finflow` tools read it.
fn template() -> Template {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/template.yaml");
    Template::parse(&std::fs::read_to_string(path).expect("template.yaml reads"))
        .expect("template.yaml parses")
}

/// Queue logical id → what the rules send it.
fn routing(template: &Template) -> HashMap<String, Routing> {
    let mut routing: HashMap<String, Routing> = HashMap::new();
    for rule in &template.rules {
        for queue in &rule.target_queues {
            let entry = routing.entry(queue.clone()).or_default();
            entry.sources.extend(rule.sources.iter().cloned());
            entry.detail_types.extend(rule.detail_types.iter().cloned());
        }
    }
    routing
}

#[tokio::test]
async fn contracts_every_consumer_declares_what_it_reads_and_receives_exactly_that() {
    let template = template();
    let registry = Registry::load().expect("events/schemas loads");
    let routing = routing(&template);
    let functions: Vec<_> = template
        .functions
        .iter()
        .filter(|f| !f.queues.is_empty())
        .collect();
    assert!(
        functions.len() >= 5,
        "template.yaml lists only {} consumer functions",
        functions.len()
    );
    let mut problems = Vec::new();
    let mut table = BTreeMap::new();
    for spec in &functions {
        let consumer = match build_consumer(spec) {
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
    let wallet = template
        .functions
        .iter()
        .find(|f| f.binary.as_deref() == Some("wallet-user-events"))
        .expect("wallet's user-event consumer is in template.yaml");
    assert_eq!(wallet.queues, ["WalletUserEventsQueue"]);
    assert!(wallet.environment.iter().any(|v| v == "WALLET_TABLE"));
    let routing = routing(&template);
    let sent = &routing["WalletUserEventsQueue"];
    assert!(sent.detail_types.contains("user.tier_changed"));
    assert!(sent.sources.contains("finflow.auth"));
}
