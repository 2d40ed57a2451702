//! `finflow`: tooling for FinFlow's cascades.
//!
//! `finflow cascade` prints the whole service dependency graph (text, or Graphviz DOT with
//! `--dot`) and the safe deploy order; `finflow cascade <service|event|event.field>` prints what
//! a change there affects, directly and indirectly, and by which path. Everything is derived
//! from template.yaml (rules, queues, functions, table owners) and the crate graph.
//! `finflow trace <trace id>` prints one request's cascade as a tree with timings.
//! `finflow contracts check` is the contract gate: every schema that changed since its release
//! must be handled by every consumer whose declared use of it the change reaches
//! (`contracts.rs`); `finflow contracts release` records the schemas as released.
//! `finflow replay reporting` rebuilds reporting's projection from the event archive and
//! compares it with the live one (`--restore` writes it back).
//! `finflow bench` prints transfer latency, throughput and cascade lags of a running platform.
//! `finflow invoke <LogicalId> -e <event.json>` invokes one function of template.yaml with an
//! event, as `sam local invoke -e` does: its bootstrap under the Runtime Interface Emulator,
//! with its manifest environment, against the running local platform's emulator.
//! `finflow staff grant|revoke <email> --by <operator>` grants or revokes staff rights: the
//! only way to the first staff member (registering never makes staff).

mod crates;
mod graph;
#[cfg(test)]
mod seed_cascades;
mod trace;

use std::collections::BTreeSet;
use std::process::ExitCode;

use finflow_tools::{contracts, template};
use graph::{Graph, letter};
use template::Template;

const USAGE: &str = "usage: finflow cascade [<service> | <event type> | <event type>.<field>] [--dot] [--template PATH]\n       finflow trace <trace id> [--log PATH]\n       finflow contracts check [--base DIR | --base-ref REF] [--schemas DIR] [--template PATH]\n       finflow contracts release [--schemas DIR] [--template PATH]\n       finflow replay reporting [--restore] [--manifest PATH] [--timeout SECONDS]\n       finflow bench [--api URL] [--pairs N] [--transfers N] [--concurrency N] [--hot-wallet] [--log PATH]\n       finflow bench cold [--runs N] [--manifest PATH] [--bin-dir DIR] [--python VENV] [--api URL]\n       finflow invoke <LogicalId> -e <event.json> [--manifest PATH]\n       finflow staff grant|revoke <email> --by <operator> [--manifest PATH | --process-env]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(output) => {
            print!("{output}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("finflow: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<String, String> {
    let (command, rest) = args.split_first().ok_or(USAGE)?;
    if command == "trace" {
        return trace_command(rest);
    }
    if command == "contracts" {
        return contracts::command(rest);
    }
    if command == "replay" {
        return replay_command(rest);
    }
    if command == "bench" {
        return bench_command(rest);
    }
    if command == "invoke" {
        return invoke_command(rest);
    }
    if command == "staff" {
        return staff_command(rest);
    }
    if command != "cascade" {
        return Err(USAGE.into());
    }
    let mut target = None;
    let mut dot = false;
    let mut template_path = "template.yaml".to_owned();
    let mut rest = rest.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--dot" => dot = true,
            "--template" => template_path = rest.next().ok_or(USAGE)?.clone(),
            other if target.is_none() && !other.starts_with("--") => {
                target = Some(other.to_owned())
            }
            _ => return Err(USAGE.into()),
        }
    }
    let text =
        std::fs::read_to_string(&template_path).map_err(|e| format!("{template_path}: {e}"))?;
    let template = Template::parse(&text)?;
    let graph = Graph::derive(&template, &crates::service_crate_edges()?);
    match (target, dot) {
        (None, true) => Ok(to_dot(&graph)),
        (None, false) => whole_graph(&graph),
        (Some(target), _) => impact(&graph, &template, &target),
    }
}

