// ContiguousKvCache: where each layer's positions live, what is refused, and the size rules
// (commit only forward, truncate only backward).
#include "runtime/kv/contiguous_kv_cache.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <string>

#include "backend/reference/reference_backend.h"

namespace hearth {
namespace {

KvCacheGeometry small() {
  return {3, 2, 4, 10};
}  // 3 layers, 2 kv heads of 4, 10 positions

TEST(ContiguousKvCacheTest, ViewsHaveTheRightShapesAndAddresses) {
  ReferenceBackend backend(1);
  auto cache = ContiguousKvCache::create(backend, small());
  ASSERT_TRUE(cache.ok()) << cache.status().to_string();
  KvCache& kv = **cache;
  EXPECT_EQ(kv.capacity(), 10);
  EXPECT_EQ(kv.size(), 0);

  auto slots = kv.slots(1, 3, 2);
  ASSERT_TRUE(slots.ok());
  EXPECT_EQ(slots->keys.shape(), (Shape{2, 2, 4}));
  EXPECT_EQ(slots->values.shape(), (Shape{2, 2, 4}));
  auto prefix = kv.prefix(1, 5);
  ASSERT_TRUE(prefix.ok());
  EXPECT_EQ(prefix->keys.shape(), (Shape{5, 2, 4}));
  // Position 3 of layer 1 is row 3 of the layer's prefix.
  EXPECT_EQ(slots->keys.data(), prefix->keys.row_ptr(3 * 2));
  EXPECT_EQ(slots->values.data(), prefix->values.row_ptr(3 * 2));
  EXPECT_NE(slots->keys.data(), slots->values.data());
}

TEST(ContiguousKvCacheTest, LayersAndTensorsDoNotOverlap) {
  ReferenceBackend backend(1);
  auto cache = ContiguousKvCache::create(backend, small());
  ASSERT_TRUE(cache.ok());
  KvCache& kv = **cache;
  // Fill every layer's K and V with a distinct value, then read all back.
  for (int64_t layer = 0; layer < 3; ++layer) {
    auto s = kv.slots(layer, 0, 10);
    ASSERT_TRUE(s.ok());
    for (int64_t i = 0; i < s->keys.numel(); ++i) {
      s->keys.data_as<float>()[i] = static_cast<float>(layer * 10 + 1);
      s->values.data_as<float>()[i] = static_cast<float>(layer * 10 + 2);
    }
  }
  for (int64_t layer = 0; layer < 3; ++layer) {
    auto p = kv.prefix(layer, 10);
    ASSERT_TRUE(p.ok());
    for (int64_t i = 0; i < p->keys.numel(); ++i) {
      ASSERT_EQ(p->keys.data_as<float>()[i], static_cast<float>(layer * 10 + 1));
      ASSERT_EQ(p->values.data_as<float>()[i], static_cast<float>(layer * 10 + 2));
    }
  }
}

TEST(ContiguousKvCacheTest, PositionsOutsideTheCapacityAreRefused) {
  ReferenceBackend backend(1);
  auto cache = ContiguousKvCache::create(backend, small());
  ASSERT_TRUE(cache.ok());
  KvCache& kv = **cache;
  EXPECT_EQ(kv.slots(0, 9, 2).status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ(kv.slots(0, -1, 1).status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ(kv.slots(0, 0, -1).status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ(kv.prefix(0, 11).status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ(kv.slots(3, 0, 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(kv.slots(-1, 0, 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(kv.slots(0, 9, 1).ok());
  EXPECT_TRUE(kv.slots(2, 10, 0).ok());
  const auto huge = kv.slots(0, INT64_MAX, 2);
  EXPECT_EQ(huge.status().code(), StatusCode::kOutOfRange);
}

TEST(ContiguousKvCacheTest, CommitMovesForwardAndTruncateBackward) {
  ReferenceBackend backend(1);
  auto cache = ContiguousKvCache::create(backend, small());
  ASSERT_TRUE(cache.ok());
  KvCache& kv = **cache;
  ASSERT_TRUE(kv.commit(4).ok());
  EXPECT_EQ(kv.size(), 4);
  EXPECT_EQ(kv.commit(3).code(), StatusCode::kOutOfRange);
  EXPECT_EQ(kv.commit(11).code(), StatusCode::kOutOfRange);
  EXPECT_EQ(kv.truncate(5).code(), StatusCode::kOutOfRange);
  EXPECT_EQ(kv.truncate(-1).code(), StatusCode::kOutOfRange);
  ASSERT_TRUE(kv.truncate(2).ok());
  EXPECT_EQ(kv.size(), 2);
  ASSERT_TRUE(kv.commit(10).ok());
  ASSERT_TRUE(kv.truncate(0).ok());
  EXPECT_EQ(kv.size(), 0);
}

// An f16 cache (the CUDA backend's): f16 views, rows half as far apart, layers still disjoint.
TEST(ContiguousKvCacheTest, F16CachesHaveF16ViewsAtHalfTheStride) {
  ReferenceBackend backend(1);
  KvCacheGeometry g = small();
  g.dtype = DType::kF16;
  auto cache = ContiguousKvCache::create(backend, g);
  ASSERT_TRUE(cache.ok()) << cache.status().to_string();
  auto first = (*cache)->slots(0, 0, 1), later = (*cache)->slots(0, 3, 1);
  auto next_layer = (*cache)->slots(1, 0, 10);
  ASSERT_TRUE(first.ok() && later.ok() && next_layer.ok());
  EXPECT_EQ(first->keys.dtype(), DType::kF16);
  EXPECT_EQ(first->values.dtype(), DType::kF16);
  const auto bytes = [](const void* a, const void* b) {
    return static_cast<const std::byte*>(b) - static_cast<const std::byte*>(a);
  };
  EXPECT_EQ(bytes(first->keys.data(), later->keys.data()), 3 * 2 * 4 * 2);  // 3 rows of 8 halves
  EXPECT_EQ(bytes(first->keys.data(), next_layer->keys.data()), 10 * 2 * 4 * 2);
  EXPECT_EQ(next_layer->keys.nbytes(), 10u * 2 * 4 * 2);
}

TEST(ContiguousKvCacheTest, BadGeometriesAreRefused) {
  ReferenceBackend backend(1);
  for (KvCacheGeometry g : {KvCacheGeometry{0, 2, 4, 10}, KvCacheGeometry{3, 0, 4, 10},
                            KvCacheGeometry{3, 2, -4, 10}, KvCacheGeometry{3, 2, 4, 0}}) {
    EXPECT_EQ(ContiguousKvCache::create(backend, g).status().code(), StatusCode::kInvalidArgument);
  }
  KvCacheGeometry quantized = small();
  quantized.dtype = DType::kQ8_0;
  const Status st = ContiguousKvCache::create(backend, quantized).status();
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("q8_0"), std::string::npos) << st.message();
  const KvCacheGeometry enormous{1 << 20, 1 << 20, 1 << 20, 1 << 20};
  EXPECT_EQ(ContiguousKvCache::create(backend, enormous).status().code(),
            StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace hearth
