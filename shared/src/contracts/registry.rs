//! The schemas as files: loading them, finding a field in one, and checking an envelope or a
//! consumer's declarations against them.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value};

use super::catalog;
use super::{EventRead, samples, schema_dir};

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
        let read = |path: &Path| -> Result<Value, String> {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            serde_json::from_str(&text).map_err(|e| format!("{} is not JSON: {e}", path.display()))
        };
        let mut envelope = None;
        let mut data = BTreeMap::new();
        let entries =
            std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
        for entry in entries {
            let path = entry.map_err(|e| e.to_string())?.path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_owned();
            if name == "envelope.json" {
                envelope = Some(read(&path)?);
                continue;
            }
            let (event_type, version) = parse_schema_file(&name)
                .ok_or_else(|| format!("{name}: not <type>.v<version>.json"))?;
            let schema = read(&path)?;
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
    /// fields the schema does not have, and fields it decodes without declaring them (the
    /// declared fields of every sample event, and nothing else, must decode).
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
            if read.fields.is_empty() {
                problems.push(format!("{what}: declares no fields"));
            }
            for (j, field) in read.fields.iter().enumerate() {
                if read.fields[..j].contains(field) {
                    problems.push(format!("{what}: {field} declared twice"));
                }
                if !field.starts_with('/') || schema_at(schema, field).is_none() {
                    problems.push(format!(
                        "{what}: {field} is not a field of {}",
                        catalog::schema_file(read.event_type, read.version)
                    ));
                }
            }
            let samples: Vec<_> = samples::all()
                .into_iter()
                .filter(|s| s.event_type == read.event_type && s.schema_version == read.version)
                .collect();
            if samples.is_empty() {
                problems.push(format!("{what}: no sample event to check it with"));
            }
            for sample in samples {
                let visible = project(&sample.data, read.fields);
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
        use crate::contracts::EventRead;
        use crate::events::aml::AmlCaseResolved;
        use crate::events::user::UserCreated;
        let registry = Registry::load().unwrap();
        const FULL: &[EventRead] = &[EventRead::of::<AmlCaseResolved>(&[
            "/case_id",
            "/payment_id",
            "/action",
            "/resolved_by",
        ])];
        assert_eq!(registry.check_reads("full", FULL), Vec::<String>::new());
        const UNDER: &[EventRead] = &[EventRead::of::<UserCreated>(&["/user_id", "/version"])];
        let problems = registry.check_reads("under", UNDER);
        assert!(
            problems.len() == 1 && problems[0].contains("decodes more than it declares"),
            "{problems:?}"
        );
        const WRONG: &[EventRead] = &[
            EventRead::of::<AmlCaseResolved>(&[
                "/case_id",
                "/payment_id",
                "/action",
                "/resolved_by",
                "/nope",
            ]),
            EventRead::of::<AmlCaseResolved>(&[
                "/case_id",
                "/payment_id",
                "/action",
                "/resolved_by",
            ]),
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
        assert!(registry.check_reads("none", &[])[0].contains("declares no events"));
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
