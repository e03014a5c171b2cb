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
