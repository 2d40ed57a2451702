//! The OpenAPI documents (`events/openapi/<service>.json`) against the code and template.yaml,
//! with no platform running:
//! - each is a sound OpenAPI 3.1 document (required fields, unique operation ids, declared path
//!   parameters, every `$ref` resolving, every schema compiling with `jsonschema`), and the
//!   components every API shares (Problem, Money, ...) are the same in all six;
//! - route coverage both ways: every HTTP route template.yaml declares and every route the
//!   services' routers declare (`.route("...", get(...))` in `functions/<service>/src`) is
//!   documented, and every documented operation is one of them (or into_app's `GET /health`,
//!   or the local port's `GET /openapi.json`);
//! - what each handler takes matches what its operation documents: a `Caller` ⇔ bearer
//!   security, an `Input` body ⇔ a request body, `PathId` ⇔ an `{id}` path parameter,
//!   `QueryParams` ⇔ query parameters, `MaybeIdempotencyKey` ⇔ the `Idempotency-Key` header.
//!
//! `tests/openapi_conformance.rs` checks real responses against the documents.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use finflow_system_tests::openapi::{self, SERVICES, canonical_path, operations, resolve};
use finflow_tools::template::Template;
use serde_json::Value;

/// Where a service declares its web pages (shared/src/http/app.rs `PAGES`): `/pages/x` is
/// served as `/x`.
const PAGES: &str = "/pages";

/// Components every document carries, identical in all six.
const SHARED_COMPONENTS: [&str; 12] = [
    "/components/schemas/Problem",
    "/components/schemas/FieldError",
    "/components/schemas/Money",
    "/components/schemas/PositiveMoney",
    "/components/schemas/AmountInput",
    "/components/schemas/Timestamp",
    "/components/schemas/HealthReport",
    "/components/schemas/HealthCheck",
    "/components/responses",
    "/components/parameters",
    "/components/securitySchemes",
    "/x-path-aliases",
];

/// A route some source declares: method, documented path, and the handler serving it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Route {
    method: String,
    path: String,
}

fn route(method: &str, path: &str) -> Route {
    Route {
        method: method.to_ascii_uppercase(),
        path: path.to_owned(),
    }
}

