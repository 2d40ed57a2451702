//! Classifies the change between two versions of one event's schema.
//!
//! Two directions matter. Consumers written against the old schema receive events of the new
//! one; and events already emitted under the old schema (in queues, or replayed from the
//! archive) are read against the new one. So:
//!
//! | change | impact |
//! |---|---|
//! | new optional field; relaxed constraint (longer `maxLength`, wider range, dropped `pattern`) | compatible |
//! | removed field; required field made optional; type widened; new enum value or `oneOf` branch; more decimal places for money | breaks the consumers that read that field (and use it in a way the change reaches: `Change::effect`) |
//! | new required field; optional field made required; type narrowed or changed; enum value removed; fewer decimal places; tightened or changed constraint | breaking: old events no longer conform, a new version is needed |
//!
//! Whether a reader of the field is broken depends on how it uses it (`contracts::Use`): a new
//! enum value breaks the consumers that match on the field and do not list the value, passes
//! through those that only carry it; more decimal places break those that keep fewer; a field
//! that may now be missing breaks those that do not accept it missing.
//!
//! A relaxed constraint is compatible by the contract, but a reader that keeps the value in a
//! narrower type than the schema promises (a `u8` for a field whose maximum grows past 255)
//! breaks all the same; its decode check (`Registry::check_reads`) does not see that.
//!
//! Pointers name fields of `data` (`/status`, `/decided_by/staff`); `*` stands for every item
//! of an array (`/reasons/*`).

use std::collections::BTreeSet;

use serde_json::Value;

use crate::gate::{DeclaredField, DeclaredRead, Usage};
use finflow_shared::contracts::EventRead;

