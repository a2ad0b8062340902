//! JSON numbers as validators see them, with exact comparisons.
//!
//! A number is kept as the reader produced it: an integer when the text had no fraction or
//! exponent and fits 64 bits, else an `f64` (as `serde_json` does without arbitrary precision).
//! Draft 2020-12 says `1.0` is an integer, so [`Num::is_integer`] looks at the value, not the
//! text.

use std::cmp::Ordering;

/// A parsed JSON number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Num {
    /// A negative integer (or any integer that fits `i64`, when written by generated code).
    Int(i64),
    /// A non-negative integer.
    Uint(u64),
    /// Anything else: a fraction, an exponent, or an integer too large for 64 bits.
    Float(f64),
}

impl Num {
    /// The number for a non-negative integer.
    #[inline]
    pub fn from_u64(value: u64) -> Num {
        Num::Uint(value)
    }

    /// Whether the value has no fractional part (`1.0` is an integer).
    #[inline]
    pub fn is_integer(self) -> bool {
        match self {
            Num::Int(_) | Num::Uint(_) => true,
            Num::Float(f) => f.is_finite() && f.fract() == 0.0,
        }
    }

    /// The value as `f64` (rounded for huge integers).
    #[inline]
    pub fn as_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Uint(u) => u as f64,
            Num::Float(f) => f,
        }
    }

    fn as_i128(self) -> Option<i128> {
        match self {
            Num::Int(i) => Some(i128::from(i)),
            Num::Uint(u) => Some(i128::from(u)),
            Num::Float(_) => None,
        }
    }

    /// Compares two numbers by value; exact when both are integers.
    #[inline]
    pub fn compare(self, other: Num) -> Ordering {
        match (self.as_i128(), other.as_i128()) {
            (Some(a), Some(b)) => a.cmp(&b),
            _ => {
                let (a, b) = (self.as_f64(), other.as_f64());
                a.partial_cmp(&b).unwrap_or(Ordering::Equal)
            }
        }
    }

    /// Whether `self` is a multiple of `divisor` (which is positive): exact for integers, and
    /// for fractions the quotient must be an integer, as the JSON Schema Test Suite expects
    /// (`0.0075` is a multiple of `0.0001`; `1e308` is not a multiple of `0.123456789`).
    pub fn is_multiple_of(self, divisor: Num) -> bool {
        if let (Some(value), Some(divisor)) = (self.as_i128(), divisor.as_i128())
            && divisor != 0
        {
            return value % divisor == 0;
        }
        let (value, divisor) = (self.as_f64(), divisor.as_f64());
        if divisor.fract() == 0.0 && value.fract() != 0.0 {
            return false;
        }
        let quotient = value / divisor;
        if !quotient.is_finite() {
            // The quotient overflows (`1e308 / 0.5`): the remainder is exact in floating
            // point, so ask it instead.
            return value % divisor == 0.0;
        }
        if quotient.fract() == 0.0 {
            return true;
        }
        // Decimal fractions are not exact in binary: accept a quotient within rounding of an
        // integer, relative to its size.
        let nearest = quotient.round();
        (quotient - nearest).abs() <= f64::EPSILON * nearest.abs().max(1.0) * 4.0
    }

    /// The number as `serde_json::Number`.
    pub fn to_json(self) -> serde_json::Number {
        match self {
            Num::Int(i) => i.into(),
            Num::Uint(u) => u.into(),
            Num::Float(f) => serde_json::Number::from_f64(f).unwrap_or_else(|| 0.into()),
        }
    }
}

impl std::fmt::Display for Num {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Num::Int(i) => write!(f, "{i}"),
            Num::Uint(u) => write!(f, "{u}"),
            Num::Float(x) => write!(f, "{x}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_by_value() {
        assert!(Num::Float(1.0).is_integer());
        assert!(!Num::Float(1.5).is_integer());
        assert!(Num::Float(1e20).is_integer());
    }

    #[test]
    fn compares_exactly_across_representations() {
        assert_eq!(Num::Int(-1).compare(Num::Uint(0)), Ordering::Less);
        assert_eq!(
            Num::Uint(u64::MAX).compare(Num::Int(i64::MAX)),
            Ordering::Greater
        );
        assert_eq!(Num::Float(1.0).compare(Num::Uint(1)), Ordering::Equal);
        assert_eq!(Num::Float(0.5).compare(Num::Uint(1)), Ordering::Less);
    }

    #[test]
    fn multiples() {
        assert!(Num::Uint(10).is_multiple_of(Num::Uint(5)));
        assert!(!Num::Uint(7).is_multiple_of(Num::Uint(5)));
        assert!(Num::Float(4.5).is_multiple_of(Num::Float(1.5)));
        assert!(!Num::Uint(35).is_multiple_of(Num::Float(1.5)));
        assert!(Num::Float(0.0075).is_multiple_of(Num::Float(0.0001)));
        assert!(!Num::Float(0.00751).is_multiple_of(Num::Float(0.0001)));
        assert!(!Num::Float(1e308).is_multiple_of(Num::Float(0.123456789)));
        assert!(Num::Uint(12391239123).is_multiple_of(Num::Float(1e-8)));
        assert!(!Num::Float(7.5).is_multiple_of(Num::Uint(2)));
    }
}
