//! The contract gate: compares the schemas in `events/schemas/` with the released ones and
//! decides, from what each consumer declares it reads and how it uses it, whether every change
//! is safe to ship.
//!
//! For each schema that changed:
//! - a change that old events no longer satisfy (`Impact::Breaking`: a new required field, a
//!   narrowed type, a removed enum value, fewer decimal places) may not be shipped in place:
//!   it needs a new schema version while the old one is still served;
//! - a change that breaks some readers (`Impact::BreaksReaders`: a new enum value, more
//!   decimal places, a removed or optional field) is checked against every consumer of that
//!   event and version, field by field (`Change::effect`): it passes only when every consumer
//!   whose use of the field it reaches handles it;
//! - compatible changes pass.
//!
//! A released schema that disappeared must no longer be read by any consumer. The gate reads
//! the consumers' declarations as values (`Consumer`), so tools and tests can build them from
//! the code (`EventConsumer::reads`) and change them (`Override`) to show a consumer handling
//! a change.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::Value;

use crate::compat::{self, Change, Effect, Impact};
use crate::{Registry, schema_at};
use finflow_shared::contracts::{EventRead, Use, pointers_overlap};

/// How a consumer uses a field (an owned `contracts::Use`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Usage {
    Decoded,
    Value,
    Matches(Vec<String>),
    Money { scale: u32 },
}

/// One field a consumer depends on (an owned `contracts::Field`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredField {
    pub pointer: String,
    pub usage: Usage,
    pub optional: bool,
}

impl std::fmt::Display for DeclaredField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.usage {
            Usage::Decoded => write!(f, "decodes {} (does not use it)", self.pointer),
            Usage::Value => write!(f, "uses {} as a value", self.pointer),
            Usage::Matches(values) => {
                write!(f, "matches on {}: {}", self.pointer, values.join(", "))
            }
            Usage::Money { scale } => {
                write!(f, "keeps {} with {scale} decimal places", self.pointer)
            }
        }?;
        if self.optional {
            f.write_str(", accepts it missing")?;
        }
        Ok(())
    }
}

/// What a consumer reads of one event type and version (an owned `contracts::EventRead`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredRead {
    pub event_type: String,
    pub version: u32,
    /// Decodes every field of the schema; `fields` are those it uses.
    pub whole: bool,
    pub fields: Vec<DeclaredField>,
}

impl DeclaredRead {
    pub fn from_static(read: &EventRead) -> DeclaredRead {
        DeclaredRead {
            event_type: read.event_type.to_owned(),
            version: read.version,
            whole: read.whole,
            fields: read
                .fields
                .iter()
                .map(|field| DeclaredField {
                    pointer: field.pointer.to_owned(),
                    usage: match field.usage {
                        Use::Decoded => Usage::Decoded,
                        Use::Value => Usage::Value,
                        Use::Matches(values) => {
                            Usage::Matches(values.iter().map(|v| (*v).to_owned()).collect())
                        }
                        Use::Money { scale } => Usage::Money { scale },
                    },
                    optional: field.optional,
                })
                .collect(),
        }
    }

    /// The fields of this read at, inside or around `pointer`. A `whole` read that declares
    /// none there decodes the field all the same: it is returned as `Usage::Decoded`,
    /// optional when `schema` (the event's schema before the change) does not require it.
    pub fn fields_at(&self, pointer: &str) -> Vec<DeclaredField> {
        self.fields_in(pointer, None)
    }

    pub fn fields_in(&self, pointer: &str, schema: Option<&Value>) -> Vec<DeclaredField> {
        let found: Vec<DeclaredField> = self
            .fields
            .iter()
            .filter(|field| pointers_overlap(&field.pointer, pointer))
            .cloned()
            .collect();
        if !found.is_empty() || !self.whole {
            return found;
        }
        vec![DeclaredField {
            pointer: pointer.to_owned(),
            usage: Usage::Decoded,
            optional: schema.is_some_and(|schema| !required(schema, pointer)),
        }]
    }

    /// Whether the consumer depends on `pointer` at all.
    pub fn depends_on(&self, pointer: &str) -> bool {
        !self.fields_at(pointer).is_empty()
    }
}

