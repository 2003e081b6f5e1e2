// GPT-2's byte-level alphabet: every byte is spelled as one printable code point so that
// byte-level BPE vocabularies are valid text ("Ġ" is the space byte 0x20).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hearth::byte_level {

// The code point that spells `byte`.
char32_t byte_to_char(uint8_t byte);

// The byte a code point of the alphabet spells, or nullopt for code points outside it.
std::optional<uint8_t> char_to_byte(char32_t cp);

// Raw bytes of a token written in the alphabet, or nullopt when some code point is outside it
// (such tokens, e.g. added tokens, are kept as their UTF-8 text).
std::optional<std::string> decode_token(std::string_view spelled);

// The alphabet spelling of raw bytes (for error messages and tests).
std::string encode_bytes(std::string_view bytes);

}  // namespace hearth::byte_level
