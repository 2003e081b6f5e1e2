// Reference softmax.
#pragma once

#include <cstdint>

namespace hearth::reference {

// x = exp(x - max(x)) / sum, in place over n elements (sum accumulated in double). A row whose
// every element is -inf has no defined softmax; it becomes all zeros.
void softmax(float* x, int64_t n);

}  // namespace hearth::reference
