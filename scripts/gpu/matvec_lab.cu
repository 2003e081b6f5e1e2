// Decode matvec structures timed as a decode step's 129 launches (Llama-3.1-8B shapes, q4_0 in
// hearth's repacked layout: quants [rows][nb] of 16 bytes, fp16 scales [rows][nb]), one CUDA
// graph with programmatic dependent launch, against a read-only chain of the same bytes.
// Each structure is checked against a plain reference kernel before it is timed.
//   nvcc -O3 -std=c++20 -arch=sm_90 --expt-relaxed-constexpr -Isrc scripts/gpu/matvec_lab.cu \
//     src/backend/cuda/kernels/matvec.cu src/backend/cuda/kernels/matvec_short.cu -o matvec_lab
// hearth's own matvecs (hearth::cuda::matvec, matvec_swiglu) run the same chains at the end,
// resident and short-block kernels, with and without the decode fusions.
//   ./matvec_lab [iterations]
// Structures ("short blocks"): a block of W warps owns W / S row sets of RW rows; the S warps of
// a set split K (J weight blocks of 32 a lane and row); every lane issues all its weight loads
// (RW x J x matrices 16-byte loads and as many scales) before it waits for the previous kernel,
// then reads x, pre-quantized to int8 per 32 (XMODE 0: from global memory, L1-cached) or
// quantizes the float x into shared memory itself (XMODE 1), and reduces.
#include "backend/cuda/kernels/device_common.cuh"
#include "backend/cuda/kernels/kernels.h"

namespace hearth::cuda {
cudaError_t matvec_init();  // matvec.cu
}

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <type_traits>
#include <vector>

using namespace hearth::cuda;

#define CHECK(x)                                                                              \
  do {                                                                                        \
    cudaError_t e_ = (x);                                                                     \
    if (e_ != cudaSuccess) {                                                                  \
      std::fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #x, cudaGetErrorString(e_)); \
      std::exit(1);                                                                           \
    }                                                                                         \
  } while (0)

namespace {

struct Mat {
  const int4* q;
  const uint16_t* d;
  int rows;
  int nb;
};

struct Params {
  Mat w[2];          // w[1]: up, with swiglu
  const int8_t* xq;  // [k]
  const float2* xs;  // [nb]: (d, d * sum q)
  const float* x;    // float x (XMODE 1)
  float* y;
  int8_t* yq;  // kQout: y quantized per 32 rows (the next matvec's x)
  float2* ys;
};

__device__ __forceinline__ float dot_q4(int4 q, uint16_t dbits, int4 xa, int4 xb, float2 xs) {
  constexpr int kLow = 0x0F0F0F0F;
  int s = 0;
  s = __dp4a(q.x & kLow, xa.x, s);
  s = __dp4a(q.y & kLow, xa.y, s);
  s = __dp4a(q.z & kLow, xa.z, s);
  s = __dp4a(q.w & kLow, xa.w, s);
  s = __dp4a((q.x >> 4) & kLow, xb.x, s);
  s = __dp4a((q.y >> 4) & kLow, xb.y, s);
  s = __dp4a((q.z >> 4) & kLow, xb.z, s);
  s = __dp4a((q.w >> 4) & kLow, xb.w, s);
  return half_bits_to_float(dbits) * (xs.x * static_cast<float>(s) - 8.0f * xs.y);
}

__device__ __forceinline__ float silu(float g) {
  return g / (1.0f + __expf(-g));
}

// x -> int8 per 32 (d = amax / 127), 8 lanes a block of 32, 4 values a thread and loop trip.
__device__ void quantize_block_x(const float* x, int k, int8_t* xq, float2* xs) {
  const int n4 = k / 4;
  for (int i0 = threadIdx.x - (threadIdx.x & 31); i0 < n4; i0 += blockDim.x) {
    const int i = i0 + (threadIdx.x & 31);
    const float4 v = i < n4 ? reinterpret_cast<const float4*>(x)[i] : make_float4(0, 0, 0, 0);
    float amax = fmaxf(fmaxf(fabsf(v.x), fabsf(v.y)), fmaxf(fabsf(v.z), fabsf(v.w)));
    for (int o = 4; o > 0; o >>= 1) amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, o));
    const float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
    const int q0 = __float2int_rn(v.x * inv), q1 = __float2int_rn(v.y * inv);
    const int q2 = __float2int_rn(v.z * inv), q3 = __float2int_rn(v.w * inv);
    int sum = q0 + q1 + q2 + q3;
    for (int o = 4; o > 0; o >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, o);
    if (i < n4) {
      char4 c;
      c.x = static_cast<signed char>(q0);
      c.y = static_cast<signed char>(q1);
      c.z = static_cast<signed char>(q2);
      c.w = static_cast<signed char>(q3);
      reinterpret_cast<char4*>(xq)[i] = c;
      if ((threadIdx.x & 7) == 0) xs[i / 8] = make_float2(amax / 127.0f, amax / 127.0f * sum);
    }
  }
}

