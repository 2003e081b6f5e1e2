// Unpacking of the 6-bit sub-block scales and mins of Q4_K / Q5_K (12 bytes for 8 sub-blocks):
// for j < 4 they are the low 6 bits of bytes j and j + 4; for j >= 4 the low 4 bits come from the
// nibbles of byte j + 4 and the top 2 bits from the spare top bits of bytes j - 4 and j.
// Header-only with internal linkage so every instruction-set TU gets its own copy.
#pragma once

#include <cstdint>

namespace hearth::cpu {

static inline void unpack_k4_scales(const uint8_t* q, uint8_t scales[8], uint8_t mins[8]) {
  for (int j = 0; j < 4; ++j) {
    scales[j] = q[j] & 63;
    mins[j] = q[j + 4] & 63;
  }
  for (int j = 4; j < 8; ++j) {
    scales[j] = static_cast<uint8_t>((q[j + 4] & 0x0f) | ((q[j - 4] >> 6) << 4));
    mins[j] = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}

}  // namespace hearth::cpu
