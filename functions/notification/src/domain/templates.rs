//! What each event tells whom, on which channel, in which words.
//!
//! Three steps, all pure:
//! 1. `POLICIES`: per event type and version, its category and, per channel, either a
//!    template or an explicit decision not to notify on that channel (with the reason). An
//!    event type without a policy is not dropped quietly: the catalog test fails, and at run
//!    time the event fails into the DLQ.
//! 2. `notices`: the event's typed payload (decoded with `EventEnvelope::decode`) becomes a
//!    `Notice` per user it is about. A payment tells its payer and its payee different things;
//!    a hold tells only the payer (telling the payee would tip off the subject of a review).
//! 3. `Notice::text`: the words for one channel. Amounts are printed from `Money` exactly
//!    (four decimals and the currency), never through a float.

use finflow_shared::currency::Currency;
use finflow_shared::customer::{AccountTier, KycStatus};
use finflow_shared::events::aml::AmlCaseResolved;
use finflow_shared::events::kyc::{DocumentType, KycDecision, KycDecisionRecorded};
use finflow_shared::events::payment::{
    PaymentCompleted, PaymentFailed, PaymentOnHold, PaymentReleased, PaymentSnapshot, PaymentVoided,
};
use finflow_shared::events::user::{UserCreated, UserKycUpdated, UserRoleChanged, UserTierChanged};
use finflow_shared::events::wallet::{
    WalletCreated, WalletDeposited, WalletStatus, WalletStatusChanged,
};
use finflow_shared::events::{DomainEvent, EventEnvelope};
use finflow_shared::jwt::Role;
use finflow_shared::{Money, PositiveAmount};
use finflow_shared::{UserId, WalletId};

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

/// What one user is told about one event, before it is worded for a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    Welcome {
        name: String,
    },
    TierChanged {
        previous: AccountTier,
        tier: AccountTier,
    },
    /// Staff rights granted (`Staff`) or revoked (`Customer`): the owner hears of every change
    /// of what their account may do, so one they did not expect is noticed.
    RoleChanged {
        role: Role,
    },
    IdentityVerified,
    IdentityRejected,
    IdentityUnderReview {
        document: DocumentType,
    },
    WalletOpened {
        wallet_id: WalletId,
        currency: Currency,
    },
    WalletStatusChanged {
        wallet_id: WalletId,
        currency: Currency,
        status: WalletStatus,
        reason: Option<String>,
        by_owner: bool,
    },
    Deposited {
        wallet_id: WalletId,
        currency: Currency,
        amount: PositiveAmount,
        balance_after: Money,
        reference: String,
    },
    /// To the payer of a completed transfer.
    PaymentSent(PaymentSnapshot),
    /// To the payee of a completed or released transfer.
    PaymentReceived(PaymentSnapshot),
    /// To the payer of a held transfer.
    PaymentHeld(PaymentSnapshot),
    /// To the payer of a held transfer that was released.
    PaymentReleased(PaymentSnapshot),
    /// To the payer of a held transfer that was voided.
    PaymentVoided(PaymentSnapshot),
    /// To the payer of a transfer that failed after it was accepted.
    PaymentFailed {
        payment: PaymentSnapshot,
        reason: String,
    },
}

/// A notice and the user it is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addressed {
    pub user_id: UserId,
    pub notice: Notice,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RenderError {
    #[error("no notification policy for {event_type} v{version}")]
    Unknown { event_type: String, version: u32 },
    #[error("{0}")]
    Malformed(String),
    #[error("{event_type} has a {channel} template in its policy but its notice has no text")]
    MissingTemplate {
        event_type: String,
        channel: &'static str,
    },
}

fn decode<E: DomainEvent>(event: &EventEnvelope) -> Result<E, RenderError> {
    event
        .decode::<E>()
        .map_err(|e| RenderError::Malformed(e.to_string()))
}

fn to(user_id: UserId, notice: Notice) -> Addressed {
    Addressed { user_id, notice }
}

/// The payer's notice, and the payee's when there is one for a different user (a transfer
/// between one's own wallets tells its owner once).
fn payer_and_payee(
    payment: PaymentSnapshot,
    payer: fn(PaymentSnapshot) -> Notice,
    payee: fn(PaymentSnapshot) -> Notice,
) -> Vec<Addressed> {
    let mut out = vec![to(payment.payer_id, payer(payment.clone()))];
    if payment.payee_id != payment.payer_id {
        out.push(to(payment.payee_id, payee(payment)));
    }
    out
}