/// Whether the field at `pointer` is required by its parent object in `schema`.
fn required(schema: &Value, pointer: &str) -> bool {
    let Some((parent, name)) = pointer.rsplit_once('/') else {
        return true;
    };
    let Some(parent) = schema_at(schema, parent) else {
        return true;
    };
    let name = name.replace("~1", "/").replace("~0", "~");
    parent["required"]
        .as_array()
        .is_none_or(|list| list.iter().any(|v| v == name.as_str()))
}

/// One consumer function and what it reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consumer {
    /// Its name (`EventConsumer::name`), e.g. `wallet.customers`.
    pub name: String,
    /// The service it belongs to, e.g. `wallet`.
    pub service: String,
    pub reads: Vec<DeclaredRead>,
}

impl Consumer {
    pub fn new(name: &str, service: &str, reads: &[EventRead]) -> Consumer {
        Consumer {
            name: name.to_owned(),
            service: service.to_owned(),
            reads: reads.iter().map(DeclaredRead::from_static).collect(),
        }
    }

    fn read(&self, event_type: &str, version: u32) -> Option<&DeclaredRead> {
        self.reads
            .iter()
            .find(|r| r.event_type == event_type && r.version == version)
    }
}

/// A change to consumers' declarations: how a fixture says "the consumers now handle it".
/// Applies to the field at `field` of every matching read of every matching consumer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Override {
    /// Consumer names; `*` for every consumer.
    pub consumers: Vec<String>,
    /// Event types; a trailing `*` matches a prefix (`user.*`).
    pub events: Vec<String>,
    pub field: String,
    /// Values the consumer now handles (it matches on the field).
    #[serde(default)]
    pub handles: Vec<String>,
    /// Values it no longer handles.
    #[serde(default)]
    pub drops: Vec<String>,
    /// The decimal places it now keeps (a money field).
    #[serde(default)]
    pub scale: Option<u32>,
}

fn glob(patterns: &[String], name: &str) -> bool {
    patterns.iter().any(|p| match p.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => p == name,
    })
}

impl Override {
    /// Applies it; an error when it changes nothing (the fixture no longer fits the code).
    pub fn apply(&self, consumers: &mut [Consumer]) -> Result<(), String> {
        let mut changed = 0;
        for consumer in consumers
            .iter_mut()
            .filter(|c| glob(&self.consumers, &c.name))
        {
            for read in consumer
                .reads
                .iter_mut()
                .filter(|r| glob(&self.events, &r.event_type))
            {
                for field in read.fields.iter_mut().filter(|f| f.pointer == self.field) {
                    match (&mut field.usage, self.scale) {
                        (Usage::Matches(values), None) => {
                            values.retain(|v| !self.drops.contains(v));
                            for value in &self.handles {
                                if !values.contains(value) {
                                    values.push(value.clone());
                                }
                            }
                        }
                        (Usage::Money { scale }, Some(new)) => *scale = new,
                        _ => continue,
                    }
                    changed += 1;
                }
            }
        }
        if changed == 0 {
            return Err(format!("{self:?} matches no declared field"));
        }
        Ok(())
    }
}

