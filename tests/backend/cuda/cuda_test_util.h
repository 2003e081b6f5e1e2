// Helpers of the CUDA tests: a backend or a skip, device tensors filled from host vectors, and
// comparisons that name the first elements out of tolerance.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backend/cuda/cuda_backend.h"
#include "core/fp16.h"

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

// The same with every short-block matvec kind on (opt-in, kernels.h) and so the quantized
// handoffs that go with them.
inline std::unique_ptr<cuda::CudaBackend> short_matvec_backend_or_reason(std::string& reason) {
  cuda::CudaBackendOptions o;
  o.tuning.matvec_short = 15;
  return cuda_backend_or_reason(reason, o);
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

// `host` as a KV cache of the backend's type holds it: rounded to f16 where the caches are f16.
inline std::vector<float> as_cached(const cuda::CudaBackend& be, std::vector<float> host) {
  if (be.kv_cache_dtype() == DType::kF16) {
    for (float& x : host) x = fp16_to_f32(f32_to_fp16(x));
  }
  return host;
}

// A KV cache tensor of the backend's cache type (f16 unless the options say f32) holding `host`
// (rounded, for f16).
inline DeviceTensor kv_to_device(cuda::CudaBackend& be, const std::vector<float>& host,
                                 Shape shape) {
  if (be.kv_cache_dtype() != DType::kF16) return to_device(be, host, shape);
  DeviceTensor t;
  std::vector<uint16_t> bits(host.size());
  for (size_t i = 0; i < host.size(); ++i) bits[i] = f32_to_fp16(host[i]);
  auto buf = be.allocate(bits.size() * sizeof(uint16_t));
  EXPECT_TRUE(buf.ok()) << buf.status().to_string();
  if (!buf.ok()) return t;
  t.buffer = std::move(buf).value();
  t.view = TensorView(t.buffer.data(), DType::kF16, shape);
  EXPECT_TRUE(be.synchronize().ok());
  EXPECT_EQ(cudaMemcpy(t.view.data(), bits.data(), bits.size() * sizeof(uint16_t),
                       cudaMemcpyHostToDevice),
            cudaSuccess);
  // From pageable memory cudaMemcpy may return before the data lands, and the backend's
  // non-blocking stream does not wait for the legacy stream.
  EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  return t;
}

// A device tensor's values as floats (f32, or an f16 KV cache widened).
inline std::vector<float> to_host(cuda::CudaBackend& be, const TensorView& t) {
  std::vector<float> out(static_cast<size_t>(t.numel()));
  if (t.dtype() == DType::kF16) {
    std::vector<uint16_t> bits(out.size());
    const Status st = be.synchronize();
    EXPECT_TRUE(st.ok()) << st.to_string();
    EXPECT_EQ(
        cudaMemcpy(bits.data(), t.data(), bits.size() * sizeof(uint16_t), cudaMemcpyDeviceToHost),
        cudaSuccess);
    for (size_t i = 0; i < out.size(); ++i) out[i] = fp16_to_f32(bits[i]);
    return out;
  }
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
