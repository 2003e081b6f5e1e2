// Chained decode matvecs: a layer's o projection, gate/up and down projection and the next
// layer's q/k/v (each with its fused norm, residual add or rope) in one launch instead of four.
// Each separate launch pays a fixed cost of several microseconds (docs/PERFORMANCE.md: the
// previous kernel's tail, the block ramp, the wait for its completion), against 2-16 us of
// weight bytes; here one block per multiprocessor runs every step, and between steps waits at a
// grid barrier after loading its first weight rounds of the next step, so the memory system
// stays busy through what was the boundary. Each step runs the single-launch kernel's code
// (matvec_rows.cuh) with the same rows per warp and block size, so the results are the same bits.
#include "backend/cuda/kernels/matvec_rows.cuh"

namespace hearth::cuda {
namespace matvec_detail {
namespace {

constexpr int kChainWarps = 24;

struct Chain {
  Batch phase[kMaxMatvecChain];
  uint8_t rows_per_group[kMaxMatvecChain];
  int n_phases;
  int barrier_mode;    // tuning.matvec_chain_barrier
  unsigned* arrived;   // blocks that reached each barrier, summed over the chain's barriers
  unsigned* departed;  // blocks done with every barrier; the last one resets both
  unsigned* sequence;  // mode 4: advanced by 4 a chain; barrier P waits for flags = sequence + P
  unsigned* flags;     // mode 4: a flag per block
};

// Every write before the barrier, by any block, is visible to every block after it: a block
// barrier, one thread's release add and acquire spin, a block barrier (the pattern of a grid
// sync). Needs every block resident at once, which the launch guarantees (grid = resident
// blocks, cooperative by default).
__device__ __forceinline__ void barrier_arrive(unsigned* arrived) {
  asm volatile("red.release.gpu.global.add.u32 [%0], 1;" ::"l"(arrived) : "memory");
}
__device__ __forceinline__ void barrier_wait(const unsigned* arrived, unsigned target) {
  unsigned seen = 0;
  do {
    asm volatile("ld.acquire.gpu.global.u32 %0, [%1];" : "=r"(seen) : "l"(arrived) : "memory");
  } while (seen < target);
}

// Mode 4's barrier: each block raises its own flag (no two blocks' atomics on one address), and
// warp 0 of every block waits until every flag has reached the barrier's value.
__device__ __forceinline__ void flag_raise(unsigned* flag, unsigned value) {
  asm volatile("st.release.gpu.global.u32 [%0], %1;" ::"l"(flag), "r"(value) : "memory");
}
__device__ __forceinline__ void flags_wait(const unsigned* flags, unsigned value) {
  const unsigned lane = threadIdx.x & 31;
  bool all = false;
  while (!all) {
    bool mine = true;
    for (unsigned b = lane; b < gridDim.x; b += 32) {
      unsigned seen = 0;
      asm volatile("ld.acquire.gpu.global.u32 %0, [%1];" : "=r"(seen) : "l"(flags + b) : "memory");
      mine = mine && static_cast<int>(seen - value) >= 0;
    }
    all = __all_sync(0xffffffffu, mine);
  }
}

// How a phase meets its barrier (tuning.matvec_chain_barrier; measured in docs/PERFORMANCE.md):
//  0: the first weight rounds loaded, then thread 0 arrives and waits;
//  1: the same, by lane 0 of the last warp, which loads its first rounds after the barrier
//     (its release then waits for no loads in flight);
//  2: thread 0 arrives before the loads are issued and waits after;
//  3: every warp loads its first rounds after the barrier;
//  4: as 2, with a flag per block instead of one counter (flag_raise, flags_wait).
// Phase P of a chain, of R rows per warp (gate/up with silu when kSwiglu). Phase indices and
// shapes are template arguments: with the Batch at a constant offset of the kernel's parameters
// each phase compiles as the single-launch kernel does (a phase loop with a runtime index
// spills kilobytes).
template <int P, int R, bool kSwiglu>
__device__ __forceinline__ void run_phase(const Chain& chain, unsigned char* smem,
                                          unsigned& sequence) {
  // A rope phase fills its table before its barrier: never while the block may still read the
  // table of a rope phase just before it.
  if constexpr (P > 0) {
    if (chain.phase[P].rope_position != nullptr && chain.phase[P - 1].rope_position != nullptr) {
      __syncthreads();
    }
  }
  const int mode = chain.barrier_mode;
  const unsigned who = mode == 1 ? (kChainWarps - 1) * 32 : 0;
  const bool early = P == 0 || !(mode == 3 || (mode == 1 && threadIdx.x / 32 == who / 32));
  const unsigned target = static_cast<unsigned>(P) * gridDim.x;
  quantized_matvec<WeightFormat::kQ4_0, R, kSwiglu, kChainWarps>(
      chain.phase[P], smem,
      [&] {
        if (P > 0 && mode == 2) {
          __syncthreads();
          if (threadIdx.x == who) barrier_arrive(chain.arrived);
        } else if (P > 0 && mode == 4) {
          __syncthreads();
          if (threadIdx.x == 0) flag_raise(chain.flags + blockIdx.x, sequence + P);
        }
      },
      [&] {
        if constexpr (P == 0) {
          wait_for_previous_kernel();
          if (threadIdx.x == 0) sequence = *static_cast<volatile unsigned*>(chain.sequence);
        } else if (mode == 4) {
          if (threadIdx.x < 32) flags_wait(chain.flags, sequence + P);
          __syncthreads();
        } else {
          if (mode != 2) {
            __syncthreads();
            if (threadIdx.x == who) barrier_arrive(chain.arrived);
          }
          if (threadIdx.x == who) barrier_wait(chain.arrived, target);
          __syncthreads();
        }
      },
      early);
}

// A phase's shape as one number: rows per warp * 2, + 1 for gate/up (2: 1 row, 3: 1 row
// gate/up, 4: 2 rows, 5: 2 rows gate/up). Chains take phases of 1 or 2 rows per warp (4 rows
// wins the plan only on exact ties of large matrices; such a step runs on its own).
constexpr int phase_code(int rows_per_group, bool swiglu) {
  return rows_per_group * 2 + (swiglu ? 1 : 0);
}

template <int P, int Code, int... Rest>
__device__ __forceinline__ void run_phases(const Chain& chain, unsigned char* smem,
                                           unsigned& sequence) {
  run_phase<P, Code / 2, (Code & 1) != 0>(chain, smem, sequence);
  if constexpr (sizeof...(Rest) > 0) run_phases<P + 1, Rest...>(chain, smem, sequence);
}

template <int... Codes>
__global__ void __launch_bounds__(kChainWarps * 32, 1)
    matvec_chain_kernel(const __grid_constant__ Chain chain) {
  extern __shared__ __align__(16) unsigned char smem[];
  allow_next_kernel();
  __shared__ unsigned sequence;  // the chain's sequence number (mode 4)
  run_phases<0, Codes...>(chain, smem, sequence);
  // Every block that departs has passed every barrier, so the last one can reset the counters
  // for the next chain (which reads them only after this grid has completed).
  if (threadIdx.x == 0) {
    if (atomicAdd(chain.departed, 1u) == gridDim.x - 1) {
      atomicExch(chain.arrived, 0u);
      atomicExch(chain.departed, 0u);
      atomicAdd(chain.sequence, 4u);
    }
  }
}

// The instantiated chains: every pair of phases, and four phases in a decoder layer's order
// (o projection, gate/up, down projection, the next layer's q/k/v or the output head).
struct ChainKernel {
  int n;
  int codes[kMaxMatvecChain];
  void (*kernel)(Chain);
};
template <int... C>
constexpr ChainKernel chain_kernel() {
  return {static_cast<int>(sizeof...(C)), {C...}, matvec_chain_kernel<C...>};
}
#define HEARTH_CHAIN_PAIRS(A) \
  chain_kernel<A, 2>(), chain_kernel<A, 3>(), chain_kernel<A, 4>(), chain_kernel<A, 5>()
#define HEARTH_CHAIN_LAYERS(O, G)                                                     \
  chain_kernel<O, G, 2, 2>(), chain_kernel<O, G, 2, 4>(), chain_kernel<O, G, 4, 2>(), \
      chain_kernel<O, G, 4, 4>()
const ChainKernel kChainKernels[] = {
    HEARTH_CHAIN_PAIRS(2),     HEARTH_CHAIN_PAIRS(3),     HEARTH_CHAIN_PAIRS(4),
    HEARTH_CHAIN_PAIRS(5),     HEARTH_CHAIN_LAYERS(2, 3), HEARTH_CHAIN_LAYERS(2, 5),
    HEARTH_CHAIN_LAYERS(4, 3), HEARTH_CHAIN_LAYERS(4, 5),
};
#undef HEARTH_CHAIN_PAIRS
#undef HEARTH_CHAIN_LAYERS

const ChainKernel* find_chain_kernel(const int* codes, int n) {
  for (const ChainKernel& k : kChainKernels) {
    if (k.n == n && std::equal(codes, codes + n, k.codes)) return &k;
  }
  return nullptr;
}

constexpr size_t kMaxChainSharedBytes = 200 * 1024;

// The step's Batch and plan; its phase code, or 0 where it cannot be a chain's phase.
int plan_phase(const LaunchContext& ctx, const MatvecStep& step, Batch& batch, MatvecPlan& plan) {
  if (!batch_of_step(step, batch) || batch.w[0].format != WeightFormat::kQ4_0 ||
      plan_matvec(ctx, batch, plan) != cudaSuccess || plan.warps != kChainWarps ||
      plan.rows_per_group > 2) {
    return 0;
  }
  return phase_code(plan.rows_per_group, batch.swiglu);
}

struct PlannedStep {
  Batch batch;
  MatvecPlan plan;
  int code = 0;
};

cudaError_t launch_chain(const LaunchContext& ctx, const ChainKernel& kernel,
                         const PlannedStep* steps, unsigned* barrier) {
  Chain chain{};
  chain.n_phases = kernel.n;
  chain.barrier_mode = ctx.tuning.matvec_chain_barrier;
  chain.arrived = barrier;
  chain.departed = barrier + 1;
  chain.sequence = barrier + 2;
  chain.flags = barrier + 4;
  size_t smem = 0, table_at = 0;
  for (int p = 0; p < kernel.n; ++p) {
    chain.phase[p] = steps[p].batch;
    chain.rows_per_group[p] = static_cast<uint8_t>(steps[p].plan.rows_per_group);
    smem = std::max(smem, steps[p].plan.shared_bytes);
    table_at = std::max(table_at, rope_table_offset(chain.phase[p].k));
  }
  for (int p = 0; p < kernel.n; ++p) {  // rope tables past every phase's x
    Batch& b = chain.phase[p];
    if (b.rope_position == nullptr) continue;
    b.rope_table_at = static_cast<uint32_t>(table_at);
    smem = std::max(smem, table_at + static_cast<size_t>(b.rope_dim / 2) * sizeof(double2));
  }
  if (smem > kMaxChainSharedBytes) return cudaErrorInvalidValue;
  int per_sm = 0;
  if (const cudaError_t e = cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel.kernel,
                                                                          kChainWarps * 32, smem);
      e != cudaSuccess) {
    return e;
  }
  if (per_sm < 1 || per_sm * ctx.sm_count > kMaxChainBlocks) return cudaErrorInvalidValue;
  cudaLaunchConfig_t cfg{};
  cfg.gridDim = dim3(static_cast<unsigned>(per_sm * ctx.sm_count));
  cfg.blockDim = dim3(kChainWarps * 32);
  cfg.dynamicSmemBytes = smem;
  cfg.stream = ctx.stream;
  cudaLaunchAttribute attrs[2]{};
  unsigned n_attrs = 0;
  if (ctx.pdl) {
    attrs[n_attrs].id = cudaLaunchAttributeProgrammaticStreamSerialization;
    attrs[n_attrs++].val.programmaticStreamSerializationAllowed = 1;
  }
  if (ctx.tuning.matvec_chain_cooperative) {
    attrs[n_attrs].id = cudaLaunchAttributeCooperative;
    attrs[n_attrs++].val.cooperative = 1;
  }
  cfg.attrs = attrs;
  cfg.numAttrs = n_attrs;
  return cudaLaunchKernelEx(&cfg, kernel.kernel, chain);
}

}  // namespace

cudaError_t matvec_chain_init() {
  for (const ChainKernel& k : kChainKernels) {
    const cudaError_t e =
        cudaFuncSetAttribute(k.kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                             static_cast<int>(kMaxChainSharedBytes));
    if (e != cudaSuccess) return e;
  }
  return cudaSuccess;
}

}  // namespace matvec_detail

