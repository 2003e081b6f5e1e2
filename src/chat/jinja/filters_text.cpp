// Text, number and JSON filters, following jinja2/filters.py (3.1) with autoescape off and
// transformers' tojson.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "chat/jinja/builtin_functions.h"
#include "chat/jinja/builtins.h"
#include "chat/jinja/error.h"
#include "chat/jinja/interpreter.h"
#include "chat/jinja/json_value.h"
#include "chat/jinja/operators.h"
#include "chat/jinja/python_format.h"
#include "chat/jinja/string_format.h"
#include "chat/jinja/unicode_text.h"

namespace hearth::jinja {
namespace {

Value text_result(Interpreter& interp, std::string s) {
  interp.budget().charge(s.size());
  return Value::string(std::move(s));
}

// jinja2's soft_str: strings stay as they are, everything else goes through str().
std::string soft_str(const Value& v) {
  return python_str(v);
}

bool is_digit_char(char c) {
  return c >= '0' && c <= '9';
}

// Digits of `base` with single underscores between them; returns false on anything else.
bool parse_digits(std::string_view s, int base, uint64_t& value, bool& overflow) {
  if (s.empty() || s.front() == '_' || s.back() == '_') return false;
  value = 0;
  overflow = false;
  char previous = '\0';
  for (const char c : s) {
    if (c == '_') {
      if (previous == '_') return false;
      previous = c;
      continue;
    }
    int digit;
    if (is_digit_char(c)) {
      digit = c - '0';
    } else if (c >= 'a' && c <= 'z') {
      digit = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'Z') {
      digit = c - 'A' + 10;
    } else {
      return false;
    }
    if (digit >= base) return false;
    if (__builtin_mul_overflow(value, static_cast<uint64_t>(base), &value) ||
        __builtin_add_overflow(value, static_cast<uint64_t>(digit), &value)) {
      overflow = true;
    }
    previous = c;
  }
  return true;
}

// Python's int(str, base); nullopt for what Python rejects with ValueError.
std::optional<int64_t> python_int_from_string(const std::string& text, int base) {
  std::string_view s = python_strip(text, std::nullopt, StripSide::kBoth);
  bool negative = false;
  if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  auto has_prefix = [&](char p) {
    return s.size() >= 2 && s[0] == '0' && (s[1] == p || s[1] == p - 32);
  };
  if (base == 0) {
    if (has_prefix('x')) {
      base = 16;
    } else if (has_prefix('o')) {
      base = 8;
    } else if (has_prefix('b')) {
      base = 2;
    } else {
      base = 10;
      if (s.size() > 1 && s[0] == '0' && s.find_first_not_of("0_") != std::string_view::npos) {
        return std::nullopt;
      }
    }
    if (base != 10) s.remove_prefix(2);
  } else if ((base == 16 && has_prefix('x')) || (base == 8 && has_prefix('o')) ||
             (base == 2 && has_prefix('b'))) {
    s.remove_prefix(2);
    if (!s.empty() && s.front() == '_') s.remove_prefix(1);
  }
  if (base < 2 || base > 36) throw_runtime("int() base must be >= 2 and <= 36, or 0");
  uint64_t magnitude = 0;
  bool overflow = false;
  if (!parse_digits(s, base, magnitude, overflow)) return std::nullopt;
  if (overflow || magnitude > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) + 1 ||
      (!negative && magnitude > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))) {
    throw_runtime("integer " + text + " does not fit in 64 bits");
  }
  return negative ? static_cast<int64_t>(0 - magnitude) : static_cast<int64_t>(magnitude);
}

