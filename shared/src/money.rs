//! Exact monetary amounts.
//!
//! `Money` is the only way an amount enters, rests in or leaves FinFlow. It holds a
//! `rust_decimal::Decimal` at scale 4 within DECIMAL(20,4), and it is parsed from text
//! (JSON numbers included) without ever passing through a binary float.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Fractional digits kept for every amount (DECIMAL(20,4)).
pub const SCALE: u32 = 4;

/// The largest amount DECIMAL(20,4) holds, as text.
pub const MAX: &str = "9999999999999999.9999";

/// DECIMAL(20,4) holds twenty digits: sixteen integer digits and four fractional ones.
/// Expressed in units of 0.0001.
const MAX_UNITS: i128 = 99_999_999_999_999_999_999;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("must be a decimal number such as 12.34")]
    NotANumber,
    #[error("must have at most 4 decimal places")]
    TooPrecise,
    #[error("must fit DECIMAL(20,4): at most 16 integer digits")]
    OutOfRange,
}

/// An exact amount with at most four decimal places and at most sixteen integer digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(Decimal);

impl Money {
    pub const ZERO: Money = Money(Decimal::ZERO);

    /// Parses decimal text exactly: `12`, `-0.5`, `1.2300`, `1e2`. Rejects anything that would
    /// need rounding to fit DECIMAL(20,4).
    pub fn parse(text: &str) -> Result<Self, MoneyError> {
        let text = text.trim();
        let grammar = NumberGrammar::check(text).ok_or(MoneyError::NotANumber)?;
        if grammar.has_exponent {
            let value = Decimal::from_scientific(text).map_err(|_| MoneyError::OutOfRange)?;
            return Self::try_from_decimal(value);
        }
        if grammar.significant_fraction_digits > SCALE as usize {
            return Err(MoneyError::TooPrecise);
        }
        if grammar.integer_digits > 16 {
            return Err(MoneyError::OutOfRange);
        }
        let value = Decimal::from_str_exact(without_trailing_zeros(text))
            .map_err(|_| MoneyError::OutOfRange)?;
        Self::try_from_decimal(value)
    }

    /// Accepts a decimal that already fits; never rounds.
    pub fn try_from_decimal(value: Decimal) -> Result<Self, MoneyError> {
        let normalized = value.normalize();
        if normalized.scale() > SCALE {
            return Err(MoneyError::TooPrecise);
        }
        let mut scaled = normalized;
        scaled.rescale(SCALE);
        if scaled.mantissa().abs() > MAX_UNITS {
            return Err(MoneyError::OutOfRange);
        }
        Ok(Money(scaled))
    }

    /// The amount of `units` ten-thousandths (0.0001).
    pub fn from_units(units: i64) -> Self {
        Money(Decimal::new(units, SCALE))
    }

    pub fn as_decimal(&self) -> Decimal {
        self.0
    }

    pub fn is_zero(&self) -> bool {
        self.0.is_zero()
    }

    pub fn is_positive(&self) -> bool {
        self.0.is_sign_positive() && !self.0.is_zero()
    }

    pub fn is_negative(&self) -> bool {
        self.0.is_sign_negative() && !self.0.is_zero()
    }

    /// Sum that stays within DECIMAL(20,4).
    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        let sum = self.0.checked_add(other.0).ok_or(MoneyError::OutOfRange)?;
        Self::try_from_decimal(sum)
    }

    /// Difference that stays within DECIMAL(20,4).
    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        let difference = self.0.checked_sub(other.0).ok_or(MoneyError::OutOfRange)?;
        Self::try_from_decimal(difference)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Always four decimals ("100.0000"), whatever scale the value was built with.
        write!(f, "{:.4}", self.0)
    }
}

impl FromStr for Money {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Money::parse(s)
    }
}

/// Amounts leave as JSON strings so that no client parses them into a float by accident.
impl Serialize for Money {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Accepts a JSON string (`"12.34"`) or a JSON number (`12.34`), reading the number's own text
/// so that it is never rounded through `f64`.
///
/// It asks for the value the way `serde_json::value::RawValue` does (a newtype struct with
/// serde_json's raw-value token), so serde_json hands over the number's source text. Where the
/// value was buffered first (`#[serde(flatten)]`, untagged enums), serde hands the buffered
/// value over instead: strings and integers are still exact there, and a float is refused
/// rather than rounded. Tests below pin both paths.
impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_newtype_struct(RAW_VALUE_TOKEN, MoneyVisitor)
    }
}

/// The newtype name serde_json's `RawValue` uses to ask for raw text.
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

struct MoneyVisitor;