using namespace matvec_detail;

bool matvec_chainable(const LaunchContext& ctx, const MatvecStep& step) {
  Batch batch;
  MatvecPlan plan;
  return plan_phase(ctx, step, batch, plan) != 0;
}

// The longest instantiated chain from each step on (4 phases, else 2); a step no chain takes
// runs as its own launch.
cudaError_t matvec_chain(const LaunchContext& ctx, const MatvecStep* steps, int n_steps,
                         unsigned* barrier, int* chains) {
  if (n_steps < 0 || n_steps > kMaxMatvecChain || barrier == nullptr) return cudaErrorInvalidValue;
  PlannedStep planned[kMaxMatvecChain];
  for (int i = 0; i < n_steps; ++i) {
    planned[i].code = plan_phase(ctx, steps[i], planned[i].batch, planned[i].plan);
  }
  for (int i = 0; i < n_steps;) {
    const ChainKernel* kernel = nullptr;
    for (int n : {4, 2}) {
      if (kernel != nullptr || i + n > n_steps) continue;
      int codes[kMaxMatvecChain] = {};
      bool all = true;
      for (int j = 0; j < n; ++j) {
        codes[j] = planned[i + j].code;
        all = all && codes[j] != 0;
      }
      if (all) kernel = find_chain_kernel(codes, n);
    }
    if (kernel != nullptr) {
      if (const cudaError_t e = launch_chain(ctx, *kernel, planned + i, barrier);
          e != cudaSuccess) {
        return e;
      }
      if (chains != nullptr) ++*chains;
      i += kernel->n;
      continue;
    }
    if (const cudaError_t e = matvec_step(ctx, steps[i]); e != cudaSuccess) return e;
    ++i;
  }
  return cudaSuccess;
}

}  // namespace hearth::cuda
