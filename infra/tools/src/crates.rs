//! The crate graph, from `cargo metadata`: which service crate links which.

use std::process::Command;

use serde_json::Value;

/// `(dependent service, dependency service, crate)` for every `finflow-<service>` crate that
/// depends on another service's crate.
pub fn service_crate_edges() -> Result<Vec<(String, String, String)>, String> {
    let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .output()
        .map_err(|e| format!("cargo metadata: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let metadata: Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("cargo metadata output: {e}"))?;
    let service_of = |name: &str| name.strip_prefix("finflow-").map(str::to_owned);
    let mut edges = Vec::new();
    for package in metadata["packages"].as_array().into_iter().flatten() {
        let Some(from) = package["name"].as_str().and_then(service_of) else {
            continue;
        };
        for dependency in package["dependencies"].as_array().into_iter().flatten() {
            if let Some(name) = dependency["name"].as_str()
                && let Some(to) = service_of(name)
            {
                edges.push((from.clone(), to, name.to_owned()));
            }
        }
    }
    Ok(edges)
}
