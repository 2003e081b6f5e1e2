// Statement parsing: {% if %}, {% for %}, {% set %}, {% macro %}, {% call %}, {% filter %},
// {% with %}, {% print %}, {% generation %}, loop controls, and the body/end-tag machinery.
#include <algorithm>

#include "chat/jinja/macro_scan.h"
#include "chat/jinja/parser_internal.h"

namespace hearth::jinja {
namespace {

constexpr std::string_view kUnsupportedTags[] = {"block", "extends",    "include", "import",
                                                 "from",  "autoescape", "do"};

}  // namespace

Body Parser::subparse(std::vector<std::string> end_tokens) {
  NestingGuard guard(*this);
  const bool has_end = !end_tokens.empty();
  if (has_end) end_stack_.push_back(std::move(end_tokens));
  Body body;
  while (current().type != TokenType::kEof) {
    const Token& token = current();
    if (token.type == TokenType::kData) {
      body.push_back(std::make_unique<DataStmt>(loc_of(token), token.text));
      advance();
    } else if (token.type == TokenType::kVariableBegin) {
      const SourceLoc where = loc_of(advance());
      auto out = std::make_unique<OutputStmt>(where);
      out->values.push_back(parse_tuple(TupleMode::kFull, {}, false));
      expect_type(TokenType::kVariableEnd, "end of print statement");
      body.push_back(std::move(out));
    } else if (token.type == TokenType::kBlockBegin) {
      advance();
      if (has_end && current().type == TokenType::kName) {
        const auto& ends = end_stack_.back();
        if (std::find(ends.begin(), ends.end(), current().text) != ends.end()) break;
      }
      body.push_back(parse_statement());
      expect_type(TokenType::kBlockEnd, "end of statement block");
    } else {
      fail("unexpected " + describe(token));
    }
  }
  if (has_end) end_stack_.pop_back();
  return body;
}

// Parses `%} body {% end` and leaves the stream on the end tag's name (or consumes it).
Body Parser::parse_statements(std::vector<std::string> end_tokens, bool drop_needle) {
  skip_op(Op::kColon);
  expect_type(TokenType::kBlockEnd, "end of statement block");
  std::vector<std::string> ends = end_tokens;
  Body body = subparse(std::move(end_tokens));
  if (current().type == TokenType::kEof) fail_eof(ends);
  if (drop_needle) advance();
  return body;
}

void Parser::fail_eof(const std::vector<std::string>& ends) const {
  std::string message = "Unexpected end of template. Jinja was looking for the following tags: ";
  for (size_t i = 0; i < ends.size(); ++i) {
    if (i) message += " or ";
    message += cat({"'", ends[i], "'"});
  }
  message += ".";
  if (!tag_stack_.empty()) {
    message += " The innermost block that needs to be closed is '" + tag_stack_.back() + "'.";
  }
  fail(loc(), message);
}

void Parser::fail_unknown_tag(const std::string& name) const {
  std::string message = "Encountered unknown tag '" + name + "'.";
  if (!end_stack_.empty()) {
    bool expected_elsewhere = false;
    for (const auto& ends : end_stack_) {
      expected_elsewhere =
          expected_elsewhere || std::find(ends.begin(), ends.end(), name) != ends.end();
    }
    std::string looking;
    for (size_t i = 0; i < end_stack_.back().size(); ++i) {
      if (i) looking += " or ";
      looking += cat({"'", end_stack_.back()[i], "'"});
    }
    message += expected_elsewhere
                   ? " You probably made a nesting mistake. Jinja is expecting this tag, but "
                     "currently looking for " +
                         looking + "."
                   : " Jinja was looking for the following tags: " + looking + ".";
  }
  if (!tag_stack_.empty()) {
    message += " The innermost block that needs to be closed is '" + tag_stack_.back() + "'.";
  }
  fail(loc(), message);
}

StmtPtr Parser::parse_statement() {
  const Token& token = current();
  if (token.type != TokenType::kName) fail("tag name expected");
  const std::string name = token.text;
  for (const auto unsupported : kUnsupportedTags) {
    if (name == unsupported) {
      fail("the '" + name +
           "' tag is not supported: templates are rendered in a sandbox without loaders or "
           "extensions beyond loop controls");
    }
  }
  tag_stack_.push_back(name);
  StmtPtr stmt;
  if (name == "if") {
    stmt = parse_if();
  } else if (name == "for") {
    stmt = parse_for();
  } else if (name == "set") {
    stmt = parse_set();
  } else if (name == "macro") {
    stmt = parse_macro();
  } else if (name == "call") {
    stmt = parse_call_block();
  } else if (name == "filter") {
    stmt = parse_filter_block();
  } else if (name == "with") {
    stmt = parse_with();
  } else if (name == "print") {
    stmt = parse_print();
  } else if (name == "generation") {
    const SourceLoc where = loc_of(advance());
    auto scope = std::make_unique<ScopeStmt>(where);
    // The body is a call block in jinja2 (a function), so loop controls cannot leave it.
    const uint32_t saved_loop_depth = loop_depth_;
    loop_depth_ = 0;
    scope->body = parse_statements({"endgeneration"}, true);
    loop_depth_ = saved_loop_depth;
    stmt = std::move(scope);
  } else if (name == "break" || name == "continue") {
    const SourceLoc where = loc_of(advance());
    if (loop_depth_ == 0) fail(where, cat({"'", name, "' outside of a for loop"}));
    stmt = std::make_unique<LoopControlStmt>(
        name == "break" ? StmtKind::kBreak : StmtKind::kContinue, where);
  } else {
    tag_stack_.pop_back();
    fail_unknown_tag(name);
  }
  tag_stack_.pop_back();
  return stmt;
}

StmtPtr Parser::parse_if() {
  auto node = std::make_unique<IfStmt>(loc_of(advance()));
  while (true) {
    ExprPtr test = parse_tuple(TupleMode::kNoCondition, {}, false);
    Body body = parse_statements({"elif", "else", "endif"}, false);
    node->branches.emplace_back(std::move(test), std::move(body));
    const std::string tag = advance().text;
    if (tag == "elif") continue;
    if (tag == "else") node->else_body = parse_statements({"endif"}, true);
    break;
  }
  return node;
}

StmtPtr Parser::parse_for() {
  auto node = std::make_unique<ForStmt>(loc_of(advance()));
  node->target = parse_assign_target({"in"}, false);
  if (!skip_name("in")) fail("expected token 'in', got " + describe(current()));
  node->iterable = parse_tuple(TupleMode::kNoCondition, {"recursive"}, false);
  if (skip_name("if")) node->filter = parse_expression(true);
  node->recursive = skip_name("recursive");
  ++loop_depth_;
  node->body = parse_statements({"endfor", "else"}, false);
  --loop_depth_;
  if (advance().text == "else") node->else_body = parse_statements({"endfor"}, true);
  return node;
}

StmtPtr Parser::parse_set() {
  const SourceLoc where = loc_of(advance());
  Target target = parse_assign_target({}, true);
  if (skip_op(Op::kAssign)) {
    auto node = std::make_unique<SetStmt>(where);
    node->target = std::move(target);
    node->value = parse_tuple(TupleMode::kFull, {}, false);
    return node;
  }
  auto node = std::make_unique<SetBlockStmt>(where);
  node->target = std::move(target);
  if (is_op(Op::kPipe)) {
    advance();
    node->filter = parse_filter_chain(nullptr);
  }
  node->body = parse_statements({"endset"}, true);
  return node;
}

// The name after `{% macro` and the parameter list.
void Parser::parse_signature(MacroStmt& macro) {
  expect_op(Op::kLParen);
  bool seen_default = false;
  while (!is_op(Op::kRParen)) {
    if (!macro.params.empty()) expect_op(Op::kComma);
    MacroParam param;
    param.name = expect_plain_name();
    if (skip_op(Op::kAssign)) {
      param.default_value = parse_expression(true);
      seen_default = true;
    } else if (seen_default) {
      fail("non-default argument follows default argument");
    }
    macro.params.push_back(std::move(param));
  }
  expect_op(Op::kRParen);
}

std::string Parser::expect_plain_name() {
  const SourceLoc where = loc();
  std::string name = expect_name();
  if (is_constant_name(name)) fail(where, "can't assign to 'const'");
  return name;
}

bool Parser::is_constant_name(std::string_view n) {
  return n == "true" || n == "false" || n == "none" || n == "True" || n == "False" || n == "None";
}

StmtPtr Parser::parse_macro() {
  auto node = std::make_unique<MacroStmt>(loc_of(advance()));
  node->name = expect_plain_name();
  parse_signature(*node);
  const uint32_t saved_loop_depth = loop_depth_;
  loop_depth_ = 0;
  node->body = parse_statements({"endmacro"}, true);
  loop_depth_ = saved_loop_depth;
  scan_macro_name_uses(*node);
  return node;
}

StmtPtr Parser::parse_call_block() {
  auto node = std::make_unique<CallBlockStmt>(loc_of(advance()));
  node->caller.name = "caller";
  if (is_op(Op::kLParen)) parse_signature(node->caller);
  const SourceLoc where = loc();
  ExprPtr call = parse_expression(true);
  if (call->kind != ExprKind::kCall) fail(where, "expected call");
  node->call.reset(static_cast<CallExpr*>(call.release()));
  const uint32_t saved_loop_depth = loop_depth_;
  loop_depth_ = 0;
  node->caller.body = parse_statements({"endcall"}, true);
  loop_depth_ = saved_loop_depth;
  scan_macro_name_uses(node->caller);
  return node;
}

StmtPtr Parser::parse_filter_block() {
  auto node = std::make_unique<FilterBlockStmt>(loc_of(advance()));
  node->filter = parse_filter_chain(nullptr);
  node->body = parse_statements({"endfilter"}, true);
  return node;
}

StmtPtr Parser::parse_with() {
  auto node = std::make_unique<ScopeStmt>(loc_of(advance()));
  while (current().type != TokenType::kBlockEnd) {
    if (!node->assignments.empty()) expect_op(Op::kComma);
    Target target = parse_assign_target({}, false);
    expect_op(Op::kAssign);
    node->assignments.emplace_back(std::move(target), parse_expression(true));
  }
  node->body = parse_statements({"endwith"}, true);
  return node;
}

StmtPtr Parser::parse_print() {
  auto node = std::make_unique<OutputStmt>(loc_of(advance()));
  while (current().type != TokenType::kBlockEnd) {
    if (!node->values.empty()) expect_op(Op::kComma);
    node->values.push_back(parse_expression(true));
  }
  return node;
}

// A name, a tuple of names (a, b / (a, b)), or with_namespace `ns.attr`.
Target Parser::parse_assign_target(std::initializer_list<const char*> extra_end,
                                   bool with_namespace) {
  Target target;
  target.loc = loc();
  if (with_namespace && current().type == TokenType::kName && look().type == TokenType::kOperator &&
      look().op == Op::kDot) {
    target.names.push_back(advance().text);
    advance();
    target.attr = expect_name();
    return target;
  }
  const bool parenthesized = skip_op(Op::kLParen);
  while (true) {
    if (!parenthesized && !target.names.empty() && is_tuple_end(extra_end)) break;
    if (parenthesized && is_op(Op::kRParen)) break;
    if (current().type != TokenType::kName) {
      fail("can't assign to " + describe(current()));
    }
    target.names.push_back(expect_plain_name());
    if (!skip_op(Op::kComma)) break;
    target.is_tuple = true;
  }
  if (parenthesized) {
    expect_op(Op::kRParen);
    target.is_tuple = true;
  }
  if (target.names.empty()) fail(target.loc, "can't assign to an empty tuple");
  return target;
}

Body parse_template(std::string_view source, const ParseOptions& options) {
  return Parser(lex_template(source), options).parse();
}

}  // namespace hearth::jinja
