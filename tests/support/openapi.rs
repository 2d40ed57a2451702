//! The OpenAPI documents of the six HTTP APIs (`events/openapi/<service>.json`) as test
//! oracles: what a document must look like to be a usable OpenAPI 3.1 document, which
//! operation a concrete request lands on, and whether a real response is one the document
//! allows (status, content type, body against its schema, with the `jsonschema` crate).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Value, json};

pub use crate::services::SERVICES;

/// The contract gate's readers of a document, the same for the tests.
pub use finflow_tools::api_contracts::{METHODS, operations};

/// Prefixes served as aliases of `/api/` (shared/src/http/app.rs); documents name them in
/// `x-path-aliases` and list each path once, under `/api/`.
pub const ALIAS: (&str, &str) = ("/api/v1/", "/api/");

pub fn document_path(service: &str) -> String {
    format!(
        "{}/events/openapi/{service}.json",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// One service's document.
pub fn load(service: &str) -> Value {
    let path = document_path(service);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path} is not JSON: {e}"))
}

/// The path a request names, as the document lists it: without the query and with the
/// `/api/v1/` alias folded into `/api/`.
pub fn canonical_path(path: &str) -> String {
    let path = path.split('?').next().unwrap_or(path);
    match path.strip_prefix(ALIAS.0) {
        Some(rest) => format!("{}{rest}", ALIAS.1),
        None => path.to_owned(),
    }
}

/// The path template of `document` that a concrete `path` matches, by axum's own router
/// (`matchit`): a literal segment beats a `{parameter}` (`/api/payment/history` is not
/// `/api/payment/{id}`).
pub fn match_path(document: &Value, path: &str) -> Option<String> {
    let mut router = matchit::Router::new();
    for template in document["paths"].as_object()?.keys() {
        router
            .insert(template.as_str(), template.clone())
            .unwrap_or_else(|e| panic!("the document's path {template}: {e}"));
    }
    router
        .at(&canonical_path(path))
        .ok()
        .map(|matched| matched.value.clone())
}

/// Follows a local `$ref` (`#/components/...`) to what it names.
pub fn resolve<'a>(document: &'a Value, value: &'a Value) -> Result<&'a Value, String> {
    let mut value = value;
    for _ in 0..16 {
        let Some(reference) = value.get("$ref").and_then(Value::as_str) else {
            return Ok(value);
        };
        value = pointer(document, reference)?;
    }
    Err("a $ref chain longer than 16".into())
}

fn pointer<'a>(document: &'a Value, reference: &str) -> Result<&'a Value, String> {
    let pointer = reference
        .strip_prefix('#')
        .ok_or_else(|| format!("{reference}: only local references are used here"))?;
    document
        .pointer(pointer)
        .ok_or_else(|| format!("{reference} does not resolve"))
}

/// A schema of the document, compiled on its own: the document's `components` travel with it,
/// so its `#/components/schemas/...` references resolve as they do in the document.
pub fn compile(document: &Value, schema: &Value) -> Result<jsonschema::Validator, String> {
    let mut root = match schema {
        Value::Object(object) => object.clone(),
        Value::Bool(true) => serde_json::Map::new(),
        other => return Err(format!("a schema must be an object here, not {other}")),
    };
    root.insert(
        "$schema".into(),
        json!("https://json-schema.org/draft/2020-12/schema"),
    );
    root.insert("components".into(), document["components"].clone());
    jsonschema::options()
        .should_validate_formats(true)
        .build(&Value::Object(root))
        .map_err(|e| format!("does not compile: {e}"))
}

