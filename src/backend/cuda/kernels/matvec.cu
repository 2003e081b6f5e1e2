// Decode matrix-vector products: y = x . W^T for one token, streaming each weight byte once.
//
// Quantized weights (q4_0, q4_1, q8_0): every block first quantizes x to int8 per 32 elements in
// shared memory (scale d_x = amax / 127, as q8_0), then each warp takes R rows at a time; lane l
// reads 32-element weight blocks l, l + 32, ... with one 16-byte load each (two for q8_0) and
// does the block's dot product with 8 dp4a instructions. Float weights (f32, f16, bf16) keep x in
// f32 in shared memory and read 8 weights per 16-byte load (two loads for f32).
// Up to three weights sharing x (q/k/v) run in one launch; gate/up with silu(g)*u fused.
#include "backend/cuda/kernels/device_common.cuh"
#include "backend/cuda/kernels/kernels.h"

#include <algorithm>
#include <type_traits>

namespace hearth::cuda {
namespace {

constexpr int kWarps = 8;
constexpr int kThreads = kWarps * 32;
constexpr int kMaxTargets = 3;

struct Batch {
  const float* x;
  int64_t k;
  int n_targets;
  DeviceMatrix w[kMaxTargets];
  const float* bias[kMaxTargets];
  float* y[kMaxTargets];
  int64_t group_end[kMaxTargets];  // cumulative row groups per target
  // swiglu: w[0] = gate, w[1] = up, y[0] = out
  bool swiglu;
};

__device__ __forceinline__ float silu(float g) { return g / (1.0f + __expf(-g)); }

template <WeightFormat F>
__device__ __forceinline__ float dot_block(const DeviceMatrix& w, int64_t b, const int4& xa,
                                           const int4& xb, const float2& xs) {
  int sumi = 0;
  const float d = half_bits_to_float(w.scales[b]);
  if constexpr (F == WeightFormat::kQ8_0) {
    const int4* q = static_cast<const int4*>(w.quants) + 2 * b;
    const int4 q0 = __ldg(q), q1 = __ldg(q + 1);
    sumi = __dp4a(q0.x, xa.x, sumi);
    sumi = __dp4a(q0.y, xa.y, sumi);
    sumi = __dp4a(q0.z, xa.z, sumi);
    sumi = __dp4a(q0.w, xa.w, sumi);
    sumi = __dp4a(q1.x, xb.x, sumi);
    sumi = __dp4a(q1.y, xb.y, sumi);
    sumi = __dp4a(q1.z, xb.z, sumi);
    sumi = __dp4a(q1.w, xb.w, sumi);
    return d * xs.x * static_cast<float>(sumi);
  } else {
    const int4 q = __ldg(static_cast<const int4*>(w.quants) + b);
    constexpr int kLow = 0x0F0F0F0F;
    sumi = __dp4a(q.x & kLow, xa.x, sumi);
    sumi = __dp4a(q.y & kLow, xa.y, sumi);
    sumi = __dp4a(q.z & kLow, xa.z, sumi);
    sumi = __dp4a(q.w & kLow, xa.w, sumi);
    sumi = __dp4a((q.x >> 4) & kLow, xb.x, sumi);
    sumi = __dp4a((q.y >> 4) & kLow, xb.y, sumi);
    sumi = __dp4a((q.z >> 4) & kLow, xb.z, sumi);
    sumi = __dp4a((q.w >> 4) & kLow, xb.w, sumi);
    if constexpr (F == WeightFormat::kQ4_1) {
      return d * xs.x * static_cast<float>(sumi) + half_bits_to_float(w.mins[b]) * xs.y;
    } else {
      return d * (xs.x * static_cast<float>(sumi) - 8.0f * xs.y);
    }
  }
}

// Which target and first row a row group is.
__device__ __forceinline__ void locate_group(const Batch& batch, int64_t g, int rows_per_group,
                                             int& target, int64_t& row0) {
  target = 0;
  int64_t first = 0;
  while (target + 1 < batch.n_targets && g >= batch.group_end[target]) {
    first = batch.group_end[target];
    ++target;
  }
  row0 = (g - first) * rows_per_group;
}

__device__ __forceinline__ void write_rows(const Batch& batch, int target, int64_t row0,
                                           int rows, float* acc, int lane) {
  // acc[r] (and acc[rows + r] for swiglu's up rows) summed over the warp; lane r writes row r.
  for (int r = 0; r < rows; ++r) {
    const float v = warp_sum(acc[r]);
    float u = 0.0f;
    if (batch.swiglu) u = warp_sum(acc[rows + r]);
    const int64_t row = row0 + r;
    if (lane == r && row < batch.w[target].rows) {
      if (batch.swiglu) {
        batch.y[0][row] = silu(v) * u;
      } else {
        const float* bias = batch.bias[target];
        batch.y[target][row] = v + (bias != nullptr ? bias[row] : 0.0f);
      }
    }
  }
}

template <WeightFormat F, int R>
__global__ void __launch_bounds__(kThreads) matvec_quantized_kernel(Batch batch) {
  extern __shared__ __align__(16) unsigned char smem[];
  const int64_t nb = batch.k / 32;
  int8_t* xq = reinterpret_cast<int8_t*>(smem);                // [k]
  float2* xs = reinterpret_cast<float2*>(smem + batch.k);      // [nb]: (d_x, d_x * sum q_x)
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  allow_next_kernel();
  wait_for_previous_kernel();

  for (int64_t b = warp; b < nb; b += kWarps) {
    const float v = batch.x[b * 32 + lane];
    const float amax = warp_max(fabsf(v));
    const float d = amax / 127.0f;
    const int q = amax > 0.0f ? __float2int_rn(v / d) : 0;
    const float sum = warp_sum(static_cast<float>(q));
    xq[b * 32 + lane] = static_cast<int8_t>(q);
    if (lane == 0) xs[b] = make_float2(d, d * sum);
  }
  __syncthreads();

  constexpr int kRowsPerGroup = R;
  const int64_t groups = batch.group_end[batch.n_targets - 1];
  for (int64_t g = blockIdx.x * int64_t{kWarps} + warp; g < groups;
       g += int64_t{gridDim.x} * kWarps) {
    int target;
    int64_t row0;
    locate_group(batch, g, kRowsPerGroup, target, row0);
    const DeviceMatrix& w = batch.w[target];
    constexpr int kDots = 2 * R;  // swiglu: R gate rows then R up rows
    float acc[kDots];
#pragma unroll
    for (int i = 0; i < kDots; ++i) acc[i] = 0.0f;
    int64_t base[R];
#pragma unroll
    for (int r = 0; r < R; ++r) base[r] = min(row0 + r, w.rows - 1) * nb;
    for (int64_t b = lane; b < nb; b += 32) {
      const int4 xa = *reinterpret_cast<const int4*>(xq + b * 32);
      const int4 xb = *reinterpret_cast<const int4*>(xq + b * 32 + 16);
      const float2 s = xs[b];
#pragma unroll
      for (int r = 0; r < R; ++r) acc[r] += dot_block<F>(w, base[r] + b, xa, xb, s);
      if (batch.swiglu) {
#pragma unroll
        for (int r = 0; r < R; ++r) acc[R + r] += dot_block<F>(batch.w[1], base[r] + b, xa, xb, s);
      }
    }
    write_rows(batch, target, row0, R, acc, lane);
  }
}

template <typename T>
__device__ __forceinline__ void load8(const T* p, float out[8]);
template <>
__device__ __forceinline__ void load8<float>(const float* p, float out[8]) {
  const float4 a = __ldg(reinterpret_cast<const float4*>(p));
  const float4 b = __ldg(reinterpret_cast<const float4*>(p) + 1);
  out[0] = a.x; out[1] = a.y; out[2] = a.z; out[3] = a.w;
  out[4] = b.x; out[5] = b.y; out[6] = b.z; out[7] = b.w;
}
template <>
__device__ __forceinline__ void load8<__half>(const __half* p, float out[8]) {
  const uint4 v = __ldg(reinterpret_cast<const uint4*>(p));
  const __half2* h = reinterpret_cast<const __half2*>(&v);
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const float2 f = __half22float2(h[i]);
    out[2 * i] = f.x;
    out[2 * i + 1] = f.y;
  }
}
template <>
__device__ __forceinline__ void load8<__nv_bfloat16>(const __nv_bfloat16* p, float out[8]) {
  const uint4 v = __ldg(reinterpret_cast<const uint4*>(p));
  const uint32_t* u = reinterpret_cast<const uint32_t*>(&v);
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    out[2 * i] = __uint_as_float(u[i] << 16);
    out[2 * i + 1] = __uint_as_float(u[i] & 0xffff0000u);
  }
}
template <typename T>
__device__ __forceinline__ float load1(const T* p) {
  if constexpr (std::is_same_v<T, float>) {
    return *p;
  } else if constexpr (std::is_same_v<T, __half>) {
    return __half2float(*p);
  } else {
    return __bfloat162float(*p);
  }
}

