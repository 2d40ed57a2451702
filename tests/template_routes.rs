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

/// Auth's authorizer guards exactly the routes whose document asks for a bearer token (it
/// confirms staff rights on each), and no public one (registration, login, health…), which
/// API Gateway would otherwise invoke it for in vain.
#[tokio::test]
async fn the_authorizer_guards_exactly_the_routes_that_take_a_token() {
    use finflow_system_tests::openapi::{canonical_path, load};
    let platform = Platform::connect().await;
    let mut wrong = Vec::new();
    let mut guarded = 0;
    for (logical_id, function) in &platform.manifest.functions {
        if function.http_routes.is_empty() {
            continue;
        }
        let document = load(&function.service);
        for route in &function.http_routes {
            let path = canonical_path(&route.path);
            let operation = &document["paths"][&path][route.method.to_ascii_lowercase()];
            let security = operation.get("security").or(document.get("security"));
            let takes_token = security
                .and_then(|s| s.as_array())
                .is_some_and(|requirements| !requirements.is_empty());
            let authorizer = route.authorizer.as_deref();
            if takes_token != authorizer.is_some() {
                wrong.push(format!(
                    "{logical_id}: {} {} takes a token: {takes_token}, authorizer: {authorizer:?}",
                    route.method, route.path
                ));
            }
            if let Some(authorizer) = authorizer {
                assert!(
                    platform.manifest.functions[authorizer].authorizer,
                    "{authorizer} guards a route but is not an authorizer"
                );
                guarded += 1;
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(guarded >= 20, "only {guarded} routes guarded");
}
