//! Loadings on common factors, from how the units' residual growth moves
//! together.
//!
//! The model's shock of unit i is Z_i = sum_f L_if F_f + sqrt(1 - sum_f
//! L_if^2) eps_i, so the correlation of two units' shocks is sum_f L_if
//! L_jf and each has variance 1: the correlation matrix is L L' plus a
//! diagonal, which is exactly the common factor model. The loadings come
//! from iterated principal axis factoring (eigen-decomposition of the
//! correlation with communalities on its diagonal, repeated until they
//! settle), which, unlike principal components, does not fold each unit's
//! own noise into the loadings. Communalities are capped below 1 so every
//! unit keeps some shock of its own and its loadings' squares sum to less
//! than 1, as the model requires.
//!
//! Factors are identified only up to a rotation, which changes nothing in
//! the simulation; for reading them, several factors are varimax-rotated
//! (Kaiser 1958) so each unit loads mostly on one, ordered by the variance
//! they explain, and signed so that their loadings sum to a positive
//! number: the same data always gives the same table.

use nalgebra::{DMatrix, DVector, SymmetricEigen, SVD};

/// Highest communality (share of a unit's shock the factors explain).
pub const MAX_COMMUNALITY: f64 = 0.99;
const MAX_ITERATIONS: usize = 1000;
const TOLERANCE: f64 = 1e-9;

/// How several factors are turned for reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Rotation {
    /// Each unit loads mostly on one factor (Kaiser's varimax).
    Varimax,
    /// The principal axes: the first factor explains the most.
    None,
}

/// Common factors fitted to a correlation matrix.
#[derive(Clone, Debug, PartialEq)]
pub struct Factors {
    /// One row per variable, one column per factor.
    pub loadings: DMatrix<f64>,
    /// Share of the variables' total variance each factor explains.
    pub explained: Vec<f64>,
    /// Eigenvalues of the correlation matrix, largest first.
    pub eigenvalues: Vec<f64>,
    /// Root mean square of the correlations the factors leave unexplained
    /// (off the diagonal).
    pub rms_residual: f64,
    /// Whether the communalities settled within the iteration limit.
    pub converged: bool,
    /// Variables whose communality reached [`MAX_COMMUNALITY`].
    pub capped: Vec<usize>,
}

/// The correlation matrix of the columns of `data` (rows: observations).
/// `None` when a column does not vary or a figure is not finite.
pub fn correlation(data: &DMatrix<f64>) -> Option<DMatrix<f64>> {
    let n = data.nrows();
    if n < 2 || data.iter().any(|x| !x.is_finite()) {
        return None;
    }
    let mut z = data.clone();
    for mut col in z.column_iter_mut() {
        let mean = col.mean();
        col.add_scalar_mut(-mean);
        let norm = col.norm();
        if !norm.is_finite() || norm <= 1e-300 {
            return None;
        }
        col /= norm;
    }
    let mut c = z.transpose() * &z;
    for i in 0..c.nrows() {
        c[(i, i)] = 1.0;
    }
    c.iter().all(|x| x.is_finite()).then_some(c)
}

fn eigen(m: DMatrix<f64>) -> Option<SymmetricEigen<f64, nalgebra::Dyn>> {
    let e = SymmetricEigen::try_new(m, f64::EPSILON, 10_000)?;
    e.eigenvalues.iter().all(|x| x.is_finite()).then_some(e)
}

/// Eigen-pairs, largest eigenvalue first.
fn sorted(e: &SymmetricEigen<f64, nalgebra::Dyn>) -> Vec<(f64, DVector<f64>)> {
    let mut pairs: Vec<(f64, DVector<f64>)> = e
        .eigenvalues
        .iter()
        .zip(e.eigenvectors.column_iter())
        .map(|(&l, v)| (l, v.into_owned()))
        .collect();
    pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
    pairs
}

