#include "chat/jinja/host_objects.h"

#include <algorithm>

#include "chat/jinja/error.h"
#include "chat/jinja/interpreter.h"
#include "chat/jinja/python_format.h"

namespace hearth::jinja {

std::string NamespaceObject::repr() const {
  std::string out = "<Namespace {";
  bool first = true;
  for (const auto& [key, value] : attrs_.entries) {
    if (!first) out += ", ";
    first = false;
    out += python_repr(key) + ": " + python_repr(value);
  }
  return out + "}>";
}

std::optional<Value> NamespaceObject::get_attr(Interpreter&, std::string_view name) {
  if (const Value* v = attrs_.find(name)) return *v;
  return std::nullopt;
}

void NamespaceObject::set_attr(const std::string& name, Value value) {
  // transformers' TemplateNamespace: underscore names could reach Python internals.
  if (!name.empty() && name.front() == '_') {
    throw JinjaError(ErrorKind::kSecurity,
                     "Chat templates cannot store underscore-prefixed attributes on a namespace, "
                     "but got '" +
                         name + "'. Please rename the attribute.");
  }
  if (value.holds_host_object()) {
    throw JinjaError(ErrorKind::kSecurity,
                     "the sandbox does not allow storing a namespace, macro, loop or function in "
                     "a namespace attribute ('" +
                         name + "')");
  }
  attrs_.set(Value::string(name), std::move(value));
}

std::string LoopObject::repr() const {
  return "<LoopContext " + std::to_string(index0_ + 1) + "/" + std::to_string(items_->size()) + ">";
}

Value LoopObject::cycle(CallArgs& args) const {
  if (!args.keywords.empty()) throw_runtime("cycle() takes no keyword arguments");
  if (args.positional.empty()) throw_runtime("no items for cycling given");
  return args.positional[index0_ % args.positional.size()];
}

bool LoopObject::changed(CallArgs& args) {
  if (!last_changed_ || last_changed_->size() != args.positional.size() ||
      !std::equal(args.positional.begin(), args.positional.end(), last_changed_->begin(),
                  [](const Value& a, const Value& b) { return python_equal(a, b); })) {
    last_changed_ = args.positional;
    return true;
  }
  return false;
}

namespace {

Value loop_cycle(Interpreter&, const Value& self, CallArgs& args) {
  return static_cast<LoopObject&>(self.obj()).cycle(args);
}

Value loop_changed(Interpreter&, const Value& self, CallArgs& args) {
  return Value::boolean(static_cast<LoopObject&>(self.obj()).changed(args));
}

}  // namespace

std::optional<Value> LoopObject::get_attr(Interpreter&, std::string_view name) {
  const size_t n = items_->size();
  const auto i = static_cast<int64_t>(index0_);
  const auto len = static_cast<int64_t>(n);
  if (name == "index") return Value::integer(i + 1);
  if (name == "index0") return Value::integer(i);
  if (name == "revindex") return Value::integer(len - i);
  if (name == "revindex0") return Value::integer(len - i - 1);
  if (name == "first") return Value::boolean(index0_ == 0);
  if (name == "last") return Value::boolean(index0_ + 1 == n);
  if (name == "length") return Value::integer(len);
  if (name == "depth") return Value::integer(depth0_ + 1);
  if (name == "depth0") return Value::integer(depth0_);
  if (name == "previtem") {
    if (index0_ == 0) return Value::undefined("there is no previous item");
    return (*items_)[index0_ - 1];
  }
  if (name == "nextitem") {
    if (index0_ + 1 >= n) return Value::undefined("there is no next item");
    return (*items_)[index0_ + 1];
  }
  if (name == "cycle" || name == "changed") {
    return Value::object(
        std::make_shared<BoundMethod>(Value::object(shared_from_this()), std::string(name),
                                      name == "cycle" ? &loop_cycle : &loop_changed));
  }
  return std::nullopt;
}

Value LoopObject::call(Interpreter& interp, CallArgs args) {
  if (!recursive_loop_) {
    throw_runtime("The loop must have the 'recursive' marker to be called recursively.");
  }
  if (args.positional.size() != 1 || !args.keywords.empty()) {
    throw_runtime("loop() takes exactly one argument: the items to loop over");
  }
  return interp.call_recursive_loop(*recursive_loop_, scope_, args.positional[0], depth0_ + 1);
}

Value MacroObject::call(Interpreter& interp, CallArgs args) {
  return interp.call_macro(*macro_, closure_, std::move(args));
}

std::string BoundMethod::repr() const {
  return "<built-in method " + name_ + " of " + jinja::type_name(self_) + " object>";
}

}  // namespace hearth::jinja
