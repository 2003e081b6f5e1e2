#include "golden_file.h"

#include <gtest/gtest.h>
#include <zstd.h>

#include <sstream>

#include "support/test_support.h"

namespace hearth::test {

std::vector<nlohmann::json> read_golden_lines(const std::string& name) {
  const std::vector<uint8_t> compressed = read_file_bytes(fixture_path("tokenizer/" + name));
  EXPECT_FALSE(compressed.empty()) << "missing fixture tokenizer/" << name;
  std::string text;
  ZSTD_DStream* stream = ZSTD_createDStream();
  ZSTD_initDStream(stream);
  ZSTD_inBuffer in{compressed.data(), compressed.size(), 0};
  std::vector<char> chunk(ZSTD_DStreamOutSize());
  while (in.pos < in.size) {
    ZSTD_outBuffer out{chunk.data(), chunk.size(), 0};
    const size_t rc = ZSTD_decompressStream(stream, &out, &in);
    if (ZSTD_isError(rc)) {
      ADD_FAILURE() << name << ": " << ZSTD_getErrorName(rc);
      break;
    }
    text.append(chunk.data(), out.pos);
  }
  ZSTD_freeDStream(stream);
  std::vector<nlohmann::json> lines;
  std::istringstream ss(text);
  std::string line;
  while (std::getline(ss, line)) {
    if (!line.empty()) lines.push_back(nlohmann::json::parse(line));
  }
  return lines;
}

std::string case_input(const nlohmann::json& corpus_case) {
  if (corpus_case.contains("text")) return corpus_case["text"].get<std::string>();
  const std::string hex = corpus_case["hex"].get<std::string>();
  std::string bytes;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    bytes.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return bytes;
}

}  // namespace hearth::test