/// Fits `k` common factors to the correlation matrix `c` (k >= 1, k <
/// number of variables). `None` if the linear algebra fails (a matrix
/// that is not finite).
pub fn fit(c: &DMatrix<f64>, k: usize, rotation: Rotation) -> Option<Factors> {
    let p = c.nrows();
    if k == 0 || k >= p || c.iter().any(|x| !x.is_finite()) {
        return None;
    }
    let eigenvalues: Vec<f64> = sorted(&eigen(c.clone())?).iter().map(|e| e.0).collect();

    // Start from the squared multiple correlations (a lower bound of the
    // communalities), or the largest correlation when c is singular.
    let mut h: Vec<f64> = match c.clone().try_inverse() {
        Some(inv) if inv.iter().all(|x| x.is_finite()) => {
            (0..p).map(|i| 1.0 - 1.0 / inv[(i, i)]).collect()
        }
        _ => (0..p)
            .map(|i| {
                (0..p)
                    .filter(|&j| j != i)
                    .map(|j| c[(i, j)].abs())
                    .fold(0.0, f64::max)
            })
            .collect(),
    };
    for x in &mut h {
        *x = x.clamp(0.0, MAX_COMMUNALITY);
    }
    let mut loadings = DMatrix::zeros(p, k);
    let mut converged = false;
    for _ in 0..MAX_ITERATIONS {
        let mut reduced = c.clone();
        for (i, &hi) in h.iter().enumerate() {
            reduced[(i, i)] = hi;
        }
        let pairs = sorted(&eigen(reduced)?);
        for (f, (l, v)) in pairs.iter().take(k).enumerate() {
            loadings.set_column(f, &(v * l.max(0.0).sqrt()));
        }
        let next: Vec<f64> = loadings
            .row_iter()
            .map(|r| r.norm_squared().clamp(0.0, MAX_COMMUNALITY))
            .collect();
        let change = next
            .iter()
            .zip(&h)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        h = next;
        if change < TOLERANCE {
            converged = true;
            break;
        }
    }
    // Keep each row within the cap (the last eigenvectors were computed
    // with the previous communalities).
    for (i, mut row) in loadings.row_iter_mut().enumerate() {
        let ss = row.norm_squared();
        if ss > h[i] && ss > 0.0 {
            row *= (h[i] / ss).sqrt();
        }
    }
    if k > 1 && rotation == Rotation::Varimax {
        loadings = varimax(&loadings)?;
    }
    orient(&mut loadings);

    let implied = &loadings * loadings.transpose();
    let mut sum_sq = 0.0;
    let mut count = 0usize;
    for i in 0..p {
        for j in 0..i {
            sum_sq += (c[(i, j)] - implied[(i, j)]).powi(2);
            count += 1;
        }
    }
    let capped = (0..p)
        .filter(|&i| loadings.row(i).norm_squared() >= MAX_COMMUNALITY - 1e-9)
        .collect();
    Some(Factors {
        explained: loadings
            .column_iter()
            .map(|col| col.norm_squared() / p as f64)
            .collect(),
        loadings,
        eigenvalues,
        rms_residual: (sum_sq / count.max(1) as f64).sqrt(),
        converged,
        capped,
    })
}

/// Kaiser's varimax rotation with row normalisation (the algorithm of R's
/// `stats::varimax`).
fn varimax(l: &DMatrix<f64>) -> Option<DMatrix<f64>> {
    let (p, k) = l.shape();
    let norms: Vec<f64> = l.row_iter().map(|r| r.norm()).collect();
    let mut x = l.clone();
    for (i, mut row) in x.row_iter_mut().enumerate() {
        if norms[i] > 1e-12 {
            row /= norms[i];
        }
    }
    let mut t = DMatrix::<f64>::identity(k, k);
    let mut d = 0.0;
    for _ in 0..MAX_ITERATIONS {
        let z = &x * &t;
        let col_ss: Vec<f64> = z
            .column_iter()
            .map(|c| c.norm_squared() / p as f64)
            .collect();
        let target = DMatrix::from_fn(p, k, |i, j| z[(i, j)].powi(3) - z[(i, j)] * col_ss[j]);
        let b = x.transpose() * target;
        let svd = SVD::try_new(b, true, true, f64::EPSILON, 10_000)?;
        let (u, v_t) = (svd.u?, svd.v_t?);
        t = u * v_t;
        let d_past = d;
        d = svd.singular_values.sum();
        if d < d_past * (1.0 + 1e-10) {
            break;
        }
    }
    let mut rotated = l * t;
    // Rotation keeps each row's length; guard against rounding.
    for (i, mut row) in rotated.row_iter_mut().enumerate() {
        let n = row.norm();
        if n > norms[i] && n > 0.0 {
            row *= norms[i] / n;
        }
    }
    rotated.iter().all(|x| x.is_finite()).then_some(rotated)
}

