#include "core/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <numeric>
#include <vector>

namespace hearth {
namespace {

TEST(ThreadPoolTest, RunCallsEveryThreadOnce) {
  ThreadPool pool(4);
  std::vector<std::atomic<int>> hits(4);
  for (int round = 0; round < 1000; ++round) {
    pool.run([&](int i, int n) {
      EXPECT_EQ(n, 4);
      hits[static_cast<size_t>(i)].fetch_add(1);
    });
  }
  for (auto& h : hits) EXPECT_EQ(h.load(), 1000);
}

TEST(ThreadPoolTest, ParallelForCoversRangeExactlyOnce) {
  ThreadPool pool(3);
  for (int64_t n : {1, 2, 7, 100, 12345}) {
    std::vector<std::atomic<int>> seen(static_cast<size_t>(n));
    pool.parallel_for(n, 1, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) seen[static_cast<size_t>(i)].fetch_add(1);
    });
    for (auto& s : seen) EXPECT_EQ(s.load(), 1);
  }
}

TEST(ThreadPoolTest, RunDynamicCompletesSharedWorkWithWhicheverThreadsJoin) {
  ThreadPool pool(3);
  for (int round = 0; round < 2000; ++round) {
    const int64_t n = 1 + round % 97;
    std::vector<std::atomic<int>> seen(static_cast<size_t>(n));
    std::atomic<int64_t> next{0};
    std::atomic<int> inside{0};
    pool.run_dynamic([&](int thread, int threads) {
      EXPECT_EQ(threads, 3);
      EXPECT_GE(thread, 0);
      inside.fetch_add(1);
      for (int64_t i = next.fetch_add(1); i < n; i = next.fetch_add(1)) {
        seen[static_cast<size_t>(i)].fetch_add(1);
      }
      inside.fetch_sub(1);
    });
    // every thread that entered has left, and the work was done exactly once
    EXPECT_EQ(inside.load(), 0);
    for (auto& s : seen) EXPECT_EQ(s.load(), 1);
  }
  // run() still reaches every thread after dynamic jobs that some workers skipped
  std::vector<std::atomic<int>> hits(3);
  for (int round = 0; round < 100; ++round) {
    pool.run_dynamic([](int, int) {});
    pool.run([&](int i, int) { hits[static_cast<size_t>(i)].fetch_add(1); });
  }
  for (auto& h : hits) EXPECT_EQ(h.load(), 100);
}

TEST(ThreadPoolTest, SingleThreadRunsInline) {
  ThreadPool pool(1);
  int64_t sum = 0;
  pool.parallel_for(100, 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) sum += i;
  });
  EXPECT_EQ(sum, 4950);
}

TEST(ThreadPoolTest, PhysicalCoresIsPositive) {
  EXPECT_GE(ThreadPool::physical_cores(), 1);
}

}  // namespace
}  // namespace hearth
