// Which of the special names `caller`, `varargs` and `kwargs` a macro body mentions: jinja2
// decides from that how a call binds extra arguments (and whether a caller is passed).
#pragma once

#include "chat/jinja/ast.h"

namespace hearth::jinja {

// Scans the macro's body (nested macros included) and sets uses_caller/varargs/kwargs.
void scan_macro_name_uses(MacroStmt& macro);

}  // namespace hearth::jinja
