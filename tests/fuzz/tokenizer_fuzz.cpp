// Fuzzes encode and decode with arbitrary bytes on every tokenizer available: the small
// synthetic tokenizer.json fixtures (always) and the real Qwen3 / Llama 3 / SmolLM2 / Gemma 3
// tokenizers when their files are present. Checks, beyond "no crash":
//   - every id encode() returns is inside the vocabulary;
//   - decode() returns valid UTF-8;
//   - streaming the ids through IncrementalDetokenizer gives valid UTF-8 pieces that add up to
//     decode(), also for arbitrary (out-of-range, split-character) id sequences;
//   - Llama 3 (byte-level, every byte in its vocabulary, no normalizer) round-trips:
//     decode(encode(x)) == x after invalid UTF-8 is repaired. (SmolLM2 lacks a few byte tokens,
//     so, as in Hugging Face, bytes such as 0x04 are dropped; Qwen3 normalizes to NFC.)
// Input: byte 0 picks the tokenizer and options, the rest is text (or, with bit 7 set, ids).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "formats/gguf/gguf_file.h"
#include "tokenizer/incremental_detokenizer.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

namespace {

namespace fs = std::filesystem;

struct Entry {
  std::unique_ptr<hearth::Tokenizer> tokenizer;
  bool round_trips = false;
};

void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "tokenizer_fuzz invariant violated: %s\n", what);
    std::abort();
  }
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<Entry> load_all() {
  std::vector<Entry> out;
  const fs::path repo = std::getenv("HEARTH_SOURCE_DIR")
                            ? fs::path(std::getenv("HEARTH_SOURCE_DIR"))
                            : fs::path(__FILE__).parent_path().parent_path().parent_path();
  const fs::path fixtures = repo / "tests" / "fixtures" / "tokenizer";
  for (const char* name :
       {"metaspace", "llama2_style", "bytelevel_prefix", "splits", "no_decoder"}) {
    const std::string json =
        read_file(fixtures / ("synthetic_" + std::string(name) + ".tokenizer.json"));
    auto tok = hearth::Tokenizer::from_hf_json(json);
    if (tok.ok()) out.push_back({std::move(tok).value(), false});
  }
  std::error_code ec;
  const fs::path shared = std::getenv("HEARTH_SHARED_DIR")
                              ? fs::path(std::getenv("HEARTH_SHARED_DIR")) / "tokenizers"
                              : repo.parent_path() / "shared" / "tokenizers";
  for (const char* name : {"qwen3", "llama3"}) {
    if (!fs::exists(shared / name, ec)) continue;
    auto tok = hearth::Tokenizer::from_hf_dir((shared / name).string());
    if (tok.ok()) out.push_back({std::move(tok).value(), std::string(name) == "llama3"});
  }
  const char* home = std::getenv("HOME");
  const fs::path models = std::getenv("HEARTH_MODEL_DIR")
                              ? fs::path(std::getenv("HEARTH_MODEL_DIR"))
                              : fs::path(home ? home : "/root") / ".cache" / "hearth" / "models";
  for (const char* file : {"SmolLM2-135M-Instruct.Q4_1.gguf", "gemma-3-270m-q4_k_m.gguf"}) {
    if (!fs::exists(models / file, ec)) continue;
    auto gguf = hearth::GgufFile::open((models / file).string());
    if (!gguf.ok()) continue;
    auto tok = hearth::Tokenizer::from_gguf(*gguf);
    if (tok.ok()) out.push_back({std::move(tok).value(), false});
  }
  require(!out.empty(), "no tokenizer could be loaded");
  return out;
}

void check_stream(const hearth::Tokenizer& tok, const std::vector<int32_t>& ids, bool skip) {
  const std::string full = tok.decode(ids, skip);
  require(!hearth::utf8::find_invalid(full), "decode() returned invalid UTF-8");
  hearth::IncrementalDetokenizer stream(tok, skip);
  std::string streamed;
  for (int32_t id : ids) {
    const std::string piece = stream.push(id);
    require(!hearth::utf8::find_invalid(piece), "a streamed piece is invalid UTF-8");
    streamed += piece;
  }
  streamed += stream.finish();
  require(streamed == full, "streamed pieces differ from decode()");
}

const std::vector<Entry>& all_tokenizers() {
  static const std::vector<Entry> tokenizers = load_all();
  return tokenizers;
}

}  // namespace

// Loading (Gemma's 262k vocabulary above all) happens here, outside libFuzzer's per-input timeout.
extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  (void)all_tokenizers();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<Entry>& tokenizers = all_tokenizers();
  if (size == 0) return 0;
  const uint8_t control = data[0];
  const Entry& entry = tokenizers[(control & 0x0F) % tokenizers.size()];
  const hearth::Tokenizer& tok = *entry.tokenizer;
  const bool skip = (control & 0x40) != 0;
  if ((control & 0x80) != 0) {
    // The rest as little-endian int32 ids, most of them folded into the vocabulary.
    std::vector<int32_t> ids;
    for (size_t i = 1; i + 4 <= size; i += 4) {
      int32_t id = 0;
      std::memcpy(&id, data + i, 4);
      if ((id & 0x40000000) == 0)
        id = static_cast<int32_t>(static_cast<uint32_t>(id) %
                                  static_cast<uint32_t>(tok.vocab_size()));
      ids.push_back(id);
    }
    check_stream(tok, ids, skip);
    return 0;
  }
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  const hearth::EncodeOptions options{.add_special = (control & 0x10) != 0,
                                      .parse_special = (control & 0x20) != 0};
  const std::vector<int32_t> ids = tok.encode(text, options);
  for (int32_t id : ids)
    require(id >= 0 && id < tok.vocab_size(), "encode() returned an id outside the vocabulary");
  check_stream(tok, ids, skip);
  if (entry.round_trips && !skip) {
    const std::vector<int32_t> plain =
        tok.encode(text, {.add_special = false, .parse_special = options.parse_special});
    require(tok.decode(plain) == hearth::utf8::sanitize(text), "decode(encode(x)) != x");
  }
  return 0;
}
