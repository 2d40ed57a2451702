//! Money is never created or destroyed: many concurrent transfers among a few wallets, with
//! overdraft attempts on one hot wallet, leave every balance plus held amount summing to the
//! deposits, no balance negative, and every ledger replaying to its balance. Runs against the default emulator
//! and against DynamoDB Local, whose transaction conflicts are AWS's.

use finflow_shared::Money;
use finflow_system_tests::payments::{funded_wallet, ledger, transfer, wallet};
use finflow_system_tests::{Account, Platform};
use serde_json::{Value, json};

const DEPOSIT: &str = "1000";

fn money(value: &Value) -> Money {
    Money::parse(
        value
            .as_str()
            .unwrap_or_else(|| panic!("{value} is not an amount")),
    )
    .unwrap()
}

#[tokio::test]
async fn concurrent_transfers_conserve_money() {
    let platform = Platform::connect().await;
    let mut parties: Vec<(Account, u64)> = Vec::new();
    for tag in ["hot", "b", "c", "d"] {
        parties.push(funded_wallet(&platform, &format!("conserve-{tag}"), "USD", DEPOSIT).await);
    }
    let hot = parties[0].1;

    // Round-robin transfers between every pair, plus overdrafts that the hot wallet cannot
    // cover, all in flight at once.
    let mut attempts = Vec::new();
    for round in 0..6u64 {
        for (i, (payer, from)) in parties.iter().enumerate() {
            let to = parties[(i + 1 + round as usize) % parties.len()].1;
            if to == *from {
                continue;
            }
            let amount = format!("{}.{:04}", 5 + round * 7 + i as u64, 1234 + round * 17);
            attempts.push(transfer(&platform, payer, *from, to, json!(amount), None));
        }
        attempts.push(transfer(
            &platform,
            &parties[0].0,
            hot,
            parties[1].1,
            json!("999.9999"),
            None,
        ));
    }
    let total_attempts = attempts.len();
    let responses = futures_util::future::join_all(attempts).await;
    let mut statuses = std::collections::BTreeMap::new();
    for response in responses {
        let status = response.status().as_u16();
        assert!(
            matches!(status, 201 | 400 | 409),
            "unexpected {status}: {}",
            response.text().await.unwrap_or_default()
        );
        *statuses.entry(status).or_insert(0) += 1;
    }
    println!("{total_attempts} concurrent transfers: {statuses:?}");
    assert!(
        statuses.get(&201).copied().unwrap_or(0) > 0,
        "some transfers must succeed"
    );

    let mut total = Money::ZERO;
    for (account, wallet_id) in &parties {
        let state = wallet(&platform, account, *wallet_id).await;
        let (balance, held) = (money(&state["balance"]), money(&state["held_balance"]));
        assert!(!balance.is_negative() && !held.is_negative(), "{state}");
        total = total
            .checked_add(balance)
            .unwrap()
            .checked_add(held)
            .unwrap();

        let mut replayed = Money::ZERO;
        for entry in ledger(&platform, account, *wallet_id).await {
            let amount = money(&entry["amount"]);
            replayed = match entry["type"].as_str() {
                Some("credit") => replayed.checked_add(amount).unwrap(),
                Some("debit") => replayed.checked_sub(amount).unwrap(),
                other => panic!("unknown entry type {other:?}"),
            };
            assert_eq!(
                replayed,
                money(&entry["balance_after"]),
                "ledger of wallet {wallet_id} breaks at {entry}"
            );
        }
        assert_eq!(
            replayed, balance,
            "wallet {wallet_id}'s ledger replays to its balance"
        );
    }
    let deposited = Money::parse(DEPOSIT).unwrap();
    let expected =
        (0..parties.len()).fold(Money::ZERO, |sum, _| sum.checked_add(deposited).unwrap());
    assert_eq!(
        total, expected,
        "balances plus held amounts equal the deposits"
    );
}
