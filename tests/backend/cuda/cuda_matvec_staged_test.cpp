// The staged decode matvec (weights in shared memory by bulk copies, KernelTuning::matvec_staged)
// against the reference: every product, bias, silu * up, residual add, rope and KV row within
// the decode tolerance of cuda_backend_parity_test.cpp (int8 activations), for whole-row stages
// (one copy for a set's rows), chunked stages and a copy per row. The staged kernel's launch
// counter shows it ran (or, for rows it cannot take, that it did not).
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "backend/cuda/kernels/kernels.h"
#include "cuda_parity_support.h"

namespace hearth {
namespace {

using test::as_cached;
using test::CudaParityTest;
using test::DeviceTensor;
using test::expect_all_near;
using test::expect_matmul_near;
using test::f32_view;
using test::kv_to_device;
using test::matmul_tolerance;
using test::normal_floats;
using test::rope_partner;
using test::to_device;
using test::to_host;

// The staged kernel's stage shapes: whole rows (the default), chunks of 24 blocks (rows of
// several stages, the last one short), and whole rows with a copy per row.
struct StagedVariant {
  const char* name;
  int chunk;
  bool split;
};
constexpr StagedVariant kVariants[] = {
    {"whole rows", 0, false}, {"chunks of 24", 24, false}, {"a copy per row", 0, true}};

class CudaStagedMatvecTest : public CudaParityTest {
 protected:
  std::unique_ptr<cuda::CudaBackend> staged(const StagedVariant& v) {
    cuda::CudaBackendOptions o;
    o.tuning.matvec_staged = true;
    o.tuning.matvec_staged_chunk = v.chunk;
    o.tuning.matvec_staged_split_copies = v.split;
    std::string reason;
    auto be = test::cuda_backend_or_reason(reason, o);
    EXPECT_TRUE(be) << reason;
    return be;
  }
};

constexpr DType kTypes[] = {DType::kQ4_0, DType::kQ4_1, DType::kQ8_0};

// y = x . w^T (+ bias) on one backend.
std::vector<float> product(cuda::CudaBackend& be, const TensorView& w, std::vector<float>& x,
                           std::vector<float>* bias, int64_t t) {
  const int64_t n = w.shape()[0], k = w.shape()[1];
  auto pw = be.prepare_matrix("w", w);
  EXPECT_TRUE(pw.ok()) << pw.status().to_string();
  if (!pw.ok()) return {};
  std::vector<float> none;
  auto pb = be.prepare_vector("b", f32_view(bias ? *bias : none, Shape{bias ? n : 0}));
  const DeviceTensor dx = to_device(be, x, Shape{t, k}), dy = test::poisoned(be, Shape{t, n});
  const Status st = be.matmul(dx.view, *pw, bias && pb.ok() ? &*pb : nullptr, dy.view);
  EXPECT_TRUE(st.ok()) << st.to_string();
  return to_host(be, dy.view);
}

// The reference's x . w^T (+ bias) and its decode tolerance.
struct Want {
  std::vector<float> y;
  std::vector<double> tol;
};
Want reference_product(ReferenceBackend& ref, const test::RandomTensor& w, std::vector<float>& x,
                       std::vector<float>* bias, int64_t t, DType type) {
  const int64_t n = w.view.shape()[0], k = w.view.shape()[1];
  Want want;
  want.y.resize(static_cast<size_t>(t * n));
  std::vector<float> none;
  const TensorView bias_view = f32_view(bias ? *bias : none, Shape{bias ? n : 0});
  EXPECT_TRUE(ref.matmul(f32_view(x, Shape{t, k}), w.view, bias ? &bias_view : nullptr,
                         f32_view(want.y, Shape{t, n}))
                  .ok());
  want.tol = matmul_tolerance(test::dequantized(w.view), x, n, k, t, type);
  return want;
}

TEST_F(CudaStagedMatvecTest, ProductsMatchTheReference) {
  struct Case {
    int64_t n, k, t;
    bool bias;
  };
  for (const StagedVariant& v : kVariants) {
    auto be = staged(v);
    ASSERT_TRUE(be);
    for (DType type : kTypes) {
      for (const Case& c :
           {Case{1, 256, 1, false}, Case{7, 1280, 1, true}, Case{300, 4096, 2, false},
            Case{2200, 512, 1, true}, Case{9000, 256, 1, false}, Case{40, 14336, 1, false},
            Case{4096, 4096, 1, false}}) {
        SCOPED_TRACE(std::string(v.name) + " " + std::string(dtype_name(type)) +
                     " n=" + std::to_string(c.n) + " k=" + std::to_string(c.k) +
                     " t=" + std::to_string(c.t));
        const auto w = test::random_weight(type, c.n, c.k, rng_);
        std::vector<float> x = test::random_floats(c.t * c.k, rng_);
        std::vector<float> bias = test::random_floats(c.n, rng_);
        const Want want = reference_product(ref_, w, x, c.bias ? &bias : nullptr, c.t, type);
        const int64_t before = cuda::matvec_staged_launches();
        const auto got = product(*be, w.view, x, c.bias ? &bias : nullptr, c.t);
        EXPECT_EQ(cuda::matvec_staged_launches() - before, c.t) << "staged kernel not taken";
        expect_matmul_near(got, want.y, want.tol, 0, "staged vs reference");
      }
    }
  }
  // Rows of 576 columns (18 blocks: scale copies would not be whole 16-byte units) are left to
  // the register kernel.
  auto be = staged(kVariants[0]);
  ASSERT_TRUE(be);
  const auto w = test::random_weight(DType::kQ4_0, 64, 576, rng_);
  std::vector<float> x = test::random_floats(576, rng_);
  const Want want = reference_product(ref_, w, x, nullptr, 1, DType::kQ4_0);
  const int64_t before = cuda::matvec_staged_launches();
  const auto got = product(*be, w.view, x, nullptr, 1);
  EXPECT_EQ(cuda::matvec_staged_launches(), before);
  expect_matmul_near(got, want.y, want.tol, 0, "576 columns");
}

// q/k/v in one launch (k with a bias), gate/up with silu(g) * u, and a projection with the
// residual add behind, one token, on the staged backend, against the reference.
TEST_F(CudaStagedMatvecTest, SharedInputSwigluAndResidualMatchTheReference) {
  const int64_t dim = 1024, ff = 1536;
  for (const StagedVariant& v : kVariants) {
    auto be = staged(v);
    ASSERT_TRUE(be);
    for (DType type : kTypes) {
      SCOPED_TRACE(std::string(v.name) + " " + std::string(dtype_name(type)));
      const int64_t qkv[3] = {512, 128, 128};
      std::vector<test::RandomTensor> ws;
      for (int64_t n : qkv) ws.push_back(test::random_weight(type, n, dim, rng_));
      const auto gate = test::random_weight(type, ff, dim, rng_);
      const auto up = test::random_weight(type, ff, dim, rng_);
      const auto wo = test::random_weight(type, dim, ff, rng_);
      std::vector<float> x = test::random_floats(dim, rng_), h = test::random_floats(ff, rng_),
                         res = test::random_floats(dim, rng_),
                         bias = test::random_floats(qkv[1], rng_);
      std::vector<TensorView> pw;
      const test::RandomTensor* all[] = {&ws[0], &ws[1], &ws[2], &gate, &up, &wo};
      for (const test::RandomTensor* w : all) {
        auto p = be->prepare_matrix("w", w->view);
        ASSERT_TRUE(p.ok()) << p.status().to_string();
        pw.push_back(*p);
      }
      auto pb = be->prepare_vector("b", f32_view(bias, Shape{qkv[1]}));
      ASSERT_TRUE(pb.ok());
      const Shape xs{1, dim};
      const DeviceTensor dx = to_device(*be, x, xs);
      std::vector<DeviceTensor> douts;
      for (int64_t n : qkv) douts.push_back(test::poisoned(*be, Shape{1, n}));
      const MatmulTarget targets[] = {{&pw[0], nullptr, douts[0].view},
                                      {&pw[1], &*pb, douts[1].view},
                                      {&pw[2], nullptr, douts[2].view}};
      const int64_t before = cuda::matvec_staged_launches();
      const int64_t folded = be->fusions().residual_into_matvec;
      ASSERT_TRUE(be->matmul_shared_input(dx.view, targets).ok());
      const DeviceTensor dup = test::poisoned(*be, Shape{1, ff}),
                         dact = test::poisoned(*be, Shape{1, ff});
      ASSERT_TRUE(be->matmul_swiglu(dx.view, pw[3], pw[4], dup.view, dact.view).ok());
      const DeviceTensor dh = to_device(*be, h, Shape{1, ff}), dres = to_device(*be, res, xs),
                         dproj = test::poisoned(*be, xs);
      ASSERT_TRUE(be->matmul(dh.view, pw[5], nullptr, dproj.view).ok());
      ASSERT_TRUE(be->add(dres.view, dproj.view, dres.view).ok());
      EXPECT_EQ(cuda::matvec_staged_launches() - before, 3);
      EXPECT_EQ(be->fusions().residual_into_matvec - folded, 1);

      for (int i = 0; i < 3; ++i) {
        const Want want = reference_product(ref_, ws[i], x, i == 1 ? &bias : nullptr, 1, type);
        expect_matmul_near(to_host(*be, douts[i].view), want.y, want.tol, 0,
                           "q/k/v product " + std::to_string(i));
      }
      // silu'(g) is within [-0.1, 1.1]: the gate's error moves silu(g) by at most 1.1x.
      const Want g = reference_product(ref_, gate, x, nullptr, 1, type);
      const Want u = reference_product(ref_, up, x, nullptr, 1, type);
      std::vector<float> act(g.y.size());
      std::vector<double> atol(g.y.size());
      for (size_t i = 0; i < act.size(); ++i) {
        const double sg = g.y[i] / (1.0 + std::exp(-double(g.y[i])));
        atol[i] = 1.1 * (g.tol[i] + 1e-5 * std::abs(g.y[i])) * (std::abs(u.y[i]) + u.tol[i]) +
                  std::abs(sg) * (u.tol[i] + 1e-5 * std::abs(u.y[i]));
        act[i] = static_cast<float>(sg * u.y[i]);
      }
      expect_matmul_near(to_host(*be, dact.view), act, atol, 1e-5, "silu(gate) * up");
      const Want proj = reference_product(ref_, wo, h, nullptr, 1, type);
      std::vector<float> want_res = res;
      for (size_t i = 0; i < res.size(); ++i) want_res[i] += proj.y[i];
      expect_matmul_near(to_host(*be, dproj.view), proj.y, proj.tol, 0, "projection");
      expect_matmul_near(to_host(*be, dres.view), want_res, proj.tol, 1e-6, "residual");
    }
  }
}

// [rms_norm ->] q/k/v -> rope(q), rope(k) -> store_kv, one token: the staged kernel does the
// norm, the rope and the KV store as the register kernel does (one launch), against the
// reference's unfused ops (a rotation mixes a pair, so the pair's two bounds add).
TEST_F(CudaStagedMatvecTest, NormRopeAndKvStoreMatchTheReference) {
  const int64_t dim = 1024, heads = 8, kv_heads = 2, hd = 128, capacity = 24;
  auto be = staged(kVariants[0]);
  ASSERT_TRUE(be);
  for (DType type : kTypes) {
    for (RopeLayout layout : {RopeLayout::kAdjacentPairs, RopeLayout::kNeox}) {
      for (bool norm : {false, true}) {
        SCOPED_TRACE(std::string(dtype_name(type)) +
                     (layout == RopeLayout::kNeox ? " neox" : " adjacent") + (norm ? " norm" : ""));
        RopeSpec spec;
        spec.layout = layout;
        spec.rotary_dim = hd;
        for (int64_t i = 0; i < hd / 2; ++i) {
          spec.inv_freq.push_back(std::pow(500000.0, -2.0 * static_cast<double>(i) / hd));
        }
        const std::vector<int32_t> pos{11}, tokens{1};
        const int64_t rows[3] = {heads * hd, kv_heads * hd, kv_heads * hd};
        std::vector<test::RandomTensor> ws;
        for (int64_t n : rows) ws.push_back(test::random_weight(type, n, dim, rng_));
        std::vector<float> x = test::random_floats(dim, rng_), nw = test::random_floats(dim, rng_);
        for (float& v : nw) v = 1.0f + 0.5f * v;
        const Shape xs{1, dim}, cs{capacity, kv_heads, hd};
        std::vector<float> cache = as_cached(*be, normal_floats(capacity * rows[1], rng_));

        std::vector<TensorView> pw;
        for (const auto& w : ws) {
          auto p = be->prepare_matrix("w", w.view);
          ASSERT_TRUE(p.ok());
          pw.push_back(*p);
        }
        auto dnw = be->prepare_vector("norm", f32_view(nw, Shape{dim}));
        ASSERT_TRUE(dnw.ok());
        const DeviceTensor dx = to_device(*be, x, xs), dxn = test::poisoned(*be, xs);
        const DeviceTensor dq = test::poisoned(*be, Shape{1, heads, hd}),
                           dk = test::poisoned(*be, Shape{1, kv_heads, hd}),
                           dv = test::poisoned(*be, Shape{1, kv_heads, hd});
        const DeviceTensor dkeys = kv_to_device(*be, cache, cs),
                           dvalues = kv_to_device(*be, cache, cs);
        const MatmulTarget targets[] = {
            {&pw[0], nullptr, TensorView(dq.view.data(), DType::kF32, Shape{1, rows[0]})},
            {&pw[1], nullptr, TensorView(dk.view.data(), DType::kF32, Shape{1, rows[1]})},
            {&pw[2], nullptr, TensorView(dv.view.data(), DType::kF32, Shape{1, rows[2]})}};
        const int64_t before = cuda::matvec_staged_launches();
        const int64_t folded = be->fusions().rope_into_matvec;
        ASSERT_TRUE(be->begin_step(tokens, pos).ok());
        if (norm) {
          ASSERT_TRUE(be->rms_norm(dx.view, *dnw, 1e-5f, dxn.view).ok());
        }
        ASSERT_TRUE(be->matmul_shared_input(norm ? dxn.view : dx.view, targets).ok());
        ASSERT_TRUE(be->rope(dq.view, pos, spec).ok());
        ASSERT_TRUE(be->rope(dk.view, pos, spec).ok());
        ASSERT_TRUE(be->store_kv(dk.view, dv.view, pos, dkeys.view, dvalues.view).ok());
        EXPECT_EQ(be->fusions().rope_into_matvec - folded, 1) << "rope not folded";
        EXPECT_EQ(cuda::matvec_staged_launches() - before, 1) << "staged kernel not taken";

        std::vector<float> xn = x;
        if (norm) {
          ASSERT_TRUE(
              ref_.rms_norm(f32_view(x, xs), f32_view(nw, Shape{dim}), 1e-5f, f32_view(xn, xs))
                  .ok());
          expect_all_near(to_host(*be, dxn.view), xn, 1e-5, 1e-6, "norm output");
        }
        const char* names[] = {"q", "k", "v"};
        std::vector<std::vector<float>> got;
        for (const TensorView* t : {&dq.view, &dk.view, &dv.view}) got.push_back(to_host(*be, *t));
        for (int i = 0; i < 3; ++i) {
          Want want = reference_product(ref_, ws[i], xn, nullptr, 1, type);
          if (i < 2) {
            const int64_t h = i == 0 ? heads : kv_heads;
            ASSERT_TRUE(ref_.rope(f32_view(want.y, Shape{1, h, hd}), pos, spec).ok());
          }
          std::vector<double> tol(want.tol.size());
          for (size_t j = 0; j < tol.size(); ++j) {
            const auto p = static_cast<size_t>(
                i < 2 ? rope_partner(static_cast<int64_t>(j), hd, spec) : static_cast<int64_t>(j));
            tol[j] = want.tol[j] + (p == j ? 0.0 : want.tol[p]) +
                     1e-5 * (std::abs(want.y[j]) + std::abs(want.y[p]));
          }
          expect_matmul_near(got[i], want.y, tol, 0, names[i]);
        }
        // The cache row at the position holds k and v as the cache type rounds them; the rest
        // is untouched.
        std::vector<float> want_keys = cache, want_values = cache;
        for (int64_t j = 0; j < rows[1]; ++j) {
          want_keys[pos[0] * rows[1] + j] = got[1][j];
          want_values[pos[0] * rows[1] + j] = got[2][j];
        }
        expect_all_near(to_host(*be, dkeys.view), as_cached(*be, want_keys), 0, 0, "cache keys");
        expect_all_near(to_host(*be, dvalues.view), as_cached(*be, want_values), 0, 0,
                        "cache values");
      }
    }
  }
}

}  // namespace
}  // namespace hearth
