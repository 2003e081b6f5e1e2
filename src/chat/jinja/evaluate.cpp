// Expression evaluation, and the sandboxed attribute / item / call protocol (jinja2's
// ImmutableSandboxedEnvironment.getattr/getitem/call).
#include "chat/jinja/builtins.h"
#include "chat/jinja/error.h"
#include "chat/jinja/interpreter.h"
#include "chat/jinja/operators.h"
#include "chat/jinja/python_format.h"
#include "chat/jinja/unicode_text.h"

namespace hearth::jinja {
namespace {

Value missing_attribute(const Value& obj, std::string_view name) {
  return Value::undefined(cat({"'", object_type_repr(obj), "' has no attribute '", name, "'"}));
}

Value missing_element(const Value& obj, const Value& key) {
  return Value::undefined(cat({object_type_repr(obj), " has no element ", python_repr(key)}));
}

Value unsafe_attribute(const Value& obj, std::string_view name) {
  return Value::undefined(
      cat({"access to attribute '", name, "' of '", type_name(obj), "' object is unsafe."}),
      /*security=*/true);
}

// A method of str/dict/list by name, or nullopt; unsafe ones become security Undefineds.
std::optional<Value> method_value(const Value& obj, std::string_view name) {
  bool unsafe = false;
  std::optional<Value> method = find_method(obj, name, unsafe);
  if (unsafe) return unsafe_attribute(obj, name);
  return method;
}

}  // namespace

Value Interpreter::getattr(const Value& obj, std::string_view name) {
  if (obj.is_undefined()) throw_undefined(obj);
  if (name.size() >= 2 && name.substr(0, 2) == "__") return unsafe_attribute(obj, name);
  switch (obj.kind()) {
    case ValueKind::kDict: {
      if (auto method = method_value(obj, name)) return *method;
      if (const Value* v = obj.dict().find(name)) return *v;
      return missing_attribute(obj, name);
    }
    case ValueKind::kString:
    case ValueKind::kList:
      if (auto method = method_value(obj, name)) return *method;
      return missing_attribute(obj, name);
    case ValueKind::kObject:
      if (auto v = obj.obj().get_attr(*this, name)) return *v;
      return missing_attribute(obj, name);
    default:
      return missing_attribute(obj, name);
  }
}

Value Interpreter::getitem(const Value& obj, const Value& key) {
  if (obj.is_undefined()) throw_undefined(obj);
  switch (obj.kind()) {
    case ValueKind::kDict: {
      const bool hashable = !key.is_dict() && !key.is_undefined() &&
                            !(key.is_list() && key.sequence_style() != SequenceStyle::kTuple);
      if (hashable) {
        if (const Value* v = obj.dict().find(key)) return *v;
      }
      break;
    }
    case ValueKind::kString:
    case ValueKind::kList:
      if (auto v = index_sequence(obj, key)) return *v;
      break;
    default:
      break;
  }
  if (key.is_string()) {
    if (key.str().size() >= 2 && key.str().compare(0, 2, "__") == 0) {
      return unsafe_attribute(obj, key.str());
    }
    if (obj.is_dict() || obj.is_string() || obj.is_list()) {
      if (auto method = method_value(obj, key.str())) return *method;
    } else if (obj.is_object()) {
      if (auto v = obj.obj().get_attr(*this, key.str())) return *v;
    }
    return missing_attribute(obj, key.str());
  }
  return missing_element(obj, key);
}

Value Interpreter::call(const Value& callee, CallArgs args) {
  if (callee.is_undefined()) throw_undefined(callee);
  if (!callee.is_object()) throw_runtime(cat({"'", type_name(callee), "' object is not callable"}));
  budget_.tick();
  return callee.obj().call(*this, std::move(args));
}

Value Interpreter::call_filter(std::string_view name, const Value& input, CallArgs args) {
  const FilterFn fn = find_filter(name);
  if (!fn) throw_runtime("No filter named '" + std::string(name) + "'.");
  return fn(*this, input, args);
}

bool Interpreter::call_test(std::string_view name, const Value& input, CallArgs args) {
  const TestFn fn = find_test(name);
  if (!fn) throw_runtime("No test named '" + std::string(name) + "'.");
  return fn(*this, input, args);
}

std::vector<Value> Interpreter::iterate(const Value& iterable) {
  switch (iterable.kind()) {
    case ValueKind::kUndefined:
      return {};
    case ValueKind::kList:
      budget_.tick(1 + iterable.items().size() / 16);
      return iterable.items();
    case ValueKind::kString: {
      std::vector<Value> chars;
      const std::string& s = iterable.str();
      budget_.charge(s.size() * sizeof(Value));
      size_t pos = 0;
      while (pos < s.size()) {
        const size_t start = pos;
        decode_utf8(s, pos);
        chars.push_back(Value::string(s.substr(start, pos - start), iterable.is_markup()));
      }
      return chars;
    }
    case ValueKind::kDict: {
      std::vector<Value> keys;
      keys.reserve(iterable.dict().size());
      for (const auto& [key, value] : iterable.dict().entries) keys.push_back(key);
      budget_.tick(1 + keys.size() / 16);
      return keys;
    }
    default:
      throw_runtime(cat({"'", type_name(iterable), "' object is not iterable"}));
  }
}

Value Interpreter::eval(const Expr& expr, const ScopePtr& scope) {
  Budget::DepthGuard depth(budget_);
  budget_.tick();
  try {
    return eval_node(expr, scope);
  } catch (JinjaError& e) {
    e.set_loc_if_unknown(expr.loc);
    throw;
  }
}

Value Interpreter::eval_node(const Expr& expr, const ScopePtr& scope) {
  switch (expr.kind) {
    case ExprKind::kLiteral:
      return static_cast<const LiteralExpr&>(expr).value;
    case ExprKind::kName:
      return eval_name(static_cast<const NameExpr&>(expr), scope);
    case ExprKind::kList:
    case ExprKind::kTuple: {
      const auto& seq = static_cast<const SequenceExpr&>(expr);
      std::vector<Value> items;
      items.reserve(seq.items.size());
      for (const auto& item : seq.items) items.push_back(eval(*item, scope));
      budget_.charge(items.size() * sizeof(Value));
      return Value::list(std::move(items), expr.kind == ExprKind::kTuple ? SequenceStyle::kTuple
                                                                         : SequenceStyle::kList);
    }
    case ExprKind::kDict: {
      DictData dict;
      for (const auto& [key, value] : static_cast<const DictExpr&>(expr).entries) {
        Value k = eval(*key, scope);
        dict.set(std::move(k), eval(*value, scope));
      }
      budget_.charge(dict.size() * 2 * sizeof(Value));
      return Value::dict(std::move(dict));
    }
    case ExprKind::kGetAttr: {
      const auto& g = static_cast<const GetAttrExpr&>(expr);
      return getattr(eval(*g.object, scope), g.attr);
    }
    case ExprKind::kGetItem: {
      const auto& g = static_cast<const GetItemExpr&>(expr);
      const Value obj = eval(*g.object, scope);
      return getitem(obj, eval(*g.index, scope));
    }
    case ExprKind::kSlice: {
      const auto& s = static_cast<const SliceExpr&>(expr);
      const Value obj = eval(*s.object, scope);
      const Value start = s.start ? eval(*s.start, scope) : Value::none();
      const Value stop = s.stop ? eval(*s.stop, scope) : Value::none();
      const Value step = s.step ? eval(*s.step, scope) : Value::none();
      return slice_value(budget_, obj, start, stop, step);
    }
    case ExprKind::kUnary: {
      const auto& u = static_cast<const UnaryExpr&>(expr);
      return unary_op(u.op, eval(*u.operand, scope));
    }
    case ExprKind::kBinary:
      return eval_binary(static_cast<const BinaryExpr&>(expr), scope);
    case ExprKind::kCompare:
      return eval_compare(static_cast<const CompareExpr&>(expr), scope);
    case ExprKind::kCondition: {
      const auto& c = static_cast<const ConditionExpr&>(expr);
      if (truthy(eval(*c.test, scope))) return eval(*c.then_value, scope);
      if (c.else_value) return eval(*c.else_value, scope);
      return Value::undefined("the inline if-expression on line " + std::to_string(expr.loc.line) +
                              " evaluated to false and no else section was defined.");
    }
    case ExprKind::kCall:
      return eval_call(static_cast<const CallExpr&>(expr), scope);
    case ExprKind::kFilter:
      return eval_filter(static_cast<const FilterExpr&>(expr), scope, nullptr);
    case ExprKind::kTest:
      return eval_test(static_cast<const TestExpr&>(expr), scope);
  }
  throw_runtime("unknown expression");
}

Value Interpreter::eval_name(const NameExpr& expr, const ScopePtr& scope) {
  if (const Value* v = scope->lookup(expr.name)) return *v;
  if (auto global = find_global(expr.name)) return *global;
  return Value::undefined(cat({"'", expr.name, "' is undefined"}));
}

Value Interpreter::eval_binary(const BinaryExpr& expr, const ScopePtr& scope) {
  Value value = eval(*expr.first, scope);
  for (const auto& [op, rhs] : expr.rest) {
    if (op == BinaryOp::kAnd) {
      if (!truthy(value)) return value;
      value = eval(*rhs, scope);
    } else if (op == BinaryOp::kOr) {
      if (truthy(value)) return value;
      value = eval(*rhs, scope);
    } else {
      const Value right = eval(*rhs, scope);
      try {
        value = binary_op(budget_, op, value, right);
      } catch (JinjaError& e) {
        e.set_loc_if_unknown(rhs->loc);
        throw;
      }
    }
  }
  return value;
}

Value Interpreter::eval_compare(const CompareExpr& expr, const ScopePtr& scope) {
  Value left = eval(*expr.first, scope);
  for (const auto& [op, rhs] : expr.rest) {
    Value right = eval(*rhs, scope);
    if (!compare_op(budget_, op, left, right)) return Value::boolean(false);
    left = std::move(right);
  }
  return Value::boolean(true);
}

CallArgs Interpreter::eval_args(const CallArgExprs& args, const ScopePtr& scope) {
  CallArgs out;
  out.positional.reserve(args.positional.size());
  for (const auto& e : args.positional) out.positional.push_back(eval(*e, scope));
  if (args.star_args) {
    for (Value& v : iterate(eval(*args.star_args, scope))) out.positional.push_back(std::move(v));
  }
  for (const auto& [name, e] : args.keywords) out.keywords.emplace_back(name, eval(*e, scope));
  if (args.star_kwargs) {
    const Value extra = eval(*args.star_kwargs, scope);
    if (!extra.is_dict())
      throw_runtime("argument after ** must be a mapping, not " + type_name(extra));
    for (const auto& [key, value] : extra.dict().entries) {
      if (!key.is_string()) throw_runtime("keywords must be strings");
      for (const auto& [existing, unused] : out.keywords) {
        if (existing == key.str()) {
          throw_runtime("got multiple values for keyword argument '" + key.str() + "'");
        }
      }
      out.keywords.emplace_back(key.str(), value);
    }
  }
  return out;
}

Value Interpreter::eval_call(const CallExpr& expr, const ScopePtr& scope) {
  const Value callee = eval(*expr.callee, scope);
  CallArgs args = eval_args(expr.args, scope);
  return call(callee, std::move(args));
}

Value Interpreter::eval_filter(const FilterExpr& expr, const ScopePtr& scope,
                               const Value* block_input) {
  Value input;
  if (!expr.input) {
    if (block_input) input = *block_input;
  } else if (block_input && expr.input->kind == ExprKind::kFilter) {
    input = eval_filter(static_cast<const FilterExpr&>(*expr.input), scope, block_input);
  } else {
    input = eval(*expr.input, scope);
  }
  CallArgs args = eval_args(expr.args, scope);
  budget_.tick();
  try {
    return expr.fn(*this, input, args);
  } catch (JinjaError& e) {
    e.set_loc_if_unknown(expr.loc);
    throw;
  }
}

Value Interpreter::eval_test(const TestExpr& expr, const ScopePtr& scope) {
  const Value input = eval(*expr.input, scope);
  CallArgs args = eval_args(expr.args, scope);
  try {
    return Value::boolean(expr.fn(*this, input, args));
  } catch (JinjaError& e) {
    e.set_loc_if_unknown(expr.loc);
    throw;
  }
}

}  // namespace hearth::jinja
