#include "chat/jinja/unicode_text.h"

#include <locale.h>
#include <wctype.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace hearth::jinja {
namespace {

// glibc's C.UTF-8 locale carries the Unicode case and class tables; when it is missing the
// helpers fall back to ASCII rules.
locale_t unicode_locale() {
  static const locale_t loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(nullptr));
  return loc;
}

bool in_ranges(char32_t cp, std::initializer_list<std::pair<char32_t, char32_t>> ranges) {
  for (const auto& [lo, hi] : ranges) {
    if (cp >= lo && cp <= hi) return true;
  }
  return false;
}

char32_t simple_upper(char32_t cp) {
  if (cp < 0x80) return (cp >= 'a' && cp <= 'z') ? cp - 32 : cp;
  const locale_t loc = unicode_locale();
  return loc ? static_cast<char32_t>(towupper_l(static_cast<wint_t>(cp), loc)) : cp;
}

char32_t simple_lower(char32_t cp) {
  if (cp < 0x80) return (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
  const locale_t loc = unicode_locale();
  return loc ? static_cast<char32_t>(towlower_l(static_cast<wint_t>(cp), loc)) : cp;
}

// Unconditional multi-code-point mappings from Unicode's SpecialCasing.txt: upper case and,
// where it is not "first character upper, rest lower", title case.
struct SpecialCase {
  char32_t cp;
  const char32_t* upper;
  const char32_t* title;  // null: derived from `upper`
};

constexpr SpecialCase kSpecialCases[] = {
    {0xDF, U"SS", nullptr},
    {0x149, U"\u02BCN", U"\u02BCN"},
    {0x1F0, U"J\u030C", nullptr},
    {0x390, U"\u0399\u0308\u0301", nullptr},
    {0x3B0, U"\u03A5\u0308\u0301", nullptr},
    {0x587, U"\u0535\u0552", nullptr},
    {0x1E96, U"H\u0331", nullptr},
    {0x1E97, U"T\u0308", nullptr},
    {0x1E98, U"W\u030A", nullptr},
    {0x1E99, U"Y\u030A", nullptr},
    {0x1E9A, U"A\u02BE", nullptr},
    {0x1F50, U"\u03A5\u0313", nullptr},
    {0x1F52, U"\u03A5\u0313\u0300", nullptr},
    {0x1F54, U"\u03A5\u0313\u0301", nullptr},
    {0x1F56, U"\u03A5\u0313\u0342", nullptr},
    {0x1FB2, U"\u1FBA\u0399", U"\u1FBA\u0345"},
    {0x1FB3, U"\u0391\u0399", U"\u1FBC"},
    {0x1FB4, U"\u0386\u0399", U"\u0386\u0345"},
    {0x1FB6, U"\u0391\u0342", nullptr},
    {0x1FB7, U"\u0391\u0342\u0399", U"\u0391\u0342\u0345"},
    {0x1FBC, U"\u0391\u0399", U"\u1FBC"},
    {0x1FC2, U"\u1FCA\u0399", U"\u1FCA\u0345"},
    {0x1FC3, U"\u0397\u0399", U"\u1FCC"},
    {0x1FC4, U"\u0389\u0399", U"\u0389\u0345"},
    {0x1FC6, U"\u0397\u0342", nullptr},
    {0x1FC7, U"\u0397\u0342\u0399", U"\u0397\u0342\u0345"},
    {0x1FCC, U"\u0397\u0399", U"\u1FCC"},
    {0x1FD2, U"\u0399\u0308\u0300", nullptr},
    {0x1FD3, U"\u0399\u0308\u0301", nullptr},
    {0x1FD6, U"\u0399\u0342", nullptr},
    {0x1FD7, U"\u0399\u0308\u0342", nullptr},
    {0x1FE2, U"\u03A5\u0308\u0300", nullptr},
    {0x1FE3, U"\u03A5\u0308\u0301", nullptr},
    {0x1FE4, U"\u03A1\u0313", nullptr},
    {0x1FE6, U"\u03A5\u0342", nullptr},
    {0x1FE7, U"\u03A5\u0308\u0342", nullptr},
    {0x1FF2, U"\u1FFA\u0399", U"\u1FFA\u0345"},
    {0x1FF3, U"\u03A9\u0399", U"\u1FFC"},
    {0x1FF4, U"\u038F\u0399", U"\u038F\u0345"},
    {0x1FF6, U"\u03A9\u0342", nullptr},
    {0x1FF7, U"\u03A9\u0342\u0399", U"\u03A9\u0342\u0345"},
    {0x1FFC, U"\u03A9\u0399", U"\u1FFC"},
    {0xFB00, U"FF", nullptr},
    {0xFB01, U"FI", nullptr},
    {0xFB02, U"FL", nullptr},
    {0xFB03, U"FFI", nullptr},
    {0xFB04, U"FFL", nullptr},
    {0xFB05, U"ST", nullptr},
    {0xFB06, U"ST", nullptr},
    {0xFB13, U"\u0544\u0546", nullptr},
    {0xFB14, U"\u0544\u0535", nullptr},
    {0xFB15, U"\u0544\u053B", nullptr},
    {0xFB16, U"\u054E\u0546", nullptr},
    {0xFB17, U"\u0544\u053D", nullptr},
};

const SpecialCase* special_case(char32_t cp) {
  for (const auto& entry : kSpecialCases) {
    if (entry.cp == cp) return &entry;
  }
  return nullptr;
}

// Greek letters with ypogegrammeni (U+1F80..U+1FAF): upper case is the capital plus IOTA,
// title case the prosgegrammeni form.
bool greek_iota(char32_t cp, char32_t& capital, char32_t& title) {
  if (cp < 0x1F80 || cp > 0x1FAF) return false;
  const char32_t row = (cp - 0x1F80) / 16;  // alpha, eta, omega rows
  const char32_t base[] = {0x1F08, 0x1F28, 0x1F68};
  capital = base[row] + (cp & 0x7);
  title = 0x1F88 + row * 16 + (cp & 0x7);
  return true;
}

const char32_t* special_upper(char32_t cp) {
  const SpecialCase* entry = special_case(cp);
  return entry ? entry->upper : nullptr;
}

void append_lower(std::string& out, char32_t cp) {
  if (cp == 0x130) {  // 'İ' lower-cases to "i" + COMBINING DOT ABOVE
    out += 'i';
    append_utf8(out, 0x307);
    return;
  }
  append_utf8(out, simple_lower(cp));
}

void append_title(std::string& out, char32_t cp) {
  // Latin digraphs have a distinct title-case letter.
  if (cp >= 0x1C4 && cp <= 0x1CC) {
    append_utf8(out, 0x1C5 + 3 * ((cp - 0x1C4) / 3));
    return;
  }
  if (cp >= 0x1F1 && cp <= 0x1F3) {
    append_utf8(out, 0x1F2);
    return;
  }
  char32_t capital = 0;
  char32_t title = 0;
  if (greek_iota(cp, capital, title)) {
    append_utf8(out, title);
    return;
  }
  if (const SpecialCase* entry = special_case(cp)) {
    if (entry->title) {
      for (const char32_t* p = entry->title; *p; ++p) append_utf8(out, *p);
      return;
    }
    append_utf8(out, entry->upper[0]);
    for (const char32_t* p = entry->upper + 1; *p; ++p) append_utf8(out, simple_lower(*p));
    return;
  }
  append_utf8(out, simple_upper(cp));
}

bool is_case_ignorable(char32_t cp) {
  return cp == '\'' || cp == '.' || cp == ':' || cp == '^' || cp == '`' || cp == 0xAD ||
         cp == 0xB7 || cp == 0x2019 || (cp >= 0x300 && cp <= 0x36F);
}

// Python lower-cases a capital sigma to final sigma at the end of a word.
char32_t lower_sigma(const std::vector<char32_t>& cps, size_t i) {
  size_t j = i;
  bool before_cased = false;
  while (j > 0) {
    --j;
    if (!is_case_ignorable(cps[j])) {
      before_cased = is_cased_letter(cps[j]);
      break;
    }
  }
  if (!before_cased) return 0x3C3;
  for (size_t k = i + 1; k < cps.size(); ++k) {
    if (!is_case_ignorable(cps[k])) return is_cased_letter(cps[k]) ? 0x3C3 : 0x3C2;
  }
  return 0x3C2;
}

void append_lower_at(std::string& out, const std::vector<char32_t>& cps, size_t i) {
  if (cps[i] == 0x3A3) {
    append_utf8(out, lower_sigma(cps, i));
  } else {
    append_lower(out, cps[i]);
  }
}

bool in_strip_set(char32_t cp, const std::optional<std::string>& chars) {
  if (!chars) return is_python_space(cp);
  size_t pos = 0;
  while (pos < chars->size()) {
    if (decode_utf8(*chars, pos) == cp) return true;
  }
  return false;
}

}  // namespace

