// Lookup of the built-in filters, tests, global functions and methods of str/dict/list, plus the
// argument binding they share (Python-style positional and keyword parameters).
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chat/jinja/ast.h"
#include "chat/jinja/value.h"

namespace hearth::jinja {

// nullptr when jinja2 (as transformers configures it) has no such filter / test.
FilterFn find_filter(std::string_view name);
TestFn find_test(std::string_view name);
// The global functions: range, namespace, dict, raise_exception, strftime_now, ...
std::optional<Value> find_global(std::string_view name);
// `receiver.name` for a str, dict or list: a bound method, or nullopt. `unsafe` is set when
// the method exists but the immutable sandbox forbids it (list.append, dict.update, ...).
std::optional<Value> find_method(const Value& receiver, std::string_view name, bool& unsafe);

// Binds call arguments to named parameters like a Python signature. Throws on unknown keyword
// arguments or too many positional ones.
class ArgBinder {
 public:
  // With `allow_extra`, positional arguments beyond `params` are kept for rest_positional().
  ArgBinder(std::string_view function, CallArgs& args, std::initializer_list<const char*> params,
            bool allow_extra = false);
  // The argument for parameter `index`, or nullopt when it was not passed.
  const Value* get(size_t index) const;
  Value get_or(size_t index, Value fallback) const;
  // Positional arguments beyond the declared parameters (*args).
  std::vector<Value> rest_positional() const;
  void reject_extra() const;

 private:
  std::string function_;
  std::vector<const Value*> bound_;
  std::vector<Value> extra_;
};

// Typed accessors used by filters and methods; they throw a Python-like TypeError.
int64_t arg_int(const Value& v, std::string_view what);
bool arg_bool(const Value& v);
const std::string& arg_string(const Value& v, std::string_view what);
std::optional<std::string> arg_optional_string(const Value* v, std::string_view what);

}  // namespace hearth::jinja
