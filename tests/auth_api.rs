//! Auth through its HTTP API against the emulator: the seed's register and login, tokens,
//! sessions, ownership and every kind of bad input.

use finflow_shared::UserId;
use finflow_shared::config::Env;
use finflow_shared::jwt::{JwtSettings, Role, TokenKeys};
use finflow_system_tests::accounts::{PASSWORD, login};
use finflow_system_tests::{
    AUTH, Platform, expect_json, expect_problem, register, register_and_login, staff_account,
    unique_email,
};
use serde_json::json;

/// Keys with the platform's secret (read from the emulator's Secrets Manager as the functions
/// read it), or with `secret` to forge tokens.
async fn platform_keys(platform: &Platform, secret: Option<&str>) -> TokenKeys {
    let environment = platform.manifest.functions["AuthSessionFunction"]
        .environment
        .clone();
    let sdk = finflow_shared::config::aws_sdk_config().await;
    let local_secret = Env::from_map(environment)
        .with_secrets(&sdk)
        .await
        .expect("the signing secret is readable")
        .required("JWT_SECRET")
        .expect("AuthSessionFunction names the signing secret");
    TokenKeys::new(JwtSettings {
        secret: secret.unwrap_or(&local_secret).as_bytes().to_vec(),
        issuer: "finflow".into(),
        audience: "finflow-api".into(),
    })
}

async fn email_is_claimed(platform: &Platform, email: &str) -> bool {
    platform
        .item(
            "UsersTable",
            &format!("EMAIL#{}", email.to_ascii_lowercase()),
            Some("EMAIL"),
        )
        .await
        .is_some()
}