/// Applies RFC 6902 `add`, `remove` and `replace` operations to `document`.
pub fn apply_patch(document: &mut Value, operations: &[Value]) -> Result<(), String> {
    for operation in operations {
        let op = operation["op"]
            .as_str()
            .ok_or("an operation without `op`")?;
        let path = operation["path"]
            .as_str()
            .ok_or("an operation without `path`")?;
        let (parent, last) = path
            .rsplit_once('/')
            .ok_or_else(|| format!("{path}: not a JSON pointer"))?;
        let last = last.replace("~1", "/").replace("~0", "~");
        let target = document
            .pointer_mut(parent)
            .ok_or_else(|| format!("{path}: no {parent}"))?;
        let value = || {
            operation
                .get("value")
                .cloned()
                .ok_or_else(|| format!("{path}: {op} without a value"))
        };
        match (op, target) {
            ("add", Value::Array(items)) if last == "-" => items.push(value()?),
            ("add", Value::Array(items)) => {
                let index: usize = last.parse().map_err(|_| format!("{path}: no index"))?;
                if index > items.len() {
                    return Err(format!("{path}: out of range"));
                }
                items.insert(index, value()?);
            }
            ("add", Value::Object(map)) => {
                map.insert(last, value()?);
            }
            ("remove", Value::Array(items)) => {
                let index: usize = last.parse().map_err(|_| format!("{path}: no index"))?;
                if index >= items.len() {
                    return Err(format!("{path}: out of range"));
                }
                items.remove(index);
            }
            ("remove", Value::Object(map)) => {
                map.remove(&last)
                    .ok_or_else(|| format!("{path}: nothing there"))?;
            }
            ("replace", target) => {
                let slot = match target {
                    Value::Array(items) => {
                        last.parse::<usize>().ok().and_then(|i| items.get_mut(i))
                    }
                    Value::Object(map) => map.get_mut(&last),
                    _ => None,
                }
                .ok_or_else(|| format!("{path}: nothing to replace"))?;
                *slot = value()?;
            }
            (op, _) => return Err(format!("{path}: cannot {op} there")),
        }
    }
    Ok(())
}

/// What became of one schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Changed,
    /// A type or version that was not released.
    New,
    /// Released, no longer in `events/schemas/`.
    Removed,
}

/// What one change does to one consumer.
#[derive(Debug, Clone)]
pub struct Affected {
    pub consumer: String,
    pub service: String,
    pub change: String,
    pub effect: Effect,
}

/// The gate's findings on one schema that changed, appeared or disappeared.
#[derive(Debug, Clone)]
pub struct Entry {
    /// `envelope` or `<type> v<version>`.
    pub schema: String,
    pub event_type: Option<String>,
    pub state: State,
    pub changes: Vec<Change>,
    pub affected: Vec<Affected>,
    /// Why the gate fails on this schema; empty when it passes.
    pub problems: Vec<String>,
}

/// The gate's report: every schema that is not as released.
#[derive(Debug, Clone)]
pub struct Report {
    pub released: usize,
    pub entries: Vec<Entry>,
}

impl Report {
    pub fn problems(&self) -> Vec<String> {
        self.entries
            .iter()
            .flat_map(|e| e.problems.iter().cloned())
            .collect()
    }

    pub fn passed(&self) -> bool {
        self.entries.iter().all(|e| e.problems.is_empty())
    }

    /// The consumers a breaking change is not handled by, by name.
    pub fn unhandled(&self) -> BTreeSet<String> {
        self.entries
            .iter()
            .flat_map(|e| &e.affected)
            .filter(|a| matches!(a.effect, Effect::Unhandled(_)))
            .map(|a| a.consumer.clone())
            .collect()
    }

    pub fn render(&self) -> String {
        let mut out = format!(
            "{} released schema(s); {} not as released\n",
            self.released,
            self.entries.len()
        );
        for entry in &self.entries {
            let state = match entry.state {
                State::Changed => "changed",
                State::New => "new",
                State::Removed => "removed",
            };
            out.push_str(&format!("\n{} ({state})\n", entry.schema));
            for change in &entry.changes {
                out.push_str(&format!("  {change}\n"));
                let text = change.to_string();
                for affected in entry.affected.iter().filter(|a| a.change == text) {
                    let (mark, why) = match &affected.effect {
                        Effect::Handled(why) => ("ok  ", why),
                        Effect::Unhandled(why) => ("FAIL", why),
                    };
                    out.push_str(&format!(
                        "    {mark} {} ({}): {why}\n",
                        affected.consumer, affected.service
                    ));
                }
            }
            for problem in &entry.problems {
                out.push_str(&format!("  ! {problem}\n"));
            }
        }
        let problems = self.problems();
        if problems.is_empty() {
            out.push_str("\ncontracts: every change is handled by its consumers\n");
        } else {
            out.push_str(&format!(
                "\ncontracts: FAILED, {} problem(s):\n",
                problems.len()
            ));
            for problem in problems {
                out.push_str(&format!("  - {problem}\n"));
            }
        }
        out
    }
}

