//! The HTTP APIs' contract gate, beside the events' (`finflow_contracts::gate`): what
//! a version of an API promised its clients stays served, unchanged in any way a client could
//! tell, until that version is retired on purpose.
//!
//! The released documents (`events/released/openapi/`, copied from `events/openapi/` by
//! `finflow contracts release`) hold every operation clients were given. For each of them:
//! - the current document still declares it;
//! - template.yaml still routes it, and a v1 operation (`/api/...`) also under its `/api/v1/...`
//!   alias: the two paths are one version;
//! - each success answer's schema changed only in ways no client can tell: the events'
//!   classification (`compat::diff`) finds nothing worse than `Compatible`. A client is a
//!   reader the gate cannot ask, so whatever breaks some reader breaks the API.
//!
//! Anything else is a new version: the operation is declared again under `/api/v2/...` (routed,
//! documented, released), and the old one keeps being served. The transfer's v2 answer, whose
//! amount is an object `{value, currency}`, is the example. Operations that were never released
//! are new and pass; the report names every version each service serves.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use finflow_contracts::compat::{self, Impact};
use serde_json::Value;

/// Each service's OpenAPI document, by service name (the file's stem).
pub type Documents = BTreeMap<String, Value>;

/// The HTTP methods an OpenAPI path item may hold.
pub const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// What the gate found: the versions served, and every promise broken.
#[derive(Debug, Default)]
pub struct ApiReport {
    pub served: Vec<String>,
    pub problems: Vec<String>,
}

impl ApiReport {
    pub fn render(&self) -> String {
        let mut out = String::new();
        for line in &self.served {
            out.push_str(&format!("  {line}\n"));
        }
        for problem in &self.problems {
            out.push_str(&format!("  REFUSED {problem}\n"));
        }
        out
    }
}

/// The documents in `dir`; none when it does not exist (nothing released yet).
pub fn load(dir: &Path) -> Result<Documents, String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(Documents::new());
    };
    let mut documents = Documents::new();
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.extension().is_none_or(|x| x != "json") {
            continue;
        }
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let document =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let service = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        documents.insert(service.to_owned(), document);
    }
    Ok(documents)
}

/// An operation's version: `v2` under `/api/v2/`, else v1 (served as `/api/...` and `/api/v1/...`).
fn version(path: &str) -> &str {
    path.strip_prefix("/api/")
        .and_then(|rest| rest.split('/').next())
        .filter(|segment| {
            segment.len() > 1
                && segment.starts_with('v')
                && segment[1..].bytes().all(|b| b.is_ascii_digit())
        })
        .unwrap_or("v1")
}

/// Every operation of a document as (upper-case method, path template).
pub fn operations(document: &Value) -> BTreeSet<(String, String)> {
    let paths = document["paths"].as_object().into_iter().flatten();
    paths
        .flat_map(|(path, item)| {
            METHODS
                .iter()
                .filter(|method| item.get(**method).is_some())
                .map(move |method| (method.to_ascii_uppercase(), path.clone()))
        })
        .collect()
}

