//! AML's staff use cases: the case queue, one case, a decision on it, and a user's activity.
//! Only staff see or decide anything here.

use std::sync::Arc;

use finflow_shared::events::{Causality, EventEnvelope};
use finflow_shared::http::Caller;
use finflow_shared::{ApiError, ApiResult, CaseId, UserId};
use time::OffsetDateTime;

use super::activity::UserActivity;
use super::case::{AmlCase, CaseStatus, ResolveRefusal, action_str, parse_resolution};
use super::store::{AmlStore, AmlWriteError, CasePage};

pub struct AmlCases {
    store: Arc<dyn AmlStore>,
}

impl AmlCases {
    pub fn new(store: Arc<dyn AmlStore>) -> Self {
        AmlCases { store }
    }

    pub async fn list(
        &self,
        caller: &Caller,
        status: Option<CaseStatus>,
        limit: i32,
        cursor: Option<&str>,
    ) -> ApiResult<CasePage> {
        caller.require_staff()?;
        Ok(self.store.cases(status, limit, cursor).await?)
    }

    pub async fn case(&self, caller: &Caller, id: CaseId) -> ApiResult<AmlCase> {
        caller.require_staff()?;
        self.existing(id).await
    }

    /// A compliance officer releases or voids the held payment: the case is resolved and
    /// `aml.case_resolved` is emitted in one transaction, only while the case is still open.
    pub async fn resolve(
        &self,
        caller: &Caller,
        id: CaseId,
        action: &str,
        note: Option<&str>,
        causality: &Causality,
    ) -> ApiResult<AmlCase> {
        caller.require_staff()?;
        let (action, note) = parse_resolution(action, note).map_err(ApiError::Validation)?;
        let case = self.existing(id).await?;
        let resolved = case
            .resolve(action, caller.user_id, note, OffsetDateTime::now_utc())
            .map_err(|refusal| match refusal {
                ResolveRefusal::AlreadyResolved(_) => ApiError::Conflict(refusal.to_string()),
                ResolveRefusal::OwnPayment => ApiError::Forbidden(refusal.to_string()),
            })?;
        let event = EventEnvelope::new(
            &resolved
                .resolution_event()
                .expect("a resolved case carries its decision"),
            causality,
        );
        match self.store.save_resolution(&resolved, &event).await {
            // Committed, now or by an attempt whose answer was lost: this resolution either way.
            Ok(()) | Err(AmlWriteError::AlreadyApplied) => {}
            // Every change to an open case resolves it, so a changed case is decided.
            Err(AmlWriteError::Conflict) => {
                return Err(ApiError::Conflict(format!(
                    "AML case {id} was resolved concurrently"
                )));
            }
            Err(AmlWriteError::Store(error)) => return Err(error.into()),
        }
        tracing::info!(
            case_id = id.get(),
            payment_id = resolved.payment.payment_id.get(),
            officer = caller.user_id.get(),
            action = action_str(action),
            "AML case resolved"
        );
        Ok(resolved)
    }

    pub async fn activity(&self, caller: &Caller, user_id: UserId) -> ApiResult<UserActivity> {
        caller.require_staff()?;
        Ok(self.store.activity(user_id).await?)
    }

    async fn existing(&self, id: CaseId) -> ApiResult<AmlCase> {
        self.store
            .case(id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("AML case {id} not found")))
    }
}

#[cfg(test)]
mod tests {
    use finflow_shared::PaymentId;
    use finflow_shared::consumer::InboxMarker;
    use finflow_shared::events::aml::{AmlCaseResolved, CaseAction};
    use finflow_shared::events::payment::PaymentStatus;
    use finflow_shared::jwt::Role;
    use finflow_shared::trace::TraceId;
    use time::macros::datetime;

    use super::*;
    use crate::aml::memory::MemoryAmlStore;
    use crate::aml::memory::fixtures::{OFFICER, PAYER, caller, officer, payment};
    use crate::aml::store::{CaseChange, MonitoringWrite};

