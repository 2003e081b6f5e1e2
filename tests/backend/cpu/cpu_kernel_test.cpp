// The kernel table of every instruction set this CPU runs, kernel by kernel, against exact
// (double precision) computations on the same inputs. Isolating the kernels from the drivers
// lets the tolerances be tight: the dot products of quantized weights with quantized
// activations are exact integer sums scaled in float, so they must agree with the exact sum of
// the dequantized operands to float rounding, while the activation quantization error is
// checked separately against its bound.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "backend/cpu/cpu_features.h"
#include "backend/cpu/kernels/act_blocks.h"
#include "backend/cpu/kernels/kernel_table.h"
#include "backend/reference/dequantize.h"
#include "random_tensors.h"

namespace hearth {
namespace {

using cpu::ActFormat;
using cpu::CpuIsa;
using cpu::KernelTable;

std::vector<CpuIsa> supported_isas() {
  std::vector<CpuIsa> out;
  for (CpuIsa isa : {CpuIsa::kScalar, CpuIsa::kAvx2, CpuIsa::kAvx512}) {
    if (static_cast<int>(isa) <= static_cast<int>(cpu::detect_best_isa())) out.push_back(isa);
  }
  return out;
}

std::string isa_label(const testing::TestParamInfo<CpuIsa>& info) {
  return std::string(cpu::isa_name(info.param));
}

class KernelTest : public testing::TestWithParam<CpuIsa> {
 protected:
  const KernelTable& table() const { return cpu::kernel_table(GetParam()); }
  std::mt19937 rng_{1234};
};

// Dequantized activation values d * q of a quantized row.
std::vector<float> act_values(ActFormat f, const std::vector<uint8_t>& act, int64_t k) {
  std::vector<float> out(static_cast<size_t>(k));
  if (f == ActFormat::kQ8x32) {
    const cpu::ActRowQ8x32 row = cpu::act_row_q8x32(act.data(), k);
    for (int64_t i = 0; i < k; ++i)
      out[i] = row.scales[2 * (i / 32)] * static_cast<float>(row.qs[i]);
  } else {
    const auto* b = reinterpret_cast<const cpu::ActQ8x256*>(act.data());
    for (int64_t i = 0; i < k; ++i) {
      out[i] = b[i / 256].d * static_cast<float>(b[i / 256].qs[i % 256]);
    }
  }
  return out;
}

size_t act_bytes(ActFormat f, int64_t k) {
  return f == ActFormat::kQ8x32 ? cpu::act_row_q8x32_bytes(k)
                                : static_cast<size_t>(k / 256) * sizeof(cpu::ActQ8x256);
}

void quantize(const KernelTable& t, ActFormat f, const float* x, std::vector<uint8_t>& out,
              int64_t k) {
  out.assign(act_bytes(f, k), 0);
  (f == ActFormat::kQ8x32 ? t.quantize_q8x32 : t.quantize_q8x256)(x, out.data(), k);
}

TEST_P(KernelTest, ActivationQuantizationIsIdenticalToScalarAndWithinHalfAStep) {
  const KernelTable& scalar = cpu::kernel_table(CpuIsa::kScalar);
  for (ActFormat f : {ActFormat::kQ8x32, ActFormat::kQ8x256}) {
    const int64_t block = f == ActFormat::kQ8x32 ? 32 : 256;
    for (int64_t k : {block, 4 * block}) {
      std::vector<float> x = test::random_floats(k, rng_);
      for (int64_t i = 0; i < block; ++i) x[i] = 0.0f;  // an all-zero block: d = 0
      std::vector<uint8_t> mine, want;
      quantize(table(), f, x.data(), mine, k);
      quantize(scalar, f, x.data(), want, k);
      EXPECT_EQ(mine, want) << "format " << static_cast<int>(f) << " k " << k;
      const std::vector<float> xq = act_values(f, mine, k);
      for (int64_t b = 0; b < k / block; ++b) {
        float amax = 0.0f;
        for (int64_t i = b * block; i < (b + 1) * block; ++i) amax = std::max(amax, std::abs(x[i]));
        for (int64_t i = b * block; i < (b + 1) * block; ++i) {
          // d = amax / 127 and |x - d q| <= d / 2 (plus rounding of x / d)
          EXPECT_LE(std::abs(x[i] - xq[i]), amax / 254.0f * 1.0001f + 1e-30f) << i;
        }
      }
      if (f == ActFormat::kQ8x32) {
        const cpu::ActRowQ8x32 row = cpu::act_row_q8x32(mine.data(), k);
        for (int64_t b = 0; b < k / 32; ++b) {
          int sum = 0;
          for (int i = 0; i < 32; ++i) sum += row.qs[b * 32 + i];
          EXPECT_FLOAT_EQ(row.scales[2 * b + 1], row.scales[2 * b] * static_cast<float>(sum));
        }
      } else {
        const auto* blocks = reinterpret_cast<const cpu::ActQ8x256*>(mine.data());
        for (int64_t b = 0; b < k / 256; ++b) {
          for (int g = 0; g < 16; ++g) {
            int sum = 0;
            for (int i = 0; i < 16; ++i) sum += blocks[b].qs[g * 16 + i];
            EXPECT_EQ(blocks[b].bsums[g], sum) << "group " << g;
          }
        }
      }
    }
  }
}

TEST_P(KernelTest, DotProductsEqualTheExactSumOfDequantizedOperands) {
  const DType types[] = {DType::kQ4_0, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1,
                         DType::kQ8_0, DType::kQ4_K, DType::kQ5_K, DType::kQ6_K,
                         DType::kF32,  DType::kF16,  DType::kBF16};
  for (DType t : types) {
    const cpu::WeightKernels& wk = table().for_type(t);
    ASSERT_NE(wk.dot, nullptr) << dtype_name(t);
    const int64_t block = dtype_traits(t).block_elems == 256 ? 256 : 32;
    const bool plain = dtype_traits(t).block_elems == 1;
    for (int64_t blocks : {1, 2, 3, 7}) {
      // plain float types also get lengths that are not a multiple of 8
      const int64_t len = blocks * block + (plain ? blocks % 3 * 3 : 0);
      const auto w = test::random_weight(t, 4, len, rng_);
      const std::vector<float> wf = test::dequantized(w.view);
      const std::vector<float> x = test::random_floats(len, rng_);
      std::vector<uint8_t> act;
      std::vector<float> xq = x;
      const void* act_ptr = x.data();
      if (wk.act != ActFormat::kF32) {
        quantize(table(), wk.act, x.data(), act, len);
        xq = act_values(wk.act, act, len);
        act_ptr = act.data();
      }
      float got_rows[4];
      wk.dot(len, w.view.row_ptr(0), w.view.row_bytes(), 4, act_ptr, got_rows);
      for (int64_t r = 0; r < 4; ++r) {
        double exact = 0, magnitude = 0;
        for (int64_t i = 0; i < len; ++i) {
          const double p = static_cast<double>(wf[r * len + i]) * xq[i];
          exact += p;
          magnitude += std::abs(p);
        }
        const float got = got_rows[r];
        // float rounding of a few hundred block terms: far below one term of the sum
        EXPECT_NEAR(got, exact, 2e-6 * magnitude + 1e-9)
            << dtype_name(t) << " " << cpu::isa_name(GetParam()) << " len " << len << " row " << r;
      }
    }
  }
}

TEST_P(KernelTest, DequantizationMatchesTheReference) {
  for (DType t :
       {DType::kQ4_0, DType::kQ4_1, DType::kQ5_0, DType::kQ8_0, DType::kF16, DType::kBF16}) {
    const cpu::DequantRowFn fn = table().for_type(t).dequant;
    if (fn == nullptr) continue;  // the reference itself is used
    const auto w = test::random_weight(t, 3, 96, rng_);
    const std::vector<float> want = test::dequantized(w.view);
    std::vector<float> got(want.size());
    for (int64_t r = 0; r < 3; ++r) fn(w.view.row_ptr(r), got.data() + r * 96, 96);
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_NEAR(got[i], want[i], 1e-6f * std::abs(want[i])) << dtype_name(t) << " " << i;
    }
  }
}

// The prefill GEMM is exact to float rounding (each element one FMA chain per K block: within
// K * 2^-24 of sum |x w|) and batch-invariant: any sub-block of tokens and rows, at any offset
// and with any leading dimension, gives the very same bits as the whole call. That is what makes
// a prompt's logits independent of how it was chunked or how much of it was cached.
TEST_P(KernelTest, PrefillGemmIsExactToRoundingAndBatchInvariant) {
  for (int64_t k : {0, 8, 37, 576, 1024, 1500, 3000}) {
    const int64_t t = 23, r = 13, ldx = k + 3;  // token rows ldx apart, the padding unused
    auto x = test::random_floats(t * ldx, rng_);
    for (int64_t i = 0; i < t; ++i) {
      for (int64_t c = k; c < ldx; ++c) x[i * ldx + c] = NAN;
    }
    const auto w = test::random_floats(r * k, rng_);
    std::vector<float> y(static_cast<size_t>(t * r), NAN);
    table().gemm_nt(x.data(), ldx, t, w.data(), r, k, y.data(), r);
    for (int64_t i = 0; i < t; ++i) {
      for (int64_t j = 0; j < r; ++j) {
        double exact = 0, mag = 0;
        for (int64_t c = 0; c < k; ++c) {
          const double p = static_cast<double>(x[i * ldx + c]) * w[j * k + c];
          exact += p;
          mag += std::abs(p);
        }
        ASSERT_NEAR(y[i * r + j], exact, static_cast<double>(k) * 0x1p-24 * mag + 1e-30)
            << "k=" << k << " token " << i << " row " << j;
      }
    }
    for (int round = 0; round < 12; ++round) {
      const int64_t t0 = static_cast<int64_t>(rng_() % t), t1 = t0 + 1 + rng_() % (t - t0);
      const int64_t r0 = static_cast<int64_t>(rng_() % r), r1 = r0 + 1 + rng_() % (r - r0);
      const int64_t ldy = (r1 - r0) + static_cast<int64_t>(rng_() % 3);
      std::vector<float> part(static_cast<size_t>((t1 - t0) * ldy), NAN);
      table().gemm_nt(x.data() + t0 * ldx, ldx, t1 - t0, w.data() + r0 * k, r1 - r0, k, part.data(),
                      ldy);
      for (int64_t i = t0; i < t1; ++i) {
        for (int64_t j = r0; j < r1; ++j) {
          ASSERT_EQ(part[(i - t0) * ldy + (j - r0)], y[i * r + j])
              << "k=" << k << " tokens [" << t0 << ", " << t1 << ") rows [" << r0 << ", " << r1
              << "): token " << i << " row " << j;
        }
      }
    }
  }
}

TEST_P(KernelTest, ElementwiseKernelsMatchDoublePrecision) {
  for (int64_t n : {1, 7, 8, 9, 31, 64, 1000}) {
    const auto a = test::random_floats(n, rng_);
    const auto b = test::random_floats(n, rng_);
    std::vector<float> out(static_cast<size_t>(n));
    double dot = 0, mag = 0, ss = 0;
    for (int64_t i = 0; i < n; ++i) {
      dot += static_cast<double>(a[i]) * b[i];
      mag += std::abs(static_cast<double>(a[i]) * b[i]);
      ss += static_cast<double>(a[i]) * a[i];
    }
    EXPECT_NEAR(table().dot_f32(a.data(), b.data(), n), dot, 1e-6 * mag + 1e-9) << n;
    EXPECT_NEAR(table().sum_squares(a.data(), n), ss, 1e-6 * ss + 1e-9) << n;
    table().swiglu(a.data(), b.data(), out.data(), n);
    for (int64_t i = 0; i < n; ++i) {
      const double g = a[i];
      const double want = g / (1.0 + std::exp(-g)) * b[i];
      // the vector exp is within a few ulp; division and product add one each
      EXPECT_NEAR(out[i], want, 1e-6 * std::abs(want) + 1e-30) << "swiglu " << n << " " << i;
    }
    table().add(a.data(), b.data(), out.data(), n);
    for (int64_t i = 0; i < n; ++i) EXPECT_EQ(out[i], a[i] + b[i]);
    table().scale_mul(a.data(), 0.75f, b.data(), out.data(), n);
    for (int64_t i = 0; i < n; ++i) EXPECT_EQ(out[i], a[i] * 0.75f * b[i]);
  }
  // saturating inputs of silu stay finite and correct at both ends
  const float g[3] = {-100.0f, 100.0f, 0.0f}, u[3] = {1.0f, 1.0f, 1.0f};
  float o[3];
  table().swiglu(g, u, o, 3);
  EXPECT_NEAR(o[0], 0.0f, 1e-30f);
  EXPECT_FLOAT_EQ(o[1], 100.0f);
  EXPECT_EQ(o[2], 0.0f);
}

TEST_P(KernelTest, GroupedAttentionMatchesASoftmaxInDoublePrecision) {
  for (int64_t group : {1, 3, 4, 6}) {
    for (int64_t hd : {8, 20, 24, 64, 128, 256}) {
      for (int64_t n_keys : {1, 5, 31, 32, 33, 100, 300}) {
        const int64_t stride = hd * 3;  // three kv heads interleaved per position, as in the cache
        const int64_t head = 1;
        const auto q = test::random_floats(group * hd, rng_);
        const auto kv_k = test::random_floats(n_keys * stride, rng_);
        const auto kv_v = test::random_floats(n_keys * stride, rng_);
        const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
        std::vector<float> out(static_cast<size_t>(group * hd));
        std::vector<float> scratch(static_cast<size_t>(cpu::attention_scratch_floats(group, hd)));
        table().attention_group(q.data(), group, kv_k.data() + head * hd, kv_v.data() + head * hd,
                                n_keys, stride, hd, scale, out.data(), scratch.data());
        for (int64_t g = 0; g < group; ++g) {
          std::vector<double> s(static_cast<size_t>(n_keys));
          double mx = -1e300;
          for (int64_t j = 0; j < n_keys; ++j) {
            double d = 0;
            for (int64_t e = 0; e < hd; ++e) {
              d += static_cast<double>(q[g * hd + e]) * kv_k[j * stride + head * hd + e];
            }
            s[j] = d * scale;
            mx = std::max(mx, s[j]);
          }
          double sum = 0;
          for (auto& e : s) sum += (e = std::exp(e - mx));
          for (int64_t e = 0; e < hd; ++e) {
            double want = 0, mag = 0;
            for (int64_t j = 0; j < n_keys; ++j) {
              want += s[j] / sum * kv_v[j * stride + head * hd + e];
              mag += s[j] / sum * std::abs(kv_v[j * stride + head * hd + e]);
            }
            // scores carry ~1e-6 relative error into the weights; outputs are convex combinations
            EXPECT_NEAR(out[g * hd + e], want, 1e-5 * mag + 1e-7)
                << "group " << group << " hd " << hd << " keys " << n_keys << " head " << g;
          }
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(EveryKernelSet, KernelTest, testing::ValuesIn(supported_isas()),
                         isa_label);

}  // namespace
}  // namespace hearth
