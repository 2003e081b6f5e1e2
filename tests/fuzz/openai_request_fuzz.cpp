// Fuzzes the OpenAI request parsers and validators with arbitrary bytes: UTF-8 and nesting
// checks, JSON parsing, and every route's field validation. On success the normalized values
// are serialized, so anything malformed they hold is touched.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "server/openai/chat_request.h"
#include "server/openai/completion_request.h"
#include "server/openai/json_body.h"
#include "server/openai/response_common.h"
#include "server/openai/utility_requests.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace hearth::server;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  (void)hearth::find_invalid_utf8(body);
  (void)json_nesting_depth(body, kMaxJsonDepth);
  auto json = parse_json_object_body(body);
  if (!json.ok()) {
    (void)dump_json(api_error_json(json.error()));
    return 0;
  }
  RequestLimits limits;
  limits.context_size = 4096;
  limits.vocab_size = 32000;
  limits.model_id = "m";
  if (auto chat = parse_chat_request(*json, limits); chat.ok()) {
    (void)dump_json(chat->messages);
    (void)dump_json(chat->template_tools);
    (void)dump_json(chat->template_kwargs);
  } else {
    (void)dump_json(api_error_json(chat.error()));
  }
  if (auto completion = parse_completion_request(*json, limits); completion.ok()) {
    (void)completion->prompt_tokens.size();
  } else {
    (void)dump_json(api_error_json(completion.error()));
  }
  if (auto templ = parse_template_request(*json); templ.ok()) (void)dump_json(templ->messages);
  (void)parse_tokenize_request(*json).ok();
  (void)parse_detokenize_request(*json, limits.vocab_size).ok();
  return 0;
}