// Python's float(str); nullopt for what Python rejects.
std::optional<double> python_float_from_string(const std::string& text) {
  std::string_view s = python_strip(text, std::nullopt, StripSide::kBoth);
  std::string lowered;
  for (const char c : s) lowered += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string_view body = lowered;
  double sign = 1;
  if (!body.empty() && (body.front() == '+' || body.front() == '-')) {
    sign = body.front() == '-' ? -1 : 1;
    body.remove_prefix(1);
  }
  if (body == "inf" || body == "infinity") return sign * std::numeric_limits<double>::infinity();
  if (body == "nan") return std::numeric_limits<double>::quiet_NaN();
  // [digits][.digits][e[+-]digits] with single underscores between digits.
  std::string clean;
  size_t i = 0;
  auto digits = [&](bool required) {
    const size_t start = i;
    while (i < body.size() &&
           (is_digit_char(body[i]) || (body[i] == '_' && i > start && i + 1 < body.size() &&
                                       is_digit_char(body[i + 1]) && is_digit_char(body[i - 1])))) {
      if (body[i] != '_') clean += body[i];
      ++i;
    }
    return !required || i > start;
  };
  const bool has_int = digits(false) && !clean.empty();
  bool has_frac = false;
  if (i < body.size() && body[i] == '.') {
    clean += '.';
    ++i;
    const size_t before = clean.size();
    digits(false);
    has_frac = clean.size() > before;
  }
  if (!has_int && !has_frac) return std::nullopt;
  if (i < body.size() && body[i] == 'e') {
    clean += 'e';
    ++i;
    if (i < body.size() && (body[i] == '+' || body[i] == '-')) clean += body[i++];
    if (!digits(true)) return std::nullopt;
  }
  if (i != body.size()) return std::nullopt;
  return sign * std::strtod(clean.c_str(), nullptr);
}

// Python's round(x, ndigits) for floats: correctly rounded, ties to even.
double python_round(double x, int64_t ndigits) {
  if (!std::isfinite(x)) return x;
  if (ndigits > 22) return x;
  if (ndigits >= 0) {
    char buf[512];
    std::snprintf(buf, sizeof(buf), "%.*f", static_cast<int>(ndigits), x);
    return std::strtod(buf, nullptr);
  }
  if (ndigits < -308) return std::copysign(0.0, x);
  const double scale = std::pow(10.0, static_cast<double>(-ndigits));
  return std::nearbyint(x / scale) * scale;
}

}  // namespace

Value filter_abs(Interpreter&, const Value& input, CallArgs& args) {
  ArgBinder("abs", args, {});
  if (input.is_float()) return Value::floating(std::fabs(input.float_value()));
  if (input.is_int() || input.is_bool()) {
    const int64_t i = input.as_int();
    if (i == std::numeric_limits<int64_t>::min()) throw_runtime("integer overflow in abs()");
    return Value::integer(i < 0 ? -i : i);
  }
  if (input.is_undefined()) throw_undefined(input);
  throw_runtime("bad operand type for abs(): '" + type_name(input) + "'");
}

Value filter_capitalize(Interpreter& interp, const Value& input, CallArgs& args) {
  ArgBinder("capitalize", args, {});
  return text_result(interp, python_capitalize(soft_str(input)));
}

Value filter_center(Interpreter& interp, const Value& input, CallArgs& args) {
  ArgBinder bind("center", args, {"width"});
  const int64_t width = arg_int(bind.get_or(0, Value::integer(80)), "center() width");
  const std::string s = soft_str(input);
  const auto len = static_cast<int64_t>(count_code_points(s));
  if (width <= len) return text_result(interp, s);
  if (width > static_cast<int64_t>(interp.budget().limits().max_string_bytes)) {
    interp.budget().charge(static_cast<size_t>(width));
  }
  const int64_t margin = width - len;
  const int64_t left = margin / 2 + (margin & width & 1);
  return text_result(interp, std::string(static_cast<size_t>(left), ' ') + s +
                                 std::string(static_cast<size_t>(margin - left), ' '));
}

Value filter_default(Interpreter&, const Value& input, CallArgs& args) {
  ArgBinder bind("default", args, {"default_value", "boolean"});
  const bool boolean = arg_bool(bind.get_or(1, Value::boolean(false)));
  if (input.is_undefined() || (boolean && !truthy(input))) {
    return bind.get_or(0, Value::string(""));
  }
  return input;
}

Value filter_escape(Interpreter& interp, const Value& input, CallArgs& args) {
  ArgBinder("escape", args, {});
  if (input.is_markup()) return input;
  return Value::string(text_result(interp, html_escape(soft_str(input))).str(), true);
}

Value filter_forceescape(Interpreter& interp, const Value& input, CallArgs& args) {
  ArgBinder("forceescape", args, {});
  return Value::string(text_result(interp, html_escape(soft_str(input))).str(), true);
}

