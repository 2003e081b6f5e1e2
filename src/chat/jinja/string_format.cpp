#include "chat/jinja/string_format.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "chat/jinja/error.h"
#include "chat/jinja/interpreter.h"
#include "chat/jinja/python_format.h"
#include "chat/jinja/unicode_text.h"

namespace hearth::jinja {
namespace {

bool is_int_like(const Value& v) {
  return v.is_int() || v.is_bool();
}

std::string c_format_double(const char* flags, int width, int precision, char type, double v) {
  std::string spec = "%";
  spec += flags;
  if (width > 0) spec += std::to_string(width);
  if (precision >= 0) {
    spec += '.';
    spec += std::to_string(precision);
  }
  spec += type;
  const int n = std::snprintf(nullptr, 0, spec.c_str(), v);
  std::string out(static_cast<size_t>(std::max(n, 0)) + 1, '\0');
  std::snprintf(out.data(), out.size(), spec.c_str(), v);
  out.resize(static_cast<size_t>(std::max(n, 0)));
  return out;
}

std::string int_digits(int64_t v, char type, bool alternate) {
  const bool negative = v < 0;
  uint64_t magnitude = negative ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
  int base = 10;
  const char* prefix = "";
  switch (type) {
    case 'x':
      base = 16;
      prefix = "0x";
      break;
    case 'X':
      base = 16;
      prefix = "0X";
      break;
    case 'o':
      base = 8;
      prefix = "0o";
      break;
    case 'b':
      base = 2;
      prefix = "0b";
      break;
    default:
      break;
  }
  const char* digits = type == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
  std::string out;
  do {
    out.insert(out.begin(), digits[magnitude % static_cast<uint64_t>(base)]);
    magnitude /= static_cast<uint64_t>(base);
  } while (magnitude);
  if (alternate) out.insert(0, prefix);
  return out;
}

// Pads `body` (with an optional sign/prefix already applied) to `width`.
std::string pad(const std::string& body, int width, char align, const std::string& fill,
                size_t sign_len = 0) {
  const auto len = static_cast<int>(count_code_points(body));
  if (width <= len) return body;
  const int margin = width - len;
  std::string out;
  auto repeat = [&](int n) {
    for (int i = 0; i < n; ++i) out += fill;
  };
  switch (align) {
    case '<':
      out = body;
      repeat(margin);
      break;
    case '^':
      repeat(margin / 2);
      out += body;
      repeat(margin - margin / 2);
      break;
    case '=':
      out = body.substr(0, sign_len);
      repeat(margin);
      out += body.substr(sign_len);
      break;
    default:
      repeat(margin);
      out += body;
      break;
  }
  return out;
}

std::string group_thousands(const std::string& digits, char separator) {
  std::string out;
  const size_t n = digits.size();
  for (size_t i = 0; i < n; ++i) {
    out += digits[i];
    if (separator && (n - i - 1) % 3 == 0 && i + 1 < n) out += separator;
  }
  return out;
}

struct Spec {
  std::string fill = " ";
  char align = '\0';
  char sign = '-';
  bool alternate = false;
  bool zero = false;
  int width = 0;
  char grouping = '\0';
  int precision = -1;
  char type = '\0';
};

Spec parse_spec(std::string_view spec) {
  Spec s;
  size_t i = 0;
  auto is_align = [](char c) { return c == '<' || c == '>' || c == '=' || c == '^'; };
  if (!spec.empty()) {
    size_t first_end = 0;
    const char32_t first = decode_utf8(spec, first_end);
    if (first_end < spec.size() && is_align(spec[first_end])) {
      s.fill.clear();
      append_utf8(s.fill, first);
      s.align = spec[first_end];
      i = first_end + 1;
    } else if (is_align(spec[0])) {
      s.align = spec[0];
      i = 1;
    }
  }
  if (i < spec.size() && (spec[i] == '+' || spec[i] == '-' || spec[i] == ' ')) s.sign = spec[i++];
  if (i < spec.size() && spec[i] == '#') {
    s.alternate = true;
    ++i;
  }
  if (i < spec.size() && spec[i] == '0') {
    s.zero = true;
    ++i;
  }
  while (i < spec.size() && spec[i] >= '0' && spec[i] <= '9') {
    s.width = s.width * 10 + (spec[i++] - '0');
    if (s.width > 100000) throw_runtime("format width is too large");
  }
  if (i < spec.size() && (spec[i] == ',' || spec[i] == '_')) s.grouping = spec[i++];
  if (i < spec.size() && spec[i] == '.') {
    ++i;
    s.precision = 0;
    if (i >= spec.size() || spec[i] < '0' || spec[i] > '9')
      throw_runtime("Format specifier missing precision");
    while (i < spec.size() && spec[i] >= '0' && spec[i] <= '9') {
      s.precision = s.precision * 10 + (spec[i++] - '0');
      if (s.precision > 1000) throw_runtime("format precision is too large");
    }
  }
  if (i < spec.size()) s.type = spec[i++];
  if (i != spec.size()) throw_runtime("Invalid format specifier");
  return s;
}

std::string sign_prefix(bool negative, char sign) {
  if (negative) return "-";
  if (sign == '+') return "+";
  if (sign == ' ') return " ";
  return "";
}

std::string format_number(const Value& v, const Spec& s) {
  char type = s.type;
  if (is_int_like(v) && (type == '\0' || type == 'd' || type == 'n' || type == 'x' || type == 'X' ||
                         type == 'o' || type == 'b' || type == 'c')) {
    const int64_t i = v.as_int();
    if (type == 'c') {
      std::string out;
      append_utf8(out, static_cast<char32_t>(i));
      return pad(out, s.width, s.align ? s.align : '<', s.fill);
    }
    std::string digits = int_digits(i, type == '\0' || type == 'n' ? 'd' : type, false);
    if (s.grouping) digits = group_thousands(digits, s.grouping);
    std::string prefix = sign_prefix(i < 0, s.sign);
    if (s.alternate && type != 'd' && type != '\0' && type != 'n') {
      prefix += type == 'x' ? "0x" : type == 'X' ? "0X" : type == 'o' ? "0o" : "0b";
    }
    const std::string body = prefix + digits;
    if (s.zero && !s.align) return pad(body, s.width, '=', "0", prefix.size());
    return pad(body, s.width, s.align ? s.align : '>', s.fill, prefix.size());
  }
  if (type == '\0' && is_int_like(v)) type = 'd';
  double d = v.as_double();
  std::string body;
  const bool negative = std::signbit(d) && !std::isnan(d);
  const double magnitude = std::fabs(d);
  std::string suffix;
  if (type == '%') {
    body = c_format_double(s.alternate ? "#" : "", 0, s.precision < 0 ? 6 : s.precision, 'f',
                           magnitude * 100);
    suffix.assign(1, '%');
  } else if (type == 'f' || type == 'F' || type == 'e' || type == 'E' || type == 'g' ||
             type == 'G') {
    body = c_format_double(s.alternate ? "#" : "", 0, s.precision < 0 ? 6 : s.precision, type,
                           magnitude);
  } else if (type == '\0' || type == 'n') {
    if (s.precision < 0) {
      body = python_float_repr(magnitude);
    } else {
      body = c_format_double("", 0, std::max(s.precision, 1), 'g', magnitude);
      if (body.find_first_of(".e") == std::string::npos && std::isfinite(magnitude)) body += ".0";
    }
  } else {
    throw_runtime(std::string("Unknown format code '") + type + "' for object of type '" +
                  type_name(v) + "'");
  }
  if (s.grouping) {
    const size_t end = body.find_first_not_of("0123456789");
    body = group_thousands(body.substr(0, end), s.grouping) +
           (end == std::string::npos ? "" : body.substr(end));
  }
  const std::string prefix = sign_prefix(negative, s.sign);
  const std::string full = prefix + body + suffix;
  if (s.zero && !s.align) return pad(full, s.width, '=', "0", prefix.size());
  return pad(full, s.width, s.align ? s.align : '>', s.fill, prefix.size());
}

// --- printf-style ---------------------------------------------------------------------------

std::string percent_one(const Value& arg, char type, const std::string& flags, int width,
                        int precision) {
  const bool left = flags.find('-') != std::string::npos;
  std::string body;
  switch (type) {
    case 's':
    case 'r':
    case 'a': {
      body = type == 's' ? python_str(arg) : python_repr(arg);
      if (precision >= 0) {
        const std::vector<char32_t> cps = to_code_points(body);
        body = from_code_points(cps, 0, std::min(cps.size(), static_cast<size_t>(precision)));
      }
      return pad(body, width, left ? '<' : '>', " ");
    }
    case 'd':
    case 'i':
    case 'u':
    case 'x':
    case 'X':
    case 'o': {
      if (!arg.is_number()) {
        throw_runtime(std::string("%") + type + " format: a real number is required, not " +
                      type_name(arg));
      }
      if (arg.is_float() && type != 'd' && type != 'i' && type != 'u') {
        throw_runtime(std::string("%") + type + " format: an integer is required, not float");
      }
      const int64_t i = arg.is_float() ? static_cast<int64_t>(arg.float_value()) : arg.as_int();
      const char t = (type == 'i' || type == 'u') ? 'd' : type;
      std::string digits = int_digits(i, t, flags.find('#') != std::string::npos);
      if (precision > static_cast<int>(digits.size())) {
        digits.insert(0, static_cast<size_t>(precision) - digits.size(), '0');
      }
      const char sign = flags.find('+') != std::string::npos   ? '+'
                        : flags.find(' ') != std::string::npos ? ' '
                                                               : '-';
      const std::string prefix = sign_prefix(i < 0, sign);
      const std::string full = prefix + digits;
      if (left) return pad(full, width, '<', " ");
      if (flags.find('0') != std::string::npos) return pad(full, width, '=', "0", prefix.size());
      return pad(full, width, '>', " ");
    }
    case 'e':
    case 'E':
    case 'f':
    case 'F':
    case 'g':
    case 'G': {
      if (!arg.is_number()) {
        throw_runtime(std::string("must be real number, not ") + type_name(arg));
      }
      std::string c_flags;
      for (const char f : flags) {
        if (f == '-' || f == '+' || f == ' ' || f == '#' || f == '0') c_flags += f;
      }
      return c_format_double(c_flags.c_str(), width, precision < 0 ? 6 : precision, type,
                             arg.as_double());
    }
    case 'c': {
      if (arg.is_string() && count_code_points(arg.str()) == 1)
        return pad(arg.str(), width, left ? '<' : '>', " ");
      if (!is_int_like(arg)) throw_runtime("%c requires int or char");
      std::string out;
      append_utf8(out, static_cast<char32_t>(arg.as_int()));
      return pad(out, width, left ? '<' : '>', " ");
    }
    default:
      throw_runtime(std::string("unsupported format character '") + type + "'");
  }
}

}  // namespace

Value percent_format(Budget& budget, const Value& format, const Value& args) {
  const std::string& fmt = format.str();
  const bool tuple = args.is_list() && args.sequence_style() == SequenceStyle::kTuple;
  const bool mapping = args.is_dict();
  std::vector<Value> positional = tuple ? args.items() : std::vector<Value>{args};
  size_t next = 0;
  bool used_mapping = false;
  std::string out;
  for (size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] != '%') {
      out += fmt[i];
      continue;
    }
    if (++i >= fmt.size()) throw_runtime("incomplete format");
    std::optional<Value> keyed;
    if (fmt[i] == '(') {
      if (!mapping) throw_runtime("format requires a mapping");
      const size_t close = fmt.find(')', i);
      if (close == std::string::npos) throw_runtime("incomplete format key");
      const Value* v = args.dict().find(std::string_view(fmt).substr(i + 1, close - i - 1));
      if (!v) throw_runtime("KeyError: '" + fmt.substr(i + 1, close - i - 1) + "'");
      keyed = *v;
      used_mapping = true;
      i = close + 1;
    }
    std::string flags;
    while (i < fmt.size() && std::string_view("-+ #0").find(fmt[i]) != std::string_view::npos) {
      flags += fmt[i++];
    }
    int width = 0;
    while (i < fmt.size() && fmt[i] >= '0' && fmt[i] <= '9') {
      width = width * 10 + (fmt[i++] - '0');
      if (width > 100000) throw_runtime("format width is too large");
    }
    int precision = -1;
    if (i < fmt.size() && fmt[i] == '.') {
      ++i;
      precision = 0;
      while (i < fmt.size() && fmt[i] >= '0' && fmt[i] <= '9') {
        precision = precision * 10 + (fmt[i++] - '0');
        if (precision > 1000) throw_runtime("format precision is too large");
      }
    }
    while (i < fmt.size() && (fmt[i] == 'h' || fmt[i] == 'l' || fmt[i] == 'L')) ++i;
    if (i >= fmt.size()) throw_runtime("incomplete format");
    const char type = fmt[i];
    if (type == '%') {
      out += '%';
      continue;
    }
    Value arg;
    if (keyed) {
      arg = *keyed;
    } else if (mapping && !tuple) {
      arg = args;  // '%s' % {'a': 1} formats the dict itself
      ++next;
    } else {
      if (next >= positional.size()) throw_runtime("not enough arguments for format string");
      arg = positional[next++];
    }
    out += percent_one(arg, type, flags, width, precision);
    budget.charge(out.size() > budget.limits().max_string_bytes ? out.size() : 0);
  }
  if (!mapping && !used_mapping && next < positional.size()) {
    throw_runtime("not all arguments converted during string formatting");
  }
  budget.charge(out.size());
  return Value::string(std::move(out), format.is_markup());
}