#[test]
fn openapi_every_document_is_sound_openapi_3_1() {
    let mut problems = Vec::new();
    let reference = openapi::load("auth");
    for (service, _) in SERVICES {
        let document = openapi::load(service);
        problems.extend(
            openapi::structural_problems(&document)
                .into_iter()
                .map(|p| format!("{service}: {p}")),
        );
        for pointer in SHARED_COMPONENTS {
            if document.pointer(pointer).is_none()
                || document.pointer(pointer) != reference.pointer(pointer)
            {
                problems.push(format!("{service}: {pointer} differs from auth's (or is missing); shared components are kept identical"));
            }
        }
        if operations(&document).len() < 4 {
            problems.push(format!(
                "{service}: only {} operations",
                operations(&document).len()
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Amounts are never documented as binary floats: every `Money`-like output is a string, and a
/// `number` schema appears only in `AmountInput` (exact JSON numbers on input) and in health
/// latencies.
#[test]
fn openapi_amounts_are_strings_on_output() {
    let mut problems = Vec::new();
    for (service, _) in SERVICES {
        let document = openapi::load(service);
        let mut numbers = Vec::new();
        find_numbers(&document, "", &mut numbers);
        for at in numbers {
            let allowed = at.starts_with("/components/schemas/AmountInput/")
                || at == "/components/schemas/HealthCheck/properties/latency_ms";
            if !allowed {
                problems.push(format!("{service}: {at} is a JSON number schema"));
            }
        }
        for (name, schema) in document["components"]["schemas"].as_object().unwrap() {
            for (field, property) in schema["properties"].as_object().into_iter().flatten() {
                let amount = [
                    "amount",
                    "balance",
                    "volume",
                    "balance_after",
                    "sent_volume",
                ]
                .iter()
                .any(|a| field == a || field.ends_with(&format!("_{a}")));
                if matches!(property["type"].as_str(), Some("array" | "object")) {
                    continue;
                }
                let reference = property["$ref"].as_str().unwrap_or_default();
                if amount && !reference.ends_with("Money") && !reference.ends_with("AmountInput") {
                    problems.push(format!(
                        "{service}: {name}.{field} is an amount but not Money: {property}"
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

fn find_numbers(value: &Value, at: &str, out: &mut Vec<String>) {
    match value {
        Value::Object(object) => {
            if object.get("type") == Some(&Value::String("number".into())) {
                out.push(at.to_owned());
            }
            for (key, child) in object {
                find_numbers(child, &format!("{at}/{key}"), out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                find_numbers(child, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn openapi_documents_every_route_of_the_template_and_the_routers_and_no_other() {
    let template = template_routes();
    let code = code_routes();
    let mut problems = Vec::new();
    for (service, _) in SERVICES {
        let document = openapi::load(service);
        let documented: BTreeSet<Route> = operations(&document)
            .into_iter()
            .map(|(method, path)| Route { method, path })
            .collect();
        let declared = template.get(service).cloned().unwrap_or_default();
        let served: BTreeSet<Route> = code
            .get(service)
            .map(|routes| routes.keys().cloned().collect())
            .unwrap_or_default();
        let health = route("GET", "/health");
        // The document at the root of the service's own local port (infra/local's gateway).
        let root_document = route("GET", "/openapi.json");
        for missing in declared.difference(&documented) {
            if is_static_asset(&missing.path) {
                continue;
            }
            problems.push(format!(
                "{service}: template.yaml declares {} {} but events/openapi/{service}.json does not document it",
                missing.method, missing.path
            ));
        }
        for missing in served.difference(&documented) {
            if is_static_asset(&missing.path) {
                continue;
            }
            problems.push(format!(
                "{service}: the router serves {} {} but events/openapi/{service}.json does not document it",
                missing.method, missing.path
            ));
        }
        for extra in &documented {
            let aliases = [&health, &root_document];
            if !aliases.contains(&extra) && !declared.contains(extra) && !served.contains(extra) {
                problems.push(format!(
                    "{service}: events/openapi/{service}.json documents {} {}, which neither template.yaml nor the router has",
                    extra.method, extra.path
                ));
            }
        }
        if !documented.contains(&health) {
            problems.push(format!(
                "{service}: GET /health (into_app) is not documented"
            ));
        }
        if declared.len() < 3 || served.len() < 2 {
            problems.push(format!(
                "{service}: found only {} template routes and {} router routes; the readers lost them",
                declared.len(),
                served.len()
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Static files a web page loads (`/dashboard/app.js`, `/dashboard/app.css`), outside `/api`
/// and named with a file extension, need no OpenAPI operation, in template.yaml or in a
/// router; the page itself (`/dashboard`) does.
fn is_static_asset(path: &str) -> bool {
    !path.starts_with("/api/")
        && path
            .rsplit('/')
            .next()
            .is_some_and(|last| last.contains('.'))
}

#[test]
fn openapi_each_operation_documents_what_its_handler_takes() {
    let code = code_routes();
    let mut problems = Vec::new();
    for (service, _) in SERVICES {
        let document = openapi::load(service);
        for (route, handler) in code.get(service).into_iter().flatten() {
            let Some(operation) =
                document["paths"][&route.path].get(route.method.to_ascii_lowercase())
            else {
                continue; // reported by the coverage test
            };
            let at = format!(
                "{service}: {} {} ({})",
                route.method, route.path, handler.name
            );
            let parameters: Vec<&Value> = operation["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| resolve(&document, p).ok())
                .collect();
            let has_parameter = |location: &str, name: Option<&str>| {
                parameters.iter().any(|p| {
                    p["in"] == location && name.is_none_or(|n| p["name"].as_str() == Some(n))
                })
            };
            let secured = operation["security"]
                .as_array()
                .is_some_and(|s| s.iter().any(|r| r.get("bearer").is_some()));
            let checks = [
                ("a Caller (bearer token)", handler.takes("Caller"), secured),
                (
                    "an Input body",
                    handler.takes("Input("),
                    operation.get("requestBody").is_some(),
                ),
                (
                    "a PathId ({id})",
                    handler.takes("PathId"),
                    has_parameter("path", Some("id")),
                ),
                (
                    "QueryParams",
                    handler.takes("QueryParams"),
                    has_parameter("query", None),
                ),
                (
                    "MaybeIdempotencyKey",
                    handler.takes("MaybeIdempotencyKey"),
                    has_parameter("header", Some("Idempotency-Key")),
                ),
            ];
            for (what, takes, documented) in checks {
                if takes != documented {
                    problems.push(format!(
                        "{at}: the handler {} {what}, but the operation {} it",
                        if takes { "takes" } else { "does not take" },
                        if documented {
                            "documents"
                        } else {
                            "does not document"
                        },
                    ));
                }
            }
            if secured && operation["responses"].get("401").is_none() {
                problems.push(format!("{at}: a bearer operation must document 401"));
            }
            if operation["x-staff-only"] == true && operation["responses"].get("403").is_none() {
                problems.push(format!("{at}: a staff-only operation must document 403"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// ---------------------------------------------------------------------------- template.yaml

/// Service → the HTTP routes template.yaml gives its functions, `/api/v1/` folded into `/api/`.
fn template_routes() -> BTreeMap<String, BTreeSet<Route>> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/template.yaml");
    let template = Template::parse(&std::fs::read_to_string(path).expect("template.yaml reads"))
        .expect("template.yaml parses");
    let mut routes: BTreeMap<String, BTreeSet<Route>> = BTreeMap::new();
    for function in &template.functions {
        for (method, path) in &function.http_routes {
            routes
                .entry(function.service.clone())
                .or_default()
                .insert(route(method, &canonical_path(path)));
        }
    }
    routes
}

// ---------------------------------------------------------------------------- the routers

/// A handler function, and the text of its parameter list.
#[derive(Debug, Clone)]
struct Handler {
    name: String,
    signature: String,
}

impl Handler {
    fn takes(&self, extractor: &str) -> bool {
        self.signature.contains(extractor)
    }
}

/// Service → every `.route("<path>", <method>(<handler>)...)` in `functions/<service>/src`, at
/// the path the app serves it (shared/src/http/app.rs: under `/api`, or at the root for routes
/// declared under `/pages`). Routes built from non-literal paths (the health route) are
/// template.yaml's to declare.
fn code_routes() -> BTreeMap<String, BTreeMap<Route, Handler>> {
    let mut routes: BTreeMap<String, BTreeMap<Route, Handler>> = BTreeMap::new();
    for (service, _) in SERVICES {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("functions")
            .join(service)
            .join("src");
        let mut files = Vec::new();
        rust_files(&root, &mut files);
        let sources: Vec<(std::path::PathBuf, String)> = files
            .into_iter()
            .map(|file| {
                let source = std::fs::read_to_string(&file).expect("source reads");
                (file, source)
            })
            .collect();
        for (file, source) in &sources {
            for (path, methods) in route_calls(source) {
                let served = match path.strip_prefix(PAGES) {
                    Some(page) => page.to_owned(),
                    None => format!("/api{path}"),
                };
                for (method, handler) in methods {
                    let signature = std::iter::once(source)
                        .chain(sources.iter().map(|(_, s)| s))
                        .find_map(|s| handler_signature(s, &handler))
                        .unwrap_or_else(|| {
                            panic!(
                                "{}: no `async fn {handler}(` for {method} {path}",
                                file.display()
                            )
                        });
                    routes.entry(service.to_owned()).or_default().insert(
                        route(&method, &served),
                        Handler {
                            name: handler,
                            signature,
                        },
                    );
                }
            }
        }
    }
    routes
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("source dir reads").flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The text from `open` (an opening parenthesis) to its matching close, exclusive.
fn parenthesized(text: &str, open: usize) -> Option<&str> {
    let mut depth = 0;
    for (i, c) in text[open..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(&text[open + 1..open + i]);
                }
            }
            _ => {}
        }
    }
    None
}

/// Each `.route("<literal>", ...)` call: its path and its (method, handler) pairs.
fn route_calls(source: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut calls = Vec::new();
    let mut from = 0;
    while let Some(found) = source[from..].find(".route(") {
        let open = from + found + ".route".len();
        from = open + 1;
        let Some(arguments) = parenthesized(source, open) else {
            continue;
        };
        let arguments = arguments.trim_start();
        let Some(literal) = arguments.strip_prefix('"') else {
            continue;
        };
        let Some(end) = literal.find('"') else {
            continue;
        };
        let path = literal[..end].to_owned();
        let rest = &literal[end + 1..];
        let mut methods = Vec::new();
        for method in ["get", "post", "put", "delete", "patch"] {
            let mut at = 0;
            while let Some(hit) = rest[at..].find(&format!("{method}(")) {
                let start = at + hit;
                at = start + method.len() + 1;
                let boundary = rest[..start]
                    .chars()
                    .next_back()
                    .is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
                if !boundary {
                    continue;
                }
                let handler: String = rest[at..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !handler.is_empty() {
                    methods.push((method.to_owned(), handler));
                }
            }
        }
        calls.push((path, methods));
    }
    calls
}

/// The parameter list of `async fn <name>(...)` in `source`.
fn handler_signature(source: &str, name: &str) -> Option<String> {
    let start = source.find(&format!("async fn {name}("))?;
    let open = start + format!("async fn {name}").len();
    parenthesized(source, open).map(str::to_owned)
}

#[test]
fn openapi_route_reader_reads_methods_and_handlers() {
    let source = r#"
        Router::new()
            .route("/a/{id}", get(one).put(two))
            .route(
                "/pages/board",
                get(page),
            )
            .route(&format!("/{service}/health"), get(health))
    "#;
    assert_eq!(
        route_calls(source),
        vec![
            (
                "/a/{id}".to_owned(),
                vec![("get".into(), "one".into()), ("put".into(), "two".into())]
            ),
            (
                "/pages/board".to_owned(),
                vec![("get".into(), "page".into())]
            ),
        ]
    );
    assert!(is_static_asset("/dashboard/app.js"));
    assert!(!is_static_asset("/dashboard"));
    assert!(!is_static_asset("/api/wallet/config/precision"));
}

#[test]
fn openapi_validator_refuses_what_the_documents_do_not_allow() {
    let mut contracts = openapi::Contracts::load();
    let balance = r#"{"wallet_id": 7, "currency": "USD", "balance": "12.5000", "available_balance": "12.5000", "held_balance": "0.0000", "precision": 4}"#;
    let mut check = |method: &str, path: &str, status: u16, content_type: &str, body: &str| {
        contracts.response_problems("wallet", method, path, status, Some(content_type), body)
    };
    assert_eq!(
        check(
            "GET",
            "/api/v1/wallet/7/balance",
            200,
            "application/json",
            balance
        ),
        Vec::<String>::new()
    );
    let float = balance.replace(r#""balance": "12.5000""#, r#""balance": 12.5"#);
    assert!(
        !check(
            "GET",
            "/api/wallet/7/balance",
            200,
            "application/json",
            &float
        )
        .is_empty()
    );
    let extra = balance.replace('}', r#", "secret": 1}"#);
    assert!(
        !check(
            "GET",
            "/api/wallet/7/balance",
            200,
            "application/json",
            &extra
        )
        .is_empty()
    );
    let problem = r#"{"type": "urn:finflow:problem:unauthorized", "title": "Unauthorized", "status": 401, "detail": "Not authenticated"}"#;
    assert!(
        check(
            "GET",
            "/api/wallet/7/balance",
            401,
            "application/problem+json",
            problem
        )
        .is_empty()
    );
    assert!(
        !check(
            "GET",
            "/api/wallet/7/balance",
            401,
            "application/json",
            problem
        )
        .is_empty()
    );
    assert!(!check("DELETE", "/api/wallet/7", 200, "application/json", "{}").is_empty());
    assert!(
        !check(
            "GET",
            "/api/wallet/7/nothing",
            200,
            "application/json",
            "{}"
        )
        .is_empty()
    );
    assert_eq!(
        openapi::match_path(&openapi::load("payment"), "/api/v1/payment/history?limit=5")
            .as_deref(),
        Some("/api/payment/history")
    );
    assert_eq!(
        openapi::match_path(&openapi::load("payment"), "/api/payment/12").as_deref(),
        Some("/api/payment/{id}")
    );
}

/// Every `Currency` of the documents lists exactly the codes the server holds wallets in, in
/// upper and in lower case.
#[test]
fn openapi_currencies_are_the_supported_ones() {
    let upper = finflow_shared::currency::SUPPORTED.map(str::to_owned);
    let supported: Vec<String> = upper
        .iter()
        .cloned()
        .chain(upper.iter().map(|code| code.to_ascii_lowercase()))
        .collect();
    let mut seen = 0;
    for (service, _) in SERVICES {
        let document = openapi::load(service);
        if let Some(currency) = document.pointer("/components/schemas/Currency") {
            let listed: Vec<String> = currency["enum"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect();
            assert_eq!(listed, supported, "{service}: Currency");
            seen += 1;
        }
    }
    assert!(seen >= 3, "wallet, payment and reporting name currencies");
}

/// Each list's `cursor` pattern against the server's own encoding (`shared::dynamo`): every
/// cursor a list issues matches it, and every value it admits is one the list accepts, so
/// a generator drawing from the pattern sends only cursors the server takes.
#[test]
fn openapi_cursor_patterns_admit_exactly_the_cursors_of_their_list() {
    use base64::Engine;
    use finflow_shared::dynamo::decode_cursor;
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let encode = |key: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key);
    // The sort-key prefix of each list, as its store pages it.
    let lists = [
        ("wallet", "/api/wallet/{id}/transactions", "TX#"),
        ("payment", "/api/payment/history", "PAY#"),
        ("notification", "/api/notification/list", "NOTIFICATION#"),
        ("kyc", "/api/aml/cases", "CASE#"),
        ("reporting", "/api/reports/compliance", "PAYMENT#"),
    ];
    for (service, path, prefix) in lists {
        let document = openapi::load(service);
        let parameter = document["paths"][path]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "cursor")
            .unwrap_or_else(|| panic!("{path} has no cursor"));
        let pattern = openapi::compile(&document, &parameter["schema"]).unwrap();
        let admits = |cursor: &str| pattern.is_valid(&Value::String(cursor.to_owned()));
        // Issued: the prefix and any ASCII after it (keys are ids and timestamps).
        for tail in [
            "",
            "0",
            "00000000000000000042",
            "2026-11-30T10:00:00.123Z#7",
            "~\x7f\x00",
        ] {
            let cursor = encode(format!("{prefix}{tail}").as_bytes());
            assert!(
                admits(&cursor),
                "{path}: {cursor} ({prefix}{tail:?}) is not admitted"
            );
        }
        for a in 0..128u8 {
            for b in 0..128u8 {
                let cursor = encode(&[prefix.as_bytes(), &[a, b]].concat());
                assert!(admits(&cursor), "{path}: {cursor} is not admitted");
            }
        }
        // Admitted: every string of up to 3 characters past the prefix's whole groups.
        let head = encode(&prefix.as_bytes()[..prefix.len() / 3 * 3]);
        let mut tails = vec![String::new()];
        for _ in 0..3 {
            let longer: Vec<String> = tails
                .iter()
                .filter(|t| t.len() == tails.last().unwrap().len())
                .flat_map(|t| ALPHABET.iter().map(move |c| format!("{t}{}", *c as char)))
                .collect();
            tails.extend(longer);
        }
        let mut admitted = 0;
        for tail in &tails {
            let cursor = format!("{head}{tail}");
            if admits(&cursor) {
                admitted += 1;
                assert!(
                    decode_cursor(&cursor, prefix).is_ok(),
                    "{path}: {cursor} is admitted but not a cursor of this list"
                );
            }
        }
        assert!(admitted > 0, "{path}: nothing tried was admitted");
        assert!(!admits(""), "{path}: an empty cursor is admitted");
    }
}
