#include "tokenizer/bpe_model.h"

#include <algorithm>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

#include "tokenizer/byte_level.h"
#include "tokenizer/utf8.h"

namespace hearth {
namespace {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using TokenMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

// Open-addressing map from a token pair to its merge, the hot lookup of the merge loop. Key and
// value share a slot so a lookup touches one cache line.
class PairMap {
 public:
  struct Value {
    int32_t rank = -1;
    int32_t result = -1;
  };

  void reserve(size_t n) {
    size_t capacity = 16;
    while (capacity < n + n / 2) capacity *= 2;
    slots_.assign(capacity, Slot{});
    mask_ = capacity - 1;
  }

  void insert_or_assign(int32_t left, int32_t right, Value value) {
    const uint64_t key = make_key(left, right);
    size_t i = hash(key);
    while (slots_[i].key != kEmpty && slots_[i].key != key) i = (i + 1) & mask_;
    slots_[i].key = key;
    slots_[i].value = value;
  }

  const Value* find(int32_t left, int32_t right) const {
    const uint64_t key = make_key(left, right);
    size_t i = hash(key);
    while (true) {
      const Slot& slot = slots_[i];
      if (slot.key == key) return &slot.value;
      if (slot.key == kEmpty) return nullptr;
      i = (i + 1) & mask_;
    }
  }

 private:
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  struct Slot {
    uint64_t key = kEmpty;
    Value value;
  };
  static uint64_t make_key(int32_t left, int32_t right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) |
           static_cast<uint32_t>(right);
  }
  size_t hash(uint64_t key) const {
    return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> 29) & mask_;
  }
  std::vector<Slot> slots_;
  size_t mask_ = 0;
};

struct Symbol {
  int32_t id;
  int32_t prev;
  int32_t next;
  bool alive;
};

struct Candidate {
  int32_t rank;
  int32_t pos;
  int32_t result;
  int32_t left_id;  // the pair it was made for; a merge of either symbol makes it stale
  int32_t right_id;
  // std::push_heap builds a max-heap: "less" means lower priority (higher rank, later position).
  bool operator<(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
};

constexpr size_t kMaxCachedPieceBytes = 256;
constexpr size_t kCacheCapacity = 1u << 17;

}  // namespace

struct BpeModel::Tables {
  TokenMap by_spelling;  // spelling -> id
  TokenMap by_piece;     // what tokenize() looks up: raw bytes for byte-level vocabularies
  PairMap merges;
  // Results for short pieces; filled until full, like Hugging Face's BPE cache.
  mutable std::shared_mutex cache_mutex;
  mutable std::unordered_map<std::string, std::vector<int32_t>, StringHash, std::equal_to<>> cache;
};

BpeModel::BpeModel() : tables_(std::make_unique<Tables>()) {}
BpeModel::~BpeModel() = default;
BpeModel::BpeModel(BpeModel&&) noexcept = default;
BpeModel& BpeModel::operator=(BpeModel&&) noexcept = default;

Expected<std::vector<BpeMerge>> BpeModel::resolve_merges(
    const std::vector<std::string>& tokens,
    const std::vector<std::pair<std::string, std::string>>& merges) {
  TokenMap ids;
  ids.reserve(tokens.size());
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (!tokens[i].empty()) ids.insert_or_assign(tokens[i], static_cast<int32_t>(i));
  }
  std::vector<BpeMerge> out;
  out.reserve(merges.size());
  std::string joined;
  for (size_t i = 0; i < merges.size(); ++i) {
    const auto& [left, right] = merges[i];
    joined.assign(left).append(right);
    const auto l = ids.find(left);
    const auto r = ids.find(right);
    const auto j = ids.find(joined);
    if (l == ids.end() || r == ids.end() || j == ids.end()) {
      const std::string& missing = l == ids.end() ? left : r == ids.end() ? right : joined;
      return corrupt_data("merge " + std::to_string(i) + " ('" + left + "' + '" + right +
                          "') uses '" + missing + "', which is not in the vocabulary");
    }
    out.push_back({l->second, r->second, j->second});
  }
  return out;
}

