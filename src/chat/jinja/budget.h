// Sandbox limits for one render and the accounting that enforces them. A template is untrusted
// input: every limit fails the render with a clear error instead of hanging, exhausting memory
// or overflowing the stack.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace hearth::jinja {

struct RenderLimits {
  size_t max_output_bytes = 64u << 20;         // the rendered text
  size_t max_string_bytes = 64u << 20;         // any one string or list the template builds
  uint64_t max_allocated_bytes = 1ull << 30;   // everything the template builds, summed
  uint64_t max_loop_iterations = 10'000'000;   // all loops together
  uint32_t max_call_depth = 100;               // nested macro / recursive-loop calls
  uint32_t max_eval_depth = 1000;              // nested evaluation frames
  size_t max_stack_bytes = 1u << 20;           // C++ stack the evaluator may use
  std::chrono::milliseconds time_limit{5000};  // wall clock for the whole render
};

// An address on the current thread's stack, to measure how much stack recursion has used.
uintptr_t current_stack_position();

class Budget {
 public:
  explicit Budget(const RenderLimits& limits);

  const RenderLimits& limits() const { return limits_; }
  // Counts units of work; checks the clock every few thousand units.
  void tick(uint64_t units = 1) {
    work_ += units;
    if (work_ >= next_clock_check_) check_clock();
  }
  // A new string or list of `bytes` is about to be built.
  void charge(size_t bytes);
  void count_loop_iteration();

  // Evaluation depth (expressions, statements, calls) with a guard on real stack use.
  class DepthGuard {
   public:
    explicit DepthGuard(Budget& budget);
    ~DepthGuard() { --budget_.depth_; }
    DepthGuard(const DepthGuard&) = delete;
    DepthGuard& operator=(const DepthGuard&) = delete;

   private:
    Budget& budget_;
  };

 private:
  void check_clock();

  RenderLimits limits_;
  std::chrono::steady_clock::time_point deadline_;
  uint64_t work_ = 0;
  uint64_t next_clock_check_ = 0;
  uint64_t allocated_ = 0;
  uint64_t loop_iterations_ = 0;
  uint32_t depth_ = 0;
  uintptr_t stack_base_ = 0;
};

}  // namespace hearth::jinja
