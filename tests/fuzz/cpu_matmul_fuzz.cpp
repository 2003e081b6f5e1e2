// CPU backend matmul and embedding on arbitrary weight bytes (any scale bits: NaN, inf,
// subnormal; any quant bits) and arbitrary activations, against the reference backend: never a
// crash or an out-of-bounds read, and where every value is finite and moderate, the same result
// within the 8-bit activation bound (tests/backend/cpu/cpu_backend_parity_test.cpp explains it).
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "backend/cpu/cpu_backend.h"
#include "backend/reference/dequantize.h"
#include "backend/reference/reference_backend.h"

namespace {

using hearth::DType;

constexpr DType kTypes[] = {DType::kQ4_0, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1,  DType::kQ8_0,
                            DType::kQ4_K, DType::kQ5_K, DType::kQ6_K, DType::kF32,   DType::kF16,
                            DType::kBF16, DType::kQ2_K, DType::kQ3_K, DType::kIQ4_NL};

struct Reader {
  const uint8_t* p;
  size_t n;
  uint8_t byte() {
    if (n == 0) return 0;
    --n;
    return *p++;
  }
  void fill(void* dst, size_t bytes) {
    auto* d = static_cast<uint8_t*>(dst);
    for (size_t i = 0; i < bytes; ++i) d[i] = byte();
  }
};

bool moderate(const std::vector<float>& v) {
  for (float x : v) {
    if (!std::isfinite(x) || std::abs(x) > 1e4f) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static hearth::ReferenceBackend ref(2);
  static hearth::CpuBackend cpu(2, hearth::cpu::detect_best_isa());
  Reader in{data, size};
  const DType type = kTypes[in.byte() % (sizeof(kTypes) / sizeof(kTypes[0]))];
  const int64_t block = hearth::dtype_traits(type).block_elems;
  const int64_t n = 1 + in.byte() % 16;
  const int64_t k =
      (block == 1 ? 8 : block) * (1 + in.byte() % 3) + (block == 1 ? in.byte() % 8 : 0);
  const int64_t t = 1 + in.byte() % 20;
  const auto path = static_cast<hearth::cpu::MatmulPath>(in.byte() % 3);

  const auto row_bytes = hearth::dtype_row_bytes(type, static_cast<uint64_t>(k));
  if (!row_bytes) return 0;
  std::vector<uint8_t> w(static_cast<size_t>(*row_bytes * static_cast<uint64_t>(n)));
  in.fill(w.data(), w.size());
  std::vector<float> x(static_cast<size_t>(t * k));
  for (auto& v : x) v = static_cast<float>(static_cast<int8_t>(in.byte())) * 0.05f;
  const hearth::TensorView wv(w.data(), type, hearth::Shape{n, k});
  std::vector<float> y_ref(static_cast<size_t>(t * n)), y_cpu(y_ref.size());
  const hearth::TensorView xv(x.data(), DType::kF32, hearth::Shape{t, k});

  auto prepared = cpu.prepare_matrix("w", wv);
  if (!prepared.ok()) std::abort();  // every type here has a kernel or a reference fallback
  cpu.set_matmul_path(path);
  const hearth::Status st_cpu =
      cpu.matmul(xv, *prepared, nullptr, hearth::TensorView(y_cpu.data(), DType::kF32, {t, n}));
  const hearth::Status st_ref =
      ref.matmul(xv, wv, nullptr, hearth::TensorView(y_ref.data(), DType::kF32, {t, n}));
  if (st_cpu.ok() != st_ref.ok()) std::abort();

  std::vector<float> wf(static_cast<size_t>(n * k));
  if (!hearth::reference::dequantize_rows(wv, 0, n, wf.data()).ok()) std::abort();
  if (st_cpu.ok() && moderate(wf) && moderate(y_ref)) {
    const bool quantized_act = block > 1 && type != DType::kQ8_0;
    const int64_t act_block = block == 256 ? 256 : 32;
    for (int64_t tt = 0; tt < t; ++tt) {
      for (int64_t r = 0; r < n; ++r) {
        double bound = 0, mag = 0;
        for (int64_t i = 0; i < k; ++i) {
          const double wi = std::abs(static_cast<double>(wf[r * k + i]));
          mag += wi * std::abs(static_cast<double>(x[tt * k + i]));
          if (quantized_act) {
            double amax = 0;
            const int64_t b0 = i / act_block * act_block;
            for (int64_t j = b0; j < b0 + act_block; ++j) {
              amax = std::max(amax, std::abs(static_cast<double>(x[tt * k + j])));
            }
            bound += wi * amax / 254.0;
          }
        }
        const double diff = std::abs(static_cast<double>(y_cpu[tt * n + r]) - y_ref[tt * n + r]);
        if (!(diff <= bound * 1.001 + 1e-4 * mag + 1e-4)) std::abort();
      }
    }
  }

  // embedding with fuzzed ids: both backends agree on the error or on the rows
  std::vector<int32_t> ids(3);
  for (auto& id : ids) id = static_cast<int32_t>(static_cast<int8_t>(in.byte())) % (n + 2);
  std::vector<float> e_ref(ids.size() * static_cast<size_t>(k)), e_cpu(e_ref.size());
  const hearth::Shape es{static_cast<int64_t>(ids.size()), k};
  const hearth::Status er =
      ref.embedding(wv, ids, hearth::TensorView(e_ref.data(), DType::kF32, es));
  const hearth::Status ec =
      cpu.embedding(wv, ids, hearth::TensorView(e_cpu.data(), DType::kF32, es));
  if (er.code() != ec.code()) std::abort();
  if (er.ok()) {
    for (size_t i = 0; i < e_ref.size(); ++i) {
      const float a = e_ref[i], b = e_cpu[i];
      if (std::isnan(a) != std::isnan(b)) std::abort();
      if (!std::isnan(a) && std::abs(a - b) > 1e-6f * std::abs(a)) std::abort();
    }
  }
  return 0;
}
