//! The arithmetic of the shallow CTR models on one row: the logit
//! (LR, Poly2, FM, FFM), its gradient, and the per-coordinate optimizer
//! steps (SGD, Adagrad, FTRL-Proximal).
//!
//! Parameters live in one flat vector `θ`: `[bias | w (n_features) |
//! crosses (Poly2's buckets) | latent]`, latent = `V [n_features × k]` (FM)
//! or `V [n_features × n_fields × k]` (FFM: feature i's vector for field b
//! at `(i·F + b)·k`).

use super::layout::{Feat, crosses};
use super::{CtrOptimizer, ShallowKind};

/// The geometry of `θ`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Geometry {
    pub kind: ShallowKind,
    pub n_features: usize,
    pub n_fields: usize,
    /// Latent dimension (FM, FFM).
    pub k: usize,
    /// Poly2's cross buckets (0 for the others).
    pub cross_buckets: usize,
}

impl Geometry {
    pub fn new(
        kind: ShallowKind,
        n_features: usize,
        n_fields: usize,
        k: usize,
        buckets: usize,
    ) -> Self {
        Geometry {
            kind,
            n_features,
            n_fields,
            k: match kind {
                ShallowKind::Fm | ShallowKind::Ffm => k,
                // m regions: a gate weight and a region weight per feature.
                ShallowKind::Lsplm => 2 * k,
                _ => 0,
            },
            cross_buckets: if kind == ShallowKind::Poly2 {
                buckets
            } else {
                0
            },
        }
    }
    /// Start of Poly2's cross weights.
    pub fn cross_off(&self) -> usize {
        1 + self.n_features
    }
    /// End of the linear part (bias, weights, crosses) = start of latent.
    pub fn lin_end(&self) -> usize {
        1 + self.n_features + self.cross_buckets
    }
    /// Latent blocks of `k` values.
    pub fn n_blocks(&self) -> usize {
        match self.kind {
            ShallowKind::Fm => self.n_features,
            ShallowKind::Ffm => self.n_features * self.n_fields,
            // One block per feature, then the regions' biases.
            ShallowKind::Lsplm => self.n_features + 1,
            _ => 0,
        }
    }
    /// Length of `θ`, `None` when it overflows.
    pub fn checked_n_params(&self) -> Option<usize> {
        let lin = self.n_features.checked_add(1 + self.cross_buckets)?;
        let blocks = match self.kind {
            ShallowKind::Fm => self.n_features,
            ShallowKind::Ffm => self.n_features.checked_mul(self.n_fields)?,
            ShallowKind::Lsplm => self.n_features.checked_add(1)?,
            _ => 0,
        };
        lin.checked_add(blocks.checked_mul(self.k)?)
    }
    /// Length of `θ`.
    pub fn n_params(&self) -> usize {
        self.lin_end() + self.n_blocks() * self.k
    }
    fn pooled_len(&self) -> usize {
        match self.kind {
            ShallowKind::Fm => (self.n_fields + 1) * self.k,
            ShallowKind::Ffm => self.n_fields * self.n_fields * self.k,
            // a (m), b (m), gate g (m), σ(b) (m), then p.
            ShallowKind::Lsplm => 2 * self.k + 1,
            _ => 0,
        }
    }
}

/// Per-thread buffers of one row.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scratch {
    pub feats: Vec<Feat>,
    crosses: Vec<(u32, f32)>,
    /// FM: the field sums `e_f [F × k]` then their total `S [k]`; FFM: `P
    /// [F × F × k]`, `P[a][b] = Σ_{i∈a} x_i v_{i,b}`.
    pooled: Vec<f32>,
}

