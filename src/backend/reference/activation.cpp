#include "backend/reference/activation.h"

#include <cmath>
#include <numbers>

namespace hearth::reference {

float silu(float x) {
  return static_cast<float>(x / (1.0 + std::exp(-static_cast<double>(x))));
}

float gelu_tanh(float x) {
  const double xd = x;
  const double k = std::sqrt(2.0 / std::numbers::pi);
  return static_cast<float>(0.5 * xd * (1.0 + std::tanh(k * (xd + 0.044715 * xd * xd * xd))));
}

float gelu_erf(float x) {
  const double xd = x;
  return static_cast<float>(0.5 * xd * (1.0 + std::erf(xd / std::sqrt(2.0))));
}

void silu(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = silu(x[i]);
}

void gelu_tanh(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = gelu_tanh(x[i]);
}

void gelu_erf(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = gelu_erf(x[i]);
}

void swiglu(const float* gate, const float* up, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = silu(gate[i]) * up[i];
}

}  // namespace hearth::reference
