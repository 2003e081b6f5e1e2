// Tokenizer throughput (MB/s of UTF-8 input) for each real tokenizer on one mixed corpus:
// English prose, code, CJK, Korean, emoji and numbers, about 1 MiB, generated deterministically.
//
//   build/release/bench/tokenizer_bench --corpus_out=/tmp/tokenizer_bench_corpus.txt
//   python bench/micro/tokenizer_bench_hf.py /tmp/tokenizer_bench_corpus.txt
//
// The second command measures Hugging Face tokenizers on the same bytes (docs/PERFORMANCE.md).
// Tokenizers come from ../shared/tokenizers (or $HEARTH_SHARED_DIR/tokenizers) and the model
// cache ($HEARTH_MODEL_DIR or ~/.cache/hearth/models); absent ones are skipped.
#include <benchmark/benchmark.h>

#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "formats/gguf/gguf_file.h"
#include "tokenizer/incremental_detokenizer.h"
#include "tokenizer/tokenizer.h"

namespace {

namespace fs = std::filesystem;

// Words and characters the corpus is drawn from; text is generated word by word so that words
// repeat as in real text while lines do not (no cache-friendly repetition of whole lines).
constexpr const char* kEnglish[] = {"the",
                                    "of",
                                    "and",
                                    "to",
                                    "a",
                                    "in",
                                    "is",
                                    "it",
                                    "that",
                                    "for",
                                    "was",
                                    "on",
                                    "are",
                                    "with",
                                    "as",
                                    "I",
                                    "his",
                                    "they",
                                    "be",
                                    "at",
                                    "one",
                                    "have",
                                    "this",
                                    "from",
                                    "or",
                                    "had",
                                    "by",
                                    "not",
                                    "word",
                                    "but",
                                    "what",
                                    "some",
                                    "we",
                                    "can",
                                    "out",
                                    "other",
                                    "were",
                                    "all",
                                    "there",
                                    "when",
                                    "up",
                                    "use",
                                    "your",
                                    "how",
                                    "said",
                                    "an",
                                    "each",
                                    "she",
                                    "which",
                                    "do",
                                    "their",
                                    "time",
                                    "if",
                                    "will",
                                    "way",
                                    "about",
                                    "many",
                                    "then",
                                    "them",
                                    "write",
                                    "would",
                                    "like",
                                    "so",
                                    "these",
                                    "her",
                                    "long",
                                    "make",
                                    "thing",
                                    "see",
                                    "him",
                                    "two",
                                    "has",
                                    "look",
                                    "more",
                                    "day",
                                    "could",
                                    "go",
                                    "come",
                                    "did",
                                    "number",
                                    "sound",
                                    "no",
                                    "most",
                                    "people",
                                    "my",
                                    "over",
                                    "know",
                                    "water",
                                    "than",
                                    "call",
                                    "first",
                                    "who",
                                    "may",
                                    "down",
                                    "side",
                                    "been",
                                    "now",
                                    "find",
                                    "tokenizer",
                                    "model",
                                    "inference",
                                    "streaming",
                                    "cache",
                                    "prefix",
                                    "kernel",
                                    "tensor",
                                    "quantization",
                                    "don't",
                                    "it's",
                                    "they're",
                                    "we've",
                                    "I'm",
                                    "you'll",
                                    "she'd",
                                    "Hugging",
                                    "Face",
                                    "GPU",
                                    "internationalization",
                                    "throughput",
                                    "latency",
                                    "approximately",
                                    "responsibility"};
constexpr const char* kIdentifiers[] = {"value", "index",  "count", "buffer", "result", "tokens",
                                        "size",  "offset", "data",  "state",  "config", "item"};
constexpr const char* kCjk =
    "的一是不了人我在有他这为之大来以个中上们到说国和地也子时道出而要于就下得可你年生自会那后能对着"
    "事其里所去行过家十用发天如然作方成者多日都三小军二无同么经法当起与好看学进种将还分此心前面又定"
    "见只主没公从知识语言模型数据处理机器学习东京日本首都今天气很好我们";
constexpr const char* kKorean[] = {"안녕하세요", "한국어", "데이터",    "모델", "처리",
                                   "학습",       "서울",   "오늘",      "날씨", "정말",
                                   "좋네요",     "만나서", "반갑습니다"};
constexpr const char* kEmoji[] = {"😀",        "😂",      "👍🏽", "👨‍👩‍👧‍👦",
                                  "🇯🇵",       "❤️", "🚀",        "✨",
                                  "🙏🏻", "🤖"};

class CorpusWriter {
 public:
  uint32_t next(uint32_t n) {
    state_ = state_ * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<uint32_t>((state_ >> 33) % n);
  }
  template <size_t N>
  const char* pick(const char* const (&list)[N]) {
    return list[next(N)];
  }

