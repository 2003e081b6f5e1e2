// Decode matvecs of quantized weights staged in shared memory by Hopper bulk copies
// (cp.async.bulk), for one token. Why a second kernel: matvec.cu's keeps its weight rounds in
// registers, so it needs 24 warps of a multiprocessor to have enough bytes in flight, and the
// next launch's block cannot start until that one is gone: every launch begins on an idle bus
// (its ramp, the wait for its predecessor, quantizing x). Here one producer warp keeps a ring of
// stages full (as many bytes in flight as the ring holds, whatever the warps), so a block of
// eight consumer warps can stream at the bus rate, and two blocks fit a multiprocessor: the next
// launch's block is resident while this one runs and fills its ring before it waits for this
// kernel (programmatic dependent launch).
//
// Work: the row groups (R rows each, as in matvec.cu, so the rope's pairs and the epilogue are
// matvec.cu's) are split evenly over one block per multiprocessor. A block takes them
// kConsumers at a time (a set: one group per consumer warp), each set in chunks of kChunk weight
// blocks; a stage is one (set, chunk): every group row's quants and scales (and mins) of the
// chunk, for gate and up both with swiglu. Lane l does the chunk's blocks l and l + 32, so each
// lane adds its blocks in matvec.cu's order (l, l + 32, l + 64, ...): the same sums, bit for
// bit, but for the fused norm's scale (its sum of squares is reduced over other threads).
#include "backend/cuda/kernels/matvec_common.cuh"

#include <algorithm>
#include <atomic>

namespace hearth::cuda::matvec_detail {
namespace {

// Consumer warps per block (W: 8 or 16, tuning.matvec_staged_warps); one producer warp besides.
constexpr int threads_of(int consumers) {
  return (consumers + 1) * 32;
}
constexpr int kMaxStages = 8;  // ring slots
constexpr int kRingAlign = 128;

template <WeightFormat F>
struct Staged {
  static constexpr int kQuantBytes = F == WeightFormat::kQ8_0 ? 32 : 16;  // per weight block
  static constexpr bool kMins = F == WeightFormat::kQ4_1;
  static constexpr int kBlockBytes = kQuantBytes + 2 + (kMins ? 2 : 0);
};

constexpr int block_bytes(WeightFormat f) {
  return f == WeightFormat::kQ8_0 ? 34 : f == WeightFormat::kQ4_1 ? 20 : 18;
}

struct StagedPlan {
  int64_t groups;        // row groups of R rows over all targets
  int chunk;             // weight blocks per row in a stage (a multiple of 8)
  int chunks;            // stages per set and matrix: ceil(blocks per row / chunk)
  int ring_stages;       // slots in the ring (2..kMaxStages)
  uint32_t ring_offset;  // bytes from the start of dynamic shared memory
  uint32_t stage_bytes;  // kConsumers * R pieces of chunk blocks
  bool split_copies;     // a copy per row even where a set's rows are one span (to measure)
  bool spin;             // barrier waits spin on test_wait instead of try_wait
  int measure;           // 1: consumers skip the dot products; 2: no copies after the first ring
};

// Stage i of a block as its ring slot, the parity of that slot's use, its chunk, its matrix
// (gate, up) and the first row group of its set, advanced without divisions.
struct StageCursor {
  int slot = 0;
  uint32_t parity = 0;
  int chunk = 0;
  int mat = 0;
  int64_t first_group = 0;
  __device__ __forceinline__ void next(int ring_stages, int chunks, int mats, int consumers) {
    if (++slot == ring_stages) {
      slot = 0;
      parity ^= 1u;
    }
    if (++chunk == chunks) {
      chunk = 0;
      if (++mat == mats) {
        mat = 0;
        first_group += consumers;
      }
    }
  }
};

__device__ __forceinline__ uint32_t shared_address(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

__device__ __forceinline__ void barrier_init(uint64_t* bar, uint32_t count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;" ::"r"(shared_address(bar)), "r"(count)
               : "memory");
}

// The barriers' initialisation made visible to the bulk copies (the async proxy).
__device__ __forceinline__ void barrier_init_fence() {
  asm volatile("fence.mbarrier_init.release.cluster;\n\tfence.proxy.async.shared::cta;" ::
                   : "memory");
}

__device__ __forceinline__ void barrier_arrive_expect(uint64_t* bar, uint32_t bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" ::"r"(shared_address(bar)),
               "r"(bytes)
               : "memory");
}

__device__ __forceinline__ void barrier_arrive(uint64_t* bar) {
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];" ::"r"(shared_address(bar)) : "memory");
}

