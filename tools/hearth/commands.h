// Each subcommand registers its flags on the CLI app and returns the exit code when run.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

namespace hearth::cli {

// Registers `hearth models ...`; sets `run` to the action to take if selected.
void register_models_command(CLI::App& app, std::function<int()>& run);
// Registers `hearth models template` under `models` (template_command.cpp); call it after
// register_models_command.
void register_template_command(CLI::App& app, std::function<int()>& run);
// Registers `hearth generate` (generate_command.cpp) and `hearth chat` (chat_command.cpp).
void register_generate_command(CLI::App& app, std::function<int()>& run);
void register_chat_command(CLI::App& app, std::function<int()>& run);
// Registers `hearth serve` (serve_command.cpp).
void register_serve_command(CLI::App& app, std::function<int()>& run);
// Registers `hearth bench` (bench_command.cpp).
void register_bench_command(CLI::App& app, std::function<int()>& run);

}  // namespace hearth::cli
