// Every CudaBackend op against ReferenceBackend (itself checked against numpy and the gguf
// package) on randomised shapes and values. Skips (with the CUDA error) where there is no GPU.
//
// Tolerances, per what the GPU path changes:
//  - decode matmul (<= 8 rows) of q4_0 / q4_1 / q8_0 weights quantizes activations to int8 per
//    32 values (d = amax / 127): each activation moves by at most amax(block) / 254, so an output
//    moves by at most sum_i |w_i| * amax(block of i) / 254; plus 1e-5 of sum |w_i x_i| for the
//    float summation order. A wrong nibble, scale or block offset moves outputs by a whole term.
//  - decode matmul of f32 / f16 / bf16 weights keeps f32 activations: 1e-5 of sum |w_i x_i|.
//  - prefill matmul (> 8 rows) multiplies bf16 copies of x and w on tensor cores with f32
//    accumulation: bf16 keeps 8 significant bits, so each rounding is off by at most 2^-8
//    relative and each product by 2^-7; 2^-7 * 1.01 of sum |w_i x_i| bounds the output.
//  - decode attention is f32 throughout (__expf): 2e-5 of the values' magnitude (~1). An f16
//    cache holds k and v rounded to nearest (as the host's f32_to_fp16 does); the reference then
//    reads the same rounded values from its f32 cache, so the bounds are the f32 ones.
//  - prefill attention rounds q, k, v and the softmax weights to fp16 (2^-11 relative each) for
//    the tensor cores. With q, k, v ~ N(0, 1) and head_dim 128, sum |q_i k_i| * scale is about 7,
//    so a score moves by at most 2 * 2^-11 * 7 = 0.007 and an output (a convex combination of
//    the values, |v - out| of a few units) by at most ~0.02: we allow 2e-2 per element and 4e-3
//    relative L2 overall. (Inputs with 8x outliers would need a proportionally larger bound.)
//  - pointwise ops: a few float ulps (1e-5 relative); rope computes angles in double as the
//    reference does.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
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

void check_matmul(cuda::CudaBackend& cuda, ReferenceBackend& ref, DType type, int64_t n, int64_t k,
                  int64_t t, bool with_bias, std::mt19937& rng) {
  SCOPED_TRACE(std::string(dtype_name(type)) + " n=" + std::to_string(n) +
               " k=" + std::to_string(k) + " t=" + std::to_string(t) + (with_bias ? " bias" : ""));
  const auto w = test::random_weight(type, n, k, rng);
  const std::vector<float> wf = test::dequantized(w.view);
  std::vector<float> x = test::random_floats(t * k, rng);
  std::vector<float> bias = test::random_floats(n, rng);
  const TensorView bias_view = f32_view(bias, Shape{n});
  std::vector<float> want(static_cast<size_t>(t * n));
  ASSERT_TRUE(ref.matmul(f32_view(x, Shape{t, k}), w.view, with_bias ? &bias_view : nullptr,
                         f32_view(want, Shape{t, n}))
                  .ok());
  auto prepared = cuda.prepare_matrix("w", w.view);
  ASSERT_TRUE(prepared.ok()) << prepared.status().to_string();
  auto dbias = cuda.prepare_vector("bias", bias_view);
  ASSERT_TRUE(dbias.ok()) << dbias.status().to_string();
  const DeviceTensor dx = to_device(cuda, x, Shape{t, k});
  const DeviceTensor dy = test::poisoned(cuda, Shape{t, n});
  const Status st = cuda.matmul(dx.view, *prepared, with_bias ? &*dbias : nullptr, dy.view);
  ASSERT_TRUE(st.ok()) << st.to_string();
  const std::vector<float> got = to_host(cuda, dy.view);
  const auto tol = matmul_tolerance(wf, x, n, k, t, type);
  int failures = 0;
  for (size_t i = 0; i < got.size() && failures < 3; ++i) {
    if (!(std::abs(got[i] - want[i]) <= tol[i])) {
      ++failures;
      ADD_FAILURE() << "element " << i << ": " << got[i] << " vs " << want[i] << " (tolerance "
                    << tol[i] << ")";
    }
  }
}