// Waits until the barrier's phase of this parity has completed: spinning on test_wait (spin),
// or by try_wait, which may suspend the thread for a while.
__device__ __forceinline__ void barrier_wait(uint64_t* bar, uint32_t parity, bool spin) {
  const uint32_t addr = shared_address(bar);
  uint32_t done = 0;
  if (spin) {
    do {
      asm volatile(
          "{\n\t.reg .pred p;\n\t"
          "mbarrier.test_wait.parity.shared::cta.b64 p, [%1], %2;\n\t"
          "selp.u32 %0, 1, 0, p;\n\t}"
          : "=r"(done)
          : "r"(addr), "r"(parity)
          : "memory");
    } while (done == 0);
    return;
  }
  do {
    asm volatile(
        "{\n\t.reg .pred p;\n\t"
        "mbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\n\t"
        "selp.u32 %0, 1, 0, p;\n\t}"
        : "=r"(done)
        : "r"(addr), "r"(parity)
        : "memory");
  } while (done == 0);
}

// bytes (a multiple of 16, both addresses 16-byte aligned) from global to shared memory; the
// barrier's transaction count drops by them when they have landed.
__device__ __forceinline__ void bulk_copy(void* dst, const void* src, uint32_t bytes,
                                          uint64_t* bar) {
  asm volatile(
      "cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];" ::
          "r"(shared_address(dst)),
      "l"(src), "r"(bytes), "r"(shared_address(bar))
      : "memory");
}

