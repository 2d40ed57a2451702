//! Reporting's HTTP route groups, one Lambda function each.

pub mod api;
pub mod dashboard;
pub mod views;

use std::sync::Arc;

use axum::extract::FromRef;
use finflow_shared::jwt::TokenKeys;

use crate::reports::Reports;

#[derive(Clone)]
pub struct ReportingApiState {
    pub reports: Arc<Reports>,
    pub keys: TokenKeys,
}

impl FromRef<ReportingApiState> for TokenKeys {
    fn from_ref(state: &ReportingApiState) -> Self {
        state.keys.clone()
    }
}
