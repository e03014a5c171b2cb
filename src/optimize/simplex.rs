//! Nelder-Mead as ask and tell: a simplex says which points it needs
//! scored next and takes their costs, so that several simplexes (and a
//! shrink's points) can be scored in one batch, one generation of the
//! draws ([`super::search`] runs them side by side).

/// What a simplex waits for.
#[derive(Clone, Debug)]
enum Wait {
    /// The costs of its first vertices.
    Start,
    Reflect,
    /// The expansion, after a reflection better than the best vertex.
    Expand {
        xr: Vec<f64>,
        fr: f64,
    },
    /// The outside contraction, after a reflection between the second
    /// worst and the worst.
    Outside {
        fr: f64,
    },
    /// The inside contraction, after a reflection no better than the
    /// worst.
    Inside,
    /// Every vertex but the best, moved halfway to it.
    Shrink,
}

/// Nelder-Mead (reflection 1, expansion 2, contraction 1/2, shrink 1/2)
/// as ask and tell: [`Simplex::ask`] gives the points it needs scored
/// next (one, or the shrink's d at once), [`Simplex::tell`] takes their
/// costs. Vertices are kept sorted by cost, best first (stable: earlier
/// vertices first on ties).
#[derive(Clone, Debug)]
pub struct Simplex {
    points: Vec<Vec<f64>>,
    costs: Vec<f64>,
    wait: Wait,
    asked: Vec<Vec<f64>>,
}

/// Tolerance on the standard deviation of a simplex's costs.
const SD_TOLERANCE: f64 = 1e-9;

impl Simplex {
    /// A simplex of the vertices `points` (d + 1 of them).
    pub fn new(points: Vec<Vec<f64>>) -> Simplex {
        Simplex {
            asked: points.clone(),
            costs: vec![f64::INFINITY; points.len()],
            points,
            wait: Wait::Start,
        }
    }

    /// The points to score next.
    pub fn ask(&self) -> &[Vec<f64>] {
        &self.asked
    }

    /// Whether the costs of the vertices agree to [`SD_TOLERANCE`].
    pub fn converged(&self) -> bool {
        if matches!(self.wait, Wait::Start) {
            return false;
        }
        let n = self.costs.len() as f64;
        let mean = self.costs.iter().sum::<f64>() / n;
        let var = self.costs.iter().map(|c| (c - mean).powi(2)).sum::<f64>() / n;
        var.sqrt() < SD_TOLERANCE || !mean.is_finite()
    }

    /// The best vertex and its cost.
    pub fn best(&self) -> (&[f64], f64) {
        (&self.points[0], self.costs[0])
    }

    fn sort(&mut self) {
        let mut order: Vec<usize> = (0..self.points.len()).collect();
        order.sort_by(|&a, &b| self.costs[a].total_cmp(&self.costs[b]));
        self.points = order.iter().map(|&i| self.points[i].clone()).collect();
        self.costs = order.iter().map(|&i| self.costs[i]).collect();
    }

    /// The centroid of every vertex but the worst.
    fn centroid(&self) -> Vec<f64> {
        let n = self.points.len() - 1;
        let mut c = vec![0.0; self.points[0].len()];
        for p in &self.points[..n] {
            for (ci, pi) in c.iter_mut().zip(p) {
                *ci += pi;
            }
        }
        c.iter_mut().for_each(|v| *v /= n as f64);
        c
    }

    /// c + t (x - c).
    fn toward(c: &[f64], x: &[f64], t: f64) -> Vec<f64> {
        c.iter().zip(x).map(|(c, x)| c + t * (x - c)).collect()
    }

    fn replace_worst(&mut self, x: Vec<f64>, f: f64) {
        let w = self.points.len() - 1;
        self.points[w] = x;
        self.costs[w] = f;
        self.reflect();
    }

    /// Sorts, then asks for the reflection of the worst vertex.
    fn reflect(&mut self) {
        self.sort();
        let c = self.centroid();
        let worst = &self.points[self.points.len() - 1];
        self.asked = vec![Self::toward(&c, worst, -1.0)];
        self.wait = Wait::Reflect;
    }

