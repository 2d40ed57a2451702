//! The operations dashboard: `GET /dashboard`, a self-contained page (its script and stylesheet
//! on their own routes, nothing from elsewhere) that draws `GET /api/reports/dashboard` as SVG
//! charts and redraws it every few seconds.
//!
//! The page itself is public and holds no data: the figures come from the JSON endpoint, which
//! takes a staff bearer token that the page keeps in the tab's session storage (from the URL
//! fragment, never sent to the server, or a paste form). The routes are declared under
//! [`PAGES`](finflow_shared::http::PAGES), so the app serves them at the root (`/dashboard`,
//! `/dashboard/app.js`, `/dashboard/app.css`) as template.yaml declares them.

use axum::Router;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::HeaderValue;
use http::header::{CONTENT_TYPE, HeaderName};

const INDEX_HTML: &str = include_str!("index.html");
const APP_JS: &str = include_str!("app.js");
const APP_CSS: &str = include_str!("app.css");

/// Only this origin's own script, stylesheet and API; no inline script or style, no frames,
/// no forms posted anywhere, no `<base>` rewrites.
pub const CONTENT_SECURITY_POLICY_VALUE: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

/// The headers every dashboard response carries, besides its content type.
pub const SECURITY_HEADERS: [(&str, &str); 8] = [
    ("content-security-policy", CONTENT_SECURITY_POLICY_VALUE),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "DENY"),
    ("cache-control", "no-store"),
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-resource-policy", "same-origin"),
    (
        "permissions-policy",
        "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    ),
];

/// The page's routes, under [`PAGES`](finflow_shared::http::PAGES) as the app expects them
/// (literal paths, as tests/openapi_documents.rs reads them).
pub fn routes() -> Router {
    Router::new()
        .route("/pages/dashboard", get(index))
        .route("/pages/dashboard/app.js", get(script))
        .route("/pages/dashboard/app.css", get(stylesheet))
}

async fn index() -> Response {
    asset("text/html; charset=utf-8", INDEX_HTML)
}

async fn script() -> Response {
    asset("text/javascript; charset=utf-8", APP_JS)
}

async fn stylesheet() -> Response {
    asset("text/css; charset=utf-8", APP_CSS)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    for (name, value) in SECURITY_HEADERS {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header<'a>(response: &'a Response, name: &str) -> &'a str {
        response
            .headers()
            .get(name)
            .unwrap_or_else(|| panic!("{name} is missing"))
            .to_str()
            .unwrap()
    }

    #[test]
    fn the_routes_are_declared_where_the_app_serves_pages() {
        let source = include_str!("mod.rs");
        let declared: Vec<&str> = source
            .split(".route(\"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .collect();
        assert_eq!(declared.len(), 3, "{declared:?}");
        for path in declared {
            assert!(
                path.starts_with(&format!("{}/dashboard", finflow_shared::http::PAGES)),
                "{path}"
            );
        }
    }

    #[tokio::test]
    async fn every_asset_carries_strict_security_headers() {
        for (response, content_type) in [
            (index().await, "text/html; charset=utf-8"),
            (script().await, "text/javascript; charset=utf-8"),
            (stylesheet().await, "text/css; charset=utf-8"),
        ] {
            assert_eq!(response.status(), 200);
            assert_eq!(header(&response, "content-type"), content_type);
            assert_eq!(header(&response, "x-content-type-options"), "nosniff");
            assert_eq!(header(&response, "referrer-policy"), "no-referrer");
            assert_eq!(header(&response, "cache-control"), "no-store");
            assert_eq!(header(&response, "x-frame-options"), "DENY");
            let csp = header(&response, "content-security-policy");
            let directives: Vec<&str> = csp.split(';').map(str::trim).collect();
            for wanted in [
                "default-src 'none'",
                "script-src 'self'",
                "style-src 'self'",
                "connect-src 'self'",
                "frame-ancestors 'none'",
                "base-uri 'none'",
                "form-action 'none'",
            ] {
                assert!(directives.contains(&wanted), "{wanted} missing: {csp}");
            }
            assert!(!csp.contains("unsafe"), "{csp}");
            assert!(!csp.contains('*'), "{csp}");
        }
    }

    #[test]
    fn the_page_is_self_contained_with_no_inline_script_or_style() {
        // Everything it loads is one of its own routes...
        for needle in ["src=\"/dashboard/app.js\"", "href=\"/dashboard/app.css\""] {
            assert!(INDEX_HTML.contains(needle), "{needle}");
        }
        // ...and nothing else: no other origin, no inline code the CSP would block anyway.
        for asset in [INDEX_HTML, APP_JS, APP_CSS] {
            for external in ["http://", "https://", "//cdn", "@import", "url("] {
                let allowed = "http://www.w3.org/2000/svg";
                let stripped = asset.replace(allowed, "");
                assert!(!stripped.contains(external), "{external} in an asset");
            }
        }
        assert_eq!(INDEX_HTML.matches("<script").count(), 1);
        assert!(!INDEX_HTML.contains("<style"));
        assert!(!INDEX_HTML.contains(" style="));
        let handlers = INDEX_HTML.split(" on").skip(1).filter(|rest| {
            let name: String = rest.chars().take_while(char::is_ascii_lowercase).collect();
            !name.is_empty() && rest[name.len()..].starts_with('=')
        });
        assert_eq!(handlers.count(), 0, "no inline event handlers");
        assert!(!APP_JS.contains("innerHTML"), "text goes in as text");
        assert!(!APP_JS.contains("eval("));
    }
}
