#include "chat/jinja/template.h"

#include <new>

#include "chat/jinja/error.h"
#include "chat/jinja/json_value.h"

namespace hearth::jinja {

Status JinjaError::to_status() const {
  if (kind_ == ErrorKind::kRaised) return invalid_argument(message_);
  std::string where;
  if (loc_.known()) {
    where = " at line " + std::to_string(loc_.line) + ", column " + std::to_string(loc_.column);
  }
  switch (kind_) {
    case ErrorKind::kSyntax:
      return invalid_argument("template syntax error" + where + ": " + message_);
    case ErrorKind::kLimit:
      return resource_exhausted("template sandbox limit hit" + where + ": " + message_);
    case ErrorKind::kSecurity:
      return invalid_argument("template sandbox violation" + where + ": " + message_);
    default:
      return invalid_argument("template error" + where + ": " + message_);
  }
}

Expected<Template> Template::parse(std::string_view source, const ParseOptions& options) {
  try {
    return Template(std::make_shared<const Body>(parse_template(source, options)));
  } catch (const JinjaError& e) {
    return e.to_status();
  } catch (const std::bad_alloc&) {
    return resource_exhausted("out of memory while parsing the template");
  }
}

Expected<std::string> Template::render(const nlohmann::ordered_json& variables,
                                       const RenderOptions& options) const {
  if (!variables.is_object()) {
    return invalid_argument("template variables must be a JSON object, got " +
                            std::string(variables.type_name()));
  }
  try {
    auto globals = std::make_shared<Scope>();
    for (const auto& [name, value] : variables.items()) {
      globals->set(name, value_from_json(value, name));
    }
    Interpreter interpreter(options.limits, options.clock);
    return interpreter.render(*body_, std::move(globals));
  } catch (const JinjaError& e) {
    return e.to_status();
  } catch (const std::bad_alloc&) {
    return resource_exhausted("out of memory while rendering the template");
  }
}

}  // namespace hearth::jinja
