//! `finflow contracts check` and `finflow contracts release`: the contract gate
//! (`finflow_contracts::gate`) run on the repository.
//!
//! - The consumers' declarations come from the code: every consumer function template.yaml
//!   triggers from SQS is built as its Lambda binary builds it (the services'
//!   `entry_points::consumer`, with placeholder configuration; nothing is called), and asked what
//!   it reads (`EventConsumer::reads`).
//! - The baseline is the released schemas: `events/released/` (committed; `finflow contracts
//!   release` updates it once the check passes), or `events/schemas/` at a git ref with
//!   `--base-ref REF` or `FINFLOW_CONTRACTS_BASE_REF` (e.g. the target branch of a pull request).
//! - The HTTP APIs are checked alongside (`crate::api_contracts`): `events/openapi/` against
//!   `events/released/openapi/`, with the routes template.yaml serves.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use finflow_contracts::Registry;
use finflow_contracts::gate::{self, Consumer, Report};
use finflow_shared::config::Env;
use finflow_shared::consumer::EventConsumer;
use finflow_shared::runtime::BuildConsumer;

use crate::api_contracts;
use crate::template::{Function, Template};

/// Every service's consumer functions by binary name, whose builders the Lambda binaries call.
const CONSUMER_FUNCTIONS: &[fn(&str) -> Option<BuildConsumer>] = &[
    finflow_auth::entry_points::consumer,
    finflow_wallet::entry_points::consumer,
    finflow_kyc::entry_points::consumer,
    finflow_payment::entry_points::consumer,
    finflow_reporting::entry_points::consumer,
    finflow_notification::entry_points::consumer,
];

pub const USAGE: &str = "finflow contracts check [--base DIR | --base-ref REF] [--schemas DIR] [--template PATH]\n       finflow contracts release [--schemas DIR] [--template PATH]";

/// A consumer function of template.yaml, as built from the code.
pub struct Built {
    pub logical_id: String,
    pub consumer: Consumer,
}

/// Every consumer function in `template`, built from the code, with what it declares.
pub fn consumers(template: &Template) -> Result<Vec<Built>, String> {
    let mut built = Vec::new();
    for function in template.functions.iter().filter(|f| !f.queues.is_empty()) {
        let consumer = build_consumer(function)?;
        built.push(Built {
            logical_id: function.logical_id.clone(),
            consumer: Consumer::new(consumer.name(), &function.service, consumer.reads()),
        });
    }
    Ok(built)
}

/// `function`'s consumer, built as its Lambda binary builds it, with every variable the
/// template gives it (placeholder values: nothing is called).
pub fn build_consumer(function: &Function) -> Result<Arc<dyn EventConsumer>, String> {
    let sdk = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .build();
    let binary = function
        .binary
        .as_deref()
        .ok_or_else(|| format!("{} names no Binary", function.logical_id))?;
    let env = Env::from_map(
        function
            .environment
            .iter()
            .map(|name| (name.clone(), format!("contracts-{name}-0123456789abcdef")))
            .collect(),
    );
    let build = CONSUMER_FUNCTIONS
        .iter()
        .find_map(|of_service| of_service(binary))
        .ok_or_else(|| {
            format!(
                "{} ({binary}): no service builds this consumer; add the service's \
                 `entry_points::consumer` to CONSUMER_FUNCTIONS in infra/tools/src/contracts.rs",
                function.logical_id
            )
        })?;
    build(&sdk, &env).map_err(|e| format!("{} ({binary}): {e}", function.logical_id))
}

/// `finflow contracts <check|release> ...`. `Ok` carries the report; `Err` a failed check.
pub fn command(args: &[String]) -> Result<String, String> {
    let (action, rest) = args.split_first().ok_or(USAGE)?;
    let mut base: Option<PathBuf> = None;
    let mut base_ref = std::env::var("FINFLOW_CONTRACTS_BASE_REF")
        .ok()
        .filter(|r| !r.is_empty());
    let mut schemas = PathBuf::from("events/schemas");
    let mut template_path = PathBuf::from("template.yaml");
    let mut rest = rest.iter();
    while let Some(arg) = rest.next() {
        let mut value = || rest.next().cloned().ok_or(USAGE);
        match arg.as_str() {
            "--base" => base = Some(value()?.into()),
            "--base-ref" => base_ref = Some(value()?),
            "--schemas" => schemas = value()?.into(),
            "--template" => template_path = value()?.into(),
            _ => return Err(USAGE.into()),
        }
    }
    let released_dir = schemas.parent().unwrap_or(Path::new(".")).join("released");
    let template = std::fs::read_to_string(&template_path)
        .map_err(|e| format!("{}: {e}", template_path.display()))?;
    let template = Template::parse(&template)?;
    let consumers: Vec<Consumer> = consumers(&template)?
        .into_iter()
        .map(|b| b.consumer)
        .collect();
    let documents = schemas.parent().unwrap_or(Path::new(".")).join("openapi");
    let released_documents = released_dir.join("openapi");
    let apis = api_contracts::check(
        &api_contracts::load(&released_documents)?,
        &api_contracts::load(&documents)?,
        &template.http_routes(),
    );
    let current = Registry::load_from(&schemas)?;
    match action.as_str() {
        "check" => {
            let (released, label) = match (base, base_ref) {
                (Some(dir), _) => (Registry::load_from(&dir)?, dir.display().to_string()),
                (None, Some(reference)) => (
                    registry_at_ref(&reference, &schemas)?,
                    format!("{} at {reference}", schemas.display()),
                ),
                (None, None) => (
                    Registry::load_from(&released_dir)?,
                    released_dir.display().to_string(),
                ),
            };
            let report = gate::check(&released, &current, &consumers);
            both(
                finish(&report, &format!("against {label}")),
                finish_apis(&apis, &released_documents),
            )
        }
        "release" => {
            let released = Registry::load_from(&released_dir)?;
            let report = gate::check(&released, &current, &consumers);
            let text = both(
                finish(&report, &format!("against {}", released_dir.display())),
                finish_apis(&apis, &released_documents),
            )?;
            release(&schemas, &released_dir)?;
            release(&documents, &released_documents)?;
            Ok(format!(
                "{text}released: {} now holds {}, {} holds {}\n",
                released_dir.display(),
                schemas.display(),
                released_documents.display(),
                documents.display()
            ))
        }
        _ => Err(USAGE.into()),
    }
}

