#include "core/thread_pool.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <string>
#include <utility>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define HEARTH_CPU_RELAX() _mm_pause()
#else
#define HEARTH_CPU_RELAX() ((void)0)
#endif

namespace hearth {
namespace {
// Roughly 50-100 microseconds of spinning before a worker sleeps: long enough to bridge the gap
// between two kernels of one forward pass, short enough not to burn a core while idle.
constexpr int kSpinIterations = 20000;
}  // namespace

ThreadPool::ThreadPool(int n_threads) : n_threads_(std::max(1, n_threads)) {
  workers_.reserve(static_cast<size_t>(n_threads_ - 1));
  for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true, std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_release);
  generation_.notify_all();
  for (auto& t : workers_) t.join();
}

namespace {
constexpr uint64_t kActiveOne = 1;
constexpr uint64_t kActiveMask = 0xffffu;
constexpr uint64_t kEnteredOne = uint64_t{1} << 16;
constexpr uint64_t kEnteredMask = uint64_t{0x7fff} << 16;
constexpr uint64_t kClosed = uint64_t{1} << 31;
constexpr int kGenerationShift = 32;

uint32_t generation_of(uint64_t state) {
  return static_cast<uint32_t>(state >> kGenerationShift);
}
}  // namespace

void ThreadPool::worker_loop(int index) {
  uint64_t seen = 0;
  for (;;) {
    uint64_t gen = generation_.load(std::memory_order_acquire);
    for (int spin = 0; gen == seen && spin < kSpinIterations; ++spin) {
      HEARTH_CPU_RELAX();
      gen = generation_.load(std::memory_order_acquire);
    }
    while (gen == seen) {
      generation_.wait(seen, std::memory_order_acquire);
      gen = generation_.load(std::memory_order_acquire);
    }
    seen = gen;
    if (stop_.load(std::memory_order_relaxed)) return;
    // Enter job `gen` unless it is over (a dynamic job its caller finished) or already replaced.
    uint64_t state = state_.load(std::memory_order_acquire);
    bool entered = false;
    while (generation_of(state) == static_cast<uint32_t>(gen) && (state & kClosed) == 0) {
      if (state_.compare_exchange_weak(state, state + kEnteredOne + kActiveOne,
                                       std::memory_order_acq_rel, std::memory_order_acquire)) {
        entered = true;
        break;
      }
    }
    if (!entered) continue;
    (*job_)(index, n_threads_);
    state_.fetch_sub(kActiveOne, std::memory_order_acq_rel);
    state_.notify_all();
  }
}

void ThreadPool::wait_for_state(uint64_t done_mask, uint64_t done_value) {
  uint64_t state = state_.load(std::memory_order_acquire);
  for (int spin = 0; (state & done_mask) != done_value && spin < kSpinIterations; ++spin) {
    HEARTH_CPU_RELAX();
    state = state_.load(std::memory_order_acquire);
  }
  while ((state & done_mask) != done_value) {
    state_.wait(state, std::memory_order_acquire);
    state = state_.load(std::memory_order_acquire);
  }
}

void ThreadPool::dispatch(FunctionRef<void(int, int)> fn, bool all_workers) {
  job_ = &fn;
  const uint64_t gen = generation_.load(std::memory_order_relaxed) + 1;
  state_.store(static_cast<uint64_t>(static_cast<uint32_t>(gen)) << kGenerationShift,
               std::memory_order_release);
  generation_.store(gen, std::memory_order_release);
  generation_.notify_all();
  fn(0, n_threads_);
  if (all_workers) {
    // every worker enters (the job stays open until they have) and leaves
    const uint64_t workers = static_cast<uint64_t>(n_threads_ - 1);
    wait_for_state(kEnteredMask | kActiveMask, workers * kEnteredOne);
    state_.fetch_or(kClosed, std::memory_order_acq_rel);
  } else {
    // close the job to latecomers, then wait for those already inside
    state_.fetch_or(kClosed, std::memory_order_acq_rel);
    wait_for_state(kActiveMask, 0);
  }
  job_ = nullptr;
}

void ThreadPool::run(FunctionRef<void(int, int)> fn) {
  if (n_threads_ == 1) {
    fn(0, 1);
    return;
  }
  dispatch(fn, /*all_workers=*/true);
}

void ThreadPool::run_dynamic(FunctionRef<void(int, int)> fn) {
  if (n_threads_ == 1) {
    fn(0, 1);
    return;
  }
  dispatch(fn, /*all_workers=*/false);
}

void ThreadPool::parallel_for(int64_t n, int64_t grain, FunctionRef<void(int64_t, int64_t)> fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
  if (n_threads_ == 1 || n <= grain) {
    fn(0, n);
    return;
  }
  // Chunks of ~n/(4*threads) keep both balance and low contention on the counter.
  const int64_t chunk = std::max(grain, n / (4 * static_cast<int64_t>(n_threads_)));
  std::atomic<int64_t> next{0};
  run_dynamic([&](int, int) {
    for (;;) {
      const int64_t begin = next.fetch_add(chunk, std::memory_order_relaxed);
      if (begin >= n) break;
      fn(begin, std::min(n, begin + chunk));
    }
  });
}

int ThreadPool::physical_cores() {
  // Count distinct (physical id, core id) pairs; hyper-threads share a core and a memory port.
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::set<std::pair<std::string, std::string>> cores;
  std::string line, phys = "0";
  while (std::getline(cpuinfo, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon);
    while (!key.empty() && (key.back() == ' ' || key.back() == '\t')) key.pop_back();
    const std::string value = colon + 2 <= line.size() ? line.substr(colon + 2) : "";
    if (key == "physical id") phys = value;
    if (key == "core id") cores.emplace(phys, value);
  }
  if (!cores.empty()) return static_cast<int>(cores.size());
  const unsigned hc = std::thread::hardware_concurrency();
  return hc == 0 ? 1 : static_cast<int>(hc);
}

}  // namespace hearth
