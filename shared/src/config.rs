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
    #[error("the secret {name} names cannot be read: {reason}")]
    Unreadable { name: String, reason: String },
}

/// Variables whose value is a secret: the environment names the secret by its ARN
/// (`<NAME>_ARN`) and [`Env::with_secrets`] reads it, so the value is never part of the
/// function's configuration, which anyone allowed to read the function sees.
const SECRETS: [&str; 1] = ["JWT_SECRET"];

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

    /// This environment with every secret it names by ARN read from Secrets Manager: called
    /// once per cold start, before the handler is built. A function that names no secret makes
    /// no call.
    pub async fn with_secrets(self, sdk: &aws_config::SdkConfig) -> Result<Env, ConfigError> {
        let mut secrets = HashMap::new();
        for name in SECRETS {
            let arn_variable = format!("{name}_ARN");
            let Some(arn) = self.optional(&arn_variable) else {
                continue;
            };
            let unreadable = |reason: String| ConfigError::Unreadable {
                name: arn_variable.clone(),
                reason,
            };
            let answer = aws_sdk_secretsmanager::Client::new(sdk)
                .get_secret_value()
                .secret_id(&arn)
                .send()
                .await
                .map_err(|e| {
                    unreadable(aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string())
                })?;
            let value = answer
                .secret_string()
                .ok_or_else(|| unreadable("it holds no string".into()))?;
            secrets.insert(name.to_owned(), value.to_owned());
        }
        if secrets.is_empty() {
            return Ok(self);
        }
        let outer = self.lookup;
        Ok(Env {
            lookup: Arc::new(move |name| secrets.get(name).cloned().or_else(|| outer(name))),
        })
    }
}

impl JwtSettings {
    /// The token settings of a function that issues or verifies tokens; the secret comes from
    /// `JWT_SECRET`, read from Secrets Manager by [`Env::with_secrets`].
    pub fn load(env: &Env) -> Result<Self, ConfigError> {
        let secret = env.required("JWT_SECRET")?;
        if secret.len() < 32 {
            return Err(ConfigError::Invalid {
                name: "JWT_SECRET".into(),
                reason: "must be at least 32 bytes".into(),
            });
        }
        Ok(JwtSettings {
            secret: secret.into_bytes(),
            issuer: env
                .optional("JWT_ISSUER")
                .unwrap_or_else(|| "finflow".into()),
            audience: env
                .optional("JWT_AUDIENCE")
                .unwrap_or_else(|| "finflow-api".into()),
        })
    }
}

/// Settings every FinFlow function shares (Globals in template.yaml).
#[derive(Debug, Clone)]
pub struct PlatformConfig {
    pub stage: String,
    pub event_bus_name: String,
    pub outbox_table: String,
    pub idempotency_table: String,
    /// Where the public API answers (the API Gateway; locally the runner's gateway port).
    /// Health checks reach upstream services through it.
    pub api_base_url: Option<String>,
}

impl PlatformConfig {
    pub fn load(env: &Env) -> Result<Self, ConfigError> {
        Ok(PlatformConfig {
            stage: env
                .optional("FINFLOW_STAGE")
                .unwrap_or_else(|| "dev".into()),
            event_bus_name: env.required("EVENT_BUS_NAME")?,
            outbox_table: env.required("OUTBOX_TABLE")?,
            idempotency_table: env.required("IDEMPOTENCY_TABLE")?,
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
        .http_client(crate::aws_http::https_client())
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
    fn loads_platform_settings_without_any_secret() {
        let config = PlatformConfig::load(&env(&[
            ("EVENT_BUS_NAME", "finflow"),
            ("OUTBOX_TABLE", "outbox"),
            ("IDEMPOTENCY_TABLE", "idem"),
        ]))
        .unwrap();
        assert_eq!(config.outbox_table, "outbox");
        let missing = PlatformConfig::load(&env(&[("OUTBOX_TABLE", "outbox")]));
        assert!(matches!(missing, Err(ConfigError::Missing(name)) if name == "EVENT_BUS_NAME"));
    }

    #[test]
    fn token_settings_need_a_long_secret() {
        let jwt = JwtSettings::load(&env(&[("JWT_SECRET", &"x".repeat(32))])).unwrap();
        assert_eq!(
            (jwt.issuer.as_str(), jwt.audience.as_str()),
            ("finflow", "finflow-api")
        );
        let short = JwtSettings::load(&env(&[("JWT_SECRET", "short")]));
        assert!(matches!(short, Err(ConfigError::Invalid { .. })));
        assert!(matches!(
            JwtSettings::load(&env(&[])),
            Err(ConfigError::Missing(_))
        ));
    }

    #[tokio::test]
    async fn an_environment_naming_no_secret_reads_none() {
        let sdk = aws_config::SdkConfig::builder().build();
        let plain = env(&[("JWT_SECRET", "local")])
            .with_secrets(&sdk)
            .await
            .unwrap();
        assert_eq!(plain.optional("JWT_SECRET").as_deref(), Some("local"));
    }
}
