//! What a customer does with notification through the API: read and set their preferences,
//! and list their own notifications. Everything is the caller's own; there is no way to name
//! another user.

use std::collections::BTreeMap;
use std::sync::Arc;

use finflow_shared::http::Caller;
use finflow_shared::{ApiError, ApiResult};
use time::OffsetDateTime;

use crate::domain::Preferences;
use crate::store::{NotificationStore, RecordPage, StoredPreferences};

pub struct Notifications {
    store: Arc<dyn NotificationStore>,
}

impl Notifications {
    pub fn new(store: Arc<dyn NotificationStore>) -> Self {
        Notifications { store }
    }

    /// The caller's preferences; `None` for the time when they never set any (defaults).
    pub async fn preferences(
        &self,
        caller: &Caller,
    ) -> ApiResult<(Preferences, Option<OffsetDateTime>)> {
        Ok(match self.store.preferences(caller.user_id).await? {
            Some(stored) => (stored.preferences, Some(stored.updated_at)),
            None => (Preferences::default(), None),
        })
    }

    /// Replaces the caller's preferences with the cells `requested` names, the rest at their
    /// defaults.
    pub async fn set_preferences(
        &self,
        caller: &Caller,
        requested: &BTreeMap<String, BTreeMap<String, bool>>,
    ) -> ApiResult<StoredPreferences> {
        let preferences = Preferences::from_names(requested).map_err(ApiError::Validation)?;
        let stored = StoredPreferences {
            preferences,
            updated_at: OffsetDateTime::now_utc(),
        };
        self.store.save_preferences(caller.user_id, &stored).await?;
        Ok(stored)
    }

    pub async fn list(
        &self,
        caller: &Caller,
        limit: i32,
        cursor: Option<&str>,
    ) -> ApiResult<RecordPage> {
        Ok(self.store.list(caller.user_id, limit, cursor).await?)
    }
}
