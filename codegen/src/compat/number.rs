//! The numeric family: `minimum`, `maximum`, `exclusiveMinimum`, `exclusiveMaximum`,
//! `multipleOf`.
//!
//! The old object's numbers form an interval, on a grid when they must be multiples of a step
//! (`multipleOf`, and 1 when `type` only allows integers). So `exclusiveMinimum: 0` on integers
//! is the same lower bound as `minimum: 1`, and `multipleOf: 4 -> 2` loses nothing while
//! `2 -> 4` loses 2. A new bound is safe when the old interval's least (or greatest) admitted
//! number satisfies it, a new step when the old step is a multiple of it. Otherwise a number
//! the old keywords admit and the new one rejects is searched among a few candidates (the old
//! extremes, the new bound and its neighbours on the grid, midpoints) and named in the message;
//! when none is found, the verdict is "cannot tell".

use std::cmp::Ordering;

use serde_json::{Number, Value};

use super::decimal::Decimal;
use super::{At, Comparer, Domain, Rule, Verdict};
use crate::schema::{InstanceType, SchemaObject};

/// One side of an interval, as written.
#[derive(Debug, Clone, Copy)]
struct Bound {
    value: Decimal,
    exclusive: bool,
    keyword: &'static str,
}

impl Bound {
    fn text(self) -> String {
        format!("`{}: {}`", self.keyword, self.value)
    }

    fn neg(self) -> Bound {
        Bound {
            value: self.value.neg(),
            ..self
        }
    }

    /// Whether `x` is on the admitted side of this lower bound.
    fn admits_as_lower(self, x: Decimal) -> Option<bool> {
        Some(match x.compare(self.value)? {
            Ordering::Greater => true,
            Ordering::Equal => !self.exclusive,
            Ordering::Less => false,
        })
    }
}

/// The numbers a schema object admits.
#[derive(Debug, Clone)]
struct Numbers {
    lower: Option<Bound>,
    upper: Option<Bound>,
    multiple_of: Option<Decimal>,
    /// `multipleOf`, combined with 1 when only integers are valid.
    step: Option<Decimal>,
}

/// How a new keyword treats the numbers the old object admitted.
enum Judged {
    Safe,
    /// This number was valid and is rejected now.
    Narrowed(Decimal),
    Unknown,
}

fn decimal(number: Option<&Number>) -> Option<Option<Decimal>> {
    match number {
        None => Some(None),
        Some(number) => Decimal::from_number(number).map(Some),
    }
}

/// The tighter of an inclusive and an exclusive bound; `toward` is the direction in which a
/// bound gets tighter (`Greater` for lower bounds).
fn tighter(a: Option<Bound>, b: Option<Bound>, toward: Ordering) -> Option<Option<Bound>> {
    Some(match (a, b) {
        (Some(inclusive), Some(exclusive)) => {
            let order = exclusive.value.compare(inclusive.value)?;
            Some(if order == toward || order == Ordering::Equal {
                exclusive
            } else {
                inclusive
            })
        }
        (a, b) => a.or(b),
    })
}

impl Numbers {
    fn of(object: &SchemaObject, integers_only: bool) -> Option<Numbers> {
        let bound = |number: Option<&Number>, exclusive, keyword| {
            decimal(number).map(|value| {
                value.map(|value| Bound {
                    value,
                    exclusive,
                    keyword,
                })
            })
        };
        let lower = tighter(
            bound(object.minimum.as_ref(), false, "minimum")?,
            bound(object.exclusive_minimum.as_ref(), true, "exclusiveMinimum")?,
            Ordering::Greater,
        )?;
        let upper = tighter(
            bound(object.maximum.as_ref(), false, "maximum")?,
            bound(object.exclusive_maximum.as_ref(), true, "exclusiveMaximum")?,
            Ordering::Less,
        )?;
        let multiple_of = decimal(object.multiple_of.as_ref())?;
        let step = match (multiple_of, integers_only) {
            (Some(m), true) => Some(m.lcm(Decimal::ONE)?),
            (Some(m), false) => Some(m),
            (None, true) => Some(Decimal::ONE),
            (None, false) => None,
        };
        Some(Numbers {
            lower,
            upper,
            multiple_of,
            step,
        })
    }

