//! Wallet's HTTP route groups, one Lambda function each.

pub mod api;
pub mod views;

use std::sync::Arc;

use axum::extract::FromRef;
use finflow_shared::jwt::TokenKeys;

use crate::service::WalletService;

#[derive(Clone)]
pub struct WalletApiState {
    pub wallets: Arc<WalletService>,
    pub keys: TokenKeys,
}

impl FromRef<WalletApiState> for TokenKeys {
    fn from_ref(state: &WalletApiState) -> Self {
        state.keys.clone()
    }
}