/// The notices an event gives, one per user it tells (possibly none: a KYC decision that
/// auth will report as `user.kyc_updated` tells nobody by itself).
pub fn notices(event: &EventEnvelope) -> Result<Vec<Addressed>, RenderError> {
    Ok(if event.is::<UserCreated>() {
        let e = decode::<UserCreated>(event)?;
        vec![to(e.user.user_id, Notice::Welcome { name: e.name })]
    } else if event.is::<UserTierChanged>() {
        let e = decode::<UserTierChanged>(event)?;
        vec![to(
            e.user.user_id,
            Notice::TierChanged {
                previous: e.previous_tier,
                tier: e.user.account_tier,
            },
        )]
    } else if event.is::<UserRoleChanged>() {
        let e = decode::<UserRoleChanged>(event)?;
        vec![to(e.user.user_id, Notice::RoleChanged { role: e.role })]
    } else if event.is::<UserKycUpdated>() {
        let e = decode::<UserKycUpdated>(event)?;
        match e.user.kyc_status {
            KycStatus::Verified => vec![to(e.user.user_id, Notice::IdentityVerified)],
            KycStatus::Rejected => vec![to(e.user.user_id, Notice::IdentityRejected)],
            // Back to pending is not news to the customer.
            KycStatus::Pending => Vec::new(),
        }
    } else if event.is::<KycDecisionRecorded>() {
        let e = decode::<KycDecisionRecorded>(event)?;
        match e.decision {
            KycDecision::ManualReview => vec![to(
                e.user_id,
                Notice::IdentityUnderReview {
                    document: e.document_type,
                },
            )],
            // Auth turns these into the user's kyc_status and `user.kyc_updated`, which is
            // what the customer is told about (once, from the account's own state).
            KycDecision::Verified | KycDecision::Rejected => Vec::new(),
        }
    } else if event.is::<WalletCreated>() {
        let e = decode::<WalletCreated>(event)?;
        vec![to(
            e.user_id,
            Notice::WalletOpened {
                wallet_id: e.wallet_id,
                currency: e.currency,
            },
        )]
    } else if event.is::<WalletStatusChanged>() {
        let e = decode::<WalletStatusChanged>(event)?;
        vec![to(
            e.user_id,
            Notice::WalletStatusChanged {
                wallet_id: e.wallet_id,
                currency: e.currency,
                status: e.status,
                reason: e.reason,
                by_owner: e.changed_by == e.user_id,
            },
        )]
    } else if event.is::<WalletDeposited>() {
        let e = decode::<WalletDeposited>(event)?;
        vec![to(
            e.user_id,
            Notice::Deposited {
                wallet_id: e.wallet_id,
                currency: e.currency,
                amount: e.amount,
                balance_after: e.balance_after,
                reference: e.reference,
            },
        )]
    } else if event.is::<PaymentCompleted>() {
        let e = decode::<PaymentCompleted>(event)?;
        payer_and_payee(e.payment, Notice::PaymentSent, Notice::PaymentReceived)
    } else if event.is::<PaymentOnHold>() {
        // The hold's reasons are never shown: they would tell how screening works.
        let e = decode::<PaymentOnHold>(event)?;
        vec![to(e.payment.payer_id, Notice::PaymentHeld(e.payment))]
    } else if event.is::<PaymentReleased>() {
        let e = decode::<PaymentReleased>(event)?;
        payer_and_payee(e.payment, Notice::PaymentReleased, Notice::PaymentReceived)
    } else if event.is::<PaymentVoided>() {
        // The payee never learned of the held payment, so its voiding is not news to them.
        let e = decode::<PaymentVoided>(event)?;
        vec![to(e.payment.payer_id, Notice::PaymentVoided(e.payment))]
    } else if event.is::<PaymentFailed>() {
        let e = decode::<PaymentFailed>(event)?;
        vec![to(
            e.payment.payer_id,
            Notice::PaymentFailed {
                payment: e.payment,
                reason: e.reason,
            },
        )]
    } else if event.is::<AmlCaseResolved>() {
        decode::<AmlCaseResolved>(event)?;
        Vec::new()
    } else {
        return Err(RenderError::Unknown {
            event_type: event.event_type.clone(),
            version: event.schema_version,
        });
    })
}

