// Chained decode matvecs (matvec_chain.cu): a decoder layer's o projection with its residual
// add, the norm with gate/up, the down projection with its residual add and the next layer's
// norm with q/k/v, rope and KV store, run as one launch with grid barriers between the steps.
// Each step runs the single-launch kernel's code with the same rows per warp, so every output
// must equal the separate launches' bit for bit (those are checked against the reference in
// cuda_fusion_test.cpp); the chain counter shows the chains were taken.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "cuda_parity_support.h"

namespace hearth {
namespace {

using test::as_cached;
using test::CudaParityTest;
using test::DeviceTensor;
using test::f32_view;
using test::to_device;
using test::to_host;

TEST_F(CudaParityTest, ChainedDecodeMatvecsEqualSeparateLaunchesBitForBit) {
  const int64_t dim = 1024, ff = 2816, heads = 8, kv_heads = 2, hd = 128, capacity = 32;
  const int64_t qn = heads * hd, kn = kv_heads * hd;
  RopeSpec spec;
  spec.layout = RopeLayout::kAdjacentPairs;
  spec.rotary_dim = hd;
  for (int64_t i = 0; i < hd / 2; ++i) spec.inv_freq.push_back(std::pow(500000.0, -2.0 * i / hd));
  const auto wo = test::random_weight(DType::kQ4_0, dim, qn, rng_);
  const auto wg = test::random_weight(DType::kQ4_0, ff, dim, rng_);
  const auto wu = test::random_weight(DType::kQ4_0, ff, dim, rng_);
  const auto wd = test::random_weight(DType::kQ4_0, dim, ff, rng_);
  const auto wq = test::random_weight(DType::kQ4_0, qn, dim, rng_);
  const auto wk = test::random_weight(DType::kQ4_0, kn, dim, rng_);
  const auto wv = test::random_weight(DType::kQ4_0, kn, dim, rng_);
  std::vector<float> nw1 = test::random_floats(dim, rng_), nw2 = test::random_floats(dim, rng_);
  for (float& v : nw1) v = 1.0f + 0.5f * v;
  for (float& v : nw2) v = 1.0f + 0.5f * v;

  for (int barrier = 0; barrier <= 4; ++barrier) {
    cuda::CudaBackendOptions chained_options;
    chained_options.tuning.matvec_chain = 4;
    chained_options.tuning.matvec_chain_barrier = barrier;
    std::string reason;
    auto chained = test::cuda_backend_or_reason(reason, chained_options);
    ASSERT_TRUE(chained) << reason;

    for (int64_t t : {1, 2}) {
      SCOPED_TRACE("barrier mode " + std::to_string(barrier) + ", t=" + std::to_string(t));
      std::vector<int32_t> pos(static_cast<size_t>(t));
      for (int64_t i = 0; i < t; ++i) pos[i] = static_cast<int32_t>(9 + i);
      const std::vector<int32_t> tokens(static_cast<size_t>(t), 1);
      const std::vector<float> x0 = test::random_floats(t * dim, rng_);
      const std::vector<float> attn = test::random_floats(t * qn, rng_);
      const std::vector<float> cache = as_cached(*cuda_, test::normal_floats(capacity * kn, rng_));

      // Two layers' worth of the ops a decode step issues after attention; results read back.
      const auto run = [&](cuda::CudaBackend& be) {
        std::vector<std::vector<float>> got;
        auto po = be.prepare_matrix("o", wo.view), pg = be.prepare_matrix("gate", wg.view),
             pu = be.prepare_matrix("up", wu.view), pd = be.prepare_matrix("down", wd.view),
             pq = be.prepare_matrix("q", wq.view), pk = be.prepare_matrix("k", wk.view),
             pv = be.prepare_matrix("v", wv.view);
        auto n1 = be.prepare_vector("n1", f32_view(nw1, Shape{dim}));
        auto n2 = be.prepare_vector("n2", f32_view(nw2, Shape{dim}));
        EXPECT_TRUE(po.ok() && pg.ok() && pu.ok() && pd.ok() && pq.ok() && pk.ok() && pv.ok() &&
                    n1.ok() && n2.ok());
        if (!po.ok() || !pg.ok() || !pu.ok() || !pd.ok() || !pq.ok() || !pk.ok() || !pv.ok() ||
            !n1.ok() || !n2.ok()) {
          return got;
        }
        const DeviceTensor dx = to_device(be, x0, Shape{t, dim}),
                           da = to_device(be, attn, Shape{t, qn});
        const DeviceTensor proj = test::poisoned(be, Shape{t, dim}),
                           xn = test::poisoned(be, Shape{t, dim}),
                           h = test::poisoned(be, Shape{t, ff}),
                           up = test::poisoned(be, Shape{t, ff}),
                           q = test::poisoned(be, Shape{t, heads, hd}),
                           k = test::poisoned(be, Shape{t, kv_heads, hd}),
                           v = test::poisoned(be, Shape{t, kv_heads, hd});
        const DeviceTensor keys = test::kv_to_device(be, cache, Shape{capacity, kv_heads, hd}),
                           values = test::kv_to_device(be, cache, Shape{capacity, kv_heads, hd});
        const TensorView q2(q.view.data(), DType::kF32, Shape{t, qn}),
            k2(k.view.data(), DType::kF32, Shape{t, kn}),
            v2(v.view.data(), DType::kF32, Shape{t, kn});
        const MatmulTarget qkv[] = {{&*pq, nullptr, q2}, {&*pk, nullptr, k2}, {&*pv, nullptr, v2}};
        EXPECT_TRUE(be.begin_step(tokens, pos).ok());
        for (int layer = 0; layer < 2; ++layer) {
          EXPECT_TRUE(be.matmul(da.view, *po, nullptr, proj.view).ok());
          EXPECT_TRUE(be.add(dx.view, proj.view, dx.view).ok());
          EXPECT_TRUE(be.rms_norm(dx.view, *n2, 1e-5f, xn.view).ok());
          EXPECT_TRUE(be.matmul_swiglu(xn.view, *pg, *pu, up.view, h.view).ok());
          EXPECT_TRUE(be.matmul(h.view, *pd, nullptr, proj.view).ok());
          EXPECT_TRUE(be.add(dx.view, proj.view, dx.view).ok());
          EXPECT_TRUE(be.rms_norm(dx.view, *n1, 1e-5f, xn.view).ok());
          EXPECT_TRUE(be.matmul_shared_input(xn.view, qkv).ok());
          EXPECT_TRUE(be.rope(q.view, pos, spec).ok());
          EXPECT_TRUE(be.rope(k.view, pos, spec).ok());
          EXPECT_TRUE(be.store_kv(k.view, v.view, pos, keys.view, values.view).ok());
          // The next layer's o projection reads this layer's q (as attention's output would).
          EXPECT_TRUE(be.copy(TensorView(q.view.data(), DType::kF32, Shape{t, qn}), da.view).ok());
        }
        for (const DeviceTensor* d : {&dx, &xn, &h, &q, &k, &v, &keys, &values}) {
          got.push_back(to_host(be, d->view));
        }
        return got;
      };
      const int64_t plain_chains = cuda_->fusions().matvec_chains;
      const int64_t chains = chained->fusions().matvec_chains;
      const auto want = run(*cuda_);
      const auto got = run(*chained);
      EXPECT_EQ(cuda_->fusions().matvec_chains, plain_chains) << "chained with chains off";
      // t = 1: [o, gate/up, down, q/k/v] twice, the second up to the last q/k/v; t = 2: the
      // steps of two tokens in pairs.
      EXPECT_GE(chained->fusions().matvec_chains - chains, 2) << "no chained launch taken";
      ASSERT_EQ(want.size(), 8u);
      ASSERT_EQ(got.size(), 8u);
      const char* names[] = {"residual", "norm", "gate/up", "q", "k", "v", "keys", "values"};
      for (size_t i = 0; i < got.size(); ++i) {
        test::expect_all_near(got[i], want[i], 0, 0, std::string(names[i]) + ", chained");
      }
    }
  }
}

}  // namespace
}  // namespace hearth