TEST_F(CudaParityTest, MatmulMatchesReferenceForEveryTypeAndShape) {
  const DType types[] = {DType::kQ4_0, DType::kQ4_1, DType::kQ8_0,
                         DType::kF32,  DType::kF16,  DType::kBF16};
  for (DType type : types) {
    for (int round = 0; round < 6; ++round) {
      const int64_t n = 1 + static_cast<int64_t>(rng_() % 300);
      const int64_t k = 32 * (1 + static_cast<int64_t>(rng_() % 40));
      const int64_t t = std::vector<int64_t>{1, 2, 5, 8, 9, 40, 300}[rng_() % 7];
      check_matmul(*cuda_, ref_, type, n, k, t, round % 2 == 1, rng_);
    }
    // Row counts that select 2 and 4 rows per warp in the decode kernels, and a long row.
    check_matmul(*cuda_, ref_, type, 2200, 64, 1, false, rng_);
    check_matmul(*cuda_, ref_, type, 9000, 32, 2, true, rng_);
    check_matmul(*cuda_, ref_, type, 40, 14336, 1, false, rng_);
    check_matmul(*cuda_, ref_, type, 70, 5024, 1, true, rng_);  // K split, its blocks not whole
    check_matmul(*cuda_, ref_, type, 64, 4096, 17, false, rng_);
  }
  // q4_0 in the short-block kernels (opt-in, kernels.h) where they take the matvec: K up to
  // 4096 in 8-warp blocks, whole or not; the rest falls back to the resident kernel.
  {
    std::string reason;
    auto short_backend = test::short_matvec_backend_or_reason(reason);
    ASSERT_TRUE(short_backend) << reason;
    for (int round = 0; round < 6; ++round) {
      const int64_t n = 1 + static_cast<int64_t>(rng_() % 300);
      const int64_t k = 32 * (1 + static_cast<int64_t>(rng_() % 128));
      check_matmul(*short_backend, ref_, DType::kQ4_0, n, k, 1, round % 2 == 1, rng_);
    }
    check_matmul(*short_backend, ref_, DType::kQ4_0, 4096, 4096, 1, false, rng_);
    check_matmul(*short_backend, ref_, DType::kQ4_0, 40, 14336, 1, false, rng_);
  }
  // Float weights whose rows are not a multiple of 8 elements (scalar loads).
  for (DType type : {DType::kF32, DType::kF16, DType::kBF16}) {
    for (int64_t t : {1, 3, 20}) check_matmul(*cuda_, ref_, type, 37, 45, t, true, rng_);
  }
}