std::string format_with_spec(const Value& value, std::string_view spec_text) {
  if (spec_text.empty()) return python_str(value);
  const Spec spec = parse_spec(spec_text);
  if (value.is_number()) {
    if (value.is_bool() && spec.type == '\0') {
      return pad(python_str(value), spec.width, spec.align ? spec.align : '<', spec.fill);
    }
    return format_number(value, spec);
  }
  if (value.is_string()) {
    if (spec.type != '\0' && spec.type != 's') {
      throw_runtime(std::string("Unknown format code '") + spec.type +
                    "' for object of type 'str'");
    }
    std::string body = value.str();
    if (spec.precision >= 0) {
      const std::vector<char32_t> cps = to_code_points(body);
      body = from_code_points(cps, 0, std::min(cps.size(), static_cast<size_t>(spec.precision)));
    }
    return pad(body, spec.width, spec.align ? spec.align : '<', spec.fill);
  }
  throw_runtime("unsupported format string passed to " + type_name(value) + ".__format__");
}

std::string str_format(Interpreter& interp, std::string_view fmt, const CallArgs& args) {
  std::string out;
  size_t auto_index = 0;
  bool used_auto = false;
  bool used_manual = false;
  for (size_t i = 0; i < fmt.size(); ++i) {
    const char c = fmt[i];
    if (c == '}') {
      if (i + 1 < fmt.size() && fmt[i + 1] == '}') {
        out += '}';
        ++i;
        continue;
      }
      throw_runtime("Single '}' encountered in format string");
    }
    if (c != '{') {
      out += c;
      continue;
    }
    if (i + 1 < fmt.size() && fmt[i + 1] == '{') {
      out += '{';
      ++i;
      continue;
    }
    // Find the matching '}' (one level of nested fields inside the spec is allowed).
    size_t depth = 1;
    size_t j = i + 1;
    for (; j < fmt.size() && depth > 0; ++j) {
      if (fmt[j] == '{') ++depth;
      if (fmt[j] == '}') --depth;
    }
    if (depth != 0) throw_runtime("expected '}' before end of string");
    const std::string_view field = fmt.substr(i + 1, j - i - 2);
    i = j - 1;
    size_t name_end = field.find_first_of("!:");
    const std::string_view name = field.substr(0, name_end);
    char conversion = '\0';
    std::string spec;
    if (name_end != std::string_view::npos && field[name_end] == '!') {
      if (name_end + 1 >= field.size())
        throw_runtime("end of string while looking for conversion specifier");
      conversion = field[name_end + 1];
      name_end += 2;
      if (name_end < field.size() && field[name_end] != ':')
        throw_runtime("expected ':' after conversion specifier");
    }
    if (name_end != std::string_view::npos && name_end < field.size()) {
      spec = str_format(interp, field.substr(name_end + 1), args);
    }
    // field name: arg_name ('.' attr | '[' key ']')*
    size_t k = 0;
    while (k < name.size() && name[k] != '.' && name[k] != '[') ++k;
    const std::string_view head = name.substr(0, k);
    Value value;
    if (head.empty() ||
        std::all_of(head.begin(), head.end(), [](char d) { return d >= '0' && d <= '9'; })) {
      size_t index;
      if (head.empty()) {
        if (used_manual)
          throw_runtime(
              "cannot switch from manual field specification to automatic field numbering");
        used_auto = true;
        index = auto_index++;
      } else {
        if (used_auto)
          throw_runtime(
              "cannot switch from automatic field numbering to manual field specification");
        used_manual = true;
        index = std::stoul(std::string(head.substr(0, 9)));
      }
      if (index >= args.positional.size()) {
        throw_runtime("Replacement index " + std::to_string(index) +
                      " out of range for positional args tuple");
      }
      value = args.positional[index];
    } else {
      const auto it = std::find_if(args.keywords.begin(), args.keywords.end(),
                                   [&](const auto& kw) { return kw.first == head; });
      if (it == args.keywords.end()) throw_runtime("KeyError: '" + std::string(head) + "'");
      value = it->second;
    }
    while (k < name.size()) {
      if (name[k] == '.') {
        size_t e = k + 1;
        while (e < name.size() && name[e] != '.' && name[e] != '[') ++e;
        value = interp.getattr(value, name.substr(k + 1, e - k - 1));
        k = e;
      } else {
        const size_t close = name.find(']', k);
        if (close == std::string_view::npos) throw_runtime("Missing ']' in format string");
        const std::string_view key = name.substr(k + 1, close - k - 1);
        const bool numeric = !key.empty() && std::all_of(key.begin(), key.end(), [](char d) {
          return d >= '0' && d <= '9';
        });
        value = interp.getitem(value,
                               numeric ? Value::integer(std::stoll(std::string(key.substr(0, 18))))
                                       : Value::string(std::string(key)));
        k = close + 1;
      }
    }
    if (conversion == 's') {
      value = Value::string(python_str(value));
    } else if (conversion == 'r' || conversion == 'a') {
      value = Value::string(python_repr(value));
    } else if (conversion != '\0') {
      throw_runtime(std::string("Unknown conversion specifier ") + conversion);
    }
    out += format_with_spec(value, spec);
    if (out.size() > interp.budget().limits().max_string_bytes) interp.budget().charge(out.size());
  }
  return out;
}

}  // namespace hearth::jinja
