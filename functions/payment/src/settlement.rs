//! Carries out compliance decisions: consumes `aml.case_resolved` and releases or voids the
//! held payment, exactly once (the inbox marker is part of the settlement's transaction).

use std::sync::Arc;

use async_trait::async_trait;
use finflow_shared::consumer::{BusMessage, ConsumeError, EventConsumer, InboxMarker, Outcome};
use finflow_shared::contracts::{EventRead, Field};
use finflow_shared::events::Causality;
use finflow_shared::events::aml::{AmlCaseResolved, CaseAction};

use crate::service::{HoldDecision, PaymentService, SettleError};

pub const CONSUMER: &str = "payment.aml-decisions";
/// The case's decision: release or void the held payment. `resolved_by` and `note` are only
/// decoded.
pub const READS: &[EventRead] = &[EventRead::whole::<AmlCaseResolved>(&[
    Field::value("/case_id"),
    Field::value("/payment_id"),
    Field::matches("/action", &["release", "void"]),
])];

pub struct AmlDecisions {
    pub payments: Arc<PaymentService>,
}

#[async_trait]
impl EventConsumer for AmlDecisions {
    fn name(&self) -> &'static str {
        CONSUMER
    }

    fn reads(&self) -> &'static [EventRead] {
        READS
    }

    async fn consume(&self, message: &BusMessage) -> Result<Outcome, ConsumeError> {
        let event = &message.detail;
        if !event.is::<AmlCaseResolved>() {
            return Ok(Outcome::Ignored);
        }
        let decision = event
            .decode::<AmlCaseResolved>()
            .map_err(|e| ConsumeError::Malformed(e.to_string()))?;
        let settlement = match decision.action {
            CaseAction::Release => HoldDecision::Release,
            CaseAction::Void => HoldDecision::Void,
        };
        let outcome = self
            .payments
            .settle(
                decision.payment_id,
                decision.case_id,
                settlement,
                &Causality::caused_by(event),
                InboxMarker {
                    consumer: CONSUMER,
                    event_id: event.event_id,
                },
            )
            .await;
        match outcome {
            Ok(Some(_)) => Ok(Outcome::Applied),
            Ok(None) => Ok(Outcome::Duplicate),
            // A decision about a payment that does not exist can never be carried out.
            Err(SettleError::NotFound(id)) => {
                Err(ConsumeError::Malformed(format!("no payment {id}")))
            }
            Err(other) => Err(ConsumeError::Failed(other.to_string())),
        }
    }
}
