//! Producers emit exactly what their schemas say, and the schemas say exactly what the Rust
//! types are: every sample validates; every field, enum value and branch of every schema is
//! produced by some sample; whatever the Rust types refuse, the schemas refuse too; and the
//! catalog, the schema files and the `impl DomainEvent`s in the source are the same set.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::{Registry, samples, schema_dir};
use finflow_shared::contracts::catalog::{CATALOG, lookup};
use finflow_shared::events::EventEnvelope;

/// The `jsonschema` crate as `Registry::check_envelope`'s engine, compiling each schema once.
struct Engine {
    compiled: RefCell<HashMap<String, jsonschema::Validator>>,
}

impl Engine {
    fn new() -> Self {
        Engine {
            compiled: RefCell::new(HashMap::new()),
        }
    }

    fn validate(&self, schema: &Value, instance: &Value) -> Vec<String> {
        let key = schema.to_string();
        let mut compiled = self.compiled.borrow_mut();
        let validator = compiled.entry(key).or_insert_with(|| {
            jsonschema::validator_for(schema)
                .unwrap_or_else(|e| panic!("schema {} does not compile: {e}", schema["$id"]))
        });
        validator
            .iter_errors(instance)
            .map(|error| format!("{} {error}", error.instance_path()))
            .collect()
    }

    fn accepts(&self, schema: &Value, instance: &Value) -> bool {
        self.validate(schema, instance).is_empty()
    }
}

fn registry() -> Registry {
    Registry::load().expect("events/schemas loads")
}

fn fail_with(problems: Vec<String>) {
    assert!(
        problems.is_empty(),
        "{} problem(s):\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
}

#[test]
fn catalog_and_schema_files_match_one_to_one() {
    let registry = registry();
    let mut problems = Vec::new();
    let catalogued: BTreeSet<(String, u32)> = CATALOG
        .iter()
        .map(|e| (e.event_type.to_owned(), e.version))
        .collect();
    for entry in CATALOG {
        match registry.data_schema(entry.event_type, entry.version) {
            None => problems.push(format!("{entry:?} has no schema {}", entry.schema_file())),
            Some(schema) if schema["x-producer"] != entry.producer => problems.push(format!(
                "{} says producer {} but {entry:?} is produced by {}",
                entry.schema_file(),
                schema["x-producer"],
                entry.producer
            )),
            Some(_) => {}
        }
    }
    for (event_type, version) in registry.data.keys() {
        if !catalogued.contains(&(event_type.clone(), *version)) {
            problems.push(format!(
                "{event_type}.v{version}.json has no event type in the catalog"
            ));
        }
    }
    if CATALOG.len() != catalogued.len() {
        problems.push("the catalog lists a type and version twice".into());
    }
    let all = std::iter::once(("envelope.json".to_owned(), &registry.envelope)).chain(
        registry
            .data
            .iter()
            .map(|((t, v), schema)| (format!("{t}.v{v}.json"), schema)),
    );
    for (name, schema) in all {
        if let Err(error) = jsonschema::meta::validate(schema) {
            problems.push(format!("{name} is not a valid JSON Schema: {error}"));
        }
        if schema["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
            problems.push(format!("{name} is not draft 2020-12"));
        }
        for pointer in open_objects(schema, "") {
            problems.push(format!(
                "{name}: the object at {pointer:?} lacks additionalProperties: false"
            ));
        }
    }
    fail_with(problems);
}

/// Object schemas that would let a producer add fields silently.
fn open_objects(schema: &Value, at: &str) -> Vec<String> {
    let mut open = Vec::new();
    if schema.get("properties").is_some() && schema["additionalProperties"] != false {
        open.push(at.to_owned());
    }
    if let Some(properties) = schema["properties"].as_object() {
        for (name, field) in properties {
            open.extend(open_objects(field, &format!("{at}/{name}")));
        }
    }
    for keyword in ["oneOf", "anyOf", "allOf"] {
        for branch in schema[keyword].as_array().into_iter().flatten() {
            open.extend(open_objects(branch, at));
        }
    }
    if let Some(items) = schema.get("items") {
        open.extend(open_objects(items, &format!("{at}/*")));
    }
    open
}

/// Every `impl DomainEvent for X` in the workspace's Rust source, by type name.
fn domain_event_impls() -> BTreeMap<String, PathBuf> {
    fn walk(dir: &Path, found: &mut BTreeMap<String, PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                for line in text.lines() {
                    let Some(rest) = line.trim_start().strip_prefix("impl DomainEvent for ") else {
                        continue;
                    };
                    let name: String = rest
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    found.insert(name, path.clone());
                }
            }
        }
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut found = BTreeMap::new();
    walk(&root.join("shared/src"), &mut found);
    walk(&root.join("functions"), &mut found);
    found
}

