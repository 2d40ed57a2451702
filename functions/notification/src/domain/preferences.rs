//! Which channels a customer wants for which categories.
//!
//! Defaults, for a customer who never set anything: e-mail for everything, SMS for payments
//! and security, push for payments. One cell cannot be turned off: security notices by
//! e-mail (a frozen or closed wallet must reach its owner somewhere).
//!
//! `PUT` replaces the whole matrix: cells it leaves out take their defaults, so a client that
//! sends back what `GET` returned, changed, gets exactly that.

use std::collections::BTreeMap;

use finflow_shared::FieldError;

use super::channel::{Category, Channel};

/// The default for one cell.
pub fn default_enabled(channel: Channel, category: Category) -> bool {
    match channel {
        Channel::Email => true,
        Channel::Sms => matches!(category, Category::Payments | Category::Security),
        Channel::Push => category == Category::Payments,
    }
}

/// Cells a customer cannot turn off.
pub fn mandatory(channel: Channel, category: Category) -> bool {
    channel == Channel::Email && category == Category::Security
}

/// The full channel × category matrix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preferences {
    cells: BTreeMap<(Channel, Category), bool>,
}

impl Default for Preferences {
    fn default() -> Self {
        let cells = Channel::ALL
            .into_iter()
            .flat_map(|channel| Category::ALL.into_iter().map(move |c| (channel, c)))
            .map(|(channel, category)| ((channel, category), default_enabled(channel, category)))
            .collect();
        Preferences { cells }
    }
}

impl Preferences {
    pub fn allows(&self, channel: Channel, category: Category) -> bool {
        mandatory(channel, category)
            || self
                .cells
                .get(&(channel, category))
                .copied()
                .unwrap_or_else(|| default_enabled(channel, category))
    }

    /// Every cell, channel by channel.
    pub fn cells(&self) -> impl Iterator<Item = (Channel, Category, bool)> + '_ {
        Channel::ALL.into_iter().flat_map(move |channel| {
            Category::ALL
                .into_iter()
                .map(move |category| (channel, category, self.allows(channel, category)))
        })
    }

    /// The matrix a request names by channel and category (`{"sms": {"payments": false}}`):
    /// unnamed cells take their defaults. Every unknown name and every attempt to turn off a
    /// mandatory cell is reported, each as a field of `channels`.
    pub fn from_names(
        requested: &BTreeMap<String, BTreeMap<String, bool>>,
    ) -> Result<Preferences, Vec<FieldError>> {
        let mut preferences = Preferences::default();
        let mut errors = Vec::new();
        for (channel_name, categories) in requested {
            let Some(channel) = Channel::parse(channel_name) else {
                errors.push(FieldError::new(
                    format!("channels.{channel_name}"),
                    "is not a channel; expected one of email, sms, push",
                ));
                continue;
            };
            for (category_name, &enabled) in categories {
                let field = format!("channels.{channel_name}.{category_name}");
                match Category::parse(category_name) {
                    None => errors.push(FieldError::new(
                        field,
                        "is not a category; expected one of account, security, payments, compliance",
                    )),
                    Some(category) if !enabled && mandatory(channel, category) => {
                        errors.push(FieldError::new(
                            field,
                            "security notices by email cannot be turned off",
                        ))
                    }
                    Some(category) => {
                        preferences.cells.insert((channel, category), enabled);
                    }
                }
            }
        }
        if errors.is_empty() {
            Ok(preferences)
        } else {
            Err(errors)
        }
    }

    /// Builds the matrix from stored cells; cells not stored (a category added since) take
    /// their defaults, unknown names (one removed since) are ignored.
    pub fn from_stored(cells: impl IntoIterator<Item = (String, String, bool)>) -> Preferences {
        let mut preferences = Preferences::default();
        for (channel, category, enabled) in cells {
            if let (Some(channel), Some(category)) =
                (Channel::parse(&channel), Category::parse(&category))
            {
                preferences.cells.insert((channel, category), enabled);
            }
        }
        preferences
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(json: serde_json::Value) -> BTreeMap<String, BTreeMap<String, bool>> {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn defaults_are_email_for_all_sms_for_money_and_security_push_for_money() {
        let p = Preferences::default();
        for category in Category::ALL {
            assert!(p.allows(Channel::Email, category));
        }
        assert!(p.allows(Channel::Sms, Category::Payments));
        assert!(p.allows(Channel::Sms, Category::Security));
        assert!(!p.allows(Channel::Sms, Category::Account));
        assert!(!p.allows(Channel::Sms, Category::Compliance));
        assert!(p.allows(Channel::Push, Category::Payments));
        assert!(!p.allows(Channel::Push, Category::Security));
        assert_eq!(p.cells().count(), 12);
    }

    #[test]
    fn a_request_sets_named_cells_and_defaults_the_rest() {
        let p = Preferences::from_names(&request(serde_json::json!({
            "sms": {"payments": false},
            "push": {"account": true},
        })))
        .unwrap();
        assert!(!p.allows(Channel::Sms, Category::Payments));
        assert!(p.allows(Channel::Push, Category::Account));
        assert!(
            p.allows(Channel::Sms, Category::Security),
            "untouched default"
        );
        assert_eq!(
            Preferences::from_names(&BTreeMap::new()).unwrap(),
            Preferences::default()
        );
    }

    #[test]
    fn every_bad_name_and_mandatory_cell_is_reported() {
        let errors = Preferences::from_names(&request(serde_json::json!({
            "fax": {"payments": true},
            "sms": {"marketing": true},
            "email": {"security": false, "payments": false},
        })))
        .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "channels.email.security",
                "channels.fax",
                "channels.sms.marketing"
            ]
        );
        // Turning a mandatory cell on is fine.
        assert!(
            Preferences::from_names(&request(serde_json::json!({"email": {"security": true}})))
                .is_ok()
        );
    }

    #[test]
    fn stored_cells_survive_a_changed_category_list() {
        let p = Preferences::from_stored([
            ("sms".into(), "payments".into(), false),
            ("sms".into(), "retired-category".into(), true),
            ("email".into(), "security".into(), false),
        ]);
        assert!(!p.allows(Channel::Sms, Category::Payments));
        assert!(p.allows(Channel::Email, Category::Security), "mandatory");
        assert!(p.allows(Channel::Push, Category::Payments), "default");
    }
}
