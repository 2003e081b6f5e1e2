// Name tables for filters, tests and globals; argument binding; the global functions.
#include "chat/jinja/builtins.h"

#include <array>
#include <cstdio>
#include <ctime>

#include "chat/jinja/builtin_functions.h"
#include "chat/jinja/error.h"
#include "chat/jinja/host_objects.h"
#include "chat/jinja/interpreter.h"
#include "chat/jinja/python_format.h"

namespace hearth::jinja {
namespace {

struct FilterEntry {
  std::string_view name;
  FilterFn fn;
};

// jinja2's default filters (transformers replaces tojson). Filters hearth does not implement
// are registered as errors-when-called so templates that merely mention them still render.
constexpr FilterEntry kFilters[] = {
    {"abs", &filter_abs},
    {"attr", &filter_attr},
    {"batch", &filter_batch},
    {"capitalize", &filter_capitalize},
    {"center", &filter_center},
    {"count", &filter_length},
    {"d", &filter_default},
    {"default", &filter_default},
    {"dictsort", &filter_dictsort},
    {"e", &filter_escape},
    {"escape", &filter_escape},
    {"filesizeformat", &filter_unsupported},
    {"first", &filter_first},
    {"float", &filter_float},
    {"forceescape", &filter_forceescape},
    {"format", &filter_format},
    {"groupby", &filter_unsupported},
    {"indent", &filter_indent},
    {"int", &filter_int},
    {"items", &filter_items},
    {"join", &filter_join},
    {"last", &filter_last},
    {"length", &filter_length},
    {"list", &filter_list},
    {"lower", &filter_lower},
    {"map", &filter_map},
    {"max", &filter_max},
    {"min", &filter_min},
    {"pprint", &filter_unsupported},
    {"random", &filter_unsupported},
    {"reject", &filter_reject},
    {"rejectattr", &filter_rejectattr},
    {"replace", &filter_replace},
    {"reverse", &filter_reverse},
    {"round", &filter_round},
    {"safe", &filter_safe},
    {"select", &filter_select},
    {"selectattr", &filter_selectattr},
    {"slice", &filter_slice},
    {"sort", &filter_sort},
    {"string", &filter_string},
    {"striptags", &filter_striptags},
    {"sum", &filter_sum},
    {"title", &filter_title},
    {"tojson", &filter_tojson},
    {"trim", &filter_trim},
    {"truncate", &filter_truncate},
    {"unique", &filter_unique},
    {"upper", &filter_upper},
    {"urlencode", &filter_unsupported},
    {"urlize", &filter_unsupported},
    {"wordcount", &filter_wordcount},
    {"wordwrap", &filter_unsupported},
    {"xmlattr", &filter_unsupported},
};

struct TestEntry {
  std::string_view name;
  TestFn fn;
};

constexpr TestEntry kTests[] = {
    {"!=", &test_ne},
    {"<", &test_lt},
    {"<=", &test_le},
    {"==", &test_eq},
    {">", &test_gt},
    {">=", &test_ge},
    {"boolean", &test_boolean},
    {"callable", &test_callable},
    {"defined", &test_defined},
    {"divisibleby", &test_divisibleby},
    {"eq", &test_eq},
    {"equalto", &test_eq},
    {"escaped", &test_escaped},
    {"even", &test_even},
    {"false", &test_false},
    {"filter", &test_filter},
    {"float", &test_float},
    {"ge", &test_ge},
    {"greaterthan", &test_gt},
    {"gt", &test_gt},
    {"in", &test_in},
    {"integer", &test_integer},
    {"iterable", &test_iterable},
    {"le", &test_le},
    {"lessthan", &test_lt},
    {"lower", &test_lower},
    {"lt", &test_lt},
    {"mapping", &test_mapping},
    {"ne", &test_ne},
    {"none", &test_none},
    {"number", &test_number},
    {"odd", &test_odd},
    {"sameas", &test_sameas},
    {"sequence", &test_sequence},
    {"string", &test_string},
    {"test", &test_test},
    {"true", &test_true},
    {"undefined", &test_undefined},
    {"upper", &test_upper},
};

// --- global functions -----------------------------------------------------------------------

constexpr int64_t kMaxRange = 100000;  // jinja2.sandbox.MAX_RANGE

int64_t range_arg(const Value& v) {
  if (v.is_int() || v.is_bool()) return v.as_int();
  throw_runtime(cat({"'", type_name(v), "' object cannot be interpreted as an integer"}));
}

Value global_range(Interpreter& interp, CallArgs& args) {
  if (!args.keywords.empty()) throw_runtime("range() takes no keyword arguments");
  const auto& p = args.positional;
  if (p.empty() || p.size() > 3) {
    throw_runtime("range expected at most 3 arguments, got " + std::to_string(p.size()));
  }
  int64_t start = 0;
  int64_t stop = 0;
  int64_t step = 1;
  if (p.size() == 1) {
    stop = range_arg(p[0]);
  } else {
    start = range_arg(p[0]);
    stop = range_arg(p[1]);
    if (p.size() == 3) step = range_arg(p[2]);
  }
  if (step == 0) throw_runtime("range() arg 3 must not be zero");
  // Length in unsigned arithmetic so extreme bounds cannot overflow.
  uint64_t length = 0;
  if (step > 0 && stop > start) {
    const uint64_t span = static_cast<uint64_t>(stop) - static_cast<uint64_t>(start);
    length = (span - 1) / static_cast<uint64_t>(step) + 1;
  } else if (step < 0 && start > stop) {
    const uint64_t span = static_cast<uint64_t>(start) - static_cast<uint64_t>(stop);
    length = (span - 1) / (0 - static_cast<uint64_t>(step)) + 1;
  }
  if (length > static_cast<uint64_t>(kMaxRange)) {
    throw JinjaError(ErrorKind::kSecurity,
                     "Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
  }
  interp.budget().charge(static_cast<size_t>(length) * sizeof(Value));
  std::vector<Value> items;
  items.reserve(static_cast<size_t>(length));
  for (uint64_t i = 0; i < length; ++i) {
    items.push_back(Value::integer(start + static_cast<int64_t>(i) * step));
  }
  return Value::list(std::move(items));
}

// dict(mapping_or_pairs, **kwargs) as Python's dict constructor.
DictData dict_from_args(Interpreter& interp, CallArgs& args, const char* function) {
  if (args.positional.size() > 1) {
    throw_runtime(std::string(function) + " expected at most 1 positional argument, got " +
                  std::to_string(args.positional.size()));
  }
  DictData dict;
  if (!args.positional.empty()) {
    const Value& source = args.positional.front();
    if (source.is_dict()) {
      dict = source.dict();
    } else {
      for (const Value& pair : interp.iterate(source)) {
        const std::vector<Value> kv = unpack_values(interp, pair, 2);
        dict.set(kv[0], kv[1]);
      }
    }
  }
  for (auto& [key, value] : args.keywords) dict.set(Value::string(key), std::move(value));
  return dict;
}

Value global_dict(Interpreter& interp, CallArgs& args) {
  return Value::dict(dict_from_args(interp, args, "dict"));
}

Value dict_fromkeys(Interpreter& interp, CallArgs& args) {
  ArgBinder bind("fromkeys", args, {"iterable", "value"});
  if (!bind.get(0)) throw_runtime("fromkeys expected at least 1 argument, got 0");
  const Value value = bind.get_or(1, Value::none());
  DictData dict;
  for (const Value& key : interp.iterate(*bind.get(0))) dict.set(key, value);
  interp.budget().charge(dict.size() * 2 * sizeof(Value));
  return Value::dict(std::move(dict));
}

// transformers' TemplateDict: callable like dict(), with dict.fromkeys and nothing else.
class DictFunction : public Object {
 public:
  Type type() const override { return Type::kCallable; }
  std::string type_name() const override { return "TemplateDict"; }
  std::string repr() const override { return "<TemplateDict object>"; }
  std::optional<Value> get_attr(Interpreter&, std::string_view name) override {
    if (name != "fromkeys") return std::nullopt;
    return Value::object(std::make_shared<BuiltinFunction>("fromkeys", &dict_fromkeys));
  }
  Value call(Interpreter& interp, CallArgs args) override { return global_dict(interp, args); }
};

Value global_namespace(Interpreter& interp, CallArgs& args) {
  auto ns = std::make_shared<NamespaceObject>();
  const DictData attrs = dict_from_args(interp, args, "namespace");
  for (const auto& [key, value] : attrs.entries) ns->set_attr(python_str(key), value);
  return Value::object(std::move(ns));
}

Value global_raise_exception(Interpreter&, CallArgs& args) {
  ArgBinder bind("raise_exception", args, {"message"});
  const Value* message = bind.get(0);
  if (!message)
    throw_runtime("raise_exception() missing 1 required positional argument: 'message'");
  throw JinjaError(ErrorKind::kRaised, python_str(*message));
}

Value global_strftime_now(Interpreter& interp, CallArgs& args) {
  ArgBinder bind("strftime_now", args, {"format"});
  const Value* format_value = bind.get(0);
  if (!format_value)
    throw_runtime("strftime_now() missing 1 required positional argument: 'format'");
  const std::string& format = arg_string(*format_value, "strftime_now() format");
  if (format.size() > 1024) throw_runtime("strftime_now() format is longer than 1024 bytes");
  // datetime.now() is naive: %z and %Z expand to nothing; the rest is C strftime.
  std::string c_format;
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] == '%' && i + 1 < format.size()) {
      const char spec = format[i + 1];
      if (spec == 'z' || spec == 'Z') {
        ++i;
        continue;
      }
      c_format += format.substr(i, 2);
      ++i;
      continue;
    }
    c_format += format[i];
  }
  const std::tm now = interp.now();
  std::string out(256 + c_format.size() * 16, '\0');
  const size_t n = std::strftime(out.data(), out.size(), c_format.c_str(), &now);
  out.resize(n);
  return Value::string(std::move(out));
}

