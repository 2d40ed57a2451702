//! Notification's HTTP route groups, one Lambda function each.

pub mod api;
pub mod views;

use std::sync::Arc;

use axum::extract::FromRef;
use finflow_shared::jwt::TokenKeys;

use crate::notifications::Notifications;

#[derive(Clone)]
pub struct NotificationApiState {
    pub notifications: Arc<Notifications>,
    pub keys: TokenKeys,
}

impl FromRef<NotificationApiState> for TokenKeys {
    fn from_ref(state: &NotificationApiState) -> Self {
        state.keys.clone()
    }
}