/// Everything that keeps `document` from being a sound OpenAPI 3.1 document (empty when it
/// is one): the required fields, unique operation ids, declared path parameters, known
/// security schemes, responses for every operation, every `$ref` resolving, and every schema
/// compiling.
pub fn structural_problems(document: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    if !document["openapi"]
        .as_str()
        .is_some_and(|v| v.starts_with("3.1."))
    {
        problems.push("`openapi` must be 3.1.x".into());
    }
    for field in ["title", "version"] {
        if !document["info"][field].is_string() {
            problems.push(format!("info.{field} is required"));
        }
    }
    if !document["paths"].is_object() {
        problems.push("`paths` is required".into());
    }
    let schemes: BTreeSet<&String> = document["components"]["securitySchemes"]
        .as_object()
        .map(|m| m.keys().collect())
        .unwrap_or_default();

    let mut references = Vec::new();
    collect_refs(document, "", &mut references);
    for (at, reference) in &references {
        if let Err(problem) = pointer(document, reference) {
            problems.push(format!("{at}: {problem}"));
        }
    }

    let mut operation_ids = BTreeSet::new();
    for (path, item) in document["paths"].as_object().into_iter().flatten() {
        if !path.starts_with('/') {
            problems.push(format!("path {path} must start with /"));
        }
        let templated: BTreeSet<String> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .map(str::to_owned)
            .collect();
        for key in item.as_object().into_iter().flatten().map(|(k, _)| k) {
            if !METHODS.contains(&key.as_str())
                && !["parameters", "summary", "description"].contains(&key.as_str())
            {
                problems.push(format!("{path}: unexpected key {key}"));
            }
        }
        for method in METHODS {
            let Some(operation) = item.get(method) else {
                continue;
            };
            let at = format!("{} {path}", method.to_ascii_uppercase());
            match operation["operationId"].as_str() {
                Some(id) if operation_ids.insert(id.to_owned()) => {}
                Some(id) => problems.push(format!("{at}: operationId {id} is not unique")),
                None => problems.push(format!("{at}: operationId is missing")),
            }
            let mut in_path = BTreeSet::new();
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                let parameter = match resolve(document, parameter) {
                    Ok(p) => p,
                    Err(e) => {
                        problems.push(format!("{at}: {e}"));
                        continue;
                    }
                };
                let (Some(name), Some(location)) =
                    (parameter["name"].as_str(), parameter["in"].as_str())
                else {
                    problems.push(format!("{at}: a parameter needs `name` and `in`"));
                    continue;
                };
                if !["path", "query", "header", "cookie"].contains(&location) {
                    problems.push(format!("{at}: parameter {name} is in {location}"));
                }
                if location == "path" {
                    if parameter["required"] != true {
                        problems.push(format!("{at}: path parameter {name} must be required"));
                    }
                    in_path.insert(name.to_owned());
                }
            }
            if in_path != templated {
                problems.push(format!(
                    "{at}: path parameters declared {in_path:?}, but the path has {templated:?}"
                ));
            }
            for requirement in operation["security"].as_array().into_iter().flatten() {
                for scheme in requirement
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, _)| k)
                {
                    if !schemes.contains(scheme) {
                        problems.push(format!("{at}: unknown security scheme {scheme}"));
                    }
                }
            }
            match operation["responses"].as_object() {
                Some(responses) if !responses.is_empty() => {
                    for code in responses.keys() {
                        let valid = code == "default"
                            || (code.len() == 3
                                && code
                                    .chars()
                                    .next()
                                    .is_some_and(|c| ('1'..='5').contains(&c))
                                && code[1..].chars().all(|c| c.is_ascii_digit() || c == 'X'));
                        if !valid {
                            problems.push(format!("{at}: response key {code}"));
                        }
                    }
                }
                _ => problems.push(format!("{at}: at least one response is required")),
            }
        }
    }

    problems.extend(link_problems(document));

    let mut schemas = Vec::new();
    collect_schemas(document, "", &mut schemas);
    for (name, schema) in document["components"]["schemas"]
        .as_object()
        .into_iter()
        .flatten()
    {
        schemas.push((format!("/components/schemas/{name}"), schema));
    }
    for (at, schema) in schemas {
        if let Err(problem) = compile(document, schema) {
            problems.push(format!("{at}: {problem}"));
        }
    }
    problems
}

