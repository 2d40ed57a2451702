//! `finflow staff grant|revoke <email> --by <operator>`: the operator's door to staff rights.
//!
//! Registering never makes staff. The first staff member is granted here, by someone with
//! write access to auth's table, through auth's own use case: the same decision, transaction,
//! audit record and `user.role_changed` event as a grant through the API, signed with the
//! operator's name. Auth's settings come from the function's environment as the manifest
//! records it (the local platform), or from this process's environment (`--process-env`, with
//! the variables of the deployed function: `USERS_TABLE`, `OUTBOX_TABLE`, `IDEMPOTENCY_TABLE`).

use std::path::PathBuf;

use finflow_auth::domain::{Email, OperatorName};
use finflow_auth::staff::UserRef;
use finflow_local::manifest::Manifest;
use finflow_shared::config::Env;
use finflow_shared::events::Causality;
use finflow_shared::jwt::Role;
use finflow_shared::trace::TraceId;

/// The function whose environment holds auth's settings: the one serving role changes.
const AUTH_BINARY: &str = "auth-profile";

/// Where auth's settings come from.
#[derive(Debug, Clone)]
pub enum Settings {
    /// The local platform's manifest (`stack.json`).
    Manifest(PathBuf),
    /// This process's environment.
    Process,
}

/// Sets the role of the user registered as `email` on behalf of the operator `by`; a line
/// saying what is now true.
pub async fn set_role(
    settings: &Settings,
    email: &str,
    role: Role,
    by: &str,
) -> Result<String, String> {
    let email = Email::parse(email).map_err(|reason| format!("email {email:?} {reason}"))?;
    let by = OperatorName::parse(by).map_err(|reason| format!("--by {reason}"))?;
    let env = match settings {
        Settings::Process => Env::process(),
        Settings::Manifest(path) => {
            let manifest = Manifest::load(path)?;
            let function = manifest
                .functions
                .values()
                .find(|function| function.binary == AUTH_BINARY)
                .ok_or_else(|| format!("{} has no {AUTH_BINARY} function", path.display()))?;
            Env::from_map(function.environment.clone())
        }
    };
    let sdk = finflow_shared::config::aws_sdk_config().await;
    let roles = finflow_auth::entry_points::staff_roles(&sdk, &env).map_err(|e| e.to_string())?;
    let trace_id = TraceId::generate();
    let user = roles
        .set_role(
            UserRef::Email(email),
            role,
            by.into(),
            &Causality::from_request(trace_id.clone()),
        )
        .await
        .map_err(|error| error.to_string())?;
    Ok(format!(
        "user {} ({}) is {} (version {}, trace {trace_id})\n",
        user.id,
        user.email,
        user.role.as_str(),
        user.version
    ))
}
