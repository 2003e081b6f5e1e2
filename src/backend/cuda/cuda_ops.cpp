// CudaBackend's ops: argument checks on the host (every mismatch an InvalidArgument naming the
// shapes, never a kernel reading out of bounds), then launches on the backend's stream.
#include <algorithm>
#include <string>

#include "backend/cpu/op_checks.h"
#include "backend/cuda/cuda_backend.h"

namespace hearth::cuda {

namespace {

// Bytes of bf16 weight rows dequantized per GEMM when a matrix has no cached bf16 copy.
constexpr size_t kWeightChunkBytes = 64u << 20;

Status check_ids_in_range(std::span<const int32_t> ids, int64_t limit, const char* what) {
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0 || ids[i] >= limit) {
      return out_of_range(std::string(what) + " " + std::to_string(ids[i]) + " at index " +
                          std::to_string(i) + " is outside [0, " + std::to_string(limit) + ")");
    }
  }
  return {};
}

}  // namespace

Status CudaBackend::embedding(const TensorView& table, std::span<const int32_t> tokens,
                              const TensorView& out) {
  HEARTH_RETURN_IF_ERROR(flush_pending());
  HEARTH_RETURN_IF_ERROR(cpu::check_f32(out, 2, "embedding output"));
  HEARTH_ASSIGN_OR_RETURN(const PreparedMatrix* pm, find_matrix(table, "embedding"));
  if (out.shape()[0] != static_cast<int64_t>(tokens.size()) || out.cols() != table.cols()) {
    return cpu::shape_mismatch("embedding", "table", table.shape(), "output", out.shape());
  }
  HEARTH_RETURN_IF_ERROR(check_ids_in_range(tokens, table.rows(), "token id"));
  HEARTH_ASSIGN_OR_RETURN(const int32_t* ids, device_ids(tokens, IdKind::kTokens));
  return launch_status(
      embedding_rows(ctx_, pm->m, ids, static_cast<int64_t>(tokens.size()), out.data_as<float>()),
      "embedding");
}

Status CudaBackend::matmul(const TensorView& x, const TensorView& w, const TensorView* bias,
                           const TensorView& y) {
  const MatmulTarget target{&w, bias, y};
  return matmul_shared_input(x, std::span<const MatmulTarget>(&target, 1));
}

Status CudaBackend::matmul_shared_input(const TensorView& x,
                                        std::span<const MatmulTarget> targets) {
  const PreparedMatrix* pms[3] = {};
  bool same_format = targets.size() <= 3;
  for (size_t i = 0; i < targets.size(); ++i) {
    const MatmulTarget& t = targets[i];
    if (t.weight == nullptr) return invalid_argument("matmul: a target has no weight");
    HEARTH_RETURN_IF_ERROR(cpu::check_matmul(x, *t.weight, t.bias, t.out));
    HEARTH_ASSIGN_OR_RETURN(const PreparedMatrix* pm, find_matrix(*t.weight, "matmul"));
    if (i < 3) pms[i] = pm;
    same_format = same_format && pm->m.format == pms[0]->m.format;
  }
  const int64_t n_tokens = x.rows(), k = x.cols();
  if (targets.empty() || n_tokens > kMatvecMaxTokens || !same_format) {
    HEARTH_RETURN_IF_ERROR(flush_pending());
    if (targets.empty()) return {};
    if (n_tokens > kMatvecMaxTokens) return gemm(x, targets);
  }
  // Weights of one format sharing x (q/k/v) go in one launch per token, else one per weight.
  const size_t group = same_format ? targets.size() : 1;
  for (size_t first = 0; first < targets.size(); first += group) {
    MatvecCall call;
    call.x = x.data_as<const float>();
    call.n_tokens = n_tokens;
    call.k = k;
    call.n_targets = static_cast<int>(group);
    for (size_t i = 0; i < group; ++i) {
      const MatmulTarget& target = targets[first + i];
      HEARTH_ASSIGN_OR_RETURN(const PreparedMatrix* pm, find_matrix(*target.weight, "matmul"));
      call.targets[i].w = pm->m;
      call.targets[i].bias = target.bias != nullptr ? target.bias->data_as<const float>() : nullptr;
      call.targets[i].y = target.out.data_as<float>();
    }
    if (same_format) {
      HEARTH_RETURN_IF_ERROR(take_quantized_x(call));
      HEARTH_RETURN_IF_ERROR(take_norm(call));
      if (defer_matvec(call)) return {};
    }
    HEARTH_RETURN_IF_ERROR(launch_matvecs(call));
  }
  return {};
}

