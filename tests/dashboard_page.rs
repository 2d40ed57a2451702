//! The operations dashboard (`GET /dashboard` on reporting's port) in a real headless
//! Chromium: the page loads, draws its charts from `GET /api/reports/dashboard` (what it drew,
//! read back from the SVG's data attributes, equals the API at the same moment), and a new
//! ON_HOLD payment shows up on it without a reload. Also: its security headers, and what it
//! says to a missing, refused or non-staff token.
//!
//! Other tests may run on the same platform at the same time, so the page is compared with a
//! snapshot of the API taken around the same moment (retried until both agree), and the new
//! hold is asserted as a change relative to the figures just before it.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use finflow_shared::Money;
use finflow_system_tests::accounts::Account;
use finflow_system_tests::browser::{Browser, state_dir};
use finflow_system_tests::events::CASCADE_TIMEOUT;
use finflow_system_tests::payments::{funded_wallet, transfer};
use finflow_system_tests::services::REPORTING;
use finflow_system_tests::{Platform, eventually, expect_json, register_and_login, staff_account};
use serde_json::{Value, json};

const TITLE: &str = "FinFlow · Operations dashboard";

/// One drawn figure: the data attributes of an element with `data-chart`.
type Mark = BTreeMap<String, String>;

/// What the page shows, read in one script run.
const SNAPSHOT: &str = r#"
const main = document.getElementById('dashboard');
const banner = document.getElementById('error');
const form = document.getElementById('token-form');
return {
  title: document.title,
  url: location.href,
  error: banner && !banner.hidden ? banner.textContent : null,
  token_form: !!form && !form.hidden,
  shown: !!main && !main.hidden,
  generation: main ? Number(main.dataset.generation || 0) : 0,
  charts: document.querySelectorAll('svg.chart').length,
  marks: Array.from(document.querySelectorAll('[data-chart]')).map((e) => Object.assign({}, e.dataset)),
  test_mark: window.__finflowTestMark || null,
};
"#;

#[derive(Debug)]
struct Page {
    title: String,
    url: String,
    error: Option<String>,
    token_form: bool,
    shown: bool,
    generation: u64,
    charts: u64,
    marks: Vec<Mark>,
    test_mark: Option<String>,
}

async fn snapshot(browser: &Browser) -> Page {
    let value = browser.execute(SNAPSHOT, vec![]).await;
    let mut marks: Vec<Mark> = value["marks"]
        .as_array()
        .expect("marks")
        .iter()
        .map(|m| serde_json::from_value(m.clone()).expect("data attributes are strings"))
        .collect();
    marks.sort();
    Page {
        title: value["title"].as_str().unwrap_or_default().to_owned(),
        url: value["url"].as_str().unwrap_or_default().to_owned(),
        error: value["error"].as_str().map(str::to_owned),
        token_form: value["token_form"] == true,
        shown: value["shown"] == true,
        generation: value["generation"].as_u64().unwrap_or(0),
        charts: value["charts"].as_u64().unwrap_or(0),
        marks,
        test_mark: value["test_mark"].as_str().map(str::to_owned),
    }
}