    async fn with_open_cases(count: u64) -> (Arc<MemoryAmlStore>, AmlCases) {
        let store = Arc::new(MemoryAmlStore::default());
        for payment_id in 1..=count {
            let id = store.allocate_case_id().await.unwrap();
            let case = AmlCase::open(
                id,
                payment(PaymentId::new(payment_id), "950", PaymentStatus::OnHold),
                vec!["structuring".into()],
                datetime!(2026-05-04 09:00 UTC),
                None,
                datetime!(2026-05-04 09:00 UTC),
            );
            store
                .record(MonitoringWrite {
                    inbox: InboxMarker {
                        consumer: "test",
                        event_id: uuid::Uuid::now_v7(),
                    },
                    activity: None,
                    payment: None,
                    case: Some(CaseChange {
                        case,
                        previous: None,
                    }),
                })
                .await
                .unwrap();
        }
        (store.clone(), AmlCases::new(store))
    }

    fn causality() -> Causality {
        Causality::from_request(TraceId::generate())
    }

    fn status(error: ApiError) -> u16 {
        error.status().as_u16()
    }

    #[tokio::test]
    async fn only_staff_see_or_decide_cases() {
        let (store, cases) = with_open_cases(1).await;
        let customer = caller(UserId::new(5), Role::Customer);
        assert_eq!(
            status(cases.list(&customer, None, 20, None).await.err().unwrap()),
            403
        );
        assert_eq!(
            status(cases.case(&customer, CaseId::new(1)).await.unwrap_err()),
            403
        );
        assert_eq!(
            status(cases.activity(&customer, PAYER).await.unwrap_err()),
            403
        );
        let resolve = cases
            .resolve(&customer, CaseId::new(1), "release", None, &causality())
            .await;
        assert_eq!(status(resolve.unwrap_err()), 403);
        // Not even staff who are a party to the payment.
        let party = cases
            .resolve(
                &caller(PAYER, Role::Staff),
                CaseId::new(1),
                "release",
                None,
                &causality(),
            )
            .await;
        assert_eq!(status(party.unwrap_err()), 403);
        assert!(store.events().is_empty());
    }

    #[tokio::test]
    async fn a_case_is_resolved_once_with_its_event() {
        let (store, cases) = with_open_cases(1).await;
        let bad = cases
            .resolve(&officer(), CaseId::new(1), "approve", None, &causality())
            .await;
        assert_eq!(status(bad.unwrap_err()), 422);
        let missing = cases
            .resolve(&officer(), CaseId::new(404), "void", None, &causality())
            .await;
        assert_eq!(status(missing.unwrap_err()), 404);

        let resolved = cases
            .resolve(
                &officer(),
                CaseId::new(1),
                "void",
                Some(" mule account "),
                &causality(),
            )
            .await
            .unwrap();
        assert_eq!(resolved.status(), CaseStatus::Resolved);
        let events = store.events();
        assert_eq!(events.len(), 1);
        assert_eq!(
            (events[0].producer.as_str(), events[0].event_type.as_str()),
            ("kyc", "aml.case_resolved")
        );
        assert_eq!(
            events[0].decode::<AmlCaseResolved>().unwrap(),
            AmlCaseResolved {
                case_id: CaseId::new(1),
                payment_id: PaymentId::new(1),
                action: CaseAction::Void,
                resolved_by: OFFICER,
                note: Some("mule account".into()),
            }
        );
        let again = cases
            .resolve(&officer(), CaseId::new(1), "release", None, &causality())
            .await;
        assert_eq!(status(again.unwrap_err()), 409);
        assert_eq!(
            store.events().len(),
            1,
            "the second decision emitted nothing"
        );
    }

    #[tokio::test]
    async fn the_queue_filters_by_status_newest_first_page_by_page() {
        let (_, cases) = with_open_cases(5).await;
        cases
            .resolve(&officer(), CaseId::new(4), "release", None, &causality())
            .await
            .unwrap();
        let ids = |page: &CasePage| page.cases.iter().map(|c| c.id.get()).collect::<Vec<_>>();
        let first = cases
            .list(&officer(), Some(CaseStatus::Open), 2, None)
            .await
            .unwrap();
        assert_eq!(ids(&first), [5, 3]);
        let second = cases
            .list(
                &officer(),
                Some(CaseStatus::Open),
                2,
                first.next_cursor.as_deref(),
            )
            .await
            .unwrap();
        assert_eq!(ids(&second), [2, 1]);
        let resolved = cases
            .list(&officer(), Some(CaseStatus::Resolved), 20, None)
            .await
            .unwrap();
        assert_eq!(ids(&resolved), [4]);
        let all = cases.list(&officer(), None, 20, None).await.unwrap();
        assert_eq!(ids(&all), [5, 4, 3, 2, 1]);
    }
}
