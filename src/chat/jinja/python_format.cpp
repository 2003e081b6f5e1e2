#include "chat/jinja/python_format.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "chat/jinja/unicode_text.h"

namespace hearth::jinja {
namespace {

void append_hex(std::string& out, const char* prefix, uint32_t value, int digits) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%0*x", digits, value);
  out += prefix;
  out += buf;
}

void append_repr(std::string& out, const Value& v);

void append_sequence_repr(std::string& out, const Value& v) {
  const auto& items = v.items();
  switch (v.sequence_style()) {
    case SequenceStyle::kTuple: {
      out += '(';
      for (size_t i = 0; i < items.size(); ++i) {
        if (i) out += ", ";
        append_repr(out, items[i]);
      }
      if (items.size() == 1) out += ',';
      out += ')';
      return;
    }
    case SequenceStyle::kGenerator:
      out += "<generator object>";
      return;
    case SequenceStyle::kDictKeys:
      out += "dict_keys(";
      break;
    case SequenceStyle::kDictValues:
      out += "dict_values(";
      break;
    case SequenceStyle::kDictItems:
      out += "dict_items(";
      break;
    case SequenceStyle::kList:
      break;
  }
  out += '[';
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ", ";
    append_repr(out, items[i]);
  }
  out += ']';
  if (v.sequence_style() != SequenceStyle::kList) out += ')';
}

void append_repr(std::string& out, const Value& v) {
  switch (v.kind()) {
    case ValueKind::kUndefined:
      out += "Undefined";
      return;
    case ValueKind::kString:
      if (v.is_markup()) {
        out += "Markup(" + python_string_repr(v.str()) + ")";
      } else {
        out += python_string_repr(v.str());
      }
      return;
    case ValueKind::kList:
      append_sequence_repr(out, v);
      return;
    case ValueKind::kDict: {
      out += '{';
      bool first = true;
      for (const auto& [key, value] : v.dict().entries) {
        if (!first) out += ", ";
        first = false;
        append_repr(out, key);
        out += ": ";
        append_repr(out, value);
      }
      out += '}';
      return;
    }
    case ValueKind::kObject:
      out += v.obj().repr();
      return;
    default:
      append_python_str(out, v);
      return;
  }
}

}  // namespace

std::string python_float_repr(double f) {
  if (std::isnan(f)) return "nan";
  if (std::isinf(f)) return f > 0 ? "inf" : "-inf";
  if (f == 0) return std::signbit(f) ? "-0.0" : "0.0";
  // Shortest round-trip digits, then Python's layout: scientific when the decimal exponent is
  // below -4 or at least 16, otherwise positional with at least one fractional digit.
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof(buf), f, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  std::string sign;
  if (sci[0] == '-') {
    sign = "-";
    sci.erase(0, 1);
  }
  const size_t e_pos = sci.find('e');
  std::string digits = sci.substr(0, e_pos);
  const int exponent = std::stoi(sci.substr(e_pos + 1));
  digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
  std::string out = sign;
  if (exponent < -4 || exponent >= 16) {
    out += digits[0];
    if (digits.size() > 1) {
      out += '.';
      out.append(digits, 1, std::string::npos);
    }
    char ebuf[16];
    std::snprintf(ebuf, sizeof(ebuf), "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
    out += ebuf;
    return out;
  }
  if (exponent < 0) {
    out += "0.";
    out.append(static_cast<size_t>(-exponent - 1), '0');
    out += digits;
    return out;
  }
  const auto int_digits = static_cast<size_t>(exponent + 1);
  if (digits.size() <= int_digits) {
    out += digits;
    out.append(int_digits - digits.size(), '0');
    out += ".0";
  } else {
    out.append(digits, 0, int_digits);
    out += '.';
    out.append(digits, int_digits, std::string::npos);
  }
  return out;
}

std::string python_string_repr(std::string_view s) {
  const bool has_single = s.find('\'') != std::string_view::npos;
  const bool has_double = s.find('"') != std::string_view::npos;
  const char quote = (has_single && !has_double) ? '"' : '\'';
  std::string out;
  out.reserve(s.size() + 2);
  out += quote;
  size_t pos = 0;
  while (pos < s.size()) {
    const size_t start = pos;
    const char32_t cp = decode_utf8(s, pos);
    if (cp == static_cast<char32_t>(quote) || cp == '\\') {
      out += '\\';
      out += static_cast<char>(cp);
    } else if (cp == '\t') {
      out += "\\t";
    } else if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (cp < 0x20 || cp == 0x7F) {
      append_hex(out, "\\x", cp, 2);
    } else if (cp < 0x80 || is_python_printable(cp)) {
      out.append(s.substr(start, pos - start));
    } else if (cp < 0x100) {
      append_hex(out, "\\x", cp, 2);
    } else if (cp < 0x10000) {
      append_hex(out, "\\u", cp, 4);
    } else {
      append_hex(out, "\\U", cp, 8);
    }
  }
  out += quote;
  return out;
}

void append_python_str(std::string& out, const Value& v) {
  switch (v.kind()) {
    case ValueKind::kUndefined:
      return;
    case ValueKind::kNone:
      out += "None";
      return;
    case ValueKind::kBool:
      out += v.bool_value() ? "True" : "False";
      return;
    case ValueKind::kInt:
      out += std::to_string(v.int_value());
      return;
    case ValueKind::kFloat:
      out += python_float_repr(v.float_value());
      return;
    case ValueKind::kString:
      out += v.str();
      return;
    default:
      append_repr(out, v);
      return;
  }
}

std::string python_str(const Value& v) {
  if (v.is_string()) return v.str();
  std::string out;
  append_python_str(out, v);
  return out;
}

std::string python_repr(const Value& v) {
  std::string out;
  append_repr(out, v);
  return out;
}

}  // namespace hearth::jinja
