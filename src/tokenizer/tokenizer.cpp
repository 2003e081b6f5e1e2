#include "tokenizer/tokenizer.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tokenizer/gguf_tokenizer_loader.h"
#include "tokenizer/hf_tokenizer_loader.h"

namespace hearth {
namespace {

// The file's contents; empty (and ok) when it does not exist and is optional.
Expected<std::string> read_text_file(const std::filesystem::path& path, bool required) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    if (required) return not_found(path.string() + " does not exist");
    return std::string();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return io_error("cannot open " + path.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return io_error("cannot read " + path.string());
  return ss.str();
}

}  // namespace

Expected<std::unique_ptr<Tokenizer>> Tokenizer::from_gguf(const GgufFile& file) {
  return load_gguf_tokenizer(file);
}

Expected<std::unique_ptr<Tokenizer>> Tokenizer::from_hf_json(
    std::string_view tokenizer_json, std::string_view tokenizer_config_json,
    std::string_view generation_config_json) {
  return load_hf_tokenizer(tokenizer_json, tokenizer_config_json, generation_config_json);
}

Expected<std::unique_ptr<Tokenizer>> Tokenizer::from_hf_dir(const std::string& dir) {
  const std::filesystem::path base(dir);
  HEARTH_ASSIGN_OR_RETURN(const std::string tokenizer_json,
                          read_text_file(base / "tokenizer.json", /*required=*/true));
  HEARTH_ASSIGN_OR_RETURN(const std::string config_json,
                          read_text_file(base / "tokenizer_config.json", /*required=*/false));
  HEARTH_ASSIGN_OR_RETURN(const std::string generation_json,
                          read_text_file(base / "generation_config.json", /*required=*/false));
  auto tokenizer = load_hf_tokenizer(tokenizer_json, config_json, generation_json);
  if (!tokenizer.ok()) return tokenizer.status().with_context(dir);
  return tokenizer;
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special) const {
  std::string out;
  Decoder::State state = decode_start();
  for (int32_t id : ids) decode_push(state, id, skip_special, out);
  decode_finish(state, out);
  return out;
}

bool Tokenizer::is_eog(int32_t id) const {
  return std::binary_search(special_.eog.begin(), special_.eog.end(), id);
}

}  // namespace hearth