Value filter_float(Interpreter&, const Value& input, CallArgs& args) {
  ArgBinder bind("float", args, {"default"});
  const Value fallback = bind.get_or(0, Value::floating(0.0));
  switch (input.kind()) {
    case ValueKind::kFloat:
      return input;
    case ValueKind::kInt:
    case ValueKind::kBool:
      return Value::floating(static_cast<double>(input.as_int()));
    case ValueKind::kString: {
      const auto f = python_float_from_string(input.str());
      return f ? Value::floating(*f) : fallback;
    }
    case ValueKind::kUndefined:
      throw_undefined(input);
    default:
      return fallback;
  }
}

Value filter_format(Interpreter& interp, const Value& input, CallArgs& args) {
  if (!args.positional.empty() && !args.keywords.empty()) {
    throw_runtime("can't handle positional and keyword arguments at the same time");
  }
  Value format_args;
  if (!args.keywords.empty()) {
    DictData kwargs;
    for (auto& [key, value] : args.keywords) kwargs.set(Value::string(key), value);
    format_args = Value::dict(std::move(kwargs));
  } else {
    format_args = Value::list(args.positional, SequenceStyle::kTuple);
  }
  return percent_format(interp.budget(), Value::string(soft_str(input)), format_args);
}

Value filter_indent(Interpreter& interp, const Value& input, CallArgs& args) {
  ArgBinder bind("indent", args, {"width", "first", "blank"});
  const Value width = bind.get_or(0, Value::integer(4));
  const bool first = arg_bool(bind.get_or(1, Value::boolean(false)));
  const bool blank = arg_bool(bind.get_or(2, Value::boolean(false)));
  std::string indention;
  if (width.is_string()) {
    indention = width.str();
  } else {
    const int64_t n = arg_int(width, "indent() width");
    if (n > 4096) throw_runtime("indent() width is larger than 4096");
    indention.assign(static_cast<size_t>(std::max<int64_t>(n, 0)), ' ');
  }
  if (input.is_undefined()) throw_undefined(input);
  if (!input.is_string()) {
    throw_runtime("unsupported operand type(s) for +=: '" + type_name(input) + "' and 'str'");
  }
  const std::vector<std::string> lines = python_splitlines(input.str() + "\n", false);
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) out += '\n';
    if (i > 0 && (blank || !lines[i].empty())) out += indention;
    out += lines[i];
  }
  if (first) out = indention + out;
  return text_result(interp, std::move(out));
}

Value filter_int(Interpreter&, const Value& input, CallArgs& args) {
  ArgBinder bind("int", args, {"default", "base"});
  const Value fallback = bind.get_or(0, Value::integer(0));
  const int64_t base = arg_int(bind.get_or(1, Value::integer(10)), "int() base");
  switch (input.kind()) {
    case ValueKind::kInt:
      return input;
    case ValueKind::kBool:
      return Value::integer(input.as_int());
    case ValueKind::kFloat: {
      const double f = input.float_value();
      if (std::isnan(f)) return fallback;
      if (std::isinf(f)) throw_runtime("cannot convert float infinity to integer");
      if (f >= 9.2233720368547758e18 || f < -9.2233720368547758e18) {
        throw_runtime("integer conversion of " + python_float_repr(f) + " does not fit in 64 bits");
      }
      return Value::integer(static_cast<int64_t>(f));
    }
    case ValueKind::kString: {
      if (auto i = python_int_from_string(input.str(), static_cast<int>(base))) {
        return Value::integer(*i);
      }
      const auto f = python_float_from_string(input.str());
      if (!f || std::isnan(*f)) return fallback;
      if (std::isinf(*f)) throw_runtime("cannot convert float infinity to integer");
      if (*f >= 9.2233720368547758e18 || *f < -9.2233720368547758e18) {
        throw_runtime("integer conversion of '" + input.str() + "' does not fit in 64 bits");
      }
      return Value::integer(static_cast<int64_t>(*f));
    }
    case ValueKind::kUndefined:
      throw_undefined(input);
    default:
      return fallback;
  }
}

Value filter_lower(Interpreter& interp, const Value& input, CallArgs& args) {
  ArgBinder("lower", args, {});
  return text_result(interp, python_lower(soft_str(input)));
}

Value filter_upper(Interpreter& interp, const Value& input, CallArgs& args) {
  ArgBinder("upper", args, {});
  return text_result(interp, python_upper(soft_str(input)));
}

