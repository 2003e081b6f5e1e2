#include "tokenizer/added_vocab.h"

#include <algorithm>

#include "tokenizer/unicode_props.h"
#include "tokenizer/utf8.h"

namespace hearth {
namespace {

// The code point ending just before `end` (text[0, end) is valid UTF-8 and non-empty).
char32_t code_point_before(std::string_view text, size_t end) {
  size_t begin = end - 1;
  while (begin > 0 && (static_cast<uint8_t>(text[begin]) & 0xC0) == 0x80) --begin;
  size_t pos = begin;
  return utf8::decode_at(text, pos);
}

// Start of the run of White_Space code points that ends at `end`.
size_t whitespace_run_start(std::string_view text, size_t end) {
  while (end > 0) {
    size_t begin = end - 1;
    while (begin > 0 && (static_cast<uint8_t>(text[begin]) & 0xC0) == 0x80) --begin;
    size_t pos = begin;
    if (!unicode::is_white_space(utf8::decode_at(text, pos))) break;
    end = begin;
  }
  return end;
}

// End of the run of White_Space code points that starts at `begin`.
size_t whitespace_run_end(std::string_view text, size_t begin) {
  while (begin < text.size()) {
    size_t pos = begin;
    if (!unicode::is_white_space(utf8::decode_at(text, pos))) break;
    begin = pos;
  }
  return begin;
}

}  // namespace

std::array<int32_t, 256> AddedVocab::Matcher::make_empty_root() {
  std::array<int32_t, 256> root;
  root.fill(-1);
  return root;
}

void AddedVocab::Matcher::insert(std::string_view pattern, int32_t token_index) {
  if (pattern.empty()) return;
  int32_t node = root_[static_cast<uint8_t>(pattern[0])];
  if (node < 0) {
    node = static_cast<int32_t>(nodes_.size());
    nodes_.emplace_back();
    root_[static_cast<uint8_t>(pattern[0])] = node;
  }
  for (size_t i = 1; i < pattern.size(); ++i) {
    const auto byte = static_cast<uint8_t>(pattern[i]);
    auto& children = nodes_[node].children;
    auto it = std::lower_bound(children.begin(), children.end(), byte,
                               [](const auto& edge, uint8_t b) { return edge.first < b; });
    if (it != children.end() && it->first == byte) {
      node = it->second;
      continue;
    }
    const auto child = static_cast<int32_t>(nodes_.size());
    children.insert(it, {byte, child});
    nodes_.emplace_back();  // invalidates `children`; not used again below
    node = child;
  }
  if (nodes_[node].token_index < 0) ++patterns_;
  nodes_[node].token_index = token_index;
}

size_t AddedVocab::Matcher::longest_at(std::string_view text, size_t pos,
                                       int32_t& token_index) const {
  int32_t node = root_[static_cast<uint8_t>(text[pos])];
  size_t best = 0;
  size_t i = pos + 1;
  while (node >= 0) {
    if (nodes_[node].token_index >= 0) {
      best = i - pos;
      token_index = nodes_[node].token_index;
    }
    if (i >= text.size()) break;
    const auto byte = static_cast<uint8_t>(text[i]);
    const auto& children = nodes_[node].children;
    auto it = std::lower_bound(children.begin(), children.end(), byte,
                               [](const auto& edge, uint8_t b) { return edge.first < b; });
    if (it == children.end() || it->first != byte) break;
    node = it->second;
    ++i;
  }
  return best;
}

void AddedVocab::add(AddedToken token, std::string normalized_content) {
  if (token.content.empty()) return;
  for (size_t i = 0; i < tokens_.size(); ++i) {
    if (tokens_[i].content == token.content) {
      tokens_[i] = std::move(token);
      normalized_contents_[i] = std::move(normalized_content);
      return;
    }
  }
  tokens_.push_back(std::move(token));
  normalized_contents_.push_back(std::move(normalized_content));
}

void AddedVocab::finalize() {
  raw_matcher_ = Matcher();
  normalized_matcher_ = Matcher();
  for (size_t i = 0; i < tokens_.size(); ++i) {
    const auto index = static_cast<int32_t>(i);
    if (tokens_[i].normalized) {
      const std::string& pattern =
          normalized_contents_[i].empty() ? tokens_[i].content : normalized_contents_[i];
      normalized_matcher_.insert(pattern, index);
    } else {
      raw_matcher_.insert(tokens_[i].content, index);
    }
  }
}

void AddedVocab::split(std::string_view text, bool normalized_set, bool parse_special,
                       FunctionRef<void(const AddedSplit&)> emit) const {
  const Matcher& matcher = normalized_set ? normalized_matcher_ : raw_matcher_;
  size_t emitted_to = 0;  // text before this offset has been emitted
  size_t search = 0;      // where the next leftmost-longest search starts
  if (matcher.size() > 0) {
    while (search < text.size()) {
      // Leftmost-longest: the earliest start with any match, then its longest pattern.
      size_t start = search;
      size_t length = 0;
      int32_t index = -1;
      for (; start < text.size(); ++start) {
        if (!matcher.may_start(static_cast<uint8_t>(text[start]))) continue;
        length = matcher.longest_at(text, start, index);
        if (length > 0) break;
      }
      if (length == 0) break;
      size_t stop = start + length;
      search = stop;
      const AddedToken& token = tokens_[static_cast<size_t>(index)];
      if (token.special && !parse_special) continue;
      if (token.single_word) {
        const bool space_before =
            start == 0 || !unicode::is_word_char(code_point_before(text, start));
        size_t after = stop;
        const bool space_after =
            stop == text.size() || !unicode::is_word_char(utf8::decode_at(text, after));
        if (!space_before || !space_after) continue;
      }
      if (token.lstrip) start = std::max(whitespace_run_start(text, start), emitted_to);
      if (token.rstrip) stop = whitespace_run_end(text, stop);
      if (emitted_to < start) {
        emit({text.substr(emitted_to, start - emitted_to), -1, emitted_to == 0});
      }
      emit({text.substr(start, stop - start), token.id, start == 0});
      emitted_to = stop;
    }
  }
  if (emitted_to < text.size() || text.empty()) {
    emit({text.substr(emitted_to), -1, emitted_to == 0});
  }
}

}  // namespace hearth