fn finish_apis(report: &api_contracts::ApiReport, released: &Path) -> Result<String, String> {
    let text = format!(
        "HTTP APIs against {}:\n{}",
        released.display(),
        report.render()
    );
    if report.problems.is_empty() {
        Ok(text)
    } else {
        Err(text)
    }
}

/// Both verdicts, passed only when both did.
fn both(events: Result<String, String>, apis: Result<String, String>) -> Result<String, String> {
    match (events, apis) {
        (Ok(events), Ok(apis)) => Ok(events + &apis),
        (Ok(text) | Err(text), Ok(other) | Err(other)) => Err(text + &other),
    }
}

fn finish(report: &Report, label: &str) -> Result<String, String> {
    let text = format!("contracts {label}: {}", report.render());
    if report.passed() { Ok(text) } else { Err(text) }
}

/// Makes `released` a copy of `schemas`: every schema file, and none that is gone.
fn release(schemas: &Path, released: &Path) -> Result<(), String> {
    std::fs::create_dir_all(released).map_err(|e| format!("{}: {e}", released.display()))?;
    let json_files = |dir: &Path| -> Result<Vec<PathBuf>, String> {
        Ok(std::fs::read_dir(dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect())
    };
    for old in json_files(released)? {
        std::fs::remove_file(&old).map_err(|e| format!("{}: {e}", old.display()))?;
    }
    for file in json_files(schemas)? {
        let target = released.join(file.file_name().expect("a file"));
        std::fs::copy(&file, &target).map_err(|e| format!("{}: {e}", target.display()))?;
    }
    Ok(())
}

/// The schemas in `dir` (a path in the repository) as committed at `reference`.
fn registry_at_ref(reference: &str, dir: &Path) -> Result<Registry, String> {
    let git = |args: &[&str]| -> Result<String, String> {
        let output = std::process::Command::new("git")
            .args(args)
            .output()
            .map_err(|e| format!("git: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "git {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        String::from_utf8(output.stdout).map_err(|e| e.to_string())
    };
    let dir = dir.to_string_lossy().trim_end_matches('/').to_owned();
    let listing = git(&["ls-tree", "--name-only", reference, &format!("{dir}/")])?;
    let mut files = Vec::new();
    for path in listing.lines().filter(|p| p.ends_with(".json")) {
        let name = path.rsplit('/').next().unwrap_or(path).to_owned();
        files.push((name, git(&["show", &format!("{reference}:{path}")])?));
    }
    Registry::from_files(files)
}

/// The consumers of the template.yaml this crate was compiled with: the gate's tests check
/// the repository's real consumers.
pub fn repository_consumers() -> Result<Vec<Consumer>, String> {
    let template = Template::parse(include_str!("../../../template.yaml"))?;
    Ok(consumers(&template)?
        .into_iter()
        .map(|built| built.consumer)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn real_consumers() -> Vec<Consumer> {
        repository_consumers().unwrap()
    }

    #[test]
    fn every_consumer_of_the_template_is_built_from_the_code() {
        let consumers = real_consumers();
        let names: Vec<&str> = consumers.iter().map(|c| c.name.as_str()).collect();
        for expected in [
            "wallet.customers",
            "payment.customers",
            "auth.kyc_decisions",
            "kyc.registrations",
            "kyc.aml-monitoring",
            "payment.aml-decisions",
            "reporting.projector",
            "notification.dispatch",
        ] {
            assert!(
                names.contains(&expected),
                "{expected} missing from {names:?}"
            );
        }
        let wallet = consumers
            .iter()
            .find(|c| c.name == "wallet.customers")
            .unwrap();
        assert_eq!(wallet.service, "wallet");
    }

    #[test]
    fn the_repository_passes_its_own_gate() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let released = Registry::load_from(&root.join("events/released")).unwrap();
        let current = Registry::load_from(&root.join("events/schemas")).unwrap();
        let report = gate::check(&released, &current, &real_consumers());
        assert!(report.passed(), "{}", report.render());
    }
}
