//! `[[correlations]]`: rank correlations between drawn assumptions, each
//! refused with its line and key: a coefficient outside [-1, 1], a key
//! that is not drawn, a pair given twice, and a set of coefficients no
//! joint distribution can have (the matrix of the copula's normal
//! correlations is not positive semi-definite: the smallest eigenvalue and
//! the pairs involved are named).

use nalgebra::{DMatrix, SymmetricEigen};

use super::{names, RawCorrelation, Sp, R, V};
use crate::model::{Correlation, Param, Unit};

/// Most `[[correlations]]` entries.
pub const MAX_CORRELATIONS: usize = 200;
/// How far below zero the smallest eigenvalue may be (rounding).
const EIGEN_TOLERANCE: f64 = 1e-10;

/// "UNIT.key" as the file writes it: the unit (compared as names are) and
/// a key that may be drawn; "UNIT.response.max_uplift" too.
fn assumption(v: &V, text: &Sp<String>, key: &str, units: &[Unit]) -> R<(usize, Param)> {
    let t = text.get_ref().as_str();
    let keys: Vec<&str> = Param::ALL.iter().map(|p| p.key()).collect();
    let split = t.rsplit_once('.').and_then(|(unit, k)| {
        let unit = unit.strip_suffix(".response").unwrap_or(unit);
        let unit = unit.trim().trim_matches('"');
        Param::ALL
            .iter()
            .find(|p| p.key() == k.trim())
            .map(|&p| (unit, p))
    });
    let Some((unit_name, param)) = split else {
        return Err(v.err(
            text.span(),
            key,
            format!(
                "\"{t}\" is not UNIT.key with a key that may be drawn ({}), e.g. \"Quark.growth\"",
                keys.join(", ")
            ),
        ));
    };
    let Some(u) = units.iter().position(|u| names::same(&u.name, unit_name)) else {
        return Err(v.err(
            text.span(),
            key,
            format!(
                "names no unit: \"{unit_name}\"{}",
                names::did_you_mean(unit_name, units.iter().map(|u| u.name.as_str()))
            ),
        ));
    };
    if units[u].drawn(param).is_none() {
        return Err(v.err(
            text.span(),
            key,
            format!(
                "\"{}\" gives {} as a number, not a distribution: only drawn assumptions can be correlated (e.g. {} = {{ dist = \"pert\", min = ..., mode = ..., max = ... }})",
                units[u].name,
                param.key(),
                param.key()
            ),
        ));
    }
    Ok((u, param))
}

fn label(units: &[Unit], (u, p): (usize, Param)) -> String {
    format!("{}.{}", units[u].name, p.key())
}

/// The validated correlations of `raw` (none when the file has none).
pub(super) fn correlations(
    v: &V,
    raw: &[Sp<RawCorrelation>],
    units: &[Unit],
) -> R<Vec<Correlation>> {
    if raw.len() > MAX_CORRELATIONS {
        return Err(v.err(
            raw[MAX_CORRELATIONS].span(),
            "correlations",
            format!("at most {MAX_CORRELATIONS} correlations are allowed"),
        ));
    }
    let mut out: Vec<Correlation> = Vec::new();
    for (i, rc) in raw.iter().enumerate() {
        let k = |f: &str| format!("correlations[{i}].{f}");
        let at = rc.span();
        let between = v.req(&rc.between, &at, &k("between"))?;
        if between.len() != 2 {
            return Err(v.err(
                between.span(),
                &k("between"),
                format!(
                    "must name exactly two assumptions, e.g. [\"Quark.growth\", \"DingTalk.target_margin\"], got {}",
                    between.len()
                ),
            ));
        }
        let a = assumption(v, &between[0], &k("between[0]"), units)?;
        let b = assumption(v, &between[1], &k("between[1]"), units)?;
        if a == b {
            return Err(v.err(
                between.span(),
                &k("between"),
                format!(
                    "names {} twice: a key is always perfectly correlated with itself",
                    label(units, a)
                ),
            ));
        }
        let rank = v.num(
            v.req(&rc.rank, &at, &k("rank"))?,
            &k("rank"),
            |x| (-1.0..=1.0).contains(&x),
            "must be in [-1, 1]",
        )?;
        if let Some(j) = out
            .iter()
            .position(|c| (c.a == a && c.b == b) || (c.a == b && c.b == a))
        {
            return Err(v.err(
                between.span(),
                &k("between"),
                format!(
                    "{} and {} are already correlated by correlations[{j}] (rank {}): give each pair once",
                    label(units, a),
                    label(units, b),
                    out[j].rank
                ),
            ));
        }
        out.push(Correlation { a, b, rank });
    }
    if let Some(problem) = not_positive_semidefinite(&out, units) {
        let last = raw.last().map(|r| r.span()).unwrap_or_default();
        return Err(v.err(last, "correlations", problem));
    }
    Ok(out)
}

/// The drawn keys a set of correlations involves, in the order first
/// named, and the matrix of their normal-score correlations.
pub fn matrix(cs: &[Correlation]) -> (Vec<(usize, Param)>, DMatrix<f64>) {
    let mut keys: Vec<(usize, Param)> = Vec::new();
    for c in cs {
        for k in [c.a, c.b] {
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
    }
    let n = keys.len();
    let mut m = DMatrix::<f64>::identity(n, n);
    let at = |k: (usize, Param)| keys.iter().position(|&x| x == k).unwrap_or(0);
    for c in cs {
        let (i, j) = (at(c.a), at(c.b));
        let r = Correlation::normal(c.rank);
        m[(i, j)] = r;
        m[(j, i)] = r;
    }
    (keys, m)
}

/// Why the correlations cannot hold together, if they cannot: the
/// smallest eigenvalue of the matrix and the pairs among the keys that
/// weigh most in its eigenvector.
pub fn not_positive_semidefinite(cs: &[Correlation], units: &[Unit]) -> Option<String> {
    if cs.is_empty() {
        return None;
    }
    let (keys, m) = matrix(cs);
    let eig = SymmetricEigen::new(m);
    let (i_min, &min) = eig
        .eigenvalues
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.total_cmp(b.1))?;
    if min >= -EIGEN_TOLERANCE {
        return None;
    }
    let vec = eig.eigenvectors.column(i_min);
    let heavy: Vec<(usize, Param)> = keys
        .iter()
        .zip(vec.iter())
        .filter(|(_, w)| w.abs() >= 0.25)
        .map(|(&k, _)| k)
        .collect();
    let pairs: Vec<String> = cs
        .iter()
        .filter(|c| heavy.contains(&c.a) && heavy.contains(&c.b))
        .map(|c| format!("{} ~ {} ({})", label(units, c.a), label(units, c.b), c.rank))
        .collect();
    Some(format!(
        "these correlations cannot hold together: their matrix (of the normal scores, 2 sin(pi rank / 6)) is not positive semi-definite, smallest eigenvalue {min:.4}; the pairs involved: {}. Weaken one of them (e.g. if A and B both move with C, A and B cannot move against each other strongly)",
        pairs.join(", ")
    ))
}
