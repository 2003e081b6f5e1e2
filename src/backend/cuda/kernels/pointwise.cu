// Row and element-wise ops on f32 activations: RMSNorm, residual add, SiLU gating, bias, and the
// f32 -> bf16 conversion of GEMM inputs.
#include "backend/cuda/kernels/device_common.cuh"
#include "backend/cuda/kernels/kernels.h"

#include <algorithm>

namespace hearth::cuda {
namespace {

constexpr int kThreads = 256;

// One block per row. Rows of up to kThreads * 4 * kNormVecs floats (a multiple of 4) stay in
// registers between the sum of squares and the scaling: one pass over x, 16-byte accesses.
constexpr int kNormVecs = 8;

__global__ void __launch_bounds__(kThreads)
    rms_norm_kernel(const float* x, const float* weight, float* y, int64_t cols, float eps) {
  __shared__ float scratch[32];
  allow_next_kernel();
  wait_for_previous_kernel();
  const float* xr = x + blockIdx.x * cols;
  float* yr = y + blockIdx.x * cols;
  float ss = 0.0f;
  if (cols % 4 == 0 && cols <= int64_t{kThreads} * 4 * kNormVecs) {
    const int64_t n4 = cols / 4;
    float4 v[kNormVecs];
#pragma unroll
    for (int u = 0; u < kNormVecs; ++u) {
      const int64_t i = threadIdx.x + int64_t{u} * kThreads;
      v[u] = i < n4 ? reinterpret_cast<const float4*>(xr)[i] : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
      ss += v[u].x * v[u].x + v[u].y * v[u].y + v[u].z * v[u].z + v[u].w * v[u].w;
    }
    ss = block_sum(ss, scratch);
    const float inv = rsqrtf(ss / static_cast<float>(cols) + eps);
#pragma unroll
    for (int u = 0; u < kNormVecs; ++u) {
      const int64_t i = threadIdx.x + int64_t{u} * kThreads;
      if (i >= n4) break;
      const float4 w = reinterpret_cast<const float4*>(weight)[i];
      reinterpret_cast<float4*>(yr)[i] = make_float4(v[u].x * inv * w.x, v[u].y * inv * w.y,
                                                     v[u].z * inv * w.z, v[u].w * inv * w.w);
    }
    return;
  }
  for (int64_t i = threadIdx.x; i < cols; i += kThreads) ss += xr[i] * xr[i];
  ss = block_sum(ss, scratch);
  const float inv = rsqrtf(ss / static_cast<float>(cols) + eps);
  for (int64_t i = threadIdx.x; i < cols; i += kThreads) yr[i] = xr[i] * inv * weight[i];
}

// out = a + b, then y = rms_norm(out) * weight, per row (the residual update and the next
// layer's norm in one pass); rows of up to kThreads * 4 * kNormVecs floats, a multiple of 4.
__global__ void __launch_bounds__(kThreads)
    add_rms_norm_kernel(const float* a, const float* b, float* out, const float* weight, float* y,
                        int64_t cols, float eps) {
  __shared__ float scratch[32];
  allow_next_kernel();
  wait_for_previous_kernel();
  const int64_t n4 = cols / 4, row = blockIdx.x * n4;
  const float4* a4 = reinterpret_cast<const float4*>(a) + row;
  const float4* b4 = reinterpret_cast<const float4*>(b) + row;
  float4* out4 = reinterpret_cast<float4*>(out) + row;
  float4* y4 = reinterpret_cast<float4*>(y) + row;
  float4 v[kNormVecs];
  float ss = 0.0f;
#pragma unroll
  for (int u = 0; u < kNormVecs; ++u) {
    const int64_t i = threadIdx.x + int64_t{u} * kThreads;
    if (i < n4) {
      const float4 x = a4[i], d = b4[i];
      v[u] = make_float4(x.x + d.x, x.y + d.y, x.z + d.z, x.w + d.w);
    } else {
      v[u] = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    }
    ss += v[u].x * v[u].x + v[u].y * v[u].y + v[u].z * v[u].z + v[u].w * v[u].w;
  }
  ss = block_sum(ss, scratch);  // every thread has read its a and b before any writes out
  const float inv = rsqrtf(ss / static_cast<float>(cols) + eps);
#pragma unroll
  for (int u = 0; u < kNormVecs; ++u) {
    const int64_t i = threadIdx.x + int64_t{u} * kThreads;
    if (i >= n4) break;
    const float4 w = reinterpret_cast<const float4*>(weight)[i];
    out4[i] = v[u];
    y4[i] =
        make_float4(v[u].x * inv * w.x, v[u].y * inv * w.y, v[u].z * inv * w.z, v[u].w * inv * w.w);
  }
}

__global__ void add_kernel(const float* a, const float* b, float* out, int64_t n) {
  allow_next_kernel();
  wait_for_previous_kernel();
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    out[i] = a[i] + b[i];
  }
}

__global__ void swiglu_kernel(const float* gate, const float* up, float* out, int64_t n) {
  allow_next_kernel();
  wait_for_previous_kernel();
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    const float g = gate[i];
    out[i] = g / (1.0f + __expf(-g)) * up[i];
  }
}

