// Each subcommand registers its flags on the CLI app and returns the exit code when run.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

namespace hearth::cli {

// Registers `hearth models ...`; sets `run` to the action to take if selected.
void register_models_command(CLI::App& app, std::function<int()>& run);

}  // namespace hearth::cli