struct GlobalEntry {
  std::string_view name;
  BuiltinFn fn;
};

constexpr GlobalEntry kGlobals[] = {
    {"namespace", &global_namespace},
    {"raise_exception", &global_raise_exception},
    {"range", &global_range},
    {"strftime_now", &global_strftime_now},
};

}  // namespace

FilterFn find_filter(std::string_view name) {
  for (const auto& entry : kFilters) {
    if (entry.name == name) return entry.fn;
  }
  return nullptr;
}

TestFn find_test(std::string_view name) {
  for (const auto& entry : kTests) {
    if (entry.name == name) return entry.fn;
  }
  return nullptr;
}

std::optional<Value> find_global(std::string_view name) {
  if (name == "dict") return Value::object(std::make_shared<DictFunction>());
  for (const auto& entry : kGlobals) {
    if (entry.name == name) {
      return Value::object(std::make_shared<BuiltinFunction>(std::string(name), entry.fn));
    }
  }
  return std::nullopt;
}

ArgBinder::ArgBinder(std::string_view function, CallArgs& args,
                     std::initializer_list<const char*> params, bool allow_extra)
    : function_(function), bound_(params.size(), nullptr) {
  for (size_t i = 0; i < args.positional.size(); ++i) {
    if (i < bound_.size()) {
      bound_[i] = &args.positional[i];
    } else {
      extra_.push_back(args.positional[i]);
    }
  }
  for (const auto& [key, value] : args.keywords) {
    size_t index = 0;
    for (const char* param : params) {
      if (key == param) break;
      ++index;
    }
    if (index == bound_.size()) {
      throw_runtime(function_ + "() got an unexpected keyword argument '" + key + "'");
    }
    if (bound_[index]) {
      throw_runtime(function_ + "() got multiple values for argument '" + key + "'");
    }
    bound_[index] = &value;
  }
  if (!allow_extra) reject_extra();
}

