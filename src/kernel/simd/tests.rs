use super::*;
use rand::RngCore;

fn args(n: usize, lo: f64, hi: f64) -> Vec<f64> {
    let mut s = 7u64;
    (0..n)
        .map(|_| {
            s = crate::kernel::rng::mix(s);
            lo + (hi - lo) * ((s >> 11) as f64 / (1u64 << 53) as f64)
        })
        .collect()
}

fn same(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

/// Every operation of a backend, lane by lane, against scalar f64.
fn check_backend<V: Vf64<Lane = Lane>>(t: V::Token) {
    let mut xs = args(4000, -30.0, 30.0);
    xs.extend([
        0.0,
        -0.0,
        f64::NAN,
        f64::INFINITY,
        -f64::INFINITY,
        600.0,
        -800.0,
        1e-310,
    ]);
    let ys = args(xs.len(), -3.0, 3.0);
    for (xc, yc) in xs.chunks_exact(W).zip(ys.chunks_exact(W)) {
        let (x, y): (Lane, Lane) = (xc.try_into().unwrap(), yc.try_into().unwrap());
        let (vx, vy) = (V::load(t, &x), V::load(t, &y));
        let out = |v: V| {
            let mut a = [0.0; W];
            v.store(&mut a);
            a
        };
        for j in 0..W {
            let (a, b) = (x[j], y[j]);
            assert!(same(out(vx.add(vy))[j], a + b));
            assert!(same(out(vx.sub(vy))[j], a - b));
            assert!(same(out(vx.mul(vy))[j], a * b));
            assert!(same(out(vx.div(vy))[j], a / b));
            assert!(same(out(vx.sqrt())[j], a.sqrt()));
            assert!(same(out(vx.max(vy))[j], if a > b { a } else { b }));
            assert!(same(out(vx.abs())[j], a.abs()));
            assert!(same(out(exp(vx))[j], math::exp(a)), "exp({a})");
            assert_eq!(is_set(out(vx.lt(vy))[j]), a < b);
            assert_eq!(is_set(out(vx.le(vy))[j]), a <= b);
            assert_eq!(is_set(out(vx.eq(vy))[j]), a == b);
            let m = vx.lt(vy);
            assert!(same(
                out(V::select(m, vx, vy))[j],
                if a < b { a } else { b }
            ));
            let n = vx.le(V::splat(t, 0.0));
            assert_eq!(is_set(out(m.and(n))[j]), a < b && a <= 0.0);
            assert_eq!(
                is_set(out(m.andnot(n))[j]),
                (a >= b || a.is_nan() || b.is_nan()) && a <= 0.0
            );
        }
        let m = vx.lt(vy);
        assert_eq!(m.any(), (0..W).any(|j| x[j] < y[j]));
        assert_eq!(m.all(), (0..W).all(|j| x[j] < y[j]));
    }
}

#[test]
fn portable_matches_scalar() {
    check_backend::<Portable>(());
}

/// Draws of a backend, lane by lane, against rand_distr and rand on
/// rand_xoshiro's generator (enough draws to take every slow path).
fn check_draws<V: Vf64<Lane = Lane>>(t: V::Token) {
    use crate::kernel::rng::{trial_rng, trial_state};
    use rand::Rng;
    let seed = 99;
    let mut lanes = RngLanes::new(std::array::from_fn(|j| trial_state(seed, j as u64)));
    let mut refs: Vec<_> = (0..W).map(|j| trial_rng(seed, j as u64)).collect();
    let out = |v: V| {
        let mut a = [0.0; W];
        v.store(&mut a);
        a
    };
    for k in 0..100_000 {
        match k % 4 {
            0 | 1 => {
                let z = out(V::normal(t, &mut lanes));
                for (j, r) in refs.iter_mut().enumerate() {
                    let want: f64 = r.sample(StandardNormal);
                    assert_eq!(z[j].to_bits(), want.to_bits(), "normal {k} lane {j}");
                }
            }
            2 => {
                let u = out(V::uniform(t, &mut lanes));
                for (j, r) in refs.iter_mut().enumerate() {
                    let want: f64 = r.random();
                    assert_eq!(u[j].to_bits(), want.to_bits(), "uniform {k} lane {j}");
                }
            }
            _ => {
                let pick = [k % 3 == 0, true, k % 5 == 0, false];
                let mask = V::load(t, &pick.map(mask));
                let z = out(V::normal_where(&mut lanes, mask));
                for (j, r) in refs.iter_mut().enumerate() {
                    let want: f64 = if pick[j] {
                        r.sample(StandardNormal)
                    } else {
                        0.0
                    };
                    assert_eq!(z[j].to_bits(), want.to_bits(), "masked {k} lane {j}");
                }
            }
        }
    }
    for (j, r) in refs.iter_mut().enumerate() {
        assert_eq!(lanes.lane(j).next_u64(), r.next_u64(), "lane {j} in step");
    }
}

#[test]
fn portable_draws_match_rand_distr() {
    check_draws::<Portable>(());
}

#[cfg(target_arch = "x86_64")]
#[test]
fn avx2_draws_match_rand_distr() {
    if let Some(t) = Avx2Token::detect() {
        check_draws::<Avx2>(t);
    }
}

#[cfg(target_arch = "x86_64")]
#[test]
fn avx2_matches_scalar() {
    if let Some(t) = Avx2Token::detect() {
        check_backend::<Avx2>(t);
    }
}

/// Width 1 against width 4: every operation of the `Scalar` backend gives
/// the bits the portable backend gives in each lane (masks included), and
/// its draws are each lane's stream's (the trial is one code at both
/// widths, so this is what makes the reference and the batch agree).
#[test]
fn scalar_matches_the_lanes() {
    let xs = args(4096, -800.0, 800.0);
    let ys = args(4096, -3.0, 3.0);
    let lanes = |v: Portable| {
        let mut a = [0.0; W];
        v.store(&mut a);
        a
    };
    let one = |v: Scalar| {
        let mut a = 0.0;
        v.store(&mut a);
        a
    };
    let bits = |a: f64| a.to_bits();
    for (xc, yc) in xs.chunks_exact(W).zip(ys.chunks_exact(W)) {
        let (x, y): (Lane, Lane) = (xc.try_into().unwrap(), yc.try_into().unwrap());
        let (px, py) = (Portable::load((), &x), Portable::load((), &y));
        for j in 0..W {
            let (sx, sy) = (Scalar::load((), &x[j]), Scalar::load((), &y[j]));
            let pairs = [
                (one(sx.add(sy)), lanes(px.add(py))[j]),
                (one(sx.sub(sy)), lanes(px.sub(py))[j]),
                (one(sx.mul(sy)), lanes(px.mul(py))[j]),
                (one(sx.div(sy)), lanes(px.div(py))[j]),
                (one(sx.sqrt()), lanes(px.sqrt())[j]),
                (one(sx.max(sy)), lanes(px.max(py))[j]),
                (one(sx.abs()), lanes(px.abs())[j]),
                (one(exp(sx)), lanes(exp(px))[j]),
                (one(sx.lt(sy)), lanes(px.lt(py))[j]),
                (one(sx.le(sy)), lanes(px.le(py))[j]),
                (one(sx.eq(sy)), lanes(px.eq(py))[j]),
                (
                    one(Scalar::select(sx.lt(sy), sx, sy)),
                    lanes(Portable::select(px.lt(py), px, py))[j],
                ),
                (
                    one(sx.lt(sy).andnot(sx.le(Scalar::splat((), 0.0)))),
                    lanes(px.lt(py).andnot(px.le(Portable::splat((), 0.0))))[j],
                ),
            ];
            for (k, (a, b)) in pairs.into_iter().enumerate() {
                assert_eq!(bits(a), bits(b), "operation {k} of ({}, {})", x[j], y[j]);
            }
            assert_eq!(sx.lt(sy).any(), x[j] < y[j]);
            assert_eq!(sx.lt(sy).all(), x[j] < y[j]);
        }
    }
    use crate::kernel::rng::{trial_rng, trial_state, Xoshiro};
    use rand::Rng;
    let mut s = Xoshiro(trial_state(5, 3));
    let mut r = trial_rng(5, 3);
    for k in 0..20_000 {
        let (got, want): (f64, f64) = match k % 3 {
            0 => (one(Scalar::normal((), &mut s)), r.sample(StandardNormal)),
            1 => (one(Scalar::uniform((), &mut s)), r.random()),
            _ => {
                let m = Scalar::splat((), mask(k % 2 == 0));
                let want = if k % 2 == 0 {
                    r.sample(StandardNormal)
                } else {
                    0.0
                };
                (one(Scalar::normal_where(&mut s, m)), want)
            }
        };
        assert_eq!(bits(got), bits(want), "draw {k}");
    }
    assert_eq!(s.next_u64(), r.next_u64(), "the stream in step");
}
