// CudaBackend's decode fusions. A one-token step calls rms_norm(x) -> matmul(q, k, v),
// rope(q), rope(k), store_kv(k, v), attention, matmul(o) -> add(x, proj, x),
// rms_norm(x) -> gate/up, matmul(down) -> add(x, proj, x); each is a launch of a few
// microseconds, most on tiny tensors, so the launches, not the bytes, cost the time. The first
// ops of each pattern are held back and run fused with the op that completes it:
//  - rms_norm -> matvec (quantized weights): the matvec computes the norm of its raw input
//    itself and still writes the norm's output;
//  - matvec -> add: the matvec adds its result to the residual and still writes the product;
//  - matvec(q, k, v) -> rope(q) -> rope(k) -> store_kv(k, v): the matvec rotates q and k as it
//    writes them and writes k and v to the cache row too (fuse_rope_matvec, the default);
//  - rope, rope -> store_kv otherwise: one kernel (rope_qk_store), or, when asked for
//    (fuse_rope_attention), all three inside the decode attention kernel;
//  - add -> rms_norm where no matvec took the add: add_rms_norm;
//  - one token, short-block matvecs (tuning.matvec_short): matvec(o) -> add -> rms_norm ->
//    matmul_swiglu: o writes its residual row times the norm's weight quantized (with its sums
//    of squares) and gate/up reads it, folding the norm; gate/up then writes its output
//    quantized for matmul(down).
// Any other op first launches what is held (flush_pending), so work always runs in call order;
// only one pattern is held at a time (a held q/k/v matvec with the ropes that follow it is one, so
// is a held o matvec with the norm behind it). A fusion is refused when the buffers overlap in a
// way the fused kernel would race on. rope_qk_store and add_rms_norm keep the unfused arithmetic
// bit for bit (so does the rope in the matvec: the same double-precision expressions on the same
// products); the folded norm sums x^2 in another order and scales the int8 products instead of x,
// and rope inside attention rotates in float (a few float ulps; the parity tests bound them). Held
// ops keep raw pointers: a buffer an op uses must live until that op is launched, i.e. until the
// next op outside its pattern, the end of run_step, read() or synchronize().
#include <cstring>

#include "backend/cuda/cuda_backend.h"

