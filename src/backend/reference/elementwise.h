// Reference elementwise arithmetic.
#pragma once

#include <cstdint>

namespace hearth::reference {

// out = a + b; out may alias a or b.
void add(const float* a, const float* b, float* out, int64_t n);

}  // namespace hearth::reference