#[inline]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The logit of the row in `s.feats` (filling `s`'s caches for
/// [`backward`]).
///
/// FM: `b + Σ wᵢxᵢ + ½ Σ_d [(Σ_f e_fd)² − Σ_f e_fd²]` with the field sums
/// `e_f = Σ_{i∈f} xᵢvᵢ` (Rendle's O(k·n) form over fields: pairs of
/// features of different fields, as FuxiCTR pools multi-valued fields);
/// FFM: `b + Σ wᵢxᵢ + Σ_{a<b} ⟨P[a][b], P[b][a]⟩`.
pub(crate) fn logit(g: &Geometry, theta: &[f32], s: &mut Scratch) -> f32 {
    let (k, nf, v0) = (g.k, g.n_fields, g.lin_end());
    if g.kind == ShallowKind::Lsplm {
        return lsplm_logit(g, theta, s);
    }
    let mut z = theta[0];
    for f in &s.feats {
        z += theta[1 + f.index as usize] * f.value;
    }
    match g.kind {
        ShallowKind::Lr | ShallowKind::Lsplm => {}
        ShallowKind::Poly2 => {
            crosses(&s.feats, g.cross_buckets, &mut s.crosses);
            let c0 = g.cross_off();
            for &(b, x) in &s.crosses {
                z += theta[c0 + b as usize] * x;
            }
        }
        ShallowKind::Fm => {
            s.pooled.clear();
            s.pooled.resize(g.pooled_len(), 0.0);
            for f in &s.feats {
                let v = &theta[v0 + f.index as usize * k..][..k];
                let e = &mut s.pooled[f.field as usize * k..][..k];
                for (e, v) in e.iter_mut().zip(v) {
                    *e += f.value * v;
                }
            }
            let (fields, total) = s.pooled.split_at_mut(nf * k);
            let mut squares = 0.0;
            for e in fields.chunks_exact(k) {
                for (t, x) in total.iter_mut().zip(e) {
                    *t += x;
                }
                squares += dot(e, e);
            }
            z += 0.5 * (dot(total, total) - squares);
        }
        ShallowKind::Ffm => {
            s.pooled.clear();
            s.pooled.resize(g.pooled_len(), 0.0);
            for f in &s.feats {
                let a = f.field as usize;
                let v = &theta[v0 + f.index as usize * nf * k..][..nf * k];
                let p = &mut s.pooled[a * nf * k..][..nf * k];
                for (p, v) in p.iter_mut().zip(v) {
                    *p += f.value * v;
                }
            }
            let p = &s.pooled;
            for a in 0..nf {
                for b in a + 1..nf {
                    z += dot(&p[(a * nf + b) * k..][..k], &p[(b * nf + a) * k..][..k]);
                }
            }
        }
    }
    z
}

/// LS-PLM (Gai et al. 2017): `p = Σᵢ softmax(a)ᵢ σ(bᵢ)` with the gate
/// `aᵢ = Σ xⱼ u_{j,i} + u_{0,i}` and the region's logistic model
/// `bᵢ = Σ xⱼ w_{j,i} + w_{0,i}`, over `m` regions; returned as the logit
/// `ln(p / (1 − p))` (p clipped to [1e-7, 1 − 1e-7]).
fn lsplm_logit(g: &Geometry, theta: &[f32], s: &mut Scratch) -> f32 {
    let (k, v0) = (g.k, g.lin_end());
    let m = k / 2;
    s.pooled.clear();
    s.pooled.resize(g.pooled_len(), 0.0);
    let bias = &theta[v0 + g.n_features * k..][..k];
    s.pooled[..k].copy_from_slice(bias);
    for f in &s.feats {
        let v = &theta[v0 + f.index as usize * k..][..k];
        for (o, v) in s.pooled[..k].iter_mut().zip(v) {
            *o += f.value * v;
        }
    }
    let (ab, rest) = s.pooled.split_at_mut(k);
    let (gs, p) = rest.split_at_mut(k);
    let top = ab[..m].iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut total = 0.0;
    for i in 0..m {
        gs[i] = (ab[i] - top).exp();
        total += gs[i];
    }
    let mut prob = 0.0;
    for i in 0..m {
        gs[i] /= total;
        gs[m + i] = 1.0 / (1.0 + (-ab[m + i]).exp());
        prob += gs[i] * gs[m + i];
    }
    let prob = prob.clamp(1e-7, 1.0 - 1e-7);
    p[0] = prob;
    (prob / (1.0 - prob)).ln()
}

/// Gradients of a batch, accumulated per coordinate; each coordinate is
/// listed once per step (stamps, so nothing is cleared between steps).
#[derive(Debug, Clone)]
pub(crate) struct Grads {
    g: Vec<f32>,
    lin_stamp: Vec<u32>,
    lat_stamp: Vec<u32>,
    lin: Vec<u32>,
    lat: Vec<u32>,
    stamp: u32,
}