TEST_F(CudaParityTest, FusedMatmulsMatchTheReference) {
  std::string reason;
  auto short_backend = test::short_matvec_backend_or_reason(reason);
  ASSERT_TRUE(short_backend) << reason;
  for (int64_t t : {1, 3, 20}) {
    SCOPED_TRACE("t=" + std::to_string(t));
    const int64_t k = 128, nq = 96, nk = 32, ff = 160;
    // q/k/v of one format share one launch; mixed formats take one launch each.
    for (DType second : {DType::kQ4_1, DType::kQ8_0}) {
      const auto wq = test::random_weight(DType::kQ4_1, nq, k, rng_);
      const auto wk = test::random_weight(second, nk, k, rng_);
      const auto wv = test::random_weight(DType::kQ4_1, nk, k, rng_);
      std::vector<float> x = test::random_floats(t * k, rng_);
      std::vector<float> bias = test::random_floats(nk, rng_);
      const TensorView bias_view = f32_view(bias, Shape{nk});
      std::vector<float> q_ref(t * nq), k_ref(t * nk), v_ref(t * nk);
      const MatmulTarget ref_targets[] = {{&wq.view, nullptr, f32_view(q_ref, Shape{t, nq})},
                                          {&wk.view, &bias_view, f32_view(k_ref, Shape{t, nk})},
                                          {&wv.view, nullptr, f32_view(v_ref, Shape{t, nk})}};
      ASSERT_TRUE(ref_.matmul_shared_input(f32_view(x, Shape{t, k}), ref_targets).ok());
      auto pq = cuda_->prepare_matrix("q", wq.view);
      auto pk = cuda_->prepare_matrix("k", wk.view);
      auto pv = cuda_->prepare_matrix("v", wv.view);
      auto pb = cuda_->prepare_vector("k.bias", bias_view);
      ASSERT_TRUE(pq.ok() && pk.ok() && pv.ok() && pb.ok());
      const DeviceTensor dx = to_device(*cuda_, x, Shape{t, k});
      const DeviceTensor dq = test::poisoned(*cuda_, Shape{t, nq});
      const DeviceTensor dk = test::poisoned(*cuda_, Shape{t, nk});
      const DeviceTensor dv = test::poisoned(*cuda_, Shape{t, nk});
      const MatmulTarget targets[] = {
          {&*pq, nullptr, dq.view}, {&*pk, &*pb, dk.view}, {&*pv, nullptr, dv.view}};
      const Status st = cuda_->matmul_shared_input(dx.view, targets);
      ASSERT_TRUE(st.ok()) << st.to_string();
      const auto tq = matmul_tolerance(test::dequantized(wq.view), x, nq, k, t, DType::kQ4_1);
      const auto tk = matmul_tolerance(test::dequantized(wk.view), x, nk, k, t, second);
      const auto tv = matmul_tolerance(test::dequantized(wv.view), x, nk, k, t, DType::kQ4_1);
      const auto gq = to_host(*cuda_, dq.view), gk = to_host(*cuda_, dk.view),
                 gv = to_host(*cuda_, dv.view);
      for (size_t i = 0; i < gq.size(); ++i) ASSERT_NEAR(gq[i], q_ref[i], tq[i]) << "q " << i;
      for (size_t i = 0; i < gk.size(); ++i) ASSERT_NEAR(gk[i], k_ref[i], tk[i]) << "k " << i;
      for (size_t i = 0; i < gv.size(); ++i) ASSERT_NEAR(gv[i], v_ref[i], tv[i]) << "v " << i;
    }

    // swiglu: the matmul tolerances carried through silu(g) * u (|silu'| <= 1.1), in the
    // resident kernels and (q4_0, one token) the short-block ones.
    for (cuda::CudaBackend* cb : {cuda_.get(), short_backend.get()}) {
      for (DType type : {DType::kQ4_0, DType::kQ8_0, DType::kBF16}) {
        const auto wg = test::random_weight(type, ff, k, rng_);
        const auto wu = test::random_weight(type, ff, k, rng_);
        std::vector<float> x = test::random_floats(t * k, rng_);
        const TensorView xv = f32_view(x, Shape{t, k});
        std::vector<float> out_ref(t * ff), up_ref(t * ff), g_ref(t * ff);
        ASSERT_TRUE(ref_.matmul_swiglu(xv, wg.view, wu.view, f32_view(up_ref, Shape{t, ff}),
                                       f32_view(out_ref, Shape{t, ff}))
                        .ok());
        ASSERT_TRUE(ref_.matmul(xv, wg.view, nullptr, f32_view(g_ref, Shape{t, ff})).ok());
        auto pg = cb->prepare_matrix("gate", wg.view);
        auto pu = cb->prepare_matrix("up", wu.view);
        ASSERT_TRUE(pg.ok() && pu.ok());
        const DeviceTensor dx = to_device(*cb, x, Shape{t, k});
        const DeviceTensor dup = test::poisoned(*cb, Shape{t, ff});
        const DeviceTensor dout = test::poisoned(*cb, Shape{t, ff});
        const Status st = cb->matmul_swiglu(dx.view, *pg, *pu, dup.view, dout.view);
        ASSERT_TRUE(st.ok()) << st.to_string();
        const auto got = to_host(*cb, dout.view);
        const auto tg = matmul_tolerance(test::dequantized(wg.view), x, ff, k, t, type);
        const auto tu = matmul_tolerance(test::dequantized(wu.view), x, ff, k, t, type);
        for (size_t i = 0; i < got.size(); ++i) {
          const double g = g_ref[i], u = up_ref[i];
          const double silu = g / (1 + std::exp(-g));
          const double tol = 1.1 * tg[i] * (std::abs(u) + tu[i]) + std::abs(silu) * tu[i] +
                             1e-5 * std::abs(out_ref[i]) + 1e-6;
          ASSERT_NEAR(got[i], out_ref[i], tol) << dtype_name(type) << " element " << i;
        }
      }
    }
  }
}

