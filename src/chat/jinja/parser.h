// Builds the AST from tokens with jinja2's grammar and precedence (filters and `is` tests bind
// tighter than arithmetic; `**` is left-associative; comparisons chain). Unknown filters and
// tests are errors at parse time, as in jinja2. Nesting is limited so hostile sources cannot
// exhaust the C++ stack here or in the interpreter.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "chat/jinja/ast.h"

namespace hearth::jinja {

struct ParseOptions {
  // Deepest allowed nesting of expressions and statements (parentheses, blocks, chains).
  uint32_t max_nesting = 200;
  // C++ stack the recursive-descent parser may use (a backstop for small thread stacks).
  size_t max_stack_bytes = 1u << 20;
};

// Throws JinjaError (kSyntax) naming the line, column and what was expected.
Body parse_template(std::string_view source, const ParseOptions& options);

}  // namespace hearth::jinja
