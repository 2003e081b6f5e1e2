// POST /v1/chat/completions and POST /apply-template.
#include <fmt/core.h>

#include "server/http/generation_runner.h"
#include "server/http/server_context.h"
#include "server/openai/chat_request.h"
#include "server/openai/chat_response.h"
#include "server/openai/json_body.h"

namespace hearth::server {
namespace {

// --chat-template-args, overridden key by key by the request's chat_template_kwargs.
nlohmann::ordered_json merged_template_kwargs(const ServerContext& ctx,
                                              const nlohmann::ordered_json& request) {
  nlohmann::ordered_json kwargs = ctx.options.default_template_kwargs;
  if (!kwargs.is_object()) kwargs = nlohmann::ordered_json::object();
  kwargs.update(request);
  return kwargs;
}

ApiError template_error(const Status& status) {
  if (status.code() == StatusCode::kInternal || status.code() == StatusCode::kIoError) {
    ApiError error = api_error_from_status(status);
    error.message = "rendering the chat template failed: " + status.message();
    return error;
  }
  return invalid_request("messages",
                         "the chat template rejected the conversation: " + status.message(),
                         "chat_template_error");
}

// The rendered prompt for a conversation, or the error to answer with.
ApiResult<std::string> render_prompt(ServerContext& ctx, nlohmann::ordered_json messages,
                                     nlohmann::ordered_json tools, nlohmann::ordered_json kwargs,
                                     bool add_generation_prompt) {
  ChatRenderRequest render;
  render.messages = std::move(messages);
  render.tools = std::move(tools);
  render.add_generation_prompt = add_generation_prompt;
  render.template_kwargs = std::move(kwargs);
  auto prompt = ctx.engine.render_chat(render);
  if (!prompt.ok()) return template_error(prompt.status());
  return std::move(*prompt);
}

}  // namespace

void handle_chat_completions(ServerContext& ctx, const httplib::Request& req,
                             const std::string& body, httplib::Response& res) {
  auto json = parse_json_object_body(body);
  if (!json.ok()) return send_error(res, json.error());
  auto parsed = parse_chat_request(*json, ctx.limits);
  if (!parsed.ok()) return send_error(res, parsed.error());
  ChatRequest& chat = *parsed;
  if (auto error = check_model(ctx, chat.generation.model)) return send_error(res, *error);

  nlohmann::ordered_json kwargs = merged_template_kwargs(ctx, chat.template_kwargs);
  auto prompt = render_prompt(ctx, chat.messages, chat.template_tools, kwargs, true);
  if (!prompt.ok()) return send_error(res, prompt.error());
  // The template writes special tokens (BOS included) itself, as with transformers'
  // apply_chat_template(tokenize=True).
  auto tokens = ctx.engine.tokenize(*prompt, /*add_special=*/false, /*parse_special=*/true);
  if (!tokens.ok()) return send_error(res, api_error_from_status(tokens.status()));
  if (auto error = fit_to_context(static_cast<int64_t>(tokens->size()), ctx.limits.context_size,
                                  chat.generation)) {
    return send_error(res, *error);
  }

  OutputParserConfig parser_config;
  parser_config.tool_call_parser = ctx.options.tool_call_parser;
  parser_config.chat_template_source = ctx.engine.model_info().chat_template_source;
  parser_config.tools = chat.template_tools;
  parser_config.template_kwargs = kwargs;
  parser_config.rendered_prompt = *prompt;
  parser_config.streaming = chat.generation.stream;

  ChatChoiceOptions options;
  options.streaming = chat.generation.stream;
  options.include_usage = chat.generation.include_usage;
  options.logprobs = chat.generation.sampling.logprobs;
  options.parallel_tool_calls = chat.parallel_tool_calls;
  ResponseMeta meta{random_id("chatcmpl-"), unix_time_now(), ctx.limits.model_id,
                    ctx.system_fingerprint};

  GenerationJob job;
  job.stream = chat.generation.stream;
  job.request = make_generation_request(std::move(*tokens), chat.generation);
  job.builder = std::make_unique<ChatChoiceBuilder>(
      std::move(meta), options, ctx.parser_factory(parser_config), token_text_fn(ctx.engine));
  run_generation(ctx, req, std::move(job), res);
}

void handle_apply_template(ServerContext& ctx, const httplib::Request& /*req*/,
                           const std::string& body, httplib::Response& res) {
  auto json = parse_json_object_body(body);
  if (!json.ok()) return send_error(res, json.error());
  auto parsed = parse_template_request(*json);
  if (!parsed.ok()) return send_error(res, parsed.error());
  if (auto error = check_model(ctx, parsed->model)) return send_error(res, *error);
  auto prompt = render_prompt(ctx, parsed->messages, parsed->template_tools,
                              merged_template_kwargs(ctx, parsed->template_kwargs),
                              parsed->add_generation_prompt);
  if (!prompt.ok()) return send_error(res, prompt.error());
  send_json(res, 200, {{"prompt", *prompt}});
}

}  // namespace hearth::server
