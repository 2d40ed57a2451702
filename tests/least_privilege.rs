//! Least privilege, derived from the code rather than kept by hand: every function logs each
//! IAM action on each resource its requests make (`shared::aws_access`, `aws access` lines in
//! the runner's log), and provisioning records what each function's execution role allows
//! (the manifest's `permissions`, from template.yaml's policies after SAM's transform).
//!
//! - Always: everything a function was seen doing is allowed (on AWS it would be denied).
//! - After the whole suite (`FINFLOW_WHOLE_SUITE=1`, as `infra/test` runs it last): every
//!   action on every resource a function is allowed was seen, so nothing is granted that the
//!   code does not use. During the suite not every path has run yet.

use std::collections::{BTreeMap, BTreeSet};

use finflow_system_tests::{Platform, log_field};

/// `pattern` with IAM's wildcards (`*` any run, `?` one character) matches `text`.
fn glob(pattern: &str, text: &str) -> bool {
    let (pattern, text): (Vec<char>, Vec<char>) =
        (pattern.chars().collect(), text.chars().collect());
    // matched[j]: pattern[..i] matches text[..j].
    let mut matched = vec![false; text.len() + 1];
    matched[0] = true;
    for p in pattern {
        let mut next = vec![false; text.len() + 1];
        for j in 0..=text.len() {
            next[j] = match p {
                '*' => matched[j] || (j > 0 && next[j - 1]),
                '?' => j > 0 && matched[j - 1],
                c => j > 0 && matched[j - 1] && text[j - 1].eq_ignore_ascii_case(&c),
            };
        }
        matched = next;
    }
    matched[text.len()]
}

/// The ARN of a resource as `aws access` names it.
fn arn(platform: &Platform, action: &str, resource: &str) -> String {
    if resource.starts_with("arn:") {
        return resource.to_owned();
    }
    let service = action.split(':').next().unwrap_or_default();
    let account = platform.manifest.account_id();
    let region = &platform.manifest.region;
    match resource.strip_prefix("queue/") {
        Some(queue) => format!("arn:aws:sqs:{region}:{account}:{queue}"),
        None => format!("arn:aws:{service}:{region}:{account}:{resource}"),
    }
}

/// (action, ARN) of every access each function was seen making.
fn seen(platform: &Platform) -> BTreeMap<String, BTreeSet<(String, String)>> {
    let mut seen: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
    for line in platform.runner_log() {
        if line["message"] != "aws access" {
            continue;
        }
        let (Some(function), Some(action), Some(resource)) = (
            line["function"].as_str(),
            log_field(&line, "aws_action"),
            log_field(&line, "aws_resource"),
        ) else {
            continue;
        };
        seen.entry(function.to_owned())
            .or_default()
            .insert((action.to_owned(), arn(platform, action, resource)));
    }
    seen
}

#[tokio::test]
async fn every_function_is_granted_exactly_what_its_code_uses() {
    let platform = Platform::connect().await;
    let seen = seen(&platform);
    assert!(
        seen.values().map(BTreeSet::len).sum::<usize>() >= 10,
        "too few accesses logged to judge anything: {seen:?}"
    );
    let whole_suite = std::env::var("FINFLOW_WHOLE_SUITE").is_ok_and(|v| v == "1");
    let mut denied = Vec::new();
    let mut unused = Vec::new();
    for (logical_id, function) in &platform.manifest.functions {
        let used = seen.get(logical_id).cloned().unwrap_or_default();
        for (action, resource) in &used {
            let allowed = function.permissions.iter().any(|permission| {
                permission.actions.iter().any(|a| glob(a, action))
                    && permission.resources.iter().any(|r| glob(r, resource))
            });
            if !allowed {
                denied.push(format!("{logical_id}: {action} on {resource}"));
            }
        }
        for permission in &function.permissions {
            for granted_action in &permission.actions {
                for granted_resource in &permission.resources {
                    let used = used
                        .iter()
                        .any(|(a, r)| glob(granted_action, a) && glob(granted_resource, r));
                    if !used {
                        unused.push(format!(
                            "{logical_id}: {granted_action} on {granted_resource}"
                        ));
                    }
                }
            }
        }
    }
    println!("granted but not used:\n{}", unused.join("\n"));
    assert!(
        denied.is_empty(),
        "used but not granted (AccessDenied on AWS):\n{}",
        denied.join("\n")
    );
    if whole_suite {
        assert!(
            unused.is_empty(),
            "granted but never used by the whole suite:\n{}",
            unused.join("\n")
        );
    }
}

#[test]
fn iam_wildcards_match_like_iam() {
    assert!(glob("dynamodb:*", "dynamodb:GetItem"));
    assert!(glob("dynamodb:Get*", "dynamodb:GetItem"));
    assert!(!glob("dynamodb:Get*", "dynamodb:PutItem"));
    assert!(glob(
        "arn:aws:dynamodb:us-east-1:1:table/users/index/*",
        "arn:aws:dynamodb:us-east-1:1:table/users/index/by-email"
    ));
    assert!(!glob(
        "arn:aws:dynamodb:us-east-1:1:table/users",
        "arn:aws:dynamodb:us-east-1:1:table/users/index/by-email"
    ));
    assert!(glob("a?c", "abc") && !glob("a?c", "ac"));
}
