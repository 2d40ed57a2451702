//! FinFlow's HTTP client for the AWS SDK, and what the layers under it (`aws_faults`,
//! `round_trips`) share: the client they wrap, and which AWS operation a request calls, read
//! from the request itself.

use aws_config::SdkConfig;
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;

/// The HTTP client every AWS SDK client in FinFlow uses: hyper 1 with rustls on ring. The SDK's
/// default (its `default-https-client` feature, off in the workspace) is rustls on aws-lc, a C
/// library that LTO cannot trim, with large x86_64 assembly; ring does the same TLS 1.2/1.3
/// that AWS's endpoints speak, in less code. Without this client the SDK has none, and its first
/// call fails with "no HTTP client", so every `aws_config` loader must be given it.
pub fn https_client() -> SharedHttpClient {
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// The HTTP client `config` has, or [`https_client`].
pub(crate) fn http_client_of(config: &SdkConfig) -> SharedHttpClient {
    config.http_client().unwrap_or_else(https_client)
}

/// The AWS operation an HTTP request calls.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Operation {
    pub(crate) service: &'static str,
    pub(crate) name: String,
}

impl Operation {
    /// JSON protocols name it in `X-Amz-Target`; SNS's query protocol in the form body.
    pub(crate) fn of(request: &HttpRequest) -> Option<Operation> {
        if let Some(target) = request.headers().get("x-amz-target") {
            let (prefix, name) = target.split_once('.')?;
            let service = match prefix {
                p if p.starts_with("DynamoDBStreams") => "dynamodbstreams",
                p if p.starts_with("DynamoDB") => "dynamodb",
                "AWSEvents" => "events",
                "AmazonSQS" => "sqs",
                "secretsmanager" => "secretsmanager",
                _ => return None,
            };
            return Some(Operation {
                service,
                name: name.to_owned(),
            });
        }
        let body = std::str::from_utf8(request.body().bytes()?).ok()?;
        let action = body
            .split('&')
            .find_map(|pair| pair.strip_prefix("Action="))?;
        Some(Operation {
            service: "sns",
            name: action.to_owned(),
        })
    }

    /// Whether `pattern` (`service:Operation`, either side `*`) names this operation.
    pub(crate) fn matches(&self, pattern: &str) -> bool {
        let (service, name) = pattern.split_once(':').unwrap_or((pattern, "*"));
        (service == "*" || service == self.service) && (name == "*" || name == self.name)
    }
}

impl std::fmt::Display for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.service, self.name)
    }
}
