#include "chat/jinja/operators.h"

#include <cmath>
#include <limits>

#include "chat/jinja/error.h"
#include "chat/jinja/python_format.h"
#include "chat/jinja/string_format.h"
#include "chat/jinja/unicode_text.h"

namespace hearth::jinja {
namespace {

const char* op_symbol(BinaryOp op) {
  switch (op) {
    case BinaryOp::kAdd:
      return "+";
    case BinaryOp::kSub:
      return "-";
    case BinaryOp::kMul:
      return "*";
    case BinaryOp::kDiv:
      return "/";
    case BinaryOp::kFloorDiv:
      return "//";
    case BinaryOp::kMod:
      return "%";
    case BinaryOp::kPow:
      return "** or pow()";
    default:
      return "?";
  }
}

[[noreturn]] void throw_unsupported(BinaryOp op, const Value& a, const Value& b) {
  throw_runtime(std::string("unsupported operand type(s) for ") + op_symbol(op) + ": '" +
                type_name(a) + "' and '" + type_name(b) + "'");
}

[[noreturn]] void throw_overflow() {
  throw_runtime("integer overflow: results beyond 64 bits are not supported");
}

bool is_int_like(const Value& v) {
  return v.is_int() || v.is_bool();
}

bool is_plain_list(const Value& v) {
  return v.is_list() && (v.sequence_style() == SequenceStyle::kList ||
                         v.sequence_style() == SequenceStyle::kTuple);
}

// Python's float floor division and modulo (Objects/floatobject.c float_divmod).
std::pair<double, double> float_divmod(double vx, double wx) {
  if (wx == 0.0) throw_runtime("float divmod()");
  double mod = std::fmod(vx, wx);
  double div = (vx - mod) / wx;
  if (mod != 0.0) {
    if ((wx < 0) != (mod < 0)) {
      mod += wx;
      div -= 1.0;
    }
  } else {
    mod = std::copysign(0.0, wx);
  }
  double floordiv;
  if (div != 0.0) {
    floordiv = std::floor(div);
    if (div - floordiv > 0.5) floordiv += 1.0;
  } else {
    floordiv = std::copysign(0.0, vx / wx);
  }
  return {floordiv, mod};
}

Value add_values(Budget& budget, const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (is_int_like(a) && is_int_like(b)) {
      int64_t r;
      if (__builtin_add_overflow(a.as_int(), b.as_int(), &r)) throw_overflow();
      return Value::integer(r);
    }
    return Value::floating(a.as_double() + b.as_double());
  }
  if (a.is_string() && b.is_string()) {
    budget.charge(a.str().size() + b.str().size());
    if (a.is_markup() || b.is_markup()) {
      const std::string left = a.is_markup() ? a.str() : html_escape(a.str());
      const std::string right = b.is_markup() ? b.str() : html_escape(b.str());
      return Value::string(left + right, true);
    }
    return Value::string(a.str() + b.str());
  }
  if (is_plain_list(a) && is_plain_list(b) && a.sequence_style() == b.sequence_style()) {
    budget.charge((a.items().size() + b.items().size()) * sizeof(Value));
    std::vector<Value> items = a.items();
    items.insert(items.end(), b.items().begin(), b.items().end());
    return Value::list(std::move(items), a.sequence_style());
  }
  if (a.is_string() && !a.is_markup()) {
    throw_runtime("can only concatenate str (not \"" + type_name(b) + "\") to str");
  }
  if (is_plain_list(a)) {
    throw_runtime("can only concatenate " + type_name(a) + " (not \"" + type_name(b) + "\") to " +
                  type_name(a));
  }
  throw_unsupported(BinaryOp::kAdd, a, b);
}

Value repeat_value(Budget& budget, const Value& seq, int64_t count) {
  const int64_t n = std::max<int64_t>(count, 0);
  if (seq.is_string()) {
    const size_t unit = seq.str().size();
    if (n > 0 && unit > 0 && static_cast<uint64_t>(n) > budget.limits().max_string_bytes / unit) {
      budget.charge(budget.limits().max_string_bytes + 1);
    }
    budget.charge(unit * static_cast<size_t>(n));
    std::string out;
    out.reserve(unit * static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) out += seq.str();
    return Value::string(std::move(out), seq.is_markup());
  }
  const size_t unit = seq.items().size();
  const size_t max_items = budget.limits().max_string_bytes / sizeof(Value);
  if (n > 0 && unit > 0 && static_cast<uint64_t>(n) > max_items / unit) {
    budget.charge(budget.limits().max_string_bytes + 1);
  }
  budget.charge(unit * static_cast<size_t>(n) * sizeof(Value));
  std::vector<Value> items;
  items.reserve(unit * static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) items.insert(items.end(), seq.items().begin(), seq.items().end());
  return Value::list(std::move(items), seq.sequence_style());
}

Value multiply_values(Budget& budget, const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (is_int_like(a) && is_int_like(b)) {
      int64_t r;
      if (__builtin_mul_overflow(a.as_int(), b.as_int(), &r)) throw_overflow();
      return Value::integer(r);
    }
    return Value::floating(a.as_double() * b.as_double());
  }
  if ((a.is_string() || is_plain_list(a)) && is_int_like(b))
    return repeat_value(budget, a, b.as_int());
  if (is_int_like(a) && (b.is_string() || is_plain_list(b)))
    return repeat_value(budget, b, a.as_int());
  if (a.is_string() || b.is_string() || is_plain_list(a) || is_plain_list(b)) {
    const Value& other = (a.is_string() || is_plain_list(a)) ? b : a;
    throw_runtime("can't multiply sequence by non-int of type '" + type_name(other) + "'");
  }
  throw_unsupported(BinaryOp::kMul, a, b);
}