/// `finflow replay <projection> [--restore] [--manifest PATH] [--timeout SECONDS]`; fails
/// when the rebuilt projection differs from the live one.
fn replay_command(args: &[String]) -> Result<String, String> {
    let (projection, rest) = args.split_first().ok_or(USAGE)?;
    let manifest = std::env::var("FINFLOW_MANIFEST").unwrap_or("infra/.state/stack.json".into());
    let mut options = finflow_tools::replay::Options::new(projection, manifest);
    let mut rest = rest.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--restore" => options.restore = true,
            "--manifest" => options.manifest = rest.next().ok_or(USAGE)?.into(),
            "--timeout" => {
                let seconds = rest.next().and_then(|s| s.parse().ok()).ok_or(USAGE)?;
                options.timeout = std::time::Duration::from_secs(seconds);
            }
            _ => return Err(USAGE.into()),
        }
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let report = runtime.block_on(finflow_tools::replay::run(&options))?;
    if report.identical() {
        Ok(report.to_string())
    } else {
        Err(format!(
            "{report}the rebuilt projection differs from the live one"
        ))
    }
}

/// `finflow staff grant|revoke <email> --by <operator> [--manifest PATH | --process-env]`.
fn staff_command(args: &[String]) -> Result<String, String> {
    use finflow_tools::staff::Settings;
    let (action, rest) = args.split_first().ok_or(USAGE)?;
    let role = match action.as_str() {
        "grant" => finflow_shared::jwt::Role::Staff,
        "revoke" => finflow_shared::jwt::Role::Customer,
        _ => return Err(USAGE.into()),
    };
    let (email, rest) = rest.split_first().ok_or(USAGE)?;
    let mut settings = Settings::Manifest(
        std::env::var("FINFLOW_MANIFEST")
            .unwrap_or("infra/.state/stack.json".into())
            .into(),
    );
    let mut by = None;
    let mut rest = rest.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--by" => by = Some(rest.next().ok_or(USAGE)?.clone()),
            "--manifest" => settings = Settings::Manifest(rest.next().ok_or(USAGE)?.into()),
            "--process-env" => settings = Settings::Process,
            _ => return Err(USAGE.into()),
        }
    }
    let by = by.ok_or("--by <operator> is required: grants are signed")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(finflow_tools::staff::set_role(&settings, email, role, &by))
}

/// `finflow invoke <LogicalId> -e <event.json> [--manifest PATH]`: prints the function's answer
/// (its logs and the emulator's START/END/REPORT lines go to stderr); a function error fails.
fn invoke_command(args: &[String]) -> Result<String, String> {
    let (logical_id, rest) = args.split_first().ok_or(USAGE)?;
    let mut manifest =
        std::env::var("FINFLOW_MANIFEST").unwrap_or("infra/.state/stack.json".into());
    let mut event_path = None;
    let mut rest = rest.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "-e" | "--event" => event_path = Some(rest.next().ok_or(USAGE)?.clone()),
            "--manifest" => manifest = rest.next().ok_or(USAGE)?.clone(),
            _ => return Err(USAGE.into()),
        }
    }
    let event_path = event_path.ok_or(USAGE)?;
    let text = std::fs::read_to_string(&event_path).map_err(|e| format!("{event_path}: {e}"))?;
    let event: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{event_path}: {e}"))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let answer = runtime.block_on(finflow_local::lambda::invoke_once(
        std::path::Path::new(&manifest),
        logical_id,
        &event,
        std::path::Path::new("infra/.sam-venv"),
    ))?;
    Ok(format!(
        "{}\n",
        serde_json::to_string_pretty(&answer).expect("JSON prints")
    ))
}