template <typename T>
__device__ __forceinline__ float dot_row(const T* row, const float* xf, int64_t k, int lane) {
  float acc = 0.0f;
  if (k % 8 == 0) {
    for (int64_t c = lane; c < k / 8; c += 32) {
      float w[8];
      load8<T>(row + c * 8, w);
      const float4 x0 = *reinterpret_cast<const float4*>(xf + c * 8);
      const float4 x1 = *reinterpret_cast<const float4*>(xf + c * 8 + 4);
      acc += w[0] * x0.x + w[1] * x0.y + w[2] * x0.z + w[3] * x0.w + w[4] * x1.x + w[5] * x1.y +
             w[6] * x1.z + w[7] * x1.w;
    }
  } else {
    for (int64_t c = lane; c < k; c += 32) acc += load1<T>(row + c) * xf[c];
  }
  return acc;
}

template <typename T, int R>
__global__ void __launch_bounds__(kThreads) matvec_float_kernel(Batch batch) {
  extern __shared__ __align__(16) unsigned char smem[];
  float* xf = reinterpret_cast<float*>(smem);  // [k]
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  allow_next_kernel();
  wait_for_previous_kernel();
  for (int64_t i = threadIdx.x; i < batch.k; i += kThreads) xf[i] = batch.x[i];
  __syncthreads();
  const int64_t groups = batch.group_end[batch.n_targets - 1];
  for (int64_t g = blockIdx.x * int64_t{kWarps} + warp; g < groups;
       g += int64_t{gridDim.x} * kWarps) {
    int target;
    int64_t row0;
    locate_group(batch, g, R, target, row0);
    const DeviceMatrix& w = batch.w[target];
    float acc[2 * R];
#pragma unroll
    for (int r = 0; r < R; ++r) {
      const int64_t row = min(row0 + r, w.rows - 1);
      acc[r] = dot_row(static_cast<const T*>(w.quants) + row * batch.k, xf, batch.k, lane);
      acc[R + r] = batch.swiglu ? dot_row(static_cast<const T*>(batch.w[1].quants) + row * batch.k,
                                          xf, batch.k, lane)
                                : 0.0f;
    }
    write_rows(batch, target, row0, R, acc, lane);
  }
}

