//! template.yaml is the truth: every HTTP route it declares is served by the function's code,
//! under `/api` and its `/api/v1` alias.

use finflow_system_tests::Platform;
use finflow_system_tests::services::SERVICES;

#[tokio::test]
async fn every_declared_route_is_served() {
    let platform = Platform::connect().await;
    let mut checked = 0;
    for (logical_id, function) in &platform.manifest.functions {
        let port = SERVICES
            .iter()
            .find(|(s, _)| *s == function.service)
            .map(|(_, p)| *p);
        for route in &function.http_routes {
            let port = port.unwrap_or_else(|| {
                panic!(
                    "{logical_id} belongs to unknown service {}",
                    function.service
                )
            });
            let path = route.path.replace("{id}", "1");
            let method = reqwest::Method::from_bytes(route.method.as_bytes()).unwrap();
            let response = platform
                .http
                .request(method, format!("http://127.0.0.1:{port}{path}"))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            assert!(
                status != 405 && body["detail"] != "No such route",
                "{logical_id} declares {} {} but it is not served: {status} {body}",
                route.method,
                route.path
            );
            checked += 1;
        }
    }
    assert!(
        checked >= 10,
        "only {checked} routes declared; the manifest lost them"
    );
}
