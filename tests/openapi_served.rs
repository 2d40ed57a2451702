//! Every service serves its OpenAPI document, byte for byte the one in the repository: at
//! `/api/<service>/openapi.json` and `/api/v1/...` through the gateway (as API Gateway serves
//! all six), and at `/openapi.json` on the service's own port, without a token.

use finflow_system_tests::Platform;
use finflow_system_tests::openapi::{SERVICES, document_path};
use finflow_system_tests::services::GATEWAY;

#[tokio::test]
async fn every_service_serves_its_document_without_a_token() {
    let platform = Platform::connect().await;
    for (service, port) in SERVICES {
        let expected = std::fs::read_to_string(document_path(service)).unwrap();
        for url in [
            format!("http://127.0.0.1:{port}/openapi.json"),
            format!("{GATEWAY}/api/{service}/openapi.json"),
            format!("{GATEWAY}/api/v1/{service}/openapi.json"),
        ] {
            let response = platform.http.get(&url).send().await.unwrap();
            assert_eq!(response.status(), 200, "{url}");
            assert_eq!(
                response.headers()["content-type"],
                "application/json",
                "{url}"
            );
            assert!(
                response.text().await.unwrap() == expected,
                "{url} is not {service}.json"
            );
        }
    }
}