TEST_F(CudaParityTest, PointwiseOpsMatchReference) {
  for (int64_t rows : {1, 3, 40}) {
    for (int64_t dim : {8, 45, 576, 4096}) {
      SCOPED_TRACE(std::to_string(rows) + " x " + std::to_string(dim));
      std::vector<float> x = test::random_floats(rows * dim, rng_, 3.0f);
      std::vector<float> w = test::random_floats(dim, rng_);
      std::vector<float> b = test::random_floats(rows * dim, rng_);
      std::vector<float> want(x.size());
      const Shape s{rows, dim};
      auto dw = cuda_->prepare_vector("norm", f32_view(w, Shape{dim}));
      ASSERT_TRUE(dw.ok());
      const DeviceTensor dx = to_device(*cuda_, x, s), db = to_device(*cuda_, b, s);
      const DeviceTensor out = test::poisoned(*cuda_, s);
      ASSERT_TRUE(
          ref_.rms_norm(f32_view(x, s), f32_view(w, Shape{dim}), 1e-5f, f32_view(want, s)).ok());
      ASSERT_TRUE(cuda_->rms_norm(dx.view, *dw, 1e-5f, out.view).ok());
      expect_all_near(to_host(*cuda_, out.view), want, 1e-5, 1e-7, "rms_norm");
      ASSERT_TRUE(ref_.swiglu(f32_view(x, s), f32_view(b, s), f32_view(want, s)).ok());
      ASSERT_TRUE(cuda_->swiglu(dx.view, db.view, out.view).ok());
      expect_all_near(to_host(*cuda_, out.view), want, 1e-5, 1e-7, "swiglu");
      ASSERT_TRUE(ref_.add(f32_view(x, s), f32_view(b, s), f32_view(want, s)).ok());
      ASSERT_TRUE(cuda_->add(dx.view, db.view, out.view).ok());
      expect_all_near(to_host(*cuda_, out.view), want, 0, 0, "add");
      ASSERT_TRUE(cuda_->add(dx.view, db.view, dx.view).ok());  // in place, as the model does
      expect_all_near(to_host(*cuda_, dx.view), want, 0, 0, "add in place");
    }
  }
}

TEST_F(CudaParityTest, RopeMatchesReferenceForBothLayoutsAndPartialRotation) {
  for (RopeLayout layout : {RopeLayout::kAdjacentPairs, RopeLayout::kNeox}) {
    for (int64_t rotary : {128, 64, 32}) {
      RopeSpec spec;
      spec.layout = layout;
      spec.rotary_dim = rotary;
      for (int64_t i = 0; i < rotary / 2; ++i) {
        spec.inv_freq.push_back(std::pow(500000.0, -2.0 * static_cast<double>(i) / rotary));
      }
      for (int64_t t : {1, 7, 33}) {
        const int64_t heads = 3, hd = 128;
        std::vector<int32_t> pos(static_cast<size_t>(t));
        for (auto& p : pos) p = static_cast<int32_t>(rng_() % 100000);
        std::vector<float> want = test::random_floats(t * heads * hd, rng_);
        const DeviceTensor dx = to_device(*cuda_, want, Shape{t, heads, hd});
        ASSERT_TRUE(ref_.rope(f32_view(want, Shape{t, heads, hd}), pos, spec).ok());
        const Status st = cuda_->rope(dx.view, pos, spec);
        ASSERT_TRUE(st.ok()) << st.to_string();
        expect_all_near(to_host(*cuda_, dx.view), want, 1e-6, 1e-6, "rope");
      }
    }
  }
}

