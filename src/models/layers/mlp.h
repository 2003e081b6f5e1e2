// The gated feed-forward block of llama-family models: down(silu(gate(x)) * up(x)).
#pragma once

#include "backend/backend.h"
#include "models/layers/linear.h"

namespace hearth {

// Activation buffers for T tokens, owned by the model.
struct MlpBuffers {
  TensorView gate;  // [T, ff]
  TensorView up;    // [T, ff]
};

class SwiGluMlp {
 public:
  SwiGluMlp() = default;
  // gate and up [ff, d], down [d, ff].
  SwiGluMlp(Linear gate, Linear up, Linear down) : gate_(gate), up_(up), down_(down) {}

  // x [T, d] -> out [T, d]
  Status forward(Backend& backend, const TensorView& x, const MlpBuffers& buffers,
                 const TensorView& out) const {
    if (gate_.has_bias() || up_.has_bias()) {
      HEARTH_RETURN_IF_ERROR(gate_.forward(backend, x, buffers.gate));
      HEARTH_RETURN_IF_ERROR(up_.forward(backend, x, buffers.up));
      HEARTH_RETURN_IF_ERROR(backend.swiglu(buffers.gate, buffers.up, buffers.gate));
    } else {
      // gate, up and silu(gate) * up in one fused op
      HEARTH_RETURN_IF_ERROR(
          backend.matmul_swiglu(x, gate_.weight(), up_.weight(), buffers.up, buffers.gate));
    }
    return down_.forward(backend, buffers.gate, out);
  }

 private:
  Linear gate_, up_, down_;
};

}  // namespace hearth
