//! Small SIMD-friendly kernels, compiled twice where it pays: once for any
//! x86-64 (or other) CPU and once inside `#[target_feature(enable =
//! "avx2,fma")]` functions chosen at run time. Everything here is
//! `#[inline(always)]` and closure-free, because closures do not inherit the
//! caller's target features.

/// `a·b + c`, fused or not (the kernels are compiled once for each).
pub(crate) trait MulAdd {
    fn mul_add(a: f32, b: f32, c: f32) -> f32;
}

/// Separate multiply and add (any CPU).
pub(crate) struct Plain;
impl MulAdd for Plain {
    #[inline(always)]
    fn mul_add(a: f32, b: f32, c: f32) -> f32 {
        a * b + c
    }
}

/// One fused multiply-add instruction (inside `target_feature(fma)` code).
#[cfg(target_arch = "x86_64")]
pub(crate) struct Fused;
#[cfg(target_arch = "x86_64")]
impl MulAdd for Fused {
    #[inline(always)]
    fn mul_add(a: f32, b: f32, c: f32) -> f32 {
        a.mul_add(b, c)
    }
}

/// `out += w · v`, always inlined.
#[inline(always)]
pub(crate) fn axpy<M: MulAdd>(w: f32, v: &[f32], out: &mut [f32]) {
    for (o, x) in out.iter_mut().zip(v) {
        *o = M::mul_add(w, *x, *o);
    }
}

/// Dot product, always inlined (so it takes the caller's target features):
/// 32 lanes in four independent 8-wide accumulators, then a tree sum.
#[inline(always)]
pub(crate) fn dot_inline<M: MulAdd>(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0f32; 32];
    let (ca, cb) = (a.chunks_exact(32), b.chunks_exact(32));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..32 {
            acc[k] = M::mul_add(x[k], y[k], acc[k]);
        }
    }
    let mut v = [0f32; 8];
    for k in 0..8 {
        v[k] = (acc[k] + acc[k + 8]) + (acc[k + 16] + acc[k + 24]);
    }
    let mut s = ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7]));
    for (x, y) in ra.iter().zip(rb) {
        s = M::mul_add(*x, *y, s);
    }
    s
}