Status CudaBackend::matmul_swiglu(const TensorView& x, const TensorView& gate, const TensorView& up,
                                  const TensorView& up_out, const TensorView& out) {
  HEARTH_RETURN_IF_ERROR(cpu::check_matmul(x, gate, nullptr, out));
  HEARTH_RETURN_IF_ERROR(cpu::check_matmul(x, up, nullptr, up_out));
  HEARTH_ASSIGN_OR_RETURN(const PreparedMatrix* g, find_matrix(gate, "matmul_swiglu"));
  HEARTH_ASSIGN_OR_RETURN(const PreparedMatrix* u, find_matrix(up, "matmul_swiglu"));
  const int64_t n_tokens = x.rows(), k = x.cols();
  const bool matvec_path =
      n_tokens <= kMatvecMaxTokens && g->m.format == u->m.format && up.rows() == gate.rows();
  if (n_tokens > kMatvecMaxTokens) {  // both GEMMs on one bf16 copy of x, then silu(g) * u
    HEARTH_RETURN_IF_ERROR(flush_pending());
    const MatmulTarget targets[] = {{&gate, nullptr, out}, {&up, nullptr, up_out}};
    HEARTH_RETURN_IF_ERROR(gemm(x, targets));
    return swiglu(out, up_out, out);
  }
  if (!matvec_path) {
    HEARTH_RETURN_IF_ERROR(flush_pending());
    return Backend::matmul_swiglu(x, gate, up, up_out, out);
  }
  MatvecCall call;
  call.x = x.data_as<const float>();
  call.n_tokens = n_tokens;
  call.k = k;
  call.n_targets = 2;
  call.swiglu = true;
  call.targets[0].w = g->m;
  call.targets[0].y = out.data_as<float>();
  call.targets[1].w = u->m;
  HEARTH_RETURN_IF_ERROR(take_norm(call));
  if (defer_swiglu(call)) return {};
  return launch_matvecs(call);
}

// The bf16 copy of a weight for GEMMs, made on first use while the GPU keeps a reserve free;
// null when it does not fit (the GEMM then dequantizes chunks per call).
const void* CudaBackend::bf16_weights(PreparedMatrix& pm) {
  if (!pm.bf16.empty()) return pm.bf16.get();
  if (pm.bf16_refused || !options_.cache_bf16) return nullptr;
  const size_t bytes = static_cast<size_t>(pm.m.rows * pm.m.cols) * 2;
  size_t free_bytes = 0, total = 0;
  const size_t reserve = std::max<size_t>(size_t{1} << 30, total_memory_ / 20);
  if (cudaMemGetInfo(&free_bytes, &total) != cudaSuccess || free_bytes < bytes + reserve ||
      !pm.bf16.allocate(bytes, "a bf16 copy of " + pm.name).ok() ||
      dequantize_rows_bf16(ctx_, pm.m, 0, pm.m.rows, pm.bf16.get()) != cudaSuccess) {
    (void)cudaGetLastError();
    pm.bf16.reset();
    pm.bf16_refused = true;
    return nullptr;
  }
  return pm.bf16.get();
}