char32_t decode_utf8(std::string_view text, size_t& pos) {
  const auto b0 = static_cast<unsigned char>(text[pos]);
  if (b0 < 0x80) {
    ++pos;
    return b0;
  }
  size_t len = (b0 & 0xE0) == 0xC0 ? 2 : (b0 & 0xF0) == 0xE0 ? 3 : 4;
  char32_t cp = b0 & (len == 2 ? 0x1F : len == 3 ? 0x0F : 0x07);
  for (size_t k = 1; k < len && pos + k < text.size(); ++k) {
    cp = (cp << 6) | (static_cast<unsigned char>(text[pos + k]) & 0x3F);
  }
  pos = std::min(text.size(), pos + len);
  return cp;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

size_t count_code_points(std::string_view text) {
  size_t n = 0;
  for (const char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

std::vector<char32_t> to_code_points(std::string_view text) {
  std::vector<char32_t> cps;
  cps.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) cps.push_back(decode_utf8(text, pos));
  return cps;
}

std::string from_code_points(const std::vector<char32_t>& cps, size_t begin, size_t end) {
  std::string out;
  for (size_t i = begin; i < end && i < cps.size(); ++i) append_utf8(out, cps[i]);
  return out;
}

size_t byte_offset_of_code_point(std::string_view text, size_t index) {
  size_t pos = 0;
  for (size_t i = 0; i < index && pos < text.size(); ++i) decode_utf8(text, pos);
  return pos;
}

bool is_python_space(char32_t cp) {
  if (cp < 0x80) return cp == ' ' || (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x1F);
  return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
         cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

bool is_python_printable(char32_t cp) {
  if (cp < 0x80) return cp >= 0x20 && cp < 0x7F;
  if (cp <= 0xA0) return false;  // C1 controls and NO-BREAK SPACE
  // Separators (Z*), format characters (Cf), private use (Co) and noncharacters.
  if (in_ranges(cp, {{0xAD, 0xAD},       {0x600, 0x605},     {0x61C, 0x61C},     {0x6DD, 0x6DD},
                     {0x70F, 0x70F},     {0x890, 0x891},     {0x8E2, 0x8E2},     {0x1680, 0x1680},
                     {0x180E, 0x180E},   {0x2000, 0x200F},   {0x2028, 0x202F},   {0x205F, 0x2064},
                     {0x2066, 0x206F},   {0x3000, 0x3000},   {0xD800, 0xF8FF},   {0xFDD0, 0xFDEF},
                     {0xFEFF, 0xFEFF},   {0xFFF9, 0xFFFB},   {0x110BD, 0x110BD}, {0x110CD, 0x110CD},
                     {0x13430, 0x1343F}, {0x1BCA0, 0x1BCA3}, {0x1D173, 0x1D17A}, {0xE0001, 0xE0001},
                     {0xE0020, 0xE007F}, {0xF0000, 0x10FFFF}})) {
    return false;
  }
  if ((cp & 0xFFFE) == 0xFFFE) return false;
  const locale_t loc = unicode_locale();
  return loc ? iswprint_l(static_cast<wint_t>(cp), loc) != 0 : true;
}

bool is_python_line_break(char32_t cp) {
  return cp == '\n' || cp == '\r' || cp == 0x0B || cp == 0x0C || cp == 0x1C || cp == 0x1D ||
         cp == 0x1E || cp == 0x85 || cp == 0x2028 || cp == 0x2029;
}

// Title-case letters (category Lt): Python counts them as cased but neither upper nor lower.
bool is_titlecase_letter(char32_t cp) {
  return cp == 0x1C5 || cp == 0x1C8 || cp == 0x1CB || cp == 0x1F2 ||
         (cp >= 0x1F88 && cp <= 0x1F8F) || (cp >= 0x1F98 && cp <= 0x1F9F) ||
         (cp >= 0x1FA8 && cp <= 0x1FAF) || cp == 0x1FBC || cp == 0x1FCC || cp == 0x1FFC;
}

bool is_upper_letter(char32_t cp) {
  if (cp < 0x80) return cp >= 'A' && cp <= 'Z';
  if (is_titlecase_letter(cp)) return false;
  const locale_t loc = unicode_locale();
  return loc && iswupper_l(static_cast<wint_t>(cp), loc) != 0;
}

bool is_lower_letter(char32_t cp) {
  if (cp < 0x80) return cp >= 'a' && cp <= 'z';
  if (is_titlecase_letter(cp)) return false;
  const locale_t loc = unicode_locale();
  return loc && iswlower_l(static_cast<wint_t>(cp), loc) != 0;
}

bool is_cased_letter(char32_t cp) {
  return is_upper_letter(cp) || is_lower_letter(cp) || is_titlecase_letter(cp);
}

bool is_alpha(char32_t cp) {
  if (cp < 0x80) return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z');
  const locale_t loc = unicode_locale();
  return loc && iswalpha_l(static_cast<wint_t>(cp), loc) != 0 && !is_decimal_digit(cp);
}

bool is_decimal_digit(char32_t cp) {
  if (cp < 0x80) return cp >= '0' && cp <= '9';
  return in_ranges(cp, {{0x660, 0x669}, {0x6F0, 0x6F9}, {0x966, 0x96F}, {0xFF10, 0xFF19}});
}

void append_upper(std::string& out, char32_t cp) {
  char32_t capital = 0;
  char32_t title = 0;
  if (greek_iota(cp, capital, title)) {
    append_utf8(out, capital);
    append_utf8(out, 0x399);
    return;
  }
  if (const char32_t* special = special_upper(cp)) {
    for (const char32_t* p = special; *p; ++p) append_utf8(out, *p);
    return;
  }
  append_utf8(out, simple_upper(cp));
}

std::string python_upper(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) append_upper(out, decode_utf8(text, pos));
  return out;
}

std::string python_lower(std::string_view text) {
  const std::vector<char32_t> cps = to_code_points(text);
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < cps.size(); ++i) append_lower_at(out, cps, i);
  return out;
}

std::string python_swapcase(std::string_view text) {
  const std::vector<char32_t> cps = to_code_points(text);
  std::string out;
  for (size_t i = 0; i < cps.size(); ++i) {
    if (is_upper_letter(cps[i])) {
      append_lower_at(out, cps, i);
    } else if (is_lower_letter(cps[i])) {
      append_upper(out, cps[i]);
    } else {
      append_utf8(out, cps[i]);
    }
  }
  return out;
}

std::string python_capitalize(std::string_view text) {
  const std::vector<char32_t> cps = to_code_points(text);
  std::string out;
  for (size_t i = 0; i < cps.size(); ++i) {
    if (i == 0) {
      append_title(out, cps[i]);
    } else {
      append_lower_at(out, cps, i);
    }
  }
  return out;
}

std::string python_title(std::string_view text) {
  const std::vector<char32_t> cps = to_code_points(text);
  std::string out;
  bool previous_is_cased = false;
  for (size_t i = 0; i < cps.size(); ++i) {
    if (previous_is_cased) {
      append_lower_at(out, cps, i);
    } else {
      append_title(out, cps[i]);
    }
    previous_is_cased = is_cased_letter(cps[i]);
  }
  return out;
}

std::string_view python_strip(std::string_view text, const std::optional<std::string>& chars,
                              StripSide side) {
  size_t begin = 0;
  size_t end = text.size();
  if (side != StripSide::kRight) {
    while (begin < end) {
      size_t next = begin;
      if (!in_strip_set(decode_utf8(text, next), chars)) break;
      begin = next;
    }
  }
  if (side != StripSide::kLeft) {
    while (end > begin) {
      size_t start = end - 1;
      while (start > begin && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
      size_t probe = start;
      if (!in_strip_set(decode_utf8(text, probe), chars)) break;
      end = start;
    }
  }
  return text.substr(begin, end - begin);
}

namespace {

std::vector<std::string> split_whitespace(std::string_view text, long long maxsplit) {
  const std::vector<char32_t> cps = to_code_points(text);
  std::vector<std::string> parts;
  size_t i = 0;
  const size_t n = cps.size();
  while (true) {
    while (i < n && is_python_space(cps[i])) ++i;
    if (i >= n) break;
    if (maxsplit >= 0 && static_cast<long long>(parts.size()) >= maxsplit) {
      parts.push_back(from_code_points(cps, i, n));
      break;
    }
    size_t j = i;
    while (j < n && !is_python_space(cps[j])) ++j;
    parts.push_back(from_code_points(cps, i, j));
    i = j;
  }
  return parts;
}

std::vector<std::string> rsplit_whitespace(std::string_view text, long long maxsplit) {
  const std::vector<char32_t> cps = to_code_points(text);
  std::vector<std::string> parts;
  size_t end = cps.size();
  while (true) {
    while (end > 0 && is_python_space(cps[end - 1])) --end;
    if (end == 0) break;
    if (maxsplit >= 0 && static_cast<long long>(parts.size()) >= maxsplit) {
      parts.push_back(from_code_points(cps, 0, end));
      break;
    }
    size_t start = end;
    while (start > 0 && !is_python_space(cps[start - 1])) --start;
    parts.push_back(from_code_points(cps, start, end));
    end = start;
  }
  std::reverse(parts.begin(), parts.end());
  return parts;
}

}  // namespace

std::vector<std::string> python_split(std::string_view text, const std::optional<std::string>& sep,
                                      long long maxsplit, bool from_right) {
  if (!sep)
    return from_right ? rsplit_whitespace(text, maxsplit) : split_whitespace(text, maxsplit);
  std::vector<std::string> parts;
  const std::string& s = *sep;
  if (!from_right) {
    size_t start = 0;
    while (maxsplit < 0 || static_cast<long long>(parts.size()) < maxsplit) {
      const size_t hit = text.find(s, start);
      if (hit == std::string_view::npos) break;
      parts.emplace_back(text.substr(start, hit - start));
      start = hit + s.size();
    }
    parts.emplace_back(text.substr(start));
    return parts;
  }
  size_t end = text.size();
  while (maxsplit < 0 || static_cast<long long>(parts.size()) < maxsplit) {
    if (end < s.size()) break;
    const size_t hit = text.rfind(s, end - s.size());
    if (hit == std::string_view::npos) break;
    parts.emplace_back(text.substr(hit + s.size(), end - hit - s.size()));
    end = hit;
  }
  parts.emplace_back(text.substr(0, end));
  std::reverse(parts.begin(), parts.end());
  return parts;
}

std::vector<std::string> python_splitlines(std::string_view text, bool keepends) {
  std::vector<std::string> lines;
  size_t start = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t cp_start = pos;
    const char32_t cp = decode_utf8(text, pos);
    if (!is_python_line_break(cp)) continue;
    size_t line_end = pos;
    if (cp == '\r' && pos < text.size() && text[pos] == '\n') line_end = ++pos;
    lines.emplace_back(text.substr(start, (keepends ? line_end : cp_start) - start));
    start = pos;
  }
  if (start < text.size()) lines.emplace_back(text.substr(start));
  return lines;
}

std::string python_replace(std::string_view text, std::string_view old_text,
                           std::string_view new_text, long long count) {
  std::string out;
  long long done = 0;
  if (old_text.empty()) {
    size_t pos = 0;
    while (true) {
      if (count >= 0 && done >= count) break;
      out.append(new_text);
      ++done;
      if (pos >= text.size()) break;
      const size_t start = pos;
      decode_utf8(text, pos);
      out.append(text.substr(start, pos - start));
    }
    out.append(text.substr(pos));
    return out;
  }
  size_t start = 0;
  while (count < 0 || done < count) {
    const size_t hit = text.find(old_text, start);
    if (hit == std::string_view::npos) break;
    out.append(text.substr(start, hit - start));
    out.append(new_text);
    start = hit + old_text.size();
    ++done;
  }
  out.append(text.substr(start));
  return out;
}

}  // namespace hearth::jinja
