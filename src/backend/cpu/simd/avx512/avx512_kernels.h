// AVX-512 VNNI kernels (compiled with -mavx512f/bw/vl/dq/vnni; called only when CPUID has them).
// The byte dot products use vpdpbusd, which sums four u8 x s8 products straight into int32
// lanes (no int16 saturation step); the prefill GEMM uses 512-bit float FMAs; everything else
// comes from the AVX2 set.
#pragma once

#include <cstddef>
#include <cstdint>

namespace hearth::cpu::avx512 {

void dot_q4_0(int64_t k, const void* w, size_t row_bytes, int64_t n_rows, const void* a,
              float* out);
void dot_q4_1(int64_t k, const void* w, size_t row_bytes, int64_t n_rows, const void* a,
              float* out);
void dot_q5_0(int64_t k, const void* w, size_t row_bytes, int64_t n_rows, const void* a,
              float* out);
void dot_q5_1(int64_t k, const void* w, size_t row_bytes, int64_t n_rows, const void* a,
              float* out);

void gemm_nt(const float* x, int64_t ldx, int64_t n_tokens, const float* w, int64_t n_rows,
             int64_t k, float* y, int64_t ldy);

}  // namespace hearth::cpu::avx512
