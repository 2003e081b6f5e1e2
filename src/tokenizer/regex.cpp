#define PCRE2_CODE_UNIT_WIDTH 8
#include "tokenizer/regex.h"

#include <pcre2.h>

#include <optional>

#include "core/log.h"
#include "tokenizer/utf8.h"

namespace hearth {
namespace {

// The White_Space property, which is what Oniguruma's \s matches in Unicode mode.
constexpr std::string_view kWhiteSpaceItems =
    "\\t-\\r\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}"
    "\\x{205F}\\x{3000}";

// Length of the escape sequence at pattern[pos] (which is a backslash), including \p{..},
// \x{..} and similar braced forms.
size_t escape_length(std::string_view pattern, size_t pos) {
  if (pos + 1 >= pattern.size()) return 1;
  size_t n = 2;
  if (pos + 2 < pattern.size() && pattern[pos + 2] == '{') {
    const size_t close = pattern.find('}', pos + 2);
    if (close != std::string_view::npos) n = close - pos + 1;
  }
  return n;
}

}  // namespace

std::string to_pcre2_pattern(std::string_view pattern) {
  std::string out;
  out.reserve(pattern.size() + 64);
  bool in_class = false;
  size_t class_start = 0;  // index in `out` just after "[" or "[^"
  size_t pos = 0;
  while (pos < pattern.size()) {
    const char c = pattern[pos];
    if (c == '\\') {
      const size_t n = escape_length(pattern, pos);
      const char kind = n >= 2 ? pattern[pos + 1] : '\0';
      if (kind == 's' && n == 2) {
        if (in_class) {
          out.append(kWhiteSpaceItems);
        } else {
          out.append("[").append(kWhiteSpaceItems).append("]");
        }
      } else if (kind == 'S' && n == 2 && !in_class) {
        out.append("[^").append(kWhiteSpaceItems).append("]");
      } else {
        out.append(pattern.substr(pos, n));
      }
      pos += n;
      continue;
    }
    if (in_class) {
      if (c == '[' && pattern.substr(pos, 2) == "[:") {
        const size_t close = pattern.find(":]", pos + 2);
        const size_t n = close == std::string_view::npos ? 1 : close + 2 - pos;
        out.append(pattern.substr(pos, n));
        pos += n;
        continue;
      }
      // A ']' right after the opening bracket is a literal member.
      if (c == ']' && out.size() != class_start) in_class = false;
      out.push_back(c);
      ++pos;
      continue;
    }
    if (c == '[') {
      in_class = true;
      out.push_back(c);
      ++pos;
      if (pos < pattern.size() && pattern[pos] == '^') {
        out.push_back('^');
        ++pos;
      }
      class_start = out.size();
      continue;
    }
    out.push_back(c);
    ++pos;
  }
  return out;
}

struct Regex::Code {
  pcre2_code* code = nullptr;
  bool jit = false;
  ~Code() { pcre2_code_free(code); }
};

Expected<Regex> Regex::compile(std::string_view pattern) {
  const std::string translated = to_pcre2_pattern(pattern);
  int error = 0;
  PCRE2_SIZE error_offset = 0;
  pcre2_code* code =
      pcre2_compile(reinterpret_cast<PCRE2_SPTR>(translated.data()), translated.size(),
                    PCRE2_UTF | PCRE2_UCP, &error, &error_offset, nullptr);
  if (code == nullptr) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error, message, sizeof(message));
    return invalid_argument("pre-tokenizer regex '" + std::string(pattern) +
                            "' does not compile: " + reinterpret_cast<const char*>(message) +
                            " (at offset " + std::to_string(error_offset) + " of '" + translated +
                            "')");
  }
  auto holder = std::make_shared<Code>();
  holder->code = code;
  holder->jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
  Regex re;
  re.code_ = std::move(holder);
  re.pattern_ = std::string(pattern);
  return re;
}

namespace {

// Per-thread state for matching: match data sized for any of our patterns (they have no more
// than a few groups) and a JIT stack far larger than the 32 KiB default, used on retry only.
struct MatchScratch {
  pcre2_match_data* data = pcre2_match_data_create(16, nullptr);
  pcre2_jit_stack* big_stack = nullptr;
  pcre2_match_context* big_context = nullptr;
  ~MatchScratch() {
    pcre2_match_context_free(big_context);
    pcre2_jit_stack_free(big_stack);
    pcre2_match_data_free(data);
  }
  pcre2_match_context* large_stack_context() {
    if (big_context == nullptr) {
      big_stack = pcre2_jit_stack_create(64 * 1024, 64 * 1024 * 1024, nullptr);
      big_context = pcre2_match_context_create(nullptr);
      pcre2_jit_stack_assign(big_context, nullptr, big_stack);
    }
    return big_context;
  }
};

MatchScratch& scratch() {
  thread_local MatchScratch s;
  return s;
}

}  // namespace

void Regex::for_each_match(std::string_view text,
                           FunctionRef<void(size_t, size_t)> on_match) const {
  MatchScratch& s = scratch();
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  std::optional<size_t> last_match_end;
  size_t start = 0;
  while (start <= text.size()) {
    int rc =
        pcre2_match(code_->code, subject, text.size(), start, PCRE2_NO_UTF_CHECK, s.data, nullptr);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT) {
      rc = pcre2_match(code_->code, subject, text.size(), start, PCRE2_NO_UTF_CHECK, s.data,
                       s.large_stack_context());
    }
    if (rc == PCRE2_ERROR_NOMATCH) return;
    if (rc < 0) {
      // Only resource limits can get here; the rest of the text stays one unsplit piece.
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(rc, message, sizeof(message));
      spdlog::warn("pre-tokenizer regex stopped at byte {} of {}: {}", start, text.size(),
                   reinterpret_cast<const char*>(message));
      return;
    }
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(s.data);
    const size_t begin = ovector[0];
    const size_t end = ovector[1];
    // Like Oniguruma's iterator: no empty match right where the previous match ended.
    if (begin == end && last_match_end == end) {
      if (start >= text.size()) return;
      const size_t step = utf8::valid_sequence_length(text, start);
      start += step == 0 ? 1 : step;
      continue;
    }
    on_match(begin, end);
    last_match_end = end;
    start = end;
  }
}

}  // namespace hearth