namespace hearth::cuda {

namespace {

bool same_rope(const RopeParams& a, const RopeParams& b) {
  return a.adjacent_pairs == b.adjacent_pairs && a.rotary_dim == b.rotary_dim &&
         std::memcmp(a.inv_freq, b.inv_freq,
                     sizeof(double) * static_cast<size_t>(a.rotary_dim / 2)) == 0;
}

// [a, a + n) and [b, b + m) in floats.
bool overlaps(const float* a, int64_t n, const float* b, int64_t m) {
  return a < b + m && b < a + n;
}

}  // namespace

void CudaBackend::drop_pending() {
  pending_store_ = false;
  pending_ropes_ = 0;
  pending_add_ = false;
  pending_norm_ = false;
  pending_matvec_ = false;
}

Status CudaBackend::flush_pending() {
  int ropes = pending_ropes_;
  const bool add_pending = pending_add_, norm_pending = pending_norm_,
             matvec_pending = pending_matvec_, store_pending = pending_store_;
  drop_pending();
  // A held matvec first: ropes held with it rotate its outputs.
  if (matvec_pending) HEARTH_RETURN_IF_ERROR(launch_matvecs(matvec_));
  if (store_pending) {  // rope(q), rope(k), store_kv whose attention did not take them
    const PendingRope& q = ropes_[0];
    const PendingRope& k = ropes_[1];
    ropes = 0;
    HEARTH_RETURN_IF_ERROR(launch_status(
        rope_qk_store(ctx_, q.x, q.heads, k.x, store_.v, k.heads, q.n_tokens, q.head_dim,
                      q.positions, q.params, store_.kv, store_.keys, store_.values),
        "rope_qk_store"));
  }
  for (int i = 0; i < ropes; ++i) {
    const PendingRope& r = ropes_[i];
    HEARTH_RETURN_IF_ERROR(launch_status(
        cuda::rope(ctx_, r.x, r.n_tokens, r.heads, r.head_dim, r.positions, r.params), "rope"));
  }
  if (add_pending) {
    HEARTH_RETURN_IF_ERROR(launch_status(cuda::add(ctx_, add_.a, add_.b, add_.out, add_.n), "add"));
  }
  if (norm_pending) {
    HEARTH_RETURN_IF_ERROR(launch_status(
        cuda::rms_norm(ctx_, norm_.x, norm_.weight, norm_.y, norm_.rows, norm_.cols, norm_.eps),
        "rms_norm"));
  }
  return {};
}

Status CudaBackend::launch_matvecs(const MatvecCall& c) {
  for (int64_t t = 0; t < c.n_tokens; ++t) {
    MatvecTarget mv[3];
    for (int i = 0; i < c.n_targets; ++i) {
      mv[i] = c.targets[i];
      if (mv[i].y != nullptr) mv[i].y += t * mv[i].w.rows;
    }
    MatvecFusion f;
    if (c.norm_weight != nullptr) {
      f.norm_weight = c.norm_weight;
      f.norm_out = c.norm_out + t * c.k;
      f.norm_eps = c.norm_eps;
    }
    if (c.residual_out != nullptr) {
      f.residual_in = c.residual_in + t * mv[0].w.rows;
      f.residual_out = c.residual_out + t * mv[0].w.rows;
    }
    QuantizedRow out_row, x_row;
    if (c.quantized_out >= 0) {
      out_row = quantized_row(c.quantized_out);
      f.quantized_out = &out_row;
      f.quantized_out_norm_weight = c.quantized_out_norm_weight;
    }
    if (c.quantized_x >= 0) {
      x_row = quantized_row(c.quantized_x);
      f.quantized_x = &x_row;
    }
    MatvecRope rope = c.rope_args;
    if (c.rope) {
      rope.position += t;
      f.rope = &rope;
    }
    const float* x = c.x + t * c.k;
    const cudaError_t err = c.swiglu ? matvec_swiglu(ctx_, x, mv[0].w, mv[1].w, mv[0].y, f)
                                     : matvec(ctx_, x, mv, c.n_targets, f);
    HEARTH_RETURN_IF_ERROR(launch_status(err, c.swiglu ? "matvec_swiglu" : "matvec"));
  }
  return {};
}

// A decode-size rms_norm is held back for the matvec that usually reads its output.
bool CudaBackend::defer_norm(const TensorView& x, const TensorView& weight, float eps,
                             const TensorView& y) {
  if (!options_.fuse_norm || x.rows() > kMatvecMaxTokens || x.cols() % 4 != 0 ||
      overlaps(x.data_as<const float>(), x.numel(), y.data_as<const float>(), y.numel())) {
    return false;
  }
  norm_ = {x.data_as<const float>(),
           weight.data_as<const float>(),
           y.data_as<float>(),
           eps,
           x.rows(),
           x.cols()};
  pending_norm_ = true;
  return true;
}

Status CudaBackend::take_norm(MatvecCall& call) {
  HEARTH_RETURN_IF_ERROR(take_normed_handoff(call));
  if (call.norm_weight != nullptr) return {};
  // Every block reads the norm's input and block 0 writes its output while the others write the
  // products: a product may overlap neither.
  bool clear = true;
  const int64_t norm_n = norm_.rows * norm_.cols;
  for (int i = 0; i < (call.swiglu ? 1 : call.n_targets); ++i) {
    const int64_t y_n = call.n_tokens * call.targets[i].w.rows;
    clear = clear && !overlaps(call.targets[i].y, y_n, norm_.x, norm_n) &&
            !overlaps(call.targets[i].y, y_n, norm_.y, norm_n);
  }
  if (pending_norm_ && !pending_matvec_ && clear && norm_.y == call.x &&
      norm_.rows == call.n_tokens && norm_.cols == call.k &&
      matvec_fuses_norm(call.targets[0].w.format, call.k)) {
    pending_norm_ = false;
    ++fusions_.norm_into_matvec;
    call.x = norm_.x;
    call.norm_weight = norm_.weight;
    call.norm_out = norm_.y;
    call.norm_eps = norm_.eps;
    return {};
  }
  return flush_pending();
}

// A one-weight matvec is held back for the residual add that usually consumes its output, a
// three-weight one (q, k, v) for the ropes and store_kv that usually follow it.
bool CudaBackend::defer_matvec(const MatvecCall& call) {
  const bool for_add = options_.fuse_residual && call.n_targets == 1;
  const bool for_rope = options_.fuse_rope_matvec && call.n_targets == 3;
  if (call.swiglu || (!for_add && !for_rope)) return false;
  matvec_ = call;
  pending_matvec_ = true;
  return true;
}

bool CudaBackend::defer_swiglu(const MatvecCall& call) {
  const int64_t rows = call.targets[0].w.rows;
  if (!options_.quantized_handoff || !call.swiglu || call.n_tokens != 1 || rows > max_inner_ ||
      quantized_rows_.get() == nullptr ||
      !matvec_takes_quantized(ctx_, call.targets[0].w, true, call.quantized_x >= 0, true)) {
    return false;
  }
  matvec_ = call;
  matvec_.quantized_out = call.quantized_x == 0 ? 1 : 0;  // not the slot it reads
  pending_matvec_ = true;
  return true;
}

// The matvec reading a held swiglu's output: the swiglu is launched now, writing its output
// quantized too, and the call reads that (nothing is launched between the two).
Status CudaBackend::take_quantized_x(MatvecCall& call) {
  if (!pending_matvec_ || !matvec_.swiglu || matvec_.quantized_out < 0 || call.n_tokens != 1 ||
      call.n_targets != 1 || call.x != matvec_.targets[0].y ||
      call.k != matvec_.targets[0].w.rows ||
      !matvec_takes_quantized(ctx_, call.targets[0].w, false, true, false)) {
    return {};
  }
  const MatvecCall swiglu = matvec_;
  pending_matvec_ = false;
  HEARTH_RETURN_IF_ERROR(launch_matvecs(swiglu));
  call.quantized_x = swiglu.quantized_out;
  ++fusions_.quantized_handoff;
  return {};
}

// One token of a one-weight matvec with its residual add fused, whose residual row the short
// kernel can write quantized: held back for the rms_norm of that row.
bool CudaBackend::can_hand_over_normed(const MatvecCall& producer) const {
  return options_.quantized_handoff && producer.n_tokens == 1 && producer.n_targets == 1 &&
         !producer.swiglu && producer.residual_out != nullptr && producer.quantized_x < 0 &&
         producer.targets[0].w.rows <= max_inner_ && quantized_rows_.get() != nullptr &&
         matvec_takes_quantized(ctx_, producer.targets[0].w, false, false, true);
}

// rms_norm(x) of the residual row a held matvec writes: held with it (flush_pending launches
// the matvec first, then the norm, as called).
bool CudaBackend::defer_norm_behind_matvec(const TensorView& x, const TensorView& weight, float eps,
                                           const TensorView& y) {
  if (!pending_matvec_ || pending_norm_ || pending_add_ || pending_store_ || pending_ropes_ != 0 ||
      matvec_.residual_out != x.data_as<float>() || x.rows() != 1 ||
      x.cols() != matvec_.targets[0].w.rows || !can_hand_over_normed(matvec_)) {
    return false;
  }
  return defer_norm(x, weight, eps, y);
}

// The matvec reading a norm held behind a matvec + residual (o): that matvec is launched now,
// writing the residual row times the norm's weight quantized with its sums of squares, and the
// call folds the norm, reading that row; gate/up in the short kernel.
Status CudaBackend::take_normed_handoff(MatvecCall& call) {
  if (!pending_matvec_ || !pending_norm_ || matvec_.residual_out != norm_.x || norm_.y != call.x ||
      call.n_tokens != 1 || norm_.cols != call.k || call.n_targets > 2 ||
      (!call.swiglu && call.n_targets != 1)) {
    return {};
  }
  const int64_t y_n = call.targets[0].w.rows;
  if (overlaps(call.targets[0].y, y_n, norm_.x, norm_.cols) ||
      overlaps(call.targets[0].y, y_n, norm_.y, norm_.cols) ||
      !matvec_fuses_norm(call.targets[0].w.format, call.k) ||
      !matvec_takes_quantized(ctx_, call.targets[0].w, call.swiglu, true, false)) {
    return {};
  }
  MatvecCall producer = matvec_;
  producer.quantized_out = 0;
  producer.quantized_out_norm_weight = norm_.weight;
  pending_matvec_ = false;
  pending_norm_ = false;
  HEARTH_RETURN_IF_ERROR(launch_matvecs(producer));
  call.x = norm_.x;
  call.norm_weight = norm_.weight;
  call.norm_out = norm_.y;
  call.norm_eps = norm_.eps;
  call.quantized_x = 0;
  ++fusions_.norm_into_matvec;
  ++fusions_.normed_handoff;
  return {};
}

bool CudaBackend::defer_rope_into_matvec(const TensorView& x, const int32_t* positions,
                                         const RopeParams& params) {
  const int index = pending_ropes_;  // 0: q's rope, 1: k's
  if (!pending_matvec_ || matvec_.n_targets != 3 || matvec_.rope || index > 1) return false;
  const MatvecTarget& target = matvec_.targets[index];
  const int64_t head_dim = x.shape()[2];
  if (x.data_as<float>() != target.y || x.shape()[0] != matvec_.n_tokens ||
      x.shape()[1] * head_dim != target.w.rows ||
      !matvec_fuses_rope(matvec_.targets[0].w, matvec_.targets[1].w, matvec_.targets[2].w, head_dim,
                         params)) {
    return false;
  }
  if (index == 1 && (ropes_[0].positions != positions || ropes_[0].head_dim != head_dim ||
                     !same_rope(ropes_[0].params, params))) {
    return false;
  }
  hold_rope(x, positions, params);
  return true;
}

Expected<bool> CudaBackend::fuse_matvec_rope_store(const TensorView& k, const TensorView& v,
                                                   const int32_t* positions, const TensorView& keys,
                                                   const TensorView& values) {
  if (!pending_matvec_ || pending_ropes_ != 2 || matvec_.n_targets != 3 ||
      ropes_[1].x != k.data_as<float>() || ropes_[1].positions != positions ||
      matvec_.targets[2].y != v.data_as<float>()) {
    return false;
  }
  MatvecCall fused = matvec_;
  fused.rope = true;
  fused.rope_args.position = positions;
  fused.rope_args.params = ropes_[0].params;
  fused.rope_args.head_dim = ropes_[0].head_dim;
  fused.rope_args.kv = kv_format(keys);
  fused.rope_args.keys = keys.data();
  fused.rope_args.values = values.data();
  drop_pending();
  HEARTH_RETURN_IF_ERROR(launch_matvecs(fused));
  ++fusions_.rope_into_matvec;
  return true;
}

// add(x, y, out) (or add(y, x, out)) right after the matvec that wrote y: one kernel.
Expected<bool> CudaBackend::fuse_matvec_add(const TensorView& a, const TensorView& b,
                                            const TensorView& out) {
  if (!pending_matvec_ || matvec_.n_targets != 1 || matvec_.swiglu ||
      matvec_.residual_out != nullptr || pending_ropes_ != 0) {
    return false;
  }
  const MatvecCall& c = matvec_;
  const float* y = c.targets[0].y;
  const int64_t n = c.n_tokens * c.targets[0].w.rows;
  if (out.numel() != n) return false;
  const float* other = nullptr;
  if (b.data_as<const float>() == y) {
    other = a.data_as<const float>();
  } else if (a.data_as<const float>() == y) {
    other = b.data_as<const float>();
  } else {
    return false;
  }
  // Each output element is written by the lane that computes it: the residual may be updated in
  // place or alias y exactly, but must not straddle y or overlap what other blocks read.
  float* dst = out.data_as<float>();
  const auto same_or_disjoint = [n](const float* p, const float* q) {
    return p == q || !overlaps(p, n, q, n);
  };
  if (!same_or_disjoint(dst, y) || !same_or_disjoint(other, y) || !same_or_disjoint(other, dst) ||
      overlaps(dst, n, c.x, c.n_tokens * c.k) ||
      (c.norm_out != nullptr && (overlaps(dst, n, c.norm_out, c.n_tokens * c.k) ||
                                 overlaps(other, n, c.norm_out, c.n_tokens * c.k)))) {
    return false;
  }
  ++fusions_.residual_into_matvec;
  MatvecCall fused = c;
  fused.residual_in = other;
  fused.residual_out = dst;
  if (can_hand_over_normed(fused)) {
    matvec_ = fused;  // still pending, for the rms_norm of dst (defer_norm_behind_matvec)
    return true;
  }
  pending_matvec_ = false;
  HEARTH_RETURN_IF_ERROR(launch_matvecs(fused));
  return true;
}

// An add of decode size is held back for the rms_norm that usually follows.
bool CudaBackend::defer_add(const TensorView& a, const TensorView& b, const TensorView& out) {
  if (out.numel() > kMatvecMaxTokens * 8192 || out.numel() == 0) return false;
  add_ = {a.data_as<const float>(), b.data_as<const float>(), out.data_as<float>(), out.numel()};
  pending_add_ = true;
  return true;
}

// rms_norm(x) right after add(a, b) -> x: one kernel. False when it does not apply.
Expected<bool> CudaBackend::fuse_add_rms_norm(const TensorView& x, const TensorView& weight,
                                              float eps, const TensorView& y) {
  if (!pending_add_ || pending_ropes_ != 0 || pending_norm_ || pending_matvec_ ||
      add_.out != x.data_as<float>() || add_.n != x.numel() || y.data() == x.data() ||
      y.data_as<const float>() == add_.a || y.data_as<const float>() == add_.b) {
    return false;
  }
  const cudaError_t err =
      add_rms_norm(ctx_, add_.a, add_.b, add_.out, weight.data_as<const float>(),
                   y.data_as<float>(), x.rows(), x.cols(), eps);
  if (err == cudaErrorInvalidValue) return false;  // a row shape the fused kernel does not take
  pending_add_ = false;
  HEARTH_RETURN_IF_ERROR(launch_status(err, "add_rms_norm"));
  return true;
}

// rope of up to two tensors with the same positions and frequencies is held back for store_kv.
Status CudaBackend::defer_rope(const TensorView& x, const int32_t* positions,
                               const RopeParams& params) {
  if (defer_rope_into_matvec(x, positions, params)) return {};
  const PendingRope& first = ropes_[0];
  const bool pairs_with_first =
      pending_ropes_ == 1 && only_ropes_pending() && first.positions == positions &&
      first.n_tokens == x.shape()[0] && first.head_dim == x.shape()[2] &&
      same_rope(first.params, params) &&
      !overlaps(first.x, first.n_tokens * first.heads * first.head_dim, x.data_as<const float>(),
                x.numel());  // one fused launch rotates both: never the same memory twice
  if (!pairs_with_first) HEARTH_RETURN_IF_ERROR(flush_pending());
  hold_rope(x, positions, params);
  return {};
}

void CudaBackend::hold_rope(const TensorView& x, const int32_t* positions,
                            const RopeParams& params) {
  PendingRope& r = ropes_[pending_ropes_++];
  r.x = x.data_as<float>();
  r.n_tokens = x.shape()[0];
  r.heads = x.shape()[1];
  r.head_dim = x.shape()[2];
  r.positions = positions;
  r.params = params;
}

// store_kv(k, v) right after rope(q), rope(k) with the same positions: one kernel.
Expected<bool> CudaBackend::fuse_rope_store_kv(const TensorView& k, const TensorView& v,
                                               const int32_t* positions, const TensorView& keys,
                                               const TensorView& values) {
  if (pending_ropes_ != 2 || !only_ropes_pending() || ropes_[1].x != k.data_as<float>() ||
      ropes_[1].positions != positions || ropes_[1].heads != k.shape()[1] || v.data() == k.data() ||
      v.data() == ropes_[0].x) {
    return false;
  }
  const PendingRope& q = ropes_[0];
  if (options_.fuse_rope_attention && q.n_tokens == 1 &&
      decode_rope_supported(q.head_dim, q.params)) {  // held for the attention that follows
    store_ = {v.data_as<const float>(), kv_format(keys), keys.data(), values.data()};
    pending_store_ = true;
    return true;
  }
  const cudaError_t err = rope_qk_store(ctx_, q.x, q.heads, ropes_[1].x, v.data_as<const float>(),
                                        ropes_[1].heads, q.n_tokens, q.head_dim, positions,
                                        q.params, kv_format(keys), keys.data(), values.data());
  if (err == cudaErrorInvalidValue) return false;
  pending_ropes_ = 0;
  HEARTH_RETURN_IF_ERROR(launch_status(err, "rope_qk_store"));
  return true;
}

}  // namespace hearth::cuda
