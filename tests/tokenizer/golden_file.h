// Reads the tokenizer golden files: zstd-compressed JSON Lines written by
// tests/fixtures/tokenizer/make_goldens.py.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace hearth::test {

// Every line of tests/fixtures/tokenizer/<name>, parsed; fails the current test when the file is
// missing or malformed (these files are committed, so that is a real error).
std::vector<nlohmann::json> read_golden_lines(const std::string& name);

// The text of a corpus case: "text", or the raw bytes of "hex" (inputs that are not UTF-8).
std::string case_input(const nlohmann::json& corpus_case);

}  // namespace hearth::test
