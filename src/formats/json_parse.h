// Strict JSON parsing for untrusted model files (safetensors headers, config.json, index files):
// exceptions from nlohmann::json become a Status, duplicate object keys are rejected (a silent
// "last one wins" would let two readers see different tensors), and nesting depth is bounded.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "hearth/status.h"

namespace hearth {

inline constexpr int kMaxJsonDepth = 64;

// CorruptData naming `what` ("safetensors header of 'x'", "config.json") on any error.
Expected<nlohmann::json> parse_json_strict(std::string_view text, std::string_view what);

// Reads a whole (small) file; NotFound / IoError name the path, ResourceExhausted past max_bytes.
Expected<std::string> read_text_file(const std::string& path, uint64_t max_bytes);

// Reads and parses a whole JSON file; NotFound / IoError name the path. Files over `max_bytes`
// (tokenizer.json files are ~10 MB) are refused before reading.
Expected<nlohmann::json> read_json_file(const std::string& path, uint64_t max_bytes = 64ull << 20);

// A JSON value as a non-negative integer that fits in uint64, or nullopt (negative numbers,
// floats, strings, ... are all refused).
std::optional<uint64_t> json_as_uint(const nlohmann::json& v);

// A short rendering of a JSON value for error messages: 'string "abc"', 'number -3', 'array'.
std::string json_describe(const nlohmann::json& v);

}  // namespace hearth
