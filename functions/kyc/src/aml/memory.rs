//! The AML store's contract in memory, for the use cases' and the consumer's tests: the inbox,
//! the version guards and the atomicity of each write.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;

use async_trait::async_trait;
use finflow_shared::dynamo::{BadCursor, ListError, StoreError};
use finflow_shared::events::EventEnvelope;
use finflow_shared::{CaseId, PaymentId, UserId};
use uuid::Uuid;

use super::activity::UserActivity;
use super::case::{AmlCase, CaseStatus};
use super::store::{AmlStore, AmlWriteError, CasePage, MonitoringWrite, WatchedPayment};

#[derive(Default)]
pub struct MemoryAmlStore {
    state: Mutex<State>,
    /// Writes to fail with a conflict before they are tried, to exercise the retries.
    pub conflicts_to_inject: Mutex<u32>,
}

#[derive(Default)]
struct State {
    next_case_id: u64,
    inbox: HashSet<(String, Uuid)>,
    cases: BTreeMap<CaseId, AmlCase>,
    payments: HashMap<PaymentId, WatchedPayment>,
    activity: HashMap<UserId, UserActivity>,
    outbox: Vec<EventEnvelope>,
}

impl MemoryAmlStore {
    pub fn events(&self) -> Vec<EventEnvelope> {
        self.state.lock().unwrap().outbox.clone()
    }

    pub fn all_cases(&self) -> Vec<AmlCase> {
        self.state.lock().unwrap().cases.values().cloned().collect()
    }

    fn inject_conflict(&self) -> bool {
        let mut remaining = self.conflicts_to_inject.lock().unwrap();
        if *remaining > 0 {
            *remaining -= 1;
            return true;
        }
        false
    }
}

fn case_guard_holds(cases: &BTreeMap<CaseId, AmlCase>, case: &AmlCase) -> bool {
    cases.get(&case.id).map_or(0, |c| c.version) + 1 == case.version
}

#[async_trait]
impl AmlStore for MemoryAmlStore {
    async fn allocate_case_id(&self) -> Result<CaseId, StoreError> {
        let mut state = self.state.lock().unwrap();
        state.next_case_id += 1;
        Ok(CaseId::new(state.next_case_id))
    }

    async fn case(&self, id: CaseId) -> Result<Option<AmlCase>, StoreError> {
        Ok(self.state.lock().unwrap().cases.get(&id).cloned())
    }

    async fn cases(
        &self,
        status: Option<CaseStatus>,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<CasePage, ListError> {
        let state = self.state.lock().unwrap();
        let before: u64 = match cursor {
            None => u64::MAX,
            Some(cursor) => cursor.parse().map_err(|_| BadCursor)?,
        };
        let matching: Vec<AmlCase> = state
            .cases
            .values()
            .rev()
            .filter(|c| c.id < CaseId::new(before) && status.is_none_or(|s| c.status() == s))
            .cloned()
            .collect();
        let limit = limit as usize;
        let next_cursor = (matching.len() > limit).then(|| matching[limit - 1].id.to_string());
        Ok(CasePage {
            cases: matching.into_iter().take(limit).collect(),
            next_cursor,
        })
    }

    async fn watched_payment(&self, payment_id: PaymentId) -> Result<WatchedPayment, StoreError> {
        Ok(self
            .state
            .lock()
            .unwrap()
            .payments
            .get(&payment_id)
            .cloned()
            .unwrap_or_else(|| WatchedPayment::unknown(payment_id)))
    }

    async fn activity(&self, user_id: UserId) -> Result<UserActivity, StoreError> {
        Ok(self
            .state
            .lock()
            .unwrap()
            .activity
            .get(&user_id)
            .cloned()
            .unwrap_or_else(|| UserActivity::new(user_id)))
    }

    async fn record(&self, write: MonitoringWrite) -> Result<(), AmlWriteError> {
        let mut state = self.state.lock().unwrap();
        let inbox = (write.inbox.consumer.to_owned(), write.inbox.event_id);
        if state.inbox.contains(&inbox) {
            return Err(AmlWriteError::AlreadyApplied);
        }
        if self.inject_conflict() {
            return Err(AmlWriteError::Conflict);
        }
        if let Some(payment) = &write.payment {
            let stored = state
                .payments
                .get(&payment.payment_id)
                .map_or(0, |p| p.version);
            if stored + 1 != payment.version {
                return Err(AmlWriteError::Conflict);
            }
        }
        if let Some(change) = &write.case
            && !case_guard_holds(&state.cases, &change.case)
        {
            return Err(AmlWriteError::Conflict);
        }
        state.inbox.insert(inbox);
        if let Some(activity) = &write.activity {
            state
                .activity
                .entry(activity.user_id)
                .or_insert_with(|| UserActivity::new(activity.user_id))
                .apply(activity)
                .map_err(|e| AmlWriteError::Store(StoreError::Sdk(e.to_string())))?;
        }
        if let Some(payment) = write.payment {
            state.payments.insert(payment.payment_id, payment);
        }
        if let Some(change) = write.case {
            state.cases.insert(change.case.id, change.case);
        }
        Ok(())
    }

    async fn save_resolution(
        &self,
        case: &AmlCase,
        event: &EventEnvelope,
    ) -> Result<(), AmlWriteError> {
        let mut state = self.state.lock().unwrap();
        if !case_guard_holds(&state.cases, case) {
            return Err(AmlWriteError::Conflict);
        }
        state.cases.insert(case.id, case.clone());
        state.outbox.push(event.clone());
        Ok(())
    }
}

/// Fixtures the AML tests share.
pub mod fixtures {
    use finflow_shared::currency::Currency;
    use finflow_shared::events::payment::{PaymentSnapshot, PaymentStatus};
    use finflow_shared::http::Caller;
    use finflow_shared::jwt::{Claims, Role};
    use finflow_shared::{Money, PaymentId, PositiveAmount, UserId, WalletId};

    pub const PAYER: UserId = UserId::new(10);
    pub const PAYEE: UserId = UserId::new(11);
    pub const OFFICER: UserId = UserId::new(99);

    pub fn caller(user_id: UserId, role: Role) -> Caller {
        Caller {
            user_id,
            role,
            session_id: "s".into(),
            claims: Claims {
                sub: user_id.to_string(),
                sid: "s".into(),
                role,
                iss: "finflow".into(),
                aud: "finflow-api".into(),
                iat: 0,
                exp: 0,
                jti: "j".into(),
            },
        }
    }

    pub fn officer() -> Caller {
        caller(OFFICER, Role::Staff)
    }

    pub fn payment(id: PaymentId, amount: &str, status: PaymentStatus) -> PaymentSnapshot {
        PaymentSnapshot {
            payment_id: id,
            from_wallet_id: WalletId::new(1),
            to_wallet_id: WalletId::new(2),
            payer_id: PAYER,
            payee_id: PAYEE,
            amount: PositiveAmount::new(Money::parse(amount).unwrap()).unwrap(),
            currency: Currency::parse("USD").unwrap(),
            status,
            description: None,
        }
    }
}