  std::string paragraph() {
    std::string out;
    const uint32_t words = 20 + next(60);
    for (uint32_t i = 0; i < words; ++i) {
      std::string w = pick(kEnglish);
      if (i == 0 || next(12) == 0) w[0] = static_cast<char>(std::toupper(w[0]));
      if (next(25) == 0) w = std::to_string(next(100000)) + (next(2) ? "%" : "");
      out += w;
      const uint32_t p = next(30);
      out += p == 0 ? ". " : p == 1 ? ", " : p == 2 ? "; " : " ";
    }
    out.back() = '.';
    return out + "\n\n";
  }
  std::string code() {
    const std::string a = pick(kIdentifiers), b = pick(kIdentifiers);
    const std::string n = std::to_string(next(1000));
    switch (next(3)) {
      case 0:
        return "def " + a + "_" + b + "(x, y=" + n + "):\n    \"\"\"Return the " + a + ".\"\"\"\n" +
               "    return x * y + " + n + "\n\n";
      case 1:
        return "for (size_t " + a + " = 0; " + a + " < " + b + ".size(); ++" + a + ") {\n  " + b +
               "[" + a + "] += " + n + ";\n}\n";
      default:
        return "{\"" + a + "\": " + n + ", \"" + b + "\": [" + n + ", \"" + a +
               "\"], \"ok\": true}\n";
    }
  }
  std::string cjk() {
    std::string out;
    const std::string_view chars(kCjk);
    const uint32_t n = 10 + next(40);
    for (uint32_t i = 0; i < n; ++i) {
      out += chars.substr(3 * next(static_cast<uint32_t>(chars.size() / 3)), 3);
      if (next(12) == 0) out += "，";
    }
    return out + "。\n";
  }
  std::string korean() {
    std::string out;
    for (uint32_t i = 0, n = 4 + next(10); i < n; ++i) out += std::string(pick(kKorean)) + " ";
    return out + "\n";
  }
  std::string emoji() { return std::string(pick(kEmoji)) + pick(kEmoji) + " "; }