Status CudaBackend::gemm(const TensorView& x, std::span<const MatmulTarget> targets) {
  HEARTH_RETURN_IF_ERROR(fail_if_recording("a prefill matmul"));
  const int64_t n_tokens = x.rows(), k = x.cols();
  HEARTH_RETURN_IF_ERROR(
      ensure_size(x_bf16_, static_cast<size_t>(n_tokens * k) * 2, "prefill bf16 activations"));
  HEARTH_RETURN_IF_ERROR(launch_status(
      f32_to_bf16(ctx_, x.data_as<const float>(), x_bf16_.get(), n_tokens * k), "f32_to_bf16"));
  for (const MatmulTarget& t : targets) {
    PreparedMatrix* pm = matrices_.at(t.weight->data()).get();
    const int64_t n = pm->m.rows;
    float* y = t.out.data_as<float>();
    if (const void* w = bf16_weights(*pm); w != nullptr) {
      HEARTH_RETURN_IF_ERROR(gemm_.bf16_xwt(x_bf16_.get(), w, y, n_tokens, n, k, n));
    } else {
      const int64_t chunk_rows = std::clamp<int64_t>(
          static_cast<int64_t>(kWeightChunkBytes / static_cast<size_t>(2 * k)), 1, n);
      HEARTH_RETURN_IF_ERROR(
          ensure_size(w_chunk_bf16_, static_cast<size_t>(chunk_rows * k) * 2, "bf16 weight chunk"));
      for (int64_t r = 0; r < n; r += chunk_rows) {
        const int64_t rows = std::min(chunk_rows, n - r);
        HEARTH_RETURN_IF_ERROR(
            launch_status(dequantize_rows_bf16(ctx_, pm->m, r, rows, w_chunk_bf16_.get()),
                          "dequantize_rows_bf16"));
        HEARTH_RETURN_IF_ERROR(
            gemm_.bf16_xwt(x_bf16_.get(), w_chunk_bf16_.get(), y + r, n_tokens, rows, k, n));
      }
    }
    if (t.bias != nullptr) {
      HEARTH_RETURN_IF_ERROR(launch_status(
          add_bias(ctx_, y, t.bias->data_as<const float>(), n_tokens, n), "add_bias"));
    }
  }
  return {};
}

Status CudaBackend::rms_norm(const TensorView& x, const TensorView& weight, float eps,
                             const TensorView& y) {
  HEARTH_RETURN_IF_ERROR(cpu::check_same_f32_elements("rms_norm", x, y));
  if (weight.dtype() != DType::kF32 || weight.numel() != x.cols() || y.cols() != x.cols()) {
    return cpu::shape_mismatch("rms_norm", "input", x.shape(), "weight", weight.shape());
  }
  HEARTH_ASSIGN_OR_RETURN(const bool fused, fuse_add_rms_norm(x, weight, eps, y));
  if (fused || defer_norm_behind_matvec(x, weight, eps, y)) return {};
  HEARTH_RETURN_IF_ERROR(flush_pending());
  if (defer_norm(x, weight, eps, y)) return {};
  return launch_status(cuda::rms_norm(ctx_, x.data_as<const float>(), weight.data_as<const float>(),
                                      y.data_as<float>(), x.rows(), x.cols(), eps),
                       "rms_norm");
}

