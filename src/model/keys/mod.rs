//! The registry of the scenario's numeric keys: one row per key, read by
//! everything that names a key (the validator's rules, `simulate schema`'s
//! bounds, the digest, sensitivity's inputs, the optimizer's levers,
//! optimized.toml, serve's sliders, the shard header check, and where a
//! study's variant or a sweep's point sets its key in the raw file,
//! `scenario::raw::Slot`, a sweep's path read by `study::path`).
//!
//! A row says where the key lives ([`Owner`] and its dotted path below the
//! owner, as the file writes it), its rule (the range the validator
//! enforces, in the validator's words), whether it may be a distribution
//! (and which drawn [`Param`] it is), how sensitivity steps it, whether an
//! optimizer lever may vary it, and where its value lands in the validated
//! [`Scenario`] ([`Field`], with a typed get and set).
//!
//! A key that only one consumer needs (a text, a list) is not here; a
//! number a user can write is.

mod place;

pub use super::{PolicyField, TermField, UnitField};
pub use place::{first_broken, Field, Place};

use super::{Param, Role};

/// Who carries a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner {
    /// `[scenario]`.
    Scenario,
    /// `[[units]]`.
    Unit,
    /// `[valuation]`, or a unit's own `valuation = { ... }`.
    Valuation,
    /// `[policies.NAME]` itself.
    Policy,
    /// A term of a unit under a policy: on the tables of `roles`
    /// (`[policies.NAME.ROLE]`) and on every per-unit override
    /// (`[policies.NAME.units."UNIT"]`).
    Terms(&'static [Role]),
}

/// What kind of number a key holds (how a page shows and steps it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A share of something, shown in percent.
    Share,
    /// A rate a year, shown in percent.
    Rate,
    /// Money or a multiple.
    Level,
    /// Years (or a count).
    Years,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Share => "share",
            Kind::Rate => "rate",
            Kind::Level => "level",
            Kind::Years => "years",
        }
    }
}

/// How the sensitivity study moves a key: by an additive step (a rate: one
/// point) or a relative one (a level: 10%).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Additive,
    Relative,
}

/// A bound and whether it is itself refused.
pub type Bound = Option<(f64, bool)>;

/// The upper bound of a key.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Upper {
    None,
    /// A fixed bound, and whether it is itself refused.
    At(f64, bool),
    /// The scenario's steps per year, allowed.
    StepsPerYear,
}

/// The validator's rule for a key: a finite number in a range.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rule {
    pub lo: Bound,
    pub hi: Upper,
    /// Whole numbers only.
    pub whole: bool,
    /// The rule in the validator's words; `{spy}` stands for the
    /// scenario's steps per year.
    pub text: &'static str,
}

impl Rule {
    /// The upper bound for a scenario of `spy` steps a year.
    pub fn hi(&self, spy: u32) -> Bound {
        match self.hi {
            Upper::None => None,
            Upper::At(x, open) => Some((x, open)),
            Upper::StepsPerYear => Some((f64::from(spy), false)),
        }
    }

    /// Whether `x` (finite) meets the rule.
    pub fn allows(&self, x: f64, spy: u32) -> bool {
        let lo_ok = match self.lo {
            None => true,
            Some((b, true)) => x > b,
            Some((b, false)) => x >= b,
        };
        let hi_ok = match self.hi(spy) {
            None => true,
            Some((b, true)) => x < b,
            Some((b, false)) => x <= b,
        };
        lo_ok && hi_ok && (!self.whole || x.fract() == 0.0)
    }

    /// The rule's words for a scenario of `spy` steps a year.
    pub fn text(&self, spy: u32) -> String {
        self.text.replace("{spy}", &spy.to_string())
    }
}

/// One key of the scenario.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Key {
    pub owner: Owner,
    /// The dotted path below the owner, as the file writes it.
    pub path: &'static str,
    pub kind: Kind,
    pub rule: Rule,
    /// The drawn assumption it is, when it may be a distribution.
    pub param: Option<Param>,
    /// How sensitivity steps it; None: not one of the study's inputs.
    pub step: Option<Step>,
    /// Whether an optimizer lever may vary it.
    pub lever: bool,
    /// The value when the file leaves the key out (None: required, or an
    /// optional table's).
    pub default: Option<f64>,
    /// The key in words, for the optimizer's `check` ("gate year").
    pub words: &'static str,
    /// The key as a reader's label ("jumps a year"); empty: the path in
    /// words ("response max uplift").
    pub label: &'static str,
    /// A value to show in a message that asks for the key (empty: none).
    pub example: &'static str,
    pub field: Field,
}

impl Key {
    /// Whether the key may be a distribution.
    pub fn dist(&self) -> bool {
        self.param.is_some()
    }

