#include "backend/reference/norm.h"

#include <cmath>

namespace hearth::reference {

void rms_norm(const float* x, const float* weight, float* y, int64_t rows, int64_t dim, float eps) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * dim;
    float* yr = y + r * dim;
    double sum_sq = 0;
    for (int64_t i = 0; i < dim; ++i) sum_sq += static_cast<double>(xr[i]) * xr[i];
    const double mean_sq = dim > 0 ? sum_sq / static_cast<double>(dim) : 0.0;
    const auto scale = static_cast<float>(1.0 / std::sqrt(mean_sq + static_cast<double>(eps)));
    for (int64_t i = 0; i < dim; ++i) yr[i] = xr[i] * scale * weight[i];
  }
}

}  // namespace hearth::reference