Value power_values(const Value& a, const Value& b) {
  if (is_int_like(a) && is_int_like(b)) {
    int64_t base = a.as_int();
    int64_t exp = b.as_int();
    if (exp < 0) {
      if (base == 0) throw_runtime("0.0 cannot be raised to a negative power");
      return Value::floating(std::pow(static_cast<double>(base), static_cast<double>(exp)));
    }
    int64_t result = 1;
    while (exp > 0) {
      if (exp & 1) {
        if (__builtin_mul_overflow(result, base, &result)) throw_overflow();
      }
      exp >>= 1;
      if (exp > 0 && __builtin_mul_overflow(base, base, &base)) throw_overflow();
    }
    return Value::integer(result);
  }
  const double x = a.as_double();
  const double y = b.as_double();
  if (x == 0.0 && y < 0) throw_runtime("0.0 cannot be raised to a negative power");
  if (x < 0 && std::floor(y) != y) {
    throw_runtime("a negative number raised to a fractional power is complex; not supported");
  }
  return Value::floating(std::pow(x, y));
}

Value arithmetic(Budget& budget, BinaryOp op, const Value& a, const Value& b) {
  if (op == BinaryOp::kMod && a.is_string()) return percent_format(budget, a, b);
  if (!a.is_number() || !b.is_number()) throw_unsupported(op, a, b);
  const bool ints = is_int_like(a) && is_int_like(b);
  switch (op) {
    case BinaryOp::kSub: {
      if (ints) {
        int64_t r;
        if (__builtin_sub_overflow(a.as_int(), b.as_int(), &r)) throw_overflow();
        return Value::integer(r);
      }
      return Value::floating(a.as_double() - b.as_double());
    }
    case BinaryOp::kDiv: {
      if (b.as_double() == 0.0) throw_runtime("division by zero");
      return Value::floating(a.as_double() / b.as_double());
    }
    case BinaryOp::kFloorDiv:
    case BinaryOp::kMod: {
      if (ints) {
        const int64_t x = a.as_int();
        const int64_t y = b.as_int();
        if (y == 0) throw_runtime("integer division or modulo by zero");
        if (x == std::numeric_limits<int64_t>::min() && y == -1) throw_overflow();
        int64_t q = x / y;
        int64_t r = x % y;
        if (r != 0 && ((r < 0) != (y < 0))) {
          --q;
          r += y;
        }
        return Value::integer(op == BinaryOp::kFloorDiv ? q : r);
      }
      if (b.as_double() == 0.0) {
        throw_runtime(op == BinaryOp::kMod ? "float modulo" : "float floor division by zero");
      }
      const auto [q, r] = float_divmod(a.as_double(), b.as_double());
      return Value::floating(op == BinaryOp::kFloorDiv ? q : r);
    }
    case BinaryOp::kPow:
      return power_values(a, b);
    default:
      throw_unsupported(op, a, b);
  }
}

