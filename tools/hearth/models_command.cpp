#include <fmt/core.h>

#include <cstdio>
#include <string>

#include "commands.h"
#include "formats/model_summary.h"

namespace hearth::cli {

void register_models_command(CLI::App& app, std::function<int()>& run) {
  CLI::App* models = app.add_subcommand("models", "Inspect model files");
  models->require_subcommand(1);

  struct InspectArgs {
    std::string path;
    bool all = false;
  };
  static InspectArgs args;
  CLI::App* inspect = models->add_subcommand(
      "inspect", "Print architecture, size, quantization, context length and tensors of a model");
  inspect
      ->add_option("path", args.path,
                   "a .gguf or .safetensors file, or a Hugging Face model directory")
      ->required();
  inspect->add_flag("--all", args.all, "list every tensor");
  inspect->callback([&run] {
    run = [] {
      auto summary = summarize_model(args.path);
      if (!summary.ok()) {
        fmt::print(stderr, "error: {}\n", summary.status().to_string());
        return 1;
      }
      fmt::print("{}", format_model_summary(*summary, args.all));
      return 0;
    };
  });
}

}  // namespace hearth::cli
