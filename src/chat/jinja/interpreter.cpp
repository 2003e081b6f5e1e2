// Statement execution: output, control flow, assignments, macros and block filters.
#include "chat/jinja/interpreter.h"

#include "chat/jinja/error.h"
#include "chat/jinja/host_objects.h"
#include "chat/jinja/operators.h"
#include "chat/jinja/python_format.h"

namespace hearth::jinja {

const Value* Scope::lookup(std::string_view name) const {
  for (const Scope* s = this; s != nullptr; s = s->parent.get()) {
    for (const auto& [key, value] : s->vars) {
      if (key == name) return &value;
    }
  }
  return nullptr;
}

void Scope::set(std::string_view name, Value value) {
  for (auto& [key, existing] : vars) {
    if (key == name) {
      existing = std::move(value);
      return;
    }
  }
  vars.emplace_back(std::string(name), std::move(value));
}

namespace {

ScopePtr child_scope(const ScopePtr& parent) {
  auto scope = std::make_shared<Scope>();
  scope->parent = parent;
  return scope;
}

// Restores the output sink when a capture ends (also on errors).
class OutputRedirect {
 public:
  OutputRedirect(std::string*& sink, std::string* target) : sink_(sink), saved_(sink) {
    sink_ = target;
  }
  ~OutputRedirect() { sink_ = saved_; }
  OutputRedirect(const OutputRedirect&) = delete;
  OutputRedirect& operator=(const OutputRedirect&) = delete;

 private:
  std::string*& sink_;
  std::string* saved_;
};

class CallDepthGuard {
 public:
  CallDepthGuard(uint32_t& depth, uint32_t limit) : depth_(depth) {
    if (depth_ >= limit) {
      throw_limit("macro or recursive loop calls nested deeper than " + std::to_string(limit) +
                  " levels");
    }
    ++depth_;
  }
  ~CallDepthGuard() { --depth_; }
  CallDepthGuard(const CallDepthGuard&) = delete;
  CallDepthGuard& operator=(const CallDepthGuard&) = delete;

