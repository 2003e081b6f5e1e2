// Splits template source into tokens exactly as jinja2's lexer does with transformers' settings:
// trim_blocks (drop the first newline after a block or comment tag), lstrip_blocks (drop spaces
// and tabs before a block or comment tag that starts a line), `-`/`+` whitespace control,
// newlines normalized to "\n", one trailing newline removed, {% raw %} blocks.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "chat/jinja/error.h"

namespace hearth::jinja {

enum class TokenType : uint8_t {
  kData,           // literal template text
  kVariableBegin,  // {{
  kVariableEnd,    // }}
  kBlockBegin,     // {%
  kBlockEnd,       // %}
  kName,
  kString,
  kInteger,
  kFloat,
  kOperator,
  kEof,
};

enum class Op : uint8_t {
  kAdd,
  kSub,
  kDiv,
  kFloorDiv,
  kMul,
  kMod,
  kPow,
  kTilde,
  kLBracket,
  kRBracket,
  kLParen,
  kRParen,
  kLBrace,
  kRBrace,
  kEq,
  kNe,
  kGt,
  kGe,
  kLt,
  kLe,
  kAssign,
  kDot,
  kColon,
  kPipe,
  kComma,
  kSemicolon,
};

std::string_view op_text(Op op);

struct Token {
  TokenType type = TokenType::kEof;
  Op op = Op::kAdd;        // kOperator
  uint32_t offset = 0;     // byte offset in the normalized source
  SourceLoc loc;           // line and column of `offset`
  std::string text;        // kData text, kName, kString (unescaped value)
  int64_t int_value = 0;   // kInteger
  double float_value = 0;  // kFloat
};

// Maps byte offsets of the normalized source to line/column.
class LineIndex {
 public:
  explicit LineIndex(std::string_view source);
  SourceLoc locate(uint32_t offset) const;

 private:
  std::string_view source_;
  std::vector<uint32_t> line_starts_;
};

struct LexedTemplate {
  std::string source;         // normalized newlines, trailing newline removed
  std::vector<Token> tokens;  // always ends with kEof
};

// Throws JinjaError (kSyntax) with the position of the problem.
LexedTemplate lex_template(std::string_view source);

// "end of print statement", "'name'", ... as jinja2 describes tokens in messages.
std::string describe_token(const Token& token);

}  // namespace hearth::jinja
