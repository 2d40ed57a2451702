//! The one configuration loader. Every function reads its settings from environment variables
//! declared in template.yaml; the local runner starts each function's bootstrap with the same
//! variables, resolved from the provisioned stack (`Env::process`); tools that build a handler
//! without a process of its own use `Env::from_map`.

use std::collections::HashMap;
use std::sync::Arc;

use crate::jwt::JwtSettings;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is not set")]
    Missing(String),
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: String, reason: String },
}

type Lookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// A source of configuration variables.
#[derive(Clone)]
pub struct Env {
    lookup: Lookup,
}

impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Env")
    }
}

impl Env {
    /// The process environment, as Lambda provides it.
    pub fn process() -> Self {
        Env {
            lookup: Arc::new(|name| std::env::var(name).ok()),
        }
    }

    pub fn from_map(variables: HashMap<String, String>) -> Self {
        Env {
            lookup: Arc::new(move |name| variables.get(name).cloned()),
        }
    }

    pub fn optional(&self, name: &str) -> Option<String> {
        (self.lookup)(name).filter(|value| !value.is_empty())
    }

    pub fn required(&self, name: &str) -> Result<String, ConfigError> {
        self.optional(name)
            .ok_or_else(|| ConfigError::Missing(name.to_owned()))
    }
}

/// Settings every FinFlow function shares (Globals in template.yaml).
#[derive(Debug, Clone)]
pub struct PlatformConfig {
    pub stage: String,
    pub event_bus_name: String,
    pub outbox_table: String,
    pub idempotency_table: String,
    pub jwt: JwtSettings,
    /// Where the public API answers (the API Gateway; locally the runner's gateway port).
    /// Health checks reach upstream services through it.
    pub api_base_url: Option<String>,
}

impl PlatformConfig {
    pub fn load(env: &Env) -> Result<Self, ConfigError> {
        let secret = env.required("JWT_SECRET")?;
        if secret.len() < 32 {
            return Err(ConfigError::Invalid {
                name: "JWT_SECRET".into(),
                reason: "must be at least 32 bytes".into(),
            });
        }
        Ok(PlatformConfig {
            stage: env
                .optional("FINFLOW_STAGE")
                .unwrap_or_else(|| "dev".into()),
            event_bus_name: env.required("EVENT_BUS_NAME")?,
            outbox_table: env.required("OUTBOX_TABLE")?,
            idempotency_table: env.required("IDEMPOTENCY_TABLE")?,
            jwt: JwtSettings {
                secret: secret.into_bytes(),
                issuer: env
                    .optional("JWT_ISSUER")
                    .unwrap_or_else(|| "finflow".into()),
                audience: env
                    .optional("JWT_AUDIENCE")
                    .unwrap_or_else(|| "finflow-api".into()),
            },
            api_base_url: env
                .optional("API_BASE_URL")
                .map(|url| url.trim_end_matches('/').to_owned()),
        })
    }
}

/// Loads the AWS SDK configuration once per cold start. The SDK itself honours
/// `AWS_ENDPOINT_URL` (and per-service `AWS_ENDPOINT_URL_DYNAMODB` and so on), which is how the
/// same code talks to AWS, moto, DynamoDB Local or LocalStack. When `FINFLOW_FAULTS` names a
/// fault plan (only the local runner sets it), every AWS call goes through
/// [`crate::aws_faults`]. Every call is counted for the request making it
/// ([`crate::round_trips`]).
pub async fn aws_sdk_config() -> aws_config::SdkConfig {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let config = match Env::process().optional(crate::aws_faults::ENV) {
        Some(plan_file) => crate::aws_faults::inject(
            config,
            plan_file.into(),
            Env::process().optional("AWS_LAMBDA_FUNCTION_NAME"),
        ),
        None => config,
    };
    // Outermost, so that it records every attempt the SDK makes, injected faults included.
    crate::round_trips::record(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_map(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn loads_platform_settings() {
        let config = PlatformConfig::load(&env(&[
            ("JWT_SECRET", "0123456789abcdef0123456789abcdef"),
            ("EVENT_BUS_NAME", "finflow"),
            ("OUTBOX_TABLE", "outbox"),
            ("IDEMPOTENCY_TABLE", "idem"),
        ]))
        .unwrap();
        assert_eq!(config.jwt.issuer, "finflow");
        assert_eq!(config.outbox_table, "outbox");
    }

    #[test]
    fn rejects_a_short_secret_and_names_missing_variables() {
        let short = PlatformConfig::load(&env(&[("JWT_SECRET", "short")]));
        assert!(matches!(short, Err(ConfigError::Invalid { .. })));
        let missing = PlatformConfig::load(&env(&[("JWT_SECRET", &"x".repeat(32))]));
        assert!(matches!(missing, Err(ConfigError::Missing(name)) if name == "EVENT_BUS_NAME"));
    }
}