template <int R>
using KernelPtr = void (*)(Batch);

template <int R>
KernelPtr<R> kernel_for(WeightFormat f) {
  switch (f) {
    case WeightFormat::kQ4_0:
      return matvec_quantized_kernel<WeightFormat::kQ4_0, R>;
    case WeightFormat::kQ4_1:
      return matvec_quantized_kernel<WeightFormat::kQ4_1, R>;
    case WeightFormat::kQ8_0:
      return matvec_quantized_kernel<WeightFormat::kQ8_0, R>;
    case WeightFormat::kF16:
      return matvec_float_kernel<__half, R>;
    case WeightFormat::kBF16:
      return matvec_float_kernel<__nv_bfloat16, R>;
    case WeightFormat::kF32:
      return matvec_float_kernel<float, R>;
  }
  return nullptr;
}

size_t shared_bytes(WeightFormat f, int64_t k) {
  return is_quantized(f) ? static_cast<size_t>(k + (k / 32) * 8) : static_cast<size_t>(k * 4);
}

constexpr size_t kMaxSharedBytes = 200 * 1024;

template <int R>
cudaError_t allow_large_shared(WeightFormat f) {
  return cudaFuncSetAttribute(kernel_for<R>(f), cudaFuncAttributeMaxDynamicSharedMemorySize,
                              static_cast<int>(kMaxSharedBytes));
}