int64_t clamp_slice_index(const Value& v, int64_t length, bool positive_step, bool is_start) {
  int64_t i = v.as_int();
  if (i < 0) {
    i += length;
    if (i < 0) i = positive_step ? 0 : -1;
  } else if (i >= length) {
    i = positive_step ? length : length - 1;
  }
  (void)is_start;
  return i;
}

}  // namespace

[[noreturn]] void throw_undefined(const Value& v) {
  const std::string& hint = v.undefined_hint();
  throw JinjaError(v.undefined_is_security() ? ErrorKind::kSecurity : ErrorKind::kUndefined,
                   hint.empty() ? "undefined value" : hint);
}

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&#34;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

Value binary_op(Budget& budget, BinaryOp op, const Value& a, const Value& b) {
  if (op == BinaryOp::kConcat) {
    std::string out = python_str(a);
    std::string right = python_str(b);
    budget.charge(out.size() + right.size());
    out += right;
    return Value::string(std::move(out));
  }
  if (a.is_undefined()) throw_undefined(a);
  if (b.is_undefined()) throw_undefined(b);
  switch (op) {
    case BinaryOp::kAdd:
      return add_values(budget, a, b);
    case BinaryOp::kMul:
      return multiply_values(budget, a, b);
    default:
      return arithmetic(budget, op, a, b);
  }
}

Value unary_op(UnaryOp op, const Value& v) {
  if (op == UnaryOp::kNot) return Value::boolean(!truthy(v));
  if (v.is_undefined()) throw_undefined(v);
  if (v.is_float())
    return Value::floating(op == UnaryOp::kNeg ? -v.float_value() : v.float_value());
  if (is_int_like(v)) {
    const int64_t i = v.as_int();
    if (op == UnaryOp::kPos) return Value::integer(i);
    if (i == std::numeric_limits<int64_t>::min()) throw_overflow();
    return Value::integer(-i);
  }
  throw_runtime(std::string("bad operand type for unary ") + (op == UnaryOp::kNeg ? "-" : "+") +
                ": '" + type_name(v) + "'");
}

bool contains(Budget& budget, const Value& container, const Value& item) {
  switch (container.kind()) {
    case ValueKind::kString:
      if (!item.is_string()) {
        throw_runtime("'in <string>' requires string as left operand, not " + type_name(item));
      }
      budget.tick(1 + container.str().size() / 256);
      return container.str().find(item.str()) != std::string::npos;
    case ValueKind::kList:
      if (container.sequence_style() == SequenceStyle::kDictItems ||
          container.sequence_style() == SequenceStyle::kDictKeys ||
          container.sequence_style() == SequenceStyle::kDictValues ||
          container.sequence_style() == SequenceStyle::kGenerator || is_plain_list(container)) {
        for (const Value& element : container.items()) {
          budget.tick();
          if (python_equal(element, item)) return true;
        }
        return false;
      }
      return false;
    case ValueKind::kDict:
      if (item.is_dict() || (item.is_list() && item.sequence_style() != SequenceStyle::kTuple)) {
        throw_runtime("unhashable type: '" + type_name(item) + "'");
      }
      return container.dict().find(item) != nullptr;
    case ValueKind::kUndefined:
      return false;
    default:
      throw_runtime("argument of type '" + type_name(container) + "' is not iterable");
  }
}