// The same with V 16-byte loads of x a thread issued at once (one L2 round trip a trip).
template <int V>
__device__ void quantize_block_x_v(const float* x, int k, int8_t* xq, float2* xs) {
  const int n4 = k / 4;
  const int lane = threadIdx.x & 31;
  for (int t0 = 0; t0 < n4; t0 += blockDim.x * V) {
    float4 v[V];
#pragma unroll
    for (int u = 0; u < V; ++u) {
      const int i = t0 + u * blockDim.x + threadIdx.x;
      v[u] = i < n4 ? reinterpret_cast<const float4*>(x)[i] : make_float4(0, 0, 0, 0);
    }
#pragma unroll
    for (int u = 0; u < V; ++u) {
      const int i = t0 + u * blockDim.x + threadIdx.x;
      float amax = fmaxf(fmaxf(fabsf(v[u].x), fabsf(v[u].y)), fmaxf(fabsf(v[u].z), fabsf(v[u].w)));
      for (int o = 4; o > 0; o >>= 1) amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, o));
      const float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
      const int q0 = __float2int_rn(v[u].x * inv), q1 = __float2int_rn(v[u].y * inv);
      const int q2 = __float2int_rn(v[u].z * inv), q3 = __float2int_rn(v[u].w * inv);
      int sum = q0 + q1 + q2 + q3;
      for (int o = 4; o > 0; o >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, o);
      if (i < n4) {
        char4 c;
        c.x = static_cast<signed char>(q0);
        c.y = static_cast<signed char>(q1);
        c.z = static_cast<signed char>(q2);
        c.w = static_cast<signed char>(q3);
        reinterpret_cast<char4*>(xq)[i] = c;
        if ((lane & 7) == 0) xs[i / 8] = make_float2(amax / 127.0f, amax / 127.0f * sum);
      }
    }
  }
}

__global__ void quantize_x_kernel(const float* x, int k, int8_t* xq, float2* xs) {
  quantize_block_x(x, k, xq, xs);
}

// A kernel argument of hearth's Batch size (its 128 rope frequencies), to time what a large
// argument costs a launch.
struct PaddedParams {
  Params p;
  double pad[160];
};
__device__ __forceinline__ const Params& params_of(const Params& p) {
  return p;
}
__device__ __forceinline__ const Params& params_of(const PaddedParams& p) {
  return p.p;
}

// kChecks: hearth's short kernel's bounds handling (64-bit block indices clamped to the row's
// last block, products of blocks past the end selected away), to time what it costs.
template <int W, int RW, int J, int S, bool kSwiglu, int XMODE, bool kQout = false,
          class P = Params, bool kChecks = false>
__global__ void __launch_bounds__(W * 32) short_blocks(P arg) {
  const Params& p = params_of(arg);
  constexpr int M = kSwiglu ? 2 : 1;
  constexpr int RS = W / S;
  static_assert(W % S == 0);
  static_assert(!kQout || (S == 1 && RS * RW == 32));
  extern __shared__ __align__(16) unsigned char smem[];
  __shared__ float out_rows[kQout ? 32 : 1];
  __shared__ float partial[S > 1 ? RS * S * M * RW : 1];
  allow_next_kernel();
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int rs = warp / S, seg = warp % S;
  const int row0 = (blockIdx.x * RS + rs) * RW;
  const int nb = p.w[0].nb, rows = p.w[0].rows;
  int4 q[M][RW][J];
  uint16_t d[M][RW][J];
  // The loads in a branch of their own: in one basic block with the wait, ptxas hoists the wait
  // above them (check the SASS: cuobjdump -sass, LDGs before ACQBULK).
  if (row0 < rows) {
#pragma unroll
    for (int m = 0; m < M; ++m) {
#pragma unroll
      for (int r = 0; r < RW; ++r) {
        const int64_t base = int64_t{min(row0 + r, rows - 1)} * nb + seg * 32 * J + lane;
#pragma unroll
        for (int j = 0; j < J; ++j) {
          q[m][r][j] = load_stream(p.w[m].q + base + 32 * j);
          d[m][r][j] = load_stream(p.w[m].d + base + 32 * j);
        }
      }
    }
  }
  wait_for_previous_kernel();
  const int8_t* xq = p.xq;
  const float2* xs = p.xs;
  if constexpr (XMODE >= 1) {
    int8_t* sq = reinterpret_cast<int8_t*>(smem);
    float2* ss = reinterpret_cast<float2*>(smem + nb * 32);
    if constexpr (XMODE == 1) {
      quantize_block_x(p.x, nb * 32, sq, ss);
    } else {
      constexpr int kV0 = (J * S * 32 * 8 + W * 32 - 1) / (W * 32);
      constexpr int kV = kV0 < 16 ? kV0 : 16;
      quantize_block_x_v<kV>(p.x, nb * 32, sq, ss);
    }
    __syncthreads();
    xq = sq;
    xs = ss;
  }
  float acc[M][RW];
#pragma unroll
  for (int m = 0; m < M; ++m) {
#pragma unroll
    for (int r = 0; r < RW; ++r) acc[m][r] = 0.0f;
  }
#pragma unroll
  for (int j = 0; j < J; ++j) {
    if constexpr (kChecks) {
      const int64_t b = int64_t{seg} * 32 * J + lane + 32 * j;
      const bool valid = b < nb;
      const int64_t bx = valid ? b : nb - 1;
      const int4 xa = *reinterpret_cast<const int4*>(xq + bx * 32);
      const int4 xb = *reinterpret_cast<const int4*>(xq + bx * 32 + 16);
      const float2 s = xs[bx];
#pragma unroll
      for (int m = 0; m < M; ++m) {
#pragma unroll
        for (int r = 0; r < RW; ++r) {
          const float dot = dot_q4(q[m][r][j], d[m][r][j], xa, xb, s);
          acc[m][r] += valid ? dot : 0.0f;
        }
      }
    } else {
      const int b = seg * 32 * J + lane + 32 * j;
      const int4 xa = *reinterpret_cast<const int4*>(xq + b * 32);
      const int4 xb = *reinterpret_cast<const int4*>(xq + b * 32 + 16);
      const float2 s = xs[b];
#pragma unroll
      for (int m = 0; m < M; ++m) {
#pragma unroll
        for (int r = 0; r < RW; ++r) acc[m][r] += dot_q4(q[m][r][j], d[m][r][j], xa, xb, s);
      }
    }
  }
#pragma unroll
  for (int m = 0; m < M; ++m) {
#pragma unroll
    for (int r = 0; r < RW; ++r) acc[m][r] = warp_sum(acc[m][r]);
  }
  if constexpr (S > 1) {
    if (lane == 0) {
#pragma unroll
      for (int m = 0; m < M; ++m) {
#pragma unroll
        for (int r = 0; r < RW; ++r) partial[((rs * S + seg) * M + m) * RW + r] = acc[m][r];
      }
    }
    __syncthreads();
    if (seg != 0) return;
#pragma unroll
    for (int m = 0; m < M; ++m) {
#pragma unroll
      for (int r = 0; r < RW; ++r) {
        float t = 0.0f;
        for (int s2 = 0; s2 < S; ++s2) t += partial[((rs * S + s2) * M + m) * RW + r];
        acc[m][r] = t;
      }
    }
  }
#pragma unroll
  for (int r = 0; r < RW; ++r) {
    const int row = row0 + r;
    const float v = kSwiglu ? silu(acc[0][r]) * acc[M - 1][r] : acc[0][r];
    if (lane == r && row < rows) p.y[row] = v;
    if constexpr (kQout) {
      if (lane == r) out_rows[rs * RW + r] = v;
    }
  }
  if constexpr (kQout) {
    __syncthreads();
    if (warp == 0) {
      const float v = out_rows[lane];
      const float amax = warp_max(fabsf(v));
      const float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
      const int q = __float2int_rn(v * inv);
      const int sum = static_cast<int>(warp_sum(static_cast<float>(q)));
      p.yq[blockIdx.x * 32 + lane] = static_cast<int8_t>(q);
      if (lane == 0) p.ys[blockIdx.x] = make_float2(amax / 127.0f, amax / 127.0f * sum);
    }
  }
}

