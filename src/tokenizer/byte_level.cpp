#include "tokenizer/byte_level.h"

#include <array>

#include "tokenizer/utf8.h"

namespace hearth::byte_level {
namespace {

// Printable Latin-1 bytes spell themselves; the other 68 bytes take code points from U+0100 up,
// in byte order (the table GPT-2 published and every byte-level vocabulary uses).
struct Tables {
  std::array<char32_t, 256> to_char{};
  std::array<int16_t, 324> to_byte{};  // indexed by code point; every spelling is below U+0144

  Tables() {
    to_byte.fill(-1);
    char32_t next = 0x100;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
      to_char[b] = printable ? static_cast<char32_t>(b) : next++;
      to_byte[to_char[b]] = static_cast<int16_t>(b);
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

}  // namespace

char32_t byte_to_char(uint8_t byte) {
  return tables().to_char[byte];
}

std::optional<uint8_t> char_to_byte(char32_t cp) {
  if (cp >= tables().to_byte.size()) return std::nullopt;
  const int16_t b = tables().to_byte[cp];
  if (b < 0) return std::nullopt;
  return static_cast<uint8_t>(b);
}

std::optional<std::string> decode_token(std::string_view spelled) {
  std::string out;
  out.reserve(spelled.size());
  size_t pos = 0;
  while (pos < spelled.size()) {
    if (utf8::valid_sequence_length(spelled, pos) == 0) return std::nullopt;
    const auto b = char_to_byte(utf8::decode_at(spelled, pos));
    if (!b) return std::nullopt;
    out.push_back(static_cast<char>(*b));
  }
  return out;
}

std::string encode_bytes(std::string_view bytes) {
  std::string out;
  for (char c : bytes) utf8::append(byte_to_char(static_cast<uint8_t>(c)), out);
  return out;
}

}  // namespace hearth::byte_level
