// The 32-element block dot products with AVX-512 VNNI on 256-bit vectors (vpdpbusd ymm): one
// instruction replaces the maddubs + madd pair of the AVX2 versions, and 256-bit width avoids
// the clock penalty some CPUs apply to 512-bit integer code. Same algorithm as AVX2
// (simd/avx2/q32_dot_impl.h).
#include "backend/cpu/simd/avx2/q32_dot_impl.h"
#include "backend/cpu/simd/avx512/avx512_kernels.h"

namespace hearth::cpu::avx512 {

void dot_q4_0(int64_t k, const void* w, size_t row_bytes, int64_t n, const void* a, float* out) {
  avx2::dot_rows<avx2::kQ4_0Bytes, 8, false, false, true>(k, w, row_bytes, n, a, out);
}

void dot_q4_1(int64_t k, const void* w, size_t row_bytes, int64_t n, const void* a, float* out) {
  avx2::dot_rows<avx2::kQ4_1Bytes, 0, true, false, true>(k, w, row_bytes, n, a, out);
}

void dot_q5_0(int64_t k, const void* w, size_t row_bytes, int64_t n, const void* a, float* out) {
  avx2::dot_rows<avx2::kQ5_0Bytes, 16, false, true, true>(k, w, row_bytes, n, a, out);
}

void dot_q5_1(int64_t k, const void* w, size_t row_bytes, int64_t n, const void* a, float* out) {
  avx2::dot_rows<avx2::kQ5_1Bytes, 0, true, true, true>(k, w, row_bytes, n, a, out);
}

}  // namespace hearth::cpu::avx512