bool compare_op(Budget& budget, CompareOp op, const Value& a, const Value& b) {
  switch (op) {
    case CompareOp::kEq:
      return python_equal(a, b);
    case CompareOp::kNe:
      return !python_equal(a, b);
    case CompareOp::kIn:
      return contains(budget, b, a);
    case CompareOp::kNotIn:
      return !contains(budget, b, a);
    default:
      break;
  }
  const int c = python_compare(a, b);
  if (c == 2) return false;  // NaN
  switch (op) {
    case CompareOp::kLt:
      return c < 0;
    case CompareOp::kLe:
      return c <= 0;
    case CompareOp::kGt:
      return c > 0;
    case CompareOp::kGe:
      return c >= 0;
    default:
      return false;
  }
}

std::optional<Value> index_sequence(const Value& obj, const Value& index) {
  if (!is_int_like(index)) return std::nullopt;
  int64_t i = index.as_int();
  if (obj.is_string()) {
    const std::string& s = obj.str();
    const auto n = static_cast<int64_t>(count_code_points(s));
    if (i < 0) i += n;
    if (i < 0 || i >= n) return std::nullopt;
    size_t pos = byte_offset_of_code_point(s, static_cast<size_t>(i));
    const size_t start = pos;
    decode_utf8(s, pos);
    return Value::string(s.substr(start, pos - start), obj.is_markup());
  }
  if (is_plain_list(obj)) {
    const auto& items = obj.items();
    const auto n = static_cast<int64_t>(items.size());
    if (i < 0) i += n;
    if (i < 0 || i >= n) return std::nullopt;
    return items[static_cast<size_t>(i)];
  }
  return std::nullopt;
}

Value slice_value(Budget& budget, const Value& obj, const Value& start, const Value& stop,
                  const Value& step) {
  if (obj.is_undefined()) throw_undefined(obj);
  if (!obj.is_string() && !is_plain_list(obj)) {
    return Value::undefined(cat({"'", type_name(obj), "' object is not subscriptable"}));
  }
  auto is_bound = [](const Value& v) { return v.is_none() || v.is_undefined() || is_int_like(v); };
  if (!is_bound(start) || !is_bound(stop) || !is_bound(step)) {
    return Value::undefined("slice indices must be integers or None");
  }
  const auto given = [](const Value& v) { return !v.is_none() && !v.is_undefined(); };
  const int64_t step_value = given(step) ? step.as_int() : 1;
  if (step_value == 0) throw_runtime("slice step cannot be zero");
  std::vector<char32_t> cps;
  if (obj.is_string()) cps = to_code_points(obj.str());
  const auto length = static_cast<int64_t>(obj.is_string() ? cps.size() : obj.items().size());
  const bool forward = step_value > 0;
  const int64_t begin =
      given(start) ? clamp_slice_index(start, length, forward, true) : (forward ? 0 : length - 1);
  const int64_t end =
      given(stop) ? clamp_slice_index(stop, length, forward, false) : (forward ? length : -1);
  std::vector<size_t> picks;
  for (int64_t i = begin; forward ? i < end : i > end; i += step_value) {
    picks.push_back(static_cast<size_t>(i));
  }
  budget.charge(picks.size() * (obj.is_string() ? 4 : sizeof(Value)));
  if (obj.is_string()) {
    std::string out;
    for (const size_t i : picks) append_utf8(out, cps[i]);
    return Value::string(std::move(out), obj.is_markup());
  }
  std::vector<Value> items;
  items.reserve(picks.size());
  for (const size_t i : picks) items.push_back(obj.items()[i]);
  return Value::list(std::move(items), obj.sequence_style());
}

}  // namespace hearth::jinja
