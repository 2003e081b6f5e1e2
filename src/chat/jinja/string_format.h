// Python string formatting: printf-style `fmt % args` (and the `format` filter), str.format()
// with field names, conversions and the format-spec mini-language, and format(value, spec).
#pragma once

#include <string>
#include <string_view>

#include "chat/jinja/budget.h"
#include "chat/jinja/value.h"

namespace hearth::jinja {

class Interpreter;

// `format % args`; `args` is a tuple (positional), a dict (%(name)s) or a single value.
Value percent_format(Budget& budget, const Value& format, const Value& args);
// format(value, spec) for None, bool, int, float and str.
std::string format_with_spec(const Value& value, std::string_view spec);
// str.format(*args, **kwargs); attribute and item lookups go through the sandbox.
std::string str_format(Interpreter& interp, std::string_view format, const CallArgs& args);

}  // namespace hearth::jinja
