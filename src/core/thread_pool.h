// A fixed pool of worker threads for data-parallel kernels. Workers are created once and spin
// briefly before sleeping, so dispatching a matmul per layer per token costs microseconds, not a
// thread creation. The calling thread takes part as thread 0.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "core/function_ref.h"

namespace hearth {

class ThreadPool {
 public:
  // `n_threads` counts the caller; values < 1 mean 1 (no workers).
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Runs fn(thread_index, n_threads) once on every thread and returns when all have finished.
  // Not reentrant: fn must not call run() on the same pool.
  void run(FunctionRef<void(int, int)> fn);

  // Splits [0, n) into chunks of at least `grain` and runs fn(begin, end) on them, balancing
  // dynamically across threads.
  void parallel_for(int64_t n, int64_t grain, FunctionRef<void(int64_t, int64_t)> fn);

  // Physical cores of this machine (falls back to hardware_concurrency).
  static int physical_cores();

 private:
  void worker_loop(int index);

  int n_threads_;
  std::vector<std::thread> workers_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
  const FunctionRef<void(int, int)>* job_ = nullptr;
};

}  // namespace hearth