impl<'de> serde::de::Visitor<'de> for MoneyVisitor {
    type Value = Money;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a decimal amount, as a JSON number or string")
    }

    /// serde_json's answer to the raw-value request: one entry holding the source text.
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Money, A::Error> {
        // A buffered (flattened) JSON object arrives here too: only serde_json's raw-value
        // entry is an amount (an empty object would otherwise panic in `next_value`, and
        // `{"x": "5"}` would read as 5).
        if map.next_key::<String>()?.as_deref() != Some(RAW_VALUE_TOKEN) {
            return Err(A::Error::invalid_type(serde::de::Unexpected::Map, &self));
        }
        let raw: String = map.next_value()?;
        let token = raw.trim();
        let text = if token.starts_with('"') {
            serde_json::from_str::<String>(token).map_err(A::Error::custom)?
        } else {
            token.to_owned()
        };
        Money::parse(&text).map_err(A::Error::custom)
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Money, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Money, E> {
        Money::parse(text).map_err(E::custom)
    }

    fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<Money, E> {
        Money::parse(&value.to_string()).map_err(E::custom)
    }

    fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<Money, E> {
        Money::parse(&value.to_string()).map_err(E::custom)
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Money, E> {
        Err(E::custom(
            "a fractional amount here must be sent as a string, such as \"12.34\"",
        ))
    }
}

/// An amount that can be moved: strictly greater than zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct PositiveAmount(Money);

impl PositiveAmount {
    pub fn new(amount: Money) -> Result<Self, &'static str> {
        if amount.is_positive() {
            Ok(PositiveAmount(amount))
        } else {
            Err("must be greater than zero")
        }
    }

    pub fn money(&self) -> Money {
        self.0
    }
}

impl fmt::Display for PositiveAmount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<'de> Deserialize<'de> for PositiveAmount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        PositiveAmount::new(Money::deserialize(deserializer)?).map_err(D::Error::custom)
    }
}

/// `text` without the zeros that end its fraction (and without the point, when nothing else
/// follows it). They carry no value, but `rust_decimal` counts them towards its 28-digit scale:
/// `1.` followed by 29 zeros is exactly 1, not an amount beyond DECIMAL(20,4).
fn without_trailing_zeros(text: &str) -> &str {
    if !text.contains('.') {
        return text;
    }
    text.trim_end_matches('0').trim_end_matches('.')
}

/// The shape of a JSON number: `-? digits (. digits)? ([eE] [+-]? digits)?`.
struct NumberGrammar {
    integer_digits: usize,
    significant_fraction_digits: usize,
    has_exponent: bool,
}