// store_kv and attention against the reference on one backend.
// `mma`: the backend runs f16-cache decode attention of 128-dim heads on the tensor cores.
void check_store_kv_and_attention(cuda::CudaBackend& cuda, ReferenceBackend& ref, std::mt19937& rng,
                                  bool mma) {
  struct Case {
    int64_t t, heads, kv_heads, hd, past;
  };
  for (const Case& c :
       {Case{1, 9, 3, 64, 0}, Case{1, 32, 8, 128, 300}, Case{1, 32, 8, 128, 5000},
        Case{5, 4, 2, 64, 9}, Case{3, 8, 1, 256, 70}, Case{8, 2, 2, 32, 100},
        // tokens whose live split counts differ (189..196 keys: 6 or 7 splits;
        // 156..163 keys: one split alone up to 160, then 6)
        Case{8, 8, 2, 64, 188}, Case{8, 4, 2, 64, 155}, Case{17, 4, 1, 128, 40},
        Case{64, 2, 2, 64, 0}, Case{300, 32, 8, 128, 1000}, Case{100, 9, 3, 64, 7},
        // 128-dim heads in groups of 8, 3 (heads past the group) and 1; several tokens
        Case{3, 16, 2, 128, 70}, Case{1, 9, 3, 128, 40}, Case{2, 8, 8, 128, 33},
        Case{5, 32, 8, 128, 2000}}) {
    const bool prefill = c.t > cuda::CudaBackend::kMatvecMaxTokens;
    SCOPED_TRACE("t=" + std::to_string(c.t) + " heads " + std::to_string(c.heads) + "/" +
                 std::to_string(c.kv_heads) + " hd " + std::to_string(c.hd) + " past " +
                 std::to_string(c.past));
    const int64_t n_keys = c.past + c.t, capacity = n_keys + 37;
    const int64_t row = c.kv_heads * c.hd;
    std::vector<float> q = normal_floats(c.t * c.heads * c.hd, rng);
    std::vector<float> k_new = normal_floats(c.t * row, rng);
    std::vector<float> v_new = normal_floats(c.t * row, rng);
    // The cache: past keys random, the rest NaN (rows past the positions must never be read).
    // (As the cache holds them: f16-rounded for an f16 cache, so the reference reads the same.)
    std::vector<float> keys = as_cached(cuda, normal_floats(capacity * row, rng));
    std::vector<float> values = as_cached(cuda, normal_floats(capacity * row, rng));
    for (int64_t i = c.past * row; i < capacity * row; ++i) keys[i] = values[i] = NAN;
    std::vector<int32_t> pos(static_cast<size_t>(c.t));
    for (int64_t i = 0; i < c.t; ++i) pos[i] = static_cast<int32_t>(c.past + i);

    const Shape qs{c.t, c.heads, c.hd}, ns{c.t, c.kv_heads, c.hd}, cs{capacity, c.kv_heads, c.hd};
    const DeviceTensor dq = to_device(cuda, q, qs), dkn = to_device(cuda, k_new, ns),
                       dvn = to_device(cuda, v_new, ns), dk = kv_to_device(cuda, keys, cs),
                       dv = kv_to_device(cuda, values, cs);
    const DeviceTensor dout = test::poisoned(cuda, qs);
    // The reference stores f32; an f16 cache holds the new rows rounded to nearest.
    std::vector<float> k_cached = as_cached(cuda, k_new), v_cached = as_cached(cuda, v_new);
    ASSERT_TRUE(ref.store_kv(f32_view(k_cached, ns), f32_view(v_cached, ns), pos,
                             f32_view(keys, cs), f32_view(values, cs))
                    .ok());
    Status st = cuda.store_kv(dkn.view, dvn.view, pos, dk.view, dv.view);
    ASSERT_TRUE(st.ok()) << st.to_string();
    {  // the rows up to the last position; the NaN rows after them stay NaN
      const std::vector<float> got_k = to_host(cuda, dk.view), got_v = to_host(cuda, dv.view);
      const auto used = static_cast<std::ptrdiff_t>(n_keys * row);
      expect_all_near({got_k.begin(), got_k.begin() + used}, {keys.begin(), keys.begin() + used}, 0,
                      0, "stored keys");
      expect_all_near({got_v.begin(), got_v.begin() + used},
                      {values.begin(), values.begin() + used}, 0, 0, "stored values");
      EXPECT_TRUE(std::isnan(got_k[static_cast<size_t>(used)]));
    }
    std::vector<float> want(q.size());
    const float scale = 1.0f / std::sqrt(static_cast<float>(c.hd));
    ASSERT_TRUE(ref.attention(f32_view(q, qs), f32_view(keys, cs), f32_view(values, cs), pos, scale,
                              f32_view(want, qs))
                    .ok());
    st = cuda.attention(dq.view, dk.view, dv.view, pos, scale, dout.view);
    ASSERT_TRUE(st.ok()) << st.to_string();
    const std::vector<float> got = to_host(cuda, dout.view);
    const bool on_tensor_cores =
        mma && c.hd == 128 && cuda.kv_cache_dtype() == DType::kF16 && c.heads / c.kv_heads <= 8;
    if (prefill || on_tensor_cores) {
      expect_all_near(got, want, 0, 2e-2, prefill ? "prefill attention" : "decode attention (mma)");
      EXPECT_LE(test::relative_l2(got, want), 4e-3);
    } else {
      expect_all_near(got, want, 2e-5, 2e-5, "decode attention");
    }
  }
}

