// UTF-8 helpers shared by the tokenizer: decoding one code point, replacing invalid sequences the
// way Python's bytes.decode("utf-8", "replace") and Rust's String::from_utf8_lossy do (one U+FFFD
// per maximal invalid subpart), and finding where a byte stream stops being complete.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hearth::utf8 {

inline constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";  // U+FFFD

// Length of the well-formed sequence starting at text[pos], or 0 when the bytes there are not a
// complete well-formed sequence (invalid, or cut short by the end of `text`).
size_t valid_sequence_length(std::string_view text, size_t pos);

// Length of the maximal invalid subpart at text[pos] (>= 1): the bytes that one U+FFFD replaces.
// Only meaningful where valid_sequence_length(text, pos) == 0.
size_t invalid_subpart_length(std::string_view text, size_t pos);

// Byte offset of the first invalid byte, or nullopt when `text` is entirely valid UTF-8.
std::optional<size_t> find_invalid(std::string_view text);

// `text` with every maximal invalid subpart replaced by U+FFFD.
std::string sanitize(std::string_view text);

// Appends the longest prefix of `bytes` that can be converted now: complete sequences as they are,
// invalid subparts as U+FFFD. Returns how many bytes were consumed; the rest is an incomplete
// (but so far valid) sequence at the very end that later bytes may complete. With `final` set,
// that tail is converted too (as U+FFFD) and everything is consumed.
size_t append_lossy(std::string_view bytes, bool final, std::string& out);

// Decodes the code point at text[pos] (which must start a valid sequence) and advances `pos`.
char32_t decode_at(std::string_view text, size_t& pos);

// Appends the UTF-8 encoding of `cp` (a Unicode scalar value).
void append(char32_t cp, std::string& out);

// Number of code points in valid UTF-8 `text`.
size_t count_code_points(std::string_view text);

}  // namespace hearth::utf8
