// Paths of the tiny random llama-family GGUF models (fixtures/models/tiny, made with
// transformers by make_tiny_goldens.py there), and load options for the reference path.
#pragma once

#include <string>

#include "models/model.h"
#include "support/test_support.h"

namespace hearth::test {

inline std::string tiny_llama3_path() {
  return fixture_path("models/tiny/tiny_llama3.gguf");
}
inline std::string tiny_qwen2_path() {
  return fixture_path("models/tiny/tiny_qwen2.gguf");
}

// These tests check the reference ops' path (the oracle); the fast backends have parity tests.
inline LoadOptions reference_options(int threads = 1, int64_t max_batch_tokens = 16) {
  LoadOptions options;
  options.n_threads = threads;
  options.backend = "reference";
  options.max_batch_tokens = max_batch_tokens;
  return options;
}

}  // namespace hearth::test
