// The fast CPU backend: SIMD kernels picked at startup for this CPU (AVX2, AVX-512 VNNI or the
// portable fallback), threaded through one ThreadPool created at construction. Weights stay in
// their stored type and are read in place (zero-copy from the mapped file); all scratch is sized
// by reserve_scratch() so decoding a token allocates nothing. Checked op by op against
// ReferenceBackend (tests/backend/cpu).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "backend/cpu/cpu_features.h"
#include "backend/cpu/kernels/attention.h"
#include "backend/cpu/kernels/kernel_table.h"
#include "backend/cpu/kernels/matmul.h"
#include "backend/cpu/kernels/rope.h"
#include "core/thread_pool.h"

namespace hearth {

class CpuBackend final : public Backend {
 public:
  // `n_threads` counts the calling thread; < 1 means 1. Uses select_isa() (HEARTH_CPU_ISA).
  static Expected<std::unique_ptr<CpuBackend>> create(int n_threads);
  // An explicit kernel set (tests); it must be one this CPU supports.
  CpuBackend(int n_threads, cpu::CpuIsa isa);

  std::string_view name() const override { return name_; }
  int64_t batched_kernel_min_tokens() const override;
  int n_threads() const override { return pool_.size(); }
  cpu::CpuIsa isa() const { return kernels_.isa; }

  Expected<TensorView> prepare_matrix(std::string_view name, const TensorView& stored) override;
  Expected<TensorView> prepare_vector(std::string_view name, const TensorView& stored) override;
  Expected<BackendBuffer> allocate(size_t bytes) override;
  Status reserve_scratch(const ScratchPlan& plan) override;

  Status embedding(const TensorView& table, std::span<const int32_t> tokens,
                   const TensorView& out) override;
  Status matmul(const TensorView& x, const TensorView& w, const TensorView* bias,
                const TensorView& y) override;
  Status rms_norm(const TensorView& x, const TensorView& weight, float eps,
                  const TensorView& y) override;
  Status rope(const TensorView& x, std::span<const int32_t> positions,
              const RopeSpec& spec) override;
  Status attention(const TensorView& q, const TensorView& k, const TensorView& v,
                   std::span<const int32_t> positions, float scale, const TensorView& out) override;
  Status swiglu(const TensorView& gate, const TensorView& up, const TensorView& out) override;
  Status add(const TensorView& a, const TensorView& b, const TensorView& out) override;
  Status copy(const TensorView& src, const TensorView& dst) override;
  Status read(const TensorView& src, std::span<float> dst) override;

  // Picks straight from the logits in host memory (the default copies them first).
  Expected<int32_t> pick_token(const TensorView& logits, const TokenPick& pick) override;

  Status matmul_shared_input(const TensorView& x, std::span<const MatmulTarget> targets) override;
  Status matmul_swiglu(const TensorView& x, const TensorView& gate, const TensorView& up,
                       const TensorView& up_out, const TensorView& out) override;

  // Forces the matmul algorithm (tests and per-shape measurements); kAuto by default.
  void set_matmul_path(cpu::MatmulPath path) { matmul_path_ = path; }

 private:
  // Runs fn(begin, end) over [0, n), in parallel when n is at least `parallel_from`.
  template <typename Fn>
  void for_range(int64_t n, int64_t parallel_from, Fn&& fn);

  const cpu::KernelTable& kernels_;
  std::string name_;
  ThreadPool pool_;
  cpu::MatmulDriver matmul_;
  cpu::AttentionDriver attention_;
  cpu::RopeRunner rope_;
  cpu::MatmulPath matmul_path_ = cpu::MatmulPath::kAuto;
  std::vector<BackendBuffer> owned_;  // prepared vectors
};

}  // namespace hearth