#[test]
fn every_domain_event_in_the_source_is_in_the_catalog() {
    let impls = domain_event_impls();
    assert!(
        impls.len() >= CATALOG.len(),
        "the source scan found only {impls:?}"
    );
    let catalogued: BTreeSet<&str> = CATALOG.iter().map(|e| e.rust_type).collect();
    let mut problems = Vec::new();
    for (name, path) in &impls {
        if !catalogued.contains(name.as_str()) {
            problems.push(format!(
                "{name} ({}) implements DomainEvent but is not in contracts::CATALOG",
                path.display()
            ));
        }
    }
    for name in catalogued {
        if !impls.contains_key(name) {
            problems.push(format!("{name} is in the catalog but no impl was found"));
        }
    }
    fail_with(problems);
}

#[test]
fn every_sample_envelope_conforms_to_its_schemas() {
    let registry = registry();
    let engine = Engine::new();
    let validate = |schema: &Value, instance: &Value| engine.validate(schema, instance);
    let mut problems = Vec::new();
    let samples = samples::all();
    for envelope in &samples {
        let wire: Value = serde_json::from_str(&serde_json::to_string(envelope).unwrap()).unwrap();
        for problem in registry.check_envelope(&wire, &validate) {
            problems.push(format!(
                "{} v{}: {problem} in {}",
                envelope.event_type, envelope.schema_version, wire["data"]
            ));
        }
    }
    let sampled: BTreeSet<(&str, u32)> = samples
        .iter()
        .map(|e| (e.event_type.as_str(), e.schema_version))
        .collect();
    for entry in CATALOG {
        if !sampled.contains(&(entry.event_type, entry.version)) {
            problems.push(format!("{entry:?} has no sample in contracts::samples"));
        }
    }
    fail_with(problems);
}

#[test]
fn samples_round_trip_through_their_rust_types() {
    let mut problems = Vec::new();
    for envelope in samples::all() {
        let entry = lookup(&envelope.event_type, envelope.schema_version).unwrap();
        match (entry.round_trip)(&envelope.data) {
            Ok(back) if back == envelope.data => {}
            Ok(back) => problems.push(format!("{entry:?}: {} came back as {back}", envelope.data)),
            Err(e) => problems.push(format!("{entry:?}: {} does not decode: {e}", envelope.data)),
        }
    }
    fail_with(problems);
}

/// Every field a schema describes, with its schema: properties, and the properties of the
/// branches of `oneOf`.
fn described_fields<'a>(schema: &'a Value, at: &str, out: &mut Vec<(String, &'a Value)>) {
    if let Some(properties) = schema["properties"].as_object() {
        for (name, field) in properties {
            let pointer = format!("{at}/{name}");
            out.push((pointer.clone(), field));
            described_fields(field, &pointer, out);
        }
    }
    for branch in schema["oneOf"].as_array().into_iter().flatten() {
        described_fields(branch, at, out);
    }
}