/// Every response `link` (the stateful sequences infra/fuzz-api follows) names an operation of
/// the document, only parameters that operation declares, and a body only where it takes one.
fn link_problems(document: &Value) -> Vec<String> {
    let mut targets = BTreeMap::new();
    for (path, item) in document["paths"].as_object().into_iter().flatten() {
        for method in METHODS {
            if let Some(operation) = item.get(method)
                && let Some(id) = operation["operationId"].as_str()
            {
                let parameters: BTreeSet<String> = operation["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|p| resolve(document, p).ok()?["name"].as_str())
                    .map(str::to_owned)
                    .collect();
                let body = operation.get("requestBody").is_some();
                targets.insert(
                    id.to_owned(),
                    (format!("{method} {path}"), parameters, body),
                );
            }
        }
    }
    let mut problems = Vec::new();
    for (path, item) in document["paths"].as_object().into_iter().flatten() {
        for method in METHODS {
            let responses = item.get(method).map(|o| &o["responses"]);
            for (status, response) in responses.and_then(Value::as_object).into_iter().flatten() {
                for (name, link) in response["links"].as_object().into_iter().flatten() {
                    let at = format!(
                        "{} {path} {status} link {name}",
                        method.to_ascii_uppercase()
                    );
                    let target = link["operationId"].as_str().and_then(|id| targets.get(id));
                    let Some((label, parameters, body)) = target else {
                        problems.push(format!("{at}: operationId names no operation"));
                        continue;
                    };
                    for parameter in link["parameters"]
                        .as_object()
                        .into_iter()
                        .flatten()
                        .map(|(k, _)| k)
                    {
                        if !parameters.contains(parameter) {
                            problems.push(format!("{at}: {label} has no parameter {parameter}"));
                        }
                    }
                    if link.get("requestBody").is_some() && !body {
                        problems.push(format!("{at}: {label} takes no body"));
                    }
                }
            }
        }
    }
    problems
}

fn collect_refs(value: &Value, at: &str, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(object) => {
            for (key, child) in object {
                let here = format!("{at}/{key}");
                match (key.as_str(), child) {
                    ("$ref", Value::String(reference)) => out.push((here, reference.clone())),
                    _ => collect_refs(child, &here, out),
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                collect_refs(child, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// Every `schema` of a parameter, header or media type outside `components/schemas`.
fn collect_schemas<'a>(value: &'a Value, at: &str, out: &mut Vec<(String, &'a Value)>) {
    if let Value::Object(object) = value {
        for (key, child) in object {
            let here = format!("{at}/{key}");
            if key == "schema" {
                out.push((here, child));
            } else if here != "/components/schemas" {
                collect_schemas(child, &here, out);
            }
        }
    }
}

/// The six documents, with their response schemas compiled on first use.
pub struct Contracts {
    documents: BTreeMap<&'static str, Value>,
    compiled: HashMap<String, jsonschema::Validator>,
}

impl Default for Contracts {
    fn default() -> Self {
        Contracts::load()
    }
}

impl Contracts {
    pub fn load() -> Self {
        Contracts {
            documents: SERVICES.iter().map(|(s, _)| (*s, load(s))).collect(),
            compiled: HashMap::new(),
        }
    }

    pub fn document(&self, service: &str) -> &Value {
        self.documents
            .get(service)
            .unwrap_or_else(|| panic!("no OpenAPI document for {service}"))
    }

    /// The service listening on `port` locally.
    pub fn service_of_port(port: u16) -> Option<&'static str> {
        SERVICES.iter().find(|(_, p)| *p == port).map(|(s, _)| *s)
    }

    /// Everything wrong with one response (empty when the document allows it): an undocumented
    /// operation, status or content type, or a body its schema refuses.
    pub fn response_problems(
        &mut self,
        service: &str,
        method: &str,
        path: &str,
        status: u16,
        content_type: Option<&str>,
        body: &str,
    ) -> Vec<String> {
        let Some(document) = self.documents.get(service) else {
            return vec![format!("no OpenAPI document for {service}")];
        };
        let at = format!("{service}: {method} {path} → {status}");
        let Some(template) = match_path(document, path) else {
            return vec![format!("{at}: the path is not documented")];
        };
        let method_key = method.to_ascii_lowercase();
        let operation = &document["paths"][&template][&method_key];
        if operation.is_null() {
            return vec![format!("{at}: {method} {template} is not documented")];
        }
        let responses = &operation["responses"];
        let code = status.to_string();
        let range = format!("{}XX", status / 100);
        let (key, response) = [code.as_str(), range.as_str(), "default"]
            .into_iter()
            .find_map(|k| Some((k.to_owned(), responses.get(k)?)))
            .unzip();
        let (Some(key), Some(response)) = (key, response) else {
            return vec![format!(
                "{at}: status {status} is not documented for {method} {template}"
            )];
        };
        let response = match resolve(document, response) {
            Ok(r) => r,
            Err(e) => return vec![format!("{at}: {e}")],
        };
        let media_type = content_type
            .and_then(|c| c.split(';').next())
            .map(|c| c.trim().to_ascii_lowercase());
        let Some(content) = response["content"].as_object() else {
            return if body.is_empty() {
                Vec::new()
            } else {
                vec![format!("{at}: the document promises no body, got {body:?}")]
            };
        };
        let Some(media_type) = media_type else {
            return vec![format!(
                "{at}: a body of {:?} without a content type",
                content.keys()
            )];
        };
        let Some(media) = content.get(&media_type) else {
            return vec![format!(
                "{at}: content type {media_type} is not documented (documented: {:?})",
                content.keys().collect::<Vec<_>>()
            )];
        };
        let Some(schema) = media.get("schema") else {
            return Vec::new();
        };
        let instance = if media_type == "application/json" || media_type.ends_with("+json") {
            match serde_json::from_str::<Value>(body) {
                Ok(value) => value,
                Err(e) => return vec![format!("{at}: the body is not JSON ({e}): {body}")],
            }
        } else {
            Value::String(body.to_owned())
        };
        let cache_key = format!("{service}|{method_key}|{template}|{key}|{media_type}");
        if !self.compiled.contains_key(&cache_key) {
            match compile(document, schema) {
                Ok(validator) => {
                    self.compiled.insert(cache_key.clone(), validator);
                }
                Err(e) => return vec![format!("{at}: the documented schema {e}")],
            }
        }
        self.compiled[&cache_key]
            .iter_errors(&instance)
            .map(|error| {
                format!(
                    "{at} ({media_type}): at {} {error}; body {instance}",
                    error.instance_path()
                )
            })
            .collect()
    }

    /// Everything the document refuses in a JSON request body (empty when it accepts it), so
    /// the documented request schemas are proven against requests the platform served.
    pub fn request_problems(
        &mut self,
        service: &str,
        method: &str,
        path: &str,
        body: &Value,
    ) -> Vec<String> {
        let Some(document) = self.documents.get(service) else {
            return vec![format!("no OpenAPI document for {service}")];
        };
        let at = format!("{service}: request {method} {path}");
        let Some(template) = match_path(document, path) else {
            return vec![format!("{at}: the path is not documented")];
        };
        let method_key = method.to_ascii_lowercase();
        let Some(request_body) = document["paths"][&template][&method_key].get("requestBody")
        else {
            return vec![format!("{at}: no request body is documented")];
        };
        let schema = match resolve(document, request_body) {
            Ok(b) => &b["content"]["application/json"]["schema"],
            Err(e) => return vec![format!("{at}: {e}")],
        };
        if schema.is_null() {
            return vec![format!(
                "{at}: no application/json request body is documented"
            )];
        }
        let cache_key = format!("{service}|{method_key}|{template}|request");
        if !self.compiled.contains_key(&cache_key) {
            match compile(document, schema) {
                Ok(validator) => {
                    self.compiled.insert(cache_key.clone(), validator);
                }
                Err(e) => return vec![format!("{at}: the documented schema {e}")],
            }
        }
        self.compiled[&cache_key]
            .iter_errors(body)
            .map(|error| format!("{at}: at {} {error}; body {body}", error.instance_path()))
            .collect()
    }

    /// Reads a real response and returns its status, its body (JSON, `Value::String` for other
    /// text, `Null` when empty), and what the document of the service on its port does not
    /// allow in it (nothing when it conforms).
    pub async fn check(
        &mut self,
        method: &str,
        response: reqwest::Response,
    ) -> (u16, Value, Vec<String>) {
        let url = response.url().clone();
        let port = url.port().expect("local services are addressed by port");
        let service = Contracts::service_of_port(port)
            .unwrap_or_else(|| panic!("no service listens on port {port}"));
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response.text().await.expect("the body reads");
        let problems = self.response_problems(
            service,
            method,
            url.path(),
            status,
            content_type.as_deref(),
            &body,
        );
        let problems = problems
            .into_iter()
            .map(|problem| format!("not as events/openapi/{service}.json allows: {problem}"))
            .collect();
        let value = if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&body).unwrap_or(Value::String(body))
        };
        (status, value, problems)
    }
}
