// POST /v1/completions: a raw prompt, no chat template.
#include "server/http/generation_runner.h"
#include "server/http/server_context.h"
#include "server/openai/completion_request.h"
#include "server/openai/completion_response.h"
#include "server/openai/json_body.h"

namespace hearth::server {

void handle_completions(ServerContext& ctx, const httplib::Request& req, const std::string& body,
                        httplib::Response& res) {
  auto json = parse_json_object_body(body);
  if (!json.ok()) return send_error(res, json.error());
  auto parsed = parse_completion_request(*json, ctx.limits);
  if (!parsed.ok()) return send_error(res, parsed.error());
  CompletionRequest& completion = *parsed;
  if (auto error = check_model(ctx, completion.generation.model)) return send_error(res, *error);

  std::vector<int32_t> prompt = std::move(completion.prompt_tokens);
  if (!completion.prompt_is_tokens) {
    // A raw prompt gets the tokenizer's usual special tokens (BOS), like llama.cpp and vLLM.
    auto tokens =
        ctx.engine.tokenize(completion.prompt_text, /*add_special=*/true, /*parse_special=*/true);
    if (!tokens.ok()) return send_error(res, api_error_from_status(tokens.status()));
    prompt = std::move(*tokens);
  }
  if (auto error = fit_to_context(static_cast<int64_t>(prompt.size()), ctx.limits.context_size,
                                  completion.generation)) {
    error->param = error->param == "messages" ? "prompt" : error->param;
    return send_error(res, *error);
  }

  CompletionChoiceOptions options;
  options.streaming = completion.generation.stream;
  options.include_usage = completion.generation.include_usage;
  options.logprobs = completion.generation.sampling.logprobs;
  ResponseMeta meta{random_id("cmpl-"), unix_time_now(), ctx.limits.model_id,
                    ctx.system_fingerprint};

  GenerationJob job;
  job.stream = completion.generation.stream;
  job.request = make_generation_request(std::move(prompt), completion.generation);
  job.builder = std::make_unique<CompletionChoiceBuilder>(std::move(meta), options,
                                                          token_text_fn(ctx.engine));
  run_generation(ctx, req, std::move(job), res);
}

}  // namespace hearth::server
