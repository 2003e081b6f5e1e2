// Typed, bounds-checked reads of an architecture's hyperparameters (`<arch>.<key>`) from GGUF
// metadata. Errors name the full key and the offending value.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "formats/gguf/gguf_file.h"
#include "hearth/status.h"

namespace hearth {

class ArchMetadata {
 public:
  ArchMetadata(const GgufFile& file, std::string architecture)
      : file_(file), prefix_(std::move(architecture) + ".") {}

  std::string key(std::string_view suffix) const { return prefix_ + std::string(suffix); }
  bool has(std::string_view suffix) const { return file_.find(key(suffix)) != nullptr; }

  // An integer in [1, max]; NotFound when absent.
  Expected<int64_t> count(std::string_view suffix, int64_t max) const;
  // Likewise, or `fallback` when absent.
  Expected<int64_t> count_or(std::string_view suffix, int64_t fallback, int64_t max) const;
  // A finite number > 0, or `fallback` when absent.
  Expected<double> positive_or(std::string_view suffix, double fallback) const;
  // A string, or `fallback` when absent.
  Expected<std::string> string_or(std::string_view suffix, std::string fallback) const;

 private:
  const GgufFile& file_;
  std::string prefix_;
};

}  // namespace hearth
