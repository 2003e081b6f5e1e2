// Shared by the CUDA parity tests (cuda_backend_parity_test.cpp, cuda_fusion_test.cpp): host
// views, random inputs, the decode matmul tolerance derived in cuda_backend_parity_test.cpp's
// header, and the fixture (a CudaBackend or a skip, and the reference backend).
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "backend/reference/reference_backend.h"
#include "cuda_test_util.h"
#include "random_tensors.h"

namespace hearth::test {

inline TensorView f32_view(std::vector<float>& v, Shape shape) {
  return TensorView(v.data(), DType::kF32, shape);
}

// n floats ~ N(0, 1) without outliers (attention inputs after the model's norms).
inline std::vector<float> normal_floats(int64_t n, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = normal(rng);
  return v;
}

inline bool decode_quantizes_activations(DType t) {
  return t == DType::kQ4_0 || t == DType::kQ4_1 || t == DType::kQ8_0;
}

// Allowed |cuda - reference| for every output of y = x . w^T with t rows.
inline std::vector<double> matmul_tolerance(const std::vector<float>& wf,
                                            const std::vector<float>& x, int64_t n, int64_t k,
                                            int64_t t, DType type) {
  const bool gemm = t > cuda::CudaBackend::kMatvecMaxTokens;
  const bool int8_x = !gemm && decode_quantizes_activations(type);
  std::vector<double> tol(static_cast<size_t>(n * t));
  for (int64_t tt = 0; tt < t; ++tt) {
    std::vector<double> step(static_cast<size_t>(k), 0.0);
    if (int8_x) {
      for (int64_t b = 0; b < k / 32; ++b) {
        double amax = 0;
        for (int64_t i = b * 32; i < (b + 1) * 32; ++i) {
          amax = std::max(amax, std::abs(static_cast<double>(x[tt * k + i])));
        }
        for (int64_t i = b * 32; i < (b + 1) * 32; ++i) step[i] = amax / 254.0;
      }
    }
    for (int64_t r = 0; r < n; ++r) {
      double quant = 0, mag = 0;
      for (int64_t i = 0; i < k; ++i) {
        const double w = std::abs(static_cast<double>(wf[r * k + i]));
        quant += w * step[i];
        mag += w * std::abs(static_cast<double>(x[tt * k + i]));
      }
      const double rel = gemm ? 0x1p-7 * 1.01 : 1e-5;
      tol[tt * n + r] = quant * 1.001 + rel * mag + 1e-6;
    }
  }
  return tol;
}

class CudaParityTest : public testing::Test {
 protected:
  void SetUp() override {
    std::string reason;
    cuda_ = test::cuda_backend_or_reason(reason);
    if (!cuda_) GTEST_SKIP() << "no CUDA GPU: " << reason;
  }
  std::mt19937 rng_{42};
  ReferenceBackend ref_{4};
  std::unique_ptr<cuda::CudaBackend> cuda_;
};

// Every output of y = x . w^T (t rows) within the decode tolerance plus `rel` of |want|.
inline void expect_matmul_near(const std::vector<float>& got, const std::vector<float>& want,
                               const std::vector<double>& tol, double rel,
                               const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  int failures = 0;
  for (size_t i = 0; i < got.size() && failures < 3; ++i) {
    const double allowed = tol[i] + rel * std::abs(want[i]);
    if (!(std::abs(double(got[i]) - want[i]) <= allowed)) {
      ++failures;
      ADD_FAILURE() << what << " element " << i << ": " << got[i] << " vs " << want[i]
                    << " (tolerance " << allowed << ")";
    }
  }
}

}  // namespace hearth::test
