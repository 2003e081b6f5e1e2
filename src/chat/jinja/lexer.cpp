#include "chat/jinja/lexer.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include "chat/jinja/unicode_text.h"

namespace hearth::jinja {
namespace {

struct OpSpelling {
  std::string_view text;
  Op op;
};

// Longest first, as jinja2 sorts its operator regex.
constexpr OpSpelling kOperators[] = {
    {"//", Op::kFloorDiv}, {"**", Op::kPow},      {"==", Op::kEq},    {"!=", Op::kNe},
    {">=", Op::kGe},       {"<=", Op::kLe},       {"+", Op::kAdd},    {"-", Op::kSub},
    {"/", Op::kDiv},       {"*", Op::kMul},       {"%", Op::kMod},    {"~", Op::kTilde},
    {"[", Op::kLBracket},  {"]", Op::kRBracket},  {"(", Op::kLParen}, {")", Op::kRParen},
    {"{", Op::kLBrace},    {"}", Op::kRBrace},    {">", Op::kGt},     {"<", Op::kLt},
    {"=", Op::kAssign},    {".", Op::kDot},       {":", Op::kColon},  {"|", Op::kPipe},
    {",", Op::kComma},     {";", Op::kSemicolon},
};

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

class Lexer {
 public:
  explicit Lexer(std::string source) : src_(std::move(source)), index_(src_) {}

  LexedTemplate run() {
    while (pos_ < src_.size()) lex_root();
    Token eof;
    eof.type = TokenType::kEof;
    eof.offset = static_cast<uint32_t>(src_.size());
    tokens_.push_back(std::move(eof));
    locate_tokens();
    return {std::move(src_), std::move(tokens_)};
  }

  // Line/column of every token in one pass (tokens are in source order).
  void locate_tokens() {
    uint32_t line = 1;
    uint32_t column = 1;
    size_t pos = 0;
    for (Token& token : tokens_) {
      for (; pos < token.offset && pos < src_.size(); ++pos) {
        const auto byte = static_cast<unsigned char>(src_[pos]);
        if (byte == '\n') {
          ++line;
          column = 1;
        } else if ((byte & 0xC0) != 0x80) {
          ++column;
        }
      }
      token.loc = {line, column};
    }
  }

 private:
  [[noreturn]] void fail(size_t offset, std::string message) const {
    throw JinjaError(ErrorKind::kSyntax, std::move(message),
                     index_.locate(static_cast<uint32_t>(offset)));
  }

  bool at(size_t p, std::string_view s) const { return src_.compare(p, s.size(), s) == 0; }

  // Length of the Python-`\s*` run starting at p (Unicode whitespace).
  size_t whitespace_run(size_t p) const {
    size_t q = p;
    while (q < src_.size()) {
      size_t next = q;
      if (!is_python_space(decode_utf8(src_, next))) break;
      q = next;
    }
    return q - p;
  }

  void push(TokenType type, size_t offset, std::string text = {}) {
    Token t;
    t.type = type;
    t.offset = static_cast<uint32_t>(offset);
    t.text = std::move(text);
    tokens_.push_back(std::move(t));
  }

  // jinja2's OptionalLStrip: text before a tag loses trailing whitespace for `-`, or the
  // indentation of the tag's own line for lstrip_blocks (not for variables, not with `+`).
  void push_data_before_tag(size_t text_start, size_t tag_start, char sign, bool is_variable) {
    std::string_view text(src_.data() + text_start, tag_start - text_start);
    if (sign == '-') {
      text = python_strip(text, std::nullopt, StripSide::kRight);
    } else if (sign != '+' && !is_variable) {
      const size_t last_newline = text.rfind('\n');
      const size_t l_pos = last_newline == std::string_view::npos ? 0 : last_newline + 1;
      const bool line_starting = text_start == 0 || src_[text_start - 1] == '\n';
      if (l_pos > 0 || line_starting) {
        const std::string_view tail = text.substr(l_pos);
        if (std::all_of(tail.begin(), tail.end(), [](char c) { return c == ' ' || c == '\t'; })) {
          text = text.substr(0, l_pos);
        }
      }
    }
    if (!text.empty()) push(TokenType::kData, text_start, std::string(text));
  }