 private:
  uint32_t& depth_;
};

}  // namespace

Interpreter::Interpreter(const RenderLimits& limits, Clock clock)
    : budget_(limits), clock_(std::move(clock)) {}

std::string Interpreter::render(const Body& body, ScopePtr globals) {
  const ScopePtr scope = child_scope(globals);
  exec_body(body, scope);
  return std::move(root_output_);
}

std::tm Interpreter::now() const {
  if (clock_) return clock_();
  const std::time_t t = std::time(nullptr);
  std::tm local{};
  localtime_r(&t, &local);
  return local;
}

void Interpreter::write(std::string_view text) {
  if (output_ == &root_output_) {
    if (root_output_.size() + text.size() > budget_.limits().max_output_bytes) {
      throw_limit("rendered output exceeds the limit of " +
                  std::to_string(budget_.limits().max_output_bytes) + " bytes");
    }
    budget_.tick(1 + text.size() / 256);
  } else {
    if (output_->size() + text.size() > budget_.limits().max_string_bytes) {
      throw_limit("a captured block exceeds the limit of " +
                  std::to_string(budget_.limits().max_string_bytes) + " bytes per string");
    }
    budget_.charge(text.size());
  }
  output_->append(text);
}

std::string Interpreter::capture(const Body& body, const ScopePtr& scope) {
  std::string captured;
  {
    OutputRedirect redirect(output_, &captured);
    exec_body(body, scope);
  }
  return captured;
}

Interpreter::Flow Interpreter::exec_body(const Body& body, const ScopePtr& scope) {
  for (const auto& stmt : body) {
    const Flow flow = exec(*stmt, scope);
    if (flow != Flow::kNormal) return flow;
  }
  return Flow::kNormal;
}

Interpreter::Flow Interpreter::exec(const Stmt& stmt, const ScopePtr& scope) {
  Budget::DepthGuard depth(budget_);
  budget_.tick();
  try {
    switch (stmt.kind) {
      case StmtKind::kData:
        write(static_cast<const DataStmt&>(stmt).text);
        break;
      case StmtKind::kOutput:
        for (const auto& expr : static_cast<const OutputStmt&>(stmt).values) {
          const Value v = eval(*expr, scope);
          if (v.is_string()) {
            write(v.str());
          } else {
            write(python_str(v));
          }
        }
        break;
      case StmtKind::kIf: {
        const auto& s = static_cast<const IfStmt&>(stmt);
        for (const auto& [test, body] : s.branches) {
          if (truthy(eval(*test, scope))) return exec_body(body, scope);
        }
        return exec_body(s.else_body, scope);
      }
      case StmtKind::kFor: {
        const auto& s = static_cast<const ForStmt&>(stmt);
        exec_for(s, scope, eval(*s.iterable, scope), 0);
        break;
      }
      case StmtKind::kSet:
        exec_set(static_cast<const SetStmt&>(stmt), scope);
        break;
      case StmtKind::kSetBlock:
        exec_set_block(static_cast<const SetBlockStmt&>(stmt), scope);
        break;
      case StmtKind::kMacro: {
        const auto& s = static_cast<const MacroStmt&>(stmt);
        scope->set(s.name, Value::object(std::make_shared<MacroObject>(&s, scope)));
        break;
      }
      case StmtKind::kCallBlock:
        exec_call_block(static_cast<const CallBlockStmt&>(stmt), scope);
        break;
      case StmtKind::kFilterBlock:
        exec_filter_block(static_cast<const FilterBlockStmt&>(stmt), scope);
        break;
      case StmtKind::kScope:
        return exec_scope(static_cast<const ScopeStmt&>(stmt), scope);
      case StmtKind::kBreak:
        return Flow::kBreak;
      case StmtKind::kContinue:
        return Flow::kContinue;
    }
  } catch (JinjaError& e) {
    e.set_loc_if_unknown(stmt.loc);
    throw;
  }
  return Flow::kNormal;
}

Interpreter::Flow Interpreter::exec_for(const ForStmt& stmt, const ScopePtr& scope,
                                        const Value& iterable, uint32_t depth0) {
  std::vector<Value> items = iterate(iterable);
  if (stmt.filter) {
    std::vector<Value> kept;
    for (Value& item : items) {
      budget_.count_loop_iteration();
      const ScopePtr probe = child_scope(scope);
      assign(stmt.target, item, probe);
      if (truthy(eval(*stmt.filter, probe))) kept.push_back(std::move(item));
    }
    items = std::move(kept);
  }
  if (items.empty()) {
    exec_body(stmt.else_body, child_scope(scope));
    return Flow::kNormal;
  }
  auto shared_items = std::make_shared<const std::vector<Value>>(std::move(items));
  auto loop =
      std::make_shared<LoopObject>(shared_items, depth0, stmt.recursive ? &stmt : nullptr, scope);
  const Value loop_value = Value::object(loop);
  for (size_t i = 0; i < shared_items->size(); ++i) {
    budget_.count_loop_iteration();
    loop->set_index(i);
    const ScopePtr iteration = child_scope(scope);
    assign(stmt.target, (*shared_items)[i], iteration);
    iteration->set("loop", loop_value);
    if (exec_body(stmt.body, iteration) == Flow::kBreak) break;
  }
  return Flow::kNormal;
}

Value Interpreter::call_recursive_loop(const ForStmt& loop, const std::weak_ptr<Scope>& scope,
                                       const Value& iterable, uint32_t depth0) {
  CallDepthGuard guard(call_depth_, budget_.limits().max_call_depth);
  const ScopePtr parent = scope.lock();
  if (!parent) throw_runtime("the loop called recursively is no longer running");
  std::string captured;
  {
    OutputRedirect redirect(output_, &captured);
    exec_for(loop, parent, iterable, depth0);
  }
  return Value::string(std::move(captured));
}

std::vector<Value> unpack_values(Interpreter& interp, const Value& value, size_t count) {
  if (!value.is_list() && !value.is_string() && !value.is_dict()) {
    throw_runtime("cannot unpack non-iterable " + type_name(value) + " object");
  }
  std::vector<Value> parts = interp.iterate(value);
  if (parts.size() > count) {
    throw_runtime("too many values to unpack (expected " + std::to_string(count) + ")");
  }
  if (parts.size() < count) {
    throw_runtime("not enough values to unpack (expected " + std::to_string(count) + ", got " +
                  std::to_string(parts.size()) + ")");
  }
  return parts;
}

void Interpreter::assign(const Target& target, const Value& value, const ScopePtr& scope) {
  if (!target.attr.empty()) {
    const Value* ns = scope->lookup(target.names.front());
    if (!ns || !ns->is_object() || ns->obj().type() != Object::Type::kNamespace) {
      throw JinjaError(ErrorKind::kRuntime, "cannot assign attribute on non-namespace object",
                       target.loc);
    }
    static_cast<NamespaceObject&>(ns->obj()).set_attr(target.attr, value);
    return;
  }
  if (!target.is_tuple) {
    scope->set(target.names.front(), value);
    return;
  }
  const std::vector<Value> parts = unpack_values(*this, value, target.names.size());
  for (size_t i = 0; i < parts.size(); ++i) scope->set(target.names[i], parts[i]);
}

void Interpreter::exec_set(const SetStmt& stmt, const ScopePtr& scope) {
  assign(stmt.target, eval(*stmt.value, scope), scope);
}

void Interpreter::exec_set_block(const SetBlockStmt& stmt, const ScopePtr& scope) {
  Value value = Value::string(capture(stmt.body, child_scope(scope)));
  if (stmt.filter) {
    value = eval_filter(static_cast<const FilterExpr&>(*stmt.filter), scope, &value);
  }
  assign(stmt.target, value, scope);
}

void Interpreter::exec_call_block(const CallBlockStmt& stmt, const ScopePtr& scope) {
  const Value callee = eval(*stmt.call->callee, scope);
  CallArgs args = eval_args(stmt.call->args, scope);
  args.keywords.emplace_back("caller",
                             Value::object(std::make_shared<MacroObject>(&stmt.caller, scope)));
  const Value result = call(callee, std::move(args));
  write(python_str(result));
}

void Interpreter::exec_filter_block(const FilterBlockStmt& stmt, const ScopePtr& scope) {
  const Value body = Value::string(capture(stmt.body, child_scope(scope)));
  const Value result = eval_filter(static_cast<const FilterExpr&>(*stmt.filter), scope, &body);
  write(python_str(result));
}

Interpreter::Flow Interpreter::exec_scope(const ScopeStmt& stmt, const ScopePtr& scope) {
  const ScopePtr inner = child_scope(scope);
  for (const auto& [target, expr] : stmt.assignments) assign(target, eval(*expr, scope), inner);
  return exec_body(stmt.body, inner);  // {% break %} inside {% with %} leaves the loop
}

Value Interpreter::call_macro(const MacroStmt& macro, const std::weak_ptr<Scope>& closure,
                              CallArgs args) {
  CallDepthGuard guard(call_depth_, budget_.limits().max_call_depth);
  const ScopePtr parent = closure.lock();
  if (!parent) throw_runtime("macro '" + macro.name + "' outlived the scope it was defined in");
  const ScopePtr scope = child_scope(parent);
  const size_t n = macro.params.size();
  std::vector<bool> provided(n, false);
  bool found_caller = false;
  for (const MacroParam& param : macro.params)
    found_caller = found_caller || param.name == "caller";
  for (size_t i = 0; i < n && i < args.positional.size(); ++i) {
    scope->set(macro.params[i].name, args.positional[i]);
    provided[i] = true;
  }
  for (size_t i = args.positional.size(); i < n; ++i) {
    const std::string& name = macro.params[i].name;
    for (auto it = args.keywords.begin(); it != args.keywords.end(); ++it) {
      if (it->first == name) {
        scope->set(name, std::move(it->second));
        provided[i] = true;
        args.keywords.erase(it);
        break;
      }
    }
  }
  if (macro.uses_caller && !found_caller) {
    Value caller = Value::undefined("No caller defined");
    for (auto it = args.keywords.begin(); it != args.keywords.end(); ++it) {
      if (it->first == "caller") {
        caller = std::move(it->second);
        args.keywords.erase(it);
        break;
      }
    }
    scope->set("caller", std::move(caller));
  }
  if (macro.uses_kwargs) {
    DictData kwargs;
    for (auto& [key, value] : args.keywords) kwargs.set(Value::string(key), std::move(value));
    scope->set("kwargs", Value::dict(std::move(kwargs)));
  } else if (!args.keywords.empty()) {
    if (args.keywords.front().first == "caller") {
      throw_runtime("macro '" + macro.name +
                    "' was invoked with two values for the special caller argument");
    }
    throw_runtime("macro '" + macro.name + "' takes no keyword argument '" +
                  args.keywords.front().first + "'");
  }
  if (macro.uses_varargs) {
    std::vector<Value> rest;
    for (size_t i = n; i < args.positional.size(); ++i) rest.push_back(args.positional[i]);
    scope->set("varargs", Value::list(std::move(rest), SequenceStyle::kTuple));
  } else if (args.positional.size() > n) {
    throw_runtime("macro '" + macro.name + "' takes not more than " + std::to_string(n) +
                  " argument(s)");
  }
  for (size_t i = 0; i < n; ++i) {
    if (provided[i]) continue;
    const MacroParam& param = macro.params[i];
    scope->set(param.name, param.default_value ? eval(*param.default_value, scope)
                                               : Value::undefined("parameter '" + param.name +
                                                                  "' was not provided"));
  }
  return Value::string(capture(macro.body, scope));
}

}  // namespace hearth::jinja
