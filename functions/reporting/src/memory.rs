//! An in-memory `ReportingStore` with the DynamoDB adapter's conditions, for tests of the
//! projector and the reports without AWS.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use async_trait::async_trait;
use finflow_shared::consumer::InboxMarker;
use finflow_shared::dynamo::{BadCursor, ListError, StoreError};
use finflow_shared::events::user::UserSnapshot;
use finflow_shared::{PaymentId, UserId};
use uuid::Uuid;

use crate::domain::{
    Counter, DayVolume, HeldPage, Listing, PaymentRecord, PaymentWrite, Period, Plan, Tally,
    Totals, UserAnalytics,
};
use crate::store::{ApplyError, ReportingStore};

#[derive(Default)]
struct State {
    inbox: BTreeSet<(String, Uuid)>,
    payments: BTreeMap<PaymentId, PaymentRecord>,
    held: BTreeMap<PaymentId, PaymentRecord>,
    profiles: BTreeMap<UserId, UserSnapshot>,
    tally: Tally,
}

#[derive(Default)]
pub struct MemoryReportingStore {
    state: Mutex<State>,
}

#[async_trait]
impl ReportingStore for MemoryReportingStore {
    async fn payment(&self, id: PaymentId) -> Result<Option<PaymentRecord>, StoreError> {
        Ok(self.state.lock().unwrap().payments.get(&id).cloned())
    }

    async fn apply(&self, inbox: InboxMarker, plan: &Plan) -> Result<(), ApplyError> {
        let mut state = self.state.lock().unwrap();
        let marker = (inbox.consumer.to_owned(), inbox.event_id);
        if state.inbox.contains(&marker) {
            return Err(ApplyError::Duplicate);
        }
        match &plan.payment {
            Some(PaymentWrite::Create(record))
                if state.payments.contains_key(&record.payment_id) =>
            {
                return Err(ApplyError::PaymentChanged);
            }
            Some(PaymentWrite::Move { record, from })
                if state.payments.get(&record.payment_id).map(|r| r.status) != Some(*from) =>
            {
                return Err(ApplyError::PaymentChanged);
            }
            _ => {}
        }
        if let Some(user) = &plan.profile
            && state
                .profiles
                .get(&user.user_id)
                .is_some_and(|stored| stored.version >= user.version)
        {
            return Err(ApplyError::ProfileNewer);
        }
        state
            .tally
            .apply(plan)
            .map_err(|e| ApplyError::Store(StoreError::Sdk(e.to_string())))?;
        state.inbox.insert(marker);
        match &plan.payment {
            Some(PaymentWrite::Create(record)) | Some(PaymentWrite::Move { record, .. }) => {
                state.payments.insert(record.payment_id, record.clone());
            }
            None => {}
        }
        match &plan.listing {
            Some(Listing::Hold(record)) => {
                state.held.insert(record.payment_id, record.clone());
            }
            Some(Listing::Release(id)) => {
                state.held.remove(id);
            }
            None => {}
        }
        if let Some(user) = &plan.profile {
            state.profiles.insert(user.user_id, user.clone());
        }
        Ok(())
    }

    async fn volumes(&self, period: Period) -> Result<Vec<DayVolume>, StoreError> {
        let state = self.state.lock().unwrap();
        Ok(state
            .tally
            .counters
            .iter()
            .filter_map(|(counter, counts)| match counter {
                Counter::Volume { day, currency } if period.contains(*day) => Some(DayVolume {
                    day: *day,
                    currency: *currency,
                    counts: counts.clone(),
                }),
                _ => None,
            })
            .collect())
    }

    async fn user(&self, user_id: UserId) -> Result<UserAnalytics, StoreError> {
        let state = self.state.lock().unwrap();
        Ok(UserAnalytics {
            user_id,
            profile: state.profiles.get(&user_id).cloned(),
            currencies: state
                .tally
                .counters
                .iter()
                .filter_map(|(counter, counts)| match counter {
                    Counter::UserCurrency {
                        user_id: user,
                        currency,
                    } if *user == user_id => Some((*currency, counts.clone())),
                    _ => None,
                })
                .collect(),
        })
    }

    async fn totals(&self) -> Result<Totals, StoreError> {
        let state = self.state.lock().unwrap();
        let tally = &state.tally;
        Ok(Totals {
            users: tally.counts(Counter::Users),
            kyc: tally.counts(Counter::Kyc),
            aml: tally.counts(Counter::Aml),
            held: tally
                .counters
                .iter()
                .filter_map(|(counter, counts)| match counter {
                    Counter::Held { currency } => Some((*currency, counts.clone())),
                    _ => None,
                })
                .collect(),
        })
    }

    async fn held(&self, limit: i32, cursor: Option<&str>) -> Result<HeldPage, ListError> {
        // One page holds every held payment here, so no cursor is ever issued.
        if cursor.is_some() {
            return Err(BadCursor.into());
        }
        let state = self.state.lock().unwrap();
        Ok(HeldPage {
            payments: state
                .held
                .values()
                .take(limit.max(0) as usize)
                .cloned()
                .collect(),
            next_cursor: None,
        })
    }
}
