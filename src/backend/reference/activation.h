// Reference activation functions.
#pragma once

#include <cstdint>

namespace hearth::reference {

// x * sigmoid(x)
float silu(float x);
// 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), "gelu_pytorch_tanh"
float gelu_tanh(float x);
// 0.5 x (1 + erf(x / sqrt(2))), the exact GELU
float gelu_erf(float x);

void silu(const float* x, float* y, int64_t n);
void gelu_tanh(const float* x, float* y, int64_t n);
void gelu_erf(const float* x, float* y, int64_t n);
// out = silu(gate) * up. out may alias gate or up.
void swiglu(const float* gate, const float* up, float* out, int64_t n);

}  // namespace hearth::reference
