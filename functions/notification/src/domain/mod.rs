//! Notification's rules, free of I/O: channels and categories, preferences and their
//! defaults, per event type its policy, notices and wording, and the notification record.

pub mod channel;
pub mod notice;
pub mod notification;
pub mod policy;
pub mod preferences;
pub mod render;
pub mod wording;

pub use channel::{Category, Channel};
pub use notification::{Delivery, Notification, Record, notification_id};
pub use policy::{ChannelPlan, Policy, policy};
pub use preferences::Preferences;
pub use render::{RenderError, Rendered, render};
pub use wording::Text;