#[tokio::test]
async fn register_then_login_with_form_multipart_and_json_then_me() {
    let platform = Platform::connect().await;
    let email = unique_email("seed");
    let user = register(&platform, &email).await;
    assert_eq!(user["email"], email);
    assert_eq!(user["kyc_status"], "pending");
    assert_eq!(user["account_tier"], "bronze");
    assert!(
        user.get("password_hash").is_none(),
        "the hash never leaves auth: {user}"
    );

    // `curl -F username=... -F password=...` sends multipart/form-data.
    let form = reqwest::multipart::Form::new()
        .text("username", email.clone())
        .text("password", PASSWORD);
    let multipart = platform
        .http
        .post(format!("{AUTH}/api/auth/login"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let tokens = expect_json(multipart, 200).await;
    assert_eq!(tokens["token_type"], "bearer");

    let urlencoded = platform
        .http
        .post(format!("{AUTH}/api/auth/login"))
        .form(&[("username", email.as_str()), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    expect_json(urlencoded, 200).await;

    let json_login = login(&platform, &email).await;
    let me = platform
        .http
        .get(format!("{AUTH}/api/v1/auth/me"))
        .bearer_auth(json_login["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let me = expect_json(me, 200).await;
    assert_eq!(me["id"], user["id"]);
}

#[tokio::test]
async fn the_seeds_curl_commands_work_verbatim() {
    let email = unique_email("curl");
    let register = std::process::Command::new("curl")
        .args([
            "-s",
            "-X",
            "POST",
            &format!("{AUTH}/api/auth/register"),
            "-H",
            "Content-Type: application/json",
        ])
        .args([
            "-d",
            &format!(r#"{{"email": "{email}", "password": "{PASSWORD}", "name": "Seed User"}}"#),
        ])
        .output()
        .expect("curl runs");
    let user: serde_json::Value =
        serde_json::from_slice(&register.stdout).expect("register answers JSON");
    assert!(user["id"].as_u64().is_some(), "{user}");
    let login = std::process::Command::new("curl")
        .args(["-s", "-X", "POST", &format!("{AUTH}/api/auth/login")])
        .args([
            "-F",
            &format!("username={email}"),
            "-F",
            &format!("password={PASSWORD}"),
        ])
        .output()
        .expect("curl runs");
    let tokens: serde_json::Value =
        serde_json::from_slice(&login.stdout).expect("login answers JSON");
    assert!(
        tokens["access_token"]
            .as_str()
            .is_some_and(|t| t.split('.').count() == 3),
        "{tokens}"
    );
}

#[tokio::test]
async fn user_ids_are_small_integers_that_grow() {
    let platform = Platform::connect().await;
    let first = register(&platform, &unique_email("id")).await["id"]
        .as_u64()
        .unwrap();
    let second = register(&platform, &unique_email("id")).await["id"]
        .as_u64()
        .unwrap();
    assert!(first >= 1 && second > first, "{first} then {second}");
}

#[tokio::test]
async fn a_duplicate_email_is_409_whatever_its_case() {
    let platform = Platform::connect().await;
    let email = unique_email("dup");
    register(&platform, &email).await;
    let again = platform
        .http
        .post(format!("{AUTH}/api/auth/register"))
        .json(&json!({ "email": email.to_uppercase(), "password": PASSWORD, "name": "Twin" }))
        .send()
        .await
        .unwrap();
    let problem = expect_problem(again, 409).await;
    assert_eq!(problem["detail"], "Email already registered");
}

#[tokio::test]
async fn bad_input_is_a_4xx_problem_and_stores_nothing() {
    let platform = Platform::connect().await;
    let url = format!("{AUTH}/api/auth/register");

    let email = unique_email("malformed");
    let malformed = platform
        .http
        .post(&url)
        .header("content-type", "application/json")
        .body(format!(r#"{{"email": "{email}", "password": "#))
        .send()
        .await
        .unwrap();
    expect_problem(malformed, 400).await;
    assert!(!email_is_claimed(&platform, &email).await);

    let email = unique_email("missing");
    let missing = platform
        .http
        .post(&url)
        .json(&json!({ "email": email, "name": "No Password" }))
        .send()
        .await
        .unwrap();
    let problem = expect_problem(missing, 422).await;
    assert_eq!(problem["errors"][0]["field"], "password");
    assert!(!email_is_claimed(&platform, &email).await);

    let email = unique_email("weak");
    let weak = platform
        .http
        .post(&url)
        .json(&json!({ "email": email, "password": "short", "name": "" }))
        .send()
        .await
        .unwrap();
    let problem = expect_problem(weak, 422).await;
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["password", "name"]);
    assert!(!email_is_claimed(&platform, &email).await);

    let bad_email = platform
        .http
        .post(&url)
        .json(&json!({ "email": "not-an-email", "password": PASSWORD, "name": "X" }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        expect_problem(bad_email, 422).await["errors"][0]["field"],
        "email"
    );

    let email = unique_email("huge");
    let oversized = platform
        .http
        .post(&url)
        .json(&json!({ "email": email, "password": PASSWORD, "name": "x".repeat(200_000) }))
        .send()
        .await
        .unwrap();
    expect_problem(oversized, 413).await;
    assert!(!email_is_claimed(&platform, &email).await);

    let wrong_type = platform
        .http
        .post(&url)
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    expect_problem(wrong_type, 415).await;

    let wrong_method = platform.http.get(&url).send().await.unwrap();
    expect_problem(wrong_method, 405).await;
    let unknown = platform
        .http
        .get(format!("{AUTH}/api/auth/nowhere"))
        .send()
        .await
        .unwrap();
    expect_problem(unknown, 404).await;
}

#[tokio::test]
async fn wrong_credentials_are_401_without_saying_which_part_was_wrong() {
    let platform = Platform::connect().await;
    let account = register_and_login(&platform, "creds").await;
    for (username, password) in [
        (account.email.as_str(), "wrong-password-1"),
        ("nobody@example.com", PASSWORD),
    ] {
        let response = platform
            .http
            .post(format!("{AUTH}/api/auth/login"))
            .json(&json!({ "username": username, "password": password }))
            .send()
            .await
            .unwrap();
        assert_eq!(
            expect_problem(response, 401).await["detail"],
            "Incorrect email or password"
        );
    }
}

#[tokio::test]
async fn forged_expired_and_missing_tokens_are_401() {
    let platform = Platform::connect().await;
    let account = register_and_login(&platform, "tokens").await;
    let keys = platform_keys(&platform, None).await;
    let (expired, _) = keys
        .issue(
            UserId::new(account.id),
            "any",
            Role::Customer,
            time::Duration::minutes(-5),
        )
        .unwrap();
    let forger = platform_keys(&platform, Some("an-attacker-secret-that-is-32-bytes!")).await;
    let (forged, _) = forger
        .issue(
            UserId::new(account.id),
            "any",
            Role::Staff,
            time::Duration::minutes(5),
        )
        .unwrap();
    let payload = account.access_token.split('.').nth(1).unwrap();
    let alg_none = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
    for (token, detail) in [
        (expired.as_str(), "Token expired"),
        (forged.as_str(), "Invalid token"),
        (alg_none.as_str(), "Invalid token"),
        ("garbage", "Invalid token"),
    ] {
        let response = platform
            .http
            .get(format!("{AUTH}/api/auth/me"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        assert_eq!(expect_problem(response, 401).await["detail"], detail);
    }
    let anonymous = platform
        .http
        .get(format!("{AUTH}/api/auth/me"))
        .send()
        .await
        .unwrap();
    expect_problem(anonymous, 401).await;
}

#[tokio::test]
async fn refresh_rotates_and_logout_ends_the_session() {
    let platform = Platform::connect().await;
    let account = register_and_login(&platform, "session").await;
    let refresh = |token: String| {
        let platform = &platform;
        async move {
            platform
                .http
                .post(format!("{AUTH}/api/auth/refresh"))
                .json(&json!({ "refresh_token": token }))
                .send()
                .await
                .unwrap()
        }
    };
    let rotated = expect_json(refresh(account.refresh_token.clone()).await, 200).await;
    let new_refresh = rotated["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(new_refresh, account.refresh_token);
    let new_access = rotated["access_token"].as_str().unwrap().to_owned();

    let verified = platform
        .http
        .get(format!("{AUTH}/api/auth/verify-token"))
        .bearer_auth(&new_access)
        .send()
        .await
        .unwrap();
    assert_eq!(expect_json(verified, 200).await["user_id"], account.id);

    let logout = platform
        .http
        .post(format!("{AUTH}/api/auth/logout"))
        .bearer_auth(&new_access)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status().as_u16(), 204);
    expect_problem(refresh(new_refresh).await, 401).await;
    let after = platform
        .http
        .get(format!("{AUTH}/api/auth/me"))
        .bearer_auth(&new_access)
        .send()
        .await
        .unwrap();
    expect_problem(after, 401).await;
}

#[tokio::test]
async fn reusing_a_rotated_refresh_token_revokes_the_session() {
    let platform = Platform::connect().await;
    let account = register_and_login(&platform, "reuse").await;
    let refresh = |token: &str| {
        platform
            .http
            .post(format!("{AUTH}/api/auth/refresh"))
            .json(&json!({ "refresh_token": token }))
            .send()
    };
    let rotated = expect_json(refresh(&account.refresh_token).await.unwrap(), 200).await;
    expect_problem(refresh(&account.refresh_token).await.unwrap(), 401).await;
    // The stolen-token alarm ends the session for the legitimate holder too.
    expect_problem(
        refresh(rotated["refresh_token"].as_str().unwrap())
            .await
            .unwrap(),
        401,
    )
    .await;
}

#[tokio::test]
async fn users_see_only_themselves_and_staff_see_anyone() {
    let platform = Platform::connect().await;
    let alice = register_and_login(&platform, "alice").await;
    let bob = register_and_login(&platform, "bob").await;
    let staff = staff_account(&platform).await;
    let get = |id: u64, token: String| {
        let platform = &platform;
        async move {
            platform
                .http
                .get(format!("{AUTH}/api/auth/user/{id}"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(
        expect_json(get(alice.id, alice.access_token.clone()).await, 200).await["email"],
        alice.email
    );
    expect_problem(get(bob.id, alice.access_token.clone()).await, 403).await;
    assert_eq!(
        expect_json(get(bob.id, staff.access_token.clone()).await, 200).await["email"],
        bob.email
    );
    expect_problem(get(999_999_999, staff.access_token.clone()).await, 404).await;
    let not_an_id = platform
        .http
        .get(format!("{AUTH}/api/auth/user/abc"))
        .bearer_auth(&staff.access_token)
        .send()
        .await
        .unwrap();
    expect_problem(not_an_id, 404).await;
}

#[tokio::test]
async fn only_staff_change_tiers_and_only_to_known_tiers() {
    let platform = Platform::connect().await;
    let customer = register_and_login(&platform, "tier").await;
    let staff = staff_account(&platform).await;
    let change = |token: String, tier: &'static str| {
        let platform = &platform;
        let id = customer.id;
        async move {
            platform
                .http
                .put(format!("{AUTH}/api/auth/user/{id}/tier"))
                .bearer_auth(token)
                .json(&json!({ "account_tier": tier }))
                .send()
                .await
                .unwrap()
        }
    };
    expect_problem(change(customer.access_token.clone(), "gold").await, 403).await;
    expect_problem(change(staff.access_token.clone(), "platinum").await, 422).await;
    let upgraded = expect_json(change(staff.access_token.clone(), "gold").await, 200).await;
    assert_eq!(upgraded["account_tier"], "gold");
}

#[tokio::test]
async fn health_reports_its_table_outbox_and_bus() {
    let platform = Platform::connect().await;
    for path in ["/health", "/api/auth/health", "/api/v1/auth/health"] {
        let response = platform
            .http
            .get(format!("{AUTH}{path}"))
            .send()
            .await
            .unwrap();
        let report = expect_json(response, 200).await;
        assert_eq!(report["status"], "ok", "{report}");
        let checks: Vec<&str> = report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert!(
            checks
                .iter()
                .any(|c| c.starts_with("dynamodb:") && c.contains("users")),
            "{checks:?}"
        );
        assert!(
            checks.iter().any(|c| c.starts_with("eventbridge:")),
            "{checks:?}"
        );
        for queue in ["sqs:auth-kyc-events", "sqs:auth-kyc-events-dlq"] {
            assert!(checks.contains(&queue), "{checks:?}");
        }
    }
}
