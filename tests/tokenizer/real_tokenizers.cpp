#include "real_tokenizers.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <mutex>

#include "formats/gguf/gguf_file.h"
#include "support/test_support.h"

namespace hearth::test {
namespace {

struct Loaded {
  std::unique_ptr<Tokenizer> tokenizer;
  std::string why;
  bool absent = false;
};

Loaded load(const std::string& name) {
  Loaded result;
  std::optional<std::string> path;
  bool gguf = false;
  if (name == "qwen3" || name == "llama3") {
    path = shared_tokenizer_dir(name);
  } else if (name == "smollm2") {
    path = default_model_path();
    gguf = true;
  } else if (name == "gemma3") {
    path = gemma3_model_path();
    gguf = true;
  }
  if (!path) {
    result.why = "tokenizer " + name + " not found; run scripts/bootstrap.sh test";
    result.absent = true;
    return result;
  }
  Expected<std::unique_ptr<Tokenizer>> tok = not_found("unknown tokenizer " + name);
  if (gguf) {
    auto file = GgufFile::open(*path);
    if (!file.ok()) {
      result.why = name + ": " + file.status().to_string();
      return result;
    }
    tok = Tokenizer::from_gguf(*file);
  } else {
    tok = Tokenizer::from_hf_dir(*path);
  }
  if (tok.ok()) {
    result.tokenizer = std::move(tok).value();
  } else {
    result.why = name + " failed to load: " + tok.status().to_string();
  }
  return result;
}

}  // namespace

const Tokenizer* real_tokenizer(const std::string& name, std::string* why, bool* absent) {
  static std::mutex mutex;
  static std::map<std::string, Loaded> loaded;
  std::lock_guard lock(mutex);
  auto it = loaded.find(name);
  if (it == loaded.end()) it = loaded.emplace(name, load(name)).first;
  *why = it->second.why;
  *absent = it->second.absent;
  return it->second.tokenizer.get();
}

}  // namespace hearth::test
