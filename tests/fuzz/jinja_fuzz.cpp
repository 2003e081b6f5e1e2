// Fuzzes the Jinja engine. Input: template source, optionally followed by a NUL byte and a JSON
// object of variables (else a default chat context is used). Small sandbox limits keep every
// input fast; a crash, hang, leak or sanitizer report is a bug, and so is a successful render
// that is not valid UTF-8.
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <string_view>

#include "chat/jinja/template.h"
#include "chat/jinja/unicode_text.h"

namespace {

const nlohmann::ordered_json& default_context() {
  static const nlohmann::ordered_json context = nlohmann::ordered_json::parse(R"({
    "messages": [
      {"role": "system", "content": "Be brief."},
      {"role": "user", "content": "Hi 😀 <think>x</think>"},
      {"role": "assistant", "content": "", "reasoning_content": "hmm",
       "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": {"a": [1, 2.5, null]}}}]},
      {"role": "tool", "content": "{\"ok\": true}"}
    ],
    "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
    "add_generation_prompt": true, "bos_token": "<s>", "eos_token": "</s>",
    "enable_thinking": false, "documents": null
  })");
  return context;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t split = input.find('\0');
  const std::string_view source = input.substr(0, split);
  nlohmann::ordered_json context = default_context();
  if (split != std::string_view::npos) {
    auto parsed = nlohmann::ordered_json::parse(input.substr(split + 1), nullptr, false);
    if (parsed.is_object()) context = std::move(parsed);
  }
  auto tmpl = hearth::jinja::Template::parse(source);
  if (!tmpl.ok()) return 0;
  hearth::jinja::RenderOptions options;
  options.limits.max_output_bytes = 1 << 20;
  options.limits.max_string_bytes = 1 << 20;
  options.limits.max_allocated_bytes = 32 << 20;
  options.limits.max_loop_iterations = 100000;
  options.limits.max_call_depth = 40;
  options.limits.max_eval_depth = 400;
  options.limits.max_stack_bytes = 512 << 10;
  options.limits.time_limit = std::chrono::milliseconds(500);
  options.clock = [] {
    std::tm t{};
    t.tm_year = 125;
    t.tm_mday = 1;
    return t;
  };
  auto rendered = tmpl->render(context, options);
  if (rendered.ok() && hearth::find_invalid_utf8(*rendered)) __builtin_trap();
  return 0;
}
