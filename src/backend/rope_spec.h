// What a rotary position embedding op needs, independent of where its parameters came from
// (GGUF metadata, HF config.json). Models build it once at load (models/layers/rope.h).
#pragma once

#include <cstdint>
#include <vector>

namespace hearth {

// Which elements of a head are rotated together by the same angle.
enum class RopeLayout : uint8_t {
  // (x[2i], x[2i+1]): GGUF llama; its converter permutes the q/k weight rows to match.
  kAdjacentPairs,
  // (x[i], x[i + rotary_dim/2]), "rotate_half": HF transformers, GGUF qwen2 and NeoX.
  kNeox,
};

struct RopeSpec {
  RopeLayout layout = RopeLayout::kNeox;
  // Leading elements of each head that are rotated; the rest pass through. Even, <= head_dim.
  int64_t rotary_dim = 0;
  // Angle of pair i at position p is p * inv_freq[i]; every frequency scaling (linear, Llama 3,
  // GGUF rope_freqs) is already folded in. [rotary_dim / 2]
  std::vector<double> inv_freq;
};

}  // namespace hearth