  char sign_at(size_t p) const {
    return p < src_.size() && (src_[p] == '-' || src_[p] == '+') ? src_[p] : '\0';
  }

  // Matches `{%(-|+)?\s*raw\s*(-%}\s*|%})` at p; returns the end offset or 0.
  size_t match_raw_begin(size_t p) const {
    size_t q = p + 2;
    if (sign_at(q)) ++q;
    q += whitespace_run(q);
    if (!at(q, "raw")) return 0;
    q += 3;
    q += whitespace_run(q);
    if (at(q, "-%}")) return q + 3 + whitespace_run(q + 3);
    if (at(q, "%}")) return q + 2;
    return 0;
  }

  void lex_root() {
    size_t p = pos_;
    while (true) {
      p = src_.find('{', p);
      if (p == std::string::npos || p + 1 >= src_.size()) {
        push(TokenType::kData, pos_, src_.substr(pos_));
        pos_ = src_.size();
        return;
      }
      const char next = src_[p + 1];
      if (next == '%' || next == '#' || next == '{') break;
      ++p;
    }
    const char kind = src_[p + 1];
    const char sign = sign_at(p + 2);
    push_data_before_tag(pos_, p, sign, kind == '{');
    if (kind == '%') {
      if (const size_t raw_end = match_raw_begin(p)) {
        lex_raw(p, raw_end);
        return;
      }
    }
    const size_t body = p + 2 + (sign ? 1 : 0);
    if (kind == '#') {
      lex_comment(p, body);
    } else {
      push(kind == '%' ? TokenType::kBlockBegin : TokenType::kVariableBegin, p);
      lex_tag(p, body, kind == '%');
    }
  }

  // Consumes a closing `%}` / `#}` with trim_blocks: one following newline is dropped.
  size_t after_trimmed_end(size_t end) const {
    return end < src_.size() && src_[end] == '\n' ? end + 1 : end;
  }

  void lex_comment(size_t open, size_t body) {
    const size_t close = src_.find("#}", body);
    if (close == std::string::npos) fail(open, "Missing end of comment tag");
    if (close > body && src_[close - 1] == '-') {
      pos_ = close + 2 + whitespace_run(close + 2);
    } else if (close > body && src_[close - 1] == '+') {
      pos_ = close + 2;
    } else {
      pos_ = after_trimmed_end(close + 2);
    }
  }

  void lex_raw(size_t open, size_t content_start) {
    size_t p = content_start;
    while (true) {
      p = src_.find("{%", p);
      if (p == std::string::npos) fail(open, "Missing end of raw directive");
      size_t q = p + 2;
      const char sign = sign_at(q);
      if (sign) ++q;
      q += whitespace_run(q);
      if (at(q, "endraw")) {
        q += 6;
        q += whitespace_run(q);
        size_t end = 0;
        if (at(q, "+%}")) {
          end = q + 3;
        } else if (at(q, "-%}")) {
          end = q + 3 + whitespace_run(q + 3);
        } else if (at(q, "%}")) {
          end = after_trimmed_end(q + 2);
        }
        if (end) {
          push_data_before_tag(content_start, p, sign, false);
          pos_ = end;
          return;
        }
      }
      p += 2;
    }
  }

  void lex_tag(size_t open, size_t p, bool is_block) {
    std::vector<char> balance;
    while (true) {
      if (p >= src_.size()) {
        fail(open, std::string("unexpected end of template: the ") +
                       (is_block ? "block tag" : "variable tag") + " opened here is not closed");
      }
      if (balance.empty()) {
        if (is_block) {
          if (at(p, "+%}")) {
            push(TokenType::kBlockEnd, p);
            pos_ = p + 3;
            return;
          }
          if (at(p, "-%}")) {
            push(TokenType::kBlockEnd, p);
            pos_ = p + 3 + whitespace_run(p + 3);
            return;
          }
          if (at(p, "%}")) {
            push(TokenType::kBlockEnd, p);
            pos_ = after_trimmed_end(p + 2);
            return;
          }
        } else {
          if (at(p, "-}}")) {
            push(TokenType::kVariableEnd, p);
            pos_ = p + 3 + whitespace_run(p + 3);
            return;
          }
          if (at(p, "}}")) {
            push(TokenType::kVariableEnd, p);
            pos_ = p + 2;
            return;
          }
        }
      }
      if (const size_t ws = whitespace_run(p)) {
        p += ws;
        continue;
      }
      p = lex_expression_token(p, balance);
    }
  }

