// A decode step on the CPU backend allocates no heap memory: scratch is sized at load and by
// new_kv_cache (Backend::reserve_scratch). This binary replaces malloc and friends with counting
// wrappers around glibc's own, so it runs alone and not under the sanitizers (which replace
// malloc themselves).
#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <vector>

#include "models/load_model.h"
#include "support/test_support.h"

#define HEARTH_COUNT_ALLOCATIONS (!HEARTH_UNDER_ASAN)

namespace {
std::atomic<bool> g_counting{false};
std::atomic<long> g_allocations{0};
}  // namespace

#if HEARTH_COUNT_ALLOCATIONS
extern "C" {
void* __libc_malloc(size_t);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
void* __libc_memalign(size_t, size_t);

void* malloc(size_t n) {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1);
  return __libc_malloc(n);
}
void* calloc(size_t n, size_t size) {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1);
  return __libc_calloc(n, size);
}
void* realloc(void* p, size_t n) {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1);
  return __libc_realloc(p, n);
}
void* aligned_alloc(size_t alignment, size_t n) {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1);
  return __libc_memalign(alignment, n);
}
int posix_memalign(void** out, size_t alignment, size_t n) {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1);
  *out = __libc_memalign(alignment, n);
  return *out != nullptr ? 0 : 12;  // ENOMEM
}
}
#endif

namespace hearth {
namespace {

TEST(CpuDecodeAllocationTest, DecodeStepsAllocateNothing) {
  if (!HEARTH_COUNT_ALLOCATIONS) GTEST_SKIP() << "the sanitizers replace malloc";
  HEARTH_REQUIRE_PATH(path, test::default_model_path(), "default model");
  for (int threads : {1, 2}) {
    LoadOptions options;
    options.backend = "cpu";
    options.n_threads = threads;
    auto model = load_model(path, options);
    ASSERT_TRUE(model.ok()) << model.status().to_string();
    auto cache = (*model)->new_kv_cache(128);
    ASSERT_TRUE(cache.ok());
    std::vector<float> logits(static_cast<size_t>((*model)->info().vocab_size));
    const std::vector<int32_t> prompt = {1, 9690, 198, 2683, 359, 253, 5356, 5646, 11173};
    ASSERT_TRUE((*model)->forward(**cache, prompt, LogitsFor::kLastToken, logits).ok());
    int32_t token = 42;
    const int32_t* one = &token;
    // the first decode step may still settle lazily sized state; every later one must not
    ASSERT_TRUE((*model)->forward(**cache, {one, 1}, LogitsFor::kLastToken, logits).ok());
    g_allocations = 0;
    g_counting = true;
    bool ok = true;
    for (int step = 0; step < 16 && ok; ++step) {
      ok = (*model)->forward(**cache, {one, 1}, LogitsFor::kLastToken, logits).ok();
      token = static_cast<int32_t>(step * 977 % 40000);
    }
    g_counting = false;
    ASSERT_TRUE(ok);
    EXPECT_EQ(g_allocations.load(), 0)
        << "heap allocations in 16 decode steps with " << threads << " threads";
  }
}

}  // namespace
}  // namespace hearth