/// Checks `current` against `released` for `consumers` (see the module docs).
pub fn check(released: &Registry, current: &Registry, consumers: &[Consumer]) -> Report {
    let mut entries = Vec::new();
    let envelope = compat::diff(&released.envelope, &current.envelope);
    if !envelope.is_empty() {
        let problems = if compat::verdict(&envelope) == Impact::Compatible {
            Vec::new()
        } else {
            vec![format!(
                "the envelope changed incompatibly ({}): every consumer reads it; keep it \
                 compatible",
                compat::verdict(&envelope).describe()
            )]
        };
        entries.push(Entry {
            schema: "envelope".into(),
            event_type: None,
            state: State::Changed,
            changes: envelope,
            affected: Vec::new(),
            problems,
        });
    }
    let keys: BTreeSet<&(String, u32)> = released.data.keys().chain(current.data.keys()).collect();
    for key @ (event_type, version) in keys {
        let schema = format!("{event_type} v{version}");
        let readers: Vec<&Consumer> = consumers
            .iter()
            .filter(|c| c.read(event_type, *version).is_some())
            .collect();
        let mut entry = Entry {
            schema: schema.clone(),
            event_type: Some(event_type.clone()),
            state: State::Changed,
            changes: Vec::new(),
            affected: Vec::new(),
            problems: Vec::new(),
        };
        match (released.data.get(key), current.data.get(key)) {
            (Some(old), Some(new)) => {
                entry.changes = compat::diff(old, new);
                if entry.changes.is_empty() {
                    continue;
                }
                check_changes(&mut entry, old, &readers, *version);
            }
            (None, Some(_)) => entry.state = State::New,
            (Some(_), None) => {
                entry.state = State::Removed;
                if !readers.is_empty() {
                    entry.problems.push(format!(
                        "{schema} was released and is gone while {} still read it",
                        names(&readers)
                    ));
                }
            }
            (None, None) => unreachable!("the key comes from one of them"),
        }
        entries.push(entry);
    }
    Report {
        released: released.data.len() + 1,
        entries,
    }
}

fn names(consumers: &[&Consumer]) -> String {
    consumers
        .iter()
        .map(|c| format!("{} ({})", c.name, c.service))
        .collect::<Vec<_>>()
        .join(", ")
}

fn check_changes(entry: &mut Entry, old: &Value, readers: &[&Consumer], version: u32) {
    let event_type = entry.event_type.clone().unwrap_or_default();
    let in_place: Vec<String> = entry
        .changes
        .iter()
        .filter(|c| c.impact() == Impact::Breaking)
        .map(|c| c.to_string())
        .collect();
    if !in_place.is_empty() {
        entry.problems.push(format!(
            "{}: a breaking change shipped in place ({}); events already emitted no longer \
             fit. Publish it as {event_type} v{} and keep v{version} served while {} read it",
            entry.schema,
            in_place.join("; "),
            version + 1,
            if readers.is_empty() {
                "anyone".to_owned()
            } else {
                names(readers)
            }
        ));
    }
    for change in entry
        .changes
        .iter()
        .filter(|c| c.impact() == Impact::BreaksReaders)
    {
        for consumer in readers {
            let read = consumer
                .read(&event_type, version)
                .expect("readers read this event");
            for field in read.fields_in(&change.pointer, Some(old)) {
                let effect = change.effect(&field);
                if let Effect::Unhandled(why) = &effect {
                    entry.problems.push(format!(
                        "{} ({}) does not handle {}: it {why}",
                        consumer.name,
                        consumer.service,
                        change_summary(&entry.schema, change)
                    ));
                }
                entry.affected.push(Affected {
                    consumer: consumer.name.clone(),
                    service: consumer.service.clone(),
                    change: change.to_string(),
                    effect,
                });
            }
        }
    }
}

fn change_summary(schema: &str, change: &Change) -> String {
    format!("{schema} {change}")
}

impl Impact {
    pub fn describe(&self) -> &'static str {
        match self {
            Impact::Compatible => "compatible",
            Impact::BreaksReaders => "breaks the readers of a field",
            Impact::Breaking => "breaking",
        }
    }
}

