// Flags shared by the commands that load a model (generate, chat, serve, bench): which model,
// how many threads, context size, chat template, and the sampling settings.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <optional>
#include <string>

#include "hearth/sampling.h"
#include "hearth/status.h"
#include "runtime/engine/local_engine.h"

namespace hearth::cli {

// A model path, or an alias of the default model ("default", "smollm2",
// "SmolLM2-135M-Instruct"), resolved against ${HEARTH_CACHE_DIR:-~/.cache/hearth}/models.
std::string resolve_model_path(const std::string& model);
// Where scripts/bootstrap.sh puts the default model.
std::string default_model_path();

struct ModelFlags {
  std::string model = "default";
  int threads = 0;
  int64_t ctx_size = 0;
  std::string chat_template_file;
  std::string device = "cpu";

  void add_to(CLI::App& cmd);
  // Engine options; reads --chat-template FILE (error naming it when unreadable).
  Expected<LocalEngineOptions> engine_options() const;
};

struct SamplingFlags {
  float temp = 0.0f;  // mlx_lm.generate's default: greedy
  float top_p = 1.0f;
  int32_t top_k = 0;
  float min_p = 0.0f;
  float repetition_penalty = 1.0f;
  std::optional<uint64_t> seed;

  void add_to(CLI::App& cmd);
  SamplingParams params() const;
};

// Parses --chat-template-args: a JSON object, or an error naming the problem.
Expected<nlohmann::ordered_json> parse_template_args(const std::string& text);

}  // namespace hearth::cli