impl Grads {
    pub fn new(geo: &Geometry) -> Grads {
        Grads {
            g: vec![0.0; geo.n_params()],
            lin_stamp: vec![0; geo.lin_end()],
            lat_stamp: vec![0; geo.n_blocks()],
            lin: Vec::new(),
            lat: Vec::new(),
            stamp: 1,
        }
    }

    #[inline]
    fn lin(&mut self, c: usize, v: f32) {
        if self.lin_stamp[c] != self.stamp {
            self.lin_stamp[c] = self.stamp;
            self.lin.push(c as u32);
            self.g[c] = 0.0;
        }
        self.g[c] += v;
    }

    /// The `k` gradient values of latent block `blk` (zeroed on first touch).
    #[inline]
    fn lat(&mut self, blk: usize, v0: usize, k: usize) -> &mut [f32] {
        let s = &mut self.g[v0 + blk * k..][..k];
        if self.lat_stamp[blk] != self.stamp {
            self.lat_stamp[blk] = self.stamp;
            self.lat.push(blk as u32);
            s.fill(0.0);
        }
        s
    }
}

/// Adds `dz · ∂logit/∂θ` of the row in `s` (after [`logit`]) to `grads`.
pub(crate) fn backward(g: &Geometry, theta: &[f32], s: &Scratch, dz: f32, grads: &mut Grads) {
    if g.kind == ShallowKind::Lsplm {
        // ∂L/∂p = dz / (p(1 − p)); ∂p/∂aᵢ = gᵢ(σᵢ − p), ∂p/∂bᵢ = gᵢσᵢ(1 − σᵢ).
        let (k, v0) = (g.k, g.lin_end());
        let m = k / 2;
        let (gs, p) = (&s.pooled[k..2 * k], s.pooled[2 * k]);
        let c = dz / (p * (1.0 - p));
        let mut d = [0.0f32; 2 * MAX_REGIONS];
        for i in 0..m {
            d[i] = c * gs[i] * (gs[m + i] - p);
            d[m + i] = c * gs[i] * gs[m + i] * (1.0 - gs[m + i]);
        }
        let out = grads.lat(g.n_features, v0, k);
        for (o, d) in out.iter_mut().zip(&d) {
            *o += d;
        }
        for f in &s.feats {
            let out = grads.lat(f.index as usize, v0, k);
            for (o, d) in out.iter_mut().zip(&d) {
                *o += f.value * d;
            }
        }
        return;
    }
    grads.lin(0, dz);
    for f in &s.feats {
        grads.lin(1 + f.index as usize, dz * f.value);
    }
    let (k, nf, v0) = (g.k, g.n_fields, g.lin_end());
    match g.kind {
        ShallowKind::Lr | ShallowKind::Lsplm => {}
        ShallowKind::Poly2 => {
            let c0 = g.cross_off();
            for &(b, x) in &s.crosses {
                grads.lin(c0 + b as usize, dz * x);
            }
        }
        ShallowKind::Fm => {
            // ∂/∂vᵢ = xᵢ (S − e_{f(i)}).
            let (fields, total) = s.pooled.split_at(nf * k);
            for f in &s.feats {
                let e = &fields[f.field as usize * k..][..k];
                let c = dz * f.value;
                let out = grads.lat(f.index as usize, v0, k);
                for ((o, t), e) in out.iter_mut().zip(total).zip(e) {
                    *o += c * (t - e);
                }
            }
        }
        ShallowKind::Ffm => {
            // ∂/∂v_{i,b} = xᵢ P[b][a] for b ≠ a = field(i).
            let p = &s.pooled;
            for f in &s.feats {
                let a = f.field as usize;
                let c = dz * f.value;
                for b in (0..nf).filter(|&b| b != a) {
                    let q = &p[(b * nf + a) * k..][..k];
                    let out = grads.lat(f.index as usize * nf + b, v0, k);
                    for (o, q) in out.iter_mut().zip(q) {
                        *o += c * q;
                    }
                }
            }
        }
    }
    let _ = theta;
}

/// The most regions LS-PLM takes.
pub(crate) const MAX_REGIONS: usize = 64;

