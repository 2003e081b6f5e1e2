// Overflow-checked size arithmetic for everything computed from untrusted file headers.
#pragma once

#include <cstdint>
#include <optional>

namespace hearth {

inline std::optional<uint64_t> checked_add(uint64_t a, uint64_t b) {
  uint64_t r;
  if (__builtin_add_overflow(a, b, &r)) return std::nullopt;
  return r;
}

inline std::optional<uint64_t> checked_mul(uint64_t a, uint64_t b) {
  uint64_t r;
  if (__builtin_mul_overflow(a, b, &r)) return std::nullopt;
  return r;
}

// Round `v` up to a multiple of `align` (a power of two), or nullopt on overflow.
inline std::optional<uint64_t> checked_align_up(uint64_t v, uint64_t align) {
  auto sum = checked_add(v, align - 1);
  if (!sum) return std::nullopt;
  return *sum & ~(align - 1);
}

inline bool is_power_of_two(uint64_t v) {
  return v != 0 && (v & (v - 1)) == 0;
}

}  // namespace hearth