// Every case on the default backend (f16 caches; 128-dim heads on the tensor cores in one wave of
// 2 blocks a multiprocessor, the others 2 keys per softmax update, 3 load stages), on backends
// with the tensor-core kernel's cp.async rings of 2 and 3 tiles, and on
// backends with the CUDA-core kernel for every head size: 2 and 4 stages, 4 keys per update (4 keys
// x 8 heads fills a warp in softmax_keys), the one-key-at-a-time softmax, and f32 caches. The
// tensor-core kernel rounds q and the softmax weights to fp16 as prefill attention does, so it gets
// prefill's bounds.
TEST_F(CudaParityTest, StoreKvAndAttentionMatchReferenceForDecodeAndPrefill) {
  ASSERT_EQ(cuda_->kv_cache_dtype(), DType::kF16);
  struct Variant {
    int keys_in_flight, stages;
    bool batched;
    bool kv_f16;
    int mma_stages;  // the tensor-core kernel's (0: registers); -1: the CUDA-core kernel for all
  };
  for (const Variant& variant :
       {Variant{0, 3, true, true, 0}, Variant{2, 3, true, true, 2}, Variant{2, 3, true, true, 3},
        Variant{2, 2, true, true, -1}, Variant{2, 4, true, true, -1}, Variant{4, 2, true, true, -1},
        Variant{2, 3, false, true, -1}, Variant{2, 3, true, false, -1},
        Variant{4, 2, false, false, -1}}) {
    SCOPED_TRACE("keys in flight " + std::to_string(variant.keys_in_flight) + ", " +
                 std::to_string(variant.stages) + " stages" +
                 (variant.batched ? ", batched" : ", one key at a time") +
                 (variant.kv_f16 ? ", f16 cache" : ", f32 cache") + ", mma stages " +
                 std::to_string(variant.mma_stages));
    std::unique_ptr<cuda::CudaBackend> owned;
    if (variant.keys_in_flight > 0) {
      cuda::CudaBackendOptions o;
      o.tuning.attention_keys_in_flight = variant.keys_in_flight;
      o.tuning.attention_load_stages = variant.stages;
      o.tuning.attention_batched_softmax = variant.batched;
      o.kv_f16 = variant.kv_f16;
      o.tuning.attention_mma = variant.mma_stages >= 0;
      o.tuning.attention_mma_stages = variant.mma_stages;
      std::string reason;
      owned = test::cuda_backend_or_reason(reason, o);
      ASSERT_TRUE(owned) << reason;
    }
    const bool mma = owned ? variant.mma_stages >= 0 : cuda::KernelTuning{}.attention_mma;
    check_store_kv_and_attention(owned ? *owned : *cuda_, ref_, rng_, mma);
  }
}

TEST_F(CudaParityTest, EmbeddingMatchesReferenceForEveryTableType) {
  for (DType type :
       {DType::kQ8_0, DType::kQ4_1, DType::kQ4_0, DType::kF16, DType::kBF16, DType::kF32}) {
    const int64_t dim = 96;
    const auto table = test::random_weight(type, 50, dim, rng_);
    const std::vector<int32_t> tokens = {0, 49, 7, 7, 23};
    std::vector<float> want(tokens.size() * dim);
    const Shape s{static_cast<int64_t>(tokens.size()), dim};
    ASSERT_TRUE(ref_.embedding(table.view, tokens, f32_view(want, s)).ok());
    auto prepared = cuda_->prepare_matrix("token_embd.weight", table.view);
    ASSERT_TRUE(prepared.ok()) << prepared.status().to_string();
    const DeviceTensor out = test::poisoned(*cuda_, s);
    ASSERT_TRUE(cuda_->embedding(*prepared, tokens, out.view).ok());
    expect_all_near(to_host(*cuda_, out.view), want, 1e-6, 0,
                    "embedding " + std::string(dtype_name(type)));
    const std::vector<int32_t> bad = {3, 50};
    const DeviceTensor out2 = test::poisoned(*cuda_, Shape{2, dim});
    const Status st = cuda_->embedding(*prepared, bad, out2.view);
    EXPECT_EQ(st.code(), StatusCode::kOutOfRange) << st.to_string();
    EXPECT_NE(st.message().find("50"), std::string::npos) << st.message();
  }
}

TEST_F(CudaParityTest, PickTokenMatchesTheHostPick) {
  for (int64_t vocab : {1000, 151936}) {
    std::vector<float> logits = test::random_floats(vocab, rng_, 3.0f);
    const DeviceTensor d = to_device(*cuda_, logits, Shape{vocab});
    for (const TokenPick& pick :
         {TokenPick{}, TokenPick{0.8f, 40, 0.9f, 0.3f}, TokenPick{1.0f, 0, 1.0f, 0.99f},
          TokenPick{0.7f, 0, 0.8f, 0.5f}, TokenPick{1.2f, 5, 1.0f, 0.01f},
          TokenPick{1.0f, 1, 1.0f, 0.7f}}) {
      auto want = pick_token_on_host(logits, pick);
      auto got = cuda_->pick_token(d.view, pick);
      ASSERT_TRUE(want.ok() && got.ok()) << got.status().to_string();
      EXPECT_EQ(*got, *want) << "vocab " << vocab << " temperature " << pick.temperature
                             << " top_k " << pick.top_k << " top_p " << pick.top_p << " u "
                             << pick.uniform;
    }
  }
  // Greedy ties go to the lowest id, as on the host.
  std::vector<float> flat(5000, 1.5f);
  flat[4000] = 2.0f;
  flat[1234] = 2.0f;
  const DeviceTensor d = to_device(*cuda_, flat, Shape{5000});
  auto got = cuda_->pick_token(d.view, TokenPick{});
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, 1234);
  TokenPick bad;
  bad.top_p = 0.0f;
  EXPECT_EQ(cuda_->pick_token(d.view, bad).status().code(), StatusCode::kInvalidArgument);
}

