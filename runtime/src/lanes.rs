//! Four `f32` lanes: WebAssembly SIMD (`simd128`) in wasm builds, a plain array elsewhere
//! (which compilers turn into the target's own vector instructions).
//!
//! The scoring loops ([`crate::kernel`], [`crate::code_kernel`]) are written with it and
//! an explicit number of accumulators, so that each hidden layer stays in vector
//! registers: left to itself, the compiler's WebAssembly kept twice as many accumulators
//! as an engine has registers and spilled them on every step.

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod imp {
    use core::arch::wasm32::{f32x4_add, f32x4_extract_lane, f32x4_mul, f32x4_pmax, f32x4_splat, v128, v128_load};

    /// Four `f32` lanes in one `v128`.
    #[derive(Clone, Copy)]
    pub struct F32x4(v128);

    impl F32x4 {
        #[inline(always)]
        pub fn load(x: &[f32; 4]) -> Self {
            // SAFETY: `x` is 16 readable bytes, and `v128.load` has no alignment requirement.
            Self(unsafe { v128_load(x.as_ptr().cast()) })
        }

        #[inline(always)]
        pub fn splat(x: f32) -> Self {
            Self(f32x4_splat(x))
        }

        #[inline(always)]
        pub fn add(self, other: Self) -> Self {
            Self(f32x4_add(self.0, other.0))
        }

        /// `self + a · b` (two roundings, as without FMA everywhere).
        #[inline(always)]
        pub fn mul_add(self, a: Self, b: Self) -> Self {
            Self(f32x4_add(self.0, f32x4_mul(a.0, b.0)))
        }

        /// `max(x, 0)` per lane; NaN becomes 0, as `f32::max(x, 0.0)` does.
        #[inline(always)]
        pub fn relu(self) -> Self {
            Self(f32x4_pmax(f32x4_splat(0.0), self.0))
        }

        #[inline(always)]
        pub fn to_array(self) -> [f32; 4] {
            [
                f32x4_extract_lane::<0>(self.0),
                f32x4_extract_lane::<1>(self.0),
                f32x4_extract_lane::<2>(self.0),
                f32x4_extract_lane::<3>(self.0),
            ]
        }
    }
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod imp {
    /// Four `f32` lanes as a plain array.
    #[derive(Clone, Copy)]
    pub struct F32x4([f32; 4]);

    impl F32x4 {
        #[inline(always)]
        pub fn load(x: &[f32; 4]) -> Self {
            Self(*x)
        }

        #[inline(always)]
        pub fn splat(x: f32) -> Self {
            Self([x; 4])
        }

        #[inline(always)]
        pub fn add(self, other: Self) -> Self {
            Self(std::array::from_fn(|l| self.0[l] + other.0[l]))
        }

        /// `self + a · b` (two roundings).
        #[inline(always)]
        pub fn mul_add(self, a: Self, b: Self) -> Self {
            Self(std::array::from_fn(|l| self.0[l] + a.0[l] * b.0[l]))
        }

        /// `max(x, 0)` per lane; NaN becomes 0.
        #[inline(always)]
        pub fn relu(self) -> Self {
            Self(self.0.map(|x| x.max(0.0)))
        }

        #[inline(always)]
        pub fn to_array(self) -> [f32; 4] {
            self.0
        }
    }
}

pub(crate) use imp::F32x4;

impl F32x4 {
    /// The sum of the lanes, `(l0 + l1) + (l2 + l3)`.
    #[inline(always)]
    pub fn sum(self) -> f32 {
        let [a, b, c, d] = self.to_array();
        (a + b) + (c + d)
    }
}

/// `B` vectors (`4·B` values) loaded from `x`, which must hold exactly `4·B` values
/// (`None` otherwise).
#[inline(always)]
pub(crate) fn load<const B: usize>(x: &[f32]) -> Option<[F32x4; B]> {
    let (chunks, []) = x.as_chunks::<4>() else { return None };
    let chunks: &[[f32; 4]; B] = chunks.try_into().ok()?;
    Some(std::array::from_fn(|b| F32x4::load(&chunks[b])))
}

/// `acc += x · row` for a row of `4·B` values (`row` as [`load`]s it).
#[inline(always)]
pub(crate) fn mul_add_row<const B: usize>(acc: &mut [F32x4; B], x: f32, row: &[[f32; 4]; B]) {
    let x = F32x4::splat(x);
    for (a, r) in acc.iter_mut().zip(row) {
        *a = a.mul_add(x, F32x4::load(r));
    }
}

/// `acc += row` for a row of `4·B` values.
#[inline(always)]
pub(crate) fn add_row<const B: usize>(acc: &mut [F32x4; B], row: &[[f32; 4]; B]) {
    for (a, r) in acc.iter_mut().zip(row) {
        *a = a.add(F32x4::load(r));
    }
}

/// `Σ relu(hidden) · w` over `4·B` values.
#[inline(always)]
pub(crate) fn relu_dot<const B: usize>(hidden: &[F32x4; B], w: &[F32x4; B]) -> f32 {
    let mut total = F32x4::splat(0.0);
    for (h, w) in hidden.iter().zip(w) {
        total = total.mul_add(h.relu(), *w);
    }
    total.sum()
}
