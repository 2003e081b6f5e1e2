// AVX2 + FMA + F16C kernels (compiled with those flags only; called only when CPUID has them).
// Declarations only: the implementation files include nothing but intrinsics and plain structs,
// so no inline function compiled for AVX2 can be merged into code that runs on older CPUs.
#pragma once

#include <cstddef>
#include <cstdint>

namespace hearth::cpu::avx2 {

void quantize_q8x32(const float* x, void* out, int64_t k);
void quantize_q8x256(const float* x, void* out, int64_t k);

void dot_q4_0(int64_t k, const void* w, size_t row_bytes, int64_t n_rows, const void* a,
              float* out);
void dot_q4_1(int64_t k, const void* w, size_t row_bytes, int64_t n_rows, const void* a,
              float* out);
void dot_q5_0(int64_t k, const void* w, size_t row_bytes, int64_t n_rows, const void* a,
              float* out);
void dot_q5_1(int64_t k, const void* w, size_t row_bytes, int64_t n_rows, const void* a,
              float* out);
void dot_q8_0_f32(int64_t k, const void* w, size_t row_bytes, int64_t n_rows, const void* a,
                  float* out);
void dot_q4_k(int64_t k, const void* w, size_t row_bytes, int64_t n_rows, const void* a,
              float* out);
void dot_q5_k(int64_t k, const void* w, size_t row_bytes, int64_t n_rows, const void* a,
              float* out);
void dot_q6_k(int64_t k, const void* w, size_t row_bytes, int64_t n_rows, const void* a,
              float* out);
void dot_f32_weights(int64_t k, const void* w, size_t row_bytes, int64_t n_rows, const void* a,
                     float* out);
void dot_f16(int64_t k, const void* w, size_t row_bytes, int64_t n_rows, const void* a, float* out);
void dot_bf16(int64_t k, const void* w, size_t row_bytes, int64_t n_rows, const void* a,
              float* out);

void dequant_q4_0(const void* w, float* out, int64_t k);
void dequant_q4_1(const void* w, float* out, int64_t k);
void dequant_q5_0(const void* w, float* out, int64_t k);
void dequant_q8_0(const void* w, float* out, int64_t k);
void dequant_f16(const void* w, float* out, int64_t k);
void dequant_bf16(const void* w, float* out, int64_t k);

float dot_f32(const float* a, const float* b, int64_t n);
float sum_squares(const float* x, int64_t n);
void scale_mul(const float* x, float scale, const float* w, float* y, int64_t n);
void swiglu(const float* gate, const float* up, float* out, int64_t n);
void add(const float* a, const float* b, float* out, int64_t n);
void attention_group(const float* q, int64_t group, const float* k, const float* v, int64_t n_keys,
                     int64_t kv_stride, int64_t head_dim, float scale, float* out, float* scratch);
void gemm_nt(const float* x, int64_t ldx, int64_t n_tokens, const float* w, int64_t n_rows,
             int64_t k, float* y, int64_t ldy);

}  // namespace hearth::cpu::avx2
