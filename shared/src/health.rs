//! Health reports: a service's own resources and the dependencies it needs, each probed live.

use std::time::Instant;

use async_trait::async_trait;
use axum::Json;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde::Serialize;
use serde_json::{Value, json};

#[async_trait]
pub trait Probe: Send + Sync {
    fn name(&self) -> String;
    /// Details of a healthy resource, or why it is not healthy.
    async fn check(&self) -> Result<Value, String>;
}

#[derive(Debug, Serialize)]
pub struct CheckResult {
    pub name: String,
    pub status: &'static str,
    pub latency_ms: f64,
    #[serde(skip_serializing_if = "Value::is_null")]
    pub detail: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct HealthReport {
    pub service: String,
    pub status: &'static str,
    pub checks: Vec<CheckResult>,
}

impl IntoResponse for HealthReport {
    fn into_response(self) -> Response {
        let status = if self.status == "ok" {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        (status, Json(self)).into_response()
    }
}

/// Runs every probe concurrently.
pub async fn report(service: &str, probes: &[Box<dyn Probe>]) -> HealthReport {
    let checks = futures_util::future::join_all(probes.iter().map(|probe| async move {
        let started = Instant::now();
        let outcome = probe.check().await;
        let latency_ms = (started.elapsed().as_secs_f64() * 1000.0 * 10.0).round() / 10.0;
        match outcome {
            Ok(detail) => CheckResult {
                name: probe.name(),
                status: "ok",
                latency_ms,
                detail,
                error: None,
            },
            Err(error) => CheckResult {
                name: probe.name(),
                status: "down",
                latency_ms,
                detail: Value::Null,
                error: Some(error),
            },
        }
    }))
    .await;
    let healthy = checks.iter().all(|check| check.status == "ok");
    HealthReport {
        service: service.to_owned(),
        status: if healthy { "ok" } else { "degraded" },
        checks,
    }
}

/// A DynamoDB table the service owns or writes to.
pub struct TableProbe {
    pub client: aws_sdk_dynamodb::Client,
    pub table: String,
}

#[async_trait]
impl Probe for TableProbe {
    fn name(&self) -> String {
        format!("dynamodb:{}", self.table)
    }

    async fn check(&self) -> Result<Value, String> {
        let output = self
            .client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
            .map_err(|e| aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())?;
        let status = output
            .table()
            .and_then(|t| t.table_status())
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default();
        if status == "ACTIVE" {
            Ok(json!({ "table_status": status }))
        } else {
            Err(format!("table status is {status}"))
        }
    }
}

/// The event bus the outbox relay publishes to.
pub struct EventBusProbe {
    pub client: aws_sdk_eventbridge::Client,
    pub bus_name: String,
}

#[async_trait]
impl Probe for EventBusProbe {
    fn name(&self) -> String {
        format!("eventbridge:{}", self.bus_name)
    }

    async fn check(&self) -> Result<Value, String> {
        self.client
            .describe_event_bus()
            .name(&self.bus_name)
            .send()
            .await
            .map(|_| Value::Null)
            .map_err(|e| aws_sdk_eventbridge::error::DisplayErrorContext(e).to_string())
    }
}

/// A consumer queue or DLQ and its depth. A non-empty DLQ is reported, not failed: the
/// service still works, and alarms on the DLQ depth are what call a person.
pub struct QueueProbe {
    pub client: aws_sdk_sqs::Client,
    pub name: String,
    pub url: String,
}

#[async_trait]
impl Probe for QueueProbe {
    fn name(&self) -> String {
        format!("sqs:{}", self.name)
    }

    async fn check(&self) -> Result<Value, String> {
        use aws_sdk_sqs::types::QueueAttributeName;
        let output = self
            .client
            .get_queue_attributes()
            .queue_url(&self.url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(e).to_string())?;
        let attribute = |name: QueueAttributeName| -> u64 {
            output
                .attributes()
                .and_then(|a| a.get(&name))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        let visible = attribute(QueueAttributeName::ApproximateNumberOfMessages);
        let in_flight = attribute(QueueAttributeName::ApproximateNumberOfMessagesNotVisible);
        Ok(json!({ "depth": visible, "in_flight": in_flight }))
    }
}

/// An upstream service, through its public health route. A service is only as healthy as
/// what it depends on, so the upstream's own failed checks count as this probe's failure.
pub struct UpstreamProbe {
    pub service: &'static str,
    pub url: Option<String>,
    pub client: reqwest::Client,
}

impl UpstreamProbe {
    pub fn new(service: &'static str, api_base_url: Option<&str>) -> Self {
        UpstreamProbe {
            service,
            url: api_base_url.map(|base| format!("{base}/api/{service}/health")),
            client: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(3))
                .build()
                .expect("an HTTP client builds"),
        }
    }
}

#[async_trait]
impl Probe for UpstreamProbe {
    fn name(&self) -> String {
        format!("upstream:{}", self.service)
    }

    async fn check(&self) -> Result<Value, String> {
        let url = self.url.as_ref().ok_or("API_BASE_URL is not configured")?;
        let response = self
            .client
            .get(url)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let report: Value = response.json().await.map_err(|e| e.to_string())?;
        if status.is_success() {
            Ok(report)
        } else {
            Err(format!("{} answered {status}: {report}", self.service))
        }
    }
}

/// Builds a service's health function: its probes and the `/<service>/health` route.
pub struct HealthChecks {
    sdk: aws_config::SdkConfig,
    probes: Vec<Box<dyn Probe>>,
}

impl HealthChecks {
    pub fn new(sdk: &aws_config::SdkConfig) -> Self {
        HealthChecks {
            sdk: sdk.clone(),
            probes: Vec::new(),
        }
    }

    pub fn table(mut self, table: impl Into<String>) -> Self {
        let client = aws_sdk_dynamodb::Client::new(&self.sdk);
        self.probes.push(Box::new(TableProbe {
            client,
            table: table.into(),
        }));
        self
    }

    pub fn bus(mut self, bus_name: impl Into<String>) -> Self {
        let client = aws_sdk_eventbridge::Client::new(&self.sdk);
        self.probes.push(Box::new(EventBusProbe {
            client,
            bus_name: bus_name.into(),
        }));
        self
    }

    pub fn queue(mut self, name: impl Into<String>, url: impl Into<String>) -> Self {
        let client = aws_sdk_sqs::Client::new(&self.sdk);
        self.probes.push(Box::new(QueueProbe {
            client,
            name: name.into(),
            url: url.into(),
        }));
        self
    }

    pub fn upstream(mut self, service: &'static str, api_base_url: Option<&str>) -> Self {
        self.probes
            .push(Box::new(UpstreamProbe::new(service, api_base_url)));
        self
    }

    /// A dependency of a kind only one service has (notification's SNS topics), probed by
    /// that service's own `Probe`.
    pub fn probe(mut self, probe: Box<dyn Probe>) -> Self {
        self.probes.push(probe);
        self
    }

    /// The health route, relative to `/api`.
    pub fn routes(self, service: &'static str) -> axum::Router {
        let probes = std::sync::Arc::new(self.probes);
        axum::Router::new().route(
            &format!("/{service}/health"),
            axum::routing::get(move || {
                let probes = probes.clone();
                async move { report(service, &probes).await }
            }),
        )
    }
}
