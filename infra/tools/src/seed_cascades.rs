//! The seed's five cascades as contract tests. Each fixture in `events/fixtures/cascades/` is
//! a producer changing alone: patches to the real schemas (`producer`), or, for a change the
//! platform has already made, to the released baseline it started from (`released`). For
//! each, the real gate runs with the real registry and the consumers' real declarations
//! (built from the code, as `finflow contracts check` builds them):
//! - as the consumers were before handling it (the code as it is, or the fixture's
//!   `unhandled`), the gate fails and names exactly the consumers that must act;
//! - once they handle it (the fixture's `handled`, or the code as it is), it passes.
//!
//! Reporting's projector and its rebuild from the archive are one code and one declaration,
//! so a change reaches both.

use std::collections::BTreeSet;

use finflow_contracts::gate::{self, ChangeSet, Consumer, Report, apply_patch};
use finflow_contracts::{Registry, fixture_dir};
use serde_json::json;

fn real_consumers() -> Vec<Consumer> {
    finflow_tools::contracts::repository_consumers().unwrap()
}

struct Outcome {
    before: Report,
    after: Report,
}

fn cascade(name: &str) -> Outcome {
    let path = fixture_dir().join("cascades").join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let set: ChangeSet =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let real = Registry::load().unwrap();
    let released = gate::patched(&real, &set.released).unwrap();
    let producer = gate::patched(&real, &set.producer).unwrap();
    let with = |overrides: &[gate::Override]| -> Vec<Consumer> {
        let mut consumers = real_consumers();
        for o in overrides {
            o.apply(&mut consumers).unwrap();
        }
        consumers
    };
    Outcome {
        before: gate::check(&released, &producer, &with(&set.unhandled)),
        after: gate::check(&released, &producer, &with(&set.handled)),
    }
}

fn names(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// The gate fails naming exactly `consumers` (each problem naming `value`), then passes.
fn caught_then_handled(outcome: &Outcome, consumers: &[&str], value: &str) {
    let before = &outcome.before;
    assert!(!before.passed(), "not caught:\n{}", before.render());
    assert_eq!(before.unhandled(), names(consumers), "{}", before.render());
    for problem in before.problems() {
        assert!(problem.contains(value), "{problem}\n{}", before.render());
    }
    assert!(
        outcome.after.passed(),
        "still failing once handled:\n{}",
        outcome.after.render()
    );
}

#[test]
fn cascade_1_kyc_status_gains_expired() {
    let outcome = cascade("1_kyc_status_gains_expired");
    // Wallet and payment gate wallets and transfers on `verified`; reporting's KYC funnel and
    // notification's identity notices have a place per status. KYC only decodes the status.
    caught_then_handled(
        &outcome,
        &[
            "wallet.customers",
            "payment.customers",
            "reporting.projector",
            "reporting.rebuild",
            "notification.dispatch",
        ],
        "does not handle expired",
    );
    let render = outcome.before.render();
    assert!(render.contains("kyc.registrations (kyc): decodes /kyc_status without using it"));
}

#[test]
fn cascade_2_account_tier_gains_platinum() {
    let outcome = cascade("2_account_tier_gains_platinum");
    // Limits per tier in wallet and payment, the tier mix in reporting; notification prints
    // the tier's name, so it copes.
    caught_then_handled(
        &outcome,
        &[
            "wallet.customers",
            "payment.customers",
            "reporting.projector",
            "reporting.rebuild",
        ],
        "does not handle platinum",
    );
    assert!(
        outcome
            .before
            .render()
            .contains("notification.dispatch (notification): does not branch on /account_tier")
    );
}

#[test]
fn cascade_3_balance_precision_2_to_4() {
    let outcome = cascade("3_balance_precision_2_to_4");
    caught_then_handled(
        &outcome,
        &[
            "reporting.projector",
            "reporting.rebuild",
            "notification.dispatch",
        ],
        "at most 2 decimal places; the producer now sends 4",
    );
    // The other direction, four places back to two, is not a reader's problem: the deposits
    // already emitted with four no longer fit, so it needs a new version.
    let real = Registry::load().unwrap();
    let two = gate::patched(
        &real,
        &serde_json::from_value(json!({"wallet.deposited.v1": [
            {"op": "replace", "path": "/properties/amount/pattern",
             "value": "^\\d{1,16}(\\.\\d{1,2})?$"}
        ]}))
        .unwrap(),
    )
    .unwrap();
    let lowered = gate::check(&real, &two, &real_consumers());
    assert!(
        lowered
            .problems()
            .iter()
            .any(|p| p.contains("shipped in place")
                && p.contains("Publish it as wallet.deposited v2")),
        "{}",
        lowered.render()
    );
    // And today's consumers, at four places, catch the next step just the same.
    let mut six = real.clone();
    let schema = six
        .data
        .get_mut(&("wallet.deposited".to_owned(), 1))
        .unwrap();
    apply_patch(
        schema,
        &[
            json!({"op": "replace", "path": "/properties/amount/pattern",
                 "value": "^\\d{1,16}(\\.\\d{1,6})?$"}),
        ],
    )
    .unwrap();
    let raised = gate::check(&real, &six, &real_consumers());
    assert_eq!(
        raised.unhandled(),
        names(&[
            "reporting.projector",
            "reporting.rebuild",
            "notification.dispatch",
        ]),
        "{}",
        raised.render()
    );
}

#[test]
fn cascade_4_wallet_status_gains_suspended() {
    let outcome = cascade("4_wallet_status_gains_suspended");
    // Reporting counts frozen and closed wallets, notification has a text per status. (Payment
    // refuses a frozen source wallet through its shared transaction on wallet's table, not
    // through an event: `finflow cascade wallet` shows that path.)
    caught_then_handled(
        &outcome,
        &[
            "reporting.projector",
            "reporting.rebuild",
            "notification.dispatch",
        ],
        "does not handle suspended",
    );
}

#[test]
fn cascade_5_payment_status_gains_on_hold() {
    let outcome = cascade("5_payment_status_gains_on_hold");
    // Reporting's per-status counters and notification's per-status notices; AML monitoring
    // keeps the status as it comes.
    caught_then_handled(
        &outcome,
        &[
            "reporting.projector",
            "reporting.rebuild",
            "notification.dispatch",
        ],
        "does not handle ON_HOLD",
    );
    assert!(
        outcome
            .before
            .render()
            .contains("kyc.aml-monitoring (kyc): does not branch on /status")
    );
}

#[test]
fn a_compatible_change_passes_and_an_in_place_breaking_one_fails() {
    let real = Registry::load().unwrap();
    let mut changed = real.clone();
    let schema = changed
        .data
        .get_mut(&("payment.completed".to_owned(), 1))
        .unwrap();
    apply_patch(
        schema,
        &[json!({"op": "add", "path": "/properties/fee",
                 "value": {"type": ["string", "null"]}})],
    )
    .unwrap();
    assert!(gate::check(&real, &changed, &real_consumers()).passed());
    let schema = changed
        .data
        .get_mut(&("payment.completed".to_owned(), 1))
        .unwrap();
    apply_patch(
        schema,
        &[json!({"op": "add", "path": "/required/-", "value": "fee"})],
    )
    .unwrap();
    let report = gate::check(&real, &changed, &real_consumers());
    assert!(
        report.problems()[0].contains("Publish it as payment.completed v2"),
        "{}",
        report.render()
    );
}
