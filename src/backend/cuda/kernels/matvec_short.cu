// Decode matvecs in short blocks: a block of W warps owns W / S row groups of RW rows, the S
// warps of a group split K (J weight blocks of 32 a lane and row), and every lane issues all its
// weight loads (J x RW x matrices) before it waits for the previous kernel. A block lives for
// one round trip to memory, so a matrix is requested whole as soon as its blocks are resident
// (all of them at once for the 4096-row matrices) and the last wave is one short block long;
// the resident 24-warp kernel of matvec.cu walks its row groups with one round of loads in
// flight a warp instead. x is quantized by every block in its prologue (with the fused norm),
// or arrives quantized from the matvec that produced it (Batch::quantized_x): blocks of 32 rows
// quantize their own outputs for the next matvec (Batch::quantized_y): gate/up's for the down
// projection, o's residual row times the next norm's weight, with its sums of squares, for
// gate/up (which then takes the norm's scale from those sums).
// scripts/gpu/matvec_lab.cu times these shapes against a read-only chain (docs/PERFORMANCE.md).
#include "backend/cuda/kernels/matvec_common.cuh"

namespace hearth::cuda {
namespace {

using namespace matvec_detail;

template <WeightFormat F, int W, int RW, int J, int S, bool kSwiglu, bool kQuantizedX,
          bool kQuantizedY>
__global__ void __launch_bounds__(W * 32, 512 / (W * 32) > 0 ? 512 / (W * 32) : 1)
    matvec_short_kernel(Batch batch) {
  constexpr int kMats = kSwiglu ? 2 : 1;
  constexpr int kGroups = W / S;  // row groups a block
  static_assert(W % S == 0 && (!kQuantizedY || (S == 1 && kGroups * RW == 32)));
  extern __shared__ __align__(16) unsigned char smem[];
  __shared__ float segment_sums[S > 1 ? kGroups * S * kMats * RW : 1];
  __shared__ float out_rows[kQuantizedY ? 32 : 1];
  __shared__ float reduce_scratch[32];
  // 32-bit block and row indices (a matrix holds under 2^31 blocks): the address arithmetic in
  // front of the loads is what a block spends before its first request leaves.
  const int nb = static_cast<int>(batch.k / 32);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int slot = warp / S, segment = warp % S;
  const int groups = static_cast<int>(batch.group_end[batch.n_targets - 1]);
  const int g = static_cast<int>(blockIdx.x) * kGroups + slot;
  double2* rope_table =
      reinterpret_cast<double2*>(smem + (kQuantizedX ? 0 : rope_table_offset(batch.k)));
  allow_next_kernel();
  fill_rope_table(batch, rope_table);

  // All weight loads, in a branch of their own: in one basic block with the wait, ptxas would
  // hoist the wait above them.
  BlockBits<F> bits[J][kMats][RW];
  GroupRows gr{};
  const int first_block = segment * 32 * J + lane;
  if (g < groups) {
    gr = locate_group(batch, g, RW);
    const DeviceMatrix& w0 = batch.w[gr.target];
    const DeviceMatrix& w1 = batch.w[kSwiglu ? 1 : gr.target];
    const int last_row = static_cast<int>(w0.rows) - 1;
#pragma unroll
    for (int r = 0; r < RW; ++r) {
      const int row_base = min(static_cast<int>(gr.row(r)), last_row) * nb;
#pragma unroll
      for (int j = 0; j < J; ++j) {
        const int b = row_base + min(first_block + 32 * j, nb - 1);  // past the end: unused
        load_block<F>(w0, b, bits[j][0][r]);
        if constexpr (kSwiglu) load_block<F>(w1, b, bits[j][1][r]);
      }
    }
  }
  // The next norm's weight for the quantized output: a weight, so it need not wait.
  float out_norm_weight = 1.0f;
  if constexpr (kQuantizedY) {
    if (warp == 0 && batch.quantized_y_norm_weight != nullptr &&
        int64_t{blockIdx.x} * 32 < batch.w[0].rows) {
      out_norm_weight = batch.quantized_y_norm_weight[blockIdx.x * 32 + lane];
    }
  }
  wait_for_previous_kernel();
  // The residual row this lane writes, requested with x instead of after the dot products.
  float residual = 0.0f;
  const bool residual_ready = batch.residual_out != nullptr && g < groups && lane < RW &&
                              gr.row(lane) < batch.w[gr.target].rows;
  if (residual_ready) residual = batch.residual_in[gr.row(lane)];

  float scale = 1.0f;
  const int8_t* xq = batch.quantized_x;
  const float2* xs = batch.quantized_x_scales;
  // A handed-over norm: this lane's blocks' sums of squares, requested with its x blocks (the
  // lanes of a warp cover x: S is 1 and J x 32 >= nb where the shape takes a handed norm).
  const bool handed_norm = kQuantizedX && S == 1 && batch.quantized_x_sum_squares != nullptr;
  float handed_ss = 0.0f;
  if constexpr (!kQuantizedX) {
    int8_t* sq = reinterpret_cast<int8_t*>(smem);
    float2* ss = reinterpret_cast<float2*>(smem + batch.k);
    if (batch.norm_weight != nullptr) {
      constexpr int kNormLoads = W >= 16 ? 2 : 4;  // a 4096-wide x in one trip
      const float part =
          quantize_x<true, kNormLoads, W * 32>(batch.x, batch.norm_weight, batch.k, sq, ss);
      scale = norm_scale(batch, part, reduce_scratch);
    } else {
      quantize_x<false, 4, W * 32>(batch.x, nullptr, batch.k, sq, ss);
    }
    __syncthreads();
    xq = sq;
    xs = ss;
  } else if (handed_norm) {
#pragma unroll
    for (int j = 0; j < J; ++j) {
      const int b = first_block + 32 * j;
      if (b < nb) handed_ss += batch.quantized_x_sum_squares[b];
    }
  }

  float acc[kMats][RW];
#pragma unroll
  for (int m = 0; m < kMats; ++m) {
#pragma unroll
    for (int r = 0; r < RW; ++r) acc[m][r] = 0.0f;
  }
#pragma unroll
  for (int j = 0; j < J; ++j) accumulate_block<F>(bits[j], xq, xs, first_block + 32 * j, nb, acc);
  if (handed_norm) {
    scale = rsqrtf(warp_sum(handed_ss) / static_cast<float>(batch.k) + batch.norm_eps);
    write_normed_row(batch, scale);
  }
  if constexpr (S > 1) {
    // The segments' sums in a fixed order; lane 0 of the group's first warp then holds each
    // total and the other lanes 0, so write_rows' warp sum returns it exactly.
#pragma unroll
    for (int m = 0; m < kMats; ++m) {
#pragma unroll
      for (int r = 0; r < RW; ++r) {
        const float part = warp_sum(acc[m][r]);
        if (lane == 0) segment_sums[((slot * S + segment) * kMats + m) * RW + r] = part;
      }
    }
    __syncthreads();
#pragma unroll
    for (int m = 0; m < kMats; ++m) {
#pragma unroll
      for (int r = 0; r < RW; ++r) {
        float total = 0.0f;
        for (int s2 = 0; s2 < S; ++s2)
          total += segment_sums[((slot * S + s2) * kMats + m) * RW + r];
        acc[m][r] = lane == 0 ? total : 0.0f;
      }
    }
  }
  float written = 0.0f;
  if (g < groups && segment == 0) {
    written = write_rows<RW>(batch, gr, acc[0], acc[kMats - 1], scale, lane, rope_table,
                             residual_ready, residual);
  }
  if constexpr (kQuantizedY) {
    if (lane < RW) out_rows[slot * RW + lane] = written;
    __syncthreads();
    const int64_t row0 = int64_t{blockIdx.x} * 32;
    if (warp == 0 && row0 < batch.w[0].rows) {
      float v = out_rows[lane];
      if (batch.quantized_y_norm_weight != nullptr) {
        const float ss = warp_sum(v * v);
        if (lane == 0) batch.quantized_y_sum_squares[blockIdx.x] = ss;
        v *= out_norm_weight;
      }
      quantize_group(v, lane, batch.quantized_y + row0, batch.quantized_y_scales + blockIdx.x);
    }
  }
}

using KernelPtr = void (*)(Batch);

struct Shape {
  KernelPtr kernel;
  int warps;
  int groups_per_block;
  int rows_per_group;
};

// The shapes measured best in scripts/gpu/matvec_lab.cu (q4_0, Llama-3.1-8B): 8 warps of 4 rows
// for K up to 4096 (32 rows, so the output can be quantized in the block); 16 warps of 2 gate/up
// row pairs (32 rows too); 8 warps of 2 rows with K split in two for K up to 14,336, reading a
// quantized x only (not gate/up: those take the resident kernel).
template <WeightFormat F, bool kQuantizedX, bool kQuantizedY>
Shape pick(bool swiglu, int64_t nb) {
  if (nb <= 128) {
    if (swiglu) {
      return {matvec_short_kernel<F, 16, 2, 4, 1, true, kQuantizedX, kQuantizedY>, 16, 16, 2};
    }
    if constexpr (kQuantizedX && kQuantizedY) {
      return {nullptr, 0, 0, 0};  // no producer hands such a matvec its x
    } else {
      return {matvec_short_kernel<F, 8, 4, 4, 1, false, kQuantizedX, kQuantizedY>, 8, 8, 4};
    }
  }
  if constexpr (kQuantizedX && !kQuantizedY) {
    if (!swiglu) return {matvec_short_kernel<F, 8, 2, 7, 2, false, true, false>, 8, 4, 2};
  }
  return {nullptr, 0, 0, 0};
}

template <WeightFormat F>
Shape pick_format(const Batch& batch) {
  const int64_t nb = batch.k / 32;
  const bool qx = batch.quantized_x != nullptr, qy = batch.quantized_y != nullptr;
  if (qx)
    return qy ? pick<F, true, true>(batch.swiglu, nb) : pick<F, true, false>(batch.swiglu, nb);
  return qy ? pick<F, false, true>(batch.swiglu, nb) : pick<F, false, false>(batch.swiglu, nb);
}

Shape shape_for(const Batch& batch) {
  switch (batch.w[0].format) {
    case WeightFormat::kQ4_0:
      return pick_format<WeightFormat::kQ4_0>(batch);
    default:
      return {nullptr, 0, 0, 0};
  }
}

}  // namespace

namespace matvec_detail {

bool short_matvec_takes(const LaunchContext& ctx, const Batch& batch) {
  const int64_t nb = batch.k / 32;
  // o (a residual add behind, or its output handed over) apart from q/k/v and the head.
  const bool o_like = batch.residual_out != nullptr || batch.quantized_y != nullptr;
  const int kind = batch.swiglu ? 2 : nb > 128 ? 4 : o_like ? 8 : 1;
  if ((ctx.tuning.matvec_short & kind) == 0 || batch.k % 32 != 0 || nb > 448 ||
      batch.x_passes != 1) {
    return false;
  }
  // A long row quantized in every block's prologue costs more than the short blocks save
  // (matvec_lab.cu, plan H): K-split blocks only read an x handed over quantized.
  if (kind == 4 && batch.quantized_x == nullptr) return false;
  // A handed-over norm's sums are read by the lanes of one warp covering x (S = 1).
  if (batch.quantized_x_sum_squares != nullptr && nb > 128) return false;
  // A quantized output needs whole blocks of 32 rows of one target.
  if (batch.quantized_y != nullptr &&
      (batch.n_targets != 1 || batch.w[0].rows % 32 != 0 || nb > 128)) {
    return false;
  }
  return shape_for(batch).kernel != nullptr;
}

cudaError_t launch_short_matvec(const LaunchContext& ctx, Batch& batch) {
  const Shape shape = shape_for(batch);
  if (shape.kernel == nullptr) return cudaErrorInvalidValue;
  int64_t groups = 0;
  for (int t = 0; t < batch.n_targets; ++t) {
    groups += (batch.w[t].rows + shape.rows_per_group - 1) / shape.rows_per_group;
    batch.group_end[t] = groups;
  }
  const size_t table = batch.rope_position != nullptr
                           ? static_cast<size_t>(batch.rope_dim / 2) * sizeof(double2)
                           : 0;
  // x's shared copy only where the block quantizes it.
  const size_t smem = (batch.quantized_x != nullptr ? 0 : rope_table_offset(batch.k)) + table;
  const int64_t blocks = (groups + shape.groups_per_block - 1) / shape.groups_per_block;
  return launch_kernel(ctx, shape.kernel, dim3(static_cast<unsigned>(blocks)),
                       dim3(static_cast<unsigned>(shape.warps * 32)), smem, batch);
}

}  // namespace matvec_detail
}  // namespace hearth::cuda