#[test]
fn samples_produce_every_field_enum_value_and_branch_of_every_schema() {
    let registry = registry();
    let engine = Engine::new();
    let samples = samples::all();
    let mut problems = Vec::new();
    for ((event_type, version), schema) in &registry.data {
        let data: Vec<&Value> = samples
            .iter()
            .filter(|e| &e.event_type == event_type && e.schema_version == *version)
            .map(|e| &e.data)
            .collect();
        let mut fields = Vec::new();
        described_fields(schema, "", &mut fields);
        for (pointer, field) in fields {
            let values: Vec<&Value> = data.iter().filter_map(|d| d.pointer(&pointer)).collect();
            let what = format!("{event_type} v{version} {pointer}");
            if !values.iter().any(|v| !v.is_null()) {
                problems.push(format!("{what}: no sample has a value"));
            }
            let nullable = field["type"]
                .as_array()
                .is_some_and(|types| types.iter().any(|t| t == "null"));
            if nullable && !values.iter().any(|v| v.is_null()) {
                problems.push(format!("{what}: no sample leaves it empty"));
            }
            for allowed in field["enum"].as_array().into_iter().flatten() {
                if !values.contains(&allowed) {
                    problems.push(format!("{what}: no sample has {allowed}"));
                }
            }
            for branch in field["oneOf"].as_array().into_iter().flatten() {
                if !values.iter().any(|v| engine.accepts(branch, v)) {
                    problems.push(format!("{what}: no sample is a {branch}"));
                }
            }
            if field["type"] == "array"
                && !values
                    .iter()
                    .any(|v| v.as_array().is_some_and(|a| !a.is_empty()))
            {
                problems.push(format!("{what}: no sample has items"));
            }
        }
    }
    fail_with(problems);
}

/// Values that break one type or another.
fn mutations() -> Vec<Value> {
    vec![
        Value::Null,
        json!(true),
        json!(0),
        json!(-1),
        json!(1.5),
        json!(256),
        json!(1e30),
        json!(""),
        json!("x"),
        json!("NOT_A_VALUE"),
        json!("1.00001"),
        json!("12345678901234567"),
        json!("0.0000"),
        json!("-5"),
        json!("usd"),
        json!([]),
        json!(["x", 1]),
        json!({}),
        json!({"staff": "7"}),
    ]
}

/// Replaces (or with `None` removes) the field at `pointer`.
fn mutate(value: &Value, pointer: &str, with: Option<&Value>) -> Value {
    let mut out = value.clone();
    let (parent, name) = pointer.rsplit_once('/').unwrap();
    if let Some(Value::Object(map)) = out.pointer_mut(parent) {
        match with {
            Some(v) => {
                map.insert(name.to_owned(), v.clone());
            }
            None => {
                map.remove(name);
            }
        }
    }
    out
}

/// Leaf pointers of a JSON value's objects.
fn pointers(value: &Value, at: &str, out: &mut Vec<String>) {
    if let Value::Object(map) = value {
        for (name, field) in map {
            let pointer = format!("{at}/{name}");
            out.push(pointer.clone());
            pointers(field, &pointer, out);
        }
    }
}

/// Whatever the Rust types refuse, the schema refuses; a missing field is refused by both or
/// by neither. The schema may be stricter than serde (amounts only as strings, ids from 1).
fn compare_with_rust(
    what: &str,
    schema: &Value,
    instance: &Value,
    rust_accepts: &dyn Fn(&Value) -> bool,
    engine: &Engine,
    problems: &mut Vec<String>,
) {
    let mut fields = Vec::new();
    pointers(instance, "", &mut fields);
    for pointer in fields {
        let removed = mutate(instance, &pointer, None);
        let (rust, schema_ok) = (rust_accepts(&removed), engine.accepts(schema, &removed));
        if rust != schema_ok {
            problems.push(format!(
                "{what} without {pointer}: Rust {}, schema {}",
                verdict(rust),
                verdict(schema_ok)
            ));
        }
        for value in mutations() {
            let changed = mutate(instance, &pointer, Some(&value));
            if !rust_accepts(&changed) && engine.accepts(schema, &changed) {
                problems.push(format!(
                    "{what} with {pointer} = {value}: Rust refuses it, the schema accepts it"
                ));
            }
        }
    }
}

fn verdict(accepts: bool) -> &'static str {
    if accepts { "accepts" } else { "refuses" }
}