/// How far a change reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Impact {
    /// No consumer can tell.
    Compatible,
    /// Breaks the consumers that read the field (or a field inside or around it).
    BreaksReaders,
    /// Events already emitted no longer conform: every consumer of the event may break, and
    /// the change needs a new schema version.
    Breaking,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ChangeKind {
    FieldAdded {
        required: bool,
    },
    FieldRemoved,
    BecameRequired,
    BecameOptional,
    TypeChanged {
        old: Vec<String>,
        new: Vec<String>,
    },
    EnumValuesAdded(Vec<Value>),
    EnumValuesRemoved(Vec<Value>),
    /// `oneOf`/`anyOf` branches (compared as whole schemas).
    VariantsAdded(Vec<Value>),
    VariantsRemoved(Vec<Value>),
    ConstraintRelaxed {
        keyword: String,
    },
    ConstraintTightened {
        keyword: String,
    },
    /// A money field's decimal places (the `\.\d{1,N}` of its pattern) changed from `old`
    /// to `new`. More places: old events still fit, readers that keep fewer break. Fewer:
    /// old events no longer fit.
    ScaleChanged {
        old: u32,
        new: u32,
    },
    /// Changed in a way that is neither clearly looser nor clearly stricter (a new pattern).
    ConstraintChanged {
        keyword: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// The field of `data` that changed, as a JSON pointer (`""` for `data` itself).
    pub pointer: String,
    pub kind: ChangeKind,
}

impl Change {
    pub fn impact(&self) -> Impact {
        use ChangeKind::*;
        match &self.kind {
            FieldAdded { required: false } | ConstraintRelaxed { .. } => Impact::Compatible,
            ScaleChanged { old, new } if new > old => Impact::BreaksReaders,
            ScaleChanged { .. } => Impact::Breaking,
            FieldRemoved | BecameOptional | EnumValuesAdded(_) | VariantsAdded(_) => {
                Impact::BreaksReaders
            }
            // Widened: old events still fit, readers may get a type they do not expect.
            TypeChanged { old, new }
                if new.iter().any(|t| t == ANY) || old.iter().all(|t| new.contains(t)) =>
            {
                Impact::BreaksReaders
            }
            FieldAdded { required: true }
            | BecameRequired
            | TypeChanged { .. }
            | EnumValuesRemoved(_)
            | VariantsRemoved(_)
            | ConstraintTightened { .. }
            | ConstraintChanged { .. } => Impact::Breaking,
        }
    }

    /// Whether this change breaks a consumer that reads `read` (of the same event).
    pub fn breaks(&self, read: &EventRead) -> bool {
        match self.impact() {
            Impact::Compatible => false,
            Impact::BreaksReaders => {
                let read = DeclaredRead::from_static(read);
                read.fields_at(&self.pointer)
                    .iter()
                    .any(|field| matches!(self.effect(field), Effect::Unhandled(_)))
            }
            Impact::Breaking => true,
        }
    }

    /// What this change (one that `BreaksReaders`) does to a consumer that uses `field` (a
    /// field at, inside or around the changed one).
    pub fn effect(&self, field: &DeclaredField) -> Effect {
        use ChangeKind::*;
        let exact = field.pointer == self.pointer;
        match (&self.kind, &field.usage) {
            (EnumValuesAdded(added), Usage::Matches(handled)) if exact => {
                let missing: Vec<String> = added
                    .iter()
                    .map(value_text)
                    .filter(|value| !handled.contains(value))
                    .collect();
                if missing.is_empty() {
                    Effect::Handled(format!("matches on {} and handles it", field.pointer))
                } else {
                    Effect::Unhandled(format!(
                        "matches on {} (handles {}) and does not handle {}",
                        field.pointer,
                        handled.join(", "),
                        missing.join(", ")
                    ))
                }
            }
            (EnumValuesAdded(_), Usage::Value) => Effect::Handled(format!(
                "does not branch on {} (it only carries the value); its deployed build decodes \
                 the old set, so deploy it before the producer emits the new value",
                field.pointer
            )),
            (EnumValuesAdded(_), Usage::Decoded) => Effect::Handled(format!(
                "decodes {} without using it; its deployed build decodes the old set, so \
                 deploy it before the producer emits the new value",
                field.pointer
            )),
            (VariantsAdded(_), Usage::Decoded) => Effect::Handled(format!(
                "decodes {} without using it; deploy it before the producer",
                field.pointer
            )),
            (ScaleChanged { new, .. }, Usage::Money { scale }) if exact => {
                if scale >= new {
                    Effect::Handled(format!(
                        "keeps {} with {scale} decimal places",
                        field.pointer
                    ))
                } else {
                    Effect::Unhandled(format!(
                        "keeps {} with at most {scale} decimal places; the producer now sends {new}",
                        field.pointer
                    ))
                }
            }
            (FieldRemoved | BecameOptional, _) if field.optional => {
                Effect::Handled(format!("accepts {} missing", field.pointer))
            }
            (TypeChanged { old, new }, _)
                if field.optional
                    && new.iter().filter(|t| !old.contains(t)).all(|t| t == "null") =>
            {
                Effect::Handled(format!("accepts {} null", field.pointer))
            }
            (FieldRemoved, _) => Effect::Unhandled(format!("still reads {}", field.pointer)),
            (BecameOptional, _) => Effect::Unhandled(format!(
                "requires {}, which may now be missing",
                field.pointer
            )),
            _ => Effect::Unhandled(format!("reads {}: {:?}", field.pointer, self.kind)),
        }
    }
}

/// What one change does to one consumer's use of a field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// The consumer copes, and why.
    Handled(String),
    /// The consumer breaks, and why.
    Unhandled(String),
}

/// An enum value as consumers list it: a string's text, any other JSON as written.
fn value_text(value: &Value) -> String {
    value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_owned)
}

/// The decimal places a money pattern allows: the `N` of its `\.\d{1,N}`.
pub fn money_scale(pattern: &str) -> Option<u32> {
    let (_, rest) = pattern.split_once(r"\.\d{1,")?;
    rest.split_once('}')?.0.parse().ok()
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = if self.pointer.is_empty() {
            "data"
        } else {
            &self.pointer
        };
        write!(f, "{at}: {:?} ({:?})", self.kind, self.impact())
    }
}

/// The changes from `old` to `new`, two JSON Schemas of one event's `data`.
pub fn diff(old: &Value, new: &Value) -> Vec<Change> {
    let mut changes = Vec::new();
    diff_at("", old, new, &mut changes);
    changes
}

/// The worst impact among `changes` (`Compatible` when there are none).
pub fn verdict(changes: &[Change]) -> Impact {
    changes
        .iter()
        .map(Change::impact)
        .max()
        .unwrap_or(Impact::Compatible)
}

/// The changes that break a consumer reading `read`.
pub fn breaking_for<'a>(changes: &'a [Change], read: &EventRead) -> Vec<&'a Change> {
    changes.iter().filter(|c| c.breaks(read)).collect()
}

