// Python's str() and repr() of Jinja values, byte-for-byte: what `{{ x }}` prints for lists,
// dicts, None, True, floats ("1e+16", "0.30000000000000004") and strings inside containers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "chat/jinja/value.h"

namespace hearth::jinja {

// float.__repr__: the shortest string that round-trips, in Python's layout.
std::string python_float_repr(double f);
// repr() of a str, with Python's quote choice and escapes.
std::string python_string_repr(std::string_view s);
// str(x): strings as they are, everything else as Python prints it; Undefined is "".
std::string python_str(const Value& v);
// repr(x), used for elements of lists and dicts.
std::string python_repr(const Value& v);
// Appends str(x) to `out`.
void append_python_str(std::string& out, const Value& v);

}  // namespace hearth::jinja