Status CudaBackend::rope(const TensorView& x, std::span<const int32_t> positions,
                         const RopeSpec& spec) {
  HEARTH_RETURN_IF_ERROR(cpu::check_f32(x, 3, "rope input"));
  const int64_t n_tokens = x.shape()[0], heads = x.shape()[1], head_dim = x.shape()[2];
  if (n_tokens != static_cast<int64_t>(positions.size())) {
    return invalid_argument("rope: " + std::to_string(positions.size()) + " positions for input " +
                            x.shape().to_string());
  }
  const int64_t half = spec.rotary_dim / 2;
  if (spec.rotary_dim < 0 || spec.rotary_dim % 2 != 0 || spec.rotary_dim > head_dim ||
      static_cast<int64_t>(spec.inv_freq.size()) != half) {
    return invalid_argument("rope: rotary_dim " + std::to_string(spec.rotary_dim) + " with " +
                            std::to_string(spec.inv_freq.size()) +
                            " frequencies does not fit head_dim " + std::to_string(head_dim));
  }
  if (half > kMaxRopePairs) {
    return unsupported("rope: the CUDA backend rotates at most " +
                       std::to_string(2 * kMaxRopePairs) + " dims per head, not " +
                       std::to_string(spec.rotary_dim));
  }
  for (int32_t p : positions) {
    if (p < 0) return invalid_argument("rope: negative position " + std::to_string(p));
  }
  RopeParams params{};
  params.adjacent_pairs = spec.layout == RopeLayout::kAdjacentPairs;
  params.rotary_dim = static_cast<int>(spec.rotary_dim);
  std::copy(spec.inv_freq.begin(), spec.inv_freq.end(), params.inv_freq);
  HEARTH_ASSIGN_OR_RETURN(const int32_t* pos, device_ids(positions, IdKind::kPositions));
  // Decode: held back for store_kv when the positions are the step's (device memory that stays
  // put until the next begin_step, which launches what is held back first).
  if (n_tokens <= kMatvecMaxTokens && pos == staged_positions()) return defer_rope(x, pos, params);
  HEARTH_RETURN_IF_ERROR(flush_pending());
  return launch_status(cuda::rope(ctx_, x.data_as<float>(), n_tokens, heads, head_dim, pos, params),
                       "rope");
}

Status CudaBackend::store_kv(const TensorView& k, const TensorView& v,
                             std::span<const int32_t> positions, const TensorView& keys,
                             const TensorView& values) {
  for (const TensorView* t : {&k, &v}) HEARTH_RETURN_IF_ERROR(cpu::check_f32(*t, 3, "store_kv"));
  HEARTH_RETURN_IF_ERROR(cpu::check_kv_cache("store_kv", keys, values));
  const auto n = static_cast<int64_t>(positions.size());
  if (!(k.shape() == v.shape()) || k.shape()[0] != n || !(keys.shape() == values.shape()) ||
      keys.shape()[1] != k.shape()[1] || keys.shape()[2] != k.shape()[2]) {
    return invalid_argument("store_kv: k " + k.shape().to_string() + " and v " +
                            v.shape().to_string() + " do not fit " + std::to_string(n) +
                            " positions of a cache " + keys.shape().to_string());
  }
  HEARTH_RETURN_IF_ERROR(check_ids_in_range(positions, keys.shape()[0], "store_kv: position"));
  HEARTH_ASSIGN_OR_RETURN(const int32_t* pos, device_ids(positions, IdKind::kPositions));
  HEARTH_ASSIGN_OR_RETURN(const bool into_matvec, fuse_matvec_rope_store(k, v, pos, keys, values));
  if (into_matvec) return {};
  HEARTH_ASSIGN_OR_RETURN(const bool fused, fuse_rope_store_kv(k, v, pos, keys, values));
  if (fused) return {};
  HEARTH_RETURN_IF_ERROR(flush_pending());
  const int64_t row = k.shape()[1] * k.shape()[2];
  return launch_status(cuda::store_kv(ctx_, k.data_as<const float>(), v.data_as<const float>(), n,
                                      row, pos, kv_format(keys), keys.data(), values.data()),
                       "store_kv");
}

