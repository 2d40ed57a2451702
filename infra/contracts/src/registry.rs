//! The schemas as files: loading them, finding a field in one, and checking an envelope or a
//! consumer's declarations against them.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value};

use crate::{compat, samples, schema_dir};
use finflow_shared::contracts::catalog;
use finflow_shared::contracts::{EventRead, Field, Use};

/// A JSON Schema engine: the messages of every violation of `schema` by `instance`.
pub type Validate<'a> = &'a dyn Fn(&Value, &Value) -> Vec<String>;

/// Every schema in `events/schemas/`.
#[derive(Debug, Clone)]
pub struct Registry {
    /// `envelope.json`.
    pub envelope: Value,
    /// `<type>.v<version>.json`, by type and version.
    pub data: BTreeMap<(String, u32), Value>,
}

impl Registry {
    /// The repository's schemas.
    pub fn load() -> Result<Registry, String> {
        Registry::load_from(&schema_dir())
    }

    pub fn load_from(dir: &Path) -> Result<Registry, String> {
        let entries =
            std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
        let mut files = Vec::new();
        for entry in entries {
            let path = entry.map_err(|e| e.to_string())?.path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_owned();
            if !name.ends_with(".json") {
                continue;
            }
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            files.push((name, text));
        }
        Registry::from_files(files)
    }

