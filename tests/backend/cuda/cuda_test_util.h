// Helpers of the CUDA tests: a backend or a skip, device tensors filled from host vectors, and
// comparisons that name the first elements out of tolerance.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "backend/cuda/cuda_backend.h"

namespace hearth::test {

// The CUDA backend on GPU 0, or the reason there is none (tests GTEST_SKIP with it).
inline std::unique_ptr<cuda::CudaBackend> cuda_backend_or_reason(
    std::string& reason, const cuda::CudaBackendOptions& o = {}) {
  auto be = cuda::CudaBackend::create(o);
  if (!be.ok()) {
    reason = be.status().to_string();
    return nullptr;
  }
  return std::move(be).value();
}

// A f32 tensor in device memory with a host copy.
struct DeviceTensor {
  BackendBuffer buffer;
  TensorView view;
};

inline DeviceTensor to_device(cuda::CudaBackend& be, const std::vector<float>& host, Shape shape) {
  DeviceTensor t;
  auto buf = be.allocate(host.size() * sizeof(float));
  EXPECT_TRUE(buf.ok()) << buf.status().to_string();
  if (!buf.ok()) return t;
  t.buffer = std::move(buf).value();
  t.view = TensorView(t.buffer.data(), DType::kF32, shape);
  const Status st = be.upload(host, t.view);
  EXPECT_TRUE(st.ok()) << st.to_string();
  return t;
}

// A device tensor of `shape` whose every element is NaN: outputs must overwrite all of it.
inline DeviceTensor poisoned(cuda::CudaBackend& be, Shape shape) {
  return to_device(be, std::vector<float>(static_cast<size_t>(shape.numel()), NAN), shape);
}

inline std::vector<float> to_host(cuda::CudaBackend& be, const TensorView& t) {
  std::vector<float> out(static_cast<size_t>(t.numel()));
  const Status st = be.read(t, out);
  EXPECT_TRUE(st.ok()) << st.to_string();
  return out;
}

// |got - want| <= rel * |want| + abs everywhere (NaN fails); reports the first few misses.
inline void expect_all_near(const std::vector<float>& got, const std::vector<float>& want,
                            double rel, double abs, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  int failures = 0;
  for (size_t i = 0; i < got.size() && failures < 5; ++i) {
    const double tol = rel * std::abs(want[i]) + abs;
    if (!(std::abs(double(got[i]) - want[i]) <= tol)) {
      ++failures;
      ADD_FAILURE() << what << " element " << i << ": " << got[i] << " vs " << want[i]
                    << " (tolerance " << tol << ")";
    }
  }
}

// ||got - want|| / ||want||.
inline double relative_l2(const std::vector<float>& got, const std::vector<float>& want) {
  double num = 0, den = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double d = double(got[i]) - want[i];
    num += d * d;
    den += double(want[i]) * want[i];
  }
  return std::sqrt(num / (den > 0 ? den : 1));
}

}  // namespace hearth::test