Expected<BpeModel> BpeModel::build(std::vector<std::string> tokens,
                                   const std::vector<BpeMerge>& merges, const BpeOptions& options) {
  if (tokens.empty()) return invalid_argument("the vocabulary is empty");
  if (tokens.size() > static_cast<size_t>(INT32_MAX)) {
    return invalid_argument("the vocabulary has more than 2^31 tokens");
  }
  BpeModel model;
  model.options_ = options;
  model.byte_tokens_.fill(-1);
  model.byte_symbols_.fill(-1);
  Tables& t = *model.tables_;
  t.by_spelling.reserve(tokens.size());
  t.by_piece.reserve(tokens.size());
  for (size_t i = 0; i < tokens.size(); ++i) {
    const std::string& spelling = tokens[i];
    if (spelling.empty()) continue;
    const auto id = static_cast<int32_t>(i);
    t.by_spelling.insert_or_assign(spelling, id);
    if (options.byte_level) {
      // Spellings outside the byte alphabet (rare: added tokens) can never be produced by merges.
      if (auto raw = byte_level::decode_token(spelling)) {
        if (raw->size() == 1) model.byte_symbols_[static_cast<uint8_t>((*raw)[0])] = id;
        t.by_piece.insert_or_assign(std::move(*raw), id);
      }
    } else {
      t.by_piece.insert_or_assign(spelling, id);
      // "<0xNN>" byte tokens for byte fallback.
      if (spelling.size() == 6 && spelling.starts_with("<0x") && spelling[5] == '>') {
        const std::string_view hex = std::string_view(spelling).substr(3, 2);
        const bool upper_hex = std::all_of(hex.begin(), hex.end(), [](char c) {
          return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
        });
        if (upper_hex) model.byte_tokens_[std::stoi(std::string(hex), nullptr, 16)] = id;
      }
    }
  }
  if (!options.byte_level) {
    // Single code points of the Basic Multilingual Plane are looked up by index, the rest hashed.
    model.bmp_symbols_.assign(0x10000, -1);
    for (const auto& [spelling, id] : t.by_piece) {
      if (spelling.empty() || utf8::valid_sequence_length(spelling, 0) != spelling.size()) continue;
      size_t pos = 0;
      const char32_t cp = utf8::decode_at(spelling, pos);
      if (cp < 0x10000) model.bmp_symbols_[cp] = id;
    }
  }
  const auto n = static_cast<int32_t>(tokens.size());
  if (options.unk_id >= n) {
    return invalid_argument("unknown token id " + std::to_string(options.unk_id) +
                            " is outside the vocabulary of " + std::to_string(n));
  }
  t.merges.reserve(merges.size());
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const BpeMerge& m = merges[rank];
    if (m.left < 0 || m.left >= n || m.right < 0 || m.right >= n || m.result < 0 || m.result >= n) {
      return invalid_argument("merge " + std::to_string(rank) + " refers to a token id outside " +
                              "the vocabulary of " + std::to_string(n));
    }
    t.merges.insert_or_assign(m.left, m.right, {static_cast<int32_t>(rank), m.result});
  }
  model.tokens_ = std::move(tokens);
  return model;
}

std::optional<int32_t> BpeModel::find(std::string_view spelling) const {
  auto it = tables_->by_spelling.find(spelling);
  if (it == tables_->by_spelling.end()) return std::nullopt;
  return it->second;
}