/// Orders factors by the variance they explain and signs each so that
/// its loadings sum to a positive number (the largest loading positive
/// when they sum to about zero).
fn orient(l: &mut DMatrix<f64>) {
    let k = l.ncols();
    let mut order: Vec<usize> = (0..k).collect();
    let ss: Vec<f64> = l.column_iter().map(|c| c.norm_squared()).collect();
    order.sort_by(|&a, &b| ss[b].total_cmp(&ss[a]));
    let mut out = DMatrix::zeros(l.nrows(), k);
    for (to, &from) in order.iter().enumerate() {
        let col = l.column(from);
        let sum = col.sum();
        let sign = if sum.abs() > 1e-9 {
            sum.signum()
        } else {
            let big = col
                .iter()
                .copied()
                .fold(0.0, |a: f64, x| if x.abs() > a.abs() { x } else { a });
            if big < 0.0 {
                -1.0
            } else {
                1.0
            }
        };
        out.set_column(to, &(col * sign));
    }
    *l = out;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The correlation matrix of the model with loadings `l`.
    fn implied(l: &DMatrix<f64>) -> DMatrix<f64> {
        let mut c = l * l.transpose();
        for i in 0..c.nrows() {
            c[(i, i)] = 1.0;
        }
        c
    }

    #[test]
    fn one_factor_is_recovered_exactly() {
        let truth = DMatrix::from_column_slice(5, 1, &[0.8, 0.7, 0.5, -0.3, 0.6]);
        let f = fit(&implied(&truth), 1, Rotation::Varimax).unwrap();
        assert!(f.converged);
        for (got, want) in f.loadings.iter().zip(truth.iter()) {
            assert!((got - want).abs() < 1e-6, "{got} {want}");
        }
        assert!(f.rms_residual < 1e-6);
        assert!((f.explained[0] - truth.norm_squared() / 5.0).abs() < 1e-6);
    }

    #[test]
    fn the_sign_convention_makes_loadings_sum_positive() {
        let truth = DMatrix::from_column_slice(4, 1, &[-0.8, -0.7, -0.5, -0.6]);
        let f = fit(&implied(&truth), 1, Rotation::None).unwrap();
        for (got, want) in f.loadings.iter().zip(truth.iter()) {
            assert!((got + want).abs() < 1e-6, "{got} {want}");
        }
    }

    #[test]
    fn varimax_recovers_a_simple_structure_in_order() {
        // Units 0-2 on a strong factor, 3-5 on a weaker one.
        #[rustfmt::skip]
        let truth = DMatrix::from_row_slice(6, 2, &[
            0.85, 0.0,
            0.75, 0.0,
            0.65, 0.0,
            0.0, 0.7,
            0.0, 0.6,
            0.0, 0.5,
        ]);
        let f = fit(&implied(&truth), 2, Rotation::Varimax).unwrap();
        assert!(f.converged);
        for (got, want) in f.loadings.iter().zip(truth.iter()) {
            assert!((got - want).abs() < 1e-5, "{}", f.loadings);
        }
        // Two eigenvalues above 1: the scree says two factors.
        assert_eq!(f.eigenvalues.iter().filter(|&&e| e > 1.0).count(), 2);
        // Unrotated, the same fit reproduces the same correlations.
        let g = fit(&implied(&truth), 2, Rotation::None).unwrap();
        let a = &f.loadings * f.loadings.transpose();
        let b = &g.loadings * g.loadings.transpose();
        assert!((a - b).abs().max() < 1e-6);
    }

    #[test]
    fn communalities_stay_under_the_cap() {
        // Two units that move together perfectly.
        let c = DMatrix::from_row_slice(3, 3, &[1.0, 1.0, 0.5, 1.0, 1.0, 0.5, 0.5, 0.5, 1.0]);
        let f = fit(&c, 1, Rotation::Varimax).unwrap();
        for row in f.loadings.row_iter() {
            assert!(row.norm_squared() <= MAX_COMMUNALITY + 1e-12);
        }
        assert!(!f.capped.is_empty());
    }

    #[test]
    fn correlation_of_columns() {
        let data = DMatrix::from_row_slice(4, 2, &[1.0, 2.0, 2.0, 4.1, 3.0, 5.9, 4.0, 8.0]);
        let c = correlation(&data).unwrap();
        assert!((c[(0, 1)] - 0.999_541).abs() < 1e-5, "{c}");
        assert_eq!(c[(0, 0)], 1.0);
        let flat = DMatrix::from_row_slice(3, 2, &[1.0, 1.0, 2.0, 1.0, 3.0, 1.0]);
        assert!(correlation(&flat).is_none());
    }

    #[test]
    fn degenerate_requests_give_none() {
        let c = DMatrix::<f64>::identity(3, 3);
        assert!(fit(&c, 0, Rotation::Varimax).is_none());
        assert!(fit(&c, 3, Rotation::Varimax).is_none());
        let mut bad = c.clone();
        bad[(0, 1)] = f64::NAN;
        assert!(fit(&bad, 1, Rotation::Varimax).is_none());
    }
}
