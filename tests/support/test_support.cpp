#include "support/test_support.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

namespace fs = std::filesystem;

namespace hearth::test {
namespace {

std::string source_dir() {
  if (const char* d = std::getenv("HEARTH_SOURCE_DIR")) return d;
  return HEARTH_TEST_SOURCE_DIR;
}

std::optional<std::string> existing(const fs::path& p) {
  std::error_code ec;
  if (fs::exists(p, ec)) return p.string();
  return std::nullopt;
}

fs::path model_dir() {
  if (const char* d = std::getenv("HEARTH_MODEL_DIR")) return d;
  if (const char* c = std::getenv("HEARTH_CACHE_DIR")) return fs::path(c) / "models";
  const char* home = std::getenv("HOME");
  return fs::path(home ? home : "/root") / ".cache" / "hearth" / "models";
}

}  // namespace

std::string fixture_path(const std::string& relative) {
  return (fs::path(source_dir()) / "tests" / "fixtures" / relative).string();
}

std::optional<std::string> default_model_path() {
  return existing(model_dir() / "SmolLM2-135M-Instruct.Q4_1.gguf");
}

std::optional<std::string> gemma3_model_path() {
  return existing(model_dir() / "gemma-3-270m-q4_k_m.gguf");
}

std::optional<std::string> shared_tokenizer_dir(const std::string& name) {
  if (const char* d = std::getenv("HEARTH_SHARED_DIR")) {
    return existing(fs::path(d) / "tokenizers" / name);
  }
  return existing(fs::path(source_dir()).parent_path() / "shared" / "tokenizers" / name);
}

std::vector<uint8_t> read_file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string read_file_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string temp_path(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / ("hearth-test-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return (dir / name).string();
}

}  // namespace hearth::test