// A stage holds one matrix's chunk of a set: piece p = w * R + r (warp w's group, its row r)
// at quants [p][chunk][quant bytes], then scales [p][chunk] (then mins [p][chunk]). Where the
// chunk is a whole row and the set's rows are consecutive rows of one matrix, the pieces are
// that matrix's rows as they lie in memory: one copy for the quants, one for the scales.
template <WeightFormat F, int R, bool kSwiglu, int W>
__global__ void __launch_bounds__(threads_of(W), W == 8 ? 2 : 1)
    matvec_staged_kernel(Batch batch, StagedPlan plan) {
  constexpr int kConsumers = W;
  constexpr int kThreads = threads_of(W);
  using S = Staged<F>;
  constexpr int kMats = kSwiglu ? 2 : 1;
  constexpr int kPieces = kConsumers * R;
  extern __shared__ __align__(128) unsigned char smem[];
  __shared__ uint64_t full[kMaxStages], empty[kMaxStages];
  __shared__ float reduce_scratch[32];
  const int64_t nb = batch.k / 32;
  int8_t* xq = reinterpret_cast<int8_t*>(smem);            // [k]
  float2* xs = reinterpret_cast<float2*>(smem + batch.k);  // [nb]: (d_x, d_x * sum q_x)
  double2* rope_table = reinterpret_cast<double2*>(smem + rope_table_offset(batch.k));
  unsigned char* ring = smem + plan.ring_offset;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int ring_stages = plan.ring_stages, chunk = plan.chunk, chunks = plan.chunks;
  const uint32_t scales_at = kPieces * chunk * S::kQuantBytes;  // in a stage
  const uint32_t mins_at = scales_at + kPieces * chunk * 2;
  const int64_t g_begin = plan.groups * blockIdx.x / gridDim.x;
  const int64_t g_end = plan.groups * (blockIdx.x + 1) / gridDim.x;
  const int64_t stages = (g_end - g_begin + kConsumers - 1) / kConsumers * chunks * kMats;

  if (threadIdx.x == 0) {
    for (int s = 0; s < ring_stages; ++s) {
      barrier_init(&full[s], 1);
      barrier_init(&empty[s], kConsumers);
    }
    barrier_init_fence();
  }
  __syncthreads();
  allow_next_kernel();
  fill_rope_table(batch, rope_table);

  // The producer warp: a stage into its slot.
  const auto issue = [&](const StageCursor& at) {
    const int slot = at.slot;
    const int64_t c0 = int64_t{at.chunk} * chunk;
    const int64_t g0 = at.first_group;
    const int cb = static_cast<int>(min(int64_t{chunk}, nb - c0));
    const int valid = static_cast<int>(min(int64_t{kConsumers}, g_end - g0));
    unsigned char* base = ring + static_cast<size_t>(slot) * plan.stage_bytes;
    const GroupRows first = locate_group(batch, g0, R);
    const GroupRows last = locate_group(batch, g0 + valid - 1, R);
    const DeviceMatrix& mat = batch.w[kSwiglu ? at.mat : first.target];
    const int64_t row0 = first.row(0);
    const bool span = !plan.split_copies && cb == nb && first.partner == 1 && last.partner == 1 &&
                      first.target == last.target && last.row(R - 1) < mat.rows;
    if (lane == 0) {
      barrier_arrive_expect(&full[slot], static_cast<uint32_t>(valid * R * cb * S::kBlockBytes));
    }
    __syncwarp();
    if (span) {  // rows row0 .. row0 + valid * R - 1, whole
      const uint32_t n = static_cast<uint32_t>(valid * R) * static_cast<uint32_t>(nb);
      if (lane == 0) {
        bulk_copy(base, static_cast<const unsigned char*>(mat.quants) + row0 * nb * S::kQuantBytes,
                  n * S::kQuantBytes, &full[slot]);
      } else if (lane == 1) {
        bulk_copy(base + scales_at, mat.scales + row0 * nb, n * 2, &full[slot]);
      } else if (S::kMins && lane == 2) {
        bulk_copy(base + mins_at, mat.mins + row0 * nb, n * 2, &full[slot]);
      }
      return;
    }
    constexpr int kKinds = S::kMins ? 3 : 2;
    for (int j = lane; j < kPieces * kKinds; j += 32) {
      const int kind = j % kKinds, piece = j / kKinds;
      const int r = piece % R, w = piece / R;
      if (w >= valid) continue;
      const GroupRows gr = locate_group(batch, g0 + w, R);
      const DeviceMatrix& m = batch.w[kSwiglu ? at.mat : gr.target];
      const int64_t block = min(gr.row(r), m.rows - 1) * nb + c0;
      if (kind == 0) {
        bulk_copy(base + piece * chunk * S::kQuantBytes,
                  static_cast<const unsigned char*>(m.quants) + block * S::kQuantBytes,
                  static_cast<uint32_t>(cb * S::kQuantBytes), &full[slot]);
      } else if (kind == 1) {
        bulk_copy(base + scales_at + piece * chunk * 2, m.scales + block,
                  static_cast<uint32_t>(cb * 2), &full[slot]);
      } else {
        bulk_copy(base + mins_at + piece * chunk * 2, m.mins + block, static_cast<uint32_t>(cb * 2),
                  &full[slot]);
      }
    }
  };
  // The weights do not depend on the previous kernel: the whole ring is requested before
  // waiting for it.
  StageCursor cursor;
  cursor.first_group = g_begin;
  if (warp == kConsumers) {
    for (int64_t i = 0; i < min(int64_t{ring_stages}, stages); ++i) {
      issue(cursor);
      cursor.next(ring_stages, chunks, kMats, kConsumers);
    }
  }
  wait_for_previous_kernel();
  float scale = 1.0f;
  if (batch.norm_weight != nullptr) {
    const float ss = quantize_x<true, 1, kThreads>(batch.x, batch.norm_weight, batch.k, xq, xs);
    scale = norm_scale(batch, ss, reduce_scratch);
  } else {
    quantize_x<false, 2, kThreads>(batch.x, nullptr, batch.k, xq, xs);
  }
  __syncthreads();

  if (warp == kConsumers) {
    for (int64_t i = ring_stages; i < stages; ++i) {
      // The slot's previous use has been read.
      barrier_wait(&empty[cursor.slot], cursor.parity ^ 1u, plan.spin);
      if (plan.measure == 2) {
        if (lane == 0) barrier_arrive(&full[cursor.slot]);
      } else {
        issue(cursor);
      }
      cursor.next(ring_stages, chunks, kMats, kConsumers);
    }
    return;
  }
  float acc[kMats][R];
#pragma unroll
  for (int m = 0; m < kMats; ++m) {
#pragma unroll
    for (int r = 0; r < R; ++r) acc[m][r] = 0.0f;
  }
  for (int64_t i = 0; i < stages; ++i) {
    const int slot = cursor.slot;
    const int64_t g = cursor.first_group + warp;
    const int64_t c0 = int64_t{cursor.chunk} * chunk;
    barrier_wait(&full[slot], cursor.parity, plan.spin);
    if (g < g_end && plan.measure != 1) {
      const unsigned char* base = ring + static_cast<size_t>(slot) * plan.stage_bytes;
      const int cb = static_cast<int>(min(int64_t{chunk}, nb - c0));
      // U blocks a lane at a time, every load issued before the dot products use them.
      constexpr int U = R == 1 ? 4 : 2;
      float sum[R];
#pragma unroll
      for (int r = 0; r < R; ++r) sum[r] = 0.0f;
      for (int j0 = lane; j0 < cb; j0 += 32 * U) {
        int4 xa[U], xb[U];
        float2 s[U];
        BlockBits<F> bits[U][R];
#pragma unroll
        for (int u = 0; u < U; ++u) {
          const int j = min(j0 + 32 * u, cb - 1);  // past the end: a repeat, not added
          const int64_t b = c0 + j;
          xa[u] = *reinterpret_cast<const int4*>(xq + b * 32);
          xb[u] = *reinterpret_cast<const int4*>(xq + b * 32 + 16);
          s[u] = xs[b];
#pragma unroll
          for (int r = 0; r < R; ++r) {
            const int at = (warp * R + r) * chunk + j;
            const unsigned char* q = base + at * S::kQuantBytes;
            bits[u][r].q[0] = *reinterpret_cast<const int4*>(q);
            if constexpr (F == WeightFormat::kQ8_0) {
              bits[u][r].q[1] = *reinterpret_cast<const int4*>(q + 16);
            }
            bits[u][r].d = *reinterpret_cast<const uint16_t*>(base + scales_at + at * 2);
            if constexpr (S::kMins) {
              bits[u][r].m = *reinterpret_cast<const uint16_t*>(base + mins_at + at * 2);
            }
          }
        }
#pragma unroll
        for (int u = 0; u < U; ++u) {
          if (j0 + 32 * u >= cb) break;
#pragma unroll
          for (int r = 0; r < R; ++r) sum[r] += dot_block<F>(bits[u][r], xa[u], xb[u], s[u]);
        }
      }
#pragma unroll
      for (int r = 0; r < R; ++r) {
        if (kSwiglu && cursor.mat == 1) {
          acc[kMats - 1][r] += sum[r];
        } else {
          acc[0][r] += sum[r];
        }
      }
    }
    __syncwarp();
    if (lane == 0) barrier_arrive(&empty[slot]);
    if (cursor.chunk == chunks - 1 && cursor.mat == kMats - 1) {
      if (g < g_end) {
        write_rows<R>(batch, locate_group(batch, g, R), acc[0], acc[kMats - 1], scale, lane,
                      rope_table);
      }
#pragma unroll
      for (int m = 0; m < kMats; ++m) {
#pragma unroll
        for (int r = 0; r < R; ++r) acc[m][r] = 0.0f;
      }
    }
    cursor.next(ring_stages, chunks, kMats, kConsumers);
  }
}

