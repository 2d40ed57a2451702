//! Notification's rules, free of I/O: channels and categories, preferences and their
//! defaults, the templates per event type and channel, and the notification record.

pub mod channel;
pub mod notification;
pub mod preferences;
pub mod templates;

pub use channel::{Category, Channel};
pub use notification::{Delivery, Notification, Record, notification_id};
pub use preferences::Preferences;
pub use templates::{ChannelPlan, Policy, RenderError, Rendered, Text, policy, render};