Status CudaBackend::attention(const TensorView& q, const TensorView& k, const TensorView& v,
                              std::span<const int32_t> positions, float scale,
                              const TensorView& out) {
  HEARTH_RETURN_IF_ERROR(cpu::check_attention(q, k, v, positions, out, /*kv_f16=*/true));
  AttentionArgs a;
  a.n_tokens = q.shape()[0];
  a.n_heads = q.shape()[1];
  a.head_dim = q.shape()[2];
  a.n_kv_heads = k.shape()[1];
  a.capacity = k.shape()[0];
  a.scale = scale;
  if (a.n_kv_heads < 1 || a.n_heads % a.n_kv_heads != 0) {
    return invalid_argument("attention: " + std::to_string(a.n_heads) +
                            " query heads cannot share " + std::to_string(a.n_kv_heads) +
                            " kv heads");
  }
  HEARTH_RETURN_IF_ERROR(check_ids_in_range(positions, a.capacity, "attention: position"));
  const int64_t group = a.n_heads / a.n_kv_heads;
  const bool decode_ok = decode_attention_supports(a.head_dim, group);
  if (!decode_ok && !prefill_attention_supports(a.head_dim)) {
    return unsupported("attention: the CUDA backend has no kernel for head_dim " +
                       std::to_string(a.head_dim) + " with " + std::to_string(group) +
                       " query heads per kv head (supported: head_dim 32, 64, 128 or 256 with up "
                       "to 8 per kv head; 64 or 128 with any)");
  }
  HEARTH_ASSIGN_OR_RETURN(const int32_t* pos, device_ids(positions, IdKind::kPositions));
  // rope(q), rope(k), store_kv of this one token held back: the decode kernel does them.
  DecodeRope rope;
  const DecodeRope* fused_rope = nullptr;
  if (pending_store_ && a.n_tokens == 1 && decode_ok && ropes_[0].x == q.data_as<float>() &&
      ropes_[0].positions == pos && store_.keys == k.data() &&
      store_.values == v.data()) {  // held only where decode_rope_supported()
    rope.k = ropes_[1].x;
    rope.v = store_.v;
    rope.p = ropes_[0].params;
    fused_rope = &rope;  // the held ops are dropped once the fused launch is in
  } else {
    HEARTH_RETURN_IF_ERROR(flush_pending());
  }
  a.q = q.data_as<const float>();
  a.keys = k.data();
  a.values = v.data();
  a.kv = kv_format(k);
  a.out = out.data_as<float>();
  if (a.n_tokens > kMatvecMaxTokens && prefill_attention_supports(a.head_dim)) {
    a.positions = pos;
    return launch_status(attention_prefill(ctx_, a), "attention_prefill");
  }
  if (!decode_ok) {
    return unsupported("attention: head_dim " + std::to_string(a.head_dim) + " with " +
                       std::to_string(group) + " query heads per kv head needs more than " +
                       std::to_string(kMatvecMaxTokens) + " tokens per call on CUDA");
  }
  // Split-K decode kernel, kMatvecMaxTokens tokens per launch.
  const int splits = decode_attention_splits(ctx_, a.n_kv_heads, a.capacity);
  // Launches of up to kMatvecMaxTokens tokens share the scratch (stream order separates them).
  const int64_t chunk = std::min(kMatvecMaxTokens, a.n_tokens);
  HEARTH_RETURN_IF_ERROR(ensure_scratch(
      attention_scratch_, decode_attention_scratch_bytes(chunk, a.n_heads, a.head_dim, splits),
      "decode attention scratch"));
  if (attention_counters_.bytes() < static_cast<size_t>(chunk * a.n_kv_heads) * sizeof(int)) {
    HEARTH_RETURN_IF_ERROR(ensure_scratch(attention_counters_,
                                          static_cast<size_t>(chunk * a.n_kv_heads) * sizeof(int),
                                          "attention counters"));
    HEARTH_CUDA_RETURN_IF_ERROR(
        cudaMemsetAsync(attention_counters_.get(), 0, attention_counters_.bytes(), ctx_.stream));
  }
  const int64_t total = a.n_tokens;
  for (int64_t t0 = 0; t0 < total; t0 += chunk) {
    AttentionArgs part = a;
    part.n_tokens = std::min(chunk, total - t0);
    const int64_t offset = t0 * a.n_heads * a.head_dim;
    part.q = a.q + offset;
    part.out = a.out + offset;
    part.positions = pos + t0;
    HEARTH_RETURN_IF_ERROR(
        launch_status(attention_decode(ctx_, part, splits, attention_scratch_.as<float>(),
                                       attention_counters_.as<int>(), fused_rope),
                      "attention_decode"));
    if (fused_rope != nullptr) {
      drop_pending();
      ++fusions_.rope_into_attention;
    }
  }
  return {};
}