  // One float, integer, name, string or operator token at p; returns the offset after it.
  size_t lex_expression_token(size_t p, std::vector<char>& balance) {
    if (const size_t end = match_float(p)) return end;
    if (const size_t end = match_integer(p)) return end;
    const auto c = static_cast<unsigned char>(src_[p]);
    if (c == '_' || std::isalpha(c) || c >= 0x80) {
      size_t q = p;
      while (q < src_.size()) {
        const auto d = static_cast<unsigned char>(src_[q]);
        if (d < 0x80) {
          if (d != '_' && !std::isalnum(d)) break;
          ++q;
          continue;
        }
        size_t next = q;
        const char32_t cp = decode_utf8(src_, next);
        if (!is_alpha(cp) && !is_decimal_digit(cp)) break;
        q = next;
      }
      if (q > p) {
        push(TokenType::kName, p, src_.substr(p, q - p));
        return q;
      }
    }
    if (c == '\'' || c == '"') return lex_string(p);
    for (const auto& spelling : kOperators) {
      if (!at(p, spelling.text)) continue;
      track_balance(p, spelling.op, balance);
      push(TokenType::kOperator, p);
      tokens_.back().op = spelling.op;
      return p + spelling.text.size();
    }
    size_t next = p;
    std::string ch;
    append_utf8(ch, decode_utf8(src_, next));
    fail(p, "unexpected char '" + ch + "'");
  }

  void track_balance(size_t p, Op op, std::vector<char>& balance) {
    switch (op) {
      case Op::kLBrace:
        balance.push_back('}');
        return;
      case Op::kLParen:
        balance.push_back(')');
        return;
      case Op::kLBracket:
        balance.push_back(']');
        return;
      case Op::kRBrace:
      case Op::kRParen:
      case Op::kRBracket: {
        const char closing = src_[p];
        if (balance.empty()) fail(p, std::string("unexpected '") + closing + "'");
        if (balance.back() != closing) {
          fail(p, std::string("unexpected '") + closing + "', expected '" + balance.back() + "'");
        }
        balance.pop_back();
        return;
      }
      default:
        return;
    }
  }

  // Digits with single underscores between them: (\d+_)*\d+ ; returns the end or p.
  size_t digit_run(size_t p) const {
    size_t q = p;
    if (q >= src_.size() || !is_digit(src_[q])) return p;
    while (true) {
      while (q < src_.size() && is_digit(src_[q])) ++q;
      if (q + 1 < src_.size() && src_[q] == '_' && is_digit(src_[q + 1])) {
        ++q;
        continue;
      }
      return q;
    }
  }

  std::string without_underscores(size_t p, size_t end) const {
    std::string s = src_.substr(p, end - p);
    s.erase(std::remove(s.begin(), s.end(), '_'), s.end());
    return s;
  }

  size_t match_float(size_t p) {
    if (p > 0 && src_[p - 1] == '.') return 0;
    const size_t int_end = digit_run(p);
    if (int_end == p) return 0;
    size_t q = int_end;
    bool has_fraction = false;
    if (q < src_.size() && src_[q] == '.') {
      const size_t frac_end = digit_run(q + 1);
      if (frac_end > q + 1) {
        q = frac_end;
        has_fraction = true;
      }
    }
    size_t end = has_fraction ? q : 0;
    if (q < src_.size() && (src_[q] == 'e' || src_[q] == 'E')) {
      size_t e = q + 1;
      if (e < src_.size() && (src_[e] == '+' || src_[e] == '-')) ++e;
      const size_t exp_end = digit_run(e);
      if (exp_end > e) end = exp_end;
    }
    if (!end) return 0;
    const std::string text = without_underscores(p, end);
    double value = 0;
    const auto res = std::from_chars(text.data(), text.data() + text.size(), value);
    if (res.ec == std::errc::result_out_of_range) {
      // Python's float literal saturates to inf / underflows to 0.
      value = text.find("e-") != std::string::npos || text.find("E-") != std::string::npos
                  ? 0.0
                  : std::numeric_limits<double>::infinity();
    }
    push(TokenType::kFloat, p);
    tokens_.back().float_value = value;
    return end;
  }

