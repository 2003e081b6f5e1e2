// The real tokenizers the golden tests cover, loaded once per test binary: "qwen3" and "llama3"
// (tokenizer.json from ../shared/tokenizers), "smollm2" and "gemma3" (GGUF models).
#pragma once

#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace hearth::test {

inline const std::vector<std::string> kRealTokenizers = {"qwen3", "llama3", "smollm2", "gemma3"};

// The tokenizer, or nullptr with `why` set: `absent` when its files are not there (the test then
// skips), otherwise loading failed (the test fails).
const Tokenizer* real_tokenizer(const std::string& name, std::string* why, bool* absent);

}  // namespace hearth::test

// Skips the test when the tokenizer's files are absent.
#define HEARTH_REQUIRE_TOKENIZER(var, name)                            \
  std::string var##_why;                                               \
  bool var##_absent = false;                                           \
  const ::hearth::Tokenizer* var =                                     \
      ::hearth::test::real_tokenizer(name, &var##_why, &var##_absent); \
  if (var == nullptr && var##_absent) GTEST_SKIP() << var##_why;       \
  if (var == nullptr) FAIL() << var##_why
