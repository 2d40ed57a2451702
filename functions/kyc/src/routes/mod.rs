//! KYC's HTTP route groups, one Lambda function each.

pub mod aml;
mod aml_views;
pub mod api;
mod views;

use std::sync::Arc;

use axum::extract::FromRef;
use finflow_shared::jwt::TokenKeys;

use crate::aml::cases::AmlCases;
use crate::submissions::Submissions;

#[derive(Clone)]
pub struct KycApiState {
    pub submissions: Arc<Submissions>,
    pub keys: TokenKeys,
}

impl FromRef<KycApiState> for TokenKeys {
    fn from_ref(state: &KycApiState) -> Self {
        state.keys.clone()
    }
}

#[derive(Clone)]
pub struct AmlApiState {
    pub cases: Arc<AmlCases>,
    pub keys: TokenKeys,
}

impl FromRef<AmlApiState> for TokenKeys {
    fn from_ref(state: &AmlApiState) -> Self {
        state.keys.clone()
    }
}
