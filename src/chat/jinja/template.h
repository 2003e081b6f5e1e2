// A sandboxed Jinja template engine that renders chat templates exactly like Python jinja2
// configured as transformers' apply_chat_template does (ImmutableSandboxedEnvironment,
// trim_blocks, lstrip_blocks, loop controls, {% generation %}, transformers' tojson,
// raise_exception and strftime_now).
//
//   HEARTH_ASSIGN_OR_RETURN(auto tmpl, jinja::Template::parse(source));
//   HEARTH_ASSIGN_OR_RETURN(std::string text, tmpl.render({{"messages", messages}}));
//
// A Template is immutable and may be rendered from several threads at once.
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <string_view>

#include "chat/jinja/ast.h"
#include "chat/jinja/budget.h"
#include "chat/jinja/interpreter.h"
#include "chat/jinja/parser.h"
#include "hearth/status.h"

namespace hearth::jinja {

struct RenderOptions {
  RenderLimits limits;
  // The time strftime_now() formats; empty: the local time now.
  Clock clock;
};

class Template {
 public:
  // Fails with InvalidArgument naming the line, column and what was expected.
  static Expected<Template> parse(std::string_view source, const ParseOptions& options = {});

  // `variables` must be a JSON object; each member becomes a template variable (key order of
  // objects is kept, which tojson output depends on). Errors: InvalidArgument for template
  // errors (a raise_exception() call yields exactly its message), ResourceExhausted for sandbox
  // limits.
  Expected<std::string> render(const nlohmann::ordered_json& variables,
                               const RenderOptions& options = {}) const;

 private:
  explicit Template(std::shared_ptr<const Body> body) : body_(std::move(body)) {}
  std::shared_ptr<const Body> body_;
};

}  // namespace hearth::jinja