fn mark(pairs: &[(&str, String)]) -> Mark {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// What the page should draw for one answer of `GET /api/reports/dashboard`.
fn expected_marks(report: &Value) -> Vec<Mark> {
    let mut marks = Vec::new();
    for row in report["volume"].as_array().expect("volume rows") {
        marks.push(mark(&[
            ("chart", "volume".into()),
            ("day", text(&row["date"])),
            ("currency", text(&row["currency"])),
            ("status", text(&row["status"])),
            ("count", text(&row["count"])),
            ("volume", text(&row["volume"])),
        ]));
    }
    for total in report["totals"].as_array().expect("totals") {
        marks.push(mark(&[
            ("chart", "totals".into()),
            ("currency", text(&total["currency"])),
            ("status", text(&total["status"])),
            ("count", text(&total["count"])),
            ("volume", text(&total["volume"])),
        ]));
    }
    for (tier, count) in report["users"]["tiers"].as_object().expect("tiers") {
        marks.push(mark(&[
            ("chart", "tiers".into()),
            ("tier", tier.clone()),
            ("count", text(count)),
        ]));
    }
    marks.push(mark(&[
        ("chart", "users".into()),
        ("key", "registered".into()),
        ("count", text(&report["users"]["registered"])),
    ]));
    let funnel = &report["kyc_funnel"];
    for (stage, count) in [
        ("registered", &funnel["registered"]),
        ("submitted", &funnel["submissions"]),
        ("verified", &funnel["users_by_status"]["verified"]),
    ] {
        marks.push(mark(&[
            ("chart", "funnel".into()),
            ("stage", stage.into()),
            ("count", text(count)),
        ]));
    }
    let mut kyc = |key: String, count: &Value| {
        marks.push(mark(&[
            ("chart", "kyc".into()),
            ("key", key),
            ("count", text(count)),
        ]))
    };
    for (status, count) in funnel["users_by_status"].as_object().expect("statuses") {
        kyc(format!("status.{status}"), count);
    }
    for (by, outcomes) in funnel["decisions"].as_object().expect("decisions") {
        for (outcome, count) in outcomes.as_object().expect("outcomes") {
            kyc(format!("{by}.{outcome}"), count);
        }
    }
    for (key, value) in report["aml"].as_object().expect("aml") {
        if key == "held" {
            continue;
        }
        let mut aml = |key: String, count: &Value| {
            marks.push(mark(&[
                ("chart", "aml".into()),
                ("key", key),
                ("count", text(count)),
            ]))
        };
        match value.as_object() {
            Some(inner) => inner
                .iter()
                .for_each(|(k, count)| aml(format!("{key}.{k}"), count)),
            None => aml(key.clone(), value),
        }
    }
    for held in report["aml"]["held"].as_array().expect("held") {
        marks.push(mark(&[
            ("chart", "held".into()),
            ("currency", text(&held["currency"])),
            ("count", text(&held["count"])),
            ("volume", text(&held["volume"])),
        ]));
    }
    marks.sort();
    marks
}

async fn report(platform: &Platform, staff: &Account) -> Value {
    let response = platform
        .http
        .get(format!("{REPORTING}/api/reports/dashboard"))
        .bearer_auth(&staff.access_token)
        .send()
        .await
        .expect("dashboard report is sent");
    expect_json(response, 200).await
}

/// What differs between the page and the report, or `None` when they agree.
fn difference(page: &Page, report: &Value) -> Option<String> {
    let wanted = expected_marks(report);
    if page.marks == wanted {
        return None;
    }
    let missing: Vec<&Mark> = wanted.iter().filter(|m| !page.marks.contains(m)).collect();
    let extra: Vec<&Mark> = page.marks.iter().filter(|m| !wanted.contains(m)).collect();
    Some(format!(
        "the page (generation {}) differs from the report: not drawn {missing:?}; drawn but not in the report {extra:?}",
        page.generation
    ))
}

/// Waits until what the page drew equals the report fetched right after reading it; returns
/// that page and report.
async fn page_matches_report(
    browser: &Browser,
    platform: &Platform,
    staff: &Account,
) -> (Page, Value) {
    let started = Instant::now();
    let budget = Duration::from_secs(60);
    let (outcome, _) = eventually(
        "the page to agree with the report",
        budget + Duration::from_secs(30),
        || async {
            let page = snapshot(browser).await;
            let report = report(platform, staff).await;
            match difference(&page, &report) {
                None => Some(Ok((page, report))),
                Some(diff) if started.elapsed() > budget => Some(Err(diff)),
                Some(_) => None,
            }
        },
    )
    .await;
    outcome.unwrap_or_else(|diff| panic!("after {budget:?}, {diff}"))
}

/// The (count, volume) of one day, currency and status, as drawn (or as the report says).
fn drawn(page: &Page, chart: &str, day: Option<&str>, status: &str) -> (u64, Money) {
    page.marks
        .iter()
        .find(|m| {
            m["chart"] == chart
                && m.get("currency").map(String::as_str) == Some("USD")
                && m.get("status").map(String::as_str) == Some(status)
                && day.is_none_or(|d| m.get("day").map(String::as_str) == Some(d))
        })
        .map(|m| {
            (
                m["count"].parse().expect("a count"),
                Money::parse(&m["volume"]).expect("an exact volume"),
            )
        })
        .unwrap_or((0, Money::ZERO))
}

async fn load_dashboard(browser: &Browser, token: &str) -> Page {
    browser
        .goto(&format!("{REPORTING}/dashboard#token={token}"))
        .await;
    let (page, _) = eventually(
        "the dashboard to draw or to say why not",
        Duration::from_secs(30),
        || async {
            let page = snapshot(browser).await;
            (page.generation >= 1 || page.error.is_some()).then_some(page)
        },
    )
    .await;
    page
}

#[tokio::test]
async fn the_dashboard_draws_live_figures_and_shows_a_new_hold_without_reload() {
    let platform = Platform::connect().await;
    let staff = staff_account(&platform).await;
    let (payer, from) = funded_wallet(&platform, "dash-payer", "USD", "3000").await;
    let (_payee, to) = funded_wallet(&platform, "dash-payee", "USD", "0").await;
    let browser = Browser::start().await;

    // It loads, draws, and takes the token out of the address bar.
    let page = load_dashboard(&browser, &staff.access_token).await;
    assert_eq!(page.title, TITLE);
    assert_eq!(page.error, None, "the page shows an error");
    assert!(page.shown && !page.token_form, "{page:?}");
    assert!(!page.url.contains("token"), "token left in {}", page.url);
    assert!(page.charts >= 3, "volume, tier and funnel charts: {page:?}");
    for chart in ["volume", "totals", "tiers", "funnel", "kyc", "aml", "users"] {
        assert!(
            page.marks.iter().any(|m| m["chart"] == chart),
            "nothing drawn for {chart}: {:?}",
            page.marks
        );
    }

    // What it drew is what the API says (both read at the same moment).
    let (page, _) = page_matches_report(&browser, &platform, &staff).await;
    let mut tiers: Vec<&str> = page
        .marks
        .iter()
        .filter(|m| m["chart"] == "tiers")
        .map(|m| m["tier"].as_str())
        .collect();
    tiers.sort_unstable();
    assert_eq!(tiers, ["bronze", "gold", "silver"], "one bar per tier");

    // A new hold, and the page left alone: it must redraw by itself.
    let tag = uuid::Uuid::new_v4().to_string();
    browser
        .execute(
            "window.__finflowTestMark = arguments[0]; return true;",
            vec![json!(tag)],
        )
        .await;
    let before_report = report(&platform, &staff).await;
    let before_page = Page {
        marks: expected_marks(&before_report),
        ..page
    };
    let sent = expect_json(
        transfer(&platform, &payer, from, to, json!("950"), None).await,
        201,
    )
    .await;
    assert_eq!(sent["status"], "ON_HOLD", "{sent}");
    let day = sent["created_at"].as_str().expect("created_at")[..10].to_owned();
    let (held_before, held_volume_before) = drawn(&before_page, "volume", Some(&day), "ON_HOLD");
    let (total_before, total_volume_before) = drawn(&before_page, "totals", None, "ON_HOLD");
    let amount = Money::parse("950").unwrap();
    let wanted_day = (
        held_before + 1,
        held_volume_before.checked_add(amount).unwrap(),
    );
    let wanted_total = (
        total_before + 1,
        total_volume_before.checked_add(amount).unwrap(),
    );

    let (page, lag) = eventually(
        "the page to show the new hold",
        CASCADE_TIMEOUT * 2,
        || async {
            let page = snapshot(&browser).await;
            (drawn(&page, "volume", Some(&day), "ON_HOLD") == wanted_day).then_some(page)
        },
    )
    .await;
    println!("the page showed the hold after {lag:?}");
    assert_eq!(
        page.test_mark.as_deref(),
        Some(tag.as_str()),
        "the page was reloaded"
    );
    assert_eq!(page.error, None);
    assert!(page.generation > before_page.generation, "{page:?}");
    assert_eq!(drawn(&page, "totals", None, "ON_HOLD"), wanted_total);
    let segment = page
        .marks
        .iter()
        .find(|m| m["chart"] == "volume" && m["day"] == day && m["status"] == "ON_HOLD")
        .expect("the day's ON_HOLD segment");
    assert_eq!(segment["volume"], wanted_day.1.to_string(), "exact text");

    // And it still agrees with the API as a whole.
    page_matches_report(&browser, &platform, &staff).await;

    let png = browser.screenshot().await;
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG screenshot");
    let path = state_dir().join("dashboard.png");
    std::fs::write(&path, &png).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    println!("screenshot: {}", path.display());
    browser.quit().await;
}

#[tokio::test]
async fn the_dashboard_page_is_served_with_strict_headers_and_explains_refused_tokens() {
    let platform = Platform::connect().await;
    for (path, content_type) in [
        ("/dashboard", "text/html"),
        ("/dashboard/app.js", "text/javascript"),
        ("/dashboard/app.css", "text/css"),
    ] {
        let response = platform
            .http
            .get(format!("{REPORTING}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        assert!(header("content-type").starts_with(content_type), "{path}");
        assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header("referrer-policy"), "no-referrer", "{path}");
        assert_eq!(header("cache-control"), "no-store", "{path}");
        let csp = header("content-security-policy");
        for directive in [
            "default-src 'none'",
            "script-src 'self'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(directive), "{path}: {csp}");
        }
        assert!(!csp.contains("unsafe"), "{path}: {csp}");
    }
    // Pages live at the root only; the page is read-only.
    for (method, path, status) in [
        (reqwest::Method::GET, "/api/pages/dashboard", 404),
        (reqwest::Method::GET, "/api/v1/pages/dashboard", 404),
        (reqwest::Method::POST, "/dashboard", 405),
    ] {
        let response = platform
            .http
            .request(method, format!("{REPORTING}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{path}");
    }

    let browser = Browser::start().await;
    // No token: it asks for one and fetches nothing.
    browser.goto(&format!("{REPORTING}/dashboard")).await;
    let (page, _) = eventually(
        "the page to ask for a token",
        Duration::from_secs(20),
        || async {
            let page = snapshot(&browser).await;
            page.token_form.then_some(page)
        },
    )
    .await;
    assert_eq!(page.title, TITLE);
    assert!(!page.shown && page.marks.is_empty(), "{page:?}");

    // A customer's token: 403, said plainly.
    let customer = register_and_login(&platform, "dash-customer").await;
    let page = load_dashboard(&browser, &customer.access_token).await;
    let error = page.error.clone().expect("an error for a customer's token");
    assert!(error.contains("403") && error.contains("staff"), "{error}");
    assert!(
        page.token_form && !page.shown && page.marks.is_empty(),
        "{page:?}"
    );

    // A token that is not one: 401.
    let page = load_dashboard(&browser, "not-a-token").await;
    let error = page.error.clone().expect("an error for a bad token");
    assert!(error.contains("401"), "{error}");
    assert!(page.token_form && !page.shown, "{page:?}");

    // Pasting a staff token into the form shows the dashboard.
    let staff = staff_account(&platform).await;
    browser
        .execute(
            "document.getElementById('token-input').value = arguments[0];
             document.getElementById('token-form').requestSubmit();
             return true;",
            vec![json!(staff.access_token)],
        )
        .await;
    let (page, _) = eventually(
        "the pasted token to show the dashboard",
        Duration::from_secs(20),
        || async {
            let page = snapshot(&browser).await;
            (page.shown && page.generation >= 1).then_some(page)
        },
    )
    .await;
    assert_eq!(page.error, None);
    assert!(!page.token_form);
    browser.quit().await;
}