/// Regularization and step sizes of [`apply`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Step {
    pub optimizer: CtrOptimizer,
    pub l1: f32,
    pub l2: f32,
    pub factor_l2: f32,
    /// LS-PLM's L2,1: the group norm of each feature's 2m weights.
    pub l21: f32,
}

#[inline]
fn soft(w: f32, t: f32) -> f32 {
    if w > t {
        w - t
    } else if w < -t {
        w + t
    } else {
        0.0
    }
}

/// One optimizer step over every coordinate `grads` touched, with the
/// gradient scaled by `scale` (1 / rows of the batch); starts the next
/// step. `s1`, `s2`: the optimizer's per-coordinate state (Adagrad: the
/// squared-gradient sum, starting at 1 as libffm's; FTRL: `z` and `n` of
/// the linear part, the latent part by Adagrad with `α` as its rate).
/// One step of linear coordinate `c` with gradient `g` (the bias, `c` =
/// 0, never regularized).
#[inline]
fn update_linear(step: &Step, theta: &mut [f32], s1: &mut [f32], s2: &mut [f32], c: usize, g: f32) {
    let (l1, l2) = if c == 0 {
        (0.0, 0.0)
    } else {
        (step.l1, step.l2)
    };
    let w = theta[c];
    theta[c] = match step.optimizer {
        CtrOptimizer::Sgd { learning_rate } => {
            soft(w - learning_rate * (g + l2 * w), learning_rate * l1)
        }
        CtrOptimizer::Adagrad { learning_rate } => {
            let g = g + l2 * w;
            s1[c] += g * g;
            let eta = learning_rate / s1[c].sqrt();
            soft(w - eta * g, eta * l1)
        }
        CtrOptimizer::Ftrl { alpha, beta } => {
            // McMahan et al. 2013, Algorithm 1.
            let n = s2[c];
            let sigma = ((n + g * g).sqrt() - n.sqrt()) / alpha;
            s1[c] += g - sigma * w;
            s2[c] = n + g * g;
            let z = s1[c];
            if z.abs() <= l1 {
                0.0
            } else {
                -(z - z.signum() * l1) / ((beta + s2[c].sqrt()) / alpha + l2)
            }
        }
    };
}

/// The latent vectors' rate and whether it is per coordinate (Adagrad, and
/// FTRL's latent part) or constant (SGD).
#[inline]
fn latent_rate(step: &Step) -> (f32, bool) {
    match step.optimizer {
        CtrOptimizer::Sgd { learning_rate } => (learning_rate, false),
        CtrOptimizer::Adagrad { learning_rate } => (learning_rate, true),
        CtrOptimizer::Ftrl { alpha, .. } => (alpha, true),
    }
}

/// The per-sample step of FM and FFM without the gradient buffer: every
/// coordinate the row touches is touched once (one-hot and dense fields: no
/// feature twice), so updating θ as each gradient is computed gives the same
/// bits as [`backward`] then [`apply`] (tested), with a third of the memory
/// traffic. `s` holds the row after [`logit`]; its caches are from before
/// the step.
pub(crate) fn step_in_place(
    geo: &Geometry,
    step: &Step,
    theta: &mut [f32],
    s1: &mut [f32],
    s2: &mut [f32],
    s: &Scratch,
    dz: f32,
) {
    update_linear(step, theta, s1, s2, 0, dz);
    for f in &s.feats {
        update_linear(step, theta, s1, s2, 1 + f.index as usize, dz * f.value);
    }
    let (k, nf, v0) = (geo.k, geo.n_fields, geo.lin_end());
    let (rate, adaptive) = latent_rate(step);
    // One latent block: gradient `c · q[d]` per coordinate; the same
    // operations, in the same order, as `apply`.
    let mut update = |o: usize, c: f32, q: &mut dyn Iterator<Item = f32>| {
        for (d, q) in q.enumerate() {
            let i = o + d;
            let g = c * q + step.factor_l2 * theta[i];
            let eta = if adaptive {
                s1[i] += g * g;
                rate / s1[i].sqrt()
            } else {
                rate
            };
            theta[i] -= eta * g;
        }
    };
    match geo.kind {
        ShallowKind::Fm => {
            // ∂/∂vᵢ = xᵢ (S − e_{f(i)}).
            let (fields, total) = s.pooled.split_at(nf * k);
            for f in &s.feats {
                let e = &fields[f.field as usize * k..][..k];
                let mut q = total.iter().zip(e).map(|(t, e)| t - e);
                update(v0 + f.index as usize * k, dz * f.value, &mut q);
            }
        }
        ShallowKind::Ffm => {
            // ∂/∂v_{i,b} = xᵢ P[b][a] for b ≠ a = field(i).
            let p = &s.pooled;
            for f in &s.feats {
                let a = f.field as usize;
                for b in (0..nf).filter(|&b| b != a) {
                    let mut q = p[(b * nf + a) * k..][..k].iter().copied();
                    update(v0 + (f.index as usize * nf + b) * k, dz * f.value, &mut q);
                }
            }
        }
        _ => unreachable!("only FM and FFM step in place"),
    }
}