    /// The key as a reader's label.
    pub fn label(&self) -> String {
        if self.label.is_empty() {
            self.path.replace(['_', '.'], " ")
        } else {
            self.label.to_string()
        }
    }

    /// The key's last segment.
    pub fn leaf(&self) -> &'static str {
        self.path.rsplit('.').next().unwrap_or(self.path)
    }
}

const fn rule(lo: Bound, hi: Upper, text: &'static str) -> Rule {
    Rule {
        lo,
        hi,
        whole: false,
        text,
    }
}

const ANY: Rule = rule(None, Upper::None, "any number");
const NONNEG: Rule = rule(Some((0.0, false)), Upper::None, "must be >= 0");
const NONNEG_YEARS: Rule = rule(Some((0.0, false)), Upper::None, "must be >= 0 (years)");
const POSITIVE: Rule = rule(Some((0.0, true)), Upper::None, "must be positive");
const ABOVE_M1: Rule = rule(Some((-1.0, true)), Upper::None, "must be greater than -1");
const SHARE: Rule = rule(
    Some((0.0, false)),
    Upper::At(1.0, false),
    "must be a share in [0, 1]",
);
const MARGIN: Rule = rule(
    None,
    Upper::At(1.0, false),
    "must be <= 1 (a share of revenue)",
);

/// Most jumps a year (keeps the Poisson sampler in its valid range).
pub const MAX_JUMP_RATE: f64 = 10_000.0;
/// Most years of a fade.
pub const MAX_FADE_YEARS: u32 = 50;

/// A row with the common defaults: no distribution, no sensitivity step,
/// no lever, required.
const fn key(owner: Owner, path: &'static str, kind: Kind, rule: Rule, field: Field) -> Key {
    Key {
        owner,
        path,
        kind,
        rule,
        param: None,
        step: None,
        lever: false,
        default: None,
        words: path,
        label: "",
        example: "",
        field,
    }
}

const fn unit(path: &'static str, kind: Kind, rule: Rule, f: UnitField) -> Key {
    key(Owner::Unit, path, kind, rule, Field::Unit(f))
}

const fn drawn(k: Key, p: Param) -> Key {
    Key {
        param: Some(p),
        ..k
    }
}

const fn eg(k: Key, example: &'static str) -> Key {
    Key { example, ..k }
}

const fn stepped(k: Key, s: Step) -> Key {
    Key { step: Some(s), ..k }
}

const fn term(roles: &'static [Role], path: &'static str, kind: Kind, rule: Rule) -> Key {
    let f = match path.as_bytes() {
        b"intensity" => TermField::Intensity,
        b"exit_after" => TermField::ExitAfter,
        b"exit_window" => TermField::ExitWindow,
        b"exit_discount" => TermField::ExitDiscount,
        b"budget" => TermField::Budget,
        b"years" => TermField::Years,
        b"gate.year" => TermField::GateYear,
        _ => TermField::GateMin,
    };
    Key {
        lever: true,
        ..key(Owner::Terms(roles), path, kind, rule, Field::Term(f))
    }
}

use Kind::{Level, Rate, Share, Years};
use Step::{Additive, Relative};

const CORE_NON_CORE: &[Role] = &[Role::Core, Role::NonCore];
const NON_CORE: &[Role] = &[Role::NonCore];
const INNOVATION: &[Role] = &[Role::Innovation];