  size_t match_integer(size_t p) {
    const char c = src_[p];
    if (!is_digit(c)) return 0;
    int base = 10;
    size_t q = p;
    if (c == '0' && p + 1 < src_.size()) {
      const char x = static_cast<char>(std::tolower(static_cast<unsigned char>(src_[p + 1])));
      base = x == 'b' ? 2 : x == 'o' ? 8 : x == 'x' ? 16 : 10;
    }
    auto is_base_digit = [base](char d) {
      const int lower = std::tolower(static_cast<unsigned char>(d));
      if (base == 16) return std::isxdigit(lower) != 0;
      return d >= '0' && d < static_cast<char>('0' + base);
    };
    if (base != 10) {
      q = p + 2;
      size_t digits_end = q;
      while (true) {
        size_t r = digits_end;
        if (r < src_.size() && src_[r] == '_') ++r;
        if (r < src_.size() && is_base_digit(src_[r])) {
          digits_end = r + 1;
        } else {
          break;
        }
      }
      if (digits_end == q) {
        base = 10;  // "0x" without digits: the integer is just "0"
      } else {
        q = digits_end;
      }
    }
    if (base == 10) {
      q = p + 1;
      const char digit = c == '0' ? '0' : '\0';
      while (true) {
        size_t r = q;
        if (r < src_.size() && src_[r] == '_') ++r;
        if (r < src_.size() && is_digit(src_[r]) && (!digit || src_[r] == '0')) {
          q = r + 1;
        } else {
          break;
        }
      }
    }
    std::string text = without_underscores(base == 10 ? p : p + 2, q);
    uint64_t value = 0;
    const auto res = std::from_chars(text.data(), text.data() + text.size(), value, base);
    if (res.ec != std::errc() ||
        value > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      fail(p, "integer literal " + src_.substr(p, q - p) + " is too large (max 2^63-1)");
    }
    push(TokenType::kInteger, p);
    tokens_.back().int_value = static_cast<int64_t>(value);
    return q;
  }

  // A quoted string; escapes follow Python's "unicode-escape" codec as jinja2 applies it.
  size_t lex_string(size_t p) {
    const char quote = src_[p];
    size_t q = p + 1;
    std::string value;
    while (true) {
      if (q >= src_.size()) fail(p, "unexpected char '" + std::string(1, quote) + "'");
      const char c = src_[q];
      if (c == quote) break;
      if (c != '\\') {
        value += c;
        ++q;
        continue;
      }
      if (q + 1 >= src_.size()) fail(p, "unexpected char '" + std::string(1, quote) + "'");
      q = unescape(q, value);
    }
    push(TokenType::kString, p, std::move(value));
    return q + 1;
  }

  uint32_t hex_value(size_t start, size_t count, size_t esc) const {
    uint32_t v = 0;
    for (size_t i = 0; i < count; ++i) {
      const size_t at_pos = start + i;
      const int d =
          at_pos < src_.size() ? std::tolower(static_cast<unsigned char>(src_[at_pos])) : -1;
      if (d < 0 || !std::isxdigit(d)) {
        fail(esc, "truncated \\" + std::string(1, src_[esc + 1]) + " escape in string literal");
      }
      v = v * 16 + static_cast<uint32_t>(std::isdigit(d) ? d - '0' : d - 'a' + 10);
    }
    return v;
  }

  void append_escaped_code_point(size_t esc, uint32_t cp, std::string& out) const {
    if (cp > 0x10FFFF) fail(esc, "illegal Unicode character in string literal");
    if (cp >= 0xD800 && cp <= 0xDFFF) {
      fail(esc, "surrogate code points are not supported in string literals");
    }
    append_utf8(out, cp);
  }

