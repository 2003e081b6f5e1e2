// Runs one generation for an HTTP request: submits it to the engine and answers with either
// the whole response or an SSE stream, cancelling the generation if the client goes away.
#pragma once

#include <httplib.h>

#include <memory>
#include <optional>
#include <string>

#include "hearth/request.h"
#include "server/http/server_context.h"
#include "server/openai/generation_fields.h"
#include "server/openai/response_common.h"

namespace hearth::server {

struct GenerationJob {
  GenerationRequest request;
  std::unique_ptr<ChoiceBuilder> builder;
  bool stream = false;
};

// Checks that the prompt leaves room to generate: a prompt of context_size tokens or more, or
// an explicit max_tokens that does not fit after it, is a 400 context_length_exceeded. A
// defaulted max_tokens is shortened to fit.
std::optional<ApiError> fit_to_context(int64_t prompt_tokens, int64_t context_size,
                                       GenerationFields& fields);

// The GenerationRequest for a tokenized prompt and the request's fields.
GenerationRequest make_generation_request(std::vector<int32_t> prompt,
                                          const GenerationFields& fields);

// The text of a token id, for logprob alternatives.
TokenTextFn token_text_fn(const Engine& engine);

void run_generation(ServerContext& ctx, const httplib::Request& req, GenerationJob job,
                    httplib::Response& res);

}  // namespace hearth::server