void BpeModel::tokenize(std::string_view piece, std::vector<int32_t>& out) const {
  if (piece.empty()) return;
  const Tables& t = *tables_;
  if (options_.ignore_merges) {
    auto it = t.by_piece.find(piece);
    if (it != t.by_piece.end()) {
      out.push_back(it->second);
      return;
    }
  }
  const bool cacheable = piece.size() <= kMaxCachedPieceBytes;
  if (cacheable) {
    std::shared_lock lock(t.cache_mutex);
    auto it = t.cache.find(piece);
    if (it != t.cache.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  const size_t first = out.size();
  merge_word(piece, out);
  if (cacheable) {
    std::unique_lock lock(t.cache_mutex);
    if (t.cache.size() < kCacheCapacity) {
      t.cache.try_emplace(std::string(piece), out.begin() + static_cast<std::ptrdiff_t>(first),
                          out.end());
    }
  }
}

void BpeModel::merge_word(std::string_view piece, std::vector<int32_t>& out) const {
  const Tables& t = *tables_;
  thread_local std::vector<Symbol> symbols;
  thread_local std::vector<Candidate> heap;
  symbols.clear();
  heap.clear();

  auto add_symbol = [&](int32_t id) {
    const auto index = static_cast<int32_t>(symbols.size());
    symbols.push_back({id, index - 1, -1, true});
    if (index > 0) symbols[static_cast<size_t>(index - 1)].next = index;
  };

  // Initial symbols: characters (bytes for byte-level vocabularies), with Hugging Face's
  // handling of characters missing from the vocabulary.
  bool pending_unk = false;
  auto flush_unk = [&] {
    if (pending_unk) add_symbol(options_.unk_id);
    pending_unk = false;
  };
  size_t pos = 0;
  while (pos < piece.size()) {
    size_t len = 1;
    int32_t id = -1;
    if (options_.byte_level) {
      id = byte_symbols_[static_cast<uint8_t>(piece[pos])];
    } else {
      const size_t seq = utf8::valid_sequence_length(piece, pos);
      len = seq == 0 ? 1 : seq;  // pieces are sanitized; a stray byte stays unknown
      if (seq != 0 && seq <= 3) {
        size_t next = pos;
        id = bmp_symbols_[utf8::decode_at(piece, next)];
      } else if (seq == 4) {
        auto it = t.by_piece.find(piece.substr(pos, len));
        if (it != t.by_piece.end()) id = it->second;
      }
    }
    const std::string_view ch = piece.substr(pos, len);
    pos += len;
    if (id >= 0) {
      flush_unk();
      add_symbol(id);
      continue;
    }
    if (options_.byte_fallback && std::all_of(ch.begin(), ch.end(), [&](char b) {
          return byte_tokens_[static_cast<uint8_t>(b)] >= 0;
        })) {
      for (char b : ch) add_symbol(byte_tokens_[static_cast<uint8_t>(b)]);
      continue;
    }
    if (options_.unk_id >= 0) {
      if (pending_unk && !options_.fuse_unk) add_symbol(options_.unk_id);
      pending_unk = true;
    }
  }
  flush_unk();

  auto push_candidate = [&](int32_t left_pos) {
    const Symbol& left = symbols[static_cast<size_t>(left_pos)];
    if (left.next < 0) return;
    const int32_t right_id = symbols[static_cast<size_t>(left.next)].id;
    const PairMap::Value* m = t.merges.find(left.id, right_id);
    if (m == nullptr) return;
    heap.push_back({m->rank, left_pos, m->result, left.id, right_id});
    std::push_heap(heap.begin(), heap.end());
  };
  for (int32_t i = 0; i + 1 < static_cast<int32_t>(symbols.size()); ++i) push_candidate(i);

  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end());
    const Candidate top = heap.back();
    heap.pop_back();
    Symbol& left = symbols[static_cast<size_t>(top.pos)];
    if (!left.alive || left.next < 0) continue;
    Symbol& right = symbols[static_cast<size_t>(left.next)];
    // Skip candidates made stale by an earlier merge of either symbol. (Hugging Face looks the
    // pair up again; as token ids name distinct strings, unchanged ids is the same test.)
    if (left.id != top.left_id || right.id != top.right_id) continue;
    left.id = top.result;
    right.alive = false;
    left.next = right.next;
    if (left.next >= 0) symbols[static_cast<size_t>(left.next)].prev = top.pos;
    if (left.prev >= 0) push_candidate(left.prev);
    push_candidate(top.pos);
  }
  for (int32_t i = symbols.empty() ? -1 : 0; i >= 0; i = symbols[static_cast<size_t>(i)].next) {
    out.push_back(symbols[static_cast<size_t>(i)].id);
  }
}

}  // namespace hearth
