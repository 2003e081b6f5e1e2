// Helpers shared by tests: where fixtures and real models live, and skipping when they do not.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

// 1 in a build under AddressSanitizer (gcc defines __SANITIZE_ADDRESS__, clang answers
// __has_feature), else 0: tests whose subject ASan changes (timings, malloc) skip there.
#if defined(__SANITIZE_ADDRESS__)
#define HEARTH_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HEARTH_UNDER_ASAN 1
#endif
#endif
#ifndef HEARTH_UNDER_ASAN
#define HEARTH_UNDER_ASAN 0
#endif

namespace hearth::test {

// tests/fixtures/<relative>, from HEARTH_SOURCE_DIR (set by CTest) or the compile-time source dir.
std::string fixture_path(const std::string& relative);

// The default model (SmolLM2-135M-Instruct Q4_1) as placed by scripts/bootstrap.sh:
// $HEARTH_MODEL_DIR or ~/.cache/hearth/models. nullopt when absent.
std::optional<std::string> default_model_path();
// Gemma 3 270M Q4_K_M, likewise.
std::optional<std::string> gemma3_model_path();
// ../shared/tokenizers/<name> next to the checkout, or $HEARTH_SHARED_DIR/tokenizers/<name>.
std::optional<std::string> shared_tokenizer_dir(const std::string& name);

std::vector<uint8_t> read_file_bytes(const std::string& path);
std::string read_file_text(const std::string& path);
// A fresh path under the test temp dir; removed by the OS, not by the test.
std::string temp_path(const std::string& name);

}  // namespace hearth::test

// Skip (with the reason printed) when a real model or shared file is absent, e.g. in a user's
// clone without ../shared. The bootstrap always fetches the models, so CI never skips these.
#define HEARTH_REQUIRE_PATH(var, expr, what)                                           \
  const std::optional<std::string> var##_opt = (expr);                                 \
  if (!var##_opt) GTEST_SKIP() << what << " not found; run scripts/bootstrap.sh test"; \
  const std::string& var = *var##_opt