using StagedKernel = void (*)(Batch, StagedPlan);

template <int R, bool kSwiglu, int W>
StagedKernel staged_kernel_for(WeightFormat f) {
  switch (f) {
    case WeightFormat::kQ4_0:
      return matvec_staged_kernel<WeightFormat::kQ4_0, R, kSwiglu, W>;
    case WeightFormat::kQ4_1:
      return matvec_staged_kernel<WeightFormat::kQ4_1, R, kSwiglu, W>;
    case WeightFormat::kQ8_0:
      return matvec_staged_kernel<WeightFormat::kQ8_0, R, kSwiglu, W>;
    default:
      return nullptr;
  }
}

template <int W>
StagedKernel staged_kernel_for(WeightFormat f, int rows_per_group, bool swiglu) {
  if (rows_per_group == 2) {
    return swiglu ? staged_kernel_for<2, true, W>(f) : staged_kernel_for<2, false, W>(f);
  }
  return swiglu ? staged_kernel_for<1, true, W>(f) : staged_kernel_for<1, false, W>(f);
}

StagedKernel staged_kernel_for(WeightFormat f, int rows_per_group, bool swiglu, int consumers) {
  return consumers == 16 ? staged_kernel_for<16>(f, rows_per_group, swiglu)
                         : staged_kernel_for<8>(f, rows_per_group, swiglu);
}

