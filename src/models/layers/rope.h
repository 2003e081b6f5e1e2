// Rotary position embedding configuration -> the RopeSpec the backend applies. All frequency
// scalings are folded into per-pair inverse frequencies here, once, at load.
#pragma once

#include <cstdint>
#include <vector>

#include "backend/rope_spec.h"
#include "hearth/status.h"

namespace hearth {

struct RopeScaling {
  enum class Type : uint8_t {
    kNone,
    kLinear,  // positions divided by `factor` (GGUF rope.scaling.type = linear)
    kLlama3,  // HF rope_scaling {"rope_type": "llama3", ...}: low frequencies divided by
              // `factor`, high ones kept, a smooth blend between
  };
  Type type = Type::kNone;
  double factor = 1.0;
  double low_freq_factor = 1.0;           // llama3
  double high_freq_factor = 4.0;          // llama3
  double original_context_length = 8192;  // llama3: original_max_position_embeddings
};

struct RopeConfig {
  RopeLayout layout = RopeLayout::kNeox;
  int64_t head_dim = 0;
  int64_t rotary_dim = 0;  // leading elements rotated (== head_dim for llama)
  double freq_base = 10000.0;
  RopeScaling scaling;
  // GGUF `rope_freqs.weight` (how llama.cpp's converter stores Llama 3 scaling): pair i's
  // frequency is divided by freq_factors[i]. Empty when absent. [rotary_dim / 2]
  std::vector<float> freq_factors;
};

// inv_freq[i] = base^(-2i / rotary_dim), then scaled. InvalidArgument naming the bad field when
// rotary_dim is odd or exceeds head_dim, a factor is not positive and finite, or freq_factors
// has the wrong length.
Expected<RopeSpec> make_rope_spec(const RopeConfig& config);

}  // namespace hearth
