//! Creating users through the public API.

use serde_json::{Value, json};

use crate::{AUTH, Platform, expect_json};

pub const PASSWORD: &str = "correct-horse-42";
/// template.yaml's local parameters make this address staff at registration.
pub const STAFF_EMAIL: &str = "ops@finflow.local";

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

/// The staff account, registered on first use.
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
        "{STAFF_EMAIL} must be staff (STAFF_EMAILS parameter)"
    );
    Account {
        id: user["id"].as_u64().unwrap(),
        email: STAFF_EMAIL.into(),
        access_token: tokens["access_token"].as_str().unwrap().to_owned(),
        refresh_token: tokens["refresh_token"].as_str().unwrap().to_owned(),
    }
}
