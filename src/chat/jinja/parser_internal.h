// The recursive-descent parser behind parse_template(): token-stream helpers and nesting limits
// here, statements in parser_statements.cpp, expressions in parser_expressions.cpp.
#pragma once

#include <algorithm>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "chat/jinja/ast.h"
#include "chat/jinja/budget.h"
#include "chat/jinja/lexer.h"
#include "chat/jinja/parser.h"

namespace hearth::jinja {

class Parser {
 public:
  Parser(LexedTemplate lexed, const ParseOptions& options)
      : lexed_(std::move(lexed)), options_(options), stack_base_(current_stack_position()) {}

  Body parse() { return subparse({}); }

 private:
  // --- token stream -------------------------------------------------------------------------

  const Token& current() const { return lexed_.tokens[pos_]; }
  const Token& look() const { return lexed_.tokens[std::min(pos_ + 1, lexed_.tokens.size() - 1)]; }
  const Token& advance() {
    const Token& t = lexed_.tokens[pos_];
    if (pos_ + 1 < lexed_.tokens.size()) ++pos_;
    return t;
  }
  static SourceLoc loc_of(const Token& t) { return t.loc; }
  SourceLoc loc() const { return loc_of(current()); }

  [[noreturn]] void fail(SourceLoc where, std::string message) const {
    throw JinjaError(ErrorKind::kSyntax, std::move(message), where);
  }
  [[noreturn]] void fail(std::string message) const { fail(loc(), std::move(message)); }

  bool is_op(Op op) const { return current().type == TokenType::kOperator && current().op == op; }
  bool is_name(std::string_view name) const {
    return current().type == TokenType::kName && current().text == name;
  }
  bool skip_op(Op op) {
    if (!is_op(op)) return false;
    advance();
    return true;
  }
  bool skip_name(std::string_view name) {
    if (!is_name(name)) return false;
    advance();
    return true;
  }
  void expect_op(Op op) {
    if (!skip_op(op)) {
      fail("expected token '" + std::string(op_text(op)) + "', got " + describe(current()));
    }
  }
  void expect_type(TokenType type, std::string_view what) {
    if (current().type != type) {
      fail("expected token '" + std::string(what) + "', got " + describe(current()));
    }
    advance();
  }
  std::string expect_name() {
    if (current().type != TokenType::kName) {
      fail("expected token 'name', got " + describe(current()));
    }
    return advance().text;
  }
  static std::string describe(const Token& t) {
    const std::string d = describe_token(t);
    return d.front() == '\'' ? d : cat({"'", d, "'"});
  }

  // --- nesting limits -----------------------------------------------------------------------

  class NestingGuard {
   public:
    explicit NestingGuard(Parser& p) : p_(p) {
      if (++p_.nesting_ > p_.options_.max_nesting) {
        p_.fail("template nesting is deeper than the limit of " +
                std::to_string(p_.options_.max_nesting) + " levels");
      }
      const uintptr_t here = current_stack_position();
      const uintptr_t used = p_.stack_base_ > here ? p_.stack_base_ - here : here - p_.stack_base_;
      if (used > p_.options_.max_stack_bytes) {
        p_.fail("template nesting is deeper than the limit of the parser's stack budget (" +
                std::to_string(p_.options_.max_stack_bytes) + " bytes)");
      }
    }
    ~NestingGuard() { --p_.nesting_; }
    NestingGuard(const NestingGuard&) = delete;
    NestingGuard& operator=(const NestingGuard&) = delete;

   private:
    Parser& p_;
  };

  template <typename T>
  std::unique_ptr<T> finish(std::unique_ptr<T> node, std::initializer_list<const Expr*> children) {
    uint32_t depth = 0;
    for (const Expr* child : children) {
      if (child) depth = std::max(depth, child->depth);
    }
    set_depth(*node, depth);
    return node;
  }
  void set_depth(Expr& node, uint32_t child_depth) {
    node.depth = child_depth + 1;
    if (node.depth > options_.max_nesting) {
      fail(node.loc, "expression nesting is deeper than the limit of " +
                         std::to_string(options_.max_nesting) + " levels");
    }
  }
  static uint32_t args_depth(const CallArgExprs& args) {
    uint32_t d = 0;
    for (const auto& e : args.positional) d = std::max(d, e->depth);
    for (const auto& [name, e] : args.keywords) d = std::max(d, e->depth);
    if (args.star_args) d = std::max(d, args.star_args->depth);
    if (args.star_kwargs) d = std::max(d, args.star_kwargs->depth);
    return d;
  }

  // --- statements (parser_statements.cpp) ---------------------------------------------------
  Body subparse(std::vector<std::string> end_tokens);
  Body parse_statements(std::vector<std::string> end_tokens, bool drop_needle);
  [[noreturn]] void fail_eof(const std::vector<std::string>& ends) const;
  [[noreturn]] void fail_unknown_tag(const std::string& name) const;
  StmtPtr parse_statement();
  StmtPtr parse_if();
  StmtPtr parse_for();
  StmtPtr parse_set();
  void parse_signature(MacroStmt& macro);
  std::string expect_plain_name();
  static bool is_constant_name(std::string_view n);
  StmtPtr parse_macro();
  StmtPtr parse_call_block();
  StmtPtr parse_filter_block();
  StmtPtr parse_with();
  StmtPtr parse_print();
  Target parse_assign_target(std::initializer_list<const char*> extra_end, bool with_namespace);

  // --- expressions (parser_expressions.cpp) -------------------------------------------------
  enum class TupleMode { kFull, kNoCondition };
  bool is_tuple_end(std::initializer_list<const char*> extra_end) const;
  ExprPtr parse_tuple(TupleMode mode, std::initializer_list<const char*> extra_end,
                      bool explicit_parentheses);
  ExprPtr parse_expression(bool with_condition);
  ExprPtr parse_condition();
  ExprPtr parse_chain(ExprPtr (Parser::*operand)(),
                      std::initializer_list<std::pair<Op, BinaryOp>> ops, const char* keyword,
                      BinaryOp keyword_op);
  ExprPtr parse_or();
  ExprPtr parse_and();
  ExprPtr parse_not();
  ExprPtr parse_compare();
  ExprPtr parse_math1();
  ExprPtr parse_concat();
  ExprPtr parse_math2();
  ExprPtr parse_pow();
  ExprPtr parse_unary_with_filter() { return parse_unary(true); }
  ExprPtr parse_unary(bool with_filter);
  ExprPtr parse_primary();
  ExprPtr parse_list();
  ExprPtr parse_dict();
  ExprPtr parse_postfix(ExprPtr node);
  ExprPtr parse_filter_expr(ExprPtr node);
  ExprPtr parse_subscript(ExprPtr node);
  ExprPtr parse_subscribed(ExprPtr& object, bool first);
  void parse_call_args(CallArgExprs& args);
  ExprPtr parse_call(ExprPtr callee);
  ExprPtr parse_filter_chain(ExprPtr input);
  ExprPtr parse_test(ExprPtr input);

  LexedTemplate lexed_;
  const ParseOptions& options_;
  size_t pos_ = 0;
  uint32_t nesting_ = 0;
  uintptr_t stack_base_;
  uint32_t loop_depth_ = 0;
  std::vector<std::vector<std::string>> end_stack_;
  std::vector<std::string> tag_stack_;
};

}  // namespace hearth::jinja
