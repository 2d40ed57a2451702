//! Countries: ISO 3166-1 alpha-2 codes and the risk lists KYC checks them against.

use std::fmt;

/// Every officially assigned ISO 3166-1 alpha-2 code (249), sorted.
const ASSIGNED: &str = "\
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ \
BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ \
CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ \
DE DJ DK DM DO DZ \
EC EE EG EH ER ES ET \
FI FJ FK FM FO FR \
GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY \
HK HM HN HR HT HU \
ID IE IL IM IN IO IQ IR IS IT \
JE JM JO JP \
KE KG KH KI KM KN KP KR KW KY KZ \
LA LB LC LI LK LR LS LT LU LV LY \
MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ \
NA NC NE NF NG NI NL NO NP NR NU NZ \
OM \
PA PE PF PG PH PK PL PM PN PR PS PT PW PY \
QA \
RE RO RS RU RW \
SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ \
TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ \
UA UG UM US UY UZ \
VA VC VE VG VI VN VU \
WF WS \
YE YT \
ZA ZM ZW";

/// Jurisdictions FinFlow does not onboard: comprehensive sanctions programmes and the FATF
/// "call for action" list. An illustrative snapshot: in production compliance owns this list
/// and it would be configuration, not code.
const PROHIBITED: [&str; 5] = ["CU", "IR", "KP", "MM", "SY"];

/// Jurisdictions under increased monitoring (in the manner of the FATF grey list); the same
/// caveat applies.
const INCREASED_MONITORING: [&str; 16] = [
    "AO", "BG", "BO", "CD", "CM", "DZ", "HT", "KE", "LA", "LB", "MC", "NA", "NP", "SS", "VE", "YE",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountryRisk {
    /// Onboarding is refused outright.
    Prohibited,
    IncreasedMonitoring,
    Standard,
}

/// An assigned ISO 3166-1 alpha-2 country code, upper case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Country([u8; 2]);

impl Country {
    /// Accepts any letter case (`de` is `DE`); refuses codes that are not assigned.
    pub fn parse(text: &str) -> Result<Country, &'static str> {
        const MESSAGE: &str = "must be an ISO 3166-1 alpha-2 country code such as \"DE\"";
        let bytes = text.as_bytes();
        if bytes.len() != 2 || !bytes.iter().all(u8::is_ascii_alphabetic) {
            return Err(MESSAGE);
        }
        let code = [bytes[0].to_ascii_uppercase(), bytes[1].to_ascii_uppercase()];
        let country = Country(code);
        if ASSIGNED
            .split(' ')
            .any(|assigned| assigned == country.as_str())
        {
            Ok(country)
        } else {
            Err(MESSAGE)
        }
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("codes are ASCII letters")
    }

    pub fn risk(&self) -> CountryRisk {
        if PROHIBITED.contains(&self.as_str()) {
            CountryRisk::Prohibited
        } else if INCREASED_MONITORING.contains(&self.as_str()) {
            CountryRisk::IncreasedMonitoring
        } else {
            CountryRisk::Standard
        }
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_assigned_codes_parse() {
        assert_eq!(ASSIGNED.split(' ').count(), 249);
        assert_eq!(Country::parse("de").unwrap().as_str(), "DE");
        assert_eq!(Country::parse("US").unwrap().to_string(), "US");
        for bad in ["", "D", "DEU", "XX", "ZZ", "1A", "Dé"] {
            assert!(Country::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn every_listed_code_is_assigned() {
        for code in PROHIBITED.iter().chain(&INCREASED_MONITORING) {
            assert!(Country::parse(code).is_ok(), "{code}");
        }
        assert_eq!(
            Country::parse("KP").unwrap().risk(),
            CountryRisk::Prohibited
        );
        assert_eq!(
            Country::parse("VE").unwrap().risk(),
            CountryRisk::IncreasedMonitoring
        );
        assert_eq!(Country::parse("DE").unwrap().risk(), CountryRisk::Standard);
    }
}
