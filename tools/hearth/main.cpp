#include <fmt/core.h>
#include <CLI/CLI.hpp>

#include <functional>

#include "commands.h"
#include "core/log.h"

int main(int argc, char** argv) {
  CLI::App app{"hearth: local LLM inference engine and OpenAI-compatible server"};
  app.require_subcommand(1);
  std::string log_level = "warn";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off")
      ->capture_default_str();
  std::function<int()> run;
  hearth::cli::register_models_command(app, run);
  hearth::cli::register_template_command(app, run);
  hearth::cli::register_generate_command(app, run);
  hearth::cli::register_chat_command(app, run);
  hearth::cli::register_serve_command(app, run);
  hearth::cli::register_bench_command(app, run);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  hearth::init_logging(log_level);
  return run ? run() : 1;
}