#[test]
fn the_schemas_refuse_whatever_the_rust_types_refuse() {
    let registry = registry();
    let engine = Engine::new();
    let mut problems = Vec::new();
    let samples = samples::all();
    let mut seen = BTreeSet::new();
    for envelope in &samples {
        let entry = lookup(&envelope.event_type, envelope.schema_version).unwrap();
        // One sample per shape of data (the same keys) is enough.
        let mut keys = Vec::new();
        pointers(&envelope.data, "", &mut keys);
        if !seen.insert((entry.event_type, keys)) {
            continue;
        }
        let schema = registry
            .data_schema(entry.event_type, entry.version)
            .unwrap();
        let rust_accepts = |data: &Value| (entry.round_trip)(data).is_ok();
        compare_with_rust(
            &format!("{entry:?}"),
            schema,
            &envelope.data,
            &rust_accepts,
            &engine,
            &mut problems,
        );
    }
    // The envelope itself, around data that stays valid.
    let wire = serde_json::to_value(&samples[1]).unwrap();
    assert!(
        !wire["causation_id"].is_null(),
        "the second sample has a cause"
    );
    let mut shell = wire.clone();
    shell["data"] = json!({});
    let rust_accepts = |envelope: &Value| {
        serde_json::from_value::<EventEnvelope>(envelope.clone()).is_ok_and(|e| e.data.is_object())
    };
    compare_with_rust(
        "envelope",
        &registry.envelope,
        &shell,
        &rust_accepts,
        &engine,
        &mut problems,
    );
    fail_with(problems);
}

#[test]
fn the_schemas_refuse_what_producers_must_not_emit() {
    let registry = registry();
    let engine = Engine::new();
    let on_hold = samples::all()
        .into_iter()
        .find(|e| e.event_type == "payment.on_hold")
        .unwrap();
    let schema = registry.data_schema("payment.on_hold", 1).unwrap();
    assert!(engine.accepts(schema, &on_hold.data));
    let refused = [
        ("an extra field", "/extra", json!("sneaked in")),
        ("an amount as a JSON number", "/amount", json!(12.5)),
        ("five decimals", "/amount", json!("1.00001")),
        (
            "seventeen integer digits",
            "/amount",
            json!("12345678901234567"),
        ),
        ("a zero amount", "/amount", json!("0.0000")),
        ("a negative amount", "/amount", json!("-1.0000")),
        ("an unknown status", "/status", json!("ON_ICE")),
        ("a lower-case status", "/status", json!("on_hold")),
        ("an unsupported currency", "/currency", json!("XBT")),
        ("a negative id", "/payment_id", json!(-1)),
    ];
    let mut problems = Vec::new();
    for (what, pointer, value) in refused {
        let data = mutate(&on_hold.data, pointer, Some(&value));
        if engine.accepts(schema, &data) {
            problems.push(format!("payment.on_hold accepts {what}: {data}"));
        }
    }
    for (what, value) in [
        ("no description", None),
        ("a null description", Some(Value::Null)),
        (
            "the largest amount",
            Some(json!(finflow_shared::money::MAX)),
        ),
    ] {
        let pointer = if what.contains("amount") {
            "/amount"
        } else {
            "/description"
        };
        let data = mutate(&on_hold.data, pointer, value.as_ref());
        if !engine.accepts(schema, &data) {
            problems.push(format!("payment.on_hold refuses {what}: {data}"));
        }
    }
    let mut envelope = serde_json::to_value(&on_hold).unwrap();
    envelope["producer"] = json!("wallet");
    let found = registry.check_envelope(&envelope, &|s, i| engine.validate(s, i));
    if !found.iter().any(|p| p.contains("producer")) {
        problems.push(format!("a payment event from wallet passes: {found:?}"));
    }
    envelope["producer"] = json!("payment");
    envelope["schema_version"] = json!(9);
    let found = registry.check_envelope(&envelope, &|s, i| engine.validate(s, i));
    if !found.iter().any(|p| p.contains("no schema")) {
        problems.push(format!("an unknown version passes: {found:?}"));
    }
    fail_with(problems);
}

#[test]
fn samples_cover_every_catalog_type_and_show_the_wire_format() {
    // A reading aid as much as a test: what the schemas describe, on the wire.
    let samples = samples::all();
    let kinds: BTreeMap<&str, usize> = samples.iter().fold(BTreeMap::new(), |mut m, e| {
        *m.entry(e.event_type.as_str()).or_default() += 1;
        m
    });
    assert_eq!(kinds.len(), CATALOG.len(), "{kinds:?}");
    let reviewed = samples
        .iter()
        .find(|e| e.event_type == "kyc.decision_recorded" && e.data["decided_by"].is_object())
        .unwrap();
    assert_eq!(reviewed.data["decided_by"], json!({ "staff": 7 }));
    assert!(
        samples
            .iter()
            .any(|e| e.data["amount"] == finflow_shared::money::MAX)
    );
    assert!(schema_dir().join("envelope.json").exists());
}
