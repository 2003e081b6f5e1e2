#include "runtime/kv/contiguous_kv_cache.h"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "core/checked_math.h"
#include "core/dtype.h"

namespace hearth {

Expected<std::unique_ptr<ContiguousKvCache>> ContiguousKvCache::create(Backend& backend,
                                                                       const KvCacheGeometry& g) {
  if (g.n_layers <= 0 || g.n_kv_heads <= 0 || g.head_dim <= 0 || g.capacity <= 0) {
    return invalid_argument(
        "KV cache dimensions must be positive: layers " + std::to_string(g.n_layers) +
        ", kv heads " + std::to_string(g.n_kv_heads) + ", head dim " + std::to_string(g.head_dim) +
        ", capacity " + std::to_string(g.capacity));
  }
  if (g.dtype != DType::kF32 && g.dtype != DType::kF16) {
    return invalid_argument("KV cache elements must be f32 or f16, not " +
                            std::string(dtype_name(g.dtype)));
  }
  std::optional<uint64_t> bytes = dtype_traits(g.dtype).block_bytes;
  for (int64_t d : {g.n_layers, g.capacity, g.n_kv_heads, g.head_dim}) {
    if (bytes) bytes = checked_mul(*bytes, static_cast<uint64_t>(d));
  }
  if (!bytes || *bytes > SIZE_MAX) {
    return resource_exhausted("KV cache of " + std::to_string(g.capacity) +
                              " positions is too large to allocate");
  }
  HEARTH_ASSIGN_OR_RETURN(BackendBuffer keys, backend.allocate(static_cast<size_t>(*bytes)));
  HEARTH_ASSIGN_OR_RETURN(BackendBuffer values, backend.allocate(static_cast<size_t>(*bytes)));
  return std::unique_ptr<ContiguousKvCache>(
      new ContiguousKvCache(g, std::move(keys), std::move(values)));
}

ContiguousKvCache::ContiguousKvCache(const KvCacheGeometry& geometry, BackendBuffer keys,
                                     BackendBuffer values)
    : geometry_(geometry), keys_(std::move(keys)), values_(std::move(values)) {}

Expected<KvViews> ContiguousKvCache::range(int64_t layer, int64_t first, int64_t count) const {
  if (layer < 0 || layer >= geometry_.n_layers) {
    return invalid_argument("KV cache has no layer " + std::to_string(layer) + " (it has " +
                            std::to_string(geometry_.n_layers) + ")");
  }
  if (first < 0 || count < 0 || first > geometry_.capacity - count) {
    return out_of_range(std::to_string(count) + " positions from position " +
                        std::to_string(first) + " do not fit in a KV cache of " +
                        std::to_string(geometry_.capacity) + " positions");
  }
  const int64_t row = geometry_.n_kv_heads * geometry_.head_dim;
  const auto offset = static_cast<size_t>((layer * geometry_.capacity + first) * row) *
                      dtype_traits(geometry_.dtype).block_bytes;
  const Shape shape{count, geometry_.n_kv_heads, geometry_.head_dim};
  return KvViews{keys_.view(geometry_.dtype, shape, offset),
                 values_.view(geometry_.dtype, shape, offset)};
}

Expected<KvViews> ContiguousKvCache::slots(int64_t layer, int64_t first, int64_t count) {
  return range(layer, first, count);
}

Expected<KvViews> ContiguousKvCache::prefix(int64_t layer, int64_t count) const {
  return range(layer, 0, count);
}

Status ContiguousKvCache::commit(int64_t new_size) {
  if (new_size < size_ || new_size > geometry_.capacity) {
    return out_of_range("cannot commit " + std::to_string(new_size) +
                        " positions to a KV cache holding " + std::to_string(size_) + " of " +
                        std::to_string(geometry_.capacity));
  }
  size_ = new_size;
  return {};
}

Status ContiguousKvCache::truncate(int64_t new_size) {
  if (new_size < 0 || new_size > size_) {
    return out_of_range("cannot truncate a KV cache holding " + std::to_string(size_) +
                        " positions to " + std::to_string(new_size));
  }
  size_ = new_size;
  return {};
}

}  // namespace hearth
