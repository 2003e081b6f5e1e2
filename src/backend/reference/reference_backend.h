// The Backend made of reference ops: plain scalar loops threaded over output rows. Slow and
// obviously correct; the oracle every fast backend is checked against, and the path the model
// golden tests run.
#pragma once

#include <memory>
#include <vector>

#include "backend/backend.h"
#include "core/thread_pool.h"

namespace hearth {

class ReferenceBackend final : public Backend {
 public:
  // `n_threads` counts the calling thread; < 1 means 1.
  explicit ReferenceBackend(int n_threads);

  std::string_view name() const override { return "reference"; }
  int n_threads() const override { return pool_.size(); }

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

 private:
  // Grows `buf` to `floats` (a one-time allocation when the plan was too small).
  static Status ensure_scratch(std::vector<float>& buf, int64_t floats);

  ThreadPool pool_;
  std::vector<float> matmul_scratch_;     // [n_threads, max K]
  std::vector<float> attention_scratch_;  // [n_threads, max keys]
  std::vector<BackendBuffer> owned_;      // prepared vectors
};

}  // namespace hearth
