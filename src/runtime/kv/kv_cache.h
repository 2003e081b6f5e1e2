// The keys and values one sequence has computed so far, for every layer. The model talks to the
// cache only through this narrow interface (write the new positions' K/V, read the span attention
// needs, commit), so a paged or prefix-sharing cache can replace the contiguous one.
#pragma once

#include <cstdint>

#include "core/dtype.h"
#include "core/tensor.h"
#include "hearth/status.h"

namespace hearth {

struct KvCacheGeometry {
  int64_t n_layers = 0;
  int64_t n_kv_heads = 0;
  int64_t head_dim = 0;
  int64_t capacity = 0;       // positions the cache can hold
  DType dtype = DType::kF32;  // of keys and values: f32, or f16 where the backend asks for it
};

// Keys and values for a run of positions of one layer: [n_positions, n_kv_heads, head_dim] each,
// of the geometry's dtype.
struct KvViews {
  TensorView keys;
  TensorView values;
};

class KvCache {
 public:
  virtual ~KvCache() = default;

  virtual const KvCacheGeometry& geometry() const = 0;
  int64_t capacity() const { return geometry().capacity; }
  // Positions [0, size()) hold valid keys and values; the next token goes at position size().
  virtual int64_t size() const = 0;

  // Where the model writes K/V of positions [first, first + count) of `layer`.
  // OutOfRange when they do not fit in the capacity.
  virtual Expected<KvViews> slots(int64_t layer, int64_t first, int64_t count) = 0;
  // K/V of positions [0, count) of `layer`, for attention. OutOfRange past the capacity.
  virtual Expected<KvViews> prefix(int64_t layer, int64_t count) const = 0;
  // Declares positions [0, new_size) valid once every layer has written them.
  virtual Status commit(int64_t new_size) = 0;
  // Forgets positions >= new_size (keeps a shared prefix; 0 clears the sequence).
  virtual Status truncate(int64_t new_size) = 0;
};

}  // namespace hearth