Value filter_replace(Interpreter& interp, const Value& input, CallArgs& args) {
  ArgBinder bind("replace", args, {"old", "new", "count"});
  if (!bind.get(0) || !bind.get(1)) throw_runtime("replace() needs the old and new strings");
  const Value count_value = bind.get_or(2, Value::none());
  const int64_t count = count_value.is_none() ? -1 : arg_int(count_value, "replace() count");
  const std::string s = soft_str(input);
  const std::string old_text = soft_str(*bind.get(0));
  const std::string new_text = soft_str(*bind.get(1));
  if (old_text.empty() || new_text.size() > old_text.size()) {
    // Bound the result size before building it.
    const size_t slots = old_text.empty() ? count_code_points(s) + 1 : s.size() / old_text.size();
    interp.budget().charge(s.size() +
                           std::min<size_t>(slots, count < 0 ? slots : count) * new_text.size());
  }
  return text_result(interp, python_replace(s, old_text, new_text, count));
}

Value filter_round(Interpreter&, const Value& input, CallArgs& args) {
  ArgBinder bind("round", args, {"precision", "method"});
  const int64_t precision = arg_int(bind.get_or(0, Value::integer(0)), "round() precision");
  const std::string method = arg_string(bind.get_or(1, Value::string("common")), "round() method");
  if (method != "common" && method != "ceil" && method != "floor") {
    throw_runtime("method must be common, ceil or floor");
  }
  if (input.is_undefined()) throw_undefined(input);
  if (!input.is_number())
    throw_runtime("type " + type_name(input) + " doesn't define __round__ method");
  if (method == "common") {
    if (!input.is_float()) {
      if (precision >= 0) return Value::integer(input.as_int());
      const double scale = std::pow(10.0, static_cast<double>(-precision));
      return Value::integer(
          static_cast<int64_t>(std::nearbyint(input.as_double() / scale) * scale));
    }
    return Value::floating(python_round(input.float_value(), precision));
  }
  const double scale = std::pow(10.0, static_cast<double>(precision));
  const double scaled = input.as_double() * scale;
  const double rounded = method == "ceil" ? std::ceil(scaled) : std::floor(scaled);
  return Value::floating(rounded / scale);
}

Value filter_safe(Interpreter&, const Value& input, CallArgs& args) {
  ArgBinder("safe", args, {});
  if (input.is_markup()) return input;
  return Value::string(soft_str(input), true);
}

Value filter_string(Interpreter&, const Value& input, CallArgs& args) {
  ArgBinder("string", args, {});
  if (input.is_string()) return input;
  return Value::string(soft_str(input));
}

Value filter_striptags(Interpreter& interp, const Value& input, CallArgs& args) {
  ArgBinder("striptags", args, {});
  std::string value = soft_str(input);
  for (const auto& [open, close] :
       {std::pair<std::string, std::string>{"<!--", "-->"}, {"<", ">"}}) {
    while (true) {
      const size_t start = value.find(open);
      if (start == std::string::npos) break;
      const size_t end = value.find(close, start);
      if (end == std::string::npos) break;
      value.erase(start, end + close.size() - start);
    }
  }
  std::string collapsed;
  for (const std::string& word : python_split(value, std::nullopt, -1, false)) {
    if (!collapsed.empty()) collapsed += ' ';
    collapsed += word;
  }
  static const std::pair<const char*, const char*> kEntities[] = {
      {"&lt;", "<"},  {"&gt;", ">"},   {"&quot;", "\""},     {"&#34;", "\""},
      {"&#39;", "'"}, {"&apos;", "'"}, {"&nbsp;", "\u00a0"}, {"&amp;", "&"}};
  for (const auto& [entity, text] : kEntities)
    collapsed = python_replace(collapsed, entity, text, -1);
  return text_result(interp, std::move(collapsed));
}