/// Every key, owners in file order and keys in each owner's order (the
/// order sensitivity lists its inputs and optimized.toml writes a
/// policy's terms).
pub static KEYS: &[Key] = &[
    Key {
        step: Some(Additive),
        example: "0.09",
        ..key(
            Owner::Scenario,
            "discount_rate",
            Rate,
            ABOVE_M1,
            Field::DiscountRate,
        )
    },
    stepped(
        drawn(
            eg(
                unit("revenue", Level, POSITIVE, UnitField::Revenue),
                "100.0",
            ),
            Param::Revenue,
        ),
        Relative,
    ),
    stepped(
        drawn(
            eg(unit("growth", Rate, ABOVE_M1, UnitField::Growth), "0.04"),
            Param::Growth,
        ),
        Additive,
    ),
    stepped(
        drawn(
            eg(
                unit("volatility", Rate, NONNEG, UnitField::Volatility),
                "0.08",
            ),
            Param::Volatility,
        ),
        Additive,
    ),
    stepped(
        drawn(
            eg(unit("margin", Share, MARGIN, UnitField::Margin), "0.20"),
            Param::Margin,
        ),
        Additive,
    ),
    stepped(
        drawn(
            eg(
                unit("target_margin", Share, MARGIN, UnitField::TargetMargin),
                "0.20",
            ),
            Param::TargetMargin,
        ),
        Additive,
    ),
    stepped(
        drawn(
            eg(
                unit(
                    "margin_speed",
                    Level,
                    rule(
                        Some((0.0, false)),
                        Upper::StepsPerYear,
                        "must be in [0, steps_per_year = {spy}] (per year)",
                    ),
                    UnitField::MarginSpeed,
                ),
                "0.3",
            ),
            Param::MarginSpeed,
        ),
        Relative,
    ),
    stepped(
        eg(
            unit(
                "multiple.median",
                Level,
                POSITIVE,
                UnitField::MultipleMedian,
            ),
            "2.0",
        ),
        Relative,
    ),
    eg(
        unit(
            "multiple.dispersion",
            Level,
            NONNEG,
            UnitField::MultipleDispersion,
        ),
        "0.25",
    ),
    stepped(
        drawn(
            eg(
                unit("response.max_uplift", Rate, NONNEG, UnitField::MaxUplift),
                "0.05",
            ),
            Param::MaxUplift,
        ),
        Additive,
    ),
    stepped(
        drawn(
            eg(
                unit(
                    "response.half_saturation",
                    Share,
                    NONNEG,
                    UnitField::HalfSaturation,
                ),
                "0.05",
            ),
            Param::HalfSaturation,
        ),
        Relative,
    ),
    Key {
        label: "jumps a year",
        example: "0.1",
        ..unit(
            "jumps.rate",
            Level,
            rule(
                Some((0.0, false)),
                Upper::At(MAX_JUMP_RATE, false),
                "must be in [0, 10000] (jumps per year)",
            ),
            UnitField::JumpRate,
        )
    },
    Key {
        label: "jump mean",
        example: "-0.10",
        ..unit("jumps.mean", Rate, ANY, UnitField::JumpMean)
    },
    Key {
        label: "jump stdev",
        example: "0.05",
        ..unit("jumps.stdev", Rate, NONNEG, UnitField::JumpStdev)
    },
    unit("growth_fade.from", Rate, ABOVE_M1, UnitField::FadeFrom),
    unit(
        "growth_fade.years",
        Years,
        rule(
            Some((0.0, true)),
            Upper::None,
            "must be positive (years until growth has settled)",
        ),
        UnitField::FadeYears,
    ),
    Key {
        default: Some(0.03),
        step: Some(Additive),
        ..key(
            Owner::Valuation,
            "terminal_growth",
            Rate,
            ABOVE_M1,
            Field::Unit(UnitField::TerminalGrowth),
        )
    },
    Key {
        default: Some(2.0),
        step: Some(Relative),
        ..key(
            Owner::Valuation,
            "sales_to_capital",
            Level,
            rule(
                Some((0.0, true)),
                Upper::None,
                "must be positive (revenue added per unit of capital invested)",
            ),
            Field::Unit(UnitField::SalesToCapital),
        )
    },
    Key {
        default: Some(10.0),
        ..key(
            Owner::Valuation,
            "fade_years",
            Years,
            Rule {
                whole: true,
                ..rule(
                    Some((0.0, false)),
                    Upper::At(MAX_FADE_YEARS as f64, false),
                    "must be a whole number of years in [0, 50]",
                )
            },
            Field::Unit(UnitField::ValuationYears),
        )
    },
    Key {
        step: Some(Additive),
        lever: true,
        example: "0.6",
        ..key(
            Owner::Policy,
            "reinvest_share",
            Share,
            SHARE,
            Field::Policy(PolicyField::Reinvest),
        )
    },
    Key {
        step: Some(Additive),
        lever: true,
        default: Some(0.0),
        example: "0.6",
        ..key(
            Owner::Policy,
            "recycle_share",
            Share,
            SHARE,
            Field::Policy(PolicyField::Recycle),
        )
    },
    stepped(
        eg(term(CORE_NON_CORE, "intensity", Share, NONNEG), "0.10"),
        Additive,
    ),
    stepped(
        eg(term(NON_CORE, "exit_after", Years, NONNEG_YEARS), "1.0"),
        Relative,
    ),
    stepped(
        eg(term(NON_CORE, "exit_window", Years, NONNEG_YEARS), "1.0"),
        Relative,
    ),
    stepped(
        eg(term(NON_CORE, "exit_discount", Share, SHARE), "0.15"),
        Additive,
    ),
    stepped(
        eg(term(INNOVATION, "budget", Level, NONNEG), "4.0"),
        Relative,
    ),
    stepped(eg(term(INNOVATION, "years", Years, NONNEG), "5"), Relative),
    Key {
        words: "gate year",
        ..stepped(
            eg(term(INNOVATION, "gate.year", Years, NONNEG_YEARS), "2"),
            Relative,
        )
    },
    Key {
        words: "gate min_revenue_multiple",
        label: "gate revenue multiple",
        ..stepped(
            term(INNOVATION, "gate.min_revenue_multiple", Level, NONNEG),
            Relative,
        )
    },
];