int consumers_of(const LaunchContext& ctx) {
  return ctx.tuning.matvec_staged_warps == 16 ? 16 : 8;
}

// Two blocks of at most this much shared memory fit a multiprocessor (228 KB, 1 KB of it
// reserved per block), less the kernel's static barriers and scratch.
constexpr size_t kStaticShared = 2 * kMaxStages * sizeof(uint64_t) + 32 * sizeof(float);

// x, its scales and the rope table, then the ring.
uint32_t ring_offset(const Batch& batch) {
  const size_t table = batch.rope_position != nullptr
                           ? static_cast<size_t>(batch.rope_dim / 2) * sizeof(double2)
                           : 0;
  return static_cast<uint32_t>((rope_table_offset(batch.k) + table + kRingAlign - 1) / kRingAlign *
                               kRingAlign);
}

struct StagedShape {
  int chunk = 0, ring_stages = 0;
  uint32_t stage_bytes = 0;
};

// Whole rows a stage where two stages fit (so a set's rows can be one copy), else the largest
// chunk (a multiple of 8 blocks) of which three fit; tuning.matvec_staged_chunk forces one.
StagedShape staged_shape(const LaunchContext& ctx, const Batch& batch, int rows_per_group) {
  StagedShape shape;
  const size_t budget = static_cast<size_t>(ctx.tuning.matvec_staged_kb) * 1024 - kStaticShared;
  const size_t offset = ring_offset(batch);
  if (offset >= budget) return shape;
  const size_t ring = budget - offset;
  const int64_t nb = batch.k / 32;
  const size_t per_block = static_cast<size_t>(consumers_of(ctx) * rows_per_group) *
                           static_cast<size_t>(block_bytes(batch.w[0].format));
  int64_t chunk = nb;
  if (ctx.tuning.matvec_staged_chunk > 0) {
    chunk = std::min<int64_t>(nb, ctx.tuning.matvec_staged_chunk / 8 * 8);
  } else if (2 * per_block * static_cast<size_t>(nb) > ring) {
    chunk = static_cast<int64_t>(ring / (3 * per_block)) / 8 * 8;
  }
  if (chunk < 8) return shape;
  shape.chunk = static_cast<int>(chunk);
  shape.stage_bytes = static_cast<uint32_t>(per_block * static_cast<size_t>(chunk));
  shape.ring_stages = static_cast<int>(std::min<size_t>(kMaxStages, ring / shape.stage_bytes));
  return shape;
}

int64_t groups_of(const Batch& batch, int rows_per_group) {
  int64_t groups = 0;
  for (int t = 0; t < batch.n_targets; ++t) {
    groups += (batch.w[t].rows + rows_per_group - 1) / rows_per_group;
  }
  return groups;
}

std::atomic<int64_t> launches{0};

}  // namespace