__global__ void add_bias_kernel(float* y, const float* bias, int64_t rows, int64_t cols) {
  allow_next_kernel();
  wait_for_previous_kernel();
  const int64_t n = rows * cols;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    y[i] += bias[i % cols];
  }
}

__global__ void f32_to_bf16_kernel(const float* x, __nv_bfloat16* out, int64_t n) {
  allow_next_kernel();
  wait_for_previous_kernel();
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    out[i] = __float2bfloat16_rn(x[i]);
  }
}

dim3 grid_for(const LaunchContext& ctx, int64_t n) {
  const int64_t blocks = (n + kThreads - 1) / kThreads;
  return dim3(static_cast<unsigned>(
      std::max<int64_t>(1, std::min<int64_t>(blocks, int64_t{ctx.sm_count} * 16))));
}

}  // namespace

cudaError_t rms_norm(const LaunchContext& ctx, const float* x, const float* weight, float* y,
                     int64_t rows, int64_t cols, float eps) {
  if (rows == 0) return cudaSuccess;
  return launch_kernel(ctx, rms_norm_kernel, dim3(static_cast<unsigned>(rows)), dim3(kThreads), 0,
                       x, weight, y, cols, eps);
}

cudaError_t add_rms_norm(const LaunchContext& ctx, const float* a, const float* b, float* out,
                         const float* weight, float* y, int64_t rows, int64_t cols, float eps) {
  if (cols % 4 != 0 || cols > int64_t{kThreads} * 4 * kNormVecs) return cudaErrorInvalidValue;
  if (rows == 0) return cudaSuccess;
  return launch_kernel(ctx, add_rms_norm_kernel, dim3(static_cast<unsigned>(rows)), dim3(kThreads),
                       0, a, b, out, weight, y, cols, eps);
}

cudaError_t add(const LaunchContext& ctx, const float* a, const float* b, float* out, int64_t n) {
  if (n == 0) return cudaSuccess;
  return launch_kernel(ctx, add_kernel, grid_for(ctx, n), dim3(kThreads), 0, a, b, out, n);
}

cudaError_t swiglu(const LaunchContext& ctx, const float* gate, const float* up, float* out,
                   int64_t n) {
  if (n == 0) return cudaSuccess;
  return launch_kernel(ctx, swiglu_kernel, grid_for(ctx, n), dim3(kThreads), 0, gate, up, out, n);
}

cudaError_t add_bias(const LaunchContext& ctx, float* y, const float* bias, int64_t rows,
                     int64_t cols) {
  if (rows * cols == 0) return cudaSuccess;
  return launch_kernel(ctx, add_bias_kernel, grid_for(ctx, rows * cols), dim3(kThreads), 0, y, bias,
                       rows, cols);
}

cudaError_t f32_to_bf16(const LaunchContext& ctx, const float* x, void* out, int64_t n) {
  if (n == 0) return cudaSuccess;
  return launch_kernel(ctx, f32_to_bf16_kernel, grid_for(ctx, n), dim3(kThreads), 0, x,
                       static_cast<__nv_bfloat16*>(out), n);
}

}  // namespace hearth::cuda
