// Host entry points of the CUDA kernels (one .cu file per family). Every function enqueues work
// on `ctx.stream` and returns the launch's error; none synchronizes, so all of them can be
// recorded into a CUDA graph. Pointers are device pointers unless named host_*.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace hearth::cuda {

// Launch-shape choices of the kernels, measured in docs/PERFORMANCE.md; the defaults are the
// fastest found, the rest are there to measure variants (cuda_backend_factory.cpp's switches).
struct KernelTuning {
  int matvec_blocks_per_sm = 0;    // cap on resident matvec blocks per multiprocessor (0: none)
  int matvec_prefetch_rounds = 2;  // weight load rounds a matvec issues before waiting (1 or 2)
  int matvec_warps = 24;           // warps per q4_0 matvec block (24: one block per SM, or 8)
  int matvec_x_passes = 1;         // quantized matvecs quantize x this often (2: to time it)
  // q4_0 matvecs in short blocks (matvec_short.cu) where they fit, by kind (bits): 1 K up to
  // 4096 (q/k/v, head), 2 gate/up (handing its output over quantized), 4 K up to 14,336 fed a
  // quantized x (down), 8 K up to 4096 with a residual behind (o, handing its row over). Off by
  // default: no faster than the resident kernel for a whole step (docs/PERFORMANCE.md,
  // "Short-block matvecs"); 0: the resident kernel for all.
  int matvec_short = 0;
  // Decode attention uses one split per this many live keys, up to its grid (0: every split).
  int attention_keys_per_split = 32;
  int attention_single_split_keys = 48;   // decode attention: one split (no merge) up to this
  int attention_keys_in_flight = 2;       // decode attention: keys per softmax update (2 or 4)
  int attention_load_stages = 3;          // decode attention, 2 keys: rounds in registers (2-4)
  bool attention_batched_softmax = true;  // decode attention: softmax_keys over those keys
  bool attention_fast_merge = true;       // decode attention: merge_splits (else split by split)
  bool attention_mma = true;              // decode attention, f16 cache, 128-dim heads: mma
  int attention_blocks_per_sm = 4;        // decode attention: splits sized for this many blocks/SM
  int attention_mma_stages = 0;           // its loads: 0 a tile ahead in registers, 2|3 cp.async
  int prefill_attention_warps = 8;        // 16 query rows each per prefill attention block (4 or 8)
};

struct LaunchContext {
  cudaStream_t stream = nullptr;
  bool pdl = true;   // launch with programmatic dependent launch (kernels overlap their start)
  int sm_count = 1;  // multiprocessors, for grid sizing
  KernelTuning tuning;
};

// Weight layouts the kernels read; quantized types are repacked at upload so that every block's
// quants are 16-byte aligned (matrix_layout.h).
enum class WeightFormat : uint8_t { kQ4_0, kQ4_1, kQ8_0, kF32, kF16, kBF16 };

// A weight matrix [rows, cols] in device memory.
//   q4_0 / q4_1: quants [rows][cols/32][16 bytes] (GGUF nibble order), scales (and q4_1 mins)
//                [rows][cols/32] fp16
//   q8_0:        quants [rows][cols/32][32 int8], scales [rows][cols/32] fp16
//   f32/f16/bf16: values [rows][cols] in `quants`
struct DeviceMatrix {
  WeightFormat format = WeightFormat::kF32;
  int64_t rows = 0;
  int64_t cols = 0;
  const void* quants = nullptr;
  const uint16_t* scales = nullptr;
  const uint16_t* mins = nullptr;
};

constexpr bool is_quantized(WeightFormat f) {
  return f == WeightFormat::kQ4_0 || f == WeightFormat::kQ4_1 || f == WeightFormat::kQ8_0;
}

// ---- weights (matrix_layout.cu) ---------------------------------------------------------------
// Splits GGUF blocks `raw` [rows][cols/32 blocks] into dst's quants/scales/mins (mutable).
cudaError_t repack_quantized(const LaunchContext& ctx, const void* raw, WeightFormat format,
                             int64_t rows, int64_t cols, void* quants, uint16_t* scales,
                             uint16_t* mins);
// bf16 copy of rows [row_begin, row_begin + n_rows) of `m` into out [n_rows][cols].
cudaError_t dequantize_rows_bf16(const LaunchContext& ctx, const DeviceMatrix& m, int64_t row_begin,
                                 int64_t n_rows, void* out);
// out[t] = row tokens[t] of `table` as f32 [T][cols]; ids are checked by the caller.
cudaError_t embedding_rows(const LaunchContext& ctx, const DeviceMatrix& table,
                           const int32_t* tokens, int64_t n_tokens, float* out);

