//! Staff rights through the platform: registering never grants them, only an operator's
//! bootstrap grant or another staff member does, every change is recorded and emits
//! `user.role_changed`, and revoking them (or ending the session) takes them away at once in
//! every service, through the gateway's authorizer.

use aws_sdk_dynamodb::types::AttributeValue;
use finflow_shared::jwt::Role;
use finflow_system_tests::accounts::{Account, STAFF_EMAIL, register, set_role_as_operator};
use finflow_system_tests::events::{CASCADE_TIMEOUT, outbox_event};
use finflow_system_tests::services::{KYC, NOTIFICATION};
use finflow_system_tests::{
    AUTH, Platform, eventually, expect_json, expect_problem, register_and_login, staff_account,
    unique_email,
};
use serde_json::{Value, json};

async fn set_role(platform: &Platform, token: &str, user_id: u64, role: &str) -> reqwest::Response {
    platform
        .http
        .put(format!("{AUTH}/api/auth/user/{user_id}/role"))
        .bearer_auth(token)
        .json(&json!({ "role": role }))
        .send()
        .await
        .unwrap()
}

/// A staff-only operation in another service than auth: AML's case list.
async fn aml_cases(platform: &Platform, token: &str) -> reqwest::Response {
    platform
        .http
        .get(format!("{KYC}/api/aml/cases"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

async fn profile_of(platform: &Platform, token: &str, user_id: u64) -> reqwest::Response {
    platform
        .http
        .get(format!("{AUTH}/api/auth/user/{user_id}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

/// The audit records of `user_id`'s role changes, oldest first.
async fn role_records(platform: &Platform, user_id: u64) -> Vec<(String, String, Value)> {
    let output = platform
        .dynamo
        .query()
        .table_name(platform.table("UsersTable"))
        .key_condition_expression("pk = :pk AND begins_with(sk, :role)")
        .expression_attribute_values(":pk", AttributeValue::S(format!("USER#{user_id}")))
        .expression_attribute_values(":role", AttributeValue::S("ROLE#".into()))
        .consistent_read(true)
        .send()
        .await
        .expect("the users table answers");
    output
        .items()
        .iter()
        .map(|item| {
            let text = |name: &str| item[name].as_s().unwrap().clone();
            (
                text("previous_role"),
                text("role"),
                serde_json::from_str(&text("changed_by")).unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn registering_never_grants_staff_rights() {
    let platform = Platform::connect().await;
    let user = register(&platform, &unique_email("self-made")).await;
    assert_eq!(user["role"], "customer");
    // The address the local platform used to make staff at registration: whoever registers
    // it first gets a customer account (the staff tests grant it staff afterwards).
    let response = platform
        .http
        .post(format!("{AUTH}/api/auth/register"))
        .json(&json!({ "email": STAFF_EMAIL, "password": "correct-horse-42", "name": "Ops" }))
        .send()
        .await
        .unwrap();
    if response.status() == 201 {
        assert_eq!(expect_json(response, 201).await["role"], "customer");
    }
}

#[tokio::test]
async fn only_a_grant_makes_staff_and_every_change_is_recorded_with_its_event() {
    let platform = Platform::connect().await;
    let staff = staff_account(&platform).await;
    let alice = register_and_login(&platform, "grantee").await;
    let bob = register_and_login(&platform, "bystander").await;

    // A customer grants nothing: not to themselves, not to anyone.
    for target in [alice.id, bob.id] {
        expect_problem(
            set_role(&platform, &alice.access_token, target, "staff").await,
            403,
        )
        .await;
    }
    expect_problem(aml_cases(&platform, &alice.access_token).await, 403).await;
    // Bad input is a 422 that changes nothing.
    expect_problem(
        set_role(&platform, &staff.access_token, alice.id, "admin").await,
        422,
    )
    .await;
    expect_problem(
        set_role(&platform, &staff.access_token, 999_999_999, "staff").await,
        404,
    )
    .await;

    let granted = set_role(&platform, &staff.access_token, alice.id, "staff").await;
    assert_eq!(expect_json(granted, 200).await["role"], "staff");
    // Granting again changes nothing and records nothing.
    let again = set_role(&platform, &staff.access_token, alice.id, "staff").await;
    assert_eq!(expect_json(again, 200).await["role"], "staff");
    assert_eq!(
        role_records(&platform, alice.id).await,
        [(
            "customer".into(),
            "staff".into(),
            json!({ "staff": staff.id })
        )]
    );
    let event = outbox_event(&platform, "user.role_changed", alice.id)
        .await
        .expect("the grant emitted user.role_changed");
    assert_eq!(event.data["role"], "staff");
    assert_eq!(event.data["previous_role"], "customer");
    assert_eq!(event.data["changed_by"], json!({ "staff": staff.id }));
    // The owner hears of it: a change of what their account may do is a security notice.
    let (subject, _) = eventually("alice's staff-rights e-mail", CASCADE_TIMEOUT, || async {
        let response = platform
            .http
            .get(format!("{NOTIFICATION}/api/notification/list"))
            .bearer_auth(&alice.access_token)
            .send()
            .await
            .unwrap();
        let page = expect_json(response, 200).await;
        page["items"]
            .as_array()
            .into_iter()
            .flatten()
            .find_map(|n| {
                (n["event_type"] == "user.role_changed" && n["channel"] == "email")
                    .then(|| n["subject"].as_str().unwrap_or_default().to_owned())
            })
    })
    .await;
    assert_eq!(subject, "Staff rights were granted to your account");

    // Her token from before the grant says customer; a new login gives staff rights.
    expect_problem(aml_cases(&platform, &alice.access_token).await, 403).await;
    let alice_staff = relogin(&platform, &alice).await;
    expect_json(aml_cases(&platform, &alice_staff).await, 200).await;
    expect_json(profile_of(&platform, &alice_staff, bob.id).await, 200).await;
    // Nobody changes their own role, even staff.
    expect_problem(
        set_role(&platform, &alice_staff, alice.id, "customer").await,
        403,
    )
    .await;

    // The operator's door records its name.
    let carol = register_and_login(&platform, "operator-grant").await;
    set_role_as_operator(&carol.email, Role::Staff).await;
    assert_eq!(
        role_records(&platform, carol.id).await,
        [(
            "customer".into(),
            "staff".into(),
            json!({ "operator": "system-tests" })
        )]
    );
}

#[tokio::test]
async fn a_revoked_staff_token_loses_its_staff_rights_at_once_in_every_service() {
    let platform = Platform::connect().await;
    let staff = staff_account(&platform).await;
    let dave = register_and_login(&platform, "revoked").await;
    let bob = register_and_login(&platform, "bystander").await;
    set_role_as_operator(&dave.email, Role::Staff).await;
    let dave_staff = relogin(&platform, &dave).await;
    expect_json(aml_cases(&platform, &dave_staff).await, 200).await;
    expect_json(profile_of(&platform, &dave_staff, bob.id).await, 200).await;

    let revoked = set_role(&platform, &staff.access_token, dave.id, "customer").await;
    assert_eq!(expect_json(revoked, 200).await["role"], "customer");
    // The very next request: no waiting for the token to expire or an event to travel.
    expect_problem(aml_cases(&platform, &dave_staff).await, 403).await;
    expect_problem(profile_of(&platform, &dave_staff, bob.id).await, 403).await;
    expect_problem(set_role(&platform, &dave_staff, bob.id, "staff").await, 403).await;
    // What is his own still works with the same token.
    let me = platform
        .http
        .get(format!("{AUTH}/api/auth/me"))
        .bearer_auth(&dave_staff)
        .send()
        .await
        .unwrap();
    assert_eq!(expect_json(me, 200).await["role"], "customer");
    assert_eq!(
        role_records(&platform, dave.id)
            .await
            .into_iter()
            .map(|(from, to, _)| (from, to))
            .collect::<Vec<_>>(),
        [
            ("customer".to_owned(), "staff".to_owned()),
            ("staff".to_owned(), "customer".to_owned())
        ]
    );
}

#[tokio::test]
async fn logging_out_ends_a_staff_tokens_rights_at_once() {
    let platform = Platform::connect().await;
    let erin = register_and_login(&platform, "logout").await;
    set_role_as_operator(&erin.email, Role::Staff).await;
    let erin_staff = relogin(&platform, &erin).await;
    expect_json(aml_cases(&platform, &erin_staff).await, 200).await;
    let logout = platform
        .http
        .post(format!("{AUTH}/api/auth/logout"))
        .bearer_auth(&erin_staff)
        .send()
        .await
        .unwrap();
    assert!(logout.status().is_success(), "logout: {}", logout.status());
    expect_problem(aml_cases(&platform, &erin_staff).await, 403).await;
}

/// A fresh access token of `account`, issued with its current role.
async fn relogin(platform: &Platform, account: &Account) -> String {
    let tokens = finflow_system_tests::accounts::login(platform, &account.email).await;
    tokens["access_token"].as_str().unwrap().to_owned()
}