/// The words of one notification: a subject (e-mail) or title (push), and the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    pub subject: Option<String>,
    pub body: String,
}

fn email(subject: String, body: String) -> Option<Text> {
    Some(Text {
        subject: Some(subject),
        body,
    })
}

fn sms(body: String) -> Option<Text> {
    Some(Text {
        subject: None,
        body: format!("FinFlow: {body}"),
    })
}

fn push(title: &str, body: String) -> Option<Text> {
    Some(Text {
        subject: Some(title.to_owned()),
        body,
    })
}

fn amount(payment: &PaymentSnapshot) -> String {
    format!("{} {}", payment.amount, payment.currency)
}

fn described(payment: &PaymentSnapshot) -> String {
    payment
        .description
        .as_ref()
        .map(|d| format!(" Description: \"{d}\"."))
        .unwrap_or_default()
}

fn document_name(document: DocumentType) -> &'static str {
    match document {
        DocumentType::Passport => "passport",
        DocumentType::NationalId => "national ID card",
        DocumentType::DriversLicense => "driving licence",
    }
}

fn status_word(status: WalletStatus) -> &'static str {
    match status {
        WalletStatus::Active => "active again",
        WalletStatus::Frozen => "frozen",
        WalletStatus::Closed => "closed",
    }
}

impl Notice {
    /// The words for `channel`, or `None` where the notice has no template for it (the
    /// policies say which; the tests hold both to each other). Free text a user typed (a
    /// payment description) appears in e-mails only.
    pub fn text(&self, channel: Channel) -> Option<Text> {
        use Channel::{Email, Push, Sms};
        match (self, channel) {
            (Notice::Welcome { name }, Email) => email(
                "Welcome to FinFlow".into(),
                format!(
                    "Hi {name}, your FinFlow account is ready. Verify your identity to open \
                     a wallet and start sending money."
                ),
            ),
            (Notice::Welcome { .. }, Sms | Push) => None,

            (Notice::TierChanged { previous, tier }, Email) => email(
                format!("Your account tier is now {}", tier.as_str()),
                format!(
                    "Your FinFlow account moved from the {} tier to the {} tier. Your wallet, \
                     deposit and transfer limits now follow the {} tier.",
                    previous.as_str(),
                    tier.as_str(),
                    tier.as_str()
                ),
            ),
            (Notice::TierChanged { tier, .. }, Push) => push(
                "Account tier changed",
                format!("Your limits now follow the {} tier.", tier.as_str()),
            ),
            (Notice::TierChanged { .. }, Sms) => None,

            (Notice::RoleChanged { role }, Email) => match role {
                Role::Staff => email(
                    "Staff rights were granted to your account".into(),
                    "Your FinFlow account now has staff rights: it can act on other \
                     customers' accounts. If you did not expect this, tell security at once."
                        .into(),
                ),
                Role::Customer => email(
                    "Staff rights were removed from your account".into(),
                    "Your FinFlow account no longer has staff rights; everything that is \
                     your own works as before."
                        .into(),
                ),
            },
            (Notice::RoleChanged { role }, Push) => push(
                "Account rights changed",
                match role {
                    Role::Staff => "Staff rights were granted to your account.".into(),
                    Role::Customer => "Staff rights were removed from your account.".into(),
                },
            ),
            (Notice::RoleChanged { .. }, Sms) => None,

            (Notice::IdentityVerified, Email) => email(
                "Your identity is verified".into(),
                "Thank you: your identity is verified. You can now open wallets and send money."
                    .into(),
            ),
            (Notice::IdentityVerified, Push) => push(
                "Identity verified",
                "You can now open wallets and send money.".into(),
            ),
            (Notice::IdentityRejected, Email) => email(
                "We could not verify your identity".into(),
                "We could not verify your identity from the document you submitted. You can \
                 submit another document at any time."
                    .into(),
            ),
            (Notice::IdentityRejected, Push) => push(
                "Identity not verified",
                "Please submit another document.".into(),
            ),
            (Notice::IdentityUnderReview { document }, Email) => email(
                "Your identity check is under review".into(),
                format!(
                    "A member of our team is reviewing the {} you submitted. We will tell you \
                     the outcome as soon as it is decided.",
                    document_name(*document)
                ),
            ),
            (Notice::IdentityUnderReview { .. }, Push) => push(
                "Identity check under review",
                "We will tell you the outcome soon.".into(),
            ),
            (
                Notice::IdentityVerified
                | Notice::IdentityRejected
                | Notice::IdentityUnderReview { .. },
                Sms,
            ) => None,

            (
                Notice::WalletOpened {
                    wallet_id,
                    currency,
                },
                Email,
            ) => email(
                format!("Your {currency} wallet is ready"),
                format!(
                    "Wallet #{wallet_id} ({currency}) is open. Top it up to start sending money."
                ),
            ),
            (
                Notice::WalletOpened {
                    wallet_id,
                    currency,
                },
                Push,
            ) => push(
                "Wallet ready",
                format!("Your {currency} wallet #{wallet_id} is open."),
            ),
            (Notice::WalletOpened { .. }, Sms) => None,

            (
                Notice::WalletStatusChanged {
                    wallet_id,
                    currency,
                    status,
                    reason,
                    by_owner,
                },
                channel,
            ) => {
                let what = format!(
                    "Your {currency} wallet #{wallet_id} is {}",
                    status_word(*status)
                );
                let who = if *by_owner {
                    "at your request"
                } else {
                    "by our operations team"
                };
                match channel {
                    Email => email(
                        what.clone(),
                        format!(
                            "{what}: the change was made {who}{}. If you did not expect it, \
                             contact support.",
                            reason
                                .as_ref()
                                .map(|r| format!(" (reason: {r})"))
                                .unwrap_or_default()
                        ),
                    ),
                    Sms => sms(format!("{what}. Not you? Contact support.")),
                    Push => push("Wallet status changed", format!("{what}.")),
                }
            }

            (
                Notice::Deposited {
                    wallet_id,
                    currency,
                    amount,
                    balance_after,
                    reference,
                },
                channel,
            ) => match channel {
                Email => email(
                    format!("Deposit received: {amount} {currency}"),
                    format!(
                        "{amount} {currency} was deposited to your wallet #{wallet_id} \
                         (reference: {reference}). New balance: {balance_after} {currency}."
                    ),
                ),
                Sms => sms(format!(
                    "{amount} {currency} deposited to wallet #{wallet_id}. Balance \
                     {balance_after} {currency}."
                )),
                Push => push(
                    "Deposit received",
                    format!("{amount} {currency} to wallet #{wallet_id}."),
                ),
            },

            (Notice::PaymentSent(p), channel) => match channel {
                Email => email(
                    format!("You sent {}", amount(p)),
                    format!(
                        "Payment #{}: {} from your wallet #{} to wallet #{} is complete.{}",
                        p.payment_id,
                        amount(p),
                        p.from_wallet_id,
                        p.to_wallet_id,
                        described(p)
                    ),
                ),
                Sms => sms(format!(
                    "you sent {} to wallet #{} (payment #{}).",
                    amount(p),
                    p.to_wallet_id,
                    p.payment_id
                )),
                Push => push(
                    "Payment sent",
                    format!("{} to wallet #{}.", amount(p), p.to_wallet_id),
                ),
            },

            (Notice::PaymentReceived(p), channel) => match channel {
                Email => email(
                    format!("You received {}", amount(p)),
                    format!(
                        "Payment #{}: {} from wallet #{} arrived in your wallet #{}.{}",
                        p.payment_id,
                        amount(p),
                        p.from_wallet_id,
                        p.to_wallet_id,
                        described(p)
                    ),
                ),
                Sms => sms(format!(
                    "you received {} in wallet #{} (payment #{}).",
                    amount(p),
                    p.to_wallet_id,
                    p.payment_id
                )),
                Push => push(
                    "Payment received",
                    format!("{} in wallet #{}.", amount(p), p.to_wallet_id),
                ),
            },

            (Notice::PaymentHeld(p), channel) => match channel {
                Email => email(
                    format!("Your transfer of {} is under review", amount(p)),
                    format!(
                        "Your transfer is under review: payment #{} of {} to wallet #{} is \
                         being checked by our compliance team. The amount is reserved in your \
                         wallet #{}; it will either be sent or returned to you.{}",
                        p.payment_id,
                        amount(p),
                        p.to_wallet_id,
                        p.from_wallet_id,
                        described(p)
                    ),
                ),
                Sms => sms(format!(
                    "your transfer of {} (payment #{}) is under review. The amount is reserved \
                     in your wallet.",
                    amount(p),
                    p.payment_id
                )),
                Push => push(
                    "Transfer under review",
                    format!("Your transfer of {} is under review.", amount(p)),
                ),
            },

            (Notice::PaymentReleased(p), channel) => match channel {
                Email => email(
                    format!("Your transfer of {} was sent", amount(p)),
                    format!(
                        "The review of payment #{} is complete: {} went to wallet #{}.",
                        p.payment_id,
                        amount(p),
                        p.to_wallet_id
                    ),
                ),
                Sms => sms(format!(
                    "your transfer of {} (payment #{}) was reviewed and sent.",
                    amount(p),
                    p.payment_id
                )),
                Push => push(
                    "Transfer sent",
                    format!("Your transfer of {} was sent after review.", amount(p)),
                ),
            },

            (Notice::PaymentVoided(p), channel) => match channel {
                Email => email(
                    format!("Your transfer of {} was cancelled", amount(p)),
                    format!(
                        "After review, payment #{} was not sent. {} is back in your wallet #{}.",
                        p.payment_id,
                        amount(p),
                        p.from_wallet_id
                    ),
                ),
                Sms => sms(format!(
                    "your transfer of {} (payment #{}) was cancelled after review; the amount \
                     is back in your wallet.",
                    amount(p),
                    p.payment_id
                )),
                Push => push(
                    "Transfer cancelled",
                    format!("{} is back in your wallet.", amount(p)),
                ),
            },

            (Notice::PaymentFailed { payment: p, reason }, channel) => match channel {
                Email => email(
                    format!("Your transfer of {} failed", amount(p)),
                    format!(
                        "Payment #{} could not be completed ({reason}). {} is back in your \
                         wallet #{}.",
                        p.payment_id,
                        amount(p),
                        p.from_wallet_id
                    ),
                ),
                Sms => sms(format!(
                    "your transfer of {} (payment #{}) failed; the amount is back in your \
                     wallet.",
                    amount(p),
                    p.payment_id
                )),
                Push => push(
                    "Transfer failed",
                    format!("{} is back in your wallet.", amount(p)),
                ),
            },
        }
    }
}