template <int R>
cudaError_t launch_batch(const LaunchContext& ctx, Batch& batch, int64_t dots_per_row) {
  int64_t groups = 0;
  for (int t = 0; t < batch.n_targets; ++t) {
    groups += (batch.w[t].rows + R - 1) / R;
    batch.group_end[t] = groups;
  }
  (void)dots_per_row;
  const WeightFormat f = batch.w[0].format;
  const size_t smem = shared_bytes(f, batch.k);
  if (smem > kMaxSharedBytes) return cudaErrorInvalidValue;
  const int64_t wanted = (groups + kWarps - 1) / kWarps;
  const int64_t cap = int64_t{ctx.sm_count} * 8;
  const unsigned grid = static_cast<unsigned>(std::max<int64_t>(1, std::min(wanted, cap)));
  return launch_kernel(ctx, kernel_for<R>(f), dim3(grid), dim3(kThreads), smem, batch);
}

// Rows per warp: enough row groups to give every multiprocessor a few blocks, as few as that
// allows (more rows per warp, more loads in flight per lane).
cudaError_t launch_any(const LaunchContext& ctx, Batch& batch, int64_t total_rows) {
  const int64_t sms = ctx.sm_count;
  if (total_rows >= sms * kWarps * 4 * 2) return launch_batch<4>(ctx, batch, 1);
  if (total_rows >= sms * kWarps * 2) return launch_batch<2>(ctx, batch, 1);
  return launch_batch<1>(ctx, batch, 1);
}

bool format_matches(const DeviceMatrix& a, const DeviceMatrix& b) {
  return a.format == b.format && a.cols == b.cols;
}

}  // namespace

cudaError_t matvec_init() {
  for (WeightFormat f : {WeightFormat::kQ4_0, WeightFormat::kQ4_1, WeightFormat::kQ8_0,
                         WeightFormat::kF32, WeightFormat::kF16, WeightFormat::kBF16}) {
    for (cudaError_t e : {allow_large_shared<1>(f), allow_large_shared<2>(f), allow_large_shared<4>(f)}) {
      if (e != cudaSuccess) return e;
    }
  }
  return cudaSuccess;
}

cudaError_t matvec(const LaunchContext& ctx, const float* x, const MatvecTarget* targets,
                   int n_targets) {
  if (n_targets < 1 || n_targets > kMaxTargets) return cudaErrorInvalidValue;
  Batch batch{};
  batch.x = x;
  batch.k = targets[0].w.cols;
  batch.n_targets = n_targets;
  int64_t rows = 0;
  for (int t = 0; t < n_targets; ++t) {
    if (!format_matches(targets[t].w, targets[0].w)) return cudaErrorInvalidValue;
    batch.w[t] = targets[t].w;
    batch.bias[t] = targets[t].bias;
    batch.y[t] = targets[t].y;
    rows += targets[t].w.rows;
  }
  return launch_any(ctx, batch, rows);
}

cudaError_t matvec_swiglu(const LaunchContext& ctx, const float* x, const DeviceMatrix& gate,
                          const DeviceMatrix& up, float* out) {
  if (!format_matches(gate, up) || gate.rows != up.rows) return cudaErrorInvalidValue;
  Batch batch{};
  batch.x = x;
  batch.k = gate.cols;
  batch.n_targets = 1;
  batch.w[0] = gate;
  batch.w[1] = up;
  batch.y[0] = out;
  batch.swiglu = true;
  return launch_any(ctx, batch, 2 * gate.rows);
}

}  // namespace hearth::cuda
