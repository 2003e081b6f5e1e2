// The host objects templates can hold: namespace(), the loop context, macros, builtin
// functions and bound methods of str/dict/list.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "chat/jinja/ast.h"
#include "chat/jinja/value.h"

namespace hearth::jinja {

class Interpreter;
struct Scope;

// jinja2.utils.Namespace: the one mutable object. Attribute values may not contain host
// objects (another namespace, a macro, a loop), which rules out reference cycles.
class NamespaceObject : public Object {
 public:
  Type type() const override { return Type::kNamespace; }
  std::string type_name() const override { return "Namespace"; }
  std::string repr() const override;
  std::optional<Value> get_attr(Interpreter& interp, std::string_view name) override;
  void set_attr(const std::string& name, Value value);

 private:
  DictData attrs_;
};

// The `loop` variable of a for loop.
class LoopObject : public Object, public std::enable_shared_from_this<LoopObject> {
 public:
  LoopObject(std::shared_ptr<const std::vector<Value>> items, uint32_t depth0,
             const ForStmt* recursive_loop, std::weak_ptr<Scope> scope)
      : items_(std::move(items)),
        depth0_(depth0),
        recursive_loop_(recursive_loop),
        scope_(std::move(scope)) {}

  Type type() const override { return Type::kLoop; }
  std::string type_name() const override { return "LoopContext"; }
  std::string repr() const override;
  std::optional<Value> get_attr(Interpreter& interp, std::string_view name) override;
  Value call(Interpreter& interp, CallArgs args) override;

  void set_index(size_t index0) { index0_ = index0; }
  Value cycle(CallArgs& args) const;
  bool changed(CallArgs& args);

 private:
  std::shared_ptr<const std::vector<Value>> items_;
  size_t index0_ = 0;
  uint32_t depth0_;
  const ForStmt* recursive_loop_;  // null unless `for ... recursive`
  std::weak_ptr<Scope> scope_;
  std::optional<std::vector<Value>> last_changed_;
};

class MacroObject : public Object {
 public:
  MacroObject(const MacroStmt* macro, std::weak_ptr<Scope> closure)
      : macro_(macro), closure_(std::move(closure)) {}
  Type type() const override { return Type::kCallable; }
  std::string type_name() const override { return "Macro"; }
  std::string repr() const override { return "<Macro '" + macro_->name + "'>"; }
  Value call(Interpreter& interp, CallArgs args) override;

 private:
  const MacroStmt* macro_;
  std::weak_ptr<Scope> closure_;  // weak: macros never keep their scope alive
};

using BuiltinFn = Value (*)(Interpreter& interp, CallArgs& args);

class BuiltinFunction : public Object {
 public:
  BuiltinFunction(std::string name, BuiltinFn fn) : name_(std::move(name)), fn_(fn) {}
  Type type() const override { return Type::kCallable; }
  std::string type_name() const override { return "builtin_function_or_method"; }
  std::string repr() const override { return "<built-in function " + name_ + ">"; }
  Value call(Interpreter& interp, CallArgs args) override { return fn_(interp, args); }

 private:
  std::string name_;
  BuiltinFn fn_;
};

using MethodFn = Value (*)(Interpreter& interp, const Value& self, CallArgs& args);

class BoundMethod : public Object {
 public:
  BoundMethod(Value self, std::string name, MethodFn fn)
      : self_(std::move(self)), name_(std::move(name)), fn_(fn) {}
  Type type() const override { return Type::kCallable; }
  std::string type_name() const override { return "builtin_function_or_method"; }
  std::string repr() const override;
  Value call(Interpreter& interp, CallArgs args) override { return fn_(interp, self_, args); }

 private:
  Value self_;
  std::string name_;
  MethodFn fn_;
};

}  // namespace hearth::jinja
