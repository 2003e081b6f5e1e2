#include "server/openai/utility_requests.h"

#include "server/openai/completion_request.h"
#include "server/openai/field_reader.h"

namespace hearth::server {

ApiResult<TokenizeRequest> parse_tokenize_request(const nlohmann::ordered_json& body) {
  FieldReader reader(body, "");
  reader.reject_unknown({"model", "content", "add_special", "parse_special", "with_pieces"});
  (void)reader.string("model", 256);
  TokenizeRequest out;
  const auto content = reader.string("content", std::string::npos);
  if (reader.ok() && !content) {
    reader.fail("content", "'content' is required", "missing_required_parameter");
  }
  if (content) out.content = *content;
  if (auto v = reader.boolean("add_special")) out.add_special = *v;
  if (auto v = reader.boolean("parse_special")) out.parse_special = *v;
  if (auto v = reader.boolean("with_pieces")) out.with_pieces = *v;
  if (!reader.ok()) return reader.error();
  return out;
}

ApiResult<DetokenizeRequest> parse_detokenize_request(const nlohmann::ordered_json& body,
                                                      int64_t vocab_size) {
  FieldReader reader(body, "");
  reader.reject_unknown({"model", "tokens"});
  (void)reader.string("model", 256);
  const nlohmann::ordered_json* tokens = reader.value("tokens");
  if (reader.ok() && !tokens) {
    reader.fail("tokens", "'tokens' is required", "missing_required_parameter");
  }
  if (!reader.ok()) return reader.error();
  auto ids = read_token_ids(*tokens, "tokens", vocab_size);
  if (!ids.ok()) return ids.error();
  return DetokenizeRequest{std::move(*ids)};
}

}  // namespace hearth::server