fn push(changes: &mut Vec<Change>, pointer: &str, kind: ChangeKind) {
    changes.push(Change {
        pointer: pointer.to_owned(),
        kind,
    });
}

fn diff_at(pointer: &str, old: &Value, new: &Value, changes: &mut Vec<Change>) {
    diff_types(pointer, old, new, changes);
    diff_enum(pointer, old, new, changes);
    diff_variants(pointer, old, new, changes);
    diff_constraints(pointer, old, new, changes);
    diff_properties(pointer, old, new, changes);
    if let (Some(old_items), Some(new_items)) = (old.get("items"), new.get("items")) {
        diff_at(&format!("{pointer}/*"), old_items, new_items, changes);
    }
}

/// How `TypeChanged` names "no `type` keyword": every type.
const ANY: &str = "any";

/// The JSON types a schema allows; `None` for any.
fn types(schema: &Value) -> Option<BTreeSet<String>> {
    match &schema["type"] {
        Value::String(t) => Some(BTreeSet::from([t.clone()])),
        Value::Array(ts) => Some(
            ts.iter()
                .filter_map(|t| t.as_str().map(str::to_owned))
                .collect(),
        ),
        _ => None,
    }
}

fn diff_types(pointer: &str, old: &Value, new: &Value, changes: &mut Vec<Change>) {
    let listed = |types: Option<BTreeSet<String>>| match types {
        Some(types) => types.into_iter().collect(),
        None => vec![ANY.to_owned()],
    };
    let (o, n) = (types(old), types(new));
    if o != n {
        push(
            changes,
            pointer,
            ChangeKind::TypeChanged {
                old: listed(o),
                new: listed(n),
            },
        );
    }
}

/// The values an `enum` or `const` allows; `None` when unrestricted.
fn allowed(schema: &Value) -> Option<Vec<Value>> {
    if let Some(values) = schema["enum"].as_array() {
        return Some(values.clone());
    }
    schema.get("const").map(|value| vec![value.clone()])
}

fn diff_enum(pointer: &str, old: &Value, new: &Value, changes: &mut Vec<Change>) {
    match (allowed(old), allowed(new)) {
        (Some(o), Some(n)) => {
            let added: Vec<Value> = n.iter().filter(|v| !o.contains(v)).cloned().collect();
            let removed: Vec<Value> = o.iter().filter(|v| !n.contains(v)).cloned().collect();
            if !added.is_empty() {
                push(changes, pointer, ChangeKind::EnumValuesAdded(added));
            }
            if !removed.is_empty() {
                push(changes, pointer, ChangeKind::EnumValuesRemoved(removed));
            }
        }
        // No longer a closed set: any value may come.
        (Some(_), None) => push(
            changes,
            pointer,
            ChangeKind::EnumValuesAdded(vec![Value::String("*".into())]),
        ),
        (None, Some(n)) => push(
            changes,
            pointer,
            ChangeKind::ConstraintTightened {
                keyword: format!("enum {}", Value::Array(n)),
            },
        ),
        (None, None) => {}
    }
}

fn diff_variants(pointer: &str, old: &Value, new: &Value, changes: &mut Vec<Change>) {
    for keyword in ["oneOf", "anyOf"] {
        let branches = |schema: &Value| schema[keyword].as_array().cloned().unwrap_or_default();
        let (o, n) = (branches(old), branches(new));
        let added: Vec<Value> = n.iter().filter(|b| !o.contains(b)).cloned().collect();
        let removed: Vec<Value> = o.iter().filter(|b| !n.contains(b)).cloned().collect();
        if !added.is_empty() {
            push(changes, pointer, ChangeKind::VariantsAdded(added));
        }
        if !removed.is_empty() {
            push(changes, pointer, ChangeKind::VariantsRemoved(removed));
        }
    }
}

/// Bounds where a larger value is looser (`maximum`) or stricter (`minimum`).
const UPPER_BOUNDS: [&str; 4] = ["maximum", "exclusiveMaximum", "maxLength", "maxItems"];
const LOWER_BOUNDS: [&str; 4] = ["minimum", "exclusiveMinimum", "minLength", "minItems"];
/// Constraints compared as a whole: absent is loosest, any difference is unclear.
const OPAQUE: [&str; 4] = ["pattern", "not", "multipleOf", "uniqueItems"];

