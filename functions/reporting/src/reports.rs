//! Reporting's use cases: who may read which report, and what each report holds.
//!
//! Access: the platform-wide reports (transactions, dashboard, compliance) are for staff; a
//! customer gets 403 there and reads their own figures through their analytics (self or
//! staff), which cover exactly the payments they sent or received.

use std::sync::Arc;

use finflow_shared::UserId;
use finflow_shared::currency::Currency;
use finflow_shared::events::payment::PaymentStatus;
use finflow_shared::http::Caller;
use finflow_shared::{ApiError, ApiResult};

use crate::domain::report::{volume_rows, volume_totals};
use crate::domain::{HeldPage, Period, Totals, UserAnalytics, VolumeRow, VolumeTotal};
use crate::store::ReportingStore;

pub struct TransactionsQuery {
    pub period: Period,
    pub currency: Option<Currency>,
    pub status: Option<PaymentStatus>,
}

pub struct TransactionsReport {
    pub query: TransactionsQuery,
    pub rows: Vec<VolumeRow>,
    pub totals: Vec<VolumeTotal>,
}

pub struct Dashboard {
    pub period: Period,
    pub rows: Vec<VolumeRow>,
    pub totals: Vec<VolumeTotal>,
    pub platform: Totals,
}

pub struct Compliance {
    pub platform: Totals,
    pub held: HeldPage,
}

pub struct Reports {
    store: Arc<dyn ReportingStore>,
}

/// Platform-wide reports are for staff; a customer is pointed at their own analytics.
pub fn staff_only(caller: &Caller, report: &str) -> ApiResult<()> {
    if caller.is_staff() {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "The {report} report is for staff; your own figures are at /api/reports/users/{}/analytics",
            caller.user_id
        )))
    }
}

impl Reports {
    pub fn new(store: Arc<dyn ReportingStore>) -> Self {
        Reports { store }
    }

    async fn volume(
        &self,
        query: &TransactionsQuery,
    ) -> ApiResult<(Vec<VolumeRow>, Vec<VolumeTotal>)> {
        let days = self.store.volumes(query.period).await?;
        let rows = volume_rows(&days, query.currency, query.status);
        let totals = volume_totals(&rows).map_err(ApiError::internal)?;
        Ok((rows, totals))
    }

    /// Payments per day, currency and status in the period: count and exact volume.
    pub async fn transactions(
        &self,
        caller: &Caller,
        query: TransactionsQuery,
    ) -> ApiResult<TransactionsReport> {
        staff_only(caller, "transactions")?;
        let (rows, totals) = self.volume(&query).await?;
        Ok(TransactionsReport {
            query,
            rows,
            totals,
        })
    }

    pub async fn user_analytics(
        &self,
        caller: &Caller,
        user_id: UserId,
    ) -> ApiResult<UserAnalytics> {
        caller.require_self_or_staff(user_id)?;
        let analytics = self.store.user(user_id).await?;
        if analytics.is_empty() {
            return Err(ApiError::NotFound(format!(
                "Reporting knows nothing of user {user_id} yet"
            )));
        }
        Ok(analytics)
    }

    pub async fn dashboard(&self, caller: &Caller, period: Period) -> ApiResult<Dashboard> {
        staff_only(caller, "dashboard")?;
        let query = TransactionsQuery {
            period,
            currency: None,
            status: None,
        };
        let (rows, totals) = self.volume(&query).await?;
        Ok(Dashboard {
            period,
            rows,
            totals,
            platform: self.store.totals().await?,
        })
    }

    pub async fn compliance(
        &self,
        caller: &Caller,
        limit: i32,
        cursor: Option<&str>,
    ) -> ApiResult<Compliance> {
        staff_only(caller, "compliance")?;
        Ok(Compliance {
            platform: self.store.totals().await?,
            held: self.store.held(limit, cursor).await?,
        })
    }
}
