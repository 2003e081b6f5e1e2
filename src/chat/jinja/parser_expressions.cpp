// Expression parsing with jinja2's precedence: conditional < or < and < not < comparisons
// < + - < ~ < * / // % < ** < unary < postfix (. [] ()) and filters / tests.
#include <algorithm>
#include <optional>

#include "chat/jinja/builtins.h"
#include "chat/jinja/parser_internal.h"

namespace hearth::jinja {

bool Parser::is_tuple_end(std::initializer_list<const char*> extra_end) const {
  const Token& t = current();
  if (t.type == TokenType::kVariableEnd || t.type == TokenType::kBlockEnd ||
      (t.type == TokenType::kOperator && t.op == Op::kRParen)) {
    return true;
  }
  for (const char* name : extra_end) {
    if (t.type == TokenType::kName && t.text == name) return true;
  }
  return false;
}

ExprPtr Parser::parse_tuple(TupleMode mode, std::initializer_list<const char*> extra_end,
                            bool explicit_parentheses) {
  const SourceLoc where = loc();
  std::vector<ExprPtr> items;
  bool is_tuple = false;
  while (true) {
    if (!items.empty()) expect_op(Op::kComma);
    if (is_tuple_end(extra_end)) break;
    items.push_back(parse_expression(mode == TupleMode::kFull));
    if (is_op(Op::kComma)) {
      is_tuple = true;
    } else {
      break;
    }
  }
  if (!is_tuple) {
    if (!items.empty()) return std::move(items.front());
    if (!explicit_parentheses) {
      fail("Expected an expression, got " + describe(current()));
    }
  }
  auto tuple = std::make_unique<SequenceExpr>(ExprKind::kTuple, where);
  uint32_t depth = 0;
  for (const auto& item : items) depth = std::max(depth, item->depth);
  tuple->items = std::move(items);
  set_depth(*tuple, depth);
  return tuple;
}

ExprPtr Parser::parse_expression(bool with_condition) {
  NestingGuard guard(*this);
  return with_condition ? parse_condition() : parse_or();
}

ExprPtr Parser::parse_condition() {
  SourceLoc where = loc();
  ExprPtr expr = parse_or();
  while (skip_name("if")) {
    auto cond = std::make_unique<ConditionExpr>(where);
    cond->then_value = std::move(expr);
    cond->test = parse_or();
    if (skip_name("else")) {
      NestingGuard guard(*this);
      cond->else_value = parse_condition();
    }
    const Expr* a = cond->then_value.get();
    const Expr* b = cond->test.get();
    const Expr* c = cond->else_value.get();
    expr = finish(std::move(cond), {a, b, c});
    where = loc();
  }
  return expr;
}

ExprPtr Parser::parse_chain(ExprPtr (Parser::*operand)(),
                            std::initializer_list<std::pair<Op, BinaryOp>> ops, const char* keyword,
                            BinaryOp keyword_op) {
  const SourceLoc where = loc();
  ExprPtr first = (this->*operand)();
  std::unique_ptr<BinaryExpr> chain;
  uint32_t depth = first->depth;
  while (true) {
    std::optional<BinaryOp> op;
    if (keyword && is_name(keyword)) {
      op = keyword_op;
    } else if (current().type == TokenType::kOperator) {
      for (const auto& [token_op, binary_op] : ops) {
        if (current().op == token_op) op = binary_op;
      }
    }
    if (!op) break;
    advance();
    if (!chain) {
      chain = std::make_unique<BinaryExpr>(where);
      chain->first = std::move(first);
    }
    ExprPtr operand_expr = (this->*operand)();
    depth = std::max(depth, operand_expr->depth);
    chain->rest.emplace_back(*op, std::move(operand_expr));
  }
  if (!chain) return first;
  set_depth(*chain, depth);
  return chain;
}

ExprPtr Parser::parse_or() {
  return parse_chain(&Parser::parse_and, {}, "or", BinaryOp::kOr);
}

ExprPtr Parser::parse_and() {
  return parse_chain(&Parser::parse_not, {}, "and", BinaryOp::kAnd);
}

ExprPtr Parser::parse_not() {
  if (is_name("not")) {
    NestingGuard guard(*this);
    const SourceLoc where = loc_of(advance());
    ExprPtr operand = parse_not();
    const Expr* child = operand.get();
    return finish(std::make_unique<UnaryExpr>(where, UnaryOp::kNot, std::move(operand)), {child});
  }
  return parse_compare();
}

ExprPtr Parser::parse_compare() {
  const SourceLoc where = loc();
  ExprPtr first = parse_math1();
  std::unique_ptr<CompareExpr> cmp;
  uint32_t depth = first->depth;
  while (true) {
    std::optional<CompareOp> op;
    if (current().type == TokenType::kOperator) {
      switch (current().op) {
        case Op::kEq:
          op = CompareOp::kEq;
          break;
        case Op::kNe:
          op = CompareOp::kNe;
          break;
        case Op::kLt:
          op = CompareOp::kLt;
          break;
        case Op::kLe:
          op = CompareOp::kLe;
          break;
        case Op::kGt:
          op = CompareOp::kGt;
          break;
        case Op::kGe:
          op = CompareOp::kGe;
          break;
        default:
          break;
      }
      if (op) advance();
    } else if (is_name("in")) {
      advance();
      op = CompareOp::kIn;
    } else if (is_name("not") && look().type == TokenType::kName && look().text == "in") {
      advance();
      advance();
      op = CompareOp::kNotIn;
    }
    if (!op) break;
    if (!cmp) {
      cmp = std::make_unique<CompareExpr>(where);
      cmp->first = std::move(first);
    }
    ExprPtr operand = parse_math1();
    depth = std::max(depth, operand->depth);
    cmp->rest.emplace_back(*op, std::move(operand));
  }
  if (!cmp) return first;
  set_depth(*cmp, depth);
  return cmp;
}

ExprPtr Parser::parse_math1() {
  return parse_chain(&Parser::parse_concat,
                     {{Op::kAdd, BinaryOp::kAdd}, {Op::kSub, BinaryOp::kSub}}, nullptr,
                     BinaryOp::kAdd);
}

ExprPtr Parser::parse_concat() {
  return parse_chain(&Parser::parse_math2, {{Op::kTilde, BinaryOp::kConcat}}, nullptr,
                     BinaryOp::kConcat);
}
ExprPtr Parser::parse_math2() {
  return parse_chain(&Parser::parse_pow,
                     {{Op::kMul, BinaryOp::kMul},
                      {Op::kDiv, BinaryOp::kDiv},
                      {Op::kFloorDiv, BinaryOp::kFloorDiv},
                      {Op::kMod, BinaryOp::kMod}},
                     nullptr, BinaryOp::kMul);
}

ExprPtr Parser::parse_pow() {
  return parse_chain(&Parser::parse_unary_with_filter, {{Op::kPow, BinaryOp::kPow}}, nullptr,
                     BinaryOp::kPow);
}

ExprPtr Parser::parse_unary(bool with_filter) {
  ExprPtr node;
  if (is_op(Op::kSub) || is_op(Op::kAdd)) {
    NestingGuard guard(*this);
    const UnaryOp op = is_op(Op::kSub) ? UnaryOp::kNeg : UnaryOp::kPos;
    const SourceLoc where = loc_of(advance());
    ExprPtr operand = parse_unary(false);
    const Expr* child = operand.get();
    node = finish(std::make_unique<UnaryExpr>(where, op, std::move(operand)), {child});
  } else {
    node = parse_primary();
  }
  node = parse_postfix(std::move(node));
  if (with_filter) node = parse_filter_expr(std::move(node));
  return node;
}

ExprPtr Parser::parse_primary() {
  const Token& token = current();
  const SourceLoc where = loc_of(token);
  switch (token.type) {
    case TokenType::kName: {
      const std::string name = advance().text;
      if (name == "true" || name == "True") {
        return std::make_unique<LiteralExpr>(where, Value::boolean(true));
      }
      if (name == "false" || name == "False") {
        return std::make_unique<LiteralExpr>(where, Value::boolean(false));
      }
      if (name == "none" || name == "None") {
        return std::make_unique<LiteralExpr>(where, Value::none());
      }
      return std::make_unique<NameExpr>(where, name);
    }
    case TokenType::kString: {
      std::string text = advance().text;
      while (current().type == TokenType::kString) text += advance().text;
      return std::make_unique<LiteralExpr>(where, Value::string(std::move(text)));
    }
    case TokenType::kInteger:
      return std::make_unique<LiteralExpr>(where, Value::integer(advance().int_value));
    case TokenType::kFloat:
      return std::make_unique<LiteralExpr>(where, Value::floating(advance().float_value));
    case TokenType::kOperator:
      if (token.op == Op::kLParen) {
        advance();
        ExprPtr inner = parse_tuple(TupleMode::kFull, {}, true);
        expect_op(Op::kRParen);
        return inner;
      }
      if (token.op == Op::kLBracket) return parse_list();
      if (token.op == Op::kLBrace) return parse_dict();
      break;
    default:
      break;
  }
  fail("unexpected " + describe(token));
}

ExprPtr Parser::parse_list() {
  auto node = std::make_unique<SequenceExpr>(ExprKind::kList, loc_of(advance()));
  uint32_t depth = 0;
  while (!is_op(Op::kRBracket)) {
    if (!node->items.empty()) expect_op(Op::kComma);
    if (is_op(Op::kRBracket)) break;
    node->items.push_back(parse_expression(true));
    depth = std::max(depth, node->items.back()->depth);
  }
  expect_op(Op::kRBracket);
  set_depth(*node, depth);
  return node;
}

ExprPtr Parser::parse_dict() {
  auto node = std::make_unique<DictExpr>(loc_of(advance()));
  uint32_t depth = 0;
  while (!is_op(Op::kRBrace)) {
    if (!node->entries.empty()) expect_op(Op::kComma);
    if (is_op(Op::kRBrace)) break;
    ExprPtr key = parse_expression(true);
    expect_op(Op::kColon);
    ExprPtr value = parse_expression(true);
    depth = std::max({depth, key->depth, value->depth});
    node->entries.emplace_back(std::move(key), std::move(value));
  }
  expect_op(Op::kRBrace);
  set_depth(*node, depth);
  return node;
}

ExprPtr Parser::parse_postfix(ExprPtr node) {
  while (true) {
    if (is_op(Op::kDot) || is_op(Op::kLBracket)) {
      node = parse_subscript(std::move(node));
    } else if (is_op(Op::kLParen)) {
      node = parse_call(std::move(node));
    } else {
      return node;
    }
  }
}

ExprPtr Parser::parse_filter_expr(ExprPtr node) {
  while (true) {
    if (is_op(Op::kPipe)) {
      advance();
      node = parse_filter_chain(std::move(node));
    } else if (is_name("is")) {
      node = parse_test(std::move(node));
    } else if (is_op(Op::kLParen)) {
      node = parse_call(std::move(node));
    } else {
      return node;
    }
  }
}

ExprPtr Parser::parse_subscript(ExprPtr node) {
  const Token& token = advance();
  const SourceLoc where = loc_of(token);
  if (token.op == Op::kDot) {
    const Token& attr = current();
    if (attr.type == TokenType::kName) {
      std::string name = advance().text;
      const Expr* child = node.get();
      return finish(std::make_unique<GetAttrExpr>(where, std::move(node), std::move(name)),
                    {child});
    }
    if (attr.type != TokenType::kInteger) fail("expected name or number");
    auto index = std::make_unique<LiteralExpr>(loc(), Value::integer(advance().int_value));
    const Expr* child = node.get();
    return finish(std::make_unique<GetItemExpr>(where, std::move(node), std::move(index)), {child});
  }
  // '[' subscript (',' subscript)* ']'
  std::vector<ExprPtr> args;
  while (!is_op(Op::kRBracket)) {
    if (!args.empty()) expect_op(Op::kComma);
    args.push_back(parse_subscribed(node, args.empty()));
  }
  expect_op(Op::kRBracket);
  if (args.empty()) fail(where, "expected subscript expression");
  if (args.size() == 1 && args.front()->kind == ExprKind::kSlice) return std::move(args.front());
  for (const auto& a : args) {
    if (a->kind == ExprKind::kSlice)
      fail(where, "slices inside a tuple subscript are not supported");
  }
  ExprPtr index;
  if (args.size() == 1) {
    index = std::move(args.front());
  } else {
    auto tuple = std::make_unique<SequenceExpr>(ExprKind::kTuple, where);
    uint32_t depth = 0;
    for (auto& a : args) depth = std::max(depth, a->depth);
    tuple->items = std::move(args);
    set_depth(*tuple, depth);
    index = std::move(tuple);
  }
  const Expr* a = node.get();
  const Expr* b = index.get();
  return finish(std::make_unique<GetItemExpr>(where, std::move(node), std::move(index)), {a, b});
}

// One subscript: an expression or a slice [start]:[stop][:[step]]. A slice takes ownership
// of the object only when it is the sole subscript (checked by the caller).
ExprPtr Parser::parse_subscribed(ExprPtr& object, bool first) {
  const SourceLoc where = loc();
  ExprPtr start;
  if (!is_op(Op::kColon)) {
    start = parse_expression(true);
    if (!is_op(Op::kColon)) return start;
  }
  advance();  // ':'
  auto slice = std::make_unique<SliceExpr>(where);
  slice->start = std::move(start);
  if (!is_op(Op::kColon) && !is_op(Op::kRBracket) && !is_op(Op::kComma)) {
    slice->stop = parse_expression(true);
  }
  if (skip_op(Op::kColon)) {
    if (!is_op(Op::kRBracket) && !is_op(Op::kComma)) slice->step = parse_expression(true);
  }
  if (!first || !is_op(Op::kRBracket)) {
    fail(where, "slices inside a tuple subscript are not supported");
  }
  const Expr* a = object.get();
  const Expr* b = slice->start.get();
  const Expr* c = slice->stop.get();
  const Expr* d = slice->step.get();
  slice->object = std::move(object);
  return finish(std::move(slice), {a, b, c, d});
}

void Parser::parse_call_args(CallArgExprs& args) {
  const SourceLoc where = loc();
  expect_op(Op::kLParen);
  bool require_comma = false;
  auto ensure = [&](bool ok) {
    if (!ok) fail(where, "invalid syntax for function call expression");
  };
  while (!is_op(Op::kRParen)) {
    if (require_comma) {
      expect_op(Op::kComma);
      if (is_op(Op::kRParen)) break;
    }
    if (is_op(Op::kMul)) {
      ensure(!args.star_args && !args.star_kwargs);
      advance();
      args.star_args = parse_expression(true);
    } else if (is_op(Op::kPow)) {
      ensure(!args.star_kwargs);
      advance();
      args.star_kwargs = parse_expression(true);
    } else if (current().type == TokenType::kName && look().type == TokenType::kOperator &&
               look().op == Op::kAssign) {
      ensure(!args.star_kwargs);
      std::string key = advance().text;
      advance();
      for (const auto& [existing, value] : args.keywords) {
        if (existing == key) fail("keyword argument repeated: " + key);
      }
      args.keywords.emplace_back(std::move(key), parse_expression(true));
    } else {
      ensure(!args.star_args && !args.star_kwargs && args.keywords.empty());
      args.positional.push_back(parse_expression(true));
    }
    require_comma = true;
  }
  expect_op(Op::kRParen);
}

ExprPtr Parser::parse_call(ExprPtr callee) {
  auto node = std::make_unique<CallExpr>(loc());
  parse_call_args(node->args);
  const uint32_t depth = std::max(callee->depth, args_depth(node->args));
  node->callee = std::move(callee);
  set_depth(*node, depth);
  return node;
}

// `| name(args) | name2 ...` after the first pipe has been consumed; `input` may be null.
ExprPtr Parser::parse_filter_chain(ExprPtr input) {
  while (true) {
    const SourceLoc where = loc();
    auto node = std::make_unique<FilterExpr>(where);
    node->name = expect_name();
    while (skip_op(Op::kDot)) node->name += cat({".", expect_name()});
    node->fn = find_filter(node->name);
    if (!node->fn) fail(where, "No filter named '" + node->name + "'.");
    if (is_op(Op::kLParen)) parse_call_args(node->args);
    uint32_t depth = args_depth(node->args);
    if (input) depth = std::max(depth, input->depth);
    node->input = std::move(input);
    set_depth(*node, depth);
    input = std::move(node);
    if (!is_op(Op::kPipe)) return input;
    advance();
  }
}

ExprPtr Parser::parse_test(ExprPtr input) {
  const SourceLoc where = loc_of(advance());  // 'is'
  const bool negated = skip_name("not");
  auto node = std::make_unique<TestExpr>(where);
  const SourceLoc name_loc = loc();
  node->name = expect_name();
  while (skip_op(Op::kDot)) node->name += cat({".", expect_name()});
  node->fn = find_test(node->name);
  if (!node->fn) fail(name_loc, "No test named '" + node->name + "'.");
  const Token& t = current();
  if (is_op(Op::kLParen)) {
    parse_call_args(node->args);
  } else if ((t.type == TokenType::kName || t.type == TokenType::kString ||
              t.type == TokenType::kInteger || t.type == TokenType::kFloat ||
              (t.type == TokenType::kOperator &&
               (t.op == Op::kLParen || t.op == Op::kLBracket || t.op == Op::kLBrace))) &&
             !is_name("else") && !is_name("or") && !is_name("and")) {
    if (is_name("is")) fail("You cannot chain multiple tests with is");
    node->args.positional.push_back(parse_postfix(parse_primary()));
  }
  const uint32_t depth = std::max(input->depth, args_depth(node->args));
  node->input = std::move(input);
  set_depth(*node, depth);
  if (!negated) return node;
  const Expr* child = node.get();
  return finish(std::make_unique<UnaryExpr>(where, UnaryOp::kNot, std::move(node)), {child});
}

}  // namespace hearth::jinja
