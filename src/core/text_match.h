// Helpers for streaming text matchers (stop strings, reasoning and tool-call markers): how much
// of a text's tail could still grow into a marker, so it must be held back rather than emitted.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string_view>

namespace hearth {

// Length of the longest suffix of `text` that is a proper, non-empty prefix of `marker`
// (0 when none). A full occurrence of `marker` is not a partial match: callers find those first.
inline size_t partial_marker_suffix(std::string_view text, std::string_view marker) {
  const size_t longest = std::min(text.size(), marker.empty() ? size_t{0} : marker.size() - 1);
  for (size_t len = longest; len > 0; --len) {
    if (text.substr(text.size() - len) == marker.substr(0, len)) return len;
  }
  return 0;
}

// ASCII whitespace as JSON and the chat formats define it (space, tab, CR, LF).
inline bool is_ascii_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

}  // namespace hearth
