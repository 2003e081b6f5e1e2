// The CUDA backend's decode fusions (cuda_fusion.cpp) against the reference's unfused ops:
// rope + KV store (inside the q/k/v matvec, in one kernel of their own, or inside attention on
// request), the residual add with the next rms_norm, each rms_norm folded into the matvec that
// reads it and each residual add into the matvec that produces it, the swiglu's output handed to
// the down matvec quantized, o's residual row handed to gate/up quantized, and the overlaps for
// which a fusion must be refused. Tolerances as in cuda_backend_parity_test.cpp; the fusion
// counters show each fusion was taken (or not).
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "cuda_parity_support.h"

namespace hearth {
namespace {

using test::as_cached;
using test::CudaParityTest;
using test::decode_quantizes_activations;
using test::DeviceTensor;
using test::expect_all_near;
using test::expect_matmul_near;
using test::f32_view;
using test::kv_to_device;
using test::matmul_tolerance;
using test::normal_floats;
using test::to_device;
using test::to_host;

// One decode token: rope(q), rope(k) and store_kv are held back and done by the attention
// kernel itself (q and k rotated in registers, the new key and value written to the cache by the
// split that attends to them). Everything the unfused ops leave behind must be there: the
// attention output, rotated q and k, the cache row, and untouched rows after it.
TEST_F(CudaParityTest, RopeAndKvStoreFoldedIntoDecodeAttentionMatchTheReference) {
  cuda::CudaBackendOptions options;
  options.fuse_rope_attention = true;  // off by default (slower), so asked for here
  std::string reason;
  auto fused_backend = test::cuda_backend_or_reason(reason, options);
  ASSERT_TRUE(fused_backend) << reason;
  cuda::CudaBackend& cuda = *fused_backend;
  struct Case {
    int64_t heads, kv_heads, hd, past;
    RopeLayout layout;
    int64_t rotary;
  };
  for (const Case& c : {Case{32, 8, 128, 0, RopeLayout::kAdjacentPairs, 128},
                        Case{32, 8, 128, 300, RopeLayout::kNeox, 128},
                        Case{9, 3, 64, 70, RopeLayout::kAdjacentPairs, 64},
                        Case{8, 8, 64, 1000, RopeLayout::kNeox, 32},
                        Case{16, 2, 128, 5000, RopeLayout::kAdjacentPairs, 64},
                        Case{4, 1, 256, 33, RopeLayout::kNeox, 256}}) {
    SCOPED_TRACE("heads " + std::to_string(c.heads) + "/" + std::to_string(c.kv_heads) + " hd " +
                 std::to_string(c.hd) + " past " + std::to_string(c.past) + " rotary " +
                 std::to_string(c.rotary) +
                 (c.layout == RopeLayout::kNeox ? " neox" : " adjacent"));
    RopeSpec spec;
    spec.layout = c.layout;
    spec.rotary_dim = c.rotary;
    for (int64_t i = 0; i < c.rotary / 2; ++i) {
      spec.inv_freq.push_back(std::pow(10000.0, -2.0 * static_cast<double>(i) / c.rotary));
    }
    const int64_t capacity = c.past + 40, row = c.kv_heads * c.hd;
    const std::vector<int32_t> pos{static_cast<int32_t>(c.past)};
    const std::vector<int32_t> tokens{1};
    std::vector<float> q = normal_floats(c.heads * c.hd, rng_);
    std::vector<float> k = normal_floats(row, rng_), v = normal_floats(row, rng_);
    std::vector<float> keys = as_cached(cuda, normal_floats(capacity * row, rng_)), values = keys;
    for (int64_t i = c.past * row; i < capacity * row; ++i) keys[i] = values[i] = NAN;
    const Shape qs{1, c.heads, c.hd}, ks{1, c.kv_heads, c.hd}, cs{capacity, c.kv_heads, c.hd};
    const DeviceTensor dq = to_device(cuda, q, qs), dk = to_device(cuda, k, ks),
                       dv = to_device(cuda, v, ks), dkeys = kv_to_device(cuda, keys, cs),
                       dvalues = kv_to_device(cuda, values, cs), dout = test::poisoned(cuda, qs);
    // An f16 cache rounds the new row; a rotated key a float ulp off may round to the
    // neighbouring half (one f16 ulp; in the output a few 1e-7 through its softmax weight).
    const double key_rel = cuda.kv_cache_dtype() == DType::kF16 ? 1e-3 : 1e-6;

    const float scale = 1.0f / std::sqrt(static_cast<float>(c.hd));
    std::vector<float> want(q.size());
    ASSERT_TRUE(ref_.rope(f32_view(q, qs), pos, spec).ok());
    ASSERT_TRUE(ref_.rope(f32_view(k, ks), pos, spec).ok());
    ASSERT_TRUE(ref_.store_kv(f32_view(k, ks), f32_view(v, ks), pos, f32_view(keys, cs),
                              f32_view(values, cs))
                    .ok());
    keys = as_cached(cuda, keys);
    values = as_cached(cuda, values);
    ASSERT_TRUE(ref_.attention(f32_view(q, qs), f32_view(keys, cs), f32_view(values, cs), pos,
                               scale, f32_view(want, qs))
                    .ok());

    ASSERT_TRUE(cuda.begin_step(tokens, pos).ok());
    ASSERT_TRUE(cuda.rope(dq.view, pos, spec).ok());
    ASSERT_TRUE(cuda.rope(dk.view, pos, spec).ok());
    ASSERT_TRUE(cuda.store_kv(dk.view, dv.view, pos, dkeys.view, dvalues.view).ok());
    const int64_t ropes_before = cuda.fusions().rope_into_attention;
    const Status st = cuda.attention(dq.view, dkeys.view, dvalues.view, pos, scale, dout.view);
    ASSERT_TRUE(st.ok()) << st.to_string();
    EXPECT_EQ(cuda.fusions().rope_into_attention, ropes_before + 1) << "rope not folded";
    expect_all_near(to_host(cuda, dout.view), want, 2e-5, 2e-5, "attention output");
    expect_all_near(to_host(cuda, dq.view), q, 1e-6, 1e-6, "rotated q");
    expect_all_near(to_host(cuda, dk.view), k, 1e-6, 1e-6, "rotated k");
    const std::vector<float> got_k = to_host(cuda, dkeys.view), got_v = to_host(cuda, dvalues.view);
    const auto used = static_cast<std::ptrdiff_t>((c.past + 1) * row);
    expect_all_near({got_k.begin(), got_k.begin() + used}, {keys.begin(), keys.begin() + used},
                    key_rel, 1e-6, "cache keys");
    expect_all_near({got_v.begin(), got_v.begin() + used}, {values.begin(), values.begin() + used},
                    0, 0, "cache values");
    for (size_t i = static_cast<size_t>(used); i < got_k.size(); ++i) {
      ASSERT_TRUE(std::isnan(got_k[i]) && std::isnan(got_v[i])) << "row past the token, " << i;
    }
  }
}

// rope(q)'s partner of element i of a [t][heads][hd] tensor (itself where the dim is not rotated).
int64_t rope_partner(int64_t i, int64_t hd, const RopeSpec& spec) {
  const int64_t d = i % hd, half = spec.rotary_dim / 2;
  if (d >= spec.rotary_dim) return i;
  if (spec.layout == RopeLayout::kAdjacentPairs) return i - d + (d ^ 1);
  return d < half ? i + half : i - half;
}

// Decode steps hold the q/k/v matvec back for rope(q), rope(k) and store_kv, and the matvec
// rotates q and k as it writes them and writes the cache rows too: one launch. Its outputs must
// be the unfused ops' bit for bit (the same products, the same double-precision rotation), and
// within the matvec tolerance of the reference's matmul -> rope -> store_kv (a rotation mixes a
// pair, so the pair's two bounds add). Shapes the fused kernel cannot take (NeoX with partial
// rotary dims) run unfused.
TEST_F(CudaParityTest, RopeAndKvStoreFoldedIntoQkvMatvecMatchTheUnfusedOps) {
  cuda::CudaBackendOptions unfused_options;
  unfused_options.fuse_rope_matvec = false;
  std::string reason;
  auto unfused = test::cuda_backend_or_reason(reason, unfused_options);
  ASSERT_TRUE(unfused) << reason;
  struct Case {
    DType type;
    int64_t heads, kv_heads, hd;
    RopeLayout layout;
    int64_t rotary, t;
    bool bias, norm, fuses;
  };
  const int64_t dim = 512, capacity = 48;
  for (const Case& c :
       {Case{DType::kQ4_0, 8, 2, 128, RopeLayout::kAdjacentPairs, 128, 1, false, true, true},
        Case{DType::kQ4_0, 8, 2, 128, RopeLayout::kNeox, 128, 3, true, false, true},
        Case{DType::kQ8_0, 6, 2, 64, RopeLayout::kNeox, 64, 1, true, true, true},
        Case{DType::kQ4_1, 4, 4, 64, RopeLayout::kAdjacentPairs, 32, 2, false, false, true},
        Case{DType::kF16, 8, 2, 128, RopeLayout::kNeox, 128, 1, true, false, true},
        Case{DType::kQ4_0, 4, 2, 64, RopeLayout::kNeox, 32, 1, false, true, false}}) {
    SCOPED_TRACE(std::string(dtype_name(c.type)) + " heads " + std::to_string(c.heads) + "/" +
                 std::to_string(c.kv_heads) + " hd " + std::to_string(c.hd) + " rotary " +
                 std::to_string(c.rotary) +
                 (c.layout == RopeLayout::kNeox ? " neox" : " adjacent") + " t " +
                 std::to_string(c.t) + (c.bias ? " bias" : "") + (c.norm ? " norm" : ""));
    RopeSpec spec;
    spec.layout = c.layout;
    spec.rotary_dim = c.rotary;
    for (int64_t i = 0; i < c.rotary / 2; ++i) {
      spec.inv_freq.push_back(std::pow(10000.0, -2.0 * static_cast<double>(i) / c.rotary));
    }
    const int64_t qn = c.heads * c.hd, kn = c.kv_heads * c.hd, t = c.t;
    std::vector<int32_t> pos(static_cast<size_t>(t));
    for (int64_t i = 0; i < t; ++i) pos[i] = static_cast<int32_t>(17 + 5 * i);
    const std::vector<int32_t> tokens(static_cast<size_t>(t), 1);
    const int64_t rows[3] = {qn, kn, kn};
    std::vector<test::RandomTensor> ws;
    ws.reserve(3);
    std::vector<std::vector<float>> biases;
    for (int64_t n : rows) {
      ws.push_back(test::random_weight(c.type, n, dim, rng_));
      biases.push_back(test::random_floats(n, rng_));
    }
    std::vector<float> x = test::random_floats(t * dim, rng_), nw = test::random_floats(dim, rng_);
    const Shape xs{t, dim}, cs{capacity, c.kv_heads, c.hd};
    std::vector<float> cache = as_cached(*cuda_, normal_floats(capacity * kn, rng_));

    // The reference: [rms_norm ->] q/k/v products [+ bias] -> rope(q), rope(k) -> store_kv.
    std::vector<float> xn = x;
    if (c.norm) {
      ASSERT_TRUE(
          ref_.rms_norm(f32_view(x, xs), f32_view(nw, Shape{dim}), 1e-5f, f32_view(xn, xs)).ok());
    }
    std::vector<std::vector<float>> want(3), tol(3);
    for (int i = 0; i < 3; ++i) {
      want[i].resize(static_cast<size_t>(t * rows[i]));
      std::vector<float>& b = biases[i];
      const TensorView bias_view = f32_view(b, Shape{rows[i]});
      ASSERT_TRUE(ref_.matmul(f32_view(xn, xs), ws[i].view, c.bias ? &bias_view : nullptr,
                              f32_view(want[i], Shape{t, rows[i]}))
                      .ok());
      const auto mt = matmul_tolerance(test::dequantized(ws[i].view), xn, rows[i], dim, t, c.type);
      tol[i].resize(mt.size());
      for (size_t j = 0; j < mt.size(); ++j) {
        const int64_t p = i < 2 ? rope_partner(static_cast<int64_t>(j), c.hd, spec) : j;
        tol[i][j] = static_cast<float>(mt[j] + (p == static_cast<int64_t>(j) ? 0.0 : mt[p]) +
                                       1e-5 * (std::abs(want[i][j]) + std::abs(want[i][p])));
      }
    }
    ASSERT_TRUE(ref_.rope(f32_view(want[0], Shape{t, c.heads, c.hd}), pos, spec).ok());
    ASSERT_TRUE(ref_.rope(f32_view(want[1], Shape{t, c.kv_heads, c.hd}), pos, spec).ok());

    // The same ops on both backends; results read back as [q, k, v, keys, values].
    const auto run = [&](cuda::CudaBackend& be, bool expect_fused) {
      std::vector<std::vector<float>> got;
      std::vector<TensorView> pw, pb;
      for (int i = 0; i < 3; ++i) {
        auto w = be.prepare_matrix("w", ws[i].view);
        auto b = be.prepare_vector("b", f32_view(biases[i], Shape{rows[i]}));
        EXPECT_TRUE(w.ok() && b.ok());
        if (!w.ok() || !b.ok()) return got;
        pw.push_back(*w);
        pb.push_back(*b);
      }
      auto dnw = be.prepare_vector("norm", f32_view(nw, Shape{dim}));
      EXPECT_TRUE(dnw.ok());
      if (!dnw.ok()) return got;
      const DeviceTensor dx = to_device(be, x, xs), dxn = test::poisoned(be, xs);
      const DeviceTensor dq = test::poisoned(be, Shape{t, c.heads, c.hd}),
                         dk = test::poisoned(be, Shape{t, c.kv_heads, c.hd}),
                         dv = test::poisoned(be, Shape{t, c.kv_heads, c.hd});
      const DeviceTensor dkeys = kv_to_device(be, cache, cs), dvalues = kv_to_device(be, cache, cs);
      const TensorView q2(dq.view.data(), DType::kF32, Shape{t, qn}),
          k2(dk.view.data(), DType::kF32, Shape{t, kn}),
          v2(dv.view.data(), DType::kF32, Shape{t, kn});
      const MatmulTarget targets[] = {{&pw[0], c.bias ? &pb[0] : nullptr, q2},
                                      {&pw[1], c.bias ? &pb[1] : nullptr, k2},
                                      {&pw[2], c.bias ? &pb[2] : nullptr, v2}};
      const int64_t before = be.fusions().rope_into_matvec;
      EXPECT_TRUE(be.begin_step(tokens, pos).ok());
      if (c.norm) {
        EXPECT_TRUE(be.rms_norm(dx.view, *dnw, 1e-5f, dxn.view).ok());
      }
      EXPECT_TRUE(be.matmul_shared_input(c.norm ? dxn.view : dx.view, targets).ok());
      EXPECT_TRUE(be.rope(dq.view, pos, spec).ok());
      EXPECT_TRUE(be.rope(dk.view, pos, spec).ok());
      const Status st = be.store_kv(dk.view, dv.view, pos, dkeys.view, dvalues.view);
      EXPECT_TRUE(st.ok()) << st.to_string();
      EXPECT_EQ(be.fusions().rope_into_matvec - before, expect_fused ? 1 : 0)
          << (expect_fused ? "rope not folded into the matvec" : "folded where it must not be");
      for (const TensorView* v : {&dq.view, &dk.view, &dv.view, &dkeys.view, &dvalues.view}) {
        got.push_back(to_host(be, *v));
      }
      return got;
    };
    const auto fused = run(*cuda_, c.fuses);
    const auto plain = run(*unfused, false);
    ASSERT_EQ(fused.size(), 5u);
    ASSERT_EQ(plain.size(), 5u);
    const char* names[] = {"q", "k", "v", "cache keys", "cache values"};
    for (int i = 0; i < 5; ++i) {
      expect_all_near(fused[i], plain[i], 0, 0, std::string(names[i]) + ", fused vs unfused");
    }
    for (int i = 0; i < 3; ++i) {
      std::vector<double> allowed(tol[i].begin(), tol[i].end());
      expect_matmul_near(fused[i], want[i], allowed, 0, std::string(names[i]) + " vs reference");
    }
    // The cache rows at the positions hold k and v as the cache type rounds them; the rest is
    // untouched.
    std::vector<float> want_keys = cache, want_values = cache;
    for (int64_t tt = 0; tt < t; ++tt) {
      for (int64_t j = 0; j < kn; ++j) {
        want_keys[pos[tt] * kn + j] = fused[1][tt * kn + j];
        want_values[pos[tt] * kn + j] = fused[2][tt * kn + j];
      }
    }
    expect_all_near(fused[3], as_cached(*cuda_, want_keys), 0, 0, "cache keys");
    expect_all_near(fused[4], as_cached(*cuda_, want_values), 0, 0, "cache values");
  }
}

// Decode steps hold rope(q), rope(k) back for store_kv, and add back for rms_norm, and run
// each pattern as one kernel: the results must be the unfused ops' results.
TEST_F(CudaParityTest, DecodeFusionsMatchTheReference) {
  const int64_t heads = 8, kv_heads = 2, hd = 128, capacity = 40, dim = 4096;
  RopeSpec spec;
  spec.layout = RopeLayout::kAdjacentPairs;
  spec.rotary_dim = hd;
  for (int64_t i = 0; i < hd / 2; ++i) spec.inv_freq.push_back(std::pow(500000.0, -2.0 * i / hd));
  for (int64_t t : {1, 3}) {
    SCOPED_TRACE("t=" + std::to_string(t));
    std::vector<int32_t> pos(static_cast<size_t>(t));
    for (int64_t i = 0; i < t; ++i) pos[i] = static_cast<int32_t>(30 + i);
    const std::vector<int32_t> tokens(static_cast<size_t>(t), 1);
    std::vector<float> q = normal_floats(t * heads * hd, rng_),
                       k = normal_floats(t * kv_heads * hd, rng_),
                       v = normal_floats(t * kv_heads * hd, rng_);
    std::vector<float> keys = as_cached(*cuda_, normal_floats(capacity * kv_heads * hd, rng_)),
                       values = keys;
    const Shape qs{t, heads, hd}, ks{t, kv_heads, hd}, cs{capacity, kv_heads, hd};
    const DeviceTensor dq = to_device(*cuda_, q, qs), dk = to_device(*cuda_, k, ks),
                       dv = to_device(*cuda_, v, ks), dkeys = kv_to_device(*cuda_, keys, cs),
                       dvalues = kv_to_device(*cuda_, values, cs);
    const double key_rel = cuda_->kv_cache_dtype() == DType::kF16 ? 1e-3 : 1e-6;
    ASSERT_TRUE(ref_.rope(f32_view(q, qs), pos, spec).ok());
    ASSERT_TRUE(ref_.rope(f32_view(k, ks), pos, spec).ok());
    ASSERT_TRUE(ref_.store_kv(f32_view(k, ks), f32_view(v, ks), pos, f32_view(keys, cs),
                              f32_view(values, cs))
                    .ok());
    ASSERT_TRUE(cuda_->begin_step(tokens, pos).ok());
    ASSERT_TRUE(cuda_->rope(dq.view, pos, spec).ok());
    ASSERT_TRUE(cuda_->rope(dk.view, pos, spec).ok());
    ASSERT_TRUE(cuda_->store_kv(dk.view, dv.view, pos, dkeys.view, dvalues.view).ok());
    expect_all_near(to_host(*cuda_, dq.view), q, 1e-6, 1e-6, "fused rope q");
    expect_all_near(to_host(*cuda_, dk.view), k, 1e-6, 1e-6, "fused rope k");
    keys = as_cached(*cuda_, keys);
    values = as_cached(*cuda_, values);
    expect_all_near(to_host(*cuda_, dkeys.view), keys, key_rel, 1e-6, "fused cache keys");
    expect_all_near(to_host(*cuda_, dvalues.view), values, 0, 0, "fused cache values");

    std::vector<float> x = test::random_floats(t * dim, rng_),
                       d = test::random_floats(t * dim, rng_);
    std::vector<float> w = test::random_floats(dim, rng_), want_y(x.size());
    const Shape s{t, dim};
    auto dw = cuda_->prepare_vector("norm", f32_view(w, Shape{dim}));
    ASSERT_TRUE(dw.ok());
    const DeviceTensor dx = to_device(*cuda_, x, s), dd = to_device(*cuda_, d, s);
    const DeviceTensor dy = test::poisoned(*cuda_, s);
    ASSERT_TRUE(ref_.add(f32_view(x, s), f32_view(d, s), f32_view(x, s)).ok());
    ASSERT_TRUE(
        ref_.rms_norm(f32_view(x, s), f32_view(w, Shape{dim}), 1e-5f, f32_view(want_y, s)).ok());
    ASSERT_TRUE(cuda_->add(dx.view, dd.view, dx.view).ok());
    ASSERT_TRUE(cuda_->rms_norm(dx.view, *dw, 1e-5f, dy.view).ok());
    expect_all_near(to_host(*cuda_, dx.view), x, 0, 0, "fused residual add");
    expect_all_near(to_host(*cuda_, dy.view), want_y, 1e-5, 1e-7, "fused rms_norm");
    // A held-back add is launched before any other op reads its output.
    ASSERT_TRUE(cuda_->add(dx.view, dd.view, dx.view).ok());
    ASSERT_TRUE(ref_.add(f32_view(x, s), f32_view(d, s), f32_view(x, s)).ok());
    expect_all_near(to_host(*cuda_, dx.view), x, 0, 0, "held-back add, then read");

    // add + rms_norm + matmul: the held add is taken by the norm (add_rms_norm), then the matvec.
    for (DType type : {DType::kQ4_0, DType::kQ8_0}) {
      const int64_t n = 300;
      const auto wt = test::random_weight(type, n, dim, rng_);
      auto pw = cuda_->prepare_matrix("w", wt.view);
      ASSERT_TRUE(pw.ok());
      const DeviceTensor dout = test::poisoned(*cuda_, Shape{t, n});
      const DeviceTensor dy2 = test::poisoned(*cuda_, s);
      ASSERT_TRUE(ref_.add(f32_view(x, s), f32_view(d, s), f32_view(x, s)).ok());
      ASSERT_TRUE(
          ref_.rms_norm(f32_view(x, s), f32_view(w, Shape{dim}), 1e-5f, f32_view(want_y, s)).ok());
      std::vector<float> want_out(static_cast<size_t>(t * n));
      ASSERT_TRUE(
          ref_.matmul(f32_view(want_y, s), wt.view, nullptr, f32_view(want_out, Shape{t, n})).ok());
      ASSERT_TRUE(cuda_->add(dx.view, dd.view, dx.view).ok());
      ASSERT_TRUE(cuda_->rms_norm(dx.view, *dw, 1e-5f, dy2.view).ok());
      ASSERT_TRUE(cuda_->matmul(dy2.view, *pw, nullptr, dout.view).ok());
      expect_all_near(to_host(*cuda_, dx.view), x, 0, 0, "residual written by the fused matvec");
      expect_all_near(to_host(*cuda_, dy2.view), want_y, 1e-5, 1e-7,
                      "norm written by the fused matvec");
      const auto got = to_host(*cuda_, dout.view);
      const auto tol = matmul_tolerance(test::dequantized(wt.view), want_y, n, dim, t, type);
      for (size_t i = 0; i < got.size(); ++i) {
        ASSERT_NEAR(got[i], want_out[i], tol[i] + 1e-5 * std::abs(want_out[i]))
            << dtype_name(type) << " " << i;
      }
    }
  }
}

// Decode steps fold each rms_norm into the matvec that reads its output (the matvec quantizes
// x * weight and scales its dot products by 1 / rms(x)) and each residual add into the matvec
// that produces its operand. Outputs must match the reference's unfused ops: the products
// within the int8 tolerance of the normed input (plus 1e-5 relative for the scale's rounding),
// and the norm's and matmul's own outputs still written. Float weights, parallel-residual
// shapes and held-back matvecs read before any add take the unfused path, also checked.
TEST_F(CudaParityTest, NormAndResidualFoldedIntoMatvecsMatchTheReference) {
  const int64_t dim = 1024, ff = 704;
  for (DType type : {DType::kQ4_0, DType::kQ4_1, DType::kQ8_0, DType::kF16}) {
    for (int64_t t : {1, 3}) {
      SCOPED_TRACE(std::string(dtype_name(type)) + " t=" + std::to_string(t));
      const Shape xs{t, dim};
      std::vector<float> x = test::random_floats(t * dim, rng_);
      std::vector<float> nw = test::random_floats(dim, rng_);
      for (float& v : nw) v = 1.0f + 0.5f * v;
      auto dnw = cuda_->prepare_vector("norm", f32_view(nw, Shape{dim}));
      ASSERT_TRUE(dnw.ok());
      std::vector<float> xn(x.size());
      ASSERT_TRUE(
          ref_.rms_norm(f32_view(x, xs), f32_view(nw, Shape{dim}), 1e-5f, f32_view(xn, xs)).ok());

      // rms_norm -> q/k/v (three weights, one launch)
      const int64_t rows[3] = {256, 64, 96};
      std::vector<test::RandomTensor> ws;
      ws.reserve(3);
      std::vector<TensorView> pw;
      for (int64_t n : rows) {
        ws.push_back(test::random_weight(type, n, dim, rng_));
        auto p = cuda_->prepare_matrix("w", ws.back().view);
        ASSERT_TRUE(p.ok()) << p.status().to_string();
        pw.push_back(*p);
      }
      const DeviceTensor dx = to_device(*cuda_, x, xs), dxn = test::poisoned(*cuda_, xs);
      std::vector<DeviceTensor> douts;
      for (int64_t n : rows) douts.push_back(test::poisoned(*cuda_, Shape{t, n}));
      ASSERT_TRUE(cuda_->rms_norm(dx.view, *dnw, 1e-5f, dxn.view).ok());
      const MatmulTarget targets[] = {{&pw[0], nullptr, douts[0].view},
                                      {&pw[1], nullptr, douts[1].view},
                                      {&pw[2], nullptr, douts[2].view}};
      // Quantized weights take the norm into the matvec; float weights run it on its own.
      const int64_t folds = decode_quantizes_activations(type) ? 1 : 0;
      const auto before = cuda_->fusions();
      ASSERT_TRUE(cuda_->matmul_shared_input(dxn.view, targets).ok());
      EXPECT_EQ(cuda_->fusions().norm_into_matvec - before.norm_into_matvec, folds);
      expect_all_near(to_host(*cuda_, dxn.view), xn, 1e-5, 1e-6, "norm output");
      expect_all_near(to_host(*cuda_, dx.view), x, 0, 0, "norm input untouched");
      for (int i = 0; i < 3; ++i) {
        std::vector<float> want(static_cast<size_t>(t * rows[i]));
        ASSERT_TRUE(
            ref_.matmul(f32_view(xn, xs), ws[i].view, nullptr, f32_view(want, Shape{t, rows[i]}))
                .ok());
        const auto tol = matmul_tolerance(test::dequantized(ws[i].view), xn, rows[i], dim, t, type);
        expect_matmul_near(to_host(*cuda_, douts[i].view), want, tol, 1e-5,
                           "q/k/v product " + std::to_string(i));
      }

      // rms_norm -> gate/up with silu(g) * u
      const auto gate = test::random_weight(type, ff, dim, rng_);
      const auto up = test::random_weight(type, ff, dim, rng_);
      auto pg = cuda_->prepare_matrix("gate", gate.view);
      auto pu = cuda_->prepare_matrix("up", up.view);
      ASSERT_TRUE(pg.ok() && pu.ok());
      const DeviceTensor dact = test::poisoned(*cuda_, Shape{t, ff}),
                         dupo = test::poisoned(*cuda_, Shape{t, ff}),
                         dxn2 = test::poisoned(*cuda_, xs);
      ASSERT_TRUE(cuda_->rms_norm(dx.view, *dnw, 1e-5f, dxn2.view).ok());
      ASSERT_TRUE(cuda_->matmul_swiglu(dxn2.view, *pg, *pu, dupo.view, dact.view).ok());
      EXPECT_EQ(cuda_->fusions().norm_into_matvec - before.norm_into_matvec, 2 * folds);
      expect_all_near(to_host(*cuda_, dxn2.view), xn, 1e-5, 1e-6, "norm output before gate/up");
      std::vector<float> g(static_cast<size_t>(t * ff)), u(g.size()), act(g.size());
      ASSERT_TRUE(
          ref_.matmul(f32_view(xn, xs), gate.view, nullptr, f32_view(g, Shape{t, ff})).ok());
      ASSERT_TRUE(ref_.matmul(f32_view(xn, xs), up.view, nullptr, f32_view(u, Shape{t, ff})).ok());
      const auto gtol = matmul_tolerance(test::dequantized(gate.view), xn, ff, dim, t, type);
      const auto utol = matmul_tolerance(test::dequantized(up.view), xn, ff, dim, t, type);
      std::vector<double> atol(g.size());
      for (size_t i = 0; i < g.size(); ++i) {
        // silu'(g) is within [-0.1, 1.1]: the gate's error moves silu(g) by at most 1.1x.
        const double sg = g[i] / (1.0 + std::exp(-double(g[i])));
        atol[i] = 1.1 * (gtol[i] + 1e-5 * std::abs(g[i])) * (std::abs(u[i]) + utol[i]) +
                  std::abs(sg) * (utol[i] + 1e-5 * std::abs(u[i]));
        act[i] = static_cast<float>(sg * u[i]);
      }
      expect_matmul_near(to_host(*cuda_, dact.view), act, atol, 1e-5, "silu(gate) * up");

      // matmul -> add(residual, proj, residual): the matvec updates the residual in place and
      // still writes proj.
      const auto wo = test::random_weight(type, dim, ff, rng_);
      auto po = cuda_->prepare_matrix("o", wo.view);
      ASSERT_TRUE(po.ok());
      std::vector<float> h = test::random_floats(t * ff, rng_);
      std::vector<float> res = test::random_floats(t * dim, rng_);
      const DeviceTensor dh = to_device(*cuda_, h, Shape{t, ff}), dres = to_device(*cuda_, res, xs),
                         dproj = test::poisoned(*cuda_, xs);
      ASSERT_TRUE(cuda_->matmul(dh.view, *po, nullptr, dproj.view).ok());
      ASSERT_TRUE(cuda_->add(dres.view, dproj.view, dres.view).ok());
      EXPECT_EQ(cuda_->fusions().residual_into_matvec - before.residual_into_matvec, 1);
      std::vector<float> proj(x.size()), want_res = res;
      ASSERT_TRUE(
          ref_.matmul(f32_view(h, Shape{t, ff}), wo.view, nullptr, f32_view(proj, xs)).ok());
      const auto otol = matmul_tolerance(test::dequantized(wo.view), h, dim, ff, t, type);
      for (size_t i = 0; i < res.size(); ++i) want_res[i] += proj[i];
      expect_matmul_near(to_host(*cuda_, dproj.view), proj, otol, 1e-5, "projection");
      expect_matmul_near(to_host(*cuda_, dres.view), want_res, otol, 1e-5, "residual + projection");

      // rms_norm -> matmul -> add(x, proj, x) (a parallel residual: the add would write the
      // norm's input while other blocks read it, so it runs after the matvec).
      const auto wp = test::random_weight(type, dim, dim, rng_);
      auto pp = cuda_->prepare_matrix("p", wp.view);
      ASSERT_TRUE(pp.ok());
      const DeviceTensor dx3 = to_device(*cuda_, x, xs), dxn3 = test::poisoned(*cuda_, xs),
                         dproj3 = test::poisoned(*cuda_, xs);
      ASSERT_TRUE(cuda_->rms_norm(dx3.view, *dnw, 1e-5f, dxn3.view).ok());
      ASSERT_TRUE(cuda_->matmul(dxn3.view, *pp, nullptr, dproj3.view).ok());
      ASSERT_TRUE(cuda_->add(dx3.view, dproj3.view, dx3.view).ok());
      // Folded into a norm-folding matvec the add would race with its reads of x; float weights
      // ran the norm on its own, so there the add may be folded.
      EXPECT_EQ(cuda_->fusions().residual_into_matvec - before.residual_into_matvec, 2 - folds)
          << "the parallel residual must not be folded into a matvec that reads x";
      std::vector<float> proj3(x.size()), want_x3 = x;
      ASSERT_TRUE(ref_.matmul(f32_view(xn, xs), wp.view, nullptr, f32_view(proj3, xs)).ok());
      const auto ptol = matmul_tolerance(test::dequantized(wp.view), xn, dim, dim, t, type);
      for (size_t i = 0; i < x.size(); ++i) want_x3[i] += proj3[i];
      expect_matmul_near(to_host(*cuda_, dproj3.view), proj3, ptol, 1e-5, "parallel projection");
      expect_matmul_near(to_host(*cuda_, dx3.view), want_x3, ptol, 1e-5, "parallel residual");

      // A held-back matvec is launched before its output is read.
      const DeviceTensor dproj4 = test::poisoned(*cuda_, xs);
      ASSERT_TRUE(cuda_->matmul(dh.view, *po, nullptr, dproj4.view).ok());
      expect_matmul_near(to_host(*cuda_, dproj4.view), proj, otol, 1e-5, "held-back matvec");

      // rms_norm(x -> h) -> matmul(h -> y) -> add(h, y, out): the residual is the norm's output,
      // which block 0 of the folded matvec is still writing: the add runs after it.
      const DeviceTensor dx5 = to_device(*cuda_, x, xs), dh5 = test::poisoned(*cuda_, xs),
                         dy5 = test::poisoned(*cuda_, xs), dout5 = test::poisoned(*cuda_, xs);
      const auto before5 = cuda_->fusions();
      ASSERT_TRUE(cuda_->rms_norm(dx5.view, *dnw, 1e-5f, dh5.view).ok());
      ASSERT_TRUE(cuda_->matmul(dh5.view, *pp, nullptr, dy5.view).ok());
      ASSERT_TRUE(cuda_->add(dh5.view, dy5.view, dout5.view).ok());
      EXPECT_EQ(cuda_->fusions().residual_into_matvec - before5.residual_into_matvec, 1 - folds)
          << "a residual read from the folded norm's output must not be folded";
      std::vector<float> want5 = xn;
      for (size_t i = 0; i < want5.size(); ++i) want5[i] += proj3[i];
      expect_matmul_near(to_host(*cuda_, dout5.view), want5, ptol, 1e-5, "norm output + product");

      // rms_norm(x -> h) -> matmul(h -> x): the product overwrites the norm's input, which every
      // block of a folded matvec reads: the norm runs on its own first.
      const DeviceTensor dx6 = to_device(*cuda_, x, xs), dh6 = test::poisoned(*cuda_, xs);
      const auto before6 = cuda_->fusions();
      ASSERT_TRUE(cuda_->rms_norm(dx6.view, *dnw, 1e-5f, dh6.view).ok());
      ASSERT_TRUE(cuda_->matmul(dh6.view, *pp, nullptr, dx6.view).ok());
      EXPECT_EQ(cuda_->fusions().norm_into_matvec, before6.norm_into_matvec)
          << "a product written over the norm's input must not take the norm";
      expect_matmul_near(to_host(*cuda_, dx6.view), proj3, ptol, 1e-5, "product over the input");
      expect_all_near(to_host(*cuda_, dh6.view), xn, 1e-5, 1e-6, "norm output");
    }
  }
}

// One decode token: matmul_swiglu is held back for the matmul that reads its output (the down
// projection), then launched writing that output quantized too, and the down matvec reads the
// quantized row instead of quantizing it again. The handed-over row is what the down matvec would
// compute itself, so its products must equal bit for bit those of the same call with the
// swiglu's output read back in between (which launches the swiglu alone), and match the
// reference on that output. Several tokens take the plain path. The handoff goes with the
// short-block kernels (opt-in, kernels.h), which this backend turns on: ff 1024 and 4096 read
// the row in 8-warp blocks, 5024 in K-split blocks (whose last block is not whole).
TEST_F(CudaParityTest, SwigluHandsItsOutputQuantizedToTheDownMatvec) {
  std::string reason;
  auto short_backend = test::short_matvec_backend_or_reason(reason);
  ASSERT_TRUE(short_backend) << reason;
  cuda::CudaBackend& cuda = *short_backend;
  const int64_t dim = 512;
  ScratchPlan plan;
  plan.max_matmul_inner = 5024;
  ASSERT_TRUE(cuda.reserve_scratch(plan).ok());
  for (int64_t ff : {1024, 4096, 5024}) {
    for (int64_t t : {1, 2}) {
      SCOPED_TRACE("ff=" + std::to_string(ff) + " t=" + std::to_string(t));
      const auto wg = test::random_weight(DType::kQ4_0, ff, dim, rng_);
      const auto wu = test::random_weight(DType::kQ4_0, ff, dim, rng_);
      const auto wd = test::random_weight(DType::kQ4_0, dim, ff, rng_);
      auto pg = cuda.prepare_matrix("gate", wg.view);
      auto pu = cuda.prepare_matrix("up", wu.view);
      auto pd = cuda.prepare_matrix("down", wd.view);
      ASSERT_TRUE(pg.ok() && pu.ok() && pd.ok());
      const std::vector<float> x = test::random_floats(t * dim, rng_);
      const DeviceTensor dx = to_device(cuda, x, Shape{t, dim});
      const DeviceTensor dup = test::poisoned(cuda, Shape{t, ff});
      const DeviceTensor dh = test::poisoned(cuda, Shape{t, ff});
      const DeviceTensor dy = test::poisoned(cuda, Shape{t, dim});
      const DeviceTensor dy_plain = test::poisoned(cuda, Shape{t, dim});

      const auto before = cuda.fusions();
      ASSERT_TRUE(cuda.matmul_swiglu(dx.view, *pg, *pu, dup.view, dh.view).ok());
      ASSERT_TRUE(cuda.matmul(dh.view, *pd, nullptr, dy.view).ok());
      const std::vector<float> got = to_host(cuda, dy.view);
      const bool handed = t == 1;
      EXPECT_EQ(cuda.fusions().quantized_handoff - before.quantized_handoff, handed ? 1 : 0);

      ASSERT_TRUE(cuda.matmul_swiglu(dx.view, *pg, *pu, dup.view, dh.view).ok());
      std::vector<float> h = to_host(cuda, dh.view);  // launches the swiglu on its own
      ASSERT_TRUE(cuda.matmul(dh.view, *pd, nullptr, dy_plain.view).ok());
      const std::vector<float> plain = to_host(cuda, dy_plain.view);
      EXPECT_EQ(cuda.fusions().quantized_handoff - before.quantized_handoff, handed ? 1 : 0);
      ASSERT_EQ(got.size(), plain.size());
      for (size_t i = 0; i < got.size(); ++i) {
        ASSERT_EQ(got[i], plain[i]) << "handed-over and plain down products differ at " << i;
      }
      std::vector<float> want(static_cast<size_t>(t * dim));
      ASSERT_TRUE(
          ref_.matmul(f32_view(h, Shape{t, ff}), wd.view, nullptr, f32_view(want, Shape{t, dim}))
              .ok());
      expect_matmul_near(got, want,
                         matmul_tolerance(test::dequantized(wd.view), h, dim, ff, t, DType::kQ4_0),
                         1e-5, "down product");
    }
  }
}

// One decode token with the short-block matvecs: matmul(o) -> add(residual, proj, residual) ->
// rms_norm(residual) -> matmul_swiglu -> matmul(down). The o matvec and its residual add are
// held for the norm, then launched writing the residual row times the norm's weight quantized
// with its sums of squares; gate/up folds the norm from those (and block 0 writes the norm's
// output) and hands its own output quantized to down. Every stage against the reference on the
// stage before it as the GPU computed it; a norm output read before gate/up launches the held
// pair in order; two tokens take the plain path.
TEST_F(CudaParityTest, ResidualRowHandedQuantizedThroughTheNormToGateUp) {
  std::string reason;
  auto short_backend = test::short_matvec_backend_or_reason(reason);
  ASSERT_TRUE(short_backend) << reason;
  cuda::CudaBackend& cuda = *short_backend;
  const int64_t attn = 1024, ff = 1024;
  ScratchPlan plan;
  plan.max_matmul_inner = 4096;
  ASSERT_TRUE(cuda.reserve_scratch(plan).ok());
  for (int64_t dim : {512, 4096}) {
    for (int64_t t : {1, 2}) {
      SCOPED_TRACE("dim=" + std::to_string(dim) + " t=" + std::to_string(t));
      const Shape xs{t, dim};
      const auto wo = test::random_weight(DType::kQ4_0, dim, attn, rng_);
      const auto wg = test::random_weight(DType::kQ4_0, ff, dim, rng_);
      const auto wu = test::random_weight(DType::kQ4_0, ff, dim, rng_);
      const auto wd = test::random_weight(DType::kQ4_0, dim, ff, rng_);
      auto po = cuda.prepare_matrix("o", wo.view);
      auto pg = cuda.prepare_matrix("gate", wg.view);
      auto pu = cuda.prepare_matrix("up", wu.view);
      auto pd = cuda.prepare_matrix("down", wd.view);
      ASSERT_TRUE(po.ok() && pg.ok() && pu.ok() && pd.ok());
      std::vector<float> nw = test::random_floats(dim, rng_);
      auto dnw = cuda.prepare_vector("norm", f32_view(nw, Shape{dim}));
      ASSERT_TRUE(dnw.ok());
      std::vector<float> h = test::random_floats(t * attn, rng_);
      const std::vector<float> res0 = test::random_floats(t * dim, rng_, 3.0f);
      const DeviceTensor dh = to_device(cuda, h, Shape{t, attn});
      const DeviceTensor dres = to_device(cuda, res0, xs);
      const DeviceTensor dproj = test::poisoned(cuda, xs), dxn = test::poisoned(cuda, xs);
      const DeviceTensor dup = test::poisoned(cuda, Shape{t, ff});
      const DeviceTensor dact = test::poisoned(cuda, Shape{t, ff});
      const DeviceTensor dy = test::poisoned(cuda, xs);

      const auto before = cuda.fusions();
      ASSERT_TRUE(cuda.matmul(dh.view, *po, nullptr, dproj.view).ok());
      ASSERT_TRUE(cuda.add(dres.view, dproj.view, dres.view).ok());
      ASSERT_TRUE(cuda.rms_norm(dres.view, *dnw, 1e-5f, dxn.view).ok());
      ASSERT_TRUE(cuda.matmul_swiglu(dxn.view, *pg, *pu, dup.view, dact.view).ok());
      ASSERT_TRUE(cuda.matmul(dact.view, *pd, nullptr, dy.view).ok());
      std::vector<float> proj = to_host(cuda, dproj.view), res = to_host(cuda, dres.view),
                         xn = to_host(cuda, dxn.view), act = to_host(cuda, dact.view),
                         y = to_host(cuda, dy.view);
      const auto& after = cuda.fusions();
      EXPECT_EQ(after.normed_handoff - before.normed_handoff, t == 1 ? 1 : 0);
      EXPECT_EQ(after.quantized_handoff - before.quantized_handoff, t == 1 ? 1 : 0);
      EXPECT_EQ(after.norm_into_matvec - before.norm_into_matvec, 1);  // a call, not a token

      std::vector<float> want_proj(t * dim);
      ASSERT_TRUE(
          ref_.matmul(f32_view(h, Shape{t, attn}), wo.view, nullptr, f32_view(want_proj, xs)).ok());
      const auto otol = matmul_tolerance(test::dequantized(wo.view), h, dim, attn, t, DType::kQ4_0);
      expect_matmul_near(proj, want_proj, otol, 1e-5, "o projection");
      std::vector<float> want_res = res0;
      for (size_t i = 0; i < want_res.size(); ++i) want_res[i] += want_proj[i];
      expect_matmul_near(res, want_res, otol, 1e-5, "residual + projection");
      std::vector<float> want_xn(t * dim);
      ASSERT_TRUE(
          ref_.rms_norm(f32_view(res, xs), f32_view(nw, Shape{dim}), 1e-5f, f32_view(want_xn, xs))
              .ok());
      expect_all_near(xn, want_xn, 1e-5, 1e-6, "norm output");

      std::vector<float> g(t * ff), u(t * ff), want_act(t * ff);
      ASSERT_TRUE(ref_.matmul(f32_view(xn, xs), wg.view, nullptr, f32_view(g, Shape{t, ff})).ok());
      ASSERT_TRUE(ref_.matmul(f32_view(xn, xs), wu.view, nullptr, f32_view(u, Shape{t, ff})).ok());
      const auto gtol = matmul_tolerance(test::dequantized(wg.view), xn, ff, dim, t, DType::kQ4_0);
      const auto utol = matmul_tolerance(test::dequantized(wu.view), xn, ff, dim, t, DType::kQ4_0);
      std::vector<double> atol(g.size());
      for (size_t i = 0; i < g.size(); ++i) {
        // silu'(g) is within [-0.1, 1.1]: the gate's error moves silu(g) by at most 1.1x.
        const double sg = g[i] / (1.0 + std::exp(-double(g[i])));
        atol[i] = 1.1 * (gtol[i] + 1e-5 * std::abs(g[i])) * (std::abs(u[i]) + utol[i]) +
                  std::abs(sg) * (utol[i] + 1e-5 * std::abs(u[i]));
        want_act[i] = static_cast<float>(sg * u[i]);
      }
      expect_matmul_near(act, want_act, atol, 1e-5, "silu(gate) * up");
      std::vector<float> want_y(t * dim);
      ASSERT_TRUE(
          ref_.matmul(f32_view(act, Shape{t, ff}), wd.view, nullptr, f32_view(want_y, xs)).ok());
      expect_matmul_near(
          y, want_y, matmul_tolerance(test::dequantized(wd.view), act, dim, ff, t, DType::kQ4_0),
          1e-5, "down product");

      // The held o matvec and norm, their output read before any matvec takes them.
      const DeviceTensor dres2 = to_device(cuda, res0, xs), dxn2 = test::poisoned(cuda, xs);
      ASSERT_TRUE(cuda.matmul(dh.view, *po, nullptr, dproj.view).ok());
      ASSERT_TRUE(cuda.add(dres2.view, dproj.view, dres2.view).ok());
      ASSERT_TRUE(cuda.rms_norm(dres2.view, *dnw, 1e-5f, dxn2.view).ok());
      std::vector<float> res2 = to_host(cuda, dres2.view), xn2 = to_host(cuda, dxn2.view);
      expect_matmul_near(res2, want_res, otol, 1e-5, "held residual");
      std::vector<float> want_xn2(t * dim);
      ASSERT_TRUE(
          ref_.rms_norm(f32_view(res2, xs), f32_view(nw, Shape{dim}), 1e-5f, f32_view(want_xn2, xs))
              .ok());
      expect_all_near(xn2, want_xn2, 1e-5, 1e-6, "held norm output");
    }
  }
}

}  // namespace
}  // namespace hearth
