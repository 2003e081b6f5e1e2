// Python semantics of the expression operators: arithmetic with int/float promotion and
// floor division/modulo rules, string and list concatenation and repetition, Markup escaping on
// `+`, comparisons, `in`, indexing and slicing by code point.
#pragma once

#include <optional>
#include <string>

#include "chat/jinja/ast.h"
#include "chat/jinja/budget.h"
#include "chat/jinja/value.h"

namespace hearth::jinja {

// Arithmetic and `~` (not `and`/`or`, which short-circuit in the evaluator).
Value binary_op(Budget& budget, BinaryOp op, const Value& a, const Value& b);
Value unary_op(UnaryOp op, const Value& v);
bool compare_op(Budget& budget, CompareOp op, const Value& a, const Value& b);
// Python's `item in container`.
bool contains(Budget& budget, const Value& container, const Value& item);

// obj[index] for a list or string with an int index (negative from the end); nullopt when out
// of range or not indexable by int.
std::optional<Value> index_sequence(const Value& obj, const Value& index);
// obj[start:stop:step] for lists and strings; each bound may be None/Undefined.
Value slice_value(Budget& budget, const Value& obj, const Value& start, const Value& stop,
                  const Value& step);

// HTML escaping as markupsafe.escape does it (&, <, >, ", ').
std::string html_escape(std::string_view s);
// Throws the UndefinedError an undefined value raises when it is used.
[[noreturn]] void throw_undefined(const Value& v);

}  // namespace hearth::jinja
