// The dot product every reference op uses. Eight interleaved partial sums in a fixed order: the
// result does not depend on the thread count, and the error stays ~sqrt(n/8) ulps. Named
// scalars rather than an array: sanitizer builds keep them in registers (~1.4x faster there).
#pragma once

#include <cstdint>

namespace hearth::reference {

inline float dot_f32(const float* a, const float* b, int64_t n) {
  float s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    s0 += a[i] * b[i];
    s1 += a[i + 1] * b[i + 1];
    s2 += a[i + 2] * b[i + 2];
    s3 += a[i + 3] * b[i + 3];
    s4 += a[i + 4] * b[i + 4];
    s5 += a[i + 5] * b[i + 5];
    s6 += a[i + 6] * b[i + 6];
    s7 += a[i + 7] * b[i + 7];
  }
  float tail = 0;
  for (; i < n; ++i) tail += a[i] * b[i];
  return ((s0 + s4) + (s1 + s5)) + ((s2 + s6) + (s3 + s7)) + tail;
}

}  // namespace hearth::reference
