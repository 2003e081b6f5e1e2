// `hearth chat`: an interactive conversation. The engine reuses the KV cache of the common
// prefix between turns, so each turn only prefills the new messages. Works with a pipe on stdin
// (one user message per line).
#include <fmt/core.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string>

#include "commands.h"
#include "engine_flags.h"
#include "streaming_run.h"

namespace hearth::cli {
namespace {

struct ChatArgs {
  ModelFlags model;
  SamplingFlags sampling;
  std::string system_prompt;
  int64_t max_tokens = 512;
  std::string chat_template_args;
  bool verbose = false;
};

int run_chat(const ChatArgs& args) {
  auto kwargs = parse_template_args(args.chat_template_args);
  if (!kwargs.ok()) {
    fmt::print(stderr, "error: {}\n", kwargs.status().message());
    return 2;
  }
  auto options = args.model.engine_options();
  if (!options.ok()) {
    fmt::print(stderr, "error: {}\n", options.status().message());
    return 1;
  }
  auto engine = LocalEngine::create(*options);
  if (!engine.ok()) {
    fmt::print(stderr, "error: {}\n", engine.status().to_string());
    return 1;
  }
  LocalEngine& e = **engine;
  if (!e.has_chat_template()) {
    fmt::print(stderr, "error: model '{}' has no chat template; pass --chat-template FILE\n",
               e.model_info().id);
    return 1;
  }
  const bool interactive = isatty(STDIN_FILENO) != 0;
  install_interrupt_handler();

  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  auto reset = [&] {
    messages = nlohmann::ordered_json::array();
    if (!args.system_prompt.empty()) {
      messages.push_back({{"role", "system"}, {"content", args.system_prompt}});
    }
  };
  reset();
  if (interactive) {
    fmt::print("hearth chat with {} ({} tokens of context). /reset starts over, /exit quits.\n",
               e.model_info().id, e.model_info().context_size);
  }
  std::string line;
  for (;;) {
    if (interactive) {
      fmt::print(">> ");
      std::fflush(stdout);
    }
    if (!std::getline(std::cin, line)) break;
    if (line == "/exit" || line == "/quit") break;
    if (line == "/reset") {
      reset();
      if (interactive) fmt::print("(conversation cleared)\n");
      continue;
    }
    if (line.empty()) continue;
    messages.push_back({{"role", "user"}, {"content", line}});
    ChatRenderRequest chat;
    chat.messages = messages;
    chat.template_kwargs = *kwargs;
    auto rendered = e.render_chat(chat);
    if (!rendered.ok()) {
      fmt::print(stderr, "error: rendering the chat template: {}\n", rendered.status().message());
      messages.erase(messages.end() - 1);
      continue;
    }
    auto tokens = e.tokenize(*rendered, /*add_special=*/false, /*parse_special=*/true);
    if (!tokens.ok()) {
      fmt::print(stderr, "error: {}\n", tokens.status().message());
      return 1;
    }
    GenerationRequest req;
    req.prompt = std::move(tokens).value();
    req.sampling = args.sampling.params();
    req.max_tokens = args.max_tokens;
    std::string answer;
    auto done = run_streaming(e, std::move(req), stdout, &answer);
    std::fputc('\n', stdout);
    std::fflush(stdout);
    if (!done.ok()) {
      // A context overflow or engine error ends this turn, not the session.
      fmt::print(stderr, "error: {}\n", done.status().to_string());
      messages.erase(messages.end() - 1);
      continue;
    }
    messages.push_back({{"role", "assistant"}, {"content", answer}});
    if (args.verbose) print_generation_stats(*done, stderr);
    if (done->finish == FinishReason::kCancelled) {
      if (!interactive) return 130;
      fmt::print("(interrupted)\n");
    }
  }
  return 0;
}

}  // namespace

void register_chat_command(CLI::App& app, std::function<int()>& run) {
  static ChatArgs args;
  CLI::App* cmd = app.add_subcommand("chat", "Chat with a model (keeps the conversation)");
  args.model.add_to(*cmd);
  args.sampling.add_to(*cmd);
  cmd->add_option("--system-prompt", args.system_prompt, "a system message for the conversation");
  cmd->add_option("--max-tokens", args.max_tokens, "most tokens per answer")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--chat-template-args", args.chat_template_args,
                  "JSON object of chat template variables, e.g. '{\"enable_thinking\": false}'");
  cmd->add_flag("-v,--verbose", args.verbose, "print tokens/s and peak memory after each answer");
  cmd->callback([&run] { run = [] { return run_chat(args); }; });
}

}  // namespace hearth::cli
