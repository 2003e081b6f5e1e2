// `hearth generate`: one prompt in, the model's answer streamed out (like mlx_lm.generate).
#include <fmt/core.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <iterator>
#include <string>

#include "commands.h"
#include "engine_flags.h"
#include "streaming_run.h"

namespace hearth::cli {
namespace {

struct GenerateArgs {
  ModelFlags model;
  SamplingFlags sampling;
  std::string prompt;
  std::string system_prompt;
  int64_t max_tokens = 256;
  bool ignore_chat_template = false;
  std::string chat_template_args;
  bool verbose = false;
};

int run_generate(const GenerateArgs& args) {
  std::string prompt = args.prompt;
  if (prompt == "-") {
    prompt.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
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

  std::string text = prompt;
  bool templated = false;
  if (!args.ignore_chat_template && e.has_chat_template()) {
    ChatRenderRequest chat;
    if (!args.system_prompt.empty()) {
      chat.messages.push_back({{"role", "system"}, {"content", args.system_prompt}});
    }
    chat.messages.push_back({{"role", "user"}, {"content", prompt}});
    chat.template_kwargs = *kwargs;
    auto rendered = e.render_chat(chat);
    if (!rendered.ok()) {
      fmt::print(stderr, "error: rendering the chat template: {}\n", rendered.status().message());
      return 1;
    }
    text = *rendered;
    templated = true;
  } else if (!args.system_prompt.empty()) {
    text = args.system_prompt + "\n\n" + prompt;
  }
  // A rendered template already spells out its special tokens (BOS included).
  auto tokens = e.tokenize(text, /*add_special=*/!templated, /*parse_special=*/templated);
  if (!tokens.ok()) {
    fmt::print(stderr, "error: {}\n", tokens.status().message());
    return 1;
  }

  GenerationRequest req;
  req.prompt = std::move(tokens).value();
  req.sampling = args.sampling.params();
  req.max_tokens = args.max_tokens;
  if (args.verbose) fmt::print(stderr, "==========\n");
  install_interrupt_handler();
  auto done = run_streaming(e, std::move(req), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
  if (!done.ok()) {
    fmt::print(stderr, "error: {}\n", done.status().to_string());
    return 1;
  }
  if (args.verbose) print_generation_stats(*done, stderr);
  return done->finish == FinishReason::kCancelled ? 130 : 0;
}

}  // namespace

void register_generate_command(CLI::App& app, std::function<int()>& run) {
  static GenerateArgs args;
  CLI::App* cmd = app.add_subcommand("generate", "Generate an answer to one prompt");
  args.model.add_to(*cmd);
  args.sampling.add_to(*cmd);
  cmd->add_option("-p,--prompt", args.prompt, "the prompt ('-' reads it from stdin)")->required();
  cmd->add_option("--system-prompt", args.system_prompt, "a system message before the prompt");
  cmd->add_option("--max-tokens", args.max_tokens, "most tokens to generate")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_flag("--ignore-chat-template", args.ignore_chat_template,
                "feed the prompt as raw text instead of through the chat template");
  cmd->add_option("--chat-template-args", args.chat_template_args,
                  "JSON object of chat template variables, e.g. '{\"enable_thinking\": false}'");
  cmd->add_flag("-v,--verbose", args.verbose,
                "print prompt and generation tokens/s and peak memory (to stderr)");
  cmd->callback([&run] { run = [] { return run_generate(args); }; });
}

}  // namespace hearth::cli