/// One notification to send or suppress: a notice worded for one channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub user_id: UserId,
    pub channel: Channel,
    pub category: Category,
    pub text: Text,
}

/// Everything an event gives: each notice on each channel its policy sends it on.
pub fn render(event: &EventEnvelope) -> Result<Vec<Rendered>, RenderError> {
    let policy =
        policy(&event.event_type, event.schema_version).ok_or_else(|| RenderError::Unknown {
            event_type: event.event_type.clone(),
            version: event.schema_version,
        })?;
    let mut out = Vec::new();
    for Addressed { user_id, notice } in notices(event)? {
        for channel in Channel::ALL {
            if policy.plan(channel) != ChannelPlan::Template {
                continue;
            }
            let text = notice
                .text(channel)
                .ok_or_else(|| RenderError::MissingTemplate {
                    event_type: event.event_type.clone(),
                    channel: channel.as_str(),
                })?;
            out.push(Rendered {
                user_id,
                channel,
                category: policy.category,
                text,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use finflow_contracts::samples;
    use finflow_shared::contracts::CATALOG;
    use finflow_shared::events::Causality;
    use finflow_shared::events::payment::PaymentStatus;
    use finflow_shared::trace::TraceId;
    use finflow_shared::{CaseId, PaymentId};

    use super::*;

    /// The catalog test: every event type FinFlow emits, at every version, has a policy, so
    /// every (event type, channel) has a template or an explicit decision not to notify.
    /// A new `DomainEvent` in the catalog fails here until notification decides about it.
    #[test]
    fn every_catalog_event_has_a_template_or_a_decision_on_every_channel() {
        let mut missing = Vec::new();
        for entry in CATALOG {
            match policy(entry.event_type, entry.version) {
                None => missing.push(format!("{entry:?}")),
                Some(policy) => {
                    for channel in Channel::ALL {
                        match policy.plan(channel) {
                            ChannelPlan::Template => {}
                            ChannelPlan::NotNotified(reason) => assert!(
                                !reason.trim().is_empty(),
                                "{entry:?} on {}: a decision not to notify says why",
                                channel.as_str()
                            ),
                        }
                    }
                }
            }
        }
        assert!(
            missing.is_empty(),
            "no notification policy (template or explicit not-notified decision per channel) \
             for: {missing:?}; add them to POLICIES and `notices`"
        );
        // And nothing stale: every policy is for an event that exists.
        for policy in POLICIES {
            assert!(
                CATALOG
                    .iter()
                    .any(|e| e.event_type == policy.event_type && e.version == policy.version),
                "{} v{} is not in the catalog",
                policy.event_type,
                policy.version
            );
        }
        let unique: BTreeSet<_> = POLICIES.iter().map(|p| (p.event_type, p.version)).collect();
        assert_eq!(unique.len(), POLICIES.len(), "one policy per event type");
    }

    /// Every sample of every catalog type (every enum value, optional fields present and
    /// absent, extreme amounts) renders, and the templates match the policies exactly: a
    /// text on every channel the policy sends on, none where it decided not to.
    #[test]
    fn every_sample_event_renders_and_templates_match_their_policies() {
        let mut told = BTreeSet::new();
        for event in samples::all() {
            let policy = policy(&event.event_type, event.schema_version).unwrap();
            let notices = notices(&event)
                .unwrap_or_else(|e| panic!("{} does not render: {e}", event.event_type));
            for Addressed { notice, .. } in &notices {
                told.insert(event.event_type.clone());
                for channel in Channel::ALL {
                    let text = notice.text(channel);
                    match policy.plan(channel) {
                        ChannelPlan::Template => {
                            let text = text.unwrap_or_else(|| {
                                panic!("{notice:?} has no {} text", channel.as_str())
                            });
                            assert!(!text.body.trim().is_empty());
                            if channel == Channel::Sms {
                                assert!(
                                    text.body.chars().count() <= 160,
                                    "one SMS segment: {}",
                                    text.body
                                );
                                assert!(!text.body.contains("rent for March"), "no free text");
                            } else {
                                assert!(text.subject.is_some(), "{notice:?}");
                            }
                        }
                        ChannelPlan::NotNotified(_) => assert_eq!(
                            text,
                            None,
                            "{} is not sent on {}, so {notice:?} needs no text there",
                            event.event_type,
                            channel.as_str()
                        ),
                    }
                }
            }
            render(&event).unwrap();
        }
        // Every type that sends on some channel was exercised by some sample.
        for policy in POLICIES {
            let sends = Channel::ALL
                .into_iter()
                .any(|c| policy.plan(c) == ChannelPlan::Template);
            assert_eq!(
                told.contains(policy.event_type),
                sends,
                "{}: samples exercised its templates",
                policy.event_type
            );
        }
    }

    #[test]
    fn an_event_without_a_policy_is_an_error_not_a_silent_drop() {
        let mut event = envelope(&completed(UserId::new(1), UserId::new(2)));
        event.event_type = "payment.refunded".into();
        assert_eq!(
            render(&event),
            Err(RenderError::Unknown {
                event_type: "payment.refunded".into(),
                version: 1
            })
        );
        let mut event = envelope(&completed(UserId::new(1), UserId::new(2)));
        event.data["amount"] = "-1".into();
        assert!(matches!(render(&event), Err(RenderError::Malformed(_))));
    }

    fn envelope<E: DomainEvent>(event: &E) -> EventEnvelope {
        EventEnvelope::new(event, &Causality::from_request(TraceId::generate()))
    }

    fn snapshot(payer: UserId, payee: UserId, status: PaymentStatus) -> PaymentSnapshot {
        PaymentSnapshot {
            payment_id: PaymentId::new(7),
            from_wallet_id: WalletId::new(3),
            to_wallet_id: WalletId::new(4),
            payer_id: payer,
            payee_id: payee,
            amount: PositiveAmount::new(Money::parse("950.1234").unwrap()).unwrap(),
            currency: Currency::parse("USD").unwrap(),
            status,
            description: Some("rent".into()),
        }
    }

    fn completed(payer: UserId, payee: UserId) -> PaymentCompleted {
        PaymentCompleted {
            payment: snapshot(payer, payee, PaymentStatus::Completed),
        }
    }

    fn for_user(rendered: &[Rendered], user: UserId, channel: Channel) -> Vec<&Text> {
        rendered
            .iter()
            .filter(|r| r.user_id == user && r.channel == channel)
            .map(|r| &r.text)
            .collect()
    }

    #[test]
    fn a_payment_tells_payer_and_payee_different_things_with_the_exact_amount() {
        let rendered = render(&envelope(&completed(UserId::new(1), UserId::new(2)))).unwrap();
        assert_eq!(rendered.len(), 6, "two users, three channels");
        let payer = for_user(&rendered, UserId::new(1), Channel::Email)[0];
        let payee = for_user(&rendered, UserId::new(2), Channel::Email)[0];
        assert_eq!(payer.subject.as_deref(), Some("You sent 950.1234 USD"));
        assert_eq!(payee.subject.as_deref(), Some("You received 950.1234 USD"));
        assert!(payee.body.contains("rent"));
        assert!(
            for_user(&rendered, UserId::new(2), Channel::Sms)[0]
                .body
                .starts_with("FinFlow: you received 950.1234 USD")
        );
        assert!(rendered.iter().all(|r| r.category == Category::Payments));
        // Between one's own wallets: told once.
        let own = render(&envelope(&completed(UserId::new(1), UserId::new(1)))).unwrap();
        assert_eq!(own.len(), 3);
    }

    #[test]
    fn a_hold_tells_only_the_payer_that_the_transfer_is_under_review() {
        let held = PaymentOnHold {
            payment: snapshot(UserId::new(1), UserId::new(2), PaymentStatus::OnHold),
            reasons: vec!["structuring: amount just under the per-transaction limit".into()],
        };
        let rendered = render(&envelope(&held)).unwrap();
        assert!(rendered.iter().all(|r| r.user_id == UserId::new(1)));
        assert_eq!(rendered.len(), 3);
        let email = for_user(&rendered, UserId::new(1), Channel::Email)[0];
        assert_eq!(
            email.subject.as_deref(),
            Some("Your transfer of 950.1234 USD is under review")
        );
        assert!(email.body.contains("reserved in your wallet #3"));
        assert!(
            rendered
                .iter()
                .all(|r| !r.text.body.contains("structuring")),
            "screening reasons are never told"
        );
    }

    #[test]
    fn kyc_decisions_tell_only_of_a_manual_review_and_aml_tells_nobody() {
        let decision = |decision| KycDecisionRecorded {
            user_id: UserId::new(5),
            submission_id: 1,
            document_type: DocumentType::NationalId,
            decision,
            risk_score: 40,
            reasons: vec![],
            decided_by: finflow_shared::events::kyc::DecidedBy::Automatic,
            sequence: 1,
        };
        let review = render(&envelope(&decision(KycDecision::ManualReview))).unwrap();
        assert_eq!(review.len(), 2, "email and push");
        assert!(review[0].text.body.contains("national ID card"));
        assert!(
            render(&envelope(&decision(KycDecision::Verified)))
                .unwrap()
                .is_empty()
        );
        let resolved = AmlCaseResolved {
            case_id: CaseId::new(1),
            payment_id: PaymentId::new(7),
            action: finflow_shared::events::aml::CaseAction::Release,
            resolved_by: UserId::new(9),
            note: None,
        };
        assert!(render(&envelope(&resolved)).unwrap().is_empty());
    }

    #[test]
    fn deposits_print_amount_and_balance_exactly() {
        let deposit = WalletDeposited {
            wallet_id: WalletId::new(12),
            user_id: UserId::new(5),
            currency: Currency::parse("EUR").unwrap(),
            amount: PositiveAmount::new(Money::parse("0.0001").unwrap()).unwrap(),
            balance_after: Money::parse("9999999999999999.9999").unwrap(),
            reference: "top-up".into(),
        };
        let rendered = render(&envelope(&deposit)).unwrap();
        let sms = for_user(&rendered, UserId::new(5), Channel::Sms)[0];
        assert_eq!(
            sms.body,
            "FinFlow: 0.0001 EUR deposited to wallet #12. Balance 9999999999999999.9999 EUR."
        );
    }
}
