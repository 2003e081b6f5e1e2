// `hearth serve`: loads a model into an Engine and serves it over the OpenAI-compatible HTTP
// API (src/server). Stops cleanly on Ctrl-C / SIGTERM.
#include <fmt/core.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "engine_flags.h"
#include "runtime/engine/local_engine.h"
#include "server/http/http_server.h"
#include "server/http/shutdown_signals.h"

namespace hearth::cli {
namespace {

struct ServeArgs {
  ModelFlags model;  // --model, --threads, --ctx-size, --chat-template, --device
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string api_key;
  bool insecure_no_api_key = false;
  std::vector<std::string> allowed_origins;
  std::string chat_template_args;
  std::string tool_call_parser;
  int max_queue = 64;
  double max_body_mb = 16;
  std::string scripted_outputs_file;  // testing only (hidden flag)
};

// Testing facility: a JSON array of strings the engine replays instead of sampling, so that
// end-to-end tests of tool calls and reasoning run through the real tokenizer and template.
Expected<std::vector<std::string>> read_scripted_outputs(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return not_found("cannot read scripted outputs '" + path + "'");
  std::string text;
  char buf[4096];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
  std::fclose(f);
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_array()) return invalid_argument("scripted outputs must be a JSON array of strings");
  std::vector<std::string> out;
  for (const auto& item : j) {
    if (!item.is_string()) return invalid_argument("scripted outputs must be strings");
    out.push_back(item.get<std::string>());
  }
  if (out.empty()) return invalid_argument("scripted outputs file is empty");
  return out;
}

int fail(const Status& status) {
  fmt::print(stderr, "error: {}\n", status.to_string());
  return 1;
}

int run_serve(const ServeArgs& args, bool log_level_given) {
  // The per-request PERF lines are logged at info level: show them unless told otherwise.
  if (!log_level_given) spdlog::set_level(spdlog::level::info);

  server::ServerOptions options;
  options.host = args.host;
  options.port = args.port;
  options.api_key = args.api_key;
  options.insecure_no_api_key = args.insecure_no_api_key;
  options.allowed_origins = args.allowed_origins;
  options.tool_call_parser = args.tool_call_parser;
  options.max_queue = args.max_queue;
  options.max_body_bytes = static_cast<size_t>(args.max_body_mb * 1024 * 1024);
  auto template_args = parse_template_args(args.chat_template_args);
  if (!template_args.ok()) return fail(template_args.status());
  options.default_template_kwargs = std::move(*template_args);
  // Refuse a bad configuration before spending time loading the model.
  if (Status status = server::validate_server_options(options); !status.ok()) return fail(status);

  // First signal: stop serving (in-flight requests are cancelled, idle connections get up
  // to 5 s). A signal while loading, or a second one, exits at once.
  std::atomic<server::HttpServer*> running{nullptr};
  std::atomic<bool> stopping{false};
  server::ShutdownSignalWatcher signals([&running, &stopping] {
    server::HttpServer* server = running.load();
    if (!server || stopping.exchange(true)) std::_Exit(130);
    spdlog::info("shutting down");
    server->stop();
  });

  auto engine_options = args.model.engine_options();
  if (!engine_options.ok()) return fail(engine_options.status());
  engine_options->max_queue = args.max_queue;
  if (!args.scripted_outputs_file.empty()) {
    auto scripted = read_scripted_outputs(args.scripted_outputs_file);
    if (!scripted.ok()) return fail(scripted.status());
    engine_options->scripted_outputs = std::move(*scripted);
    spdlog::warn("testing mode: replaying {} scripted outputs instead of sampling",
                 engine_options->scripted_outputs.size());
  }
  auto engine = LocalEngine::create(*engine_options);
  if (!engine.ok()) return fail(engine.status());
  if (!(*engine)->has_chat_template()) {
    spdlog::warn(
        "model '{}' has no chat template: /v1/chat/completions will answer 400 until "
        "one is given with --chat-template FILE; /v1/completions works",
        (*engine)->model_info().id);
  }

  server::HttpServer server(**engine, options);
  if (Status status = server.bind(); !status.ok()) return fail(status);
  running.store(&server);
  spdlog::info("serving {} on http://{}:{}/v1 ({})", (*engine)->model_info().id, args.host,
               server.port(), args.api_key.empty() ? "no API key" : "API key required");
  const Status status = server.serve();
  signals.stop();  // the watcher may still be inside server.stop()
  if (!status.ok()) return fail(status);
  return 0;
}

}  // namespace

void register_serve_command(CLI::App& app, std::function<int()>& run) {
  static ServeArgs args;
  CLI::App* serve = app.add_subcommand("serve", "Serve a model over an OpenAI-compatible HTTP API");
  args.model.add_to(*serve);
  serve->add_option("--host", args.host, "address to listen on")->capture_default_str();
  serve->add_option("--port", args.port, "TCP port")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  serve
      ->add_option("--api-key", args.api_key,
                   "require 'Authorization: Bearer KEY' on every route but /health")
      ->envname("HEARTH_API_KEY");
  serve->add_flag("--insecure-no-api-key", args.insecure_no_api_key,
                  "allow a non-loopback --host without --api-key");
  serve
      ->add_option("--allowed-origins", args.allowed_origins,
                   "browser origins allowed by CORS (comma-separated; '*' for any)")
      ->delimiter(',');
  serve->add_option("--chat-template-args", args.chat_template_args,
                    "JSON object of default chat template variables, e.g. "
                    "'{\"enable_thinking\": false}'");
  serve->add_option("--tool-call-parser", args.tool_call_parser,
                    "tool-call dialect (default: detected from the chat template)");
  serve->add_option("--max-queue", args.max_queue, "requests waiting beyond this get HTTP 429")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  serve->add_option("--max-body-mb", args.max_body_mb, "largest request body accepted (HTTP 413)")
      ->check(CLI::Range(0.001, 4096.0))
      ->capture_default_str();
  serve
      ->add_option("--scripted-outputs", args.scripted_outputs_file,
                   "testing: JSON array of texts replayed instead of sampling")
      ->group("");  // hidden: for end-to-end tests only
  serve->callback([&run, &app] {
    const bool log_level_given = app.get_option("--log-level")->count() > 0;
    run = [log_level_given] { return run_serve(args, log_level_given); };
  });
}

}  // namespace hearth::cli
