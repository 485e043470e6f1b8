//! Human durations: `90s`, `5m`, `1h30m`, `250ms`.
//!
//! Scenario authors write durations the way they say them; the type keeps
//! millisecond precision because probe intervals below a second are common.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A span of time written as `1h30m`, `90s`, `5m` or `250ms`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(std::time::Duration);

/// The regular expression published in the JSON Schema; [`Duration::from_str`]
/// accepts exactly the same language.
pub const DURATION_PATTERN: &str = r"^([0-9]+(ms|s|m|h|d))+$";

impl Duration {
    pub const ZERO: Duration = Duration(std::time::Duration::ZERO);

    pub const fn from_millis(ms: u64) -> Self {
        Duration(std::time::Duration::from_millis(ms))
    }
    pub const fn from_secs(s: u64) -> Self {
        Duration(std::time::Duration::from_secs(s))
    }
    pub fn as_millis(self) -> u64 {
        u64::try_from(self.0.as_millis()).unwrap_or(u64::MAX)
    }
    pub fn as_secs_f64(self) -> f64 {
        self.0.as_secs_f64()
    }
    pub fn std(self) -> std::time::Duration {
        self.0
    }
}

impl From<std::time::Duration> for Duration {
    fn from(d: std::time::Duration) -> Self {
        Duration(d)
    }
}

/// Why a duration did not parse; the message is shown to people as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{input}` is not a duration: {reason}")]
pub struct DurationError {
    pub input: String,
    pub reason: &'static str,
}

impl FromStr for Duration {
    type Err = DurationError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let fail = |reason| DurationError { input: input.to_string(), reason };
        let text = input.trim();
        if text.is_empty() {
            return Err(fail("it is empty; write it like `90s`, `5m` or `1h30m`"));
        }
        let mut total_ms: u64 = 0;
        let mut rest = text;
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(fail("expected a number before each unit, as in `1h30m`"));
            }
            let number: u64 = rest[..digits].parse().map_err(|_| fail("the number is too large"))?;
            rest = &rest[digits..];
            let (unit_ms, unit_len) = if rest.starts_with("ms") {
                (1, 2)
            } else if rest.starts_with('s') {
                (1_000, 1)
            } else if rest.starts_with('m') {
                (60_000, 1)
            } else if rest.starts_with('h') {
                (3_600_000, 1)
            } else if rest.starts_with('d') {
                (86_400_000, 1)
            } else if rest.is_empty() {
                return Err(fail("a unit is missing: add `ms`, `s`, `m`, `h` or `d` (e.g. `30s`)"));
            } else if rest.starts_with(char::is_whitespace) {
                return Err(fail("a space follows the number: write it and its unit together, the unit one of `ms`, `s`, `m`, `h` or `d` (e.g. `30s`)"));
            } else {
                return Err(fail("unknown unit; use `ms`, `s`, `m`, `h` or `d`"));
            };
            rest = &rest[unit_len..];
            total_ms = number.checked_mul(unit_ms).and_then(|ms| total_ms.checked_add(ms)).ok_or_else(|| fail("the duration is too large"))?;
        }
        Ok(Duration::from_millis(total_ms))
    }
}

impl fmt::Display for Duration {
    /// Prints the shortest exact form: `1h30m`, `90ms`, `2m5s`, `0s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ms = self.as_millis();
        if ms == 0 {
            return f.write_str("0s");
        }
        for (unit, size) in [("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1_000), ("ms", 1)] {
            if ms >= size {
                write!(f, "{}{}", ms / size, unit)?;
                ms %= size;
            }
        }
        Ok(())
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Duration {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": DURATION_PATTERN,
            "description": "A duration such as `250ms`, `90s`, `5m` or `1h30m`.",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_compound_durations() {
        assert_eq!("1h30m".parse::<Duration>().unwrap(), Duration::from_secs(5400));
        assert_eq!("90s".parse::<Duration>().unwrap(), Duration::from_secs(90));
        assert_eq!("250ms".parse::<Duration>().unwrap(), Duration::from_millis(250));
        assert_eq!("1m500ms".parse::<Duration>().unwrap(), Duration::from_millis(60_500));
    }

    #[test]
    fn rejects_bad_durations_with_a_reason() {
        for bad in ["", "10", "m", "5 minutes", "1h30x", "99999999999999999999s"] {
            assert!(bad.parse::<Duration>().is_err(), "{bad} should not parse");
        }
        let err = "10".parse::<Duration>().unwrap_err();
        assert!(err.to_string().contains("unit is missing"));
    }

    #[test]
    fn displays_round_trip() {
        for text in ["1h30m", "90ms", "2m5s", "0s", "1d2h"] {
            let d: Duration = text.parse().unwrap();
            assert_eq!(d.to_string(), text);
        }
    }
}