    fn shrink(&mut self) {
        let best = self.points[0].clone();
        self.asked = self.points[1..]
            .iter()
            .map(|p| Self::toward(&best, p, 0.5))
            .collect();
        self.wait = Wait::Shrink;
    }

    /// Takes the costs of the points of [`Simplex::ask`], in order.
    pub fn tell(&mut self, f: &[f64]) {
        let n = self.points.len();
        let wait = std::mem::replace(&mut self.wait, Wait::Reflect);
        match wait {
            Wait::Start => {
                self.costs = f.to_vec();
                self.reflect();
            }
            Wait::Shrink => {
                let moved = std::mem::take(&mut self.asked);
                for (i, (x, c)) in moved.into_iter().zip(f).enumerate() {
                    self.points[i + 1] = x;
                    self.costs[i + 1] = *c;
                }
                self.reflect();
            }
            Wait::Reflect => {
                let xr = self.asked.remove(0);
                let fr = f[0];
                let c = self.centroid();
                if fr < self.costs[0] {
                    self.asked = vec![Self::toward(&c, &xr, 2.0)];
                    self.wait = Wait::Expand { xr, fr };
                } else if fr < self.costs[n - 2] {
                    self.replace_worst(xr, fr);
                } else if fr < self.costs[n - 1] {
                    self.asked = vec![Self::toward(&c, &xr, 0.5)];
                    self.wait = Wait::Outside { fr };
                } else {
                    self.asked = vec![Self::toward(&c, &self.points[n - 1], 0.5)];
                    self.wait = Wait::Inside;
                }
            }
            Wait::Expand { xr, fr } => {
                let xe = self.asked.remove(0);
                if f[0] < fr {
                    self.replace_worst(xe, f[0]);
                } else {
                    self.replace_worst(xr, fr);
                }
            }
            Wait::Outside { fr, .. } => {
                let xc = self.asked.remove(0);
                if f[0] <= fr {
                    self.replace_worst(xc, f[0]);
                } else {
                    self.shrink();
                }
            }
            Wait::Inside => {
                let xc = self.asked.remove(0);
                if f[0] < self.costs[n - 1] {
                    self.replace_worst(xc, f[0]);
                } else {
                    self.shrink();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Asks and tells until converged; returns the best vertex and the
    /// costs scored.
    fn minimize(f: impl Fn(&[f64]) -> f64, start: Vec<Vec<f64>>) -> (Vec<f64>, usize) {
        let mut s = Simplex::new(start);
        let mut scored = 0;
        while !s.converged() && scored < 5000 {
            let costs: Vec<f64> = s.ask().iter().map(|x| f(x)).collect();
            scored += costs.len();
            s.tell(&costs);
        }
        (s.best().0.to_vec(), scored)
    }

    #[test]
    fn the_simplex_finds_a_quadratics_minimum() {
        let f = |x: &[f64]| (x[0] - 0.3).powi(2) + 2.0 * (x[1] - 0.7).powi(2) + 0.5;
        let (x, scored) = minimize(f, vec![vec![0.5, 0.5], vec![0.6, 0.5], vec![0.5, 0.6]]);
        assert!(
            (x[0] - 0.3).abs() < 1e-3 && (x[1] - 0.7).abs() < 1e-3,
            "{x:?}"
        );
        assert!(scored < 500, "{scored}");
    }

    /// A shrink asks for every vertex but the best at once.
    #[test]
    fn a_shrink_is_one_ask() {
        // Every new point costs more than the worst vertex, so the
        // reflection and the inside contraction fail: a shrink.
        let f = |x: &[f64]| {
            if x == [0.0, 0.0] {
                0.0
            } else if x == [1.0, 0.0] || x == [0.0, 1.0] {
                1.0
            } else {
                5.0
            }
        };
        let mut s = Simplex::new(vec![vec![0.0, 0.0], vec![1.0, 0.0], vec![0.0, 1.0]]);
        let mut asks = Vec::new();
        for _ in 0..3 {
            let costs: Vec<f64> = s.ask().iter().map(|x| f(x)).collect();
            asks.push(costs.len());
            s.tell(&costs);
        }
        assert_eq!(asks, [3, 1, 1]);
        assert_eq!(s.ask().len(), 2);
    }
}
