//! Field-by-field comparison of two DynamoDB tables' items, the check behind
//! `finflow replay`: a projection rebuilt from the archive must equal the live one exactly.
//!
//! Items are keyed by their key attributes and compared attribute by attribute. Numbers are
//! compared as decimals, not as text: DynamoDB answers `1.50` as `1.5`, some emulators keep
//! the text they were given, and the two must not read as a difference.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use aws_sdk_dynamodb::types::AttributeValue;
use rust_decimal::Decimal;

/// An item's attributes in a canonical, comparable form.
pub type Cells = BTreeMap<String, String>;

/// One table's items by key (the key attributes' canonical values, joined).
#[derive(Debug, Default)]
pub struct Snapshot {
    items: BTreeMap<String, Cells>,
}

impl Snapshot {
    /// `key` names the key attributes (e.g. `["pk", "sk"]`).
    pub fn from_items<'a, K: AsRef<str>>(
        key: &[K],
        items: impl IntoIterator<Item = &'a HashMap<String, AttributeValue>>,
    ) -> Snapshot {
        let items = items
            .into_iter()
            .map(|item| {
                let cells: Cells = item
                    .iter()
                    .map(|(name, value)| (name.clone(), canonical(value)))
                    .collect();
                let id = key
                    .iter()
                    .map(|k| cells.get(k.as_ref()).map_or("∅", String::as_str))
                    .collect::<Vec<_>>()
                    .join(" | ");
                (id, cells)
            })
            .collect();
        Snapshot { items }
    }
}

/// How one item differs between the expected (live) and the actual (rebuilt) table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Difference {
    /// In the live table only.
    Missing { key: String },
    /// In the rebuilt table only.
    Extra { key: String },
    /// In both, with a different value (or no value) for `attribute`.
    Changed {
        key: String,
        attribute: String,
        live: Option<String>,
        rebuilt: Option<String>,
    },
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Difference::Missing { key } => write!(f, "{key}: only in the live table"),
            Difference::Extra { key } => write!(f, "{key}: only in the rebuilt table"),
            Difference::Changed {
                key,
                attribute,
                live,
                rebuilt,
            } => write!(
                f,
                "{key}: {attribute} is {} live, {} rebuilt",
                live.as_deref().unwrap_or("absent"),
                rebuilt.as_deref().unwrap_or("absent")
            ),
        }
    }
}

/// Every difference between `live` and `rebuilt`, in key order.
pub fn compare(live: &Snapshot, rebuilt: &Snapshot) -> Vec<Difference> {
    let keys: BTreeSet<&String> = live.items.keys().chain(rebuilt.items.keys()).collect();
    let mut differences = Vec::new();
    for key in keys {
        match (live.items.get(key), rebuilt.items.get(key)) {
            (Some(_), None) => differences.push(Difference::Missing { key: key.clone() }),
            (None, Some(_)) => differences.push(Difference::Extra { key: key.clone() }),
            (Some(a), Some(b)) => {
                let attributes: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
                for attribute in attributes {
                    let (x, y) = (a.get(attribute), b.get(attribute));
                    if x != y {
                        differences.push(Difference::Changed {
                            key: key.clone(),
                            attribute: attribute.clone(),
                            live: x.cloned(),
                            rebuilt: y.cloned(),
                        });
                    }
                }
            }
            (None, None) => unreachable!("every key comes from one of the two tables"),
        }
    }
    differences
}

/// A value's canonical text: its type and content, numbers normalised, sets sorted.
fn canonical(value: &AttributeValue) -> String {
    match value {
        AttributeValue::S(s) => format!("{s:?}"),
        AttributeValue::N(n) => number(n),
        AttributeValue::Bool(b) => b.to_string(),
        AttributeValue::Null(_) => "null".into(),
        AttributeValue::B(b) => format!("<{} bytes>", b.as_ref().len()),
        AttributeValue::Ss(set) => sorted(set.iter().map(|s| format!("{s:?}"))),
        AttributeValue::Ns(set) => sorted(set.iter().map(|n| number(n))),
        AttributeValue::Bs(set) => {
            sorted(set.iter().map(|b| format!("<{} bytes>", b.as_ref().len())))
        }
        AttributeValue::L(list) => {
            let parts: Vec<String> = list.iter().map(canonical).collect();
            format!("[{}]", parts.join(", "))
        }
        AttributeValue::M(map) => {
            let parts: BTreeMap<&String, String> =
                map.iter().map(|(k, v)| (k, canonical(v))).collect();
            let parts: Vec<String> = parts.iter().map(|(k, v)| format!("{k}: {v}")).collect();
            format!("{{{}}}", parts.join(", "))
        }
        other => format!("{other:?}"),
    }
}

fn number(text: &str) -> String {
    Decimal::from_str_exact(text)
        .map(|d| d.normalize().to_string())
        .unwrap_or_else(|_| text.to_owned())
}

fn sorted(values: impl Iterator<Item = String>) -> String {
    let values: BTreeSet<String> = values.collect();
    format!("<<{}>>", values.into_iter().collect::<Vec<_>>().join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use finflow_shared::dynamo::{number, text};

    fn item(pairs: &[(&str, AttributeValue)]) -> HashMap<String, AttributeValue> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    fn snapshot(items: &[HashMap<String, AttributeValue>]) -> Snapshot {
        Snapshot::from_items(&["pk", "sk"], items)
    }

    #[test]
    fn equal_numbers_written_differently_are_equal() {
        let live = snapshot(&[item(&[
            ("pk", text("DAY")),
            ("sk", text("1")),
            ("volume", number("10.50")),
        ])]);
        let rebuilt = snapshot(&[item(&[
            ("pk", text("DAY")),
            ("sk", text("1")),
            ("volume", number("10.5")),
        ])]);
        assert_eq!(compare(&live, &rebuilt), []);
    }

    #[test]
    fn every_kind_of_difference_is_named_with_its_key_and_attribute() {
        let live = snapshot(&[
            item(&[("pk", text("A")), ("sk", text("1")), ("count", number("2"))]),
            item(&[("pk", text("B")), ("sk", text("1"))]),
            item(&[("pk", text("D")), ("sk", text("1")), ("tier", text("gold"))]),
        ]);
        let rebuilt = snapshot(&[
            item(&[("pk", text("A")), ("sk", text("1")), ("count", number("3"))]),
            item(&[("pk", text("C")), ("sk", text("1"))]),
            item(&[("pk", text("D")), ("sk", text("1"))]),
        ]);
        let differences: Vec<String> = compare(&live, &rebuilt)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            differences,
            [
                "\"A\" | \"1\": count is 2 live, 3 rebuilt",
                "\"B\" | \"1\": only in the live table",
                "\"C\" | \"1\": only in the rebuilt table",
                "\"D\" | \"1\": tier is \"gold\" live, absent rebuilt",
            ]
        );
    }

    #[test]
    fn a_string_is_never_equal_to_the_number_it_spells() {
        let live = snapshot(&[item(&[
            ("pk", text("A")),
            ("sk", text("1")),
            ("v", text("1")),
        ])]);
        let rebuilt = snapshot(&[item(&[
            ("pk", text("A")),
            ("sk", text("1")),
            ("v", number("1")),
        ])]);
        assert_eq!(compare(&live, &rebuilt).len(), 1);
    }
}
