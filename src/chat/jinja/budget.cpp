#include "chat/jinja/budget.h"

#include <string>

#include "chat/jinja/error.h"

namespace hearth::jinja {
namespace {

constexpr uint64_t kClockCheckInterval = 4096;

}  // namespace

// The frame address is on the real stack even when ASan moves locals to a fake stack.
__attribute__((noinline)) uintptr_t current_stack_position() {
  return reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
}

Budget::Budget(const RenderLimits& limits)
    : limits_(limits),
      deadline_(std::chrono::steady_clock::now() + limits.time_limit),
      next_clock_check_(kClockCheckInterval),
      stack_base_(current_stack_position()) {}

void Budget::check_clock() {
  next_clock_check_ = work_ + kClockCheckInterval;
  if (std::chrono::steady_clock::now() > deadline_) {
    throw_limit("rendering took longer than the time limit of " +
                std::to_string(limits_.time_limit.count()) + " ms");
  }
}

void Budget::charge(size_t bytes) {
  if (bytes > limits_.max_string_bytes) {
    throw_limit("a value of " + std::to_string(bytes) + " bytes exceeds the limit of " +
                std::to_string(limits_.max_string_bytes) + " bytes per string or list");
  }
  allocated_ += bytes;
  if (allocated_ > limits_.max_allocated_bytes) {
    throw_limit("the template built more than " + std::to_string(limits_.max_allocated_bytes) +
                " bytes of values in total");
  }
  tick(1 + bytes / 256);
}

void Budget::count_loop_iteration() {
  if (++loop_iterations_ > limits_.max_loop_iterations) {
    throw_limit("loops ran more than " + std::to_string(limits_.max_loop_iterations) +
                " iterations in total");
  }
  tick();
}

Budget::DepthGuard::DepthGuard(Budget& budget) : budget_(budget) {
  ++budget_.depth_;
  if (budget_.depth_ > budget_.limits_.max_eval_depth) {
    --budget_.depth_;
    throw_limit("template evaluation nested deeper than " +
                std::to_string(budget_.limits_.max_eval_depth) + " levels");
  }
  const uintptr_t here = current_stack_position();
  const uintptr_t used =
      budget_.stack_base_ > here ? budget_.stack_base_ - here : here - budget_.stack_base_;
  if (used > budget_.limits_.max_stack_bytes) {
    --budget_.depth_;
    throw_limit("template evaluation used more than " +
                std::to_string(budget_.limits_.max_stack_bytes) + " bytes of stack");
  }
}

}  // namespace hearth::jinja
