//! Payment's HTTP route groups, one Lambda function each.

pub mod api;
pub mod views;

use std::sync::Arc;

use axum::extract::FromRef;
use finflow_shared::jwt::TokenKeys;

use crate::service::PaymentService;

#[derive(Clone)]
pub struct PaymentApiState {
    pub payments: Arc<PaymentService>,
    pub keys: TokenKeys,
}

impl FromRef<PaymentApiState> for TokenKeys {
    fn from_ref(state: &PaymentApiState) -> Self {
        state.keys.clone()
    }
}
