// UTF-8 text helpers with Python `str` semantics: code-point indexing, whitespace, case mapping,
// strip/split/splitlines. Every string inside the Jinja runtime is valid UTF-8 (checked where it
// enters), so these functions never see malformed input.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/utf8.h"  // find_invalid_utf8, where text enters the runtime

namespace hearth::jinja {

// Decodes the code point at `pos` (valid UTF-8) and advances `pos` past it.
char32_t decode_utf8(std::string_view text, size_t& pos);
void append_utf8(std::string& out, char32_t cp);
size_t count_code_points(std::string_view text);
std::vector<char32_t> to_code_points(std::string_view text);
std::string from_code_points(const std::vector<char32_t>& cps, size_t begin, size_t end);
// Byte offset of code point number `index` (index <= count), scanning from the start.
size_t byte_offset_of_code_point(std::string_view text, size_t index);

// Python's str.isspace() for one code point (Unicode whitespace incl. \x1c-\x1f, \x85, \xa0).
bool is_python_space(char32_t cp);
// Python's str.isprintable() for one code point; approximate outside the Cc/Cf/Z*/Co classes.
bool is_python_printable(char32_t cp);
// Line boundaries of Python's str.splitlines().
bool is_python_line_break(char32_t cp);
bool is_cased_letter(char32_t cp);
bool is_titlecase_letter(char32_t cp);
bool is_upper_letter(char32_t cp);
bool is_lower_letter(char32_t cp);
bool is_alpha(char32_t cp);
bool is_decimal_digit(char32_t cp);

// Python str methods.
std::string python_upper(std::string_view text);
std::string python_lower(std::string_view text);
std::string python_swapcase(std::string_view text);
std::string python_capitalize(std::string_view text);
std::string python_title(std::string_view text);  // str.title(): every cased run starts upper
// Appends the upper-case form of one code point (may be several code points: 'ß' -> "SS").
void append_upper(std::string& out, char32_t cp);

// strip/lstrip/rstrip with `chars` (nullopt: Unicode whitespace).
enum class StripSide { kBoth, kLeft, kRight };
std::string_view python_strip(std::string_view text, const std::optional<std::string>& chars,
                              StripSide side);
// str.split(sep=None|sep, maxsplit) and str.rsplit; `sep` empty is rejected by the caller.
std::vector<std::string> python_split(std::string_view text, const std::optional<std::string>& sep,
                                      long long maxsplit, bool from_right);
std::vector<std::string> python_splitlines(std::string_view text, bool keepends);
// str.replace(old, new, count); count < 0 replaces all. Empty `old` inserts between code points.
std::string python_replace(std::string_view text, std::string_view old_text,
                           std::string_view new_text, long long count);

}  // namespace hearth::jinja
