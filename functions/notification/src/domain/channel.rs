//! The channels notifications go out on and the categories customers choose them by.

/// Where a notification goes. Each channel is one SNS topic; the workers subscribed to it
/// (e-mail sender, SMS gateway, push service) look up the user's address themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Channel {
    Email,
    Sms,
    Push,
}

impl Channel {
    pub const ALL: [Channel; 3] = [Channel::Email, Channel::Sms, Channel::Push];

    pub fn as_str(&self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
            Channel::Push => "push",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

/// What a notification is about; preferences are set per channel and category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    /// Registration, tier, new wallets.
    Account,
    /// Wallet status changes (frozen, closed, reactivated).
    Security,
    /// Money moving: deposits, transfers sent and received, holds and their ends.
    Payments,
    /// Identity verification and compliance reviews.
    Compliance,
}

impl Category {
    pub const ALL: [Category; 4] = [
        Category::Account,
        Category::Security,
        Category::Payments,
        Category::Compliance,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Category::Account => "account",
            Category::Security => "security",
            Category::Payments => "payments",
            Category::Compliance => "compliance",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for channel in Channel::ALL {
            assert_eq!(Channel::parse(channel.as_str()), Some(channel));
        }
        for category in Category::ALL {
            assert_eq!(Category::parse(category.as_str()), Some(category));
        }
        assert_eq!(Channel::parse("fax"), None);
        assert_eq!(Category::parse("marketing"), None);
    }
}