pub(crate) fn apply(
    geo: &Geometry,
    step: &Step,
    theta: &mut [f32],
    s1: &mut [f32],
    s2: &mut [f32],
    grads: &mut Grads,
    scale: f32,
) {
    for &c in &grads.lin {
        let c = c as usize;
        update_linear(step, theta, s1, s2, c, grads.g[c] * scale);
    }
    let (k, v0) = (geo.k, geo.lin_end());
    let (rate, adaptive) = latent_rate(step);
    // LS-PLM: L1 per weight and L2,1 per feature (proximal steps), never
    // on the regions' biases (the last block).
    let group = geo.kind == ShallowKind::Lsplm;
    for &blk in &grads.lat {
        let o = v0 + blk as usize * k;
        let regularized = group && (blk as usize) < geo.n_features;
        let mut eta_sum = 0.0;
        for c in o..o + k {
            let g = grads.g[c] * scale + step.factor_l2 * theta[c];
            let eta = if adaptive {
                s1[c] += g * g;
                rate / s1[c].sqrt()
            } else {
                rate
            };
            theta[c] -= eta * g;
            if regularized {
                theta[c] = soft(theta[c], eta * step.l1);
                eta_sum += eta;
            }
        }
        if regularized && step.l21 > 0.0 {
            let row = &mut theta[o..o + k];
            let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt();
            let shrink = eta_sum / k as f32 * step.l21;
            let keep = if norm > shrink {
                1.0 - shrink / norm
            } else {
                0.0
            };
            row.iter_mut().for_each(|v| *v *= keep);
        }
    }
    grads.lin.clear();
    grads.lat.clear();
    grads.stamp = grads.stamp.wrapping_add(1).max(1);
    if grads.stamp == 1 {
        grads.lin_stamp.fill(0);
        grads.lat_stamp.fill(0);
    }
}