fn diff_constraints(pointer: &str, old: &Value, new: &Value, changes: &mut Vec<Change>) {
    let relaxed = |keyword: &str| ChangeKind::ConstraintRelaxed {
        keyword: keyword.to_owned(),
    };
    let tightened = |keyword: &str| ChangeKind::ConstraintTightened {
        keyword: keyword.to_owned(),
    };
    for (keyword, larger_is_looser) in UPPER_BOUNDS
        .iter()
        .map(|k| (k, true))
        .chain(LOWER_BOUNDS.iter().map(|k| (k, false)))
    {
        let bound = |schema: &Value| schema.get(*keyword).and_then(Value::as_f64);
        match (bound(old), bound(new)) {
            (Some(o), Some(n)) if o != n => {
                let looser = (n > o) == larger_is_looser;
                push(
                    changes,
                    pointer,
                    if looser {
                        relaxed(keyword)
                    } else {
                        tightened(keyword)
                    },
                );
            }
            (Some(_), None) => push(changes, pointer, relaxed(keyword)),
            (None, Some(_)) => push(changes, pointer, tightened(keyword)),
            _ => {}
        }
    }
    for keyword in OPAQUE {
        match (old.get(keyword), new.get(keyword)) {
            (Some(Value::String(o)), Some(Value::String(n)))
                if keyword == "pattern" && o != n && scale_only(o, n).is_some() =>
            {
                let (old, new) = scale_only(o, n).expect("checked");
                push(changes, pointer, ChangeKind::ScaleChanged { old, new });
            }
            (Some(o), Some(n)) if o != n => push(
                changes,
                pointer,
                ChangeKind::ConstraintChanged {
                    keyword: keyword.to_owned(),
                },
            ),
            (Some(_), None) => push(changes, pointer, relaxed(keyword)),
            (None, Some(_)) => push(changes, pointer, tightened(keyword)),
            _ => {}
        }
    }
    // `additionalProperties: false` is what stops a producer adding fields silently.
    let closed = |schema: &Value| schema.get("additionalProperties") == Some(&Value::Bool(false));
    match (closed(old), closed(new)) {
        (true, false) => push(changes, pointer, relaxed("additionalProperties")),
        (false, true) => push(changes, pointer, tightened("additionalProperties")),
        _ => {}
    }
}

/// The decimal places of two money patterns that differ in nothing else.
fn scale_only(old: &str, new: &str) -> Option<(u32, u32)> {
    let (o, n) = (money_scale(old)?, money_scale(new)?);
    let marker = |scale: u32| format!(r"\.\d{{1,{scale}}}");
    (old.replacen(&marker(o), "", 1) == new.replacen(&marker(n), "", 1)).then_some((o, n))
}

