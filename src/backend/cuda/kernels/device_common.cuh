// Device-side helpers shared by the kernel files: programmatic dependent launch, warp
// reductions, half/bfloat16 conversions. Included by .cu files only.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <type_traits>
#include <utility>

namespace hearth::cuda {

// Programmatic dependent launch (Hopper): a kernel launched with the PDL attribute may start
// while the previous kernel in the stream is still running. Every kernel therefore waits for
// its predecessor before it reads anything the predecessor may write (or writes anything it
// may read), and lets its successor start early. Both are no-ops without the attribute.
__device__ __forceinline__ void wait_for_previous_kernel() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}
__device__ __forceinline__ void allow_next_kernel() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;" :::);
#endif
}

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Sum over the block (blockDim.x a multiple of 32, at most 1024); every thread gets the total.
// `scratch` holds 32 floats; the call begins and ends with a barrier so it can be reused.
__device__ __forceinline__ float block_sum(float v, float* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  v = warp_sum(v);
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  const int n_warps = blockDim.x >> 5;
  float total = lane < n_warps ? scratch[lane] : 0.0f;
  total = warp_sum(total);
  return total;
}

// Streaming loads of data read once per kernel (weights, cached keys and values): no L1
// allocation, and volatile, so the compiler keeps each load where it is written (issued a round
// ahead of its use) instead of sinking it to the use to save registers, which would serialise
// the memory latency.
__device__ __forceinline__ int4 load_stream(const int4* p) {
  int4 v;
  asm volatile("ld.global.nc.L1::no_allocate.v4.s32 {%0, %1, %2, %3}, [%4];"
               : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
               : "l"(p));
  return v;
}
__device__ __forceinline__ uint16_t load_stream(const uint16_t* p) {
  unsigned short v;
  asm volatile("ld.global.nc.L1::no_allocate.u16 %0, [%1];" : "=h"(v) : "l"(p));
  return v;
}
__device__ __forceinline__ float4 load_stream(const float4* p) {
  float4 v;
  asm volatile("ld.global.nc.L1::no_allocate.v4.f32 {%0, %1, %2, %3}, [%4];"
               : "=f"(v.x), "=f"(v.y), "=f"(v.z), "=f"(v.w)
               : "l"(p));
  return v;
}

__device__ __forceinline__ unsigned int load_stream(const unsigned int* p) {
  unsigned int v;
  asm volatile("ld.global.nc.L1::no_allocate.u32 %0, [%1];" : "=r"(v) : "l"(p));
  return v;
}
__device__ __forceinline__ uint2 load_stream(const uint2* p) {
  uint2 v;
  asm volatile("ld.global.nc.L1::no_allocate.v2.u32 {%0, %1}, [%2];"
               : "=r"(v.x), "=r"(v.y)
               : "l"(p));
  return v;
}

// A KV cache element from f32 (round to nearest for f16).
template <typename KV>
__device__ __forceinline__ KV to_kv(float x) {
  if constexpr (std::is_same_v<KV, __half>) {
    return __float2half_rn(x);
  } else {
    return x;
  }
}

// One rope pair (x0, x1) turned by the angle of cosine c and sine s: in double, each product
// and the sum rounded on its own (no fused multiply-add), as the reference computes it, so every
// kernel that rotates (rope, rope_qk_store, the q/k/v matvec) gives the same floats.
__device__ __forceinline__ float rope_first(double x0, double x1, double c, double s) {
  return static_cast<float>(__dsub_rn(__dmul_rn(x0, c), __dmul_rn(x1, s)));
}
__device__ __forceinline__ float rope_second(double x0, double x1, double c, double s) {
  return static_cast<float>(__dadd_rn(__dmul_rn(x0, s), __dmul_rn(x1, c)));
}

__device__ __forceinline__ float half_bits_to_float(uint16_t h) {
  return __half2float(__ushort_as_half(h));
}
__device__ __forceinline__ float bf16_bits_to_float(uint16_t h) {
  return __uint_as_float(static_cast<uint32_t>(h) << 16);
}

}  // namespace hearth::cuda

namespace hearth::cuda {

// Launches `kernel` on ctx's stream, with programmatic dependent launch when ctx.pdl is set
// (the kernel must then call wait_for_previous_kernel() before touching shared data).
template <typename Ctx, typename... KernelArgs, typename... Args>
cudaError_t launch_kernel(const Ctx& ctx, void (*kernel)(KernelArgs...), dim3 grid, dim3 block,
                          size_t shared_bytes, Args&&... args) {
  cudaLaunchConfig_t cfg{};
  cfg.gridDim = grid;
  cfg.blockDim = block;
  cfg.dynamicSmemBytes = shared_bytes;
  cfg.stream = ctx.stream;
  cudaLaunchAttribute attr{};
  attr.id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attr.val.programmaticStreamSerializationAllowed = 1;
  cfg.attrs = &attr;
  cfg.numAttrs = ctx.pdl ? 1 : 0;
  return cudaLaunchKernelEx(&cfg, kernel, std::forward<Args>(args)...);
}

}  // namespace hearth::cuda