/// The keys of one owner, in order.
pub fn of(owner: Owner) -> impl Iterator<Item = &'static Key> {
    KEYS.iter().filter(move |k| same_owner(k.owner, owner))
}

fn same_owner(a: Owner, b: Owner) -> bool {
    matches!(
        (a, b),
        (Owner::Scenario, Owner::Scenario)
            | (Owner::Unit, Owner::Unit)
            | (Owner::Valuation, Owner::Valuation)
            | (Owner::Policy, Owner::Policy)
            | (Owner::Terms(_), Owner::Terms(_))
    )
}

/// The terms of a policy (on its role tables and per-unit overrides).
pub fn terms() -> impl Iterator<Item = &'static Key> {
    of(Owner::Terms(&[]))
}

/// The terms a role's table carries, in order.
pub fn role_terms(role: Role) -> impl Iterator<Item = &'static Key> {
    terms().filter(move |k| matches!(k.owner, Owner::Terms(r) if r.contains(&role)))
}

/// The key of `owner` at `path` (dotted, below the owner).
pub fn find(owner: Owner, path: &str) -> Option<&'static Key> {
    of(owner).find(|k| k.path == path)
}

/// The key whose value lands in `field`.
pub fn by_field(field: Field) -> &'static Key {
    // Every field has its row (tests::every_field_has_one_row).
    KEYS.iter().find(|k| k.field == field).unwrap_or(&KEYS[0])
}

/// The key a drawn assumption is.
pub fn of_param(param: Param) -> &'static Key {
    KEYS.iter()
        .find(|k| k.param == Some(param))
        .unwrap_or(&KEYS[0])
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNIT_FIELDS: [UnitField; 18] = [
        UnitField::Revenue,
        UnitField::Growth,
        UnitField::FadeFrom,
        UnitField::FadeYears,
        UnitField::Volatility,
        UnitField::Margin,
        UnitField::TargetMargin,
        UnitField::MarginSpeed,
        UnitField::MultipleMedian,
        UnitField::MultipleDispersion,
        UnitField::MaxUplift,
        UnitField::HalfSaturation,
        UnitField::JumpRate,
        UnitField::JumpMean,
        UnitField::JumpStdev,
        UnitField::ValuationYears,
        UnitField::TerminalGrowth,
        UnitField::SalesToCapital,
    ];
    const TERM_FIELDS: [TermField; 8] = [
        TermField::Intensity,
        TermField::ExitAfter,
        TermField::ExitWindow,
        TermField::ExitDiscount,
        TermField::Budget,
        TermField::Years,
        TermField::GateYear,
        TermField::GateMin,
    ];

    #[test]
    fn every_field_has_one_row() {
        let mut fields = vec![
            Field::DiscountRate,
            Field::Policy(PolicyField::Reinvest),
            Field::Policy(PolicyField::Recycle),
        ];
        fields.extend(UNIT_FIELDS.map(Field::Unit));
        fields.extend(TERM_FIELDS.map(Field::Term));
        for f in &fields {
            assert_eq!(KEYS.iter().filter(|k| k.field == *f).count(), 1, "{f:?}");
        }
        assert_eq!(KEYS.len(), fields.len());
        for p in Param::ALL {
            assert_eq!(of_param(p).param, Some(p));
        }
        // The term rows name their own field.
        for f in TERM_FIELDS {
            assert_eq!(f.key().field, Field::Term(f));
        }
    }

    #[test]
    fn rules_read_as_the_validator_writes_them() {
        let speed = find(Owner::Unit, "margin_speed").unwrap();
        assert!(speed.rule.allows(4.0, 4) && !speed.rule.allows(4.5, 4));
        assert_eq!(
            speed.rule.text(12),
            "must be in [0, steps_per_year = 12] (per year)"
        );
        let g = find(Owner::Unit, "growth").unwrap();
        assert!(!g.rule.allows(-1.0, 4) && g.rule.allows(-0.99, 4));
        let y = find(Owner::Valuation, "fade_years").unwrap();
        assert!(y.rule.allows(50.0, 4) && !y.rule.allows(2.5, 4) && !y.rule.allows(51.0, 4));
        let roles: Vec<&str> = role_terms(Role::NonCore).map(|k| k.path).collect();
        assert_eq!(
            roles,
            ["intensity", "exit_after", "exit_window", "exit_discount"]
        );
    }
}
