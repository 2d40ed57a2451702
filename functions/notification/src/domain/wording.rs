//! The words of a notice on one channel. Amounts are printed from `Money` exactly (four
//! decimals and the currency), never through a float.

use finflow_shared::events::kyc::DocumentType;
use finflow_shared::events::payment::PaymentSnapshot;
use finflow_shared::events::wallet::WalletStatus;
use finflow_shared::jwt::Role;

use super::channel::Channel;
use super::notice::Notice;

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
    /// The words for `channel`. Only the channels its event's policy sends on have words:
    /// `POLICIES` alone decides where a notice goes (and says why not elsewhere), and `render`
    /// asks for nothing else, so every other channel is `None`. Free text a user typed (a
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
            // A channel its event's policy does not send on.
            _ => None,
        }
    }
}
