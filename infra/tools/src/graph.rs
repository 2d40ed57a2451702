//! The service dependency graph: who depends on whom, by which path, and in which order
//! services can be deployed safely.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;

use crate::template::Template;

/// Why one service depends on another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Path {
    /// It consumes events the other produces (rule → queue → function).
    Event {
        detail_types: Vec<String>,
        rule: String,
        function: String,
    },
    /// Its functions write the other's table in one transaction (money must stay exact).
    SharedTransaction {
        table: String,
        functions: Vec<String>,
    },
    /// Its HTTP APIs accept only tokens auth issues.
    Token { functions: Vec<String> },
    /// Its crate links the other's crate: a code change there is rebuilt into it.
    Crate { krate: String },
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Event {
                detail_types,
                rule,
                function,
            } => write!(f, "event {} ({rule} → {function})", detail_types.join(", ")),
            Path::SharedTransaction { table, functions } => write!(
                f,
                "shared transaction on {table} ({})",
                functions.join(", ")
            ),
            Path::Token { functions } => write!(f, "HTTP bearer token ({})", functions.join(", ")),
            Path::Crate { krate } => write!(f, "crate {krate} (build)"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    /// The dependent service.
    pub from: String,
    /// The service it depends on.
    pub to: String,
    pub path: Path,
    /// Whether `to` must be deployed before `from`. An event the consumer tolerates missing,
    /// and a crate linked at build time, do not force an order.
    pub orders: bool,
}

#[derive(Debug, Default)]
pub struct Graph {
    pub services: BTreeSet<String>,
    pub edges: Vec<Edge>,
}

/// Whether the event catalog says `producer` emits `event_type`; types the catalog does not
/// know are kept, so a rule for a new event still shows.
fn produced_by(event_type: &str, producer: &str) -> bool {
    let catalog = finflow_shared::contracts::CATALOG;
    catalog.iter().all(|e| e.event_type != event_type)
        || catalog
            .iter()
            .any(|e| e.event_type == event_type && e.producer == producer)
}

/// The seed's letters, for output people compare with the seed's table.
pub fn letter(service: &str) -> &'static str {
    match service {
        "auth" => "A",
        "wallet" => "B",
        "payment" => "C",
        "notification" => "D",
        "kyc" => "E",
        "reporting" => "F",
        _ => "?",
    }
}

impl Graph {
    /// Derives the graph from the template and the crate dependencies (`service → [service]`).
    pub fn derive(template: &Template, crate_edges: &[(String, String, String)]) -> Graph {
        let mut graph = Graph::default();
        for function in &template.functions {
            if function.service != "platform" {
                graph.services.insert(function.service.clone());
            }
        }
        for function in template
            .functions
            .iter()
            .filter(|f| f.service != "platform")
        {
            for rule in template
                .rules
                .iter()
                .filter(|r| r.target_queues.iter().any(|q| function.queues.contains(q)))
            {
                for source in &rule.sources {
                    let Some(producer) = source.strip_prefix("finflow.") else {
                        continue;
                    };
                    if producer == function.service {
                        continue;
                    }
                    // A rule matching several sources routes each type only from its producer.
                    let detail_types: Vec<String> = rule
                        .detail_types
                        .iter()
                        .filter(|t| produced_by(t, producer))
                        .cloned()
                        .collect();
                    if detail_types.is_empty() {
                        continue;
                    }
                    graph.edges.push(Edge {
                        from: function.service.clone(),
                        to: producer.to_owned(),
                        path: Path::Event {
                            detail_types,
                            rule: rule.logical_id.clone(),
                            function: function.logical_id.clone(),
                        },
                        orders: !function.tolerates.contains(source),
                    });
                }
            }
            for table in &function.tables {
                match template.table_owners.get(table) {
                    Some(owner) if owner != &function.service && owner != "platform" => {
                        let edge = graph.edge_mut(
                            &function.service,
                            owner,
                            |p| matches!(p, Path::SharedTransaction { table: t, .. } if t == table),
                            || Path::SharedTransaction {
                                table: table.clone(),
                                functions: Vec::new(),
                            },
                        );
                        if let Path::SharedTransaction { functions, .. } = &mut edge.path {
                            functions.push(function.logical_id.clone());
                        }
                    }
                    _ => {}
                }
            }
            if function.has_authenticated_routes
                && function.service != "auth"
                && graph.services.contains("auth")
            {
                let edge = graph.edge_mut(
                    &function.service,
                    "auth",
                    |p| matches!(p, Path::Token { .. }),
                    || Path::Token {
                        functions: Vec::new(),
                    },
                );
                if let Path::Token { functions } = &mut edge.path {
                    functions.push(function.logical_id.clone());
                }
            }
        }
        for (from, to, krate) in crate_edges {
            if graph.services.contains(from) && graph.services.contains(to) && from != to {
                graph.edges.push(Edge {
                    from: from.clone(),
                    to: to.clone(),
                    path: Path::Crate {
                        krate: krate.clone(),
                    },
                    orders: false,
                });
            }
        }
        graph
    }