    /// The registry of schema files given as (file name, text): `envelope.json` and
    /// `<type>.v<version>.json` (from a directory, or from a git tree).
    pub fn from_files(
        files: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Registry, String> {
        let mut envelope = None;
        let mut data = BTreeMap::new();
        for (name, text) in files {
            let schema: Value =
                serde_json::from_str(&text).map_err(|e| format!("{name} is not JSON: {e}"))?;
            if name == "envelope.json" {
                envelope = Some(schema);
                continue;
            }
            let (event_type, version) = parse_schema_file(&name)
                .ok_or_else(|| format!("{name}: not <type>.v<version>.json"))?;
            if schema["x-event-type"] != event_type.as_str() || schema["x-version"] != version {
                return Err(format!(
                    "{name} says it is {} v{}",
                    schema["x-event-type"], schema["x-version"]
                ));
            }
            data.insert((event_type, version), schema);
        }
        Ok(Registry {
            envelope: envelope.ok_or("envelope.json is missing")?,
            data,
        })
    }

    pub fn data_schema(&self, event_type: &str, version: u32) -> Option<&Value> {
        self.data.get(&(event_type.to_owned(), version))
    }

    /// Everything wrong with one serialized envelope: its shape, an event type or version
    /// without a schema, a producer other than the catalog's, and its data against the
    /// schema of its type and version. Empty when it conforms.
    pub fn check_envelope(&self, envelope: &Value, validate: Validate<'_>) -> Vec<String> {
        let mut problems: Vec<String> = validate(&self.envelope, envelope)
            .into_iter()
            .map(|problem| format!("envelope: {problem}"))
            .collect();
        let (Some(event_type), Some(version)) = (
            envelope["event_type"].as_str(),
            envelope["schema_version"]
                .as_u64()
                .and_then(|v| u32::try_from(v).ok()),
        ) else {
            return problems;
        };
        match catalog::lookup(event_type, version) {
            Some(entry) if envelope["producer"] != entry.producer => problems.push(format!(
                "producer {} but the catalog says {} produces {event_type}",
                envelope["producer"], entry.producer
            )),
            Some(_) => {}
            None => problems.push(format!("{event_type} v{version} is not in the catalog")),
        }
        match self.data_schema(event_type, version) {
            Some(schema) => problems.extend(
                validate(schema, &envelope["data"])
                    .into_iter()
                    .map(|problem| format!("data: {problem}")),
            ),
            None => problems.push(format!(
                "no schema {}",
                catalog::schema_file(event_type, version)
            )),
        }
        problems
    }

    /// Everything wrong with what one consumer declares it reads: unknown types or versions,
    /// fields the schema does not have, fields it decodes without declaring them (for an
    /// `EventRead::of`, the declared fields of every sample event, and nothing else, must
    /// decode), and claims about how it uses them that its decoding or the schema contradict:
    /// - an enum field it reads must say how (for a `whole` read: every enum field of the
    ///   schema must be listed); a field it `matches` on lists exactly the schema's values
    ///   (one it does not list is a value the producer may send and it does not handle), and
    ///   each of them decodes;
    /// - a money field must be declared `money` with at least the schema's decimal places,
    ///   and an amount with that many places decodes;
    /// - an `optional` field may be left out of every sample and it still decodes.
    pub fn check_reads(&self, consumer: &str, reads: &[EventRead]) -> Vec<String> {
        let mut problems = Vec::new();
        if reads.is_empty() {
            problems.push(format!("{consumer} declares no events it reads"));
        }
        for (i, read) in reads.iter().enumerate() {
            let what = format!("{consumer} reads {} v{}", read.event_type, read.version);
            if reads[..i]
                .iter()
                .any(|r| r.event_type == read.event_type && r.version == read.version)
            {
                problems.push(format!("{what}: declared twice"));
            }
            let Some(schema) = self.data_schema(read.event_type, read.version) else {
                problems.push(format!(
                    "{what}: no schema {}",
                    catalog::schema_file(read.event_type, read.version)
                ));
                continue;
            };
            let file = catalog::schema_file(read.event_type, read.version);
            if read.fields.is_empty() && !read.whole {
                problems.push(format!("{what}: declares no fields"));
            }
            let samples: Vec<Value> = samples::all()
                .into_iter()
                .filter(|s| s.event_type == read.event_type && s.schema_version == read.version)
                .map(|s| s.data)
                .collect();
            if samples.is_empty() {
                problems.push(format!("{what}: no sample event to check it with"));
            }
            for (j, field) in read.fields.iter().enumerate() {
                if read.fields[..j].iter().any(|f| f.pointer == field.pointer) {
                    problems.push(format!("{what}: {} declared twice", field.pointer));
                }
                match schema_at(schema, field.pointer).filter(|_| field.pointer.starts_with('/')) {
                    Some(field_schema) => problems.extend(
                        check_use(read, field, field_schema, &samples)
                            .into_iter()
                            .map(|p| format!("{what}: {p}")),
                    ),
                    None => problems.push(format!(
                        "{what}: {} is not a field of {file}",
                        field.pointer
                    )),
                }
            }
            if read.whole {
                for (pointer, field_schema) in fields_of(schema) {
                    let declared = read.fields.iter().any(|f| f.pointer == pointer);
                    if !declared && field_schema.get("enum").is_some() {
                        problems.push(format!(
                            "{what}: decodes {pointer}, an enum, without saying how it uses it \
                             (Field::matches with the values it handles, ::value, ::decoded)"
                        ));
                    }
                    if !declared && money_pattern(field_schema).is_some() {
                        problems.push(format!(
                            "{what}: decodes {pointer}, an amount, without saying the decimal \
                             places it keeps (Field::money)"
                        ));
                    }
                }
                continue;
            }
            for sample in &samples {
                let pointers: Vec<&str> = read.fields.iter().map(|f| f.pointer).collect();
                let visible = project(sample, &pointers);
                if let Err(error) = (read.decode)(&visible) {
                    problems.push(format!(
                        "{what}: it decodes more than it declares ({error}) from {visible}"
                    ));
                    break;
                }
            }
        }
        problems
    }
}

/// The decimal places of a money field's schema (a string whose pattern allows `\.\d{1,N}`).
fn money_pattern(schema: &Value) -> Option<u32> {
    schema["pattern"].as_str().and_then(compat::money_scale)
}

/// Every field of `schema` as (pointer, schema): properties, items (`*`), and the properties
/// of `oneOf`/`anyOf`/`allOf` branches.
fn fields_of(schema: &Value) -> Vec<(String, &Value)> {
    fn walk<'a>(prefix: &str, schema: &'a Value, out: &mut Vec<(String, &'a Value)>) {
        if let Some(properties) = schema["properties"].as_object() {
            for (name, field) in properties {
                let pointer = format!("{prefix}/{}", name.replace('~', "~0").replace('/', "~1"));
                out.push((pointer.clone(), field));
                walk(&pointer, field, out);
            }
        }
        if let Some(items) = schema.get("items") {
            walk(&format!("{prefix}/*"), items, out);
        }
        for keyword in ["oneOf", "anyOf", "allOf"] {
            for branch in schema[keyword].as_array().into_iter().flatten() {
                walk(prefix, branch, out);
            }
        }
    }
    let mut out = Vec::new();
    walk("", schema, &mut out);
    out
}

/// What is wrong with how `read` says it uses `field`, whose schema is `field_schema`.
fn check_use(
    read: &EventRead,
    field: &Field,
    field_schema: &Value,
    samples: &[Value],
) -> Vec<String> {
    let mut problems = Vec::new();
    let pointer = field.pointer;
    // Decodes `sample` with the field set to `value` (`None`: left out).
    let decodes_with = |value: Option<&Value>| -> Option<String> {
        let sample = samples.iter().find(|s| s.pointer(pointer).is_some())?;
        let mut sample = sample.clone();
        let (parent, name) = pointer.rsplit_once('/')?;
        let Some(Value::Object(object)) = sample.pointer_mut(parent) else {
            return None;
        };
        match value {
            Some(value) => object.insert(name.to_owned(), value.clone()),
            None => object.remove(name),
        };
        (read.decode)(&sample).err()
    };
    let scale = money_pattern(field_schema);
    match (field.usage, scale) {
        (Use::Money { scale: kept }, Some(allowed)) => {
            if kept < allowed {
                problems.push(format!(
                    "keeps {pointer} with {kept} decimal places but the schema allows {allowed}"
                ));
            }
            let amount = format!("1.{}", "1".repeat(kept as usize));
            if let Some(error) = decodes_with(Some(&Value::String(amount.clone()))) {
                problems.push(format!(
                    "says it keeps {pointer} with {kept} decimal places, but {amount} does not \
                     decode: {error}"
                ));
            }
        }
        (Use::Money { .. }, None) => problems.push(format!(
            "declares {pointer} as money, which the schema does not"
        )),
        (_, Some(allowed)) => problems.push(format!(
            "{pointer} is an amount with {allowed} decimal places: declare \
             Field::money(\"{pointer}\", {allowed})"
        )),
        _ => {}
    }
    if let Use::Matches(handled) = field.usage {
        if let Some(values) = field_schema["enum"].as_array() {
            let values: Vec<&str> = values.iter().filter_map(Value::as_str).collect();
            for value in handled.iter().filter(|v| !values.contains(v)) {
                problems.push(format!(
                    "matches {value} on {pointer}, which the schema does not allow"
                ));
            }
            for value in values.iter().filter(|v| !handled.contains(v)) {
                problems.push(format!(
                    "does not handle {value}, which the schema allows in {pointer}: handle it \
                     and list it in Field::matches"
                ));
            }
        }
        for value in handled {
            if let Some(error) = decodes_with(Some(&Value::String((*value).to_owned()))) {
                problems.push(format!(
                    "says it handles {value} in {pointer}, but that does not decode: {error}"
                ));
            }
        }
    }
    if field.optional
        && let Some(error) = decodes_with(None)
    {
        problems.push(format!(
            "says it accepts {pointer} missing, but it does not decode without it: {error}"
        ));
    }
    problems
}

/// `<type>.v<version>.json` → (type, version).
fn parse_schema_file(name: &str) -> Option<(String, u32)> {
    let stem = name.strip_suffix(".json")?;
    let (event_type, version) = stem.rsplit_once(".v")?;
    Some((event_type.to_owned(), version.parse().ok()?))
}

/// The schema of the field at `pointer` (`/status`, `/decided_by/staff`, `/reasons/*`) inside
/// `schema`, following `properties`, `items` and the branches of `oneOf`/`anyOf`/`allOf`.
pub fn schema_at<'a>(schema: &'a Value, pointer: &str) -> Option<&'a Value> {
    let Some(rest) = pointer.strip_prefix('/') else {
        return pointer.is_empty().then_some(schema);
    };
    let (segment, rest) = match rest.split_once('/') {
        Some((segment, rest)) => (segment, format!("/{rest}")),
        None => (rest, String::new()),
    };
    let segment = segment.replace("~1", "/").replace("~0", "~");
    let by_name = schema["properties"]
        .get(&segment)
        .and_then(|field| schema_at(field, &rest));
    if by_name.is_some() {
        return by_name;
    }
    let is_index = segment == "*" || segment == "-" || segment.parse::<usize>().is_ok();
    let by_index = schema
        .get("items")
        .filter(|_| is_index)
        .and_then(|items| schema_at(items, &rest));
    if by_index.is_some() {
        return by_index;
    }
    ["oneOf", "anyOf", "allOf"]
        .iter()
        .filter_map(|keyword| schema[keyword].as_array())
        .flatten()
        .find_map(|branch| schema_at(branch, pointer))
}

