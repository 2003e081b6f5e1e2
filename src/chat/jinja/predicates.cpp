// The `is` tests of jinja2/tests.py, with Python's notion of the underlying types: bool is a
// number, Undefined is iterable and a sequence, a generator has no len().
#include "chat/jinja/builtin_functions.h"
#include "chat/jinja/builtins.h"
#include "chat/jinja/error.h"
#include "chat/jinja/interpreter.h"
#include "chat/jinja/operators.h"
#include "chat/jinja/python_format.h"
#include "chat/jinja/unicode_text.h"

namespace hearth::jinja {
namespace {

const Value& one_arg(CallArgs& args, const char* test) {
  ArgBinder bind(test, args, {"other"});
  if (!bind.get(0)) throw_runtime(std::string(test) + "() missing 1 required positional argument");
  return *bind.get(0);
}

void no_args(CallArgs& args, const char* test) {
  ArgBinder(test, args, {});
}

bool is_plain_list(const Value& v) {
  return v.is_list() && (v.sequence_style() == SequenceStyle::kList ||
                         v.sequence_style() == SequenceStyle::kTuple);
}

Value modulo(Interpreter& interp, const Value& a, const Value& b) {
  return binary_op(interp.budget(), BinaryOp::kMod, a, b);
}

// str(value).islower() / .isupper(): at least one cased character and no opposite case.
bool string_case_is(const Value& v, bool upper) {
  bool cased = false;
  const std::string s = python_str(v);
  size_t pos = 0;
  while (pos < s.size()) {
    const char32_t c = decode_utf8(s, pos);
    if (upper ? is_lower_letter(c) : is_upper_letter(c)) return false;
    if (upper ? is_upper_letter(c) : is_lower_letter(c)) cased = true;
  }
  return cased;
}

}  // namespace

bool test_boolean(Interpreter&, const Value& input, CallArgs& args) {
  no_args(args, "boolean");
  return input.is_bool();
}

bool test_callable(Interpreter&, const Value& input, CallArgs& args) {
  no_args(args, "callable");
  if (input.is_undefined()) return true;  // Undefined defines __call__ (which raises)
  return input.is_object() && (input.obj().type() == Object::Type::kCallable ||
                               input.obj().type() == Object::Type::kLoop);
}

bool test_defined(Interpreter&, const Value& input, CallArgs& args) {
  no_args(args, "defined");
  return !input.is_undefined();
}

bool test_undefined(Interpreter&, const Value& input, CallArgs& args) {
  no_args(args, "undefined");
  return input.is_undefined();
}

bool test_divisibleby(Interpreter& interp, const Value& input, CallArgs& args) {
  const Value& num = one_arg(args, "divisibleby");
  return python_equal(modulo(interp, input, num), Value::integer(0));
}

bool test_even(Interpreter& interp, const Value& input, CallArgs& args) {
  no_args(args, "even");
  return python_equal(modulo(interp, input, Value::integer(2)), Value::integer(0));
}

bool test_odd(Interpreter& interp, const Value& input, CallArgs& args) {
  no_args(args, "odd");
  return python_equal(modulo(interp, input, Value::integer(2)), Value::integer(1));
}

bool test_eq(Interpreter&, const Value& input, CallArgs& args) {
  return python_equal(input, one_arg(args, "eq"));
}

bool test_ne(Interpreter&, const Value& input, CallArgs& args) {
  return !python_equal(input, one_arg(args, "ne"));
}

bool test_lt(Interpreter& interp, const Value& input, CallArgs& args) {
  return compare_op(interp.budget(), CompareOp::kLt, input, one_arg(args, "lt"));
}

bool test_le(Interpreter& interp, const Value& input, CallArgs& args) {
  return compare_op(interp.budget(), CompareOp::kLe, input, one_arg(args, "le"));
}

bool test_gt(Interpreter& interp, const Value& input, CallArgs& args) {
  return compare_op(interp.budget(), CompareOp::kGt, input, one_arg(args, "gt"));
}

bool test_ge(Interpreter& interp, const Value& input, CallArgs& args) {
  return compare_op(interp.budget(), CompareOp::kGe, input, one_arg(args, "ge"));
}

bool test_in(Interpreter& interp, const Value& input, CallArgs& args) {
  return contains(interp.budget(), one_arg(args, "in"), input);
}

bool test_escaped(Interpreter&, const Value& input, CallArgs& args) {
  no_args(args, "escaped");
  return input.is_markup();
}

bool test_false(Interpreter&, const Value& input, CallArgs& args) {
  no_args(args, "false");
  return input.is_bool() && !input.bool_value();
}

bool test_true(Interpreter&, const Value& input, CallArgs& args) {
  no_args(args, "true");
  return input.is_bool() && input.bool_value();
}

bool test_filter(Interpreter&, const Value& input, CallArgs& args) {
  no_args(args, "filter");
  return input.is_string() && find_filter(input.str()) != nullptr;
}

bool test_test(Interpreter&, const Value& input, CallArgs& args) {
  no_args(args, "test");
  return input.is_string() && find_test(input.str()) != nullptr;
}

bool test_float(Interpreter&, const Value& input, CallArgs& args) {
  no_args(args, "float");
  return input.is_float();
}

bool test_integer(Interpreter&, const Value& input, CallArgs& args) {
  no_args(args, "integer");
  return input.is_int();
}

bool test_number(Interpreter&, const Value& input, CallArgs& args) {
  no_args(args, "number");
  return input.is_number();
}

bool test_string(Interpreter&, const Value& input, CallArgs& args) {
  no_args(args, "string");
  return input.is_string();
}

bool test_mapping(Interpreter&, const Value& input, CallArgs& args) {
  no_args(args, "mapping");
  return input.is_dict();
}

bool test_none(Interpreter&, const Value& input, CallArgs& args) {
  no_args(args, "none");
  return input.is_none();
}

bool test_iterable(Interpreter&, const Value& input, CallArgs& args) {
  no_args(args, "iterable");
  return input.is_undefined() || input.is_string() || input.is_list() || input.is_dict() ||
         (input.is_object() && input.obj().type() == Object::Type::kLoop);
}

bool test_sequence(Interpreter&, const Value& input, CallArgs& args) {
  no_args(args, "sequence");
  return input.is_undefined() || input.is_string() || is_plain_list(input) || input.is_dict();
}

bool test_lower(Interpreter&, const Value& input, CallArgs& args) {
  no_args(args, "lower");
  return string_case_is(input, false);
}

bool test_upper(Interpreter&, const Value& input, CallArgs& args) {
  no_args(args, "upper");
  return string_case_is(input, true);
}

bool test_sameas(Interpreter&, const Value& input, CallArgs& args) {
  const Value& other = one_arg(args, "sameas");
  if (input.kind() != other.kind()) return false;
  switch (input.kind()) {
    case ValueKind::kNone:
      return true;
    case ValueKind::kBool:
      return input.bool_value() == other.bool_value();
    // CPython caches small ints, so `1 is 1` holds; larger ints are distinct objects.
    case ValueKind::kInt:
      return input.int_value() == other.int_value() && input.int_value() >= -5 &&
             input.int_value() <= 256;
    case ValueKind::kUndefined:
    case ValueKind::kFloat:
      return false;
    default:
      return input.identity() == other.identity();
  }
}

}  // namespace hearth::jinja
