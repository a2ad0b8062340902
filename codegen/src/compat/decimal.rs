//! Exact decimal arithmetic on JSON numbers.
//!
//! Bounds and `multipleOf` must be compared exactly: in binary floating point `0.3 / 0.1` is not
//! 3, and a check that says `multipleOf: 0.1 -> 0.3` is safe (or not) because of rounding would
//! be wrong. JSON numbers are decimal text, so a mantissa and a power of ten hold them exactly.
//! Anything too large for an `i128` mantissa is `None`, and callers then decline to judge.

use std::cmp::Ordering;
use std::fmt;

use serde_json::{Number, Value};

/// `mantissa * 10^-scale`, always normalized (no trailing zero digits in the mantissa when
/// `scale > 0`), so equal values have equal fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Decimal {
    mantissa: i128,
    scale: u32,
}

/// The largest power of ten an operation may scale by.
const MAX_SCALE: u32 = 36;

impl Decimal {
    pub(super) const ZERO: Decimal = Decimal {
        mantissa: 0,
        scale: 0,
    };
    pub(super) const ONE: Decimal = Decimal {
        mantissa: 1,
        scale: 0,
    };

    /// A JSON number, exactly as written (serde_json prints what it parsed).
    pub(super) fn from_number(number: &Number) -> Option<Decimal> {
        Decimal::parse(&number.to_string())
    }

    /// A JSON value, if it is a number.
    pub(super) fn from_value(value: &Value) -> Option<Decimal> {
        match value {
            Value::Number(number) => Decimal::from_number(number),
            _ => None,
        }
    }

    fn parse(text: &str) -> Option<Decimal> {
        let (negative, text) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (digits, exponent) = match text.find(['e', 'E']) {
            Some(at) => (
                &text[..at],
                text[at + 1..].trim_start_matches('+').parse::<i64>().ok()?,
            ),
            None => (text, 0),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        if whole.is_empty() && fraction.is_empty() {
            return None;
        }
        let mut mantissa: i128 = 0;
        for c in whole.chars().chain(fraction.chars()) {
            let digit = c.to_digit(10)?;
            mantissa = mantissa.checked_mul(10)?.checked_add(i128::from(digit))?;
        }
        let mut scale = i64::try_from(fraction.len()).ok()? - exponent;
        if scale < 0 {
            mantissa = mantissa.checked_mul(pow10(u32::try_from(-scale).ok()?)?)?;
            scale = 0;
        }
        let scale = u32::try_from(scale).ok()?;
        if negative {
            mantissa = -mantissa;
        }
        Decimal { mantissa, scale }.normalized()
    }

    fn normalized(mut self) -> Option<Decimal> {
        while self.scale > 0 && self.mantissa % 10 == 0 {
            self.mantissa /= 10;
            self.scale -= 1;
        }
        (self.scale <= MAX_SCALE).then_some(self)
    }

    /// Both mantissas at a common scale.
    fn align(self, other: Decimal) -> Option<(i128, i128, u32)> {
        let scale = self.scale.max(other.scale);
        let a = self.mantissa.checked_mul(pow10(scale - self.scale)?)?;
        let b = other.mantissa.checked_mul(pow10(scale - other.scale)?)?;
        Some((a, b, scale))
    }

    /// Exact comparison; `None` only when the two cannot be put on one scale.
    pub(super) fn compare(self, other: Decimal) -> Option<Ordering> {
        let (a, b, _) = self.align(other)?;
        Some(a.cmp(&b))
    }

    pub(super) fn add(self, other: Decimal) -> Option<Decimal> {
        let (a, b, scale) = self.align(other)?;
        Decimal {
            mantissa: a.checked_add(b)?,
            scale,
        }
        .normalized()
    }

    pub(super) fn sub(self, other: Decimal) -> Option<Decimal> {
        self.add(other.neg())
    }

    pub(super) fn neg(self) -> Decimal {
        Decimal {
            mantissa: -self.mantissa,
            scale: self.scale,
        }
    }

    /// `self / 2`, exactly (one more decimal digit).
    pub(super) fn half(self) -> Option<Decimal> {
        Decimal {
            mantissa: self.mantissa.checked_mul(5)?,
            scale: self.scale + 1,
        }
        .normalized()
    }

    /// Whether `self` is an integer multiple of `step` (`step > 0`).
    pub(super) fn is_multiple_of(self, step: Decimal) -> Option<bool> {
        let (a, b, _) = self.align(step)?;
        (b != 0).then(|| a % b == 0)
    }

    /// The largest multiple of `step` that is at most `self`.
    pub(super) fn floor_to(self, step: Decimal) -> Option<Decimal> {
        let (a, b, scale) = self.align(step)?;
        if b <= 0 {
            return None;
        }
        Decimal {
            mantissa: a.div_euclid(b).checked_mul(b)?,
            scale,
        }
        .normalized()
    }

    /// The smallest multiple of `step` that is at least `self`.
    pub(super) fn ceil_to(self, step: Decimal) -> Option<Decimal> {
        Some(self.neg().floor_to(step)?.neg())
    }

    /// The least common multiple of two positive decimals: the smallest positive number that
    /// is a multiple of both.
    pub(super) fn lcm(self, other: Decimal) -> Option<Decimal> {
        let (a, b, scale) = self.align(other)?;
        if a <= 0 || b <= 0 {
            return None;
        }
        let lcm = (a / gcd(a, b)).checked_mul(b)?;
        Decimal {
            mantissa: lcm,
            scale,
        }
        .normalized()
    }
}

fn gcd(mut a: i128, mut b: i128) -> i128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a.abs()
}