// Reference: one thread a row, the same quantized x, plain loops.
__global__ void reference_kernel(Params p, bool swiglu) {
  const int row = blockIdx.x * blockDim.x + threadIdx.x;
  if (row >= p.w[0].rows) return;
  float v[2] = {0.0f, 0.0f};
  for (int m = 0; m < (swiglu ? 2 : 1); ++m) {
    for (int b = 0; b < p.w[m].nb; ++b) {
      const int4 q4 = p.w[m].q[int64_t{row} * p.w[m].nb + b];
      const uint8_t* qb = reinterpret_cast<const uint8_t*>(&q4);
      const float d = half_bits_to_float(p.w[m].d[int64_t{row} * p.w[m].nb + b]);
      float s = 0.0f;
      for (int i = 0; i < 16; ++i) {
        s += static_cast<float>((qb[i] & 15) - 8) * p.xq[b * 32 + i];
        s += static_cast<float>((qb[i] >> 4) - 8) * p.xq[b * 32 + 16 + i];
      }
      v[m] += d * p.xs[b].x * s;
    }
  }
  p.y[row] = swiglu ? silu(v[0]) * v[1] : v[0];
}

// Read-only bar: each block of 128 threads reads 16 KB (8 16-byte loads a thread).
__global__ void __launch_bounds__(128) read_kernel(const int4* p, int64_t n16, int* sink) {
  allow_next_kernel();
  const int64_t base = int64_t{blockIdx.x} * 1024 + threadIdx.x;
  int4 v[8];
  if (base < n16) {
#pragma unroll
    for (int i = 0; i < 8; ++i) v[i] = load_stream(p + min(base + 128 * i, n16 - 1));
  }
  wait_for_previous_kernel();
  if (base >= n16) return;
  int acc = 0;
#pragma unroll
  for (int i = 0; i < 8; ++i) acc ^= v[i].x ^ v[i].y ^ v[i].z ^ v[i].w;
  if (acc == 0x12345678) sink[0] = acc;
}

__global__ void fill_kernel(uint32_t* p, int64_t n, uint32_t seed) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    uint32_t h = static_cast<uint32_t>(i) * 2654435761u ^ seed;
    h ^= h >> 15;
    h *= 2246822519u;
    h ^= h >> 13;
    p[i] = h;
  }
}
__global__ void fill_scales(uint16_t* p, int64_t n, uint32_t seed) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    uint32_t h = static_cast<uint32_t>(i) * 2654435761u ^ seed;
    h ^= h >> 16;
    const float v = (static_cast<float>(h % 2001) - 1000.0f) * 2e-5f;
    p[i] = __half_as_ushort(__float2half(v));
  }
}
__global__ void fill_x(float* p, int n, uint32_t seed) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    uint32_t h = static_cast<uint32_t>(i) * 2654435761u ^ seed;
    h ^= h >> 16;
    p[i] = (static_cast<float>(h % 20001) - 10000.0f) * 1e-4f;
  }
}

struct DeviceMat {
  int4* q = nullptr;
  uint16_t* d = nullptr;
  int rows = 0, nb = 0;
  size_t bytes() const { return size_t(rows) * nb * 18; }
  Mat view() const { return Mat{q, d, rows, nb}; }
};