 private:
  uint64_t state_ = 0x9E3779B97F4A7C15ull;
};

// About 1 MiB: by bytes roughly 60% English, 20% code, 15% CJK and Korean, the rest emoji.
const std::string& corpus() {
  static const std::string text = [] {
    CorpusWriter w;
    std::string out;
    while (out.size() < (1u << 20)) {
      const uint32_t kind = w.next(20);
      out += kind < 9    ? w.paragraph()
             : kind < 13 ? w.code()
             : kind < 17 ? w.cjk()
             : kind < 19 ? w.korean()
                         : w.emoji();
    }
    return out;
  }();
  return text;
}

// Prompt-sized pieces of the corpus (about 2 KiB, cut at line ends).
const std::vector<std::string>& prompts() {
  static const std::vector<std::string> pieces = [] {
    std::vector<std::string> out;
    const std::string& text = corpus();
    size_t start = 0;
    while (start < text.size()) {
      size_t end = text.find('\n', std::min(text.size(), start + 2048));
      end = end == std::string::npos ? text.size() : end + 1;
      out.push_back(text.substr(start, end - start));
      start = end;
    }
    return out;
  }();
  return pieces;
}

fs::path repo_root() {
  return fs::path(__FILE__).parent_path().parent_path().parent_path();
}

fs::path shared_dir() {
  if (const char* d = std::getenv("HEARTH_SHARED_DIR")) return fs::path(d) / "tokenizers";
  return repo_root().parent_path() / "shared" / "tokenizers";
}

fs::path model_dir() {
  if (const char* d = std::getenv("HEARTH_MODEL_DIR")) return d;
  const char* home = std::getenv("HOME");
  return fs::path(home ? home : "/root") / ".cache" / "hearth" / "models";
}

std::unique_ptr<hearth::Tokenizer> load(const std::string& name) {
  std::error_code ec;
  if (name == "qwen3" || name == "llama3") {
    const fs::path dir = shared_dir() / name;
    if (!fs::exists(dir, ec)) return nullptr;
    auto tok = hearth::Tokenizer::from_hf_dir(dir.string());
    if (!tok.ok()) std::cerr << name << ": " << tok.status().to_string() << "\n";
    return tok.ok() ? std::move(tok).value() : nullptr;
  }
  const fs::path path = model_dir() / (name == "smollm2" ? "SmolLM2-135M-Instruct.Q4_1.gguf"
                                                         : "gemma-3-270m-q4_k_m.gguf");
  if (!fs::exists(path, ec)) return nullptr;
  auto file = hearth::GgufFile::open(path.string());
  if (!file.ok()) return nullptr;
  auto tok = hearth::Tokenizer::from_gguf(*file);
  if (!tok.ok()) std::cerr << name << ": " << tok.status().to_string() << "\n";
  return tok.ok() ? std::move(tok).value() : nullptr;
}

void bench_encode(benchmark::State& state, const hearth::Tokenizer* tok) {
  size_t tokens = 0;
  for (auto _ : state) {
    auto ids = tok->encode(corpus(), {.add_special = false});
    tokens = ids.size();
    benchmark::DoNotOptimize(ids.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * corpus().size()));
  state.counters["tokens"] = static_cast<double>(tokens);
}

void bench_encode_prompts(benchmark::State& state, const hearth::Tokenizer* tok) {
  for (auto _ : state) {
    for (const std::string& p : prompts()) {
      auto ids = tok->encode(p, {.add_special = false});
      benchmark::DoNotOptimize(ids.data());
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * corpus().size()));
}

void bench_stream_decode(benchmark::State& state, const hearth::Tokenizer* tok) {
  const auto ids = tok->encode(corpus(), {.add_special = false});
  for (auto _ : state) {
    hearth::IncrementalDetokenizer stream(*tok);
    size_t bytes = 0;
    for (int32_t id : ids) bytes += stream.push(id).size();
    bytes += stream.finish().size();
    benchmark::DoNotOptimize(bytes);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * corpus().size()));
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(ids.size()),
                                                  benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

int main(int argc, char** argv) {
  // --corpus_out=PATH writes the corpus so the Hugging Face script measures the same bytes.
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    constexpr const char* kFlag = "--corpus_out=";
    if (std::strncmp(argv[i], kFlag, std::strlen(kFlag)) == 0) {
      std::ofstream(argv[i] + std::strlen(kFlag), std::ios::binary) << corpus();
      continue;
    }
    args.push_back(argv[i]);
  }
  static std::vector<std::unique_ptr<hearth::Tokenizer>> keep;
  for (const std::string name : {"qwen3", "llama3", "smollm2", "gemma3"}) {
    auto tok = load(name);
    if (!tok) {
      std::cerr << "skipping " << name << " (not found)\n";
      continue;
    }
    const hearth::Tokenizer* t = tok.get();
    keep.push_back(std::move(tok));
    benchmark::RegisterBenchmark(("encode/" + name).c_str(), bench_encode, t)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("encode_prompts/" + name).c_str(), bench_encode_prompts, t)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("stream_decode/" + name).c_str(), bench_stream_decode, t)
        ->Unit(benchmark::kMillisecond);
  }
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