// A step recorded once (CUDA graph) and replayed reads each step's token id and position from
// device memory: embedding, rope and store_kv must land where the reference puts them.
TEST_F(CudaParityTest, RecordedStepsReplayWithEachStepsTokensAndPositions) {
  const int64_t vocab = 64, heads = 2, hd = 64, capacity = 16;
  const auto table = test::random_weight(DType::kQ8_0, vocab, heads * hd, rng_);
  auto dtable = cuda_->prepare_matrix("token_embd.weight", table.view);
  ASSERT_TRUE(dtable.ok());
  RopeSpec spec;
  spec.layout = RopeLayout::kNeox;
  spec.rotary_dim = hd;
  for (int64_t i = 0; i < hd / 2; ++i) spec.inv_freq.push_back(std::pow(10000.0, -2.0 * i / hd));
  const Shape cs{capacity, heads, hd};
  std::vector<float> nan_cache(static_cast<size_t>(cs.numel()), NAN);
  const DeviceTensor dkeys = kv_to_device(*cuda_, nan_cache, cs),
                     dvalues = kv_to_device(*cuda_, nan_cache, cs);
  const DeviceTensor dx = test::poisoned(*cuda_, Shape{1, heads * hd});
  std::vector<float> keys = nan_cache, values = nan_cache;
  const int64_t steps = 6;
  for (int64_t p = 0; p < steps; ++p) {
    const std::vector<int32_t> token = {static_cast<int32_t>(rng_() % vocab)};
    const std::vector<int32_t> pos = {static_cast<int32_t>(p)};
    // Reference: embed, rotate, store as k (and the unrotated row as v).
    std::vector<float> x(static_cast<size_t>(heads * hd)), rotated;
    ASSERT_TRUE(ref_.embedding(table.view, token, f32_view(x, Shape{1, heads * hd})).ok());
    rotated = x;
    ASSERT_TRUE(ref_.rope(f32_view(rotated, Shape{1, heads, hd}), pos, spec).ok());
    ASSERT_TRUE(ref_.store_kv(f32_view(rotated, Shape{1, heads, hd}),
                              f32_view(x, Shape{1, heads, hd}), pos, f32_view(keys, cs),
                              f32_view(values, cs))
                    .ok());
    ASSERT_TRUE(cuda_->begin_step(token, pos).ok());
    const DeviceTensor dv = test::poisoned(*cuda_, Shape{1, heads, hd});
    const Status st = cuda_->run_step(StepKey{77}, [&]() -> Status {
      HEARTH_RETURN_IF_ERROR(cuda_->embedding(*dtable, token, dx.view));
      const TensorView x3(dx.view.data(), DType::kF32, Shape{1, heads, hd});
      HEARTH_RETURN_IF_ERROR(cuda_->copy(x3, dv.view));
      HEARTH_RETURN_IF_ERROR(cuda_->rope(x3, pos, spec));
      return cuda_->store_kv(x3, dv.view, pos, dkeys.view, dvalues.view);
    });
    ASSERT_TRUE(st.ok()) << st.to_string();
  }
  EXPECT_EQ(cuda_->graphs_recorded(), 1);
  EXPECT_EQ(cuda_->graph_replays(), steps - 1);
  const auto got_k = to_host(*cuda_, dkeys.view), got_v = to_host(*cuda_, dvalues.view);
  const size_t written = static_cast<size_t>(steps * heads * hd);
  keys = as_cached(*cuda_, keys);
  values = as_cached(*cuda_, values);
  // Rotated keys within a float ulp may round to neighbouring halves: one f16 ulp.
  const double key_rel = cuda_->kv_cache_dtype() == DType::kF16 ? 1e-3 : 1e-6;
  expect_all_near({got_k.begin(), got_k.begin() + written}, {keys.begin(), keys.begin() + written},
                  key_rel, 1e-6, "replayed keys");
  expect_all_near({got_v.begin(), got_v.begin() + written},
                  {values.begin(), values.begin() + written}, 1e-6, 0, "replayed values");
  for (size_t i = written; i < got_k.size(); ++i) ASSERT_TRUE(std::isnan(got_k[i])) << i;
}

