// A KvCache holding every layer's keys and values for positions [0, capacity) in one buffer per
// tensor (f32, or f16 where the backend asks for it): keys and values are each [n_layers, capacity,
// n_kv_heads, head_dim].
#pragma once

#include <memory>

#include "backend/backend.h"
#include "runtime/kv/kv_cache.h"

namespace hearth {

class ContiguousKvCache final : public KvCache {
 public:
  // Allocates both buffers from `backend` (memory is paged in as positions are written).
  // InvalidArgument on a non-positive dimension; ResourceExhausted when the size overflows or
  // memory runs out.
  static Expected<std::unique_ptr<ContiguousKvCache>> create(Backend& backend,
                                                             const KvCacheGeometry& geometry);

  const KvCacheGeometry& geometry() const override { return geometry_; }
  int64_t size() const override { return size_; }
  Expected<KvViews> slots(int64_t layer, int64_t first, int64_t count) override;
  Expected<KvViews> prefix(int64_t layer, int64_t count) const override;
  Status commit(int64_t new_size) override;
  Status truncate(int64_t new_size) override;

 private:
  ContiguousKvCache(const KvCacheGeometry& geometry, BackendBuffer keys, BackendBuffer values);
  Expected<KvViews> range(int64_t layer, int64_t first, int64_t count) const;

  KvCacheGeometry geometry_;
  BackendBuffer keys_;
  BackendBuffer values_;
  int64_t size_ = 0;
};

}  // namespace hearth
