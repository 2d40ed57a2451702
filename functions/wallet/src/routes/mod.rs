//! Wallet's HTTP route groups, one Lambda function each.

pub mod api;
pub mod views;

use std::sync::Arc;

use axum::extract::FromRef;
use finflow_shared::jwt::TokenKeys;

use crate::wallets::Wallets;

#[derive(Clone)]
pub struct WalletState {
    pub wallets: Arc<Wallets>,
    pub keys: TokenKeys,
}

impl FromRef<WalletState> for TokenKeys {
    fn from_ref(state: &WalletState) -> Self {
        state.keys.clone()
    }
}
