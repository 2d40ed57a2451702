//! The KYC risk model: a submission's risk score and the automatic decision it leads to.
//!
//! The score (0 = no risk, 100 = certain refusal) is the sum of the points of each risk
//! factor, capped at 100:
//!
//! | factor | points |
//! |---|---|
//! | document: passport / national_id / drivers_license | 10 / 15 / 25 |
//! | country not given | 5 |
//! | country under increased monitoring | 20 |
//! | country prohibited (sanctions, FATF call for action) | 100: rejected outright |
//! | account age under 1 day / under 30 days / 30 days or more | 10 / 5 / 0 |
//! | account age unknown (KYC has not yet learned the registration) | 10 |
//! | each previous rejection, at most three counted | 15 |
//!
//! A passport is the strongest document (machine-readable zone, biometric chip, issued after
//! an identity check); a driving licence is the weakest (not issued everywhere for identity,
//! easiest to forge). A brand-new account is more often a fraud attempt than an established
//! one; an unknown age is scored as brand new, since KYC cannot tell it apart. Repeated
//! rejections are a signal of their own.
//!
//! The decision: a score of at most [`VERIFY_AT_MOST`] (30) is verified, from
//! [`REJECT_FROM`] (60) on it is rejected, in between a person decides (manual review). So a
//! passport from a minutes-old account, without a country, scores 10 + 10 + 5 = 25 and is
//! verified; a driving licence from that account scores 35 or more and goes to review; a
//! prohibited country is rejected whatever else holds; after two rejections no submission is
//! verified automatically any more (the best one scores 10 + 30 = 40).
//!
//! Pure domain code: no I/O, no clock (the caller passes the account's age).

use finflow_shared::events::kyc::{DocumentType, KycDecision};
use time::Duration;

use super::country::{Country, CountryRisk};

/// Scores up to this are verified automatically.
pub const VERIFY_AT_MOST: u8 = 30;
/// Scores from this on are rejected automatically.
pub const REJECT_FROM: u8 = 60;
/// Previous rejections beyond this many add nothing more.
const MAX_COUNTED_REJECTIONS: u32 = 3;

/// What the model looks at.
#[derive(Debug, Clone)]
pub struct RiskInput {
    pub document_type: DocumentType,
    pub country: Option<Country>,
    /// Time since registration, or `None` when KYC does not know it yet.
    pub account_age: Option<Duration>,
    pub previous_rejections: u32,
}

/// One reason the score is what it is: a stable code (`document:passport`,
/// `country:prohibited:KP`, ...) and the points it added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RiskFactor {
    pub code: String,
    pub points: u8,
}

