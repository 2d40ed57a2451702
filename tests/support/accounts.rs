//! Creating users through the public API.

use finflow_shared::jwt::Role;
use finflow_tools::staff::Settings;
use serde_json::{Value, json};

use crate::{AUTH, Platform, expect_json};

pub const PASSWORD: &str = "correct-horse-42";
/// The staff account's address: registered like anyone's, then granted staff by an operator.
pub const STAFF_EMAIL: &str = "ops@finflow.local";
/// The operator name the tests sign their grants with.
pub const OPERATOR: &str = "system-tests";

#[derive(Debug, Clone)]
pub struct Account {
    pub id: u64,
    pub email: String,
    pub access_token: String,
    pub refresh_token: String,
}

pub fn unique_email(tag: &str) -> String {
    format!("{tag}-{}@example.com", uuid::Uuid::new_v4().simple())
}

pub async fn register(platform: &Platform, email: &str) -> Value {
    let response = platform
        .http
        .post(format!("{AUTH}/api/auth/register"))
        .json(&json!({ "email": email, "password": PASSWORD, "name": "Test User" }))
        .send()
        .await
        .expect("register request is sent");
    expect_json(response, 201).await
}

pub async fn login(platform: &Platform, email: &str) -> Value {
    let response = platform
        .http
        .post(format!("{AUTH}/api/auth/login"))
        .json(&json!({ "username": email, "password": PASSWORD }))
        .send()
        .await
        .expect("login request is sent");
    expect_json(response, 200).await
}

pub async fn register_and_login(platform: &Platform, tag: &str) -> Account {
    let email = unique_email(tag);
    let user = register(platform, &email).await;
    account(platform, user, email).await
}

async fn account(platform: &Platform, user: Value, email: String) -> Account {
    let tokens = login(platform, &email).await;
    Account {
        id: user["id"].as_u64().expect("users have numeric ids"),
        email,
        access_token: tokens["access_token"]
            .as_str()
            .expect("an access token")
            .to_owned(),
        refresh_token: tokens["refresh_token"]
            .as_str()
            .expect("a refresh token")
            .to_owned(),
    }
}

/// Sets `email`'s role as an operator does (`finflow staff grant|revoke`), through auth's own
/// use case against the platform's table; retried when a concurrent change of the same user
/// wins the race.
pub async fn set_role_as_operator(email: &str, role: Role) -> String {
    let manifest = std::env::var("FINFLOW_MANIFEST").expect("FINFLOW_MANIFEST is set");
    let settings = Settings::Manifest(manifest.into());
    let mut attempts = 0;
    loop {
        match finflow_tools::staff::set_role(&settings, email, role, OPERATOR).await {
            Ok(done) => return done,
            Err(error) if error.contains("concurrently") && attempts < 5 => attempts += 1,
            Err(error) => panic!("operator's role change for {email}: {error}"),
        }
    }
}

/// The staff account: registered on first use (as a customer: registering never grants
/// staff), then granted staff by the operator.
pub async fn staff_account(platform: &Platform) -> Account {
    let response = platform
        .http
        .post(format!("{AUTH}/api/auth/register"))
        .json(&json!({ "email": STAFF_EMAIL, "password": PASSWORD, "name": "Operations" }))
        .send()
        .await
        .expect("register request is sent");
    let status = response.status().as_u16();
    assert!(
        status == 201 || status == 409,
        "staff registration answered {status}"
    );
    set_role_as_operator(STAFF_EMAIL, Role::Staff).await;
    let tokens = login(platform, STAFF_EMAIL).await;
    let me = platform
        .http
        .get(format!("{AUTH}/api/auth/me"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .expect("me request is sent");
    let user = expect_json(me, 200).await;
    assert_eq!(
        user["role"], "staff",
        "{STAFF_EMAIL} must be staff once granted"
    );
    Account {
        id: user["id"].as_u64().unwrap(),
        email: STAFF_EMAIL.into(),
        access_token: tokens["access_token"].as_str().unwrap().to_owned(),
        refresh_token: tokens["refresh_token"].as_str().unwrap().to_owned(),
    }
}
