//! Everything an event gives, in three pure steps: its policy (`super::policy`) says which
//! channels it goes on, its notices (`super::notice`) say whom it tells what, and each notice is
//! worded for each of those channels (`super::wording`).

use finflow_shared::UserId;
use finflow_shared::events::EventEnvelope;

use super::channel::{Category, Channel};
use super::notice::{Addressed, notices};
use super::policy::{ChannelPlan, policy};
use super::wording::Text;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RenderError {
    #[error("no notification policy for {event_type} v{version}")]
    Unknown { event_type: String, version: u32 },
    #[error("{0}")]
    Malformed(String),
    #[error("{event_type} has a {channel} template in its policy but its notice has no text")]
    MissingTemplate {
        event_type: String,
        channel: &'static str,
    },
}

/// One notification to send or suppress: a notice worded for one channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub user_id: UserId,
    pub channel: Channel,
    pub category: Category,
    pub text: Text,
}

/// Everything an event gives: each notice on each channel its policy sends it on.
pub fn render(event: &EventEnvelope) -> Result<Vec<Rendered>, RenderError> {
    let policy =
        policy(&event.event_type, event.schema_version).ok_or_else(|| RenderError::Unknown {
            event_type: event.event_type.clone(),
            version: event.schema_version,
        })?;
    let mut out = Vec::new();
    for Addressed { user_id, notice } in notices(event)? {
        for channel in Channel::ALL {
            if policy.plan(channel) != ChannelPlan::Template {
                continue;
            }
            let text = notice
                .text(channel)
                .ok_or_else(|| RenderError::MissingTemplate {
                    event_type: event.event_type.clone(),
                    channel: channel.as_str(),
                })?;
            out.push(Rendered {
                user_id,
                channel,
                category: policy.category,
                text,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use finflow_contracts::samples;
    use finflow_shared::contracts::CATALOG;
    use finflow_shared::events::Causality;
    use finflow_shared::events::payment::PaymentStatus;
    use finflow_shared::trace::TraceId;
    use finflow_shared::{CaseId, PaymentId};

    use super::*;
    use crate::domain::policy::POLICIES;
    use finflow_shared::currency::Currency;
    use finflow_shared::events::DomainEvent;
    use finflow_shared::events::aml::AmlCaseResolved;
    use finflow_shared::events::kyc::{DocumentType, KycDecision, KycDecisionRecorded};
    use finflow_shared::events::payment::{PaymentCompleted, PaymentOnHold, PaymentSnapshot};
    use finflow_shared::events::wallet::WalletDeposited;
    use finflow_shared::{Money, PositiveAmount, WalletId};

    /// The catalog test: every event type FinFlow emits, at every version, has a policy, so
    /// every (event type, channel) has a template or an explicit decision not to notify.
    /// A new `DomainEvent` in the catalog fails here until notification decides about it.
    #[test]
    fn every_catalog_event_has_a_template_or_a_decision_on_every_channel() {
        let mut missing = Vec::new();
        for entry in CATALOG {
            match policy(entry.event_type, entry.version) {
                None => missing.push(format!("{entry:?}")),
                Some(policy) => {
                    for channel in Channel::ALL {
                        match policy.plan(channel) {
                            ChannelPlan::Template => {}
                            ChannelPlan::NotNotified(reason) => assert!(
                                !reason.trim().is_empty(),
                                "{entry:?} on {}: a decision not to notify says why",
                                channel.as_str()
                            ),
                        }
                    }
                }
            }
        }
        assert!(
            missing.is_empty(),
            "no notification policy (template or explicit not-notified decision per channel) \
             for: {missing:?}; add them to POLICIES and `notices`"
        );
        // And nothing stale: every policy is for an event that exists.
        for policy in POLICIES {
            assert!(
                CATALOG
                    .iter()
                    .any(|e| e.event_type == policy.event_type && e.version == policy.version),
                "{} v{} is not in the catalog",
                policy.event_type,
                policy.version
            );
        }
        let unique: BTreeSet<_> = POLICIES.iter().map(|p| (p.event_type, p.version)).collect();
        assert_eq!(unique.len(), POLICIES.len(), "one policy per event type");
    }

    /// Every sample of every catalog type (every enum value, optional fields present and
    /// absent, extreme amounts) renders: words on every channel its policy sends on, and
    /// nothing sent where the policy decided not to.
    #[test]
    fn every_sample_event_renders_and_templates_match_their_policies() {
        let mut told = BTreeSet::new();
        for event in samples::all() {
            let policy = policy(&event.event_type, event.schema_version).unwrap();
            let notices = notices(&event)
                .unwrap_or_else(|e| panic!("{} does not render: {e}", event.event_type));
            for Addressed { notice, .. } in &notices {
                told.insert(event.event_type.clone());
                for channel in Channel::ALL {
                    let text = notice.text(channel);
                    match policy.plan(channel) {
                        ChannelPlan::Template => {
                            let text = text.unwrap_or_else(|| {
                                panic!("{notice:?} has no {} text", channel.as_str())
                            });
                            assert!(!text.body.trim().is_empty());
                            if channel == Channel::Sms {
                                assert!(
                                    text.body.chars().count() <= 160,
                                    "one SMS segment: {}",
                                    text.body
                                );
                                assert!(!text.body.contains("rent for March"), "no free text");
                            } else {
                                assert!(text.subject.is_some(), "{notice:?}");
                            }
                        }
                        ChannelPlan::NotNotified(_) => {}
                    }
                }
            }
            // Nothing goes out on a channel the policy decided against, whatever words exist.
            for rendered in render(&event).unwrap() {
                assert_eq!(
                    policy.plan(rendered.channel),
                    ChannelPlan::Template,
                    "{} is not sent on {}",
                    event.event_type,
                    rendered.channel.as_str()
                );
            }
        }
        // Every type that sends on some channel was exercised by some sample.
        for policy in POLICIES {
            let sends = Channel::ALL
                .into_iter()
                .any(|c| policy.plan(c) == ChannelPlan::Template);
            assert_eq!(
                told.contains(policy.event_type),
                sends,
                "{}: samples exercised its templates",
                policy.event_type
            );
        }
    }

    #[test]
    fn an_event_without_a_policy_is_an_error_not_a_silent_drop() {
        let mut event = envelope(&completed(UserId::new(1), UserId::new(2)));
        event.event_type = "payment.refunded".into();
        assert_eq!(
            render(&event),
            Err(RenderError::Unknown {
                event_type: "payment.refunded".into(),
                version: 1
            })
        );
        let mut event = envelope(&completed(UserId::new(1), UserId::new(2)));
        event.data["amount"] = "-1".into();
        assert!(matches!(render(&event), Err(RenderError::Malformed(_))));
    }

    fn envelope<E: DomainEvent>(event: &E) -> EventEnvelope {
        EventEnvelope::new(event, &Causality::from_request(TraceId::generate()))
    }

    fn snapshot(payer: UserId, payee: UserId, status: PaymentStatus) -> PaymentSnapshot {
        PaymentSnapshot {
            payment_id: PaymentId::new(7),
            from_wallet_id: WalletId::new(3),
            to_wallet_id: WalletId::new(4),
            payer_id: payer,
            payee_id: payee,
            amount: PositiveAmount::new(Money::parse("950.1234").unwrap()).unwrap(),
            currency: Currency::parse("USD").unwrap(),
            status,
            description: Some("rent".into()),
        }
    }

    fn completed(payer: UserId, payee: UserId) -> PaymentCompleted {
        PaymentCompleted {
            payment: snapshot(payer, payee, PaymentStatus::Completed),
        }
    }

    fn for_user(rendered: &[Rendered], user: UserId, channel: Channel) -> Vec<&Text> {
        rendered
            .iter()
            .filter(|r| r.user_id == user && r.channel == channel)
            .map(|r| &r.text)
            .collect()
    }

    #[test]
    fn a_payment_tells_payer_and_payee_different_things_with_the_exact_amount() {
        let rendered = render(&envelope(&completed(UserId::new(1), UserId::new(2)))).unwrap();
        assert_eq!(rendered.len(), 6, "two users, three channels");
        let payer = for_user(&rendered, UserId::new(1), Channel::Email)[0];
        let payee = for_user(&rendered, UserId::new(2), Channel::Email)[0];
        assert_eq!(payer.subject.as_deref(), Some("You sent 950.1234 USD"));
        assert_eq!(payee.subject.as_deref(), Some("You received 950.1234 USD"));
        assert!(payee.body.contains("rent"));
        assert!(
            for_user(&rendered, UserId::new(2), Channel::Sms)[0]
                .body
                .starts_with("FinFlow: you received 950.1234 USD")
        );
        assert!(rendered.iter().all(|r| r.category == Category::Payments));
        // Between one's own wallets: told once.
        let own = render(&envelope(&completed(UserId::new(1), UserId::new(1)))).unwrap();
        assert_eq!(own.len(), 3);
    }

    #[test]
    fn a_hold_tells_only_the_payer_that_the_transfer_is_under_review() {
        let held = PaymentOnHold {
            payment: snapshot(UserId::new(1), UserId::new(2), PaymentStatus::OnHold),
            reasons: vec!["structuring: amount just under the per-transaction limit".into()],
        };
        let rendered = render(&envelope(&held)).unwrap();
        assert!(rendered.iter().all(|r| r.user_id == UserId::new(1)));
        assert_eq!(rendered.len(), 3);
        let email = for_user(&rendered, UserId::new(1), Channel::Email)[0];
        assert_eq!(
            email.subject.as_deref(),
            Some("Your transfer of 950.1234 USD is under review")
        );
        assert!(email.body.contains("reserved in your wallet #3"));
        assert!(
            rendered
                .iter()
                .all(|r| !r.text.body.contains("structuring")),
            "screening reasons are never told"
        );
    }

    #[test]
    fn kyc_decisions_tell_only_of_a_manual_review_and_aml_tells_nobody() {
        let decision = |decision| KycDecisionRecorded {
            user_id: UserId::new(5),
            submission_id: 1,
            document_type: DocumentType::NationalId,
            decision,
            risk_score: 40,
            reasons: vec![],
            decided_by: finflow_shared::events::kyc::DecidedBy::Automatic,
            sequence: 1,
        };
        let review = render(&envelope(&decision(KycDecision::ManualReview))).unwrap();
        assert_eq!(review.len(), 2, "email and push");
        assert!(review[0].text.body.contains("national ID card"));
        assert!(
            render(&envelope(&decision(KycDecision::Verified)))
                .unwrap()
                .is_empty()
        );
        let resolved = AmlCaseResolved {
            case_id: CaseId::new(1),
            payment_id: PaymentId::new(7),
            action: finflow_shared::events::aml::CaseAction::Release,
            resolved_by: UserId::new(9),
            note: None,
        };
        assert!(render(&envelope(&resolved)).unwrap().is_empty());
    }

    #[test]
    fn deposits_print_amount_and_balance_exactly() {
        let deposit = WalletDeposited {
            wallet_id: WalletId::new(12),
            user_id: UserId::new(5),
            currency: Currency::parse("EUR").unwrap(),
            amount: PositiveAmount::new(Money::parse("0.0001").unwrap()).unwrap(),
            balance_after: Money::parse("9999999999999999.9999").unwrap(),
            reference: "top-up".into(),
        };
        let rendered = render(&envelope(&deposit)).unwrap();
        let sms = for_user(&rendered, UserId::new(5), Channel::Sms)[0];
        assert_eq!(
            sms.body,
            "FinFlow: 0.0001 EUR deposited to wallet #12. Balance 9999999999999999.9999 EUR."
        );
    }
}