const Value* ArgBinder::get(size_t index) const {
  return index < bound_.size() ? bound_[index] : nullptr;
}

Value ArgBinder::get_or(size_t index, Value fallback) const {
  const Value* v = get(index);
  return v ? *v : std::move(fallback);
}

std::vector<Value> ArgBinder::rest_positional() const {
  return extra_;
}

void ArgBinder::reject_extra() const {
  if (!extra_.empty()) {
    throw_runtime(function_ + "() takes at most " + std::to_string(bound_.size()) + " arguments (" +
                  std::to_string(bound_.size() + extra_.size()) + " given)");
  }
}

int64_t arg_int(const Value& v, std::string_view what) {
  if (v.is_int() || v.is_bool()) return v.as_int();
  throw_runtime(std::string(what) + " must be an integer, not " + type_name(v));
}

bool arg_bool(const Value& v) {
  return truthy(v);
}

const std::string& arg_string(const Value& v, std::string_view what) {
  if (!v.is_string()) throw_runtime(std::string(what) + " must be a string, not " + type_name(v));
  return v.str();
}

std::optional<std::string> arg_optional_string(const Value* v, std::string_view what) {
  if (!v || v->is_none()) return std::nullopt;
  return arg_string(*v, what);
}

}  // namespace hearth::jinja