/// The initial optimizer state: Adagrad's sums start at 1, FTRL's `z`,
/// `n` at 0 (its latent sums at 1).
pub(crate) fn initial_state(geo: &Geometry, optimizer: CtrOptimizer) -> (Vec<f32>, Vec<f32>) {
    let n = geo.n_params();
    match optimizer {
        CtrOptimizer::Sgd { .. } => (Vec::new(), Vec::new()),
        CtrOptimizer::Adagrad { .. } => (vec![1.0; n], Vec::new()),
        CtrOptimizer::Ftrl { .. } => {
            let mut s1 = vec![0.0; n];
            s1[geo.lin_end()..].fill(1.0);
            (s1, vec![0.0; geo.lin_end()])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feats(list: &[(u32, u16, f32)]) -> Scratch {
        Scratch {
            feats: list
                .iter()
                .map(|&(index, field, value)| Feat {
                    index,
                    field,
                    value,
                })
                .collect(),
            ..Scratch::default()
        }
    }

    fn theta(geo: &Geometry, seed: u32) -> Vec<f32> {
        (0..geo.n_params())
            .map(|i| (((i as u32).wrapping_mul(2_654_435_761) ^ seed) % 1000) as f32 / 1000.0 - 0.5)
            .collect()
    }

    #[test]
    fn fm_fast_form_equals_the_pairwise_sum() {
        let geo = Geometry::new(ShallowKind::Fm, 9, 4, 3, 0);
        let t = theta(&geo, 7);
        // Field 2 has two features (a multi-valued field): their pair is
        // not an interaction, every cross-field pair is.
        let list = [
            (1, 0, 1.0),
            (4, 1, 0.5),
            (5, 2, 0.5),
            (6, 2, 0.5),
            (8, 3, 0.3),
        ];
        let mut s = feats(&list);
        let fast = logit(&geo, &t, &mut s);
        let v = |i: u32| &t[geo.lin_end() + i as usize * 3..][..3];
        let mut slow = t[0];
        for (a, &(i, fi, xi)) in list.iter().enumerate() {
            slow += t[1 + i as usize] * xi;
            for &(j, fj, xj) in &list[a + 1..] {
                if fi != fj {
                    slow += dot(v(i), v(j)) * xi * xj;
                }
            }
        }
        assert!((fast - slow).abs() < 1e-5, "{fast} vs {slow}");
    }

    #[test]
    fn ffm_on_two_fields_equals_its_hand_computed_value() {
        // Two fields, one feature each: z = b + w0·x0 + w1·x1 + ⟨v_{0,1}, v_{1,0}⟩ x0 x1.
        let geo = Geometry::new(ShallowKind::Ffm, 2, 2, 2, 0);
        let mut t = vec![0.0; geo.n_params()];
        t[0] = 0.5; // bias
        t[1] = 1.0; // w0
        t[2] = -2.0; // w1
        // v_{0,0}, v_{0,1}, v_{1,0}, v_{1,1} (k = 2 each).
        t[3..11].copy_from_slice(&[9.0, 9.0, 1.0, 2.0, 3.0, 4.0, 9.0, 9.0]);
        let mut s = feats(&[(0, 0, 2.0), (1, 1, 0.5)]);
        // 0.5 + 2 − 1 + (1·3 + 2·4)·2·0.5 = 12.5
        assert_eq!(logit(&geo, &t, &mut s), 12.5);
    }

    #[test]
    fn lsplm_with_one_region_is_logistic_regression() {
        let lr = Geometry::new(ShallowKind::Lr, 9, 4, 0, 0);
        let plm = Geometry::new(ShallowKind::Lsplm, 9, 4, 1, 0);
        let t = theta(&lr, 5);
        // The same weights: LR's w_j as region 1's w_j, LR's bias as its bias.
        let mut u = vec![0.0; plm.n_params()];
        for j in 0..9 {
            u[plm.lin_end() + j * 2] = 0.3; // gate weight: irrelevant with one region
            u[plm.lin_end() + j * 2 + 1] = t[1 + j];
        }
        u[plm.lin_end() + 9 * 2 + 1] = t[0];
        let list = [(1, 0, 1.0), (4, 1, 0.5), (8, 3, 0.3)];
        let (a, b) = (
            logit(&lr, &t, &mut feats(&list)),
            logit(&plm, &u, &mut feats(&list)),
        );
        assert!((a - b).abs() < 1e-4, "{a} vs {b}");
    }

    #[test]
    fn gradients_match_finite_differences() {
        for kind in [
            ShallowKind::Lr,
            ShallowKind::Poly2,
            ShallowKind::Fm,
            ShallowKind::Ffm,
            ShallowKind::Lsplm,
        ] {
            let geo = Geometry::new(kind, 9, 4, 3, 16);
            let t = theta(&geo, 3);
            let list = [
                (1, 0, 1.0),
                (4, 1, 0.5),
                (5, 2, 0.5),
                (6, 2, 0.5),
                (8, 3, 0.3),
            ];
            let mut s = feats(&list);
            logit(&geo, &t, &mut s);
            let mut grads = Grads::new(&geo);
            backward(&geo, &t, &s, 1.0, &mut grads);
            let touched: Vec<usize> = grads
                .lin
                .iter()
                .map(|&c| c as usize)
                .chain(grads.lat.iter().flat_map(|&b| {
                    let o = geo.lin_end() + b as usize * geo.k;
                    o..o + geo.k
                }))
                .collect();
            for c in touched {
                let mut tp = t.clone();
                tp[c] += 1e-2;
                let mut tm = t.clone();
                tm[c] -= 1e-2;
                let num = (logit(&geo, &tp, &mut feats(&list))
                    - logit(&geo, &tm, &mut feats(&list)))
                    / 2e-2;
                assert!(
                    (num - grads.g[c]).abs() < 2e-3,
                    "{kind:?} θ[{c}]: {num} vs {}",
                    grads.g[c]
                );
            }
        }
    }
}