    fn admits(&self, x: Decimal) -> Option<bool> {
        if let Some(lower) = self.lower
            && !lower.admits_as_lower(x)?
        {
            return Some(false);
        }
        if let Some(upper) = self.upper
            && !upper.neg().admits_as_lower(x.neg())?
        {
            return Some(false);
        }
        match self.step {
            Some(step) => x.is_multiple_of(step),
            None => Some(true),
        }
    }

    /// The same numbers, negated: upper bounds become lower bounds, so one function judges
    /// both.
    fn mirrored(&self) -> Numbers {
        Numbers {
            lower: self.upper.map(Bound::neg),
            upper: self.lower.map(Bound::neg),
            ..self.clone()
        }
    }

    /// The lower bound on the grid: the least admitted number, inclusive (or the bound as
    /// written when there is no grid). `Some(None)`: no lower bound.
    fn least(&self) -> Option<Option<Bound>> {
        let Some(lower) = self.lower else {
            return Some(None);
        };
        let Some(step) = self.step else {
            return Some(Some(lower));
        };
        let mut value = lower.value.ceil_to(step)?;
        if lower.exclusive && value.compare(lower.value)? == Ordering::Equal {
            value = value.add(step)?;
        }
        Some(Some(Bound {
            value,
            exclusive: false,
            keyword: lower.keyword,
        }))
    }

    fn greatest(&self) -> Option<Option<Bound>> {
        Some(self.mirrored().least()?.map(Bound::neg))
    }

    /// Whether no number is admitted at all.
    fn is_empty(&self) -> bool {
        let (Some(Some(least)), Some(Some(greatest))) = (self.least(), self.greatest()) else {
            return false;
        };
        match least.value.compare(greatest.value) {
            Some(Ordering::Greater) => true,
            Some(Ordering::Equal) => least.exclusive || greatest.exclusive,
            _ => false,
        }
    }

    /// Numbers worth trying as witnesses, simplest first: the extremes, the anchors, then
    /// their neighbours.
    fn candidates(&self, anchors: &[Decimal]) -> Vec<Decimal> {
        let mut out = Vec::new();
        let least = self.least().flatten().map(|b| b.value);
        let greatest = self.greatest().flatten().map(|b| b.value);
        let mut push = |x: Option<Decimal>| {
            if let Some(x) = x
                && !out.contains(&x)
            {
                out.push(x);
            }
        };
        push(least);
        push(greatest);
        for &anchor in anchors {
            push(Some(anchor));
        }
        if let (Some(low), Some(high)) = (least, greatest) {
            push(low.add(high).and_then(Decimal::half));
        }
        for &anchor in anchors {
            push(anchor.add(Decimal::ONE));
            push(anchor.sub(Decimal::ONE));
            push(Decimal::ONE.half().and_then(|h| anchor.sub(h)));
            if let Some(step) = self.step {
                let floor = anchor.floor_to(step);
                push(floor);
                push(floor.and_then(|f| f.sub(step)));
                push(anchor.ceil_to(step).and_then(|c| c.add(step)));
            }
            for end in [least, greatest].into_iter().flatten() {
                push(anchor.add(end).and_then(Decimal::half));
            }
        }
        if let Some(step) = self.step {
            for start in [least, Decimal::ZERO.ceil_to(step)].into_iter().flatten() {
                push(Some(start));
                push(start.add(step));
            }
        }
        out
    }

    fn judge_lower(&self, new: Option<Bound>) -> Judged {
        let Some(new) = new else {
            return Judged::Safe;
        };
        let Some(least) = self.least() else {
            return Judged::Unknown;
        };
        if let Some(least) = least {
            let holds = match new.value.compare(least.value) {
                Some(Ordering::Less) => true,
                Some(Ordering::Equal) => !new.exclusive || least.exclusive,
                Some(Ordering::Greater) => false,
                None => return Judged::Unknown,
            };
            if holds {
                return Judged::Safe;
            }
        }
        self.witness(&[new.value], |x| new.admits_as_lower(x))
    }

