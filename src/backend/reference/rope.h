// Reference rotary position embedding.
#pragma once

#include <cstdint>

#include "backend/rope_spec.h"
#include "hearth/status.h"

namespace hearth::reference {

// Rotates the first spec.rotary_dim elements of every head of x[n_tokens, n_heads, head_dim] in
// place by angle positions[t] * spec.inv_freq[i] (computed in double), pairing elements as
// spec.layout says. InvalidArgument on a negative position or a spec that does not fit head_dim.
Status rope(float* x, int64_t n_tokens, int64_t n_heads, int64_t head_dim, const int32_t* positions,
            const RopeSpec& spec);

}  // namespace hearth::reference
