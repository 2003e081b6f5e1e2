// CPU backend kernels on the default model's shapes (SmolLM2-135M: d 576, ff 1536, kv 192, vocab
// 49152): each matmul algorithm per shape and token count (the data behind the sgemm threshold in
// kernels/matmul.cpp), attention for decode and prefill, and the read bandwidth of a decode step.
//
//   build/release/bench/cpu_kernels_bench --benchmark_filter=Matmul
//
// Weights are random blocks with realistic scales (the speed of the kernels does not depend on
// the values). Counters: tokens/s and, for T = 1, weight bytes streamed per second.
#include <benchmark/benchmark.h>

#include <cstring>
#include <random>
#include <vector>

#include "backend/cpu/cpu_backend.h"
#include "core/fp16.h"

namespace {

using hearth::CpuBackend;
using hearth::DType;
using hearth::Shape;
using hearth::TensorView;
using hearth::cpu::MatmulPath;

// Random blocks with the leading fp16 scale of the 32-element formats set to a small value.
std::vector<uint8_t> random_weight(DType t, int64_t rows, int64_t cols) {
  const auto row_bytes = *hearth::dtype_row_bytes(t, static_cast<uint64_t>(cols));
  std::vector<uint8_t> bytes(row_bytes * static_cast<size_t>(rows));
  std::mt19937 rng(1);
  for (auto& b : bytes) b = static_cast<uint8_t>(rng());
  const auto& tr = hearth::dtype_traits(t);
  if (t == DType::kF32 || t == DType::kF16) {
    for (size_t i = 0; i < bytes.size() / tr.block_bytes; ++i) {
      if (t == DType::kF32) {
        const float v = static_cast<float>(rng() % 1000) * 1e-5f;
        std::memcpy(bytes.data() + i * 4, &v, 4);
      } else {
        const uint16_t h = hearth::f32_to_fp16(static_cast<float>(rng() % 1000) * 1e-5f);
        std::memcpy(bytes.data() + i * 2, &h, 2);
      }
    }
  } else {
    const uint16_t h = hearth::f32_to_fp16(0.01f);
    for (size_t i = 0; i < bytes.size() / tr.block_bytes; ++i) {
      std::memcpy(bytes.data() + i * tr.block_bytes, &h, 2);
      if (t == DType::kQ4_1) std::memcpy(bytes.data() + i * tr.block_bytes + 2, &h, 2);
    }
  }
  return bytes;
}

DType type_of(int64_t code) {
  switch (code) {
    case 0:
      return DType::kQ4_1;
    case 1:
      return DType::kQ8_0;
    case 2:
      return DType::kF16;
    case 3:
      return DType::kQ4_0;
    default:
      return DType::kF32;
  }
}

// args: type code, N, K, T, path (1 dot, 2 sgemm), threads
void BM_Matmul(benchmark::State& state) {
  const DType type = type_of(state.range(0));
  const int64_t n = state.range(1), k = state.range(2), t = state.range(3);
  const auto path = static_cast<MatmulPath>(state.range(4));
  CpuBackend cpu(static_cast<int>(state.range(5)), hearth::cpu::detect_best_isa());
  cpu.set_matmul_path(path);
  std::vector<uint8_t> w = random_weight(type, n, k);
  const TensorView wv(w.data(), type, Shape{n, k});
  std::vector<float> x(static_cast<size_t>(t * k), 0.5f), y(static_cast<size_t>(t * n));
  hearth::ScratchPlan plan;
  plan.max_tokens = t;
  plan.max_matmul_inner = k;
  (void)cpu.reserve_scratch(plan);
  const TensorView xv(x.data(), DType::kF32, Shape{t, k}), yv(y.data(), DType::kF32, Shape{t, n});
  for (auto _ : state) {
    if (!cpu.matmul(xv, wv, nullptr, yv).ok()) state.SkipWithError("matmul failed");
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["tokens/s"] =
      benchmark::Counter(static_cast<double>(t), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["weight_GB/s"] = benchmark::Counter(static_cast<double>(w.size()) / 1e9,
                                                     benchmark::Counter::kIsIterationInvariantRate);
}

void matmul_shapes(benchmark::internal::Benchmark* b) {
  // the default model's projections: q/o [576, 576], k/v [192, 576], gate/up [1536, 576],
  // down [576, 1536], and the tied Q8_0 head [49152, 576]
  const int64_t shapes[][3] = {{0, 576, 576},   {0, 192, 576},  {0, 1536, 576}, {0, 576, 1536},
                               {1, 49152, 576}, {1, 1536, 576}, {2, 1536, 576}, {3, 1536, 576}};
  for (const auto& s : shapes) {
    for (int64_t t : {1, 4, 8, 12, 16, 32, 256}) {
      if (s[1] == 49152 && t > 16) continue;
      for (int64_t path : {1, 2}) {
        for (int64_t threads : {1, 2}) b->Args({s[0], s[1], s[2], t, path, threads});
      }
    }
  }
}
BENCHMARK(BM_Matmul)->Apply(matmul_shapes)->UseRealTime()->Unit(benchmark::kMicrosecond);

// args: T (queries), past keys, threads; 9 query heads over 3 kv heads of 64 (the default model)
void BM_Attention(benchmark::State& state) {
  const int64_t t = state.range(0), past = state.range(1), heads = 9, kv_heads = 3, hd = 64;
  CpuBackend cpu(static_cast<int>(state.range(2)), hearth::cpu::detect_best_isa());
  const int64_t keys = past + t;
  std::vector<float> q(static_cast<size_t>(t * heads * hd), 0.1f), out(q.size());
  std::vector<float> kv(static_cast<size_t>(keys * kv_heads * hd), 0.2f);
  std::vector<int32_t> pos(static_cast<size_t>(t));
  for (int64_t i = 0; i < t; ++i) pos[static_cast<size_t>(i)] = static_cast<int32_t>(past + i);
  const TensorView qv(q.data(), DType::kF32, Shape{t, heads, hd});
  const TensorView kvv(kv.data(), DType::kF32, Shape{keys, kv_heads, hd});
  const TensorView ov(out.data(), DType::kF32, Shape{t, heads, hd});
  for (auto _ : state) {
    if (!cpu.attention(qv, kvv, kvv, pos, 0.125f, ov).ok()) state.SkipWithError("attention failed");
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["tokens/s"] =
      benchmark::Counter(static_cast<double>(t), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Attention)
    ->Args({1, 128, 1})
    ->Args({1, 640, 1})
    ->Args({1, 640, 2})
    ->Args({256, 0, 1})
    ->Args({256, 256, 2})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
