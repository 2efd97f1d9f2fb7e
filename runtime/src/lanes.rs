//! Four `f32` lanes: WebAssembly SIMD (`simd128`) in wasm builds, a plain array elsewhere
//! (which compilers turn into the target's own vector instructions).
//!
//! Also eight `i16` lanes with their pairwise dot product into four `i32` lanes
//! (`i32x4.dot_i16x8_s` in wasm, SSE2's `pmaddwd` on x86-64), for the integer kernel
//! ([`crate::int_kernel`]), and sixteen `i8` lanes with their dot product by 7-bit
//! weights in groups of four (relaxed SIMD's `i32x4.relaxed_dot_i8x16_i7x16_add_s` in wasm
//! builds with `relaxed-simd`, plain arrays elsewhere). Integer sums are exact, so every
//! implementation gives the same bits.
//!
//! The scoring loops ([`crate::kernel`], [`crate::code_kernel`]) are written with it and
//! an explicit number of accumulators, so that each hidden layer stays in vector
//! registers: left to itself, the compiler's WebAssembly kept twice as many accumulators
//! as an engine has registers and spilled them on every step.

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod imp {
    use core::arch::wasm32::{
        f32x4_add, f32x4_convert_i32x4, f32x4_extract_lane, f32x4_mul, f32x4_pmax, f32x4_splat, i16x8_load_extend_i8x8,
        i32x4_add, i32x4_dot_i16x8, i32x4_extract_lane, i32x4_shuffle, i32x4_splat, i32x4_sub, v128, v128_load,
    };

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

        #[inline(always)]
        pub fn mul(self, other: Self) -> Self {
            Self(f32x4_mul(self.0, other.0))
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

    /// Eight `i16` lanes in one `v128`.
    #[derive(Clone, Copy)]
    pub struct I16x8(v128);

    impl I16x8 {
        #[inline(always)]
        pub fn load(x: &[i16; 8]) -> Self {
            // SAFETY: `x` is 16 readable bytes, and `v128.load` has no alignment requirement.
            Self(unsafe { v128_load(x.as_ptr().cast()) })
        }

        /// Eight `i8` values, sign-extended.
        #[inline(always)]
        pub fn load_i8(x: &[i8; 8]) -> Self {
            // SAFETY: `x` is 8 readable bytes, and `v128.load8x8_s` has no alignment requirement.
            Self(unsafe { i16x8_load_extend_i8x8(x.as_ptr()) })
        }

        /// Lanes `2P` and `2P + 1` repeated four times.
        #[inline(always)]
        pub fn pair<const P: usize>(self) -> Self {
            Self(i32x4_shuffle::<P, P, P, P>(self.0, self.0))
        }

        /// Lane `i` of the result is `a[2i]·b[2i] + a[2i+1]·b[2i+1]`.
        #[inline(always)]
        pub fn dot(self, other: Self) -> I32x4 {
            I32x4(i32x4_dot_i16x8(self.0, other.0))
        }
    }

    /// Four `i32` lanes in one `v128`.
    #[derive(Clone, Copy)]
    pub struct I32x4(v128);

    impl I32x4 {
        #[inline(always)]
        pub fn zero() -> Self {
            Self(i32x4_splat(0))
        }

        #[inline(always)]
        pub fn add(self, other: Self) -> Self {
            Self(i32x4_add(self.0, other.0))
        }

        #[inline(always)]
        pub fn sub(self, other: Self) -> Self {
            Self(i32x4_sub(self.0, other.0))
        }

        #[inline(always)]
        pub fn splat(x: i32) -> Self {
            Self(i32x4_splat(x))
        }

        /// (For the plain quads, which relaxed SIMD replaces.)
        #[cfg(not(target_feature = "relaxed-simd"))]
        #[inline(always)]
        pub fn from_array(x: [i32; 4]) -> Self {
            // SAFETY: `x` is 16 readable bytes, and `v128.load` has no alignment requirement.
            Self(unsafe { v128_load(x.as_ptr().cast()) })
        }

        #[cfg(target_feature = "relaxed-simd")]
        #[inline(always)]
        pub(crate) fn raw(self) -> v128 {
            self.0
        }

        #[cfg(target_feature = "relaxed-simd")]
        #[inline(always)]
        pub(crate) fn from_raw(x: v128) -> Self {
            Self(x)
        }

        /// The lanes as `f32` (rounded to nearest).
        #[inline(always)]
        pub fn to_f32(self) -> F32x4 {
            F32x4(f32x4_convert_i32x4(self.0))
        }

        #[inline(always)]
        pub fn sum(self) -> i32 {
            i32x4_extract_lane::<0>(self.0)
                .wrapping_add(i32x4_extract_lane::<1>(self.0))
                .wrapping_add(i32x4_extract_lane::<2>(self.0))
                .wrapping_add(i32x4_extract_lane::<3>(self.0))
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

        #[inline(always)]
        pub fn mul(self, other: Self) -> Self {
            Self(std::array::from_fn(|l| self.0[l] * other.0[l]))
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

    pub use int::{I16x8, I32x4};

    /// The integer lanes in SSE2 (part of every x86-64 CPU).
    #[cfg(target_arch = "x86_64")]
    mod int {
        use super::F32x4;
        use std::arch::x86_64::{
            __m128i, _mm_add_epi32, _mm_cvtepi32_ps, _mm_loadl_epi64, _mm_loadu_si128, _mm_madd_epi16, _mm_set1_epi32,
            _mm_setzero_si128, _mm_shuffle_epi32, _mm_srai_epi16, _mm_storeu_ps, _mm_storeu_si128, _mm_sub_epi32,
            _mm_unpacklo_epi8,
        };

        /// Eight `i16` lanes in one SSE2 register.
        #[derive(Clone, Copy)]
        pub struct I16x8(__m128i);

        impl I16x8 {
            #[inline(always)]
            pub fn load(x: &[i16; 8]) -> Self {
                // SAFETY: `x` is 16 readable bytes; SSE2 is baseline on x86-64.
                Self(unsafe { _mm_loadu_si128(x.as_ptr().cast()) })
            }

            /// Eight `i8` values, sign-extended.
            #[inline(always)]
            pub fn load_i8(x: &[i8; 8]) -> Self {
                // SAFETY: `x` is 8 readable bytes; SSE2 is baseline on x86-64. Each byte is
                // put in a lane's high half and shifted down with its sign.
                Self(unsafe {
                    let v = _mm_loadl_epi64(x.as_ptr().cast());
                    _mm_srai_epi16::<8>(_mm_unpacklo_epi8(v, v))
                })
            }

            /// Lanes `2P` and `2P + 1` repeated four times.
            #[inline(always)]
            pub fn pair<const P: usize>(self) -> Self {
                // SAFETY: SSE2 is baseline on x86-64.
                Self(unsafe {
                    match P {
                        0 => _mm_shuffle_epi32::<0x00>(self.0),
                        1 => _mm_shuffle_epi32::<0x55>(self.0),
                        2 => _mm_shuffle_epi32::<0xAA>(self.0),
                        _ => _mm_shuffle_epi32::<0xFF>(self.0),
                    }
                })
            }

            /// Lane `i` of the result is `a[2i]·b[2i] + a[2i+1]·b[2i+1]`.
            #[inline(always)]
            pub fn dot(self, other: Self) -> I32x4 {
                // SAFETY: SSE2 is baseline on x86-64.
                I32x4(unsafe { _mm_madd_epi16(self.0, other.0) })
            }
        }

        /// Four `i32` lanes in one SSE2 register.
        #[derive(Clone, Copy)]
        pub struct I32x4(__m128i);

        impl I32x4 {
            #[inline(always)]
            pub fn zero() -> Self {
                // SAFETY: SSE2 is baseline on x86-64.
                Self(unsafe { _mm_setzero_si128() })
            }

            #[inline(always)]
            pub fn add(self, other: Self) -> Self {
                // SAFETY: SSE2 is baseline on x86-64.
                Self(unsafe { _mm_add_epi32(self.0, other.0) })
            }

            #[inline(always)]
            pub fn sub(self, other: Self) -> Self {
                // SAFETY: SSE2 is baseline on x86-64.
                Self(unsafe { _mm_sub_epi32(self.0, other.0) })
            }

            #[inline(always)]
            pub fn splat(x: i32) -> Self {
                // SAFETY: SSE2 is baseline on x86-64.
                Self(unsafe { _mm_set1_epi32(x) })
            }

            #[inline(always)]
            pub fn from_array(x: [i32; 4]) -> Self {
                // SAFETY: `x` is 16 readable bytes; SSE2 is baseline on x86-64.
                Self(unsafe { _mm_loadu_si128(x.as_ptr().cast()) })
            }

            /// The lanes as `f32` (rounded to nearest).
            #[inline(always)]
            pub fn to_f32(self) -> F32x4 {
                let mut out = [0f32; 4];
                // SAFETY: `out` is 16 writable bytes; SSE2 is baseline on x86-64.
                unsafe { _mm_storeu_ps(out.as_mut_ptr(), _mm_cvtepi32_ps(self.0)) };
                F32x4::load(&out)
            }

            #[inline(always)]
            pub fn sum(self) -> i32 {
                let mut out = [0i32; 4];
                // SAFETY: `out` is 16 writable bytes; SSE2 is baseline on x86-64.
                unsafe { _mm_storeu_si128(out.as_mut_ptr().cast(), self.0) };
                out.iter().fold(0i32, |a, b| a.wrapping_add(*b))
            }
        }
    }

    /// The integer lanes as plain arrays.
    #[cfg(not(target_arch = "x86_64"))]
    mod int {
        use super::F32x4;

        /// Eight `i16` lanes.
        #[derive(Clone, Copy)]
        pub struct I16x8([i16; 8]);

        impl I16x8 {
            #[inline(always)]
            pub fn load(x: &[i16; 8]) -> Self {
                Self(*x)
            }

            /// Eight `i8` values, sign-extended.
            #[inline(always)]
            pub fn load_i8(x: &[i8; 8]) -> Self {
                Self(x.map(i16::from))
            }

            /// Lanes `2P` and `2P + 1` repeated four times.
            #[inline(always)]
            pub fn pair<const P: usize>(self) -> Self {
                let (a, b) = (self.0[2 * P], self.0[2 * P + 1]);
                Self([a, b, a, b, a, b, a, b])
            }

            /// Lane `i` of the result is `a[2i]·b[2i] + a[2i+1]·b[2i+1]`.
            #[inline(always)]
            pub fn dot(self, other: Self) -> I32x4 {
                let (a, b) = (self.0, other.0);
                I32x4(std::array::from_fn(|i| {
                    (i32::from(a[2 * i]) * i32::from(b[2 * i]))
                        .wrapping_add(i32::from(a[2 * i + 1]) * i32::from(b[2 * i + 1]))
                }))
            }
        }

        /// Four `i32` lanes.
        #[derive(Clone, Copy)]
        pub struct I32x4([i32; 4]);

        impl I32x4 {
            #[inline(always)]
            pub fn zero() -> Self {
                Self([0; 4])
            }

            #[inline(always)]
            pub fn add(self, other: Self) -> Self {
                Self(std::array::from_fn(|l| self.0[l].wrapping_add(other.0[l])))
            }

            #[inline(always)]
            pub fn sub(self, other: Self) -> Self {
                Self(std::array::from_fn(|l| self.0[l].wrapping_sub(other.0[l])))
            }

            #[inline(always)]
            pub fn splat(x: i32) -> Self {
                Self([x; 4])
            }

            #[inline(always)]
            pub fn from_array(x: [i32; 4]) -> Self {
                Self(x)
            }

            /// The lanes as `f32` (rounded to nearest).
            #[inline(always)]
            pub fn to_f32(self) -> F32x4 {
                F32x4::load(&self.0.map(|x| x as f32))
            }

            #[inline(always)]
            pub fn sum(self) -> i32 {
                self.0.iter().fold(0i32, |a, b| a.wrapping_add(*b))
            }
        }
    }
}

pub(crate) use imp::{F32x4, I16x8, I32x4};
pub(crate) use quad::{I8x16, U7x16};

/// Sixteen `i8` lanes by sixteen 7-bit weights (`0..=127`), four at a time into `i32` lanes.
#[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
mod quad {
    use super::I32x4;
    use core::arch::wasm32::{i32x4_relaxed_dot_i8x16_i7x16_add, v128, v128_load, v128_load32_splat};

    /// Sixteen `i8` lanes.
    #[derive(Clone, Copy)]
    pub struct I8x16(v128);

    impl I8x16 {
        /// The four values repeated in each group of four lanes.
        #[inline(always)]
        pub fn splat4(x: &[i8; 4]) -> Self {
            // SAFETY: `x` is 4 readable bytes, and `v128.load32_splat` has no alignment requirement.
            Self(unsafe { v128_load32_splat(x.as_ptr().cast()) })
        }

        /// Lane `i` of the result is `acc[i] + Σ_t self[4i+t]·w[4i+t]`, exact: each pair of
        /// products is at most `2·128·127`, inside the 16 bits some engines sum pairs in, and
        /// weights below 128 read the same as signed or unsigned.
        #[inline(always)]
        pub fn dot4_add(self, w: U7x16, acc: I32x4) -> I32x4 {
            I32x4::from_raw(i32x4_relaxed_dot_i8x16_i7x16_add(self.0, w.0, acc.raw()))
        }
    }

    /// Sixteen weights of 7 bits (`0..=127`).
    #[derive(Clone, Copy)]
    pub struct U7x16(v128);

    impl U7x16 {
        #[inline(always)]
        pub fn load(x: &[u8; 16]) -> Self {
            // SAFETY: `x` is 16 readable bytes, and `v128.load` has no alignment requirement.
            Self(unsafe { v128_load(x.as_ptr().cast()) })
        }
    }
}

/// Sixteen `i8` lanes by sixteen 7-bit weights as plain arrays: what relaxed SIMD computes,
/// for builds without it (the integer kernel uses 16-bit pairs there; this serves the tests
/// that hold both layouts to the same sums).
#[cfg(not(all(target_arch = "wasm32", target_feature = "relaxed-simd")))]
mod quad {
    use super::I32x4;

    /// Sixteen `i8` lanes.
    #[derive(Clone, Copy)]
    pub struct I8x16([i8; 16]);

    impl I8x16 {
        /// The four values repeated in each group of four lanes.
        #[inline(always)]
        pub fn splat4(x: &[i8; 4]) -> Self {
            Self(std::array::from_fn(|l| x[l % 4]))
        }

        /// Lane `i` of the result is `acc[i] + Σ_t self[4i+t]·w[4i+t]`.
        #[inline(always)]
        pub fn dot4_add(self, w: U7x16, acc: I32x4) -> I32x4 {
            let sums: [i32; 4] =
                std::array::from_fn(|i| (0..4).map(|t| i32::from(self.0[4 * i + t]) * i32::from(w.0[4 * i + t])).sum());
            acc.add(I32x4::from_array(sums))
        }
    }

    /// Sixteen weights of 7 bits (`0..=127`).
    #[derive(Clone, Copy)]
    pub struct U7x16([u8; 16]);

    impl U7x16 {
        #[inline(always)]
        pub fn load(x: &[u8; 16]) -> Self {
            Self(*x)
        }
    }
}

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