TEST_F(CudaParityTest, BadArgumentsAndMisuseAreClearErrors) {
  std::vector<float> host(64, 1.0f);
  const auto w = test::random_weight(DType::kQ4_0, 8, 32, rng_);
  auto pw = cuda_->prepare_matrix("w", w.view);
  ASSERT_TRUE(pw.ok());
  const DeviceTensor x = to_device(*cuda_, host, Shape{2, 32});
  const DeviceTensor y = test::poisoned(*cuda_, Shape{2, 8});
  // K mismatch, named with both shapes.
  const TensorView x16(x.view.data(), DType::kF32, Shape{4, 16});
  Status st = cuda_->matmul(x16, *pw, nullptr, y.view);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("[8, 32]"), std::string::npos) << st.message();
  // A weight this backend never prepared.
  st = cuda_->matmul(x.view, w.view, nullptr, y.view);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("prepare_matrix"), std::string::npos) << st.message();
  // A type no kernel handles is refused at load, naming the tensor and its type.
  std::vector<uint8_t> q4k(144 * 2);
  auto prepared = cuda_->prepare_matrix("blk.0.attn_q.weight",
                                        TensorView(q4k.data(), DType::kQ4_K, Shape{2, 256}));
  ASSERT_FALSE(prepared.ok());
  EXPECT_EQ(prepared.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(prepared.status().message().find("blk.0.attn_q.weight"), std::string::npos);
  EXPECT_NE(prepared.status().message().find("q4_k"), std::string::npos);
  // A quantized weight whose rows are not whole blocks is refused before anything is uploaded
  // (the backend stays usable: the next op below runs).
  std::vector<uint8_t> q40(18 * 4);
  prepared = cuda_->prepare_matrix("odd", TensorView(q40.data(), DType::kQ4_0, Shape{2, 40}));
  ASSERT_FALSE(prepared.ok());
  EXPECT_EQ(prepared.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(prepared.status().message().find("40 columns"), std::string::npos)
      << prepared.status().message();
  // Attention with a head size no kernel has.
  const DeviceTensor q20 = to_device(*cuda_, std::vector<float>(40, 0.5f), Shape{1, 2, 20});
  st = cuda_->attention(q20.view, q20.view, q20.view, std::vector<int32_t>{0}, 1.0f, q20.view);
  EXPECT_EQ(st.code(), StatusCode::kUnsupported) << st.to_string();
  // A position past the cache.
  const DeviceTensor kv = to_device(*cuda_, host, Shape{1, 1, 64});
  const DeviceTensor out = test::poisoned(*cuda_, Shape{1, 1, 64});
  st = cuda_->attention(kv.view, kv.view, kv.view, std::vector<int32_t>{1}, 1.0f, out.view);
  EXPECT_EQ(st.code(), StatusCode::kOutOfRange) << st.to_string();
  st = cuda_->store_kv(kv.view, kv.view, std::vector<int32_t>{3}, kv.view, kv.view);
  EXPECT_EQ(st.code(), StatusCode::kOutOfRange) << st.to_string();
  // Keys and values of different types, or of a type no cache has.
  const DeviceTensor kv16 = kv_to_device(*cuda_, host, Shape{1, 1, 64});
  st = cuda_->store_kv(kv.view, kv.view, std::vector<int32_t>{0}, kv16.view, kv.view);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.to_string();
  EXPECT_NE(st.message().find("f32 or f16"), std::string::npos) << st.message();
  const TensorView as_i32(kv.view.data(), DType::kI32, Shape{1, 1, 64});
  st = cuda_->attention(kv.view, as_i32, as_i32, std::vector<int32_t>{0}, 1.0f, out.view);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.to_string();
  // A model too big for the GPU is refused up front with the numbers.
  st = cuda_->reserve_weights(uint64_t{1} << 50);
  EXPECT_EQ(st.code(), StatusCode::kResourceExhausted);
  EXPECT_NE(st.message().find("free"), std::string::npos) << st.message();
  // Host reads are refused while a step is recorded, and the backend stays usable.
  ASSERT_TRUE(cuda_->begin_step(std::vector<int32_t>{1}, std::vector<int32_t>{0}).ok());
  st = cuda_->run_step(StepKey{5}, [&]() -> Status {
    std::vector<float> back(64);
    return cuda_->read(x.view, back);
  });
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition) << st.to_string();
  EXPECT_EQ(test::to_host(*cuda_, x.view), std::vector<float>(host.begin(), host.end()));
}

}  // namespace
}  // namespace hearth