  // Handles the escape at q (src_[q] == '\\'); returns the offset after it.
  size_t unescape(size_t q, std::string& out) {
    const char e = src_[q + 1];
    switch (e) {
      case '\n':
        return q + 2;
      case '\\':
        out += '\\';
        return q + 2;
      case '\'':
        out += '\'';
        return q + 2;
      case '"':
        out += '"';
        return q + 2;
      case 'a':
        out += '\a';
        return q + 2;
      case 'b':
        out += '\b';
        return q + 2;
      case 'f':
        out += '\f';
        return q + 2;
      case 'n':
        out += '\n';
        return q + 2;
      case 'r':
        out += '\r';
        return q + 2;
      case 't':
        out += '\t';
        return q + 2;
      case 'v':
        out += '\v';
        return q + 2;
      case 'x':
        append_escaped_code_point(q, hex_value(q + 2, 2, q), out);
        return q + 4;
      case 'u':
        append_escaped_code_point(q, hex_value(q + 2, 4, q), out);
        return q + 6;
      case 'U':
        append_escaped_code_point(q, hex_value(q + 2, 8, q), out);
        return q + 10;
      case 'N':
        fail(q, "named unicode escapes (\\N{...}) are not supported");
      default:
        break;
    }
    if (e >= '0' && e <= '7') {
      uint32_t v = 0;
      size_t r = q + 1;
      for (int i = 0; i < 3 && r < src_.size() && src_[r] >= '0' && src_[r] <= '7'; ++i, ++r) {
        v = v * 8 + static_cast<uint32_t>(src_[r] - '0');
      }
      append_escaped_code_point(q, v, out);
      return r;
    }
    out += '\\';
    if (static_cast<unsigned char>(e) < 0x80) {
      out += e;
      return q + 2;
    }
    // jinja2 first turns non-ASCII characters into backslash escapes, so "\é" keeps the
    // backslash and the escape text: "\\xe9".
    size_t next = q + 1;
    const char32_t cp = decode_utf8(src_, next);
    char buf[16];
    if (cp < 0x100) {
      std::snprintf(buf, sizeof(buf), "\\x%02x", static_cast<unsigned>(cp));
    } else if (cp < 0x10000) {
      std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned>(cp));
    } else {
      std::snprintf(buf, sizeof(buf), "\\U%08x", static_cast<unsigned>(cp));
    }
    out += buf + 1;
    return next;
  }

  std::string src_;
  LineIndex index_;
  size_t pos_ = 0;
  std::vector<Token> tokens_;
};

std::string normalize_source(std::string_view source) {
  std::string out;
  out.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      out += '\n';
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      out += source[i];
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

}  // namespace

std::string_view op_text(Op op) {
  for (const auto& spelling : kOperators) {
    if (spelling.op == op) return spelling.text;
  }
  return "?";
}

LineIndex::LineIndex(std::string_view source) : source_(source) {
  line_starts_.push_back(0);
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\n') line_starts_.push_back(static_cast<uint32_t>(i + 1));
  }
}

SourceLoc LineIndex::locate(uint32_t offset) const {
  const auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
  const auto line = static_cast<uint32_t>(it - line_starts_.begin());
  const uint32_t start = line_starts_[line - 1];
  const size_t end = std::min<size_t>(offset, source_.size());
  const auto column =
      static_cast<uint32_t>(count_code_points(source_.substr(start, end - start)) + 1);
  return {line, column};
}

LexedTemplate lex_template(std::string_view source) {
  if (const auto bad = find_invalid_utf8(source)) {
    const std::string prefix = normalize_source(source.substr(0, *bad));
    const LineIndex index(prefix);
    SourceLoc loc = index.locate(static_cast<uint32_t>(prefix.size()));
    throw JinjaError(ErrorKind::kSyntax, "template is not valid UTF-8", loc);
  }
  return Lexer(normalize_source(source)).run();
}

std::string describe_token(const Token& token) {
  switch (token.type) {
    case TokenType::kData:
      return "template data";
    case TokenType::kVariableBegin:
      return "begin of print statement";
    case TokenType::kVariableEnd:
      return "end of print statement";
    case TokenType::kBlockBegin:
      return "begin of statement block";
    case TokenType::kBlockEnd:
      return "end of statement block";
    case TokenType::kName:
      return cat({"'", token.text, "'"});
    case TokenType::kString:
      return "string";
    case TokenType::kInteger:
      return "integer";
    case TokenType::kFloat:
      return "float";
    case TokenType::kOperator:
      return cat({"'", op_text(token.op), "'"});
    case TokenType::kEof:
      return "end of template";
  }
  return "token";
}

}  // namespace hearth::jinja