DeviceMat make_mat(int rows, int k, uint32_t seed) {
  DeviceMat m;
  m.rows = rows;
  m.nb = k / 32;
  const int64_t n = int64_t{rows} * m.nb;
  CHECK(cudaMalloc(&m.q, n * 16));
  CHECK(cudaMalloc(&m.d, n * 2));
  fill_kernel<<<1024, 256>>>(reinterpret_cast<uint32_t*>(m.q), n * 4, seed);
  fill_scales<<<1024, 256>>>(m.d, n, seed * 7 + 1);
  return m;
}

enum Kind { kQkv, kO, kGateUp, kDown, kHead, kKinds };
const char* kKindNames[] = {"qkv", "o", "gate_up", "down", "head"};

// One launch: the kernel, its block, its rows a block, its shared bytes.
struct Config {
  std::string name;
  const void* kernel;
  bool padded;
  int threads;
  int rows_per_block;
  int k;
  int xmode;
  bool qout;
  size_t extra_smem = 0;  // dynamic shared memory requested and unused
};

template <int W, int RW, int J, int S, bool kSwiglu, int XMODE, bool kQout = false,
          class P = Params, bool kChecks = false>
Config config(const char* name) {
  return Config{
      name,
      reinterpret_cast<const void*>(short_blocks<W, RW, J, S, kSwiglu, XMODE, kQout, P, kChecks>),
      std::is_same_v<P, PaddedParams>,
      W * 32,
      W / S * RW,
      J * S * 32 * 32,
      XMODE,
      kQout};
}

struct Plan {
  std::string name;
  Config c[kKinds];
};

struct Model {
  std::vector<DeviceMat> layer[kKinds];  // gate_up: pairs (gate, up) as 2 entries per layer
  DeviceMat head;
  float* x4096;
  float* x14336;
  int8_t* xq4096;
  float2* xs4096;
  int8_t* xq14336;
  float2* xs14336;
  float* y;  // 128256 floats
  float* yref;
  int8_t* yq;
  float2* ys;
};

Params params_for(const Model& md, Kind kind, int layer) {
  Params p{};
  if (kind == kHead) {
    p.w[0] = md.head.view();
  } else if (kind == kGateUp) {
    p.w[0] = md.layer[kGateUp][2 * layer].view();
    p.w[1] = md.layer[kGateUp][2 * layer + 1].view();
  } else {
    p.w[0] = md.layer[kind][layer].view();
  }
  const bool wide = kind == kDown;
  p.xq = wide ? md.xq14336 : md.xq4096;
  p.xs = wide ? md.xs14336 : md.xs4096;
  p.x = wide ? md.x14336 : md.x4096;
  p.y = md.y;
  p.yq = md.yq;
  p.ys = md.ys;
  return p;
}

void launch(const Config& c, const Params& p, cudaStream_t s, bool pdl) {
  cudaLaunchConfig_t cfg{};
  cfg.gridDim = dim3((p.w[0].rows + c.rows_per_block - 1) / c.rows_per_block);
  cfg.blockDim = dim3(c.threads);
  cfg.dynamicSmemBytes = (c.xmode >= 1 ? size_t(p.w[0].nb) * 40 : 0) + c.extra_smem;
  cfg.stream = s;
  cudaLaunchAttribute attr{};
  attr.id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attr.val.programmaticStreamSerializationAllowed = 1;
  cfg.attrs = &attr;
  cfg.numAttrs = pdl ? 1 : 0;
  PaddedParams padded{};
  padded.p = p;
  Params plain = p;
  void* args[] = {c.padded ? static_cast<void*>(&padded) : static_cast<void*>(&plain)};
  CHECK(cudaLaunchKernelExC(&cfg, c.kernel, args));
}

double graph_seconds(const std::function<void(cudaStream_t)>& record, int iters) {
  cudaStream_t s;
  CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  cudaGraph_t g;
  cudaGraphExec_t ge;
  CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
  record(s);
  CHECK(cudaStreamEndCapture(s, &g));
  CHECK(cudaGraphInstantiate(&ge, g, 0));
  cudaEvent_t a, b;
  CHECK(cudaEventCreate(&a));
  CHECK(cudaEventCreate(&b));
  for (int i = 0; i < 3; ++i) CHECK(cudaGraphLaunch(ge, s));
  std::vector<float> ms;
  for (int i = 0; i < iters; ++i) {
    CHECK(cudaEventRecord(a, s));
    CHECK(cudaGraphLaunch(ge, s));
    CHECK(cudaEventRecord(b, s));
    CHECK(cudaEventSynchronize(b));
    float t;
    CHECK(cudaEventElapsedTime(&t, a, b));
    ms.push_back(t);
  }
  std::sort(ms.begin(), ms.end());
  CHECK(cudaGraphExecDestroy(ge));
  CHECK(cudaGraphDestroy(g));
  CHECK(cudaStreamDestroy(s));
  return ms[ms.size() / 2] * 1e-3;
}

int layers_of(Kind k) {
  return k == kHead ? 1 : 32;
}