fn pow10(exponent: u32) -> Option<i128> {
    if exponent > MAX_SCALE {
        return None;
    }
    10i128.checked_pow(exponent)
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.mantissa.unsigned_abs().to_string();
        let sign = if self.mantissa < 0 { "-" } else { "" };
        let scale = self.scale as usize;
        if scale == 0 {
            return write!(f, "{sign}{digits}");
        }
        let padded = format!("{digits:0>width$}", width = scale + 1);
        let (whole, fraction) = padded.split_at(padded.len() - scale);
        write!(f, "{sign}{whole}.{fraction}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Decimal {
        Decimal::parse(text).unwrap()
    }

    #[test]
    fn parses_json_number_text_exactly() {
        assert_eq!(d("0.1").to_string(), "0.1");
        assert_eq!(d("-12.50").to_string(), "-12.5");
        assert_eq!(d("1e-7").to_string(), "0.0000001");
        assert_eq!(d("1.5E+3").to_string(), "1500");
        assert_eq!(d("1.0"), d("1"));
        assert!(Decimal::parse("1e400").is_none());
    }

    #[test]
    fn multiples_are_exact_where_floats_are_not() {
        assert_eq!(d("0.3").is_multiple_of(d("0.1")), Some(true));
        assert_eq!(d("4").is_multiple_of(d("2")), Some(true));
        assert_eq!(d("2").is_multiple_of(d("4")), Some(false));
        assert_eq!(d("0.5").lcm(d("1")), Some(d("1")));
        assert_eq!(d("2.5").lcm(d("1")), Some(d("5")));
        assert_eq!(d("0.2").lcm(d("0.3")), Some(d("0.6")));
    }

    #[test]
    fn rounds_to_a_grid() {
        assert_eq!(d("0.5").ceil_to(Decimal::ONE), Some(d("1")));
        assert_eq!(d("-0.5").ceil_to(Decimal::ONE), Some(d("0")));
        assert_eq!(d("-0.5").floor_to(Decimal::ONE), Some(d("-1")));
        assert_eq!(d("7").floor_to(d("5")), Some(d("5")));
        assert_eq!(d("1").half(), Some(d("0.5")));
        assert_eq!(d("0.25").sub(d("1")), Some(d("-0.75")));
    }
}