impl RiskFactor {
    fn new(code: impl Into<String>, points: u8) -> Self {
        RiskFactor {
            code: code.into(),
            points,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RiskAssessment {
    pub score: u8,
    pub decision: KycDecision,
    pub factors: Vec<RiskFactor>,
}

impl RiskAssessment {
    /// The factor codes, as the decision's reasons.
    pub fn reasons(&self) -> Vec<String> {
        self.factors.iter().map(|f| f.code.clone()).collect()
    }
}

/// The automatic decision for a score.
pub fn decision_for(score: u8) -> KycDecision {
    if score <= VERIFY_AT_MOST {
        KycDecision::Verified
    } else if score >= REJECT_FROM {
        KycDecision::Rejected
    } else {
        KycDecision::ManualReview
    }
}

pub fn assess(input: &RiskInput) -> RiskAssessment {
    let mut factors = Vec::new();

    let document_points = match input.document_type {
        DocumentType::Passport => 10,
        DocumentType::NationalId => 15,
        DocumentType::DriversLicense => 25,
    };
    factors.push(RiskFactor::new(
        format!("document:{}", input.document_type.as_str()),
        document_points,
    ));

    let mut prohibited = false;
    match input.country.map(|c| (c, c.risk())) {
        None => factors.push(RiskFactor::new("country:not_provided", 5)),
        Some((country, CountryRisk::Prohibited)) => {
            prohibited = true;
            factors.push(RiskFactor::new(
                format!("country:prohibited:{country}"),
                100,
            ));
        }
        Some((country, CountryRisk::IncreasedMonitoring)) => factors.push(RiskFactor::new(
            format!("country:increased_monitoring:{country}"),
            20,
        )),
        Some((_, CountryRisk::Standard)) => {}
    }

    match input.account_age {
        None => factors.push(RiskFactor::new("account_age:unknown", 10)),
        Some(age) if age < Duration::days(1) => {
            factors.push(RiskFactor::new("account_age:under_1_day", 10))
        }
        Some(age) if age < Duration::days(30) => {
            factors.push(RiskFactor::new("account_age:under_30_days", 5))
        }
        Some(_) => {}
    }

    let counted = input.previous_rejections.min(MAX_COUNTED_REJECTIONS);
    if counted > 0 {
        factors.push(RiskFactor::new(
            format!("previous_rejections:{}", input.previous_rejections),
            15 * counted as u8,
        ));
    }

    let total: u32 = factors.iter().map(|f| u32::from(f.points)).sum();
    let score = total.min(100) as u8;
    let decision = if prohibited {
        KycDecision::Rejected
    } else {
        decision_for(score)
    };
    RiskAssessment {
        score,
        decision,
        factors,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(document_type: DocumentType) -> RiskInput {
        RiskInput {
            document_type,
            country: None,
            account_age: Some(Duration::seconds(5)),
            previous_rejections: 0,
        }
    }

    fn country(code: &str) -> Option<Country> {
        Some(Country::parse(code).unwrap())
    }

    #[test]
    fn thresholds_are_inclusive_where_documented() {
        assert_eq!(decision_for(0), KycDecision::Verified);
        assert_eq!(decision_for(VERIFY_AT_MOST), KycDecision::Verified);
        assert_eq!(decision_for(VERIFY_AT_MOST + 1), KycDecision::ManualReview);
        assert_eq!(decision_for(REJECT_FROM - 1), KycDecision::ManualReview);
        assert_eq!(decision_for(REJECT_FROM), KycDecision::Rejected);
        assert_eq!(decision_for(100), KycDecision::Rejected);
    }

    #[test]
    fn the_seed_flow_is_verified_whether_or_not_kyc_knows_the_registration() {
        let fresh = assess(&input(DocumentType::Passport));
        assert_eq!((fresh.score, fresh.decision), (25, KycDecision::Verified));
        assert_eq!(
            fresh.reasons(),
            [
                "document:passport",
                "country:not_provided",
                "account_age:under_1_day"
            ]
        );
        let unknown = assess(&RiskInput {
            account_age: None,
            ..input(DocumentType::Passport)
        });
        assert_eq!(
            (unknown.score, unknown.decision),
            (25, KycDecision::Verified)
        );
        assert!(
            unknown
                .reasons()
                .contains(&"account_age:unknown".to_owned())
        );
    }

    #[test]
    fn a_drivers_license_on_a_new_account_goes_to_review_but_not_on_an_old_one() {
        let new = assess(&input(DocumentType::DriversLicense));
        assert_eq!((new.score, new.decision), (40, KycDecision::ManualReview));
        let with_country = assess(&RiskInput {
            country: country("DE"),
            ..input(DocumentType::DriversLicense)
        });
        assert_eq!(with_country.decision, KycDecision::ManualReview);
        let established = assess(&RiskInput {
            country: country("DE"),
            account_age: Some(Duration::days(400)),
            ..input(DocumentType::DriversLicense)
        });
        assert_eq!(
            (established.score, established.decision),
            (25, KycDecision::Verified)
        );
    }

    #[test]
    fn a_national_id_on_a_new_account_sits_exactly_on_the_verify_threshold() {
        let assessment = assess(&input(DocumentType::NationalId));
        assert_eq!(assessment.score, VERIFY_AT_MOST);
        assert_eq!(assessment.decision, KycDecision::Verified);
        let a_month = assess(&RiskInput {
            account_age: Some(Duration::days(29)),
            ..input(DocumentType::NationalId)
        });
        assert_eq!(a_month.score, 25);
    }

    #[test]
    fn a_prohibited_country_is_rejected_outright_whatever_the_rest() {
        let assessment = assess(&RiskInput {
            country: country("KP"),
            account_age: Some(Duration::days(4000)),
            ..input(DocumentType::Passport)
        });
        assert_eq!(assessment.decision, KycDecision::Rejected);
        assert_eq!(assessment.score, 100);
        assert!(
            assessment
                .reasons()
                .contains(&"country:prohibited:KP".to_owned())
        );
    }

    #[test]
    fn increased_monitoring_sends_a_passport_to_review() {
        let assessment = assess(&RiskInput {
            country: country("VE"),
            ..input(DocumentType::Passport)
        });
        assert_eq!(
            (assessment.score, assessment.decision),
            (40, KycDecision::ManualReview)
        );
    }

    #[test]
    fn previous_rejections_escalate_and_are_capped() {
        let decisions: Vec<_> = (0..=5)
            .map(|previous_rejections| {
                assess(&RiskInput {
                    previous_rejections,
                    ..input(DocumentType::Passport)
                })
            })
            .map(|a| (a.score, a.decision))
            .collect();
        assert_eq!(
            decisions,
            [
                (25, KycDecision::Verified),
                (40, KycDecision::ManualReview),
                (55, KycDecision::ManualReview),
                (70, KycDecision::Rejected),
                (70, KycDecision::Rejected),
                (70, KycDecision::Rejected),
            ]
        );
    }

    #[test]
    fn the_score_never_exceeds_100() {
        let assessment = assess(&RiskInput {
            country: country("IR"),
            account_age: None,
            previous_rejections: 9,
            document_type: DocumentType::DriversLicense,
        });
        assert_eq!(assessment.score, 100);
    }

    #[test]
    fn a_registration_slightly_in_the_future_counts_as_brand_new() {
        let assessment = assess(&RiskInput {
            account_age: Some(Duration::seconds(-2)),
            ..input(DocumentType::Passport)
        });
        assert!(
            assessment
                .reasons()
                .contains(&"account_age:under_1_day".to_owned())
        );
    }
}
