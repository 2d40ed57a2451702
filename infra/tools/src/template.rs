//! What template.yaml says about dependencies: which service owns each table and function,
//! which rules route which events to which consumer, and which tables each function touches.

use std::collections::BTreeMap;

use serde_yaml::Value;

#[derive(Debug, Clone)]
pub struct Function {
    pub logical_id: String,
    pub service: String,
    /// Tables the function is configured with (environment variables referencing them).
    pub tables: Vec<String>,
    /// Queues it consumes.
    pub queues: Vec<String>,
    /// Its `HttpApi` routes: (method, path) as template.yaml writes them.
    pub http_routes: Vec<(String, String)>,
    /// Whether it serves routes that take a bearer token (anything but health checks).
    pub has_authenticated_routes: bool,
    /// Event sources (`finflow.<service>`) the function keeps working without.
    pub tolerates: Vec<String>,
    /// The binary it is built as (`Metadata.BuildProperties.Binary`).
    pub binary: Option<String>,
    /// The crate `sam build` builds that binary in (`CodeUri`, relative to the template);
    /// checked by this module's tests (the tools themselves build nothing).
    #[cfg_attr(not(test), allow(dead_code))]
    pub code_uri: Option<String>,
    /// The names of its environment variables, the global ones included.
    pub environment: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub logical_id: String,
    pub sources: Vec<String>,
    pub detail_types: Vec<String>,
    pub target_queues: Vec<String>,
}

#[derive(Debug, Default)]
pub struct Template {
    pub functions: Vec<Function>,
    pub rules: Vec<Rule>,
    /// Table logical id → owning service.
    pub table_owners: BTreeMap<String, String>,
}