Status CudaBackend::swiglu(const TensorView& gate, const TensorView& up, const TensorView& out) {
  HEARTH_RETURN_IF_ERROR(flush_pending());
  HEARTH_RETURN_IF_ERROR(cpu::check_same_f32_elements("swiglu", gate, out));
  HEARTH_RETURN_IF_ERROR(cpu::check_same_f32_elements("swiglu", up, out));
  return launch_status(cuda::swiglu(ctx_, gate.data_as<const float>(), up.data_as<const float>(),
                                    out.data_as<float>(), out.numel()),
                       "swiglu");
}

Status CudaBackend::add(const TensorView& a, const TensorView& b, const TensorView& out) {
  HEARTH_RETURN_IF_ERROR(cpu::check_same_f32_elements("add", a, out));
  HEARTH_RETURN_IF_ERROR(cpu::check_same_f32_elements("add", b, out));
  HEARTH_ASSIGN_OR_RETURN(const bool fused, fuse_matvec_add(a, b, out));
  if (fused) return {};
  HEARTH_RETURN_IF_ERROR(flush_pending());
  if (defer_add(a, b, out)) return {};
  return launch_status(cuda::add(ctx_, a.data_as<const float>(), b.data_as<const float>(),
                                 out.data_as<float>(), out.numel()),
                       "add");
}

Status CudaBackend::copy(const TensorView& src, const TensorView& dst) {
  HEARTH_RETURN_IF_ERROR(flush_pending());
  if (src.dtype() != dst.dtype() || src.numel() != dst.numel()) {
    return cpu::shape_mismatch("copy", std::string(dtype_name(src.dtype())) + " source",
                               src.shape(), std::string(dtype_name(dst.dtype())) + " destination",
                               dst.shape());
  }
  if (src.nbytes() == 0 || src.data() == dst.data()) return {};
  return cuda_status(
      cudaMemcpyAsync(dst.data(), src.data(), src.nbytes(), cudaMemcpyDeviceToDevice, ctx_.stream),
      "copy");
}

Expected<int32_t> CudaBackend::pick_token(const TensorView& logits, const TokenPick& pick) {
  HEARTH_RETURN_IF_ERROR(flush_pending());
  HEARTH_RETURN_IF_ERROR(fail_if_recording("pick_token"));
  if (logits.dtype() != DType::kF32) return invalid_argument("pick_token: logits must be f32");
  HEARTH_RETURN_IF_ERROR(check_token_pick(pick, static_cast<size_t>(logits.numel())));
  PickParams p;
  p.temperature = pick.temperature;
  p.top_k = pick.top_k;
  p.top_p = pick.top_p;
  p.uniform = pick.uniform;
  HEARTH_RETURN_IF_ERROR(
      launch_status(cuda::pick_token(ctx_, logits.data_as<const float>(), logits.numel(), p,
                                     pick_state_.get(), pick_out_.as<int32_t>()),
                    "pick_token"));
  HEARTH_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(pick_host_.get(), pick_out_.get(), sizeof(int32_t),
                                              cudaMemcpyDeviceToHost, ctx_.stream));
  HEARTH_RETURN_IF_ERROR(cuda_status(cudaStreamSynchronize(ctx_.stream), "pick_token"));
  const int32_t token = *pick_host_.as<int32_t>();
  if (token < 0 || token >= logits.numel()) {
    return internal_error("pick_token: the GPU picked no token (logits not finite?)");
  }
  return token;
}

}  // namespace hearth::cuda
