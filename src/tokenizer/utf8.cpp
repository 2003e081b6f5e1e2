#include "tokenizer/utf8.h"

namespace hearth::utf8 {
namespace {

// Valid range of the second byte for each lead byte (Unicode Table 3-7); later bytes are 80..BF.
struct LeadInfo {
  uint8_t length;  // 0 for bytes that cannot start a sequence
  uint8_t second_lo;
  uint8_t second_hi;
};

LeadInfo lead_info(uint8_t b) {
  if (b < 0x80) return {1, 0, 0};
  if (b < 0xC2) return {0, 0, 0};
  if (b < 0xE0) return {2, 0x80, 0xBF};
  if (b == 0xE0) return {3, 0xA0, 0xBF};
  if (b == 0xED) return {3, 0x80, 0x9F};
  if (b < 0xF0) return {3, 0x80, 0xBF};
  if (b == 0xF0) return {4, 0x90, 0xBF};
  if (b < 0xF4) return {4, 0x80, 0xBF};
  if (b == 0xF4) return {4, 0x80, 0x8F};
  return {0, 0, 0};
}

bool is_continuation(uint8_t b) {
  return (b & 0xC0) == 0x80;
}

// How many bytes from `pos` form a valid prefix of a sequence (the lead plus well-formed
// continuation bytes), and the length the full sequence needs.
size_t valid_prefix_length(std::string_view text, size_t pos, size_t& needed) {
  const auto lead = static_cast<uint8_t>(text[pos]);
  const LeadInfo info = lead_info(lead);
  needed = info.length;
  if (info.length == 0) return 0;
  size_t n = 1;
  while (n < info.length && pos + n < text.size()) {
    const auto b = static_cast<uint8_t>(text[pos + n]);
    const bool ok = n == 1 ? (b >= info.second_lo && b <= info.second_hi) : is_continuation(b);
    if (!ok) break;
    ++n;
  }
  return n;
}

}  // namespace

size_t valid_sequence_length(std::string_view text, size_t pos) {
  size_t needed = 0;
  const size_t n = valid_prefix_length(text, pos, needed);
  return (needed != 0 && n == needed) ? n : 0;
}

size_t invalid_subpart_length(std::string_view text, size_t pos) {
  size_t needed = 0;
  const size_t n = valid_prefix_length(text, pos, needed);
  return n == 0 ? 1 : n;
}

std::optional<size_t> find_invalid(std::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    if (static_cast<uint8_t>(text[pos]) < 0x80) {
      ++pos;
      continue;
    }
    const size_t n = valid_sequence_length(text, pos);
    if (n == 0) return pos;
    pos += n;
  }
  return std::nullopt;
}

std::string sanitize(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  append_lossy(text, /*final=*/true, out);
  return out;
}

size_t append_lossy(std::string_view bytes, bool final, std::string& out) {
  size_t pos = 0;
  size_t run_start = 0;  // start of valid bytes not yet copied
  while (pos < bytes.size()) {
    if (static_cast<uint8_t>(bytes[pos]) < 0x80) {
      ++pos;
      continue;
    }
    size_t needed = 0;
    const size_t n = valid_prefix_length(bytes, pos, needed);
    if (needed != 0 && n == needed) {
      pos += n;
      continue;
    }
    // A valid prefix cut off by the end of the input may still be completed by later bytes.
    if (!final && needed != 0 && pos + n == bytes.size()) break;
    out.append(bytes.data() + run_start, pos - run_start);
    out.append(kReplacementChar);
    pos += n == 0 ? 1 : n;
    run_start = pos;
  }
  out.append(bytes.data() + run_start, pos - run_start);
  return pos;
}

char32_t decode_at(std::string_view text, size_t& pos) {
  const auto b0 = static_cast<uint8_t>(text[pos]);
  if (b0 < 0x80) {
    ++pos;
    return b0;
  }
  const size_t n = valid_sequence_length(text, pos);
  if (n == 0) {  // callers pass valid text; stay total anyway
    ++pos;
    return 0xFFFD;
  }
  char32_t cp = b0 & (0x7F >> n);
  for (size_t i = 1; i < n; ++i) cp = (cp << 6) | (static_cast<uint8_t>(text[pos + i]) & 0x3F);
  pos += n;
  return cp;
}

void append(char32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

size_t count_code_points(std::string_view text) {
  size_t n = 0;
  for (char c : text) n += !is_continuation(static_cast<uint8_t>(c));
  return n;
}

}  // namespace hearth::utf8