bool staged_matvec_fits(const LaunchContext& ctx, const Batch& batch) {
  // Copies of a chunk's scales are a multiple of 16 bytes: rows of a multiple of 8 blocks.
  return is_quantized(batch.w[0].format) && batch.k % 256 == 0 &&
         (staged_shape(ctx, batch, 1).ring_stages >= 2 ||
          staged_shape(ctx, batch, 2).ring_stages >= 2);
}

cudaError_t launch_staged_matvec(const LaunchContext& ctx, const Batch& batch) {
  // One block per multiprocessor (the second slot is the next launch's). Rows per group: the
  // rope needs pairs (2); else the R that gives the busiest warp the fewest rows, then the one
  // whose stages are whole rows, then 1 (half the stage for the same rows).
  const int grid_max = std::max(1, ctx.sm_count);
  int best_r = 0;
  int64_t best_rows = INT64_MAX;
  bool best_whole = false;
  for (int r : {1, 2}) {
    if (r == 1 && batch.rope_position != nullptr) continue;
    const StagedShape shape = staged_shape(ctx, batch, r);
    if (shape.ring_stages < 2) continue;
    const bool whole = shape.chunk == batch.k / 32;
    const int64_t per_block = (groups_of(batch, r) + grid_max - 1) / grid_max;
    const int64_t rows = (per_block + consumers_of(ctx) - 1) / consumers_of(ctx) * r;
    if (rows < best_rows || (rows == best_rows && whole && !best_whole)) {
      best_rows = rows;
      best_r = r;
      best_whole = whole;
    }
  }
  if (best_r == 0) return cudaErrorInvalidValue;
  Batch b = batch;
  int64_t groups = 0;
  for (int t = 0; t < b.n_targets; ++t) {
    groups += (b.w[t].rows + best_r - 1) / best_r;
    b.group_end[t] = groups;
  }
  const StagedShape shape = staged_shape(ctx, b, best_r);
  StagedPlan plan{};
  plan.groups = groups;
  plan.chunk = shape.chunk;
  plan.chunks = static_cast<int>((b.k / 32 + shape.chunk - 1) / shape.chunk);
  plan.ring_stages = shape.ring_stages;
  plan.ring_offset = ring_offset(b);
  plan.stage_bytes = shape.stage_bytes;
  plan.split_copies = ctx.tuning.matvec_staged_split_copies;
  plan.spin = ctx.tuning.matvec_staged_spin;
  plan.measure = ctx.tuning.matvec_staged_measure;
  const int consumers = consumers_of(ctx);
  const size_t smem = plan.ring_offset + static_cast<size_t>(plan.ring_stages) * shape.stage_bytes;
  const unsigned grid = static_cast<unsigned>(std::min<int64_t>(grid_max, groups));
  launches.fetch_add(1, std::memory_order_relaxed);
  return launch_kernel(ctx, staged_kernel_for(b.w[0].format, best_r, b.swiglu, consumers),
                       dim3(grid), dim3(static_cast<unsigned>(threads_of(consumers))), smem, b,
                       plan);
}

cudaError_t staged_matvec_init() {
  for (WeightFormat f : {WeightFormat::kQ4_0, WeightFormat::kQ4_1, WeightFormat::kQ8_0}) {
    for (int rows_per_group : {1, 2}) {
      for (bool swiglu : {false, true}) {
        for (int consumers : {8, 16}) {
          const StagedKernel k = staged_kernel_for(f, rows_per_group, swiglu, consumers);
          cudaError_t e =
              cudaFuncSetAttribute(k, cudaFuncAttributeMaxDynamicSharedMemorySize, 226 * 1024);
          if (e == cudaSuccess) {
            e = cudaFuncSetAttribute(k, cudaFuncAttributePreferredSharedMemoryCarveout,
                                     cudaSharedmemCarveoutMaxShared);
          }
          if (e != cudaSuccess) return e;
        }
      }
    }
  }
  return cudaSuccess;
}

}  // namespace hearth::cuda::matvec_detail

namespace hearth::cuda {

int64_t matvec_staged_launches() {
  return matvec_detail::launches.load(std::memory_order_relaxed);
}

}  // namespace hearth::cuda
