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

  // Runs fn(thread_index, n_threads) on the calling thread and on each worker that picks the job
  // up before the caller's own call has returned; workers that arrive later skip it. fn must
  // therefore take its work from a shared counter, so that any subset of the threads completes
  // it. Returns when every thread that entered fn has left it. Unlike run(), a worker the OS has
  // descheduled (a busy machine) never holds the caller up: the caller does the work alone.
  void run_dynamic(FunctionRef<void(int, int)> fn);

  // Splits [0, n) into chunks of at least `grain` and runs fn(begin, end) on them, balancing
  // dynamically across the threads that are running (run_dynamic).
  void parallel_for(int64_t n, int64_t grain, FunctionRef<void(int64_t, int64_t)> fn);

  // Physical cores of this machine (falls back to hardware_concurrency).
  static int physical_cores();

 private:
  void worker_loop(int index);
  // Publishes fn as the next job, runs it on the caller, then waits as run() (`all_workers`) or
  // run_dynamic() require.
  void dispatch(FunctionRef<void(int, int)> fn, bool all_workers);
  void wait_for_state(uint64_t done_mask, uint64_t done_value);

  int n_threads_;
  std::vector<std::thread> workers_;
  std::atomic<uint64_t> generation_{0};
  // The current job: [generation: 32 | closed: 1 | entered: 15 | active: 16]. A worker enters a
  // job only while the generation matches and it is open, so a late worker never runs a job
  // that its caller has finished with.
  std::atomic<uint64_t> state_{0};
  std::atomic<bool> stop_{false};
  const FunctionRef<void(int, int)>* job_ = nullptr;
};

}  // namespace hearth
