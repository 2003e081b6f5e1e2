#include "backend/cpu/kernels/kernel_table.h"

#include "backend/cpu/simd/scalar/scalar_kernels.h"
#if defined(HEARTH_CPU_X86)
#include "backend/cpu/simd/avx2/avx2_kernels.h"
#include "backend/cpu/simd/avx512/avx512_kernels.h"
#endif

namespace hearth::cpu {
namespace {

KernelTable build(CpuIsa isa) {
  KernelTable t;
  fill_scalar_kernels(t);
#if defined(HEARTH_CPU_X86)
  if (isa == CpuIsa::kAvx2 || isa == CpuIsa::kAvx512) fill_avx2_kernels(t);
  if (isa == CpuIsa::kAvx512) fill_avx512_kernels(t);
#endif
  t.isa = isa;
  return t;
}

}  // namespace

void fill_scalar_kernels(KernelTable& t) {
  using namespace scalar;
  t.for_type(DType::kQ4_0) = {ActFormat::kQ8x32, dot_q4_0, nullptr};
  t.for_type(DType::kQ4_1) = {ActFormat::kQ8x32, dot_q4_1, nullptr};
  t.for_type(DType::kQ5_0) = {ActFormat::kQ8x32, dot_q5_0, nullptr};
  t.for_type(DType::kQ5_1) = {ActFormat::kQ8x32, dot_q5_1, nullptr};
  // Weights stored with 8 or more bits (q8_0, f16, bf16, f32) meet f32 activations: an 8-bit
  // activation would throw away the precision the format was chosen for, and their dots stay
  // bound by memory bandwidth either way. Measured on the default model: its q8_0 output head
  // with 8-bit activations moves the logits by up to ~0.1 and flips near-tied greedy choices
  // (docs/PERFORMANCE.md); with f32 activations it matches the reference to 1e-5.
  t.for_type(DType::kQ8_0) = {ActFormat::kF32, dot_q8_0_f32, nullptr};
  t.for_type(DType::kQ4_K) = {ActFormat::kQ8x256, dot_q4_k, nullptr};
  t.for_type(DType::kQ5_K) = {ActFormat::kQ8x256, dot_q5_k, nullptr};
  t.for_type(DType::kQ6_K) = {ActFormat::kQ8x256, dot_q6_k, nullptr};
  t.for_type(DType::kF32) = {ActFormat::kF32, dot_f32_weights, nullptr};
  t.for_type(DType::kF16) = {ActFormat::kF32, dot_f16, nullptr};
  t.for_type(DType::kBF16) = {ActFormat::kF32, dot_bf16, nullptr};
  t.quantize_q8x32 = quantize_q8x32;
  t.quantize_q8x256 = quantize_q8x256;
  t.dot_f32 = dot_f32;
  t.sum_squares = sum_squares;
  t.scale_mul = scale_mul;
  t.swiglu = swiglu;
  t.add = add;
  t.attention_group = attention_group;
  t.gemm_nt = gemm_nt;
}

#if defined(HEARTH_CPU_X86)
void fill_avx2_kernels(KernelTable& t) {
  using namespace avx2;
  t.for_type(DType::kQ4_0) = {ActFormat::kQ8x32, dot_q4_0, dequant_q4_0};
  t.for_type(DType::kQ4_1) = {ActFormat::kQ8x32, dot_q4_1, dequant_q4_1};
  t.for_type(DType::kQ5_0) = {ActFormat::kQ8x32, dot_q5_0, dequant_q5_0};
  t.for_type(DType::kQ5_1) = {ActFormat::kQ8x32, dot_q5_1, nullptr};
  t.for_type(DType::kQ8_0) = {ActFormat::kF32, dot_q8_0_f32, dequant_q8_0};
  t.for_type(DType::kQ4_K) = {ActFormat::kQ8x256, dot_q4_k, nullptr};
  t.for_type(DType::kQ5_K) = {ActFormat::kQ8x256, dot_q5_k, nullptr};
  t.for_type(DType::kQ6_K) = {ActFormat::kQ8x256, dot_q6_k, nullptr};
  t.for_type(DType::kF32) = {ActFormat::kF32, dot_f32_weights, nullptr};
  t.for_type(DType::kF16) = {ActFormat::kF32, dot_f16, dequant_f16};
  t.for_type(DType::kBF16) = {ActFormat::kF32, dot_bf16, dequant_bf16};
  t.quantize_q8x32 = quantize_q8x32;
  t.quantize_q8x256 = quantize_q8x256;
  t.dot_f32 = dot_f32;
  t.sum_squares = sum_squares;
  t.scale_mul = scale_mul;
  t.swiglu = swiglu;
  t.add = add;
  t.attention_group = attention_group;
  t.gemm_nt = gemm_nt;
}

void fill_avx512_kernels(KernelTable& t) {
  using namespace avx512;
  t.for_type(DType::kQ4_0).dot = dot_q4_0;
  t.for_type(DType::kQ4_1).dot = dot_q4_1;
  t.for_type(DType::kQ5_0).dot = dot_q5_0;
  t.for_type(DType::kQ5_1).dot = dot_q5_1;
  t.gemm_nt = gemm_nt;
}
#else
void fill_avx2_kernels(KernelTable&) {}
void fill_avx512_kernels(KernelTable&) {}
#endif

const KernelTable& kernel_table(CpuIsa isa) {
  static const KernelTable scalar = build(CpuIsa::kScalar);
  if (isa == CpuIsa::kScalar) return scalar;
#if defined(HEARTH_CPU_X86)
  static const KernelTable avx2 = build(CpuIsa::kAvx2);
  if (isa == CpuIsa::kAvx2) return avx2;
  static const KernelTable avx512 = build(CpuIsa::kAvx512);
  return avx512;
#else
  return scalar;
#endif
}

}  // namespace hearth::cpu