bool check(const Model& md, const Config& c, Kind kind) {
  const Params p = params_for(md, kind, 0);
  Params pr = p;
  pr.y = md.yref;
  reference_kernel<<<(p.w[0].rows + 127) / 128, 128>>>(pr, kind == kGateUp);
  CHECK(cudaMemset(md.y, 0, 128256 * 4));
  launch(c, p, 0, false);
  CHECK(cudaDeviceSynchronize());
  std::vector<float> y(p.w[0].rows), r(p.w[0].rows);
  CHECK(cudaMemcpy(y.data(), md.y, y.size() * 4, cudaMemcpyDeviceToHost));
  CHECK(cudaMemcpy(r.data(), md.yref, r.size() * 4, cudaMemcpyDeviceToHost));
  double maxdiff = 0, maxref = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    maxdiff = std::max(maxdiff, double(std::fabs(y[i] - r[i])));
    maxref = std::max(maxref, double(std::fabs(r[i])));
  }
  bool ok = maxdiff <= 1e-4 * maxref + 1e-6;
  if (c.qout) {  // the quantized outputs against quantize_x_kernel of y
    int8_t* q;
    float2* qs;
    const int n = p.w[0].rows;
    CHECK(cudaMalloc(&q, n));
    CHECK(cudaMalloc(&qs, n / 32 * 8));
    quantize_x_kernel<<<1, 256>>>(md.y, n, q, qs);
    std::vector<int8_t> a(n), b(n);
    CHECK(cudaMemcpy(a.data(), q, n, cudaMemcpyDeviceToHost));
    CHECK(cudaMemcpy(b.data(), md.yq, n, cudaMemcpyDeviceToHost));
    int bad = 0;
    for (int i = 0; i < n; ++i) bad += std::abs(a[i] - b[i]) > 1;
    if (bad > 0)
      std::printf("  CHECK FAILED %s: %d quantized outputs differ\n", c.name.c_str(), bad);
    ok = ok && bad == 0;
    CHECK(cudaFree(q));
    CHECK(cudaFree(qs));
  }
  if (!ok)
    std::printf("  CHECK FAILED %s %s: max diff %g of %g\n", c.name.c_str(), kKindNames[kind],
                maxdiff, maxref);
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  const int iters = argc > 1 ? std::atoi(argv[1]) : 20;
  cudaDeviceProp prop;
  CHECK(cudaGetDeviceProperties(&prop, 0));
  std::printf("device %s, %d SMs\n", prop.name, prop.multiProcessorCount);
  Model md;
  const int shapes[kKinds][2] = {
      {6144, 4096}, {4096, 4096}, {14336, 4096}, {4096, 14336}, {128256, 4096}};
  uint32_t seed = 1;
  size_t step_bytes = 0;
  for (int l = 0; l < 32; ++l) {
    for (int k = 0; k < kHead; ++k) {
      const int n = k == kGateUp ? 2 : 1;
      for (int i = 0; i < n; ++i) {
        md.layer[k].push_back(make_mat(shapes[k][0], shapes[k][1], seed++));
        step_bytes += md.layer[k].back().bytes();
      }
    }
  }
  md.head = make_mat(shapes[kHead][0], shapes[kHead][1], seed++);
  step_bytes += md.head.bytes();
  CHECK(cudaMalloc(&md.x4096, 4096 * 4));
  CHECK(cudaMalloc(&md.x14336, 14336 * 4));
  CHECK(cudaMalloc(&md.xq4096, 4096));
  CHECK(cudaMalloc(&md.xq14336, 14336));
  CHECK(cudaMalloc(&md.xs4096, 128 * 8));
  CHECK(cudaMalloc(&md.xs14336, 448 * 8));
  CHECK(cudaMalloc(&md.y, 128256 * 4));
  CHECK(cudaMalloc(&md.yref, 128256 * 4));
  CHECK(cudaMalloc(&md.yq, 128256));
  CHECK(cudaMalloc(&md.ys, 128256 / 32 * 8));
  fill_x<<<16, 256>>>(md.x4096, 4096, 11);
  fill_x<<<16, 256>>>(md.x14336, 14336, 12);
  quantize_x_kernel<<<1, 256>>>(md.x4096, 4096, md.xq4096, md.xs4096);
  quantize_x_kernel<<<1, 256>>>(md.x14336, 14336, md.xq14336, md.xs14336);
  CHECK(cudaDeviceSynchronize());
  std::printf("step weights %.3f GB\n", step_bytes / 1e9);

  // Copy ceiling: 4 GiB device to device (read + write), median of iters.
  {
    const size_t n = size_t{2} << 30;
    void *a, *b;
    CHECK(cudaMalloc(&a, n));
    CHECK(cudaMalloc(&b, n));
    const double t = graph_seconds(
        [&](cudaStream_t s) { CHECK(cudaMemcpyAsync(b, a, n, cudaMemcpyDeviceToDevice, s)); },
        iters);
    std::printf("copy ceiling: %.1f GB/s (2 GiB copied, %.3f ms)\n", 2.0 * n / t / 1e9, t * 1e3);
    CHECK(cudaFree(a));
    CHECK(cudaFree(b));
  }
  int* sink;
  CHECK(cudaMalloc(&sink, 4));
  // The read-only bar over the same buffers (quants and scales as separate reads).
  const auto read_mat = [&](const DeviceMat& m, cudaStream_t s) {
    cudaLaunchConfig_t cfg{};
    cudaLaunchAttribute attr{};
    attr.id = cudaLaunchAttributeProgrammaticStreamSerialization;
    attr.val.programmaticStreamSerializationAllowed = 1;
    cfg.attrs = &attr;
    cfg.numAttrs = 1;
    cfg.blockDim = dim3(128);
    cfg.stream = s;
    const int64_t n16 = int64_t{m.rows} * m.nb + int64_t{m.rows} * m.nb / 8;
    cfg.gridDim = dim3(static_cast<unsigned>((n16 + 1023) / 1024));
    // Quants then scales are one allocation each; read them as one range of quants' size + 1/8.
    CHECK(cudaLaunchKernelEx(&cfg, read_kernel, static_cast<const int4*>(m.q),
                             int64_t{m.rows} * m.nb, sink));
    const int64_t d16 = int64_t{m.rows} * m.nb / 8;
    cfg.gridDim = dim3(static_cast<unsigned>((d16 + 1023) / 1024));
    CHECK(cudaLaunchKernelEx(&cfg, read_kernel, reinterpret_cast<const int4*>(m.d), d16, sink));
  };
  {
    const double t = graph_seconds(
        [&](cudaStream_t s) {
          for (int l = 0; l < 32; ++l) {
            for (int k = 0; k < kHead; ++k) {
              for (size_t i = 0; i < (k == kGateUp ? 2u : 1u); ++i)
                read_mat(md.layer[k][k == kGateUp ? 2 * l + i : l], s);
            }
          }
          read_mat(md.head, s);
        },
        iters);
    std::printf(
        "read-only chain (quants and scales as separate launches, 322): %.3f ms = %.1f GB/s\n",
        t * 1e3, step_bytes / t / 1e9);
  }

  std::vector<Plan> plans;
  plans.push_back(
      {"A: 4 warps x 2 rows, down S=2",
       {config<4, 2, 4, 1, false, 0>("4w2r"), config<4, 2, 4, 1, false, 0>("4w2r"),
        config<4, 1, 4, 1, true, 0>("4w1r-swiglu"), config<4, 1, 7, 2, false, 0>("4w1r-S2"),
        config<4, 2, 4, 1, false, 0>("4w2r")}});
  plans.push_back(
      {"B: 4 warps x 4 rows, gate/up 2 rows, down 2 rows S=2",
       {config<4, 4, 4, 1, false, 0>("4w4r"), config<4, 4, 4, 1, false, 0>("4w4r"),
        config<4, 2, 4, 1, true, 0>("4w2r-swiglu"), config<4, 2, 7, 2, false, 0>("4w2r-S2"),
        config<4, 4, 4, 1, false, 0>("4w4r")}});
  plans.push_back(
      {"C: 8 warps x 2 rows, down 1 row J=14",
       {config<8, 2, 4, 1, false, 0>("8w2r"), config<8, 2, 4, 1, false, 0>("8w2r"),
        config<8, 1, 4, 1, true, 0>("8w1r-swiglu"), config<8, 1, 14, 1, false, 0>("8w1r-J14"),
        config<8, 2, 4, 1, false, 0>("8w2r")}});
  plans.push_back(
      {"F: 8 warps x 4 rows (32 rows a block), gate/up 2, down S=2 2 rows",
       {config<8, 4, 4, 1, false, 0>("8w4r"), config<8, 4, 4, 1, false, 0>("8w4r"),
        config<8, 2, 4, 1, true, 0>("8w2r-swiglu"), config<8, 2, 7, 2, false, 0>("8w2r-S2"),
        config<8, 4, 4, 1, false, 0>("8w4r")}});

  plans.push_back(
      {"G: plan F, x quantized by every block (loads at once)",
       {config<8, 4, 4, 1, false, 2>("8w4r-x2"), config<8, 4, 4, 1, false, 2>("8w4r-x2"),
        config<8, 2, 4, 1, true, 2>("8w2r-swiglu-x2"), config<8, 2, 7, 2, false, 2>("8w2r-S2-x2"),
        config<8, 4, 4, 1, false, 2>("8w4r-x2")}});
  plans.push_back(
      {"H: plan B, x quantized by every block (loads at once)",
       {config<4, 4, 4, 1, false, 2>("4w4r-x2"), config<4, 4, 4, 1, false, 2>("4w4r-x2"),
        config<4, 2, 4, 1, true, 2>("4w2r-swiglu-x2"), config<4, 2, 7, 2, false, 2>("4w2r-S2-x2"),
        config<4, 4, 4, 1, false, 2>("4w4r-x2")}});
  plans.push_back(
      {"I: 32-row blocks quantize their outputs (o, gate/up 16 warps), down F's",
       {config<8, 4, 4, 1, false, 0, true>("8w4r-qout"),
        config<8, 4, 4, 1, false, 0, true>("8w4r-qout"),
        config<16, 2, 4, 1, true, 0, true>("16w2r-swiglu-qout"),
        config<8, 2, 7, 2, false, 0>("8w2r-S2"), config<8, 4, 4, 1, false, 0, true>("8w4r-qout")}});
  plans.push_back(
      {"J: the buildable mix: q/k/v and head quantize x, o and gate/up their outputs",
       {config<8, 4, 4, 1, false, 2>("8w4r-x2"), config<8, 4, 4, 1, false, 0, true>("8w4r-qout"),
        config<16, 2, 4, 1, true, 0, true>("16w2r-swiglu-qout"),
        config<8, 2, 7, 2, false, 0>("8w2r-S2"), config<4, 4, 4, 1, false, 2>("4w4r-x2")}});
  plans.push_back(
      {"K: plan B with gate/up in 16-warp blocks of 32 rows",
       {config<4, 4, 4, 1, false, 0>("4w4r"), config<4, 4, 4, 1, false, 0>("4w4r"),
        config<16, 2, 4, 1, true, 0>("16w2r-swiglu"), config<4, 2, 7, 2, false, 0>("4w2r-S2"),
        config<4, 4, 4, 1, false, 0>("4w4r")}});

  plans.push_back({"K+pad: plan K with a kernel argument of hearth's Batch size",
                   {config<4, 4, 4, 1, false, 0, false, PaddedParams>("4w4r-pad"),
                    config<4, 4, 4, 1, false, 0, false, PaddedParams>("4w4r-pad"),
                    config<16, 2, 4, 1, true, 0, false, PaddedParams>("16w2r-swiglu-pad"),
                    config<4, 2, 7, 2, false, 0, false, PaddedParams>("4w2r-S2-pad"),
                    config<4, 4, 4, 1, false, 0, false, PaddedParams>("4w4r-pad")}});
  {
    Plan smem = *std::find_if(plans.begin(), plans.end(),
                              [](const Plan& p) { return p.name.rfind("K:", 0) == 0; });
    smem.name = "K+smem: plan K, every block asking for 5 KB of shared memory it does not use";
    for (Config& c : smem.c) c.extra_smem = 5120;
    plans.push_back(smem);
    Plan mixed = smem;
    mixed.name = "K+smem(gate/up): plan K, gate/up alone asking for 5 KB";
    for (int k = 0; k < kKinds; ++k) mixed.c[k].extra_smem = k == kGateUp ? 5120 : 0;
    plans.push_back(mixed);
  }
  plans.push_back({"K+checks: plan K with hearth's bounds handling",
                   {config<4, 4, 4, 1, false, 0, false, Params, true>("4w4r-chk"),
                    config<4, 4, 4, 1, false, 0, false, Params, true>("4w4r-chk"),
                    config<16, 2, 4, 1, true, 0, false, Params, true>("16w2r-swiglu-chk"),
                    config<4, 2, 7, 2, false, 0, false, Params, true>("4w2r-S2-chk"),
                    config<4, 4, 4, 1, false, 0, false, Params, true>("4w4r-chk")}});

  for (const Plan& plan : plans) {
    bool ok = true;
    for (int k = 0; k < kKinds; ++k) {
      CHECK(cudaFuncSetAttribute(plan.c[k].kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                 64 * 1024));
      ok = check(md, plan.c[k], static_cast<Kind>(k)) && ok;
    }
    std::printf("%s%s\n", plan.name.c_str(), ok ? "" : "  (WRONG RESULTS)");
    for (bool pdl : {true, false}) {
      const double t = graph_seconds(
          [&](cudaStream_t s) {
            for (int l = 0; l < 32; ++l) {
              for (int k = 0; k < kHead; ++k)
                launch(plan.c[k], params_for(md, static_cast<Kind>(k), l), s, pdl);
            }
            launch(plan.c[kHead], params_for(md, kHead, 0), s, pdl);
          },
          iters);
      std::printf("  step%s: %.3f ms = %.1f GB/s\n", pdl ? "" : " (no PDL)", t * 1e3,
                  step_bytes / t / 1e9);
    }
    for (int k = 0; k < kKinds; ++k) {
      const Kind kind = static_cast<Kind>(k);
      const double t = graph_seconds(
          [&](cudaStream_t s) {
            for (int l = 0; l < layers_of(kind); ++l)
              launch(plan.c[k], params_for(md, kind, l), s, true);
          },
          iters);
      const Params p = params_for(md, kind, 0);
      const double bytes = double(p.w[0].rows) * p.w[0].nb * 18 * (kind == kGateUp ? 2 : 1);
      int per_sm = 0;
      CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(
          &per_sm, plan.c[k].kernel, plan.c[k].threads, plan.c[k].xmode >= 1 ? p.w[0].nb * 40 : 0));
      cudaFuncAttributes fa;
      CHECK(cudaFuncGetAttributes(&fa, plan.c[k].kernel));
      std::printf("    %-8s %-16s %7.2f us each, %6.1f GB/s (%d regs, %d blocks/SM, %d blocks)\n",
                  kKindNames[k], plan.c[k].name.c_str(), t / layers_of(kind) * 1e6,
                  bytes / (t / layers_of(kind)) / 1e9, fa.numRegs, per_sm,
                  (p.w[0].rows + plan.c[k].rows_per_block - 1) / plan.c[k].rows_per_block);
    }
  }
  // hearth's matvecs in the same chains: the resident kernel (matvec_short 0) and the short
  // blocks (15), plain and with the decode fusions of a real step (norm in front of q/k/v,
  // gate/up and head, residual behind o and down; with the short blocks o hands gate/up its
  // residual row quantized, times the norm's weight, and gate/up hands down its output).
  {
    using namespace hearth::cuda;
    CHECK(matvec_init());
    float *xa, *xb, *norm_w, *norm_out, *resid, *h;
    CHECK(cudaMalloc(&xa, 14336 * 4));
    CHECK(cudaMalloc(&xb, 14336 * 4));
    CHECK(cudaMalloc(&norm_w, 4096 * 4));
    CHECK(cudaMalloc(&norm_out, 4096 * 4));
    CHECK(cudaMalloc(&resid, 4096 * 4));
    CHECK(cudaMalloc(&h, 14336 * 4));
    fill_x<<<16, 256>>>(xa, 14336, 21);
    fill_x<<<16, 256>>>(norm_w, 4096, 22);
    fill_x<<<16, 256>>>(resid, 4096, 23);
    QuantizedRow handoff{md.yq, md.ys};  // gate/up -> down
    QuantizedRow normed;                 // o -> gate/up
    CHECK(cudaMalloc(&normed.q, 4096));
    CHECK(cudaMalloc(&normed.scales, 128 * sizeof(float2)));
    CHECK(cudaMalloc(&normed.sum_squares, 128 * sizeof(float)));
    QuantizedRow handoff_plain{md.xq4096, md.xs4096};  // x of 4096 quantized, no norm
    const auto dm = [](const DeviceMat& m) {
      DeviceMatrix d;
      d.format = WeightFormat::kQ4_0;
      d.rows = m.rows;
      d.cols = int64_t{m.nb} * 32;
      d.quants = m.q;
      d.scales = m.d;
      return d;
    };
    for (bool fused : {false, true}) {
      for (int mask : {0, 15}) {
        LaunchContext ctx;
        ctx.pdl = true;
        ctx.sm_count = prop.multiProcessorCount;
        ctx.tuning.matvec_short = mask;
        const auto one = [&](Kind kind, int l, cudaStream_t s) {
          ctx.stream = s;
          MatvecFusion f;
          if (fused && (kind == kQkv || kind == kGateUp || kind == kHead)) {
            f.norm_weight = norm_w;
            f.norm_out = norm_out;
            f.norm_eps = 1e-5f;
          }
          if (fused && (kind == kO || kind == kDown)) {
            f.residual_in = resid;
            f.residual_out = resid;
          }
          cudaError_t e;
          const bool handoffs = fused && mask != 0;
          if (kind == kGateUp) {
            if (handoffs) {
              f.quantized_out = &handoff;
              f.quantized_x = &normed;
            }
            e = matvec_swiglu(ctx, xa, dm(md.layer[kGateUp][2 * l]),
                              dm(md.layer[kGateUp][2 * l + 1]), h, f);
          } else {
            if (handoffs && kind == kDown) f.quantized_x = &handoff;
            if (handoffs && kind == kO) {
              f.quantized_out = &normed;
              f.quantized_out_norm_weight = norm_w;
            }
            MatvecTarget t;
            t.w = kind == kHead ? dm(md.head) : dm(md.layer[kind][l]);
            t.y = kind == kDown || kind == kO ? xb : md.y;
            e = matvec(ctx, kind == kDown ? h : xa, &t, 1, f);
          }
          CHECK(e);
        };
        const double t = graph_seconds(
            [&](cudaStream_t s) {
              for (int l = 0; l < 32; ++l) {
                for (int k = 0; k < kHead; ++k) one(static_cast<Kind>(k), l, s);
              }
              one(kHead, 0, s);
            },
            iters);
        std::printf("hearth matvecs, %s kernels%s: step %.3f ms = %.1f GB/s\n",
                    mask == 0 ? "resident" : "short-block", fused ? ", decode fusions" : "",
                    t * 1e3, step_bytes / t / 1e9);
        for (int k = 0; k < kKinds; ++k) {
          const Kind kind = static_cast<Kind>(k);
          const double tk = graph_seconds(
              [&](cudaStream_t s) {
                for (int l = 0; l < layers_of(kind); ++l) one(kind, l, s);
              },
              iters);
          std::printf("    %-8s %7.2f us each\n", kKindNames[k], tk / layers_of(kind) * 1e6);
        }
      }
    }
    // hearth's short gate/up (mask 15), fusion by fusion, in chains of 32: what each costs.
    {
      LaunchContext ctx;
      ctx.pdl = true;
      ctx.sm_count = prop.multiProcessorCount;
      ctx.tuning.matvec_short = 15;
      {  // fill o's handed-over row (and its sums of squares) once
        MatvecFusion f;
        f.residual_in = resid;
        f.residual_out = resid;
        f.quantized_out = &normed;
        f.quantized_out_norm_weight = norm_w;
        MatvecTarget t;
        t.w = dm(md.layer[kO][0]);
        t.y = xb;
        CHECK(matvec(ctx, xa, &t, 1, f));
        CHECK(cudaDeviceSynchronize());
      }
      struct Variant {
        const char* name;
        bool qx, norm, qout;
      };
      for (const Variant& v :
           {Variant{"x quantized in the block", false, false, false},
            Variant{"x quantized in the block with the norm", false, true, false},
            Variant{"x handed over", true, false, false},
            Variant{"x handed over, output quantized", true, false, true},
            Variant{"x handed over with the norm", true, true, false},
            Variant{"x handed over with the norm, output quantized", true, true, true}}) {
        const double t = graph_seconds(
            [&](cudaStream_t s) {
              ctx.stream = s;
              for (int l = 0; l < 32; ++l) {
                MatvecFusion f;
                if (v.norm) {
                  f.norm_weight = norm_w;
                  f.norm_out = norm_out;
                  f.norm_eps = 1e-5f;
                }
                if (v.qx) f.quantized_x = &normed;
                if (v.qout) f.quantized_out = &handoff;
                if (v.qx && !v.norm) f.quantized_x = &handoff_plain;
                CHECK(matvec_swiglu(ctx, xa, dm(md.layer[kGateUp][2 * l]),
                                    dm(md.layer[kGateUp][2 * l + 1]), h, f));
              }
            },
            iters);
        std::printf("hearth short gate/up, %-46s %7.2f us each\n", v.name, t / 32 * 1e6);
      }
    }
  }
  return 0;
}
