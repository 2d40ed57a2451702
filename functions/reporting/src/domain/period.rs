//! The period a report covers: whole UTC days, `from` to `to` inclusive.

use time::{Date, Duration, Month};

/// The longest period one report covers.
pub const MAX_DAYS: i64 = 366;
/// The period when a report names none: the last 30 days, today included.
pub const DEFAULT_DAYS: i64 = 30;
/// The first day `parse_day` reads, and so the earliest start of a period.
const FIRST_DAY: Date = time::macros::date!(0000 - 01 - 01);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: Date,
    pub to: Date,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct PeriodError {
    pub field: &'static str,
    pub message: String,
}

impl PeriodError {
    fn new(field: &'static str, message: impl Into<String>) -> Self {
        PeriodError {
            field,
            message: message.into(),
        }
    }
}

/// `YYYY-MM-DD`, exactly: four-digit year, two-digit month and day, a real calendar date.
pub fn parse_day(text: &str) -> Option<Date> {
    let bytes = text.as_bytes();
    let shape_ok = bytes.len() == 10
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes
            .iter()
            .enumerate()
            .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
    if !shape_ok {
        return None;
    }
    let year: i32 = text[0..4].parse().ok()?;
    let month: u8 = text[5..7].parse().ok()?;
    let day: u8 = text[8..10].parse().ok()?;
    Date::from_calendar_date(year, Month::try_from(month).ok()?, day).ok()
}

/// `YYYY-MM-DD` of `day`.
pub fn format_day(day: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        day.year(),
        u8::from(day.month()),
        day.day()
    )
}

impl Period {
    /// The period `from`..=`to` as a client names it; either may be left out: `to` defaults
    /// to `today`, `from` to 30 days up to `to`.
    pub fn parse(from: Option<&str>, to: Option<&str>, today: Date) -> Result<Self, PeriodError> {
        let day = |field: &'static str, text: &str| {
            parse_day(text).ok_or_else(|| {
                PeriodError::new(field, "must be a calendar date written YYYY-MM-DD")
            })
        };
        let to = to.map(|t| day("to", t)).transpose()?.unwrap_or(today);
        let from = match from {
            Some(f) => day("from", f)?,
            // Never before the first day a period's dates can be written as (YYYY-MM-DD).
            None => (to - Duration::days(DEFAULT_DAYS - 1)).max(FIRST_DAY),
        };
        if from > to {
            return Err(PeriodError::new("from", "must not be after to"));
        }
        if (to - from).whole_days() + 1 > MAX_DAYS {
            return Err(PeriodError::new(
                "to",
                format!("a period may span at most {MAX_DAYS} days"),
            ));
        }
        Ok(Period { from, to })
    }

    pub fn contains(&self, day: Date) -> bool {
        self.from <= day && day <= self.to
    }

    /// Every month (year, month) the period touches, in order.
    pub fn months(&self) -> Vec<(i32, Month)> {
        let mut months = Vec::new();
        let mut cursor = (self.from.year(), self.from.month());
        let last = (self.to.year(), self.to.month());
        loop {
            months.push(cursor);
            if cursor == last {
                return months;
            }
            cursor = match cursor.1 {
                Month::December => (cursor.0 + 1, Month::January),
                month => (cursor.0, month.next()),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    const TODAY: Date = date!(2026 - 03 - 14);

    #[test]
    fn defaults_to_the_last_thirty_days() {
        let period = Period::parse(None, None, TODAY).unwrap();
        assert_eq!((period.from, period.to), (date!(2026 - 02 - 13), TODAY));
        let period = Period::parse(Some("2026-03-01"), Some("2026-03-01"), TODAY).unwrap();
        assert_eq!(period.from, period.to);
    }

    #[test]
    fn a_default_start_stays_a_date_the_api_can_write() {
        let period = Period::parse(None, Some("0000-01-05"), TODAY).unwrap();
        assert_eq!(period.from, date!(0000 - 01 - 01));
        assert_eq!(format_day(period.from), "0000-01-01");
    }

    #[test]
    fn refuses_bad_dates_and_ranges() {
        for bad in [
            "2026-13-01",
            "2026-02-30",
            "26-03-01",
            "2026/03/01",
            "+2026-03-1",
            "yesterday",
            "",
        ] {
            let error = Period::parse(Some(bad), None, TODAY).unwrap_err();
            assert_eq!(error.field, "from", "{bad}");
        }
        let error = Period::parse(Some("2026-03-02"), Some("2026-03-01"), TODAY).unwrap_err();
        assert_eq!(error.field, "from");
        let error = Period::parse(Some("2024-01-01"), Some("2026-01-01"), TODAY).unwrap_err();
        assert_eq!(error.field, "to");
        assert!(Period::parse(Some("2025-03-14"), Some("2026-03-14"), TODAY).is_ok());
    }

    #[test]
    fn lists_the_months_it_touches() {
        let period = Period::parse(Some("2025-11-30"), Some("2026-02-01"), TODAY).unwrap();
        assert_eq!(
            period.months(),
            [
                (2025, Month::November),
                (2025, Month::December),
                (2026, Month::January),
                (2026, Month::February)
            ]
        );
        assert_eq!(format_day(date!(2026 - 01 - 05)), "2026-01-05");
    }
}
