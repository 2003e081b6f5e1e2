// The parsed template: expression and statement nodes. Nodes are immutable after parsing and
// owned by the Template, so concurrent renders share them. Parser limits keep the tree shallow
// (see ParseOptions::max_nesting), which bounds every recursive walk over it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "chat/jinja/error.h"
#include "chat/jinja/value.h"

namespace hearth::jinja {

class Interpreter;

enum class ExprKind : uint8_t {
  kLiteral,
  kName,
  kList,
  kTuple,
  kDict,
  kGetAttr,
  kGetItem,
  kSlice,
  kUnary,
  kBinary,
  kCompare,
  kCondition,
  kCall,
  kFilter,
  kTest,
};

enum class UnaryOp : uint8_t { kNeg, kPos, kNot };
enum class BinaryOp : uint8_t {
  kAdd,
  kSub,
  kMul,
  kDiv,
  kFloorDiv,
  kMod,
  kPow,
  kConcat,
  kAnd,
  kOr,
};
enum class CompareOp : uint8_t { kEq, kNe, kLt, kLe, kGt, kGe, kIn, kNotIn };

struct Expr {
  Expr(ExprKind k, SourceLoc l) : kind(k), loc(l) {}
  virtual ~Expr() = default;
  ExprKind kind;
  SourceLoc loc;
  uint32_t depth = 1;  // height of the subtree, bounded by the parser
};
using ExprPtr = std::unique_ptr<Expr>;

struct LiteralExpr : Expr {
  LiteralExpr(SourceLoc l, Value v) : Expr(ExprKind::kLiteral, l), value(std::move(v)) {}
  Value value;
};

struct NameExpr : Expr {
  NameExpr(SourceLoc l, std::string n) : Expr(ExprKind::kName, l), name(std::move(n)) {}
  std::string name;
};

// kList and kTuple.
struct SequenceExpr : Expr {
  SequenceExpr(ExprKind k, SourceLoc l) : Expr(k, l) {}
  std::vector<ExprPtr> items;
};

struct DictExpr : Expr {
  explicit DictExpr(SourceLoc l) : Expr(ExprKind::kDict, l) {}
  std::vector<std::pair<ExprPtr, ExprPtr>> entries;
};

struct GetAttrExpr : Expr {
  GetAttrExpr(SourceLoc l, ExprPtr o, std::string a)
      : Expr(ExprKind::kGetAttr, l), object(std::move(o)), attr(std::move(a)) {}
  ExprPtr object;
  std::string attr;
};

struct GetItemExpr : Expr {
  GetItemExpr(SourceLoc l, ExprPtr o, ExprPtr i)
      : Expr(ExprKind::kGetItem, l), object(std::move(o)), index(std::move(i)) {}
  ExprPtr object;
  ExprPtr index;
};

struct SliceExpr : Expr {
  explicit SliceExpr(SourceLoc l) : Expr(ExprKind::kSlice, l) {}
  ExprPtr object;
  ExprPtr start, stop, step;  // each may be null
};

struct UnaryExpr : Expr {
  UnaryExpr(SourceLoc l, UnaryOp o, ExprPtr x)
      : Expr(ExprKind::kUnary, l), op(o), operand(std::move(x)) {}
  UnaryOp op;
  ExprPtr operand;
};

// A left-associative chain of one precedence level: a + b - c, a ~ b ~ c, a and b and c.
// Flat chains keep long expressions shallow.
struct BinaryExpr : Expr {
  explicit BinaryExpr(SourceLoc l) : Expr(ExprKind::kBinary, l) {}
  ExprPtr first;
  std::vector<std::pair<BinaryOp, ExprPtr>> rest;
};

// a < b <= c: each operand is evaluated once, the chain stops at the first false link.
struct CompareExpr : Expr {
  explicit CompareExpr(SourceLoc l) : Expr(ExprKind::kCompare, l) {}
  ExprPtr first;
  std::vector<std::pair<CompareOp, ExprPtr>> rest;
};

struct ConditionExpr : Expr {
  explicit ConditionExpr(SourceLoc l) : Expr(ExprKind::kCondition, l) {}
  ExprPtr test, then_value, else_value;  // else_value may be null (-> Undefined)
};

struct CallArgExprs {
  std::vector<ExprPtr> positional;
  std::vector<std::pair<std::string, ExprPtr>> keywords;
  ExprPtr star_args;    // *args; may be null
  ExprPtr star_kwargs;  // **kwargs; may be null
};

struct CallExpr : Expr {
  explicit CallExpr(SourceLoc l) : Expr(ExprKind::kCall, l) {}
  ExprPtr callee;
  CallArgExprs args;
};

using FilterFn = Value (*)(Interpreter&, const Value& input, CallArgs& args);
using TestFn = bool (*)(Interpreter&, const Value& input, CallArgs& args);

// `input | name(args)`; input is null for {% filter %} and {% set x | f %} blocks, where the
// captured body is the input.
struct FilterExpr : Expr {
  explicit FilterExpr(SourceLoc l) : Expr(ExprKind::kFilter, l) {}
  ExprPtr input;
  std::string name;
  FilterFn fn = nullptr;
  CallArgExprs args;
};

struct TestExpr : Expr {
  explicit TestExpr(SourceLoc l) : Expr(ExprKind::kTest, l) {}
  ExprPtr input;
  std::string name;
  TestFn fn = nullptr;
  CallArgExprs args;
};

enum class StmtKind : uint8_t {
  kData,
  kOutput,
  kIf,
  kFor,
  kSet,
  kSetBlock,
  kMacro,
  kCallBlock,
  kFilterBlock,
  kScope,  // {% with %} and {% generation %}: a body with its own variables
  kBreak,
  kContinue,
};

struct Stmt {
  Stmt(StmtKind k, SourceLoc l) : kind(k), loc(l) {}
  virtual ~Stmt() = default;
  StmtKind kind;
  SourceLoc loc;
};
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

struct DataStmt : Stmt {
  DataStmt(SourceLoc l, std::string t) : Stmt(StmtKind::kData, l), text(std::move(t)) {}
  std::string text;
};

struct OutputStmt : Stmt {
  explicit OutputStmt(SourceLoc l) : Stmt(StmtKind::kOutput, l) {}
  std::vector<ExprPtr> values;
};

struct IfStmt : Stmt {
  explicit IfStmt(SourceLoc l) : Stmt(StmtKind::kIf, l) {}
  std::vector<std::pair<ExprPtr, Body>> branches;  // if + elif
  Body else_body;
};

// An assignment target: a name, a tuple of names, or namespace.attr.
struct Target {
  std::vector<std::string> names;  // one name, or several for tuple unpacking
  bool is_tuple = false;
  std::string attr;  // non-empty for `ns.attr`
  SourceLoc loc;
};

struct ForStmt : Stmt {
  explicit ForStmt(SourceLoc l) : Stmt(StmtKind::kFor, l) {}
  Target target;
  ExprPtr iterable;
  ExprPtr filter;  // `for x in xs if cond`; may be null
  bool recursive = false;
  Body body;
  Body else_body;
};

struct SetStmt : Stmt {
  explicit SetStmt(SourceLoc l) : Stmt(StmtKind::kSet, l) {}
  Target target;
  ExprPtr value;
};

struct SetBlockStmt : Stmt {
  explicit SetBlockStmt(SourceLoc l) : Stmt(StmtKind::kSetBlock, l) {}
  Target target;
  ExprPtr filter;  // filter chain with a null innermost input; may be null
  Body body;
};

struct MacroParam {
  std::string name;
  ExprPtr default_value;  // may be null
};

struct MacroStmt : Stmt {
  explicit MacroStmt(SourceLoc l) : Stmt(StmtKind::kMacro, l) {}
  std::string name;
  std::vector<MacroParam> params;
  Body body;
  // Whether the body mentions these names, which changes how calls bind arguments.
  bool uses_caller = false;
  bool uses_varargs = false;
  bool uses_kwargs = false;
};

struct CallBlockStmt : Stmt {
  explicit CallBlockStmt(SourceLoc l) : Stmt(StmtKind::kCallBlock, l), caller(l) {}
  std::unique_ptr<CallExpr> call;
  MacroStmt caller;  // the body, as the `caller` macro
};

struct FilterBlockStmt : Stmt {
  explicit FilterBlockStmt(SourceLoc l) : Stmt(StmtKind::kFilterBlock, l) {}
  ExprPtr filter;  // filter chain with a null innermost input
  Body body;
};

struct ScopeStmt : Stmt {
  explicit ScopeStmt(SourceLoc l) : Stmt(StmtKind::kScope, l) {}
  std::vector<std::pair<Target, ExprPtr>> assignments;  // {% with a = 1 %}
  Body body;
};

struct LoopControlStmt : Stmt {
  LoopControlStmt(StmtKind k, SourceLoc l) : Stmt(k, l) {}
};

}  // namespace hearth::jinja