/// Only the values at `fields` of `data`, at the same places.
fn project(data: &Value, fields: &[&str]) -> Value {
    let mut visible = Value::Object(Map::new());
    for field in fields {
        let Some(value) = data.pointer(field) else {
            continue;
        };
        let segments: Vec<&str> = field.trim_start_matches('/').split('/').collect();
        let mut target = &mut visible;
        for (i, segment) in segments.iter().enumerate() {
            let segment = segment.replace("~1", "/").replace("~0", "~");
            let Value::Object(map) = target else { break };
            if i + 1 == segments.len() {
                map.insert(segment, value.clone());
                break;
            }
            target = map
                .entry(segment)
                .or_insert_with(|| Value::Object(Map::new()));
        }
    }
    visible
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn schema_file_names_parse() {
        assert_eq!(
            parse_schema_file("payment.on_hold.v1.json"),
            Some(("payment.on_hold".into(), 1))
        );
        assert_eq!(parse_schema_file("envelope.json"), None);
        assert_eq!(parse_schema_file("payment.on_hold.vx.json"), None);
    }

    #[test]
    fn fields_are_found_through_properties_items_and_branches() {
        let schema = json!({
            "properties": {
                "status": {"type": "string"},
                "reasons": {"type": "array", "items": {"type": "string"}},
                "decided_by": {"oneOf": [
                    {"const": "automatic"},
                    {"properties": {"staff": {"type": "integer"}}}
                ]}
            }
        });
        assert_eq!(schema_at(&schema, "/status").unwrap()["type"], "string");
        assert!(schema_at(&schema, "/reasons/0").is_some());
        assert_eq!(
            schema_at(&schema, "/decided_by/staff").unwrap()["type"],
            "integer"
        );
        assert!(schema_at(&schema, "/decided_by/robot").is_none());
        assert!(schema_at(&schema, "/missing").is_none());
        assert!(schema_at(&schema, "status").is_none());
    }

    #[test]
    fn a_consumer_must_declare_every_field_its_decoding_requires() {
        use finflow_shared::contracts::{EventRead, Field};
        use finflow_shared::events::aml::AmlCaseResolved;
        use finflow_shared::events::user::UserCreated;
        let registry = Registry::load().unwrap();
        const FULL: &[EventRead] = &[EventRead::of::<AmlCaseResolved>(&[
            Field::value("/case_id"),
            Field::value("/payment_id"),
            Field::matches("/action", &["release", "void"]),
            Field::decoded("/resolved_by"),
        ])];
        assert_eq!(registry.check_reads("full", FULL), Vec::<String>::new());
        const UNDER: &[EventRead] = &[EventRead::of::<UserCreated>(&[
            Field::value("/user_id"),
            Field::value("/version"),
        ])];
        let problems = registry.check_reads("under", UNDER);
        assert!(
            problems.len() == 1 && problems[0].contains("decodes more than it declares"),
            "{problems:?}"
        );
        const WRONG: &[EventRead] = &[
            EventRead::of::<AmlCaseResolved>(&[
                Field::value("/case_id"),
                Field::value("/payment_id"),
                Field::matches("/action", &["release", "void"]),
                Field::decoded("/resolved_by"),
                Field::value("/nope"),
            ]),
            EventRead::whole::<AmlCaseResolved>(&[]),
        ];
        let problems = registry.check_reads("wrong", WRONG);
        assert!(
            problems.iter().any(|p| p.contains("/nope is not a field")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.contains("declared twice")),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("/action, an enum, without saying how")),
            "{problems:?}"
        );
        assert!(registry.check_reads("none", &[])[0].contains("declares no events"));
    }

    #[test]
    fn claims_about_values_scale_and_optionality_are_checked_against_the_decoding() {
        use finflow_shared::contracts::{EventRead, Field};
        use finflow_shared::events::aml::AmlCaseResolved;
        use finflow_shared::events::payment::PaymentCompleted;
        let registry = Registry::load().unwrap();
        const CLAIMS: &[EventRead] = &[
            EventRead::whole::<AmlCaseResolved>(&[
                // "void" is not handled; "hold" is not a value; resolved_by is required.
                Field::matches("/action", &["release", "hold"]),
                Field::value("/resolved_by").optional(),
            ]),
            EventRead::whole::<PaymentCompleted>(&[
                // Money keeps four places: six do not decode.
                Field::money("/amount", 6),
                Field::value("/currency"),
                Field::value("/status"),
            ]),
        ];
        let problems = registry.check_reads("claims", CLAIMS);
        for expected in [
            "does not handle void",
            "matches hold on /action, which the schema does not allow",
            "says it handles hold in /action, but that does not decode",
            "says it accepts /resolved_by missing",
            "says it keeps /amount with 6 decimal places, but 1.111111 does not decode",
        ] {
            assert!(
                problems.iter().any(|p| p.contains(expected)),
                "{expected}: {problems:#?}"
            );
        }
        const UNDECLARED_MONEY: &[EventRead] = &[EventRead::whole::<PaymentCompleted>(&[
            Field::value("/currency"),
            Field::value("/status"),
        ])];
        let problems = registry.check_reads("money", UNDECLARED_MONEY);
        assert!(
            problems.len() == 1 && problems[0].contains("/amount, an amount"),
            "{problems:?}"
        );
    }

    #[test]
    fn a_projection_keeps_only_the_declared_fields() {
        let data = json!({"a": 1, "b": {"c": 2, "d": 3}, "e": [1, 2]});
        assert_eq!(
            project(&data, &["/a", "/b/c", "/e", "/missing"]),
            json!({"a": 1, "b": {"c": 2}, "e": [1, 2]})
        );
    }
}