Value filter_title(Interpreter& interp, const Value& input, CallArgs& args) {
  ArgBinder("title", args, {});
  // jinja2 splits before runs of whitespace, '-', '(', '{', '[' and '<' and title-cases each
  // piece: first character upper, the rest lower.
  const std::vector<char32_t> cps = to_code_points(soft_str(input));
  auto is_separator = [](char32_t c) {
    return is_python_space(c) || c == '-' || c == '(' || c == '{' || c == '[' || c == '<';
  };
  std::string out;
  size_t i = 0;
  while (i < cps.size()) {
    size_t j = i;
    const bool separator = is_separator(cps[i]);
    while (j < cps.size() && is_separator(cps[j]) == separator) ++j;
    if (separator) {
      out += from_code_points(cps, i, j);
    } else {
      append_upper(out, cps[i]);
      out += python_lower(from_code_points(cps, i + 1, j));
    }
    i = j;
  }
  return text_result(interp, std::move(out));
}

Value filter_tojson(Interpreter& interp, const Value& input, CallArgs& args) {
  // transformers: tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)
  ArgBinder bind("tojson", args, {"ensure_ascii", "indent", "separators", "sort_keys"});
  JsonDumpOptions options;
  options.ensure_ascii = arg_bool(bind.get_or(0, Value::boolean(false)));
  options.sort_keys = arg_bool(bind.get_or(3, Value::boolean(false)));
  const Value indent = bind.get_or(1, Value::none());
  if (indent.is_string()) {
    options.indent = indent.str();
  } else if (!indent.is_none()) {
    const int64_t n = arg_int(indent, "tojson() indent");
    if (n > 4096) throw_runtime("tojson() indent is larger than 4096");
    options.indent = std::string(static_cast<size_t>(std::max<int64_t>(n, 0)), ' ');
  }
  if (options.indent) options.item_separator.assign(1, ',');
  const Value separators = bind.get_or(2, Value::none());
  if (!separators.is_none()) {
    if (!separators.is_list() || separators.items().size() != 2 ||
        !separators.items()[0].is_string() || !separators.items()[1].is_string()) {
      throw_runtime("tojson() separators must be a pair of strings");
    }
    options.item_separator = separators.items()[0].str();
    options.key_separator = separators.items()[1].str();
  }
  std::string json = json_dumps(input, options);
  return text_result(interp, std::move(json));
}

Value filter_trim(Interpreter& interp, const Value& input, CallArgs& args) {
  ArgBinder bind("trim", args, {"chars"});
  const auto chars = arg_optional_string(bind.get(0), "trim() chars");
  return text_result(interp, std::string(python_strip(soft_str(input), chars, StripSide::kBoth)));
}

Value filter_truncate(Interpreter& interp, const Value& input, CallArgs& args) {
  ArgBinder bind("truncate", args, {"length", "killwords", "end", "leeway"});
  const int64_t length = arg_int(bind.get_or(0, Value::integer(255)), "truncate() length");
  const bool killwords = arg_bool(bind.get_or(1, Value::boolean(false)));
  const std::string end = arg_string(bind.get_or(2, Value::string("...")), "truncate() end");
  const int64_t leeway = arg_int(bind.get_or(3, Value::integer(5)), "truncate() leeway");
  const auto end_len = static_cast<int64_t>(count_code_points(end));
  if (length < end_len)
    throw_runtime("expected length >= " + std::to_string(end_len) + ", got " +
                  std::to_string(length));
  if (leeway < 0) throw_runtime("expected leeway >= 0, got " + std::to_string(leeway));
  const std::string s = soft_str(input);
  const std::vector<char32_t> cps = to_code_points(s);
  if (static_cast<int64_t>(cps.size()) <= length + leeway) return text_result(interp, s);
  std::string head = from_code_points(cps, 0, static_cast<size_t>(length - end_len));
  if (!killwords) head = python_split(head, std::string(" "), 1, true).front();
  return text_result(interp, head + end);
}

Value filter_wordcount(Interpreter&, const Value& input, CallArgs& args) {
  ArgBinder("wordcount", args, {});
  const std::vector<char32_t> cps = to_code_points(soft_str(input));
  int64_t words = 0;
  bool in_word = false;
  for (const char32_t c : cps) {
    const bool word_char = c == '_' || is_alpha(c) || is_decimal_digit(c);
    if (word_char && !in_word) ++words;
    in_word = word_char;
  }
  return Value::integer(words);
}

Value filter_unsupported(Interpreter&, const Value&, CallArgs&) {
  throw JinjaError(ErrorKind::kRuntime, "this filter is not supported by hearth's Jinja engine");
}

}  // namespace hearth::jinja