/// `finflow bench [--api URL] [--pairs N] [--transfers N] [--concurrency N] [--log PATH]`: with
/// the runner's JSON log, the AWS round trips of every route the bench called.
fn bench_command(args: &[String]) -> Result<String, String> {
    if args.first().is_some_and(|a| a == "cold") {
        return cold_command(&args[1..]);
    }
    let mut options = finflow_tools::bench::Options::default();
    let mut log = None;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let mut number = || -> Result<usize, String> {
            rest.next()
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| format!("{arg} takes a number\n{USAGE}"))
        };
        match arg.as_str() {
            "--pairs" => options.pairs = number()?,
            "--transfers" => options.transfers = number()?,
            "--concurrency" => options.concurrency = number()?,
            "--api" => options.api = rest.next().ok_or(USAGE)?.clone(),
            "--log" => log = Some(rest.next().ok_or(USAGE)?.clone()),
            "--hot-wallet" => options.hot_wallet = true,
            _ => return Err(USAGE.into()),
        }
    }
    // Only what the functions logged during this run counts.
    let before = log
        .as_ref()
        .map_or(0, |path| std::fs::read(path).map_or(0, |bytes| bytes.len()));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let figures = runtime.block_on(finflow_tools::bench::run(&options))?;
    let mut out = figures.to_string();
    if let Some(path) = log {
        let bytes = std::fs::read(&path).map_err(|e| format!("{path}: {e}"))?;
        let log = String::from_utf8_lossy(bytes.get(before..).unwrap_or_default());
        out.push_str(&finflow_tools::bench::contention(&log));
        out.push_str(&finflow_tools::bench::authorizer(&log));
        out.push_str(&finflow_tools::round_trips::table(&log));
    }
    Ok(out)
}