    /// The ordering edge `from → to` whose path matches, created with `new_path` if missing.
    fn edge_mut(
        &mut self,
        from: &str,
        to: &str,
        matches: impl Fn(&Path) -> bool,
        new_path: impl FnOnce() -> Path,
    ) -> &mut Edge {
        let index = match self
            .edges
            .iter()
            .position(|e| e.from == from && e.to == to && matches(&e.path))
        {
            Some(index) => index,
            None => {
                self.edges.push(Edge {
                    from: from.to_owned(),
                    to: to.to_owned(),
                    path: new_path(),
                    orders: true,
                });
                self.edges.len() - 1
            }
        };
        &mut self.edges[index]
    }

    /// Services that depend on `service` directly or through others, each with the chain of
    /// edges that makes it depend: the first edge is the affected service's own.
    pub fn dependents(&self, roots: &[String]) -> BTreeMap<String, Vec<Edge>> {
        let mut found: BTreeMap<String, Vec<Edge>> = BTreeMap::new();
        let mut queue: VecDeque<(String, Vec<Edge>)> =
            roots.iter().map(|r| (r.clone(), Vec::new())).collect();
        while let Some((service, chain)) = queue.pop_front() {
            for edge in self.edges.iter().filter(|e| e.to == service) {
                if roots.contains(&edge.from) || found.contains_key(&edge.from) {
                    continue;
                }
                let mut longer = vec![edge.clone()];
                longer.extend(chain.iter().cloned());
                found.insert(edge.from.clone(), longer.clone());
                queue.push_back((edge.from.clone(), longer));
            }
        }
        found
    }

    /// Services everything in `roots` depends on, directly or not.
    pub fn dependencies(&self, service: &str) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut queue = VecDeque::from([service.to_owned()]);
        while let Some(current) = queue.pop_front() {
            for edge in self.edges.iter().filter(|e| e.from == current) {
                if edge.to != service && seen.insert(edge.to.clone()) {
                    queue.push_back(edge.to.clone());
                }
            }
        }
        seen
    }

    /// Waves of services that can be deployed together, each after the waves before it,
    /// following only the edges that force an order. A cycle of such edges is an error.
    pub fn deploy_order(&self) -> Result<Vec<Vec<String>>, String> {
        let mut remaining: BTreeSet<String> = self.services.clone();
        let mut waves = Vec::new();
        while !remaining.is_empty() {
            let wave: Vec<String> = remaining
                .iter()
                .filter(|service| {
                    self.edges
                        .iter()
                        .filter(|e| e.orders && &e.from == *service && e.to != e.from)
                        .all(|e| !remaining.contains(&e.to))
                })
                .cloned()
                .collect();
            if wave.is_empty() {
                return Err(format!(
                    "no safe deploy order: these services wait on each other: {remaining:?}"
                ));
            }
            for service in &wave {
                remaining.remove(service);
            }
            let mut wave = wave;
            wave.sort_by_key(|s| letter(s));
            waves.push(wave);
        }
        Ok(waves)
    }
}
