#include "tokenizer/sentencepiece_merges.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string_view>
#include <unordered_map>

#include "tokenizer/utf8.h"

namespace hearth {
namespace {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

struct Candidate {
  double priority;
  uint32_t left_length;  // in code points
  uint32_t right_length;
  BpeMerge merge;
};

}  // namespace

std::vector<BpeMerge> merges_from_priorities(const std::vector<std::string>& tokens,
                                             const std::vector<double>& priority) {
  std::unordered_map<std::string_view, int32_t, StringHash, std::equal_to<>> last_id;
  std::unordered_map<std::string_view, int32_t, StringHash, std::equal_to<>> first_id;
  last_id.reserve(tokens.size());
  first_id.reserve(tokens.size());
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i].empty()) continue;
    last_id.insert_or_assign(tokens[i], static_cast<int32_t>(i));
    first_id.try_emplace(tokens[i], static_cast<int32_t>(i));
  }
  std::vector<Candidate> all;
  std::vector<Candidate> local;
  std::vector<size_t> boundaries;
  for (size_t i = 0; i < tokens.size(); ++i) {
    const std::string_view token = tokens[i];
    // A repeated spelling is visited once, where it first appears, with its last id's values.
    if (token.empty() || first_id[token] != static_cast<int32_t>(i)) continue;
    const int32_t result = last_id[token];
    boundaries.clear();
    for (size_t pos = 0; pos < token.size();) {
      const size_t n = utf8::valid_sequence_length(token, pos);
      pos += n == 0 ? 1 : n;
      boundaries.push_back(pos);
    }
    const auto length = static_cast<uint32_t>(boundaries.size());
    double rank_key = priority[static_cast<size_t>(result)];
    if (std::isnan(rank_key)) rank_key = -std::numeric_limits<double>::infinity();
    local.clear();
    for (uint32_t k = 0; k + 1 < length; ++k) {
      const size_t cut = boundaries[k];
      auto left = last_id.find(token.substr(0, cut));
      if (left == last_id.end()) continue;
      auto right = last_id.find(token.substr(cut));
      if (right == last_id.end()) continue;
      local.push_back({rank_key, k + 1, length - k - 1, {left->second, right->second, result}});
    }
    std::stable_sort(local.begin(), local.end(), [](const Candidate& a, const Candidate& b) {
      return a.merge.left != b.merge.left ? a.merge.left < b.merge.left
                                          : a.merge.right < b.merge.right;
    });
    all.insert(all.end(), local.begin(), local.end());
  }
  std::stable_sort(all.begin(), all.end(), [](const Candidate& a, const Candidate& b) {
    if (a.priority != b.priority) return a.priority > b.priority;
    if (a.left_length != b.left_length) return a.left_length > b.left_length;
    return a.right_length > b.right_length;
  });
  std::vector<BpeMerge> merges;
  merges.reserve(all.size());
  for (const Candidate& c : all) merges.push_back(c.merge);
  return merges;
}

}  // namespace hearth
