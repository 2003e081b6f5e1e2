// Executes a parsed template against variables, with jinja2's semantics for scoping (loop
// bodies and macros get their own variables; `set` in a loop does not leak out), undefined
// values, the immutable sandbox (attribute access only to data and safe methods) and the
// limits in RenderLimits.
#pragma once

#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "chat/jinja/ast.h"
#include "chat/jinja/budget.h"
#include "chat/jinja/value.h"

namespace hearth::jinja {

// Variables visible at one level: the render's globals, a loop iteration, a macro call, ...
struct Scope {
  std::shared_ptr<Scope> parent;
  std::vector<std::pair<std::string, Value>> vars;

  // Searches this scope and its parents.
  const Value* lookup(std::string_view name) const;
  void set(std::string_view name, Value value);
};
using ScopePtr = std::shared_ptr<Scope>;

// Returns the local time used by strftime_now().
using Clock = std::function<std::tm()>;

class Interpreter {
 public:
  Interpreter(const RenderLimits& limits, Clock clock);

  std::string render(const Body& body, ScopePtr globals);

  // --- services for filters, methods and host objects ---------------------------------------
  Budget& budget() { return budget_; }
  // obj.name and obj[key] with the sandbox's rules; missing things are Undefined.
  Value getattr(const Value& obj, std::string_view name);
  Value getitem(const Value& obj, const Value& key);
  Value call(const Value& callee, CallArgs args);
  Value call_filter(std::string_view name, const Value& input, CallArgs args);
  bool call_test(std::string_view name, const Value& input, CallArgs args);
  std::tm now() const;
  // The elements a `for` loop visits: list items, string characters, dict keys.
  std::vector<Value> iterate(const Value& iterable);

  Value call_macro(const MacroStmt& macro, const std::weak_ptr<Scope>& closure, CallArgs args);
  // loop(items) inside a `for ... recursive` body: renders the loop again one level deeper.
  Value call_recursive_loop(const ForStmt& loop, const std::weak_ptr<Scope>& scope,
                            const Value& iterable, uint32_t depth0);

 private:
  enum class Flow { kNormal, kBreak, kContinue };

  Flow exec_body(const Body& body, const ScopePtr& scope);
  Flow exec(const Stmt& stmt, const ScopePtr& scope);
  Flow exec_for(const ForStmt& stmt, const ScopePtr& scope, const Value& iterable, uint32_t depth0);
  void exec_set(const SetStmt& stmt, const ScopePtr& scope);
  void exec_set_block(const SetBlockStmt& stmt, const ScopePtr& scope);
  void exec_call_block(const CallBlockStmt& stmt, const ScopePtr& scope);
  void exec_filter_block(const FilterBlockStmt& stmt, const ScopePtr& scope);
  Flow exec_scope(const ScopeStmt& stmt, const ScopePtr& scope);
  void assign(const Target& target, const Value& value, const ScopePtr& scope);
  std::string capture(const Body& body, const ScopePtr& scope);
  void write(std::string_view text);

  Value eval(const Expr& expr, const ScopePtr& scope);
  Value eval_node(const Expr& expr, const ScopePtr& scope);
  Value eval_name(const NameExpr& expr, const ScopePtr& scope);
  Value eval_binary(const BinaryExpr& expr, const ScopePtr& scope);
  Value eval_compare(const CompareExpr& expr, const ScopePtr& scope);
  Value eval_call(const CallExpr& expr, const ScopePtr& scope);
  // `block_input` replaces the innermost null input of a block filter chain.
  Value eval_filter(const FilterExpr& expr, const ScopePtr& scope, const Value* block_input);
  Value eval_test(const TestExpr& expr, const ScopePtr& scope);
  CallArgs eval_args(const CallArgExprs& args, const ScopePtr& scope);

  Budget budget_;
  Clock clock_;
  std::string root_output_;
  std::string* output_ = &root_output_;
  uint32_t call_depth_ = 0;
};

// Unpacks `value` into `count` parts for tuple targets (for a, b in ...; set a, b = ...).
std::vector<Value> unpack_values(Interpreter& interp, const Value& value, size_t count);

}  // namespace hearth::jinja