/// Reads `events/fixtures/cascades/<name>.json`-style change sets: `schemas` maps schema file
/// stems (`user.created.v1`) to patches; `released` (optional) patches the baseline the same
/// way; `handled` lists the `Override`s that make the consumers handle the change.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeSet {
    /// What the change is, in one sentence.
    pub change: String,
    /// Patches to the released baseline, when the change starts from an older state.
    #[serde(default)]
    pub released: BTreeMap<String, Vec<Value>>,
    /// Patches that make the changed producer's schemas.
    #[serde(default)]
    pub producer: BTreeMap<String, Vec<Value>>,
    /// Declarations of the consumers before they handle the change, when that is not the
    /// code as it is.
    #[serde(default)]
    pub unhandled: Vec<Override>,
    /// How the consumers' declarations change once they handle it.
    #[serde(default)]
    pub handled: Vec<Override>,
}

/// `registry` with `patches` (schema file stem → operations) applied.
pub fn patched(
    registry: &Registry,
    patches: &BTreeMap<String, Vec<Value>>,
) -> Result<Registry, String> {
    let mut registry = registry.clone();
    for (stem, operations) in patches {
        let (event_type, version) = stem
            .rsplit_once(".v")
            .and_then(|(t, v)| Some((t.to_owned(), v.parse::<u32>().ok()?)))
            .ok_or_else(|| format!("{stem}: not <type>.v<version>"))?;
        let schema = registry
            .data
            .get_mut(&(event_type, version))
            .ok_or_else(|| format!("no schema {stem}"))?;
        apply_patch(schema, operations).map_err(|e| format!("{stem}: {e}"))?;
    }
    Ok(registry)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn matcher(pointer: &str, values: &[&str]) -> DeclaredField {
        DeclaredField {
            pointer: pointer.into(),
            usage: Usage::Matches(values.iter().map(|v| (*v).to_owned()).collect()),
            optional: false,
        }
    }

    fn registry_with(schema: Value) -> Registry {
        Registry {
            envelope: json!({}),
            data: BTreeMap::from([(("thing.happened".to_owned(), 1), schema)]),
        }
    }

    fn consumer(fields: Vec<DeclaredField>) -> Consumer {
        Consumer {
            name: "c".into(),
            service: "s".into(),
            reads: vec![DeclaredRead {
                event_type: "thing.happened".into(),
                version: 1,
                whole: false,
                fields,
            }],
        }
    }

    const MONEY2: &str = r"^\d{1,16}(\.\d{1,2})?$";
    const MONEY4: &str = r"^\d{1,16}(\.\d{1,4})?$";

    fn schema(status: &[&str], pattern: &str) -> Value {
        json!({"type": "object", "properties": {
            "status": {"type": "string", "enum": status},
            "amount": {"type": "string", "pattern": pattern},
            "note": {"type": "string"}
        }, "required": ["status", "amount", "note"], "additionalProperties": false})
    }

    #[test]
    fn a_new_value_fails_only_the_consumers_that_match_on_it_without_handling_it() {
        let old = registry_with(schema(&["A", "B"], MONEY4));
        let new = registry_with(schema(&["A", "B", "C"], MONEY4));
        let blind = consumer(vec![matcher("/status", &["A", "B"])]);
        let report = check(&old, &new, std::slice::from_ref(&blind));
        assert!(!report.passed(), "{}", report.render());
        assert_eq!(report.unhandled(), BTreeSet::from(["c".to_owned()]));
        let aware = consumer(vec![matcher("/status", &["A", "B", "C"])]);
        assert!(check(&old, &new, &[aware]).passed());
        let carrier = consumer(vec![DeclaredField {
            pointer: "/status".into(),
            usage: Usage::Value,
            optional: false,
        }]);
        assert!(check(&old, &new, &[carrier]).passed());
    }

    #[test]
    fn more_decimal_places_break_the_readers_that_keep_fewer_and_fewer_are_breaking() {
        let two = registry_with(schema(&["A"], MONEY2));
        let four = registry_with(schema(&["A"], MONEY4));
        let keeps = |scale| {
            consumer(vec![DeclaredField {
                pointer: "/amount".into(),
                usage: Usage::Money { scale },
                optional: false,
            }])
        };
        let changes = compat::diff(
            &two.data.values().next().unwrap().clone(),
            &four.data.values().next().unwrap().clone(),
        );
        assert_eq!(
            changes[0].kind,
            compat::ChangeKind::ScaleChanged { old: 2, new: 4 }
        );
        assert!(!check(&two, &four, &[keeps(2)]).passed());
        assert!(check(&two, &four, &[keeps(4)]).passed());
        // Fewer places: events already emitted with four no longer fit.
        let report = check(&four, &two, &[keeps(4)]);
        assert!(
            report.problems()[0].contains("shipped in place"),
            "{}",
            report.render()
        );
    }

    #[test]
    fn a_removed_field_fails_its_readers_unless_they_accept_it_missing() {
        let old = registry_with(schema(&["A"], MONEY4));
        let mut new_schema = schema(&["A"], MONEY4);
        apply_patch(
            &mut new_schema,
            &[
                json!({"op": "remove", "path": "/properties/note"}),
                json!({"op": "replace", "path": "/required", "value": ["status", "amount"]}),
            ],
        )
        .unwrap();
        let new = registry_with(new_schema);
        let reader = |optional| {
            consumer(vec![DeclaredField {
                pointer: "/note".into(),
                usage: Usage::Value,
                optional,
            }])
        };
        assert!(!check(&old, &new, &[reader(false)]).passed());
        assert!(check(&old, &new, &[reader(true)]).passed());
        // A whole decoder that does not use it: the field was required, so it breaks.
        let mut whole = consumer(Vec::new());
        whole.reads[0].whole = true;
        assert!(!check(&old, &new, &[whole]).passed());
    }

    #[test]
    fn a_released_schema_may_go_only_when_nobody_reads_it() {
        let old = registry_with(schema(&["A"], MONEY4));
        let gone = Registry {
            envelope: json!({}),
            data: BTreeMap::new(),
        };
        assert!(!check(&old, &gone, &[consumer(vec![matcher("/status", &["A"])])]).passed());
        assert!(check(&old, &gone, &[]).passed());
        // A new version next to the old one is fine.
        let mut both = old.clone();
        both.data
            .insert(("thing.happened".into(), 2), schema(&["A", "Z"], MONEY4));
        let report = check(&old, &both, &[consumer(vec![matcher("/status", &["A"])])]);
        assert!(report.passed(), "{}", report.render());
        assert_eq!(report.entries[0].state, State::New);
    }

    #[test]
    fn patches_add_remove_and_replace() {
        let mut doc = json!({"a": [1, 2], "b": {"c": 1}});
        apply_patch(
            &mut doc,
            &[
                json!({"op": "add", "path": "/a/-", "value": 3}),
                json!({"op": "add", "path": "/a/0", "value": 0}),
                json!({"op": "remove", "path": "/b/c"}),
                json!({"op": "add", "path": "/b/d", "value": true}),
                json!({"op": "replace", "path": "/a/1", "value": 9}),
            ],
        )
        .unwrap();
        assert_eq!(doc, json!({"a": [0, 9, 2, 3], "b": {"d": true}}));
        assert!(apply_patch(&mut doc, &[json!({"op": "remove", "path": "/nope/x"})]).is_err());
    }

    #[test]
    fn overrides_must_hit_a_declared_field() {
        let mut consumers = vec![consumer(vec![matcher("/status", &["A"])])];
        let handles = Override {
            consumers: vec!["*".into()],
            events: vec!["thing.*".into()],
            field: "/status".into(),
            handles: vec!["B".into()],
            drops: vec![],
            scale: None,
        };
        handles.apply(&mut consumers).unwrap();
        assert_eq!(
            consumers[0].reads[0].fields[0],
            matcher("/status", &["A", "B"])
        );
        let stale = Override {
            field: "/gone".into(),
            ..handles
        };
        assert!(stale.apply(&mut consumers).is_err());
    }
}