// ---- rotary embedding and KV cache formats ---------------------------------------------------
// Element type of a KV cache: f16 (the default: half the bytes a decode step reads; the prefill
// attention rounds to fp16 anyway) or f32. k and v arrive in f32 and are rounded on store.
enum class KvFormat : uint8_t { kF32, kF16 };
inline constexpr int kMaxRopePairs = 128;
struct RopeParams {
  bool adjacent_pairs = false;  // (2i, 2i+1) pairs; else NeoX (i, i + rotary_dim/2)
  int rotary_dim = 0;
  double inv_freq[kMaxRopePairs];
};

// ---- matrix-vector products (matvec.cu) -------------------------------------------------------
// y = x . W^T for one token: x [K] f32; up to 3 weights sharing x (q/k/v) in one launch.
struct MatvecTarget {
  DeviceMatrix w;               // [N, K]
  const float* bias = nullptr;  // [N] or null
  float* y = nullptr;           // [N]
};
// The rope a q/k/v matvec can do behind its products (MatvecFusion::rope).
struct MatvecRope {
  const int32_t* position = nullptr;  // device: the token's position, written before the step
  RopeParams params{};
  int64_t head_dim = 0;
  KvFormat kv = KvFormat::kF16;
  void* keys = nullptr;  // [capacity][rows of k] of format kv
  void* values = nullptr;
};
// A row x quantized as the quantized matvecs quantize it: int8 q [K] and per 32 values the
// scale d = amax / 127 with d * sum(q) (float2); with a norm in front, also per 32 values the
// sum of their raw squares (sum_squares [K / 32]), from which the reader takes the norm's scale.
struct QuantizedRow {
  int8_t* q = nullptr;
  float2* scales = nullptr;
  float* sum_squares = nullptr;
};
// Decode fusions of a matvec launch (null pointers: none).
struct MatvecFusion {
  // rms_norm in front: x is the raw row; the product is with x / rms(x) * norm_weight, which is
  // also written to norm_out [K] (must not overlap x). Quantized weights only (matvec_fuses_norm).
  const float* norm_weight = nullptr;
  float* norm_out = nullptr;
  float norm_eps = 0.0f;
  // Residual add behind, one target only: residual_out[n] = residual_in[n] + y[n] (in place
  // allowed; residual_out must not overlap x or norm_out).
  const float* residual_in = nullptr;
  float* residual_out = nullptr;
  // Rope behind, three targets q, k, v (matvec_fuses_rope): q and k rotated as rope() rotates
  // them, then k and v also written to the KV cache row of the token's position, as store_kv
  // writes it; one launch for what matvec, rope_qk_store do in two.
  const MatvecRope* rope = nullptr;
  // x handed over already quantized (matvec_takes_quantized): quantized_x holds x as written by
  // the matvec that produced it with quantized_out, and x is not read. With norm_weight too, it
  // holds x * norm_weight and its sum_squares; x (the raw row) is then read only for norm_out.
  const QuantizedRow* quantized_x = nullptr;
  // The output also written quantized (matvec_takes_quantized), one target of rows a multiple
  // of 32: the swiglu's output, or the residual_out row (else y) times
  // quantized_out_norm_weight with its sum_squares when that is set (the next norm's weight).
  const QuantizedRow* quantized_out = nullptr;
  const float* quantized_out_norm_weight = nullptr;
};
bool matvec_fuses_norm(WeightFormat format, int64_t k);
// Whether a one-token matvec of w (matvec_swiglu of gate w when swiglu) can read a QuantizedRow
// x and / or write its output as one.
bool matvec_takes_quantized(const LaunchContext& ctx, const DeviceMatrix& w, bool swiglu,
                            bool quantized_x, bool quantized_out);
bool matvec_fuses_norm(WeightFormat format, int64_t k);
// Whether q/k/v of these shapes can take the rope (MatvecFusion::rope): q and k rows whole
// heads of head_dim (a multiple of 4), v the shape of k, rotary_dim = head_dim for NeoX pairs.
bool matvec_fuses_rope(const DeviceMatrix& q, const DeviceMatrix& k, const DeviceMatrix& v,
                       int64_t head_dim, const RopeParams& params);
cudaError_t matvec(const LaunchContext& ctx, const float* x, const MatvecTarget* targets,
                   int n_targets, const MatvecFusion& fusion = {});
// out[N] = silu(x . gate^T) * (x . up^T); gate and up [N, K] of the same format.
cudaError_t matvec_swiglu(const LaunchContext& ctx, const float* x, const DeviceMatrix& gate,
                          const DeviceMatrix& up, float* out, const MatvecFusion& fusion = {});

// ---- pointwise (pointwise.cu) -----------------------------------------------------------------
cudaError_t rms_norm(const LaunchContext& ctx, const float* x, const float* weight, float* y,
                     int64_t rows, int64_t cols, float eps);
cudaError_t add(const LaunchContext& ctx, const float* a, const float* b, float* out, int64_t n);
// out = a + b and y = rms_norm(out) * weight for [rows][cols] (decode: the residual update fused
// with the next norm). cudaErrorInvalidValue when cols is not a multiple of 4 or over 8192.
cudaError_t add_rms_norm(const LaunchContext& ctx, const float* a, const float* b, float* out,
                         const float* weight, float* y, int64_t rows, int64_t cols, float eps);
