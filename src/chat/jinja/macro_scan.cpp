#include "chat/jinja/macro_scan.h"

namespace hearth::jinja {
namespace {

struct NameScan {
  bool caller = false, varargs = false, kwargs = false;
  void name(const std::string& n) {
    caller = caller || n == "caller";
    varargs = varargs || n == "varargs";
    kwargs = kwargs || n == "kwargs";
  }
  void args(const CallArgExprs& a) {
    for (const auto& e : a.positional) expr(e.get());
    for (const auto& [k, e] : a.keywords) expr(e.get());
    expr(a.star_args.get());
    expr(a.star_kwargs.get());
  }
  void expr(const Expr* e) {
    if (!e) return;
    switch (e->kind) {
      case ExprKind::kName:
        name(static_cast<const NameExpr*>(e)->name);
        return;
      case ExprKind::kList:
      case ExprKind::kTuple:
        for (const auto& i : static_cast<const SequenceExpr*>(e)->items) expr(i.get());
        return;
      case ExprKind::kDict:
        for (const auto& [k, v] : static_cast<const DictExpr*>(e)->entries) {
          expr(k.get());
          expr(v.get());
        }
        return;
      case ExprKind::kGetAttr:
        expr(static_cast<const GetAttrExpr*>(e)->object.get());
        return;
      case ExprKind::kGetItem: {
        const auto* g = static_cast<const GetItemExpr*>(e);
        expr(g->object.get());
        expr(g->index.get());
        return;
      }
      case ExprKind::kSlice: {
        const auto* s = static_cast<const SliceExpr*>(e);
        expr(s->object.get());
        expr(s->start.get());
        expr(s->stop.get());
        expr(s->step.get());
        return;
      }
      case ExprKind::kUnary:
        expr(static_cast<const UnaryExpr*>(e)->operand.get());
        return;
      case ExprKind::kBinary: {
        const auto* b = static_cast<const BinaryExpr*>(e);
        expr(b->first.get());
        for (const auto& [op, r] : b->rest) expr(r.get());
        return;
      }
      case ExprKind::kCompare: {
        const auto* c = static_cast<const CompareExpr*>(e);
        expr(c->first.get());
        for (const auto& [op, r] : c->rest) expr(r.get());
        return;
      }
      case ExprKind::kCondition: {
        const auto* c = static_cast<const ConditionExpr*>(e);
        expr(c->test.get());
        expr(c->then_value.get());
        expr(c->else_value.get());
        return;
      }
      case ExprKind::kCall: {
        const auto* c = static_cast<const CallExpr*>(e);
        expr(c->callee.get());
        args(c->args);
        return;
      }
      case ExprKind::kFilter: {
        const auto* f = static_cast<const FilterExpr*>(e);
        expr(f->input.get());
        args(f->args);
        return;
      }
      case ExprKind::kTest: {
        const auto* t = static_cast<const TestExpr*>(e);
        expr(t->input.get());
        args(t->args);
        return;
      }
      case ExprKind::kLiteral:
        return;
    }
  }
  void body(const Body& b) {
    for (const auto& s : b) stmt(*s);
  }
  void stmt(const Stmt& s) {
    switch (s.kind) {
      case StmtKind::kOutput:
        for (const auto& v : static_cast<const OutputStmt&>(s).values) expr(v.get());
        return;
      case StmtKind::kIf: {
        const auto& i = static_cast<const IfStmt&>(s);
        for (const auto& [test, b] : i.branches) {
          expr(test.get());
          body(b);
        }
        body(i.else_body);
        return;
      }
      case StmtKind::kFor: {
        const auto& f = static_cast<const ForStmt&>(s);
        expr(f.iterable.get());
        expr(f.filter.get());
        body(f.body);
        body(f.else_body);
        return;
      }
      case StmtKind::kSet:
        expr(static_cast<const SetStmt&>(s).value.get());
        return;
      case StmtKind::kSetBlock: {
        const auto& b = static_cast<const SetBlockStmt&>(s);
        expr(b.filter.get());
        body(b.body);
        return;
      }
      case StmtKind::kMacro: {
        const auto& m = static_cast<const MacroStmt&>(s);
        for (const auto& p : m.params) expr(p.default_value.get());
        body(m.body);
        return;
      }
      case StmtKind::kCallBlock: {
        const auto& c = static_cast<const CallBlockStmt&>(s);
        expr(c.call.get());
        body(c.caller.body);
        return;
      }
      case StmtKind::kFilterBlock: {
        const auto& f = static_cast<const FilterBlockStmt&>(s);
        expr(f.filter.get());
        body(f.body);
        return;
      }
      case StmtKind::kScope: {
        const auto& w = static_cast<const ScopeStmt&>(s);
        for (const auto& [t, v] : w.assignments) expr(v.get());
        body(w.body);
        return;
      }
      default:
        return;
    }
  }
};

}  // namespace

void scan_macro_name_uses(MacroStmt& macro) {
  NameScan scan;
  scan.body(macro.body);
  macro.uses_caller = scan.caller;
  macro.uses_varargs = scan.varargs;
  macro.uses_kwargs = scan.kwargs;
}

}  // namespace hearth::jinja