/// The logical id a `!Ref X` or `!GetAtt X.Attr` points at.
fn referenced_id(value: &Value) -> Option<String> {
    match value {
        Value::Tagged(tagged) => tagged
            .value
            .as_str()
            .map(|target| target.split('.').next().unwrap_or(target).to_owned()),
        _ => None,
    }
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_sequence)
        .map(|items| {
            items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

impl Template {
    /// Every (METHOD, path) a function of the template serves through the HTTP API.
    pub fn http_routes(&self) -> Vec<(String, String)> {
        self.functions
            .iter()
            .flat_map(|function| function.http_routes.iter().cloned())
            .collect()
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        let document: Value =
            serde_yaml::from_str(text).map_err(|e| format!("template.yaml: {e}"))?;
        let resources = document
            .get("Resources")
            .and_then(Value::as_mapping)
            .ok_or("template.yaml has no Resources")?;
        let mut template = Template::default();
        let globals: Vec<String> = document
            .get("Globals")
            .and_then(|g| g.get("Function"))
            .and_then(|f| f.get("Environment"))
            .and_then(|e| e.get("Variables"))
            .and_then(Value::as_mapping)
            .map(|vars| {
                vars.keys()
                    .filter_map(|k| k.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        for (id, resource) in resources {
            let id = id.as_str().unwrap_or_default().to_owned();
            let kind = resource
                .get("Type")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let properties = resource.get("Properties").cloned().unwrap_or(Value::Null);
            match kind {
                "AWS::DynamoDB::Table" => {
                    let owner = properties
                        .get("Tags")
                        .and_then(Value::as_sequence)
                        .and_then(|tags| {
                            tags.iter()
                                .find(|t| t.get("Key").and_then(Value::as_str) == Some("service"))
                        })
                        .and_then(|tag| tag.get("Value").and_then(Value::as_str))
                        .ok_or_else(|| {
                            format!("table {id} has no `service` tag naming its owner")
                        })?;
                    template.table_owners.insert(id, owner.to_owned());
                }
                "AWS::Serverless::Function" => {
                    let tags = properties.get("Tags");
                    let service = tags
                        .and_then(|t| t.get("service"))
                        .and_then(Value::as_str)
                        .ok_or_else(|| format!("function {id} has no `service` tag"))?
                        .to_owned();
                    let tolerates = tags
                        .and_then(|t| t.get("tolerates-absence-of"))
                        .and_then(Value::as_str)
                        .map(|list| list.split_whitespace().map(str::to_owned).collect())
                        .unwrap_or_default();
                    let tables = properties
                        .get("Environment")
                        .and_then(|e| e.get("Variables"))
                        .and_then(Value::as_mapping)
                        .map(|vars| vars.values().filter_map(referenced_id).collect())
                        .unwrap_or_default();
                    let events: Vec<&Value> = properties
                        .get("Events")
                        .and_then(Value::as_mapping)
                        .map(|events| events.values().collect())
                        .unwrap_or_default();
                    fn of_type<'a>(
                        events: &[&'a Value],
                        kind: &'a str,
                    ) -> impl Iterator<Item = &'a Value> {
                        events
                            .iter()
                            .copied()
                            .filter(move |e| e.get("Type").and_then(Value::as_str) == Some(kind))
                    }
                    let http_routes: Vec<(String, String)> = of_type(&events, "HttpApi")
                        .filter_map(|e| {
                            let properties = e.get("Properties")?;
                            Some((
                                properties.get("Method")?.as_str()?.to_owned(),
                                properties.get("Path")?.as_str()?.to_owned(),
                            ))
                        })
                        .collect();
                    template.functions.push(Function {
                        logical_id: id,
                        service,
                        tables,
                        queues: of_type(&events, "SQS")
                            .filter_map(|e| {
                                e.get("Properties")?.get("Queue").and_then(referenced_id)
                            })
                            .collect(),
                        has_authenticated_routes: http_routes
                            .iter()
                            .any(|(_, path)| !path.ends_with("/health")),
                        http_routes,
                        tolerates,
                        binary: resource
                            .get("Metadata")
                            .and_then(|m| m.get("BuildProperties"))
                            .and_then(|b| b.get("Binary"))
                            .and_then(Value::as_str)
                            .map(str::to_owned),
                        code_uri: properties
                            .get("CodeUri")
                            .and_then(Value::as_str)
                            .map(str::to_owned),
                        environment: globals
                            .iter()
                            .cloned()
                            .chain(
                                properties
                                    .get("Environment")
                                    .and_then(|e| e.get("Variables"))
                                    .and_then(Value::as_mapping)
                                    .into_iter()
                                    .flatten()
                                    .filter_map(|(k, _)| k.as_str().map(str::to_owned)),
                            )
                            .collect(),
                    });
                }
                "AWS::Events::Rule" => {
                    let pattern = properties.get("EventPattern");
                    template.rules.push(Rule {
                        logical_id: id,
                        sources: strings(pattern.and_then(|p| p.get("source"))),
                        detail_types: strings(pattern.and_then(|p| p.get("detail-type"))),
                        target_queues: properties
                            .get("Targets")
                            .and_then(Value::as_sequence)
                            .map(|targets| {
                                targets
                                    .iter()
                                    .filter_map(|t| t.get("Arn").and_then(referenced_id))
                                    .collect()
                            })
                            .unwrap_or_default(),
                    });
                }
                _ => {}
            }
        }
        // Global environment variables (Globals.Function.Environment) reference platform
        // tables every function shares; they make no edge between services.
        Ok(template)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::Template;

    /// `sam build` runs `cargo lambda build --bin <Binary>` in the function's `CodeUri`: that
    /// must be a crate of its own holding the binary (the workspace root is the system tests'
    /// package, where cargo finds no function's binary).
    #[test]
    fn every_function_is_built_in_the_crate_that_holds_its_binary() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let template = Template::parse(include_str!("../../../template.yaml")).unwrap();
        assert!(!template.functions.is_empty());
        for function in &template.functions {
            let id = &function.logical_id;
            let binary = function
                .binary
                .as_deref()
                .expect("every function names its Binary");
            let code_uri = function
                .code_uri
                .as_deref()
                .expect("every function has a CodeUri");
            let manifest = std::fs::read_to_string(root.join(code_uri).join("Cargo.toml"))
                .unwrap_or_else(|e| panic!("{id}: CodeUri {code_uri} is not a crate: {e}"));
            assert!(
                manifest.contains("[package]"),
                "{id}: CodeUri {code_uri} is a workspace, not a package"
            );
            let entry = root
                .join(code_uri)
                .join("src/bin")
                .join(format!("{binary}.rs"));
            assert!(
                entry.is_file(),
                "{id}: {code_uri} has no binary {binary} ({} is missing)",
                entry.display()
            );
        }
    }
}