    fn judge_upper(&self, new: Option<Bound>) -> Judged {
        match self.mirrored().judge_lower(new.map(Bound::neg)) {
            Judged::Narrowed(x) => Judged::Narrowed(x.neg()),
            other => other,
        }
    }

    fn judge_multiple(&self, new: Option<Decimal>) -> Judged {
        let Some(m) = new else {
            return Judged::Safe;
        };
        if let Some(step) = self.step
            && step.is_multiple_of(m) == Some(true)
        {
            return Judged::Safe;
        }
        let mut anchors = vec![Decimal::ZERO];
        anchors.extend(m.half());
        self.witness(&anchors, |x| x.is_multiple_of(m))
    }

    /// A number these keywords admit and `new_admits` rejects.
    fn witness(&self, anchors: &[Decimal], new_admits: impl Fn(Decimal) -> Option<bool>) -> Judged {
        self.candidates(anchors)
            .into_iter()
            .find(|x| self.admits(*x) == Some(true) && new_admits(*x) == Some(false))
            .map_or(Judged::Unknown, Judged::Narrowed)
    }
}

/// Whether a listed value passes the object's numeric keywords (`Some(true)` for non-numbers).
pub(super) fn admits_value(object: &SchemaObject, value: &Value) -> Option<bool> {
    let Value::Number(number) = value else {
        return Some(true);
    };
    Numbers::of(object, false)?.admits(Decimal::from_number(number)?)
}

fn same(a: Option<&Number>, b: Option<&Number>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => match (Decimal::from_number(a), Decimal::from_number(b)) {
            (Some(a), Some(b)) => a == b,
            _ => a == b,
        },
        _ => false,
    }
}

