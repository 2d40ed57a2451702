//! Per event type and version: its category and, per channel, either words or a decision not
//! to notify on that channel, with the reason. This is the one place that decides where a
//! notice goes. An event type without a policy is not dropped quietly: the catalog test fails,
//! and at run time the event fails into the DLQ.

use finflow_shared::events::DomainEvent;
use finflow_shared::events::aml::AmlCaseResolved;
use finflow_shared::events::kyc::KycDecisionRecorded;
use finflow_shared::events::payment::{
    PaymentCompleted, PaymentFailed, PaymentOnHold, PaymentReleased, PaymentVoided,
};
use finflow_shared::events::user::{UserCreated, UserKycUpdated, UserRoleChanged, UserTierChanged};
use finflow_shared::events::wallet::{WalletCreated, WalletDeposited, WalletStatusChanged};

use super::channel::{Category, Channel};

/// What one channel does with one event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelPlan {
    /// Each notice of the event is worded for the channel by `Notice::text`.
    Template,
    /// The event is deliberately not sent on this channel, for this reason.
    NotNotified(&'static str),
}

/// How notification treats one event type at one version.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub event_type: &'static str,
    pub version: u32,
    pub category: Category,
    pub email: ChannelPlan,
    pub sms: ChannelPlan,
    pub push: ChannelPlan,
}

impl Policy {
    pub fn plan(&self, channel: Channel) -> ChannelPlan {
        match channel {
            Channel::Email => self.email,
            Channel::Sms => self.sms,
            Channel::Push => self.push,
        }
    }
}

const SEND: ChannelPlan = ChannelPlan::Template;

const fn policy_of<E: DomainEvent>(
    category: Category,
    email: ChannelPlan,
    sms: ChannelPlan,
    push: ChannelPlan,
) -> Policy {
    Policy {
        event_type: E::TYPE,
        version: E::VERSION,
        category,
        email,
        sms,
        push,
    }
}

/// Every event type notification handles, one line each. A new event type needs a line here
/// (the catalog test enumerates `contracts::CATALOG`) and a case in `notices`.
pub const POLICIES: &[Policy] = &[
    policy_of::<UserCreated>(
        Category::Account,
        SEND,
        ChannelPlan::NotNotified(
            "registration collects no phone number; the welcome goes by email",
        ),
        ChannelPlan::NotNotified("no device is registered at sign-up"),
    ),
    policy_of::<UserTierChanged>(
        Category::Account,
        SEND,
        ChannelPlan::NotNotified("a tier change is not urgent enough for a text message"),
        SEND,
    ),
    policy_of::<UserRoleChanged>(
        Category::Security,
        SEND,
        ChannelPlan::NotNotified("staff rights are announced by email and push, never by text"),
        SEND,
    ),
    policy_of::<UserKycUpdated>(
        Category::Compliance,
        SEND,
        ChannelPlan::NotNotified("identity results go by email and push, never by text message"),
        SEND,
    ),
    policy_of::<KycDecisionRecorded>(
        Category::Compliance,
        SEND,
        ChannelPlan::NotNotified("identity results go by email and push, never by text message"),
        SEND,
    ),
    policy_of::<WalletCreated>(
        Category::Account,
        SEND,
        ChannelPlan::NotNotified("a new wallet is not urgent enough for a text message"),
        SEND,
    ),
    policy_of::<WalletStatusChanged>(Category::Security, SEND, SEND, SEND),
    policy_of::<WalletDeposited>(Category::Payments, SEND, SEND, SEND),
    policy_of::<PaymentCompleted>(Category::Payments, SEND, SEND, SEND),
    policy_of::<PaymentOnHold>(Category::Payments, SEND, SEND, SEND),
    policy_of::<PaymentReleased>(Category::Payments, SEND, SEND, SEND),
    policy_of::<PaymentVoided>(Category::Payments, SEND, SEND, SEND),
    policy_of::<PaymentFailed>(Category::Payments, SEND, SEND, SEND),
    policy_of::<AmlCaseResolved>(
        Category::Compliance,
        ChannelPlan::NotNotified(AML_INTERNAL),
        ChannelPlan::NotNotified(AML_INTERNAL),
        ChannelPlan::NotNotified(AML_INTERNAL),
    ),
];

const AML_INTERNAL: &str = "an internal compliance decision: customers learn its outcome from \
     payment.released (payer and payee) or payment.voided (payer)";

/// The policy for `event_type` at `version`, if notification knows it.
pub fn policy(event_type: &str, version: u32) -> Option<&'static Policy> {
    POLICIES
        .iter()
        .find(|p| p.event_type == event_type && p.version == version)
}