/// `schema` with every local `$ref` of `document` replaced by what it names (siblings of the
/// `$ref`, such as a description, kept).
fn inlined(document: &Value, schema: &Value, depth: usize) -> Value {
    if depth > 32 {
        return schema.clone();
    }
    match schema {
        Value::Object(object) => {
            let mut out = serde_json::Map::new();
            let target = object
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix('#'))
                .and_then(|pointer| document.pointer(pointer));
            if let Some(Value::Object(target)) = target.map(|t| inlined(document, t, depth + 1)) {
                out.extend(target);
            }
            for (key, value) in object.iter().filter(|(key, _)| *key != "$ref") {
                out.insert(key.clone(), inlined(document, value, depth + 1));
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| inlined(document, v, depth + 1))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The JSON schemas of an operation's success answers, by status, references inlined.
fn success_schemas(document: &Value, method: &str, path: &str) -> BTreeMap<String, Value> {
    let responses = &document["paths"][path][method.to_ascii_lowercase()]["responses"];
    responses
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(status, _)| status.starts_with('2'))
        .filter_map(|(status, response)| {
            let response = inlined(document, response, 0);
            let schema = response["content"]["application/json"]["schema"].clone();
            (!schema.is_null()).then(|| (status.clone(), schema))
        })
        .collect()
}

/// The gate: `released` against `current` and the routes template.yaml serves (METHOD, path).
pub fn check(released: &Documents, current: &Documents, routes: &[(String, String)]) -> ApiReport {
    let mut report = ApiReport::default();
    let routed = |method: &str, path: &str| {
        routes
            .iter()
            .any(|(m, p)| m.eq_ignore_ascii_case(method) && p == path)
    };
    for (service, document) in released {
        let now = current.get(service).unwrap_or(&Value::Null);
        let still_declared = operations(now);
        for (method, path) in operations(document) {
            let operation = format!("{service} {method} {path}");
            if !still_declared.contains(&(method.clone(), path.clone())) {
                report.problems.push(format!(
                    "{operation}: released, no longer in events/openapi/{service}.json; keep \
                     serving it while its version is"
                ));
                continue;
            }
            if path.starts_with("/api/") {
                let mut served_as = vec![path.clone()];
                if version(&path) == "v1" {
                    served_as.push(path.replacen("/api/", "/api/v1/", 1));
                }
                for route in served_as.iter().filter(|route| !routed(&method, route)) {
                    report.problems.push(format!(
                        "{operation}: template.yaml no longer routes {method} {route}"
                    ));
                }
            }
            let before = success_schemas(document, &method, &path);
            let after = success_schemas(now, &method, &path);
            for (status, old) in &before {
                let Some(new) = after.get(status) else {
                    report
                        .problems
                        .push(format!("{operation}: its {status} answer is gone"));
                    continue;
                };
                let changes = compat::diff(old, new);
                if compat::verdict(&changes) != Impact::Compatible {
                    let listed: Vec<String> = changes
                        .iter()
                        .filter(|c| c.impact() != Impact::Compatible)
                        .map(|c| c.to_string())
                        .collect();
                    report.problems.push(format!(
                        "{operation}: its {status} answer changed in a way clients can tell ({}); \
                         declare the new answer as a new version (/api/v2/...) and keep this one",
                        listed.join("; ")
                    ));
                }
            }
        }
    }
    for (service, document) in current {
        let mut versions: BTreeMap<&str, usize> = BTreeMap::new();
        let declared = operations(document);
        for (_, path) in declared.iter().filter(|(_, p)| p.starts_with("/api/")) {
            *versions.entry(version(path)).or_default() += 1;
        }
        let listed: Vec<String> = versions
            .iter()
            .map(|(version, count)| format!("{version} ({count} operations)"))
            .collect();
        let new = released
            .get(service)
            .map(|old| {
                let known = operations(old);
                declared.iter().filter(|op| !known.contains(op)).count()
            })
            .unwrap_or(declared.len());
        report.served.push(format!(
            "{service}: serves {}{}",
            listed.join(", "),
            if new > 0 {
                format!("; {new} operations not yet released")
            } else {
                String::new()
            }
        ));
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::Template;

    fn repository() -> (Documents, Documents, Vec<(String, String)>) {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let template =
            Template::parse(&std::fs::read_to_string(root.join("template.yaml")).unwrap()).unwrap();
        let routes = template.http_routes();
        (
            load(&root.join("events/released/openapi")).unwrap(),
            load(&root.join("events/openapi")).unwrap(),
            routes,
        )
    }

    #[test]
    fn the_repository_keeps_every_released_operation_and_serves_v1_beside_v2() {
        let (released, current, routes) = repository();
        let report = check(&released, &current, &routes);
        assert!(report.problems.is_empty(), "{}", report.render());
        let payment = report
            .served
            .iter()
            .find(|l| l.starts_with("payment:"))
            .unwrap();
        assert!(
            payment.contains("v1 (") && payment.contains("v2 (1 operations)"),
            "{payment}"
        );
        assert!(
            released["payment"]["paths"]["/api/v2/payment/transfer"].is_object(),
            "v2 is released"
        );
    }

    #[test]
    fn a_v1_answer_whose_amount_becomes_an_object_is_refused_in_place() {
        let (released, mut current, routes) = repository();
        current.get_mut("payment").unwrap()["components"]["schemas"]["Payment"]["properties"]["amount"] =
            serde_json::json!({ "type": "object", "properties": { "value": { "type": "string" } } });
        let report = check(&released, &current, &routes);
        let problem = report
            .problems
            .iter()
            .find(|p| p.starts_with("payment POST /api/payment/transfer: its 201 answer"))
            .unwrap_or_else(|| panic!("{}", report.render()));
        assert!(
            problem.contains("/amount") && problem.contains("/api/v2/"),
            "{problem}"
        );
    }

    #[test]
    fn retiring_v1_by_accident_is_refused() {
        let (released, mut current, routes) = repository();
        let without_alias: Vec<(String, String)> = routes
            .iter()
            .filter(|(_, p)| p != "/api/v1/payment/transfer")
            .cloned()
            .collect();
        let report = check(&released, &current, &without_alias);
        assert_eq!(
            report.problems,
            [
                "payment POST /api/payment/transfer: template.yaml no longer routes POST /api/v1/payment/transfer"
            ]
        );
        current.get_mut("payment").unwrap()["paths"]
            .as_object_mut()
            .unwrap()
            .remove("/api/payment/transfer");
        let report = check(&released, &current, &routes);
        assert!(
            report.problems[0].contains("no longer in events/openapi/payment.json"),
            "{}",
            report.render()
        );
    }

    #[test]
    fn versions_are_read_from_the_path() {
        assert_eq!(version("/api/v2/payment/transfer"), "v2");
        assert_eq!(version("/api/v1/payment/transfer"), "v1");
        assert_eq!(version("/api/payment/transfer"), "v1");
        assert_eq!(version("/api/vault/x"), "v1");
    }
}