cudaError_t swiglu(const LaunchContext& ctx, const float* gate, const float* up, float* out,
                   int64_t n);
// y[t][n] += bias[n] for y [rows][cols].
cudaError_t add_bias(const LaunchContext& ctx, float* y, const float* bias, int64_t rows,
                     int64_t cols);
cudaError_t f32_to_bf16(const LaunchContext& ctx, const float* x, void* out, int64_t n);

// ---- rotary embedding and the KV cache (rope_kv.cu) -------------------------------------------
// (KvFormat and RopeParams above, with the matvec that can take the rope.)
// Rotates x [T][heads][head_dim] in place; token t is at positions[t].
cudaError_t rope(const LaunchContext& ctx, float* x, int64_t n_tokens, int64_t heads,
                 int64_t head_dim, const int32_t* positions, const RopeParams& params);
// rope on q [T][q_heads][head_dim] and k [T][kv_heads][head_dim] in place, then k and v written
// to rows positions[t] of keys/values [capacity][kv_heads][head_dim] (of format kv): one launch
// for what rope, rope and store_kv do in three.
cudaError_t rope_qk_store(const LaunchContext& ctx, float* q, int64_t q_heads, float* k,
                          const float* v, int64_t kv_heads, int64_t n_tokens, int64_t head_dim,
                          const int32_t* positions, const RopeParams& params, KvFormat kv,
                          void* keys, void* values);
// keys/values [capacity][row] (of format kv) gain rows positions[t] = k/v [T][row]; positions
// are checked by the caller.
cudaError_t store_kv(const LaunchContext& ctx, const float* k, const float* v, int64_t n_tokens,
                     int64_t row, const int32_t* positions, KvFormat kv, void* keys, void* values);

// ---- attention (attention_decode.cu, attention_prefill.cu) -----------------------------------
struct AttentionArgs {
  const float* q = nullptr;      // [T][n_heads][head_dim]
  const void* keys = nullptr;    // [capacity][n_kv_heads][head_dim] of format kv
  const void* values = nullptr;  // likewise
  KvFormat kv = KvFormat::kF16;
  const int32_t* positions = nullptr;  // [T]: query t sees keys 0..positions[t]
  float* out = nullptr;                // [T][n_heads][head_dim]
  int64_t n_tokens = 0;
  int64_t n_heads = 0;
  int64_t n_kv_heads = 0;
  int64_t head_dim = 0;
  int64_t capacity = 0;
  float scale = 1.0f;
  int keys_per_split = 0;       // decode: splits used = ceil(live keys / this), capped by the grid
  int single_split_keys = 0;    // decode: one split while the live keys are at most this
  bool batched_softmax = true;  // decode: a warp's keys in flight per softmax update (else one)
  bool fast_merge = true;       // decode: splits merged with their loads in flight
};
// Split-K over the keys, for few query tokens (decode). Needs scratch from
// decode_attention_scratch_bytes(); `counters` [T * n_kv_heads] ints must be zero and are left
// zero.
bool decode_attention_supports(int64_t head_dim, int64_t group);
int decode_attention_splits(const LaunchContext& ctx, int64_t n_kv_heads, int64_t capacity);
size_t decode_attention_scratch_bytes(int64_t n_tokens, int64_t n_heads, int64_t head_dim,
                                      int splits);
// rope(q), rope(k) and store_kv of one token folded into its decode attention: q and k arrive
// unrotated and leave rotated (k in place, args.q in place), k and v are written to the cache
// row at the token's position. Rotation pairs must be reachable within a lane or by a lane
// shuffle (decode_rope_supported).
struct DecodeRope {
  float* k = nullptr;        // [n_kv_heads][head_dim], rotated in place
  const float* v = nullptr;  // [n_kv_heads][head_dim]
  RopeParams p{};
};
bool decode_rope_supported(int64_t head_dim, const RopeParams& p);
cudaError_t attention_decode(const LaunchContext& ctx, const AttentionArgs& args, int splits,
                             float* scratch, int* counters, const DecodeRope* rope = nullptr);
// Flash attention on tensor cores (fp16 mma, f32 accumulation), for prefill.
bool prefill_attention_supports(int64_t head_dim);
cudaError_t attention_prefill(const LaunchContext& ctx, const AttentionArgs& args);

// ---- token choice (sampling.cu) ---------------------------------------------------------------
struct PickParams {
  float temperature = 0.0f;
  int32_t top_k = 0;
  float top_p = 1.0f;
  float uniform = 0.0f;
};
size_t pick_scratch_bytes(int64_t vocab);
// Writes the chosen id to *out_token.
cudaError_t pick_token(const LaunchContext& ctx, const float* logits, int64_t vocab,
                       const PickParams& params, void* scratch, int32_t* out_token);

}  // namespace hearth::cuda
