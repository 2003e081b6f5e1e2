// Causal grouped-query attention on the CPU: (token, kv head) pairs are spread over the thread
// pool (dynamically: later tokens see more keys), each computed by the kernel table's
// online-softmax kernel for the query heads sharing that kv head. No [T, n_keys] score matrix
// exists at any point.
#pragma once

#include <cstdint>

#include "backend/cpu/kernels/kernel_table.h"
#include "core/aligned_buffer.h"
#include "core/thread_pool.h"
#include "hearth/status.h"

namespace hearth::cpu {

struct AttentionShape {
  int64_t n_tokens = 0;
  int64_t n_heads = 0;     // query heads
  int64_t n_kv_heads = 0;  // n_heads is a multiple; query head h reads kv head h / group
  int64_t head_dim = 0;
  int64_t n_keys = 0;  // cached positions in k and v
};

class AttentionDriver {
 public:
  AttentionDriver(const KernelTable& kernels, ThreadPool& pool) : kernels_(kernels), pool_(pool) {}

  // Per-thread scratch of `max_floats` (attention_scratch_floats; grows once if a call needs
  // more).
  Status reserve(int64_t max_floats);

  // q[T, n_heads, hd], k/v[n_keys, n_kv_heads, hd] -> out[T, n_heads, hd]; query t attends to
  // keys 0..positions[t]. InvalidArgument on inconsistent dims or a position outside the keys.
  Status run(const float* q, const float* k, const float* v, const AttentionShape& shape,
             const int32_t* positions, float scale, float* out);

 private:
  const KernelTable& kernels_;
  ThreadPool& pool_;
  AlignedBuffer scratch_;  // per thread: attention_scratch_floats(group, head_dim)
  int64_t scratch_floats_ = 0;
};

}  // namespace hearth::cpu
