// Reference normalisation.
#pragma once

#include <cstdint>

namespace hearth::reference {

// y[r] = x[r] / sqrt(mean(x[r]^2) + eps) * weight, for each of `rows` rows of `dim` elements.
// The mean is accumulated in double. y may alias x.
void rms_norm(const float* x, const float* weight, float* y, int64_t rows, int64_t dim, float eps);

}  // namespace hearth::reference
