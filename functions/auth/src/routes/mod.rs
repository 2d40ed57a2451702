//! Auth's HTTP route groups, one Lambda function each.

pub mod profile;
pub mod session;
mod views;

use std::sync::Arc;

use axum::extract::FromRef;
use finflow_shared::jwt::TokenKeys;

use crate::accounts::Accounts;
use crate::staff::StaffRoles;

#[derive(Clone)]
pub struct AuthApiState {
    pub accounts: Arc<Accounts>,
    pub staff_roles: Arc<StaffRoles>,
    pub keys: TokenKeys,
}

impl FromRef<AuthApiState> for TokenKeys {
    fn from_ref(state: &AuthApiState) -> Self {
        state.keys.clone()
    }
}