impl NumberGrammar {
    fn check(text: &str) -> Option<Self> {
        let unsigned = text.strip_prefix('-').unwrap_or(text);
        let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
            Some(at) => (&unsigned[..at], Some(&unsigned[at + 1..])),
            None => (unsigned, None),
        };
        let (integer, fraction) = match mantissa.split_once('.') {
            Some((integer, fraction)) => (integer, Some(fraction)),
            None => (mantissa, None),
        };
        let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(integer) || fraction.is_some_and(|f| !all_digits(f)) {
            return None;
        }
        if let Some(exponent) = exponent {
            let digits = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
            if !all_digits(digits) {
                return None;
            }
        }
        Some(NumberGrammar {
            integer_digits: integer.trim_start_matches('0').len(),
            significant_fraction_digits: fraction.map_or(0, |f| f.trim_end_matches('0').len()),
            has_exponent: exponent.is_some(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_exactly_and_keeps_four_decimals() {
        assert_eq!(Money::parse("100").unwrap().to_string(), "100.0000");
        assert_eq!(Money::parse("0.0001").unwrap().to_string(), "0.0001");
        assert_eq!(Money::parse("-12.5").unwrap().to_string(), "-12.5000");
        assert_eq!(Money::parse("1.23000000").unwrap().to_string(), "1.2300");
        assert_eq!(Money::parse("1e2").unwrap().to_string(), "100.0000");
    }

    #[test]
    fn rejects_more_than_four_decimal_places() {
        assert_eq!(Money::parse("0.00001"), Err(MoneyError::TooPrecise));
        assert_eq!(Money::parse("1e-5"), Err(MoneyError::TooPrecise));
    }

    #[test]
    fn enforces_decimal_20_4_bounds() {
        let max = Money::parse("9999999999999999.9999").unwrap();
        assert_eq!(max.to_string(), "9999999999999999.9999");
        assert_eq!(
            Money::parse("10000000000000000"),
            Err(MoneyError::OutOfRange)
        );
        assert_eq!(
            max.checked_add(Money::parse("0.0001").unwrap()),
            Err(MoneyError::OutOfRange)
        );
        assert_eq!(Money::parse("1e40"), Err(MoneyError::OutOfRange));
    }

    #[test]
    fn zeros_that_end_a_fraction_do_not_count_towards_the_scale() {
        let one = format!("1.{}", "0".repeat(40));
        assert_eq!(Money::parse(&one).unwrap().to_string(), "1.0000");
        let tiny = format!("0.0001{}", "0".repeat(40));
        assert_eq!(Money::parse(&tiny).unwrap().to_string(), "0.0001");
        let max = format!("{MAX}{}", "0".repeat(40));
        assert_eq!(Money::parse(&max).unwrap().to_string(), MAX);
        let long = format!("{}1.5", "0".repeat(60));
        assert_eq!(Money::parse(&long).unwrap().to_string(), "1.5000");
        assert_eq!(Money::parse("100").unwrap().to_string(), "100.0000");
        assert_eq!(Money::parse("0.0").unwrap(), Money::ZERO);
    }

    #[test]
    fn rejects_text_that_is_not_a_plain_number() {
        for bad in [
            "", "abc", "1_000", "+1", "1.", ".5", "0x10", "NaN", "1,5", "--1",
        ] {
            assert_eq!(Money::parse(bad), Err(MoneyError::NotANumber), "{bad}");
        }
    }

    #[test]
    fn ten_thousand_steps_of_a_ten_thousandth_sum_to_exactly_one() {
        let step = Money::parse("0.0001").unwrap();
        let total = (0..10_000).fold(Money::ZERO, |acc, _| acc.checked_add(step).unwrap());
        assert_eq!(total, Money::parse("1").unwrap());
    }

    #[derive(Deserialize)]
    struct Body {
        amount: Money,
    }

    #[test]
    fn json_numbers_are_read_from_their_text_not_through_f64() {
        // 0.1 + 0.2 style inputs and 20 significant digits both survive exactly.
        let body: Body = serde_json::from_str(r#"{"amount": 9999999999999999.9999}"#).unwrap();
        assert_eq!(body.amount.to_string(), "9999999999999999.9999");
        let body: Body = serde_json::from_slice(br#"{"amount": 0.3000}"#).unwrap();
        assert_eq!(body.amount, Money::parse("0.3").unwrap());
        let body: Body = serde_json::from_str(r#"{"amount": "12.34"}"#).unwrap();
        assert_eq!(body.amount.to_string(), "12.3400");
    }

    #[test]
    fn json_from_a_parsed_value_still_reads_strings_exactly() {
        let value = serde_json::json!({"amount": "1234567890123456.7891"});
        let body: Body = serde_json::from_value(value).unwrap();
        assert_eq!(body.amount.to_string(), "1234567890123456.7891");
    }

    #[test]
    fn json_rejects_non_numbers_and_excess_precision() {
        for bad in [
            r#"{"amount": true}"#,
            r#"{"amount": null}"#,
            r#"{"amount": "1.00001"}"#,
            r#"{"amount": 1.00001}"#,
            r#"{"amount": [1]}"#,
        ] {
            assert!(serde_json::from_str::<Body>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_positive_amount_rejects_zero_and_negatives() {
        assert!(serde_json::from_str::<PositiveAmount>("0").is_err());
        assert!(serde_json::from_str::<PositiveAmount>("-1").is_err());
        assert_eq!(
            serde_json::from_str::<PositiveAmount>("0.0001")
                .unwrap()
                .to_string(),
            "0.0001"
        );
    }

    #[test]
    fn flattened_and_untagged_values_keep_exact_strings_and_refuse_floats() {
        #[derive(Deserialize)]
        struct Outer {
            #[serde(flatten)]
            inner: Body,
        }
        let outer: Outer = serde_json::from_str(r#"{"amount": "9999999999999999.9999"}"#).unwrap();
        assert_eq!(outer.inner.amount.to_string(), "9999999999999999.9999");
        let outer: Outer = serde_json::from_str(r#"{"amount": 12}"#).unwrap();
        assert_eq!(outer.inner.amount.to_string(), "12.0000");
        assert!(serde_json::from_str::<Outer>(r#"{"amount": 0.1}"#).is_err());
        assert!(serde_json::from_str::<Outer>(r#"{"amount": {}}"#).is_err());
        assert!(serde_json::from_str::<Outer>(r#"{"amount": {"a": "1"}}"#).is_err());
    }

    #[test]
    fn zero_prints_with_four_decimals() {
        assert_eq!(Money::ZERO.to_string(), "0.0000");
        assert_eq!(Money::default().to_string(), "0.0000");
    }

    #[test]
    fn serializes_as_a_string() {
        let json = serde_json::to_string(&Money::parse("5").unwrap()).unwrap();
        assert_eq!(json, r#""5.0000""#);
    }
}
