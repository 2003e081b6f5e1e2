// Every CpuBackend op against ReferenceBackend (itself checked against numpy and the gguf
// package) on randomised shapes and values, for every kernel set this CPU runs, both matmul
// algorithms and several thread counts.
//
// Tolerances, per what the fast path changes:
//  - matmul with 8-bit activations (the dot path for block formats): each activation moves by
//    at most half a quantization step, amax(block) / 254, so an output moves by at most
//    sum_i |w_i| * amax(block of i) / 254. The test computes that bound for every output from
//    the reference-dequantized weights and adds 1e-5 of sum |w_i x_i| for float summation order.
//    A wrong nibble, scale or block offset moves outputs by a whole term of the sum, far more.
//  - matmul with f32 activations (f32/f16/bf16 weights, and the dequantize + sgemm path): only
//    the summation order differs: 1e-5 of sum |w_i x_i|.
//  - pointwise ops: a few float ulps (1e-5 relative), attention 1e-5 of the values' magnitude.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "backend/cpu/cpu_backend.h"
#include "backend/reference/reference_backend.h"
#include "random_tensors.h"

namespace hearth {
namespace {

using cpu::CpuIsa;
using cpu::MatmulPath;

std::vector<CpuIsa> supported_isas() {
  std::vector<CpuIsa> out;
  for (CpuIsa isa : {CpuIsa::kScalar, CpuIsa::kAvx2, CpuIsa::kAvx512}) {
    if (static_cast<int>(isa) <= static_cast<int>(cpu::detect_best_isa())) out.push_back(isa);
  }
  return out;
}

TensorView f32_view(std::vector<float>& v, Shape shape) {
  return TensorView(v.data(), DType::kF32, shape);
}

// Types whose dot kernel quantizes activations, and the block length (q8_0 and the float types
// take f32 activations).
int64_t activation_block(DType t) {
  switch (t) {
    case DType::kQ4_0:
    case DType::kQ4_1:
    case DType::kQ5_0:
    case DType::kQ5_1:
      return 32;
    case DType::kQ4_K:
    case DType::kQ5_K:
    case DType::kQ6_K:
      return 256;
    default:
      return 0;  // f32 activations
  }
}

// Allowed |cpu - reference| for every output of y = x . w^T.
std::vector<double> matmul_tolerance(const std::vector<float>& wf, const std::vector<float>& x,
                                     int64_t n, int64_t k, int64_t t, int64_t act_block) {
  std::vector<double> tol(static_cast<size_t>(n * t));
  for (int64_t tt = 0; tt < t; ++tt) {
    std::vector<double> step(static_cast<size_t>(k), 0.0);
    if (act_block > 0) {
      for (int64_t b = 0; b < k / act_block; ++b) {
        double amax = 0;
        for (int64_t i = b * act_block; i < (b + 1) * act_block; ++i) {
          amax = std::max(amax, std::abs(static_cast<double>(x[tt * k + i])));
        }
        for (int64_t i = b * act_block; i < (b + 1) * act_block; ++i) step[i] = amax / 254.0;
      }
    }
    for (int64_t r = 0; r < n; ++r) {
      double quant = 0, mag = 0;
      for (int64_t i = 0; i < k; ++i) {
        const double w = std::abs(static_cast<double>(wf[r * k + i]));
        quant += w * step[i];
        mag += w * std::abs(static_cast<double>(x[tt * k + i]));
      }
      tol[tt * n + r] = quant * 1.001 + 1e-5 * mag + 1e-6;
    }
  }
  return tol;
}

class CpuParityTest : public testing::TestWithParam<CpuIsa> {
 protected:
  std::mt19937 rng_{42};
  ReferenceBackend ref_{2};
};

void expect_all_near(const std::vector<float>& got, const std::vector<float>& want, double rel,
                     double abs, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  int failures = 0;
  for (size_t i = 0; i < got.size() && failures < 5; ++i) {
    const double tol = rel * std::abs(want[i]) + abs;
    if (!(std::abs(got[i] - want[i]) <= tol)) {
      ++failures;
      ADD_FAILURE() << what << " element " << i << ": " << got[i] << " vs " << want[i];
    }
  }
}

TEST_P(CpuParityTest, MatmulMatchesReferenceForEveryTypeShapeAndPath) {
  const DType types[] = {DType::kQ4_0, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1, DType::kQ8_0,
                         DType::kQ4_K, DType::kQ5_K, DType::kQ6_K, DType::kF32, DType::kF16,
                         DType::kBF16,
                         // no fast kernel: dequantized rows through the reference code
                         DType::kQ2_K, DType::kQ3_K, DType::kIQ4_NL};
  for (int threads : {1, 3}) {
    CpuBackend cpu(threads, GetParam());
    for (DType type : types) {
      const int64_t block = dtype_traits(type).block_elems;
      for (int round = 0; round < 3; ++round) {
        const int64_t n = 1 + static_cast<int64_t>(rng_() % 70);
        const int64_t k = block * (1 + static_cast<int64_t>(rng_() % (block == 256 ? 3 : 12)));
        const int64_t t = std::vector<int64_t>{1, 2, 5, 13, 40}[rng_() % 5];
        const auto w = test::random_weight(type, n, k, rng_);
        const std::vector<float> wf = test::dequantized(w.view);
        std::vector<float> x = test::random_floats(t * k, rng_);
        std::vector<float> bias = test::random_floats(n, rng_);
        const TensorView bias_view = f32_view(bias, Shape{n});
        const bool with_bias = round == 1;
        std::vector<float> want(static_cast<size_t>(t * n)), got(want.size());
        ASSERT_TRUE(ref_.matmul(f32_view(x, Shape{t, k}), w.view, with_bias ? &bias_view : nullptr,
                                f32_view(want, Shape{t, n}))
                        .ok());
        auto prepared = cpu.prepare_matrix("w", w.view);
        ASSERT_TRUE(prepared.ok()) << prepared.status().to_string();
        for (MatmulPath path : {MatmulPath::kQuantizedDot, MatmulPath::kDequantSgemm}) {
          cpu.set_matmul_path(path);
          const Status st =
              cpu.matmul(f32_view(x, Shape{t, k}), *prepared, with_bias ? &bias_view : nullptr,
                         f32_view(got, Shape{t, n}));
          ASSERT_TRUE(st.ok()) << st.to_string();
          const bool quantized_act =
              path == MatmulPath::kQuantizedDot && activation_block(type) > 0;
          const auto tol =
              matmul_tolerance(wf, x, n, k, t, quantized_act ? activation_block(type) : 0);
          int failures = 0;
          for (size_t i = 0; i < got.size() && failures < 3; ++i) {
            if (!(std::abs(got[i] - want[i]) <= tol[i])) {
              ++failures;
              ADD_FAILURE() << dtype_name(type) << " " << cpu.name() << " threads " << threads
                            << " path " << static_cast<int>(path) << " n=" << n << " k=" << k
                            << " t=" << t << " element " << i << ": " << got[i] << " vs " << want[i]
                            << " (tolerance " << tol[i] << ")";
            }
          }
        }
      }
    }
  }
}

TEST_P(CpuParityTest, FusedMatmulsMatchTheirComposition) {
  CpuBackend cpu(2, GetParam());
  for (int64_t t : {1, 3, 20}) {
    const int64_t k = 64, nq = 96, nk = 32, ff = 80;
    const auto wq = test::random_weight(DType::kQ4_1, nq, k, rng_);
    const auto wk = test::random_weight(DType::kQ8_0, nk, k, rng_);
    const auto wg = test::random_weight(DType::kQ4_0, ff, k, rng_);
    const auto wu = test::random_weight(DType::kQ5_0, ff, k, rng_);
    std::vector<float> x = test::random_floats(t * k, rng_);
    std::vector<float> bias = test::random_floats(nk, rng_);
    const TensorView bias_view = f32_view(bias, Shape{nk});
    std::vector<float> q_ref(t * nq), k_ref(t * nk), q_cpu(t * nq), k_cpu(t * nk);
    const TensorView xv = f32_view(x, Shape{t, k});
    const MatmulTarget ref_targets[] = {{&wq.view, nullptr, f32_view(q_ref, Shape{t, nq})},
                                        {&wk.view, &bias_view, f32_view(k_ref, Shape{t, nk})}};
    const MatmulTarget cpu_targets[] = {{&wq.view, nullptr, f32_view(q_cpu, Shape{t, nq})},
                                        {&wk.view, &bias_view, f32_view(k_cpu, Shape{t, nk})}};
    ASSERT_TRUE(ref_.matmul_shared_input(xv, ref_targets).ok());
    ASSERT_TRUE(cpu.matmul_shared_input(xv, cpu_targets).ok());
    const auto tq = matmul_tolerance(test::dequantized(wq.view), x, nq, k, t, 32);
    const auto tk = matmul_tolerance(test::dequantized(wk.view), x, nk, k, t, 0);  // q8_0: f32
    for (size_t i = 0; i < q_cpu.size(); ++i) EXPECT_NEAR(q_cpu[i], q_ref[i], tq[i]) << i;
    for (size_t i = 0; i < k_cpu.size(); ++i) EXPECT_NEAR(k_cpu[i], k_ref[i], tk[i]) << i;

    // swiglu: the gate and up products carry the matmul tolerance into silu(g) * u; bound the
    // propagated error by |silu'| <= 1.1 and the product rule.
    std::vector<float> out_ref(t * ff), up_ref(t * ff), out_cpu(t * ff), up_cpu(t * ff);
    ASSERT_TRUE(ref_.matmul_swiglu(xv, wg.view, wu.view, f32_view(up_ref, Shape{t, ff}),
                                   f32_view(out_ref, Shape{t, ff}))
                    .ok());
    ASSERT_TRUE(cpu.matmul_swiglu(xv, wg.view, wu.view, f32_view(up_cpu, Shape{t, ff}),
                                  f32_view(out_cpu, Shape{t, ff}))
                    .ok());
    std::vector<float> g_ref(t * ff);
    ASSERT_TRUE(ref_.matmul(xv, wg.view, nullptr, f32_view(g_ref, Shape{t, ff})).ok());
    const int64_t act_block = t >= cpu::MatmulDriver::sgemm_min_tokens() ? 0 : 32;
    const auto tg = matmul_tolerance(test::dequantized(wg.view), x, ff, k, t, act_block);
    const auto tu = matmul_tolerance(test::dequantized(wu.view), x, ff, k, t, act_block);
    for (size_t i = 0; i < out_cpu.size(); ++i) {
      const double g = g_ref[i], u = up_ref[i];
      const double silu = g / (1 + std::exp(-g));
      const double tol = 1.1 * tg[i] * (std::abs(u) + tu[i]) + std::abs(silu) * tu[i] +
                         1e-5 * std::abs(out_ref[i]) + 1e-6;
      EXPECT_NEAR(out_cpu[i], out_ref[i], tol) << "t " << t << " element " << i;
    }
  }
}

TEST_P(CpuParityTest, PointwiseOpsMatchReference) {
  CpuBackend cpu(2, GetParam());
  for (int64_t rows : {1, 3, 40}) {
    for (int64_t dim : {8, 45, 576}) {
      std::vector<float> x = test::random_floats(rows * dim, rng_, 3.0f);
      std::vector<float> w = test::random_floats(dim, rng_);
      std::vector<float> b = test::random_floats(rows * dim, rng_);
      std::vector<float> want(x.size()), got(x.size());
      const Shape s{rows, dim};
      ASSERT_TRUE(
          ref_.rms_norm(f32_view(x, s), f32_view(w, Shape{dim}), 1e-5f, f32_view(want, s)).ok());
      ASSERT_TRUE(
          cpu.rms_norm(f32_view(x, s), f32_view(w, Shape{dim}), 1e-5f, f32_view(got, s)).ok());
      expect_all_near(got, want, 1e-5, 1e-7, "rms_norm");
      ASSERT_TRUE(ref_.swiglu(f32_view(x, s), f32_view(b, s), f32_view(want, s)).ok());
      ASSERT_TRUE(cpu.swiglu(f32_view(x, s), f32_view(b, s), f32_view(got, s)).ok());
      expect_all_near(got, want, 1e-5, 1e-7, "swiglu");
      ASSERT_TRUE(ref_.add(f32_view(x, s), f32_view(b, s), f32_view(want, s)).ok());
      ASSERT_TRUE(cpu.add(f32_view(x, s), f32_view(b, s), f32_view(got, s)).ok());
      expect_all_near(got, want, 0, 0, "add");
      // in place, as the model uses it
      std::vector<float> acc = x;
      ASSERT_TRUE(cpu.add(f32_view(acc, s), f32_view(b, s), f32_view(acc, s)).ok());
      expect_all_near(acc, want, 0, 0, "add in place");
    }
  }
}

TEST_P(CpuParityTest, RopeMatchesReferenceForBothLayoutsAndPartialRotation) {
  CpuBackend cpu(2, GetParam());
  for (RopeLayout layout : {RopeLayout::kAdjacentPairs, RopeLayout::kNeox}) {
    for (int64_t rotary : {64, 32}) {
      RopeSpec spec;
      spec.layout = layout;
      spec.rotary_dim = rotary;
      for (int64_t i = 0; i < rotary / 2; ++i) {
        spec.inv_freq.push_back(std::pow(10000.0, -2.0 * static_cast<double>(i) / rotary));
      }
      for (int64_t t : {1, 7, 33}) {
        const int64_t heads = 3, hd = 64;
        std::vector<int32_t> pos(static_cast<size_t>(t));
        for (auto& p : pos) p = static_cast<int32_t>(rng_() % 5000);
        std::vector<float> want = test::random_floats(t * heads * hd, rng_);
        std::vector<float> got = want;
        ASSERT_TRUE(ref_.rope(f32_view(want, Shape{t, heads, hd}), pos, spec).ok());
        ASSERT_TRUE(cpu.rope(f32_view(got, Shape{t, heads, hd}), pos, spec).ok());
        // the cached angles are rounded to float: error ~2 ulp of the larger input element
        expect_all_near(got, want, 1e-6, 2e-6, "rope");
        // the second call reuses the cached table
        std::vector<float> again = test::random_floats(t * heads * hd, rng_);
        std::vector<float> again_ref = again;
        ASSERT_TRUE(ref_.rope(f32_view(again_ref, Shape{t, heads, hd}), pos, spec).ok());
        ASSERT_TRUE(cpu.rope(f32_view(again, Shape{t, heads, hd}), pos, spec).ok());
        expect_all_near(again, again_ref, 1e-6, 2e-6, "rope (cached angles)");
      }
    }
  }
}

TEST_P(CpuParityTest, AttentionMatchesReferenceForDecodeAndPrefill) {
  for (int threads : {1, 2, 3}) {
    CpuBackend cpu(threads, GetParam());
    struct Case {
      int64_t t, heads, kv_heads, hd, past;
    };
    for (const Case& c : {Case{1, 9, 3, 64, 0}, Case{1, 9, 3, 64, 300}, Case{17, 4, 1, 128, 40},
                          Case{64, 2, 2, 32, 0}, Case{5, 4, 2, 20, 9}, Case{3, 4, 1, 256, 70}}) {
      const int64_t n_keys = c.past + c.t;
      std::vector<float> q = test::random_floats(c.t * c.heads * c.hd, rng_);
      std::vector<float> k = test::random_floats(n_keys * c.kv_heads * c.hd, rng_);
      std::vector<float> v = test::random_floats(n_keys * c.kv_heads * c.hd, rng_);
      std::vector<int32_t> pos(static_cast<size_t>(c.t));
      for (int64_t i = 0; i < c.t; ++i) pos[i] = static_cast<int32_t>(c.past + i);
      std::vector<float> want(q.size()), got(q.size());
      const Shape qs{c.t, c.heads, c.hd}, ks{n_keys, c.kv_heads, c.hd};
      const float scale = 1.0f / std::sqrt(static_cast<float>(c.hd));
      ASSERT_TRUE(ref_.attention(f32_view(q, qs), f32_view(k, ks), f32_view(v, ks), pos, scale,
                                 f32_view(want, qs))
                      .ok());
      const Status st = cpu.attention(f32_view(q, qs), f32_view(k, ks), f32_view(v, ks), pos, scale,
                                      f32_view(got, qs));
      ASSERT_TRUE(st.ok()) << st.to_string();
      // outputs are convex combinations of values ~N(0,1): 1e-5 absolute is ~1e-5 relative
      expect_all_near(got, want, 1e-5, 1e-5, "attention t=" + std::to_string(c.t));
    }
  }
}

TEST_P(CpuParityTest, EmbeddingMatchesReferenceForEveryTableType) {
  CpuBackend cpu(2, GetParam());
  for (DType type : {DType::kQ8_0, DType::kQ4_1, DType::kQ4_0, DType::kQ5_0, DType::kQ6_K,
                     DType::kF16, DType::kBF16, DType::kF32, DType::kQ4_K}) {
    const int64_t dim = dtype_traits(type).block_elems == 256 ? 512 : 96;
    const auto table = test::random_weight(type, 50, dim, rng_);
    const std::vector<int32_t> tokens = {0, 49, 7, 7, 23};
    std::vector<float> want(tokens.size() * dim), got(want.size());
    const Shape s{static_cast<int64_t>(tokens.size()), dim};
    ASSERT_TRUE(ref_.embedding(table.view, tokens, f32_view(want, s)).ok());
    ASSERT_TRUE(cpu.embedding(table.view, tokens, f32_view(got, s)).ok());
    expect_all_near(got, want, 1e-6, 0, std::string("embedding ") + std::string(dtype_name(type)));
    const std::vector<int32_t> bad = {3, 50};
    const Status st = cpu.embedding(table.view, bad, f32_view(got, Shape{2, dim}));
    EXPECT_EQ(st.code(), StatusCode::kOutOfRange) << st.to_string();
    EXPECT_NE(st.message().find("50"), std::string::npos) << st.message();
  }
}

TEST_P(CpuParityTest, BadArgumentsAreClearErrors) {
  CpuBackend cpu(2, GetParam());
  std::vector<float> x(64), y(64);
  const auto w = test::random_weight(DType::kQ4_0, 8, 32, rng_);
  // K mismatch
  Status st = cpu.matmul(f32_view(x, Shape{2, 16}), w.view, nullptr, f32_view(y, Shape{2, 8}));
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("[8, 32]"), std::string::npos) << st.message();
  // output rows
  st = cpu.matmul(f32_view(x, Shape{2, 32}), w.view, nullptr, f32_view(y, Shape{3, 8}));
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  // a type no kernel handles is refused at load, by name
  std::vector<uint8_t> iq2(66 * 2);
  const TensorView iq(iq2.data(), DType::kIQ2_XXS, Shape{2, 256});
  const auto prepared = cpu.prepare_matrix("blk.0.attn_q.weight", iq);
  ASSERT_FALSE(prepared.ok());
  EXPECT_EQ(prepared.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(prepared.status().message().find("blk.0.attn_q.weight"), std::string::npos);
  EXPECT_NE(prepared.status().message().find("iq2_xxs"), std::string::npos);
  // attention position past the cache
  std::vector<float> q(64), kv(64), out(64);
  const std::vector<int32_t> pos = {1};
  st = cpu.attention(f32_view(q, Shape{1, 1, 64}), f32_view(kv, Shape{1, 1, 64}),
                     f32_view(kv, Shape{1, 1, 64}), pos, 1.0f, f32_view(out, Shape{1, 1, 64}));
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("position 1"), std::string::npos) << st.message();
  // rope spec that does not fit the head
  RopeSpec spec;
  spec.rotary_dim = 128;
  spec.inv_freq.assign(64, 1.0);
  st = cpu.rope(f32_view(q, Shape{1, 1, 64}), std::vector<int32_t>{0}, spec);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  // swiglu element counts
  st = cpu.swiglu(f32_view(x, Shape{64}), f32_view(y, Shape{32}), f32_view(y, Shape{64}));
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
}

TEST_P(CpuParityTest, PickTokenMatchesReference) {
  CpuBackend cpu(2, GetParam());
  std::vector<float> logits = test::random_floats(1000, rng_, 3.0f);
  const TensorView view = f32_view(logits, Shape{1000});
  for (const TokenPick& pick :
       {TokenPick{}, TokenPick{0.8f, 40, 0.9f, 0.3f}, TokenPick{1.0f, 0, 1.0f, 0.99f}}) {
    auto want = ref_.pick_token(view, pick);
    auto got = cpu.pick_token(view, pick);
    ASSERT_TRUE(want.ok() && got.ok());
    EXPECT_EQ(*got, *want);
  }
  TokenPick bad;
  bad.top_p = 0.0f;
  EXPECT_EQ(cpu.pick_token(view, bad).status().code(), StatusCode::kInvalidArgument);
}

std::string isa_label(const testing::TestParamInfo<CpuIsa>& param) {
  return std::string(cpu::isa_name(param.param));
}

INSTANTIATE_TEST_SUITE_P(EveryKernelSet, CpuParityTest, testing::ValuesIn(supported_isas()),
                         isa_label);

TEST(CpuIsaSelectionTest, EnvironmentLowersTheKernelSetAndRejectsUnknownNames) {
  const char* old = std::getenv("HEARTH_CPU_ISA");
  const std::string saved = old ? old : "";
  setenv("HEARTH_CPU_ISA", "scalar", 1);
  auto isa = cpu::select_isa();
  ASSERT_TRUE(isa.ok());
  EXPECT_EQ(*isa, CpuIsa::kScalar);
  setenv("HEARTH_CPU_ISA", "sse9", 1);
  isa = cpu::select_isa();
  ASSERT_FALSE(isa.ok());
  EXPECT_NE(isa.status().message().find("HEARTH_CPU_ISA"), std::string::npos);
  if (cpu::detect_best_isa() != CpuIsa::kAvx512) {
    setenv("HEARTH_CPU_ISA", "avx512", 1);
    isa = cpu::select_isa();
    ASSERT_FALSE(isa.ok());
    EXPECT_NE(isa.status().message().find("lacks"), std::string::npos);
  }
  if (old) {
    setenv("HEARTH_CPU_ISA", saved.c_str(), 1);
  } else {
    unsetenv("HEARTH_CPU_ISA");
  }
}

}  // namespace
}  // namespace hearth
