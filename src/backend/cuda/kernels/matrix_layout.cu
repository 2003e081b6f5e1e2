// Weight layout kernels: GGUF blocks -> the aligned split layout (quants | scales | mins), and
// the layout -> bf16 rows (prefill GEMM operands) or f32 rows (embedding lookups).
#include "backend/cuda/kernels/device_common.cuh"
#include "backend/cuda/kernels/kernels.h"

namespace hearth::cuda {

namespace {

constexpr int kThreads = 256;

unsigned blocks_for(int64_t items) {
  return static_cast<unsigned>((items + kThreads - 1) / kThreads);
}

__device__ __forceinline__ uint16_t load_u16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] | (p[1] << 8));
}

__global__ void repack_kernel(const uint8_t* raw, WeightFormat format, int64_t n_blocks,
                              uint8_t* quants, uint16_t* scales, uint16_t* mins) {
  const int64_t b = blockIdx.x * int64_t{blockDim.x} + threadIdx.x;
  if (b >= n_blocks) return;
  if (format == WeightFormat::kQ8_0) {
    const uint8_t* src = raw + b * 34;
    scales[b] = load_u16(src);
    for (int i = 0; i < 32; ++i) quants[b * 32 + i] = src[2 + i];
  } else if (format == WeightFormat::kQ4_1) {
    const uint8_t* src = raw + b * 20;
    scales[b] = load_u16(src);
    mins[b] = load_u16(src + 2);
    for (int i = 0; i < 16; ++i) quants[b * 16 + i] = src[4 + i];
  } else {  // q4_0
    const uint8_t* src = raw + b * 18;
    scales[b] = load_u16(src);
    for (int i = 0; i < 16; ++i) quants[b * 16 + i] = src[2 + i];
  }
}

// The 32 values of block `blk` of row `row`, for quantized formats.
__device__ __forceinline__ void dequant_block(const DeviceMatrix& m, int64_t row, int64_t blk,
                                              float out[32]) {
  const int64_t nb = m.cols / 32;
  const int64_t b = row * nb + blk;
  const float d = half_bits_to_float(m.scales[b]);
  if (m.format == WeightFormat::kQ8_0) {
    const int8_t* q = static_cast<const int8_t*>(m.quants) + b * 32;
#pragma unroll
    for (int i = 0; i < 32; ++i) out[i] = d * static_cast<float>(q[i]);
    return;
  }
  const uint8_t* q = static_cast<const uint8_t*>(m.quants) + b * 16;
  const bool q41 = m.format == WeightFormat::kQ4_1;
  const float offset = q41 ? half_bits_to_float(m.mins[b]) : -8.0f * d;
#pragma unroll
  for (int i = 0; i < 16; ++i) {
    out[i] = d * static_cast<float>(q[i] & 0x0F) + offset;
    out[i + 16] = d * static_cast<float>(q[i] >> 4) + offset;
  }
}

__device__ __forceinline__ float float_element(const DeviceMatrix& m, int64_t index) {
  switch (m.format) {
    case WeightFormat::kF16:
      return half_bits_to_float(static_cast<const uint16_t*>(m.quants)[index]);
    case WeightFormat::kBF16:
      return bf16_bits_to_float(static_cast<const uint16_t*>(m.quants)[index]);
    default:
      return static_cast<const float*>(m.quants)[index];
  }
}

__global__ void dequant_bf16_kernel(DeviceMatrix m, int64_t row_begin, int64_t n_rows,
                                    __nv_bfloat16* out) {
  allow_next_kernel();
  wait_for_previous_kernel();
  const int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x;
  if (is_quantized(m.format)) {
    const int64_t nb = m.cols / 32;
    if (i >= n_rows * nb) return;
    const int64_t r = i / nb, blk = i % nb;
    float v[32];
    dequant_block(m, row_begin + r, blk, v);
    __nv_bfloat162* dst = reinterpret_cast<__nv_bfloat162*>(out + r * m.cols + blk * 32);
#pragma unroll
    for (int j = 0; j < 16; ++j) dst[j] = __floats2bfloat162_rn(v[2 * j], v[2 * j + 1]);
  } else {
    if (i >= n_rows * m.cols) return;
    out[i] = __float2bfloat16_rn(float_element(m, row_begin * m.cols + i));
  }
}

__global__ void embedding_kernel(DeviceMatrix m, const int32_t* tokens, int64_t n_tokens,
                                 float* out) {
  allow_next_kernel();
  wait_for_previous_kernel();
  const int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x;
  if (is_quantized(m.format)) {
    const int64_t nb = m.cols / 32;
    if (i >= n_tokens * nb) return;
    const int64_t t = i / nb, blk = i % nb;
    float v[32];
    dequant_block(m, tokens[t], blk, v);
    float4* dst = reinterpret_cast<float4*>(out + t * m.cols + blk * 32);
#pragma unroll
    for (int j = 0; j < 8; ++j)
      dst[j] = make_float4(v[4 * j], v[4 * j + 1], v[4 * j + 2], v[4 * j + 3]);
  } else {
    if (i >= n_tokens * m.cols) return;
    const int64_t t = i / m.cols, c = i % m.cols;
    out[i] = float_element(m, int64_t{tokens[t]} * m.cols + c);
  }
}

}  // namespace

cudaError_t repack_quantized(const LaunchContext& ctx, const void* raw, WeightFormat format,
                             int64_t rows, int64_t cols, void* quants, uint16_t* scales,
                             uint16_t* mins) {
  const int64_t n_blocks = rows * (cols / 32);
  if (n_blocks == 0) return cudaSuccess;
  repack_kernel<<<blocks_for(n_blocks), kThreads, 0, ctx.stream>>>(
      static_cast<const uint8_t*>(raw), format, n_blocks, static_cast<uint8_t*>(quants), scales,
      mins);
  return cudaGetLastError();
}

cudaError_t dequantize_rows_bf16(const LaunchContext& ctx, const DeviceMatrix& m, int64_t row_begin,
                                 int64_t n_rows, void* out) {
  const int64_t items = is_quantized(m.format) ? n_rows * (m.cols / 32) : n_rows * m.cols;
  if (items == 0) return cudaSuccess;
  return launch_kernel(ctx, dequant_bf16_kernel, dim3(blocks_for(items)), dim3(kThreads), 0, m,
                       row_begin, n_rows, static_cast<__nv_bfloat16*>(out));
}

cudaError_t embedding_rows(const LaunchContext& ctx, const DeviceMatrix& table,
                           const int32_t* tokens, int64_t n_tokens, float* out) {
  const int64_t items =
      is_quantized(table.format) ? n_tokens * (table.cols / 32) : n_tokens * table.cols;
  if (items == 0) return cudaSuccess;
  return launch_kernel(ctx, embedding_kernel, dim3(blocks_for(items)), dim3(kThreads), 0, table,
                       tokens, n_tokens, out);
}

}  // namespace hearth::cuda