impl Comparer<'_> {
    pub(super) fn numbers(&mut self, o: &SchemaObject, n: &SchemaObject, domain: &Domain<'_>) {
        if !domain.admits(InstanceType::Number) && !domain.admits(InstanceType::Integer) {
            return;
        }
        let lower_same = same(o.minimum.as_ref(), n.minimum.as_ref())
            && same(o.exclusive_minimum.as_ref(), n.exclusive_minimum.as_ref());
        let upper_same = same(o.maximum.as_ref(), n.maximum.as_ref())
            && same(o.exclusive_maximum.as_ref(), n.exclusive_maximum.as_ref());
        let multiple_same = same(o.multiple_of.as_ref(), n.multiple_of.as_ref());
        if lower_same && upper_same && multiple_same {
            return;
        }
        let (Some(old), Some(new)) = (
            Numbers::of(o, domain.integers_only()),
            Numbers::of(n, false),
        ) else {
            self.push(
                Verdict::CannotTell,
                Rule::RangeNarrowed,
                At::Object,
                "the numeric keywords changed, and their numbers are too large or too precise to compare exactly".to_owned(),
                Some(super::validate_help()),
            );
            return;
        };
        if old.is_empty() {
            return;
        }
        let listed: Option<Vec<Decimal>> = domain
            .values_of(InstanceType::Number)
            .map(|values| values.into_iter().filter_map(Decimal::from_value).collect());
        let judge = |exact: &dyn Fn(Decimal) -> Option<bool>, keywords: Judged| match &listed {
            Some(values) => values
                .iter()
                .find(|x| exact(**x) == Some(false))
                .map_or(Judged::Safe, |x| Judged::Narrowed(*x)),
            None => keywords,
        };
        // Whether the new keywords, on the old object's grid, admit exactly the old numbers.
        let on_old_grid = Numbers {
            step: old.step,
            ..new.clone()
        };
        if !lower_same {
            let judged = judge(
                &|x| new.lower.map_or(Some(true), |b| b.admits_as_lower(x)),
                old.judge_lower(new.lower),
            );
            let same = matches!(on_old_grid.judge_lower(old.lower), Judged::Safe);
            self.report_bound(judged, same, "lower", old.lower, new.lower, "minimum");
        }
        if !upper_same {
            let judged = judge(
                &|x| {
                    new.upper
                        .map_or(Some(true), |b| b.neg().admits_as_lower(x.neg()))
                },
                old.judge_upper(new.upper),
            );
            let same = matches!(on_old_grid.judge_upper(old.upper), Judged::Safe);
            self.report_bound(judged, same, "upper", old.upper, new.upper, "maximum");
        }
        if !multiple_same {
            let judged = judge(
                &|x| new.multiple_of.map_or(Some(true), |m| x.is_multiple_of(m)),
                old.judge_multiple(new.multiple_of),
            );
            let text =
                |m: Option<Decimal>| m.map_or_else(|| "absent".to_owned(), |m| m.to_string());
            let change = format!(
                "`multipleOf` is {} now (was {})",
                text(new.multiple_of),
                text(old.multiple_of)
            );
            match judged {
                Judged::Safe => self.push(
                    Verdict::Safe,
                    Rule::MultipleOfWidened,
                    At::Value("multipleOf"),
                    match new.multiple_of {
                        Some(_) => format!("{change}: every number that was valid is a multiple of it"),
                        None => change,
                    },
                    None,
                ),
                Judged::Narrowed(x) => self.push(
                    Verdict::Breaking,
                    Rule::MultipleOfNarrowed,
                    At::Value("multipleOf"),
                    format!("{change}: {x} was valid and is not a multiple of it, so it goes to quarantine now"),
                    Some("a new `multipleOf` is safe only when the old one (or 1, for integers) is a multiple of it".to_owned()),
                ),
                Judged::Unknown => self.push(
                    Verdict::CannotTell,
                    Rule::MultipleOfNarrowed,
                    At::Value("multipleOf"),
                    format!("{change}, and this check found no valid number that it rejects, but cannot prove there is none"),
                    Some(super::validate_help()),
                ),
            }
        }
    }

    /// `same`: the new bound admits exactly the numbers the old one did.
    fn report_bound(
        &mut self,
        judged: Judged,
        same: bool,
        side: &str,
        old: Option<Bound>,
        new: Option<Bound>,
        default_keyword: &'static str,
    ) {
        let text = |b: Option<Bound>| b.map_or_else(|| "absent".to_owned(), Bound::text);
        let keyword = new.or(old).map_or(default_keyword, |b| b.keyword);
        let change = match new {
            Some(_) => format!("the {side} bound is {} now (was {})", text(new), text(old)),
            None => format!("the {side} bound {} was removed", text(old)),
        };
        match judged {
            Judged::Safe => self.push(
                Verdict::Safe,
                Rule::RangeWidened,
                At::Value(keyword),
                if same && new.is_some() {
                    format!("{change}, which admits the same numbers")
                } else {
                    change
                },
                None,
            ),
            Judged::Narrowed(x) => self.push(
                Verdict::Breaking,
                Rule::RangeNarrowed,
                At::Value(keyword),
                format!("{change}: {x} was valid and goes to quarantine now"),
                Some(match old {
                    Some(old) => format!(
                        "tighten a bound only once no producer sends values outside it; until then keep {}",
                        old.text()
                    ),
                    None => "add a bound only once no producer sends values outside it".to_owned(),
                }),
            ),
            Judged::Unknown => self.push(
                Verdict::CannotTell,
                Rule::RangeNarrowed,
                At::Value(keyword),
                format!("{change}, and this check found no valid number that it rejects, but cannot prove there is none"),
                Some(super::validate_help()),
            ),
        }
    }

    /// Whether the old object admitted numbers with a fraction: `Some(Some(x))` names one,
    /// `Some(None)` when every admitted number is integral, `None` when it cannot tell.
    pub(super) fn fractional_number(
        &self,
        o: &SchemaObject,
        domain: &Domain<'_>,
    ) -> Option<Option<String>> {
        if let Some(values) = domain.values_of(InstanceType::Number) {
            return Some(
                values
                    .into_iter()
                    .find(|v| !InstanceType::Integer.matches(v))
                    .map(|v| v.to_string()),
            );
        }
        let numbers = Numbers::of(o, false)?;
        match numbers.judge_multiple(Some(Decimal::ONE)) {
            Judged::Safe => Some(None),
            Judged::Narrowed(x) => Some(Some(x.to_string())),
            Judged::Unknown => None,
        }
    }
}