/// `finflow bench cold [--runs N] [--manifest PATH] [--bin-dir DIR] [--python VENV] [--api URL]`:
/// cold starts of every function and of the floor subjects (`finflow_tools::cold_starts`).
fn cold_command(args: &[String]) -> Result<String, String> {
    let mut options = finflow_tools::cold_starts::ColdOptions {
        runs: 20,
        manifest: "infra/.state/stack.json".into(),
        bin_dir: finflow_local::lambda::default_bin_dir(),
        sam_venv: "infra/.sam-venv".into(),
        python: None,
        api: "http://127.0.0.1:8000".into(),
    };
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let value = rest.next().ok_or(USAGE)?.clone();
        match arg.as_str() {
            "--runs" => options.runs = value.parse().map_err(|_| USAGE)?,
            "--manifest" => options.manifest = value.into(),
            "--bin-dir" => options.bin_dir = value.into(),
            "--python" => options.python = Some(value.into()),
            "--api" => options.api = value,
            _ => return Err(USAGE.into()),
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(finflow_tools::cold_starts::run(&options))
}

/// `finflow trace <id> [--log PATH]`; the log defaults to the one `infra/test` keeps.
fn trace_command(args: &[String]) -> Result<String, String> {
    let (trace_id, rest) = args.split_first().ok_or(USAGE)?;
    let path = match rest {
        [] => "infra/.state/runner.log".to_owned(),
        [flag, path] if flag == "--log" => path.clone(),
        _ => return Err(USAGE.into()),
    };
    let log = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    trace::render(&log, trace_id)
}

fn name(service: &str) -> String {
    format!("{} {service}", letter(service))
}

fn whole_graph(graph: &Graph) -> Result<String, String> {
    let mut out = String::from(
        "Direct dependencies (dependent → dependency: path; * = forces deploy order)\n",
    );
    for service in &graph.services {
        for edge in graph.edges.iter().filter(|e| &e.from == service) {
            let mark = if edge.orders { "*" } else { " " };
            out.push_str(&format!(
                "  {mark} {} → {}: {}\n",
                name(&edge.from),
                name(&edge.to),
                edge.path
            ));
        }
    }
    out.push_str("\nAll dependencies, direct and indirect\n");
    for service in &graph.services {
        let all: Vec<String> = graph
            .dependencies(service)
            .iter()
            .map(|s| name(s))
            .collect();
        out.push_str(&format!(
            "  {} → {}\n",
            name(service),
            if all.is_empty() {
                "nothing".into()
            } else {
                all.join(", ")
            }
        ));
    }
    out.push_str(&format!("\nSafe deploy order: {}\n", order_line(graph)?));
    Ok(out)
}

fn order_line(graph: &Graph) -> Result<String, String> {
    let waves = graph.deploy_order()?;
    Ok(waves
        .iter()
        .map(|wave| wave.iter().map(|s| letter(s)).collect::<Vec<_>>().join(","))
        .collect::<Vec<_>>()
        .join(" → "))
}

fn impact(graph: &Graph, template: &Template, target: &str) -> Result<String, String> {
    let mut out = String::new();
    let roots: Vec<String> = if graph.services.contains(target) {
        out.push_str(&format!("A change to service {}\n", name(target)));
        vec![target.to_owned()]
    } else {
        let (event, field) = split_event(graph, target).ok_or_else(|| {
            format!("{target} is neither a service nor an event type any rule routes")
        })?;
        let routes = |e: &&graph::Edge| matches!(&e.path, graph::Path::Event { detail_types, .. } if detail_types.contains(&event));
        if let Some(field) = field {
            field_readers(graph, template, &event, &field, &mut out)?
        } else {
            out.push_str(&format!("A change to event {event}\n"));
            out.push_str("Directly affected (consumers):\n");
            for edge in graph.edges.iter().filter(routes) {
                out.push_str(&format!("  {}: {}\n", name(&edge.from), edge.path));
            }
            let consumers: BTreeSet<String> = graph
                .edges
                .iter()
                .filter(routes)
                .map(|e| e.from.clone())
                .collect();
            consumers.into_iter().collect()
        }
    };
    let dependents = graph.dependents(&roots);
    out.push_str(if graph.services.contains(target) {
        "Affected services:\n"
    } else {
        "Indirectly affected:\n"
    });
    if dependents.is_empty() {
        out.push_str("  none\n");
    }
    for (service, chain) in &dependents {
        let kind = if chain.len() == 1 && graph.services.contains(target) {
            "directly"
        } else {
            "indirectly"
        };
        let route: Vec<String> = chain
            .iter()
            .map(|e| format!("{} → {} by {}", letter(&e.from), letter(&e.to), e.path))
            .collect();
        out.push_str(&format!(
            "  {} ({kind}): {}\n",
            name(service),
            route.join("; ")
        ));
    }
    out.push_str(&format!("Safe deploy order: {}\n", order_line(graph)?));
    Ok(out)
}

/// The consumers whose declarations read `field` (`decided_by.staff` is `/decided_by/staff`)
/// of `event`, how each uses it, and their services: the roots of the cascade.
fn field_readers(
    graph: &Graph,
    template: &Template,
    event: &str,
    field: &str,
    out: &mut String,
) -> Result<Vec<String>, String> {
    let pointer = format!("/{}", field.replace('.', "/"));
    let registry = finflow_contracts::Registry::load()?;
    let schemas: Vec<_> = registry
        .data
        .iter()
        .filter(|((event_type, _), _)| event_type == event)
        .collect();
    if !schemas
        .iter()
        .any(|(_, schema)| finflow_contracts::schema_at(schema, &pointer).is_some())
    {
        return Err(format!("{event} has no field {field} ({pointer})"));
    }
    out.push_str(&format!(
        "A change to field `{field}` ({pointer}) of event {event}\n\
         Directly affected (consumers whose declarations read it):\n"
    ));
    let mut roots = BTreeSet::new();
    let mut unaffected = Vec::new();
    for built in contracts::consumers(template)? {
        let consumer = &built.consumer;
        for read in consumer.reads.iter().filter(|r| r.event_type == event) {
            let fields = read.fields_in(&pointer, registry.data_schema(event, read.version));
            if fields.is_empty() {
                unaffected.push(format!("{} ({})", consumer.name, letter(&consumer.service)));
                continue;
            }
            let path = graph
                .edges
                .iter()
                .find(|e| {
                    e.from == consumer.service
                        && matches!(&e.path, graph::Path::Event { function, detail_types, .. }
                            if function == &built.logical_id && detail_types.iter().any(|t| t == event))
                })
                .map_or_else(|| format!("{event} → {}", built.logical_id), |e| e.path.to_string());
            let uses: Vec<String> = fields.iter().map(ToString::to_string).collect();
            out.push_str(&format!(
                "  {}: {path}\n      {} v{}: {}\n",
                name(&consumer.service),
                consumer.name,
                read.version,
                uses.join("; ")
            ));
            roots.insert(consumer.service.clone());
        }
    }
    if roots.is_empty() {
        out.push_str("  none\n");
    }
    if !unaffected.is_empty() {
        out.push_str(&format!(
            "Not affected (consume {event}, do not read it): {}\n",
            unaffected.join(", ")
        ));
    }
    Ok(roots.into_iter().collect())
}

/// `payment.on_hold` or `payment.on_hold.status`: the longest known event type prefix.
fn split_event(graph: &Graph, target: &str) -> Option<(String, Option<String>)> {
    let known: BTreeSet<&String> = graph
        .edges
        .iter()
        .filter_map(|e| match &e.path {
            graph::Path::Event { detail_types, .. } => Some(detail_types.iter()),
            _ => None,
        })
        .flatten()
        .collect();
    known
        .iter()
        .filter(|event| target == event.as_str() || target.starts_with(&format!("{event}.")))
        .max_by_key(|event| event.len())
        .map(|event| {
            let field = target
                .strip_prefix(event.as_str())
                .and_then(|rest| rest.strip_prefix('.'))
                .map(str::to_owned);
            ((*event).clone(), field)
        })
}

fn to_dot(graph: &Graph) -> String {
    let mut out = String::from("digraph finflow {\n  rankdir=RL;\n");
    for service in &graph.services {
        out.push_str(&format!("  \"{service}\" [label=\"{}\"];\n", name(service)));
    }
    for edge in &graph.edges {
        let style = if edge.orders { "solid" } else { "dashed" };
        out.push_str(&format!(
            "  \"{}\" -> \"{}\" [label=\"{}\", style={style}];\n",
            edge.from,
            edge.to,
            edge.path.to_string().replace('"', "'")
        ));
    }
    out.push_str("}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn real_graph() -> Graph {
        let template = Template::parse(include_str!("../../../template.yaml")).unwrap();
        Graph::derive(&template, &crates::service_crate_edges().unwrap())
    }

    fn depends(graph: &Graph, from: &str, to: &str) -> bool {
        graph.dependencies(from).contains(to)
    }

    #[test]
    fn the_seeds_dependencies_are_derived() {
        let graph = real_graph();
        let seed = [
            ("wallet", "auth"),
            ("payment", "wallet"),
            ("payment", "auth"),
            ("kyc", "auth"),
            ("kyc", "payment"),
            ("notification", "auth"),
            ("notification", "payment"),
            ("notification", "wallet"),
            ("reporting", "wallet"),
            ("reporting", "payment"),
            ("reporting", "kyc"),
            ("reporting", "auth"),
        ];
        for (from, to) in seed {
            if graph.services.contains(from) {
                assert!(depends(&graph, from, to), "{from} must depend on {to}");
            }
        }
        // The reverse cascade is shown with the path that makes it.
        assert!(
            graph
                .edges
                .iter()
                .any(|e| e.from == "auth" && e.to == "kyc" && !e.orders)
        );
    }

    #[test]
    fn the_deploy_order_follows_the_seed() {
        let waves = real_graph().deploy_order().unwrap();
        let position = |service: &str| {
            waves
                .iter()
                .position(|wave| wave.iter().any(|s| s == service))
        };
        let seed_order = ["auth", "wallet", "payment", "kyc", "reporting"];
        let placed: Vec<usize> = seed_order.iter().filter_map(|s| position(s)).collect();
        assert!(placed.windows(2).all(|w| w[0] < w[1]), "{waves:?}");
        if let (Some(notification), Some(kyc)) = (position("notification"), position("kyc")) {
            assert_eq!(notification, kyc, "D and E deploy together: {waves:?}");
        }
    }

    fn real_template() -> Template {
        Template::parse(include_str!("../../../template.yaml")).unwrap()
    }

    #[test]
    fn an_event_names_its_consumers_and_their_dependents() {
        let graph = real_graph();
        let report = impact(&graph, &real_template(), "user.tier_changed.account_tier").unwrap();
        assert!(report.contains("B wallet: event"), "{report}");
        assert!(report.contains("C payment: event"), "{report}");
        assert!(impact(&graph, &real_template(), "no.such.event").is_err());
    }

    #[test]
    fn a_field_names_only_the_consumers_that_read_it_and_how() {
        let graph = real_graph();
        let template = real_template();
        // Only notification has a text per document type; auth and reporting decode it.
        let report = impact(&graph, &template, "kyc.decision_recorded.document_type").unwrap();
        assert!(
            report.contains(
                "notification.dispatch v1: matches on /document_type: passport, national_id, drivers_license"
            ),
            "{report}"
        );
        assert!(
            report.contains("auth.kyc_decisions v1: decodes /document_type (does not use it)"),
            "{report}"
        );
        // Of user.created's consumers, wallet and payment branch on the tier, notification
        // does not read it, and the cascade goes on from the services that do.
        let report = impact(&graph, &template, "user.created.account_tier").unwrap();
        assert!(
            report.contains("wallet.customers v1: matches on /account_tier: bronze, silver, gold"),
            "{report}"
        );
        assert!(report.contains("D notification: event"), "{report}");
        assert!(
            report.contains("notification.dispatch v1: decodes /account_tier"),
            "{report}"
        );
        // An optional field: a whole decoder accepts it missing.
        let report = impact(&graph, &template, "payment.completed.description").unwrap();
        assert!(
            report.contains(
                "reporting.projector v1: decodes /description (does not use it), accepts it missing"
            ),
            "{report}"
        );
        assert!(
            report.contains(
                "notification.dispatch v1: uses /description as a value, accepts it missing"
            ),
            "{report}"
        );
        // A nested field, and one that does not exist.
        let report = impact(&graph, &template, "kyc.decision_recorded.decided_by.staff").unwrap();
        assert!(
            report.contains("reporting.projector v1: uses /decided_by as a value"),
            "{report}"
        );
        assert!(impact(&graph, &template, "user.created.nope").is_err());
    }

    #[test]
    fn a_field_only_decoded_by_its_consumers_still_lists_them_but_not_who_ignores_the_event() {
        let graph = real_graph();
        let report = impact(&graph, &real_template(), "aml.case_resolved.note").unwrap();
        // payment settles by the action and never reads the note's value.
        assert!(
            report.contains(
                "payment.aml-decisions v1: decodes /note (does not use it), accepts it missing"
            ),
            "{report}"
        );
        assert!(!report.contains("E kyc:"), "{report}");
    }

    #[test]
    fn a_forced_cycle_has_no_deploy_order() {
        let mut graph = Graph::default();
        graph.services.extend(["auth".to_owned(), "kyc".to_owned()]);
        for (from, to) in [("auth", "kyc"), ("kyc", "auth")] {
            graph.edges.push(graph::Edge {
                from: from.into(),
                to: to.into(),
                path: graph::Path::Token {
                    functions: vec!["F".into()],
                },
                orders: true,
            });
        }
        assert!(graph.deploy_order().is_err());
    }
}