fn diff_properties(pointer: &str, old: &Value, new: &Value, changes: &mut Vec<Change>) {
    let empty = serde_json::Map::new();
    let old_props = old["properties"].as_object().unwrap_or(&empty);
    let new_props = new["properties"].as_object().unwrap_or(&empty);
    let required = |schema: &Value, name: &str| {
        schema["required"]
            .as_array()
            .is_some_and(|r| r.iter().any(|v| v == name))
    };
    let names: BTreeSet<&String> = old_props.keys().chain(new_props.keys()).collect();
    for name in names {
        let at = format!("{pointer}/{}", name.replace('~', "~0").replace('/', "~1"));
        match (old_props.get(name), new_props.get(name)) {
            (None, Some(_)) => push(
                changes,
                &at,
                ChangeKind::FieldAdded {
                    required: required(new, name),
                },
            ),
            (Some(_), None) => push(changes, &at, ChangeKind::FieldRemoved),
            (Some(o), Some(n)) => {
                match (required(old, name), required(new, name)) {
                    (false, true) => push(changes, &at, ChangeKind::BecameRequired),
                    (true, false) => push(changes, &at, ChangeKind::BecameOptional),
                    _ => {}
                }
                diff_at(&at, o, n, changes);
            }
            (None, None) => unreachable!("the name comes from one of them"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Registry, fixture_dir};
    use finflow_shared::contracts::{EventRead, Field};
    use finflow_shared::events::payment::PaymentCompleted;

    /// `events/fixtures/<case>.old.json` and `.new.json`.
    fn fixture(case: &str) -> Vec<Change> {
        let read = |which: &str| -> Value {
            let path = fixture_dir().join(format!("{case}.{which}.json"));
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
            serde_json::from_str(&text).unwrap()
        };
        diff(&read("old"), &read("new"))
    }

    const READS_STATUS: EventRead = EventRead::of::<PaymentCompleted>(&[
        Field::value("/payment_id"),
        Field::matches("/status", &["PENDING", "COMPLETED", "FAILED"]),
    ]);
    const READS_AMOUNT: EventRead = EventRead::of::<PaymentCompleted>(&[
        Field::value("/payment_id"),
        Field::money("/amount", 4),
    ]);
    const READS_DESCRIPTION: EventRead = EventRead::of::<PaymentCompleted>(&[
        Field::value("/payment_id"),
        Field::value("/description"),
    ]);

    fn kinds(changes: &[Change]) -> Vec<(&str, &ChangeKind)> {
        changes
            .iter()
            .map(|c| (c.pointer.as_str(), &c.kind))
            .collect()
    }

    #[test]
    fn a_new_payment_status_breaks_the_consumers_that_read_the_status() {
        let changes = fixture("payment_status_gains_on_hold");
        assert_eq!(
            kinds(&changes),
            [(
                "/status",
                &ChangeKind::EnumValuesAdded(vec![Value::String("ON_HOLD".into())])
            )]
        );
        assert_eq!(verdict(&changes), Impact::BreaksReaders);
        assert_eq!(breaking_for(&changes, &READS_STATUS).len(), 1);
        assert!(breaking_for(&changes, &READS_AMOUNT).is_empty());
    }

    #[test]
    fn a_new_optional_field_is_compatible() {
        let changes = fixture("optional_field_added");
        assert_eq!(
            kinds(&changes),
            [("/description", &ChangeKind::FieldAdded { required: false })]
        );
        assert_eq!(verdict(&changes), Impact::Compatible);
        assert!(breaking_for(&changes, &READS_STATUS).is_empty());
    }

    #[test]
    fn a_new_required_field_is_breaking_because_old_events_lack_it() {
        let changes = fixture("required_field_added");
        assert_eq!(
            kinds(&changes),
            [("/fee", &ChangeKind::FieldAdded { required: true })]
        );
        assert_eq!(verdict(&changes), Impact::Breaking);
        assert!(!breaking_for(&changes, &READS_AMOUNT).is_empty());
    }

    #[test]
    fn a_removed_field_breaks_only_its_readers() {
        let changes = fixture("field_removed");
        assert_eq!(
            kinds(&changes),
            [("/description", &ChangeKind::FieldRemoved)]
        );
        assert_eq!(verdict(&changes), Impact::BreaksReaders);
        assert_eq!(breaking_for(&changes, &READS_DESCRIPTION).len(), 1);
        assert!(breaking_for(&changes, &READS_STATUS).is_empty());
    }

    #[test]
    fn a_retyped_amount_is_breaking() {
        let changes = fixture("amount_retyped_to_number");
        assert!(changes.iter().any(|c| c.pointer == "/amount"
            && c.kind
                == ChangeKind::TypeChanged {
                    old: vec!["string".into()],
                    new: vec!["number".into()]
                }));
        assert_eq!(verdict(&changes), Impact::Breaking);
        assert!(!breaking_for(&changes, &READS_STATUS).is_empty());
    }

    #[test]
    fn a_field_made_nullable_breaks_its_readers() {
        let changes = fixture("field_made_nullable");
        assert_eq!(
            kinds(&changes),
            [
                ("/description", &ChangeKind::BecameOptional),
                (
                    "/description",
                    &ChangeKind::TypeChanged {
                        old: vec!["string".into()],
                        new: vec!["null".into(), "string".into()]
                    }
                ),
            ]
        );
        assert_eq!(verdict(&changes), Impact::BreaksReaders);
        assert!(breaking_for(&changes, &READS_STATUS).is_empty());
        assert_eq!(breaking_for(&changes, &READS_DESCRIPTION).len(), 2);
    }

    #[test]
    fn a_relaxed_constraint_is_compatible_and_a_tightened_one_is_breaking() {
        let relaxed = fixture("constraints_relaxed");
        assert!(!relaxed.is_empty());
        assert!(
            relaxed
                .iter()
                .all(|c| matches!(c.kind, ChangeKind::ConstraintRelaxed { .. })),
            "{relaxed:?}"
        );
        assert_eq!(verdict(&relaxed), Impact::Compatible);

        // The same pair read the other way round.
        let read = |which: &str| -> Value {
            let path = fixture_dir().join(format!("constraints_relaxed.{which}.json"));
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
        };
        let tightened = diff(&read("new"), &read("old"));
        assert_eq!(tightened.len(), relaxed.len());
        assert!(
            tightened
                .iter()
                .all(|c| matches!(c.kind, ChangeKind::ConstraintTightened { .. })),
            "{tightened:?}"
        );
        assert_eq!(verdict(&tightened), Impact::Breaking);
    }

    #[test]
    fn a_new_kind_of_decider_breaks_the_readers_of_decided_by() {
        let changes = fixture("decided_by_gains_a_variant");
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert!(matches!(changes[0].kind, ChangeKind::VariantsAdded(_)));
        assert_eq!(changes[0].pointer, "/decided_by");
        assert_eq!(verdict(&changes), Impact::BreaksReaders);
    }

    #[test]
    fn every_registered_schema_is_unchanged_against_itself() {
        let registry = Registry::load().unwrap();
        for ((event_type, version), schema) in &registry.data {
            assert_eq!(diff(schema, schema), [], "{event_type} v{version}");
        }
    }

    #[test]
    fn removing_an_enum_value_is_breaking_for_events_already_emitted() {
        let old: Value = serde_json::json!({"properties": {"s": {"enum": ["A", "B"]}}});
        let new: Value = serde_json::json!({"properties": {"s": {"enum": ["A"]}}});
        let changes = diff(&old, &new);
        assert_eq!(
            kinds(&changes),
            [("/s", &ChangeKind::EnumValuesRemoved(vec!["B".into()]))]
        );
        assert_eq!(verdict(&changes), Impact::Breaking);
    }

    #[test]
    fn a_new_value_does_not_break_a_consumer_that_already_handles_it_or_only_carries_it() {
        let changes = fixture("payment_status_gains_on_hold");
        const HANDLES: EventRead = EventRead::of::<PaymentCompleted>(&[Field::matches(
            "/status",
            &["PENDING", "COMPLETED", "FAILED", "ON_HOLD"],
        )]);
        const CARRIES: EventRead = EventRead::of::<PaymentCompleted>(&[Field::value("/status")]);
        assert!(breaking_for(&changes, &HANDLES).is_empty());
        assert!(breaking_for(&changes, &CARRIES).is_empty());
    }

    #[test]
    fn more_decimal_places_break_readers_that_keep_fewer_and_fewer_places_are_breaking() {
        let changes = fixture("money_scale_raised");
        assert_eq!(
            kinds(&changes),
            [("/amount", &ChangeKind::ScaleChanged { old: 4, new: 6 })]
        );
        assert_eq!(verdict(&changes), Impact::BreaksReaders);
        assert_eq!(breaking_for(&changes, &READS_AMOUNT).len(), 1);
        const KEEPS_SIX: EventRead =
            EventRead::of::<PaymentCompleted>(&[Field::money("/amount", 6)]);
        assert!(breaking_for(&changes, &KEEPS_SIX).is_empty());
        assert!(breaking_for(&changes, &READS_STATUS).is_empty());

        let read = |which: &str| -> Value {
            let path = fixture_dir().join(format!("money_scale_raised.{which}.json"));
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
        };
        let lowered = diff(&read("new"), &read("old"));
        assert_eq!(verdict(&lowered), Impact::Breaking);
        assert_eq!(money_scale(r"^-?\d{1,16}(\.\d{1,4})?$"), Some(4));
        assert_eq!(money_scale("^[A-Z]{3}$"), None);
    }

    #[test]
    fn pointers_overlap_by_whole_segments() {
        use finflow_shared::contracts::pointers_overlap;
        assert!(pointers_overlap("/decided_by", "/decided_by/staff"));
        assert!(pointers_overlap("/reasons/*", "/reasons"));
        assert!(!pointers_overlap("/status", "/status_reason"));
    }
}
