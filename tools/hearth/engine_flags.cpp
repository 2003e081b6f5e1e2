#include "engine_flags.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace hearth::cli {

std::string default_model_path() {
  std::filesystem::path dir;
  if (const char* c = std::getenv("HEARTH_CACHE_DIR")) {
    dir = c;
  } else {
    const char* home = std::getenv("HOME");
    dir = std::filesystem::path(home ? home : ".") / ".cache" / "hearth";
  }
  return (dir / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf").string();
}

std::string resolve_model_path(const std::string& model) {
  if (model == "default" || model == "smollm2" || model == "SmolLM2-135M-Instruct" ||
      model == "SmolLM2-135M-Instruct.Q4_1") {
    return default_model_path();
  }
  return model;
}

void ModelFlags::add_to(CLI::App& cmd) {
  cmd.add_option(
         "-m,--model", model,
         "a .gguf file, a Hugging Face model directory, or 'default' (SmolLM2-135M-Instruct)")
      ->capture_default_str();
  cmd.add_option("-t,--threads", threads, "CPU threads (0: one per physical core)")
      ->check(CLI::Range(0, 1024));
  cmd.add_option("-c,--ctx-size", ctx_size, "context size in tokens (0: the model's)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 30));
  cmd.add_option("--chat-template", chat_template_file,
                 "a Jinja file replacing the model's chat template");
  cmd.add_option("--device", device, "cpu or cuda")->capture_default_str();
}

Expected<LocalEngineOptions> ModelFlags::engine_options() const {
  LocalEngineOptions o;
  o.model_path = resolve_model_path(model);
  o.threads = threads;
  o.context_size = ctx_size;
  o.device = device;
  if (!chat_template_file.empty()) {
    std::ifstream in(chat_template_file, std::ios::binary);
    if (!in) return not_found("cannot read chat template file '" + chat_template_file + "'");
    std::ostringstream ss;
    ss << in.rdbuf();
    o.chat_template_override = ss.str();
  }
  return o;
}

void SamplingFlags::add_to(CLI::App& cmd) {
  cmd.add_option("--temp", temp, "sampling temperature (0: greedy)")
      ->check(CLI::Range(0.0f, 100.0f))
      ->capture_default_str();
  cmd.add_option("--top-p", top_p, "nucleus sampling mass (1: off)")->check(CLI::Range(0.0f, 1.0f));
  cmd.add_option("--top-k", top_k, "keep the k most likely tokens (0: off)")
      ->check(CLI::NonNegativeNumber);
  cmd.add_option("--min-p", min_p, "drop tokens below min_p * p(best) (0: off)")
      ->check(CLI::Range(0.0f, 1.0f));
  cmd.add_option("--repetition-penalty", repetition_penalty, "penalise recent tokens (1: off)")
      ->check(CLI::Range(0.0f, 10.0f));
  cmd.add_option("--seed", seed, "random seed for reproducible sampling");
}

SamplingParams SamplingFlags::params() const {
  SamplingParams p;
  p.temperature = temp;
  p.top_p = top_p;
  p.top_k = top_k;
  p.min_p = min_p;
  p.repetition_penalty = repetition_penalty;
  p.seed = seed;
  return p;
}

Expected<nlohmann::ordered_json> parse_template_args(const std::string& text) {
  if (text.empty()) return nlohmann::ordered_json::object();
  nlohmann::ordered_json j =
      nlohmann::ordered_json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return invalid_argument("--chat-template-args is not valid JSON: " + text);
  if (!j.is_object()) {
    return invalid_argument(
        "--chat-template-args must be a JSON object, e.g. '{\"enable_thinking\": false}'");
  }
  return j;
}

}  // namespace hearth::cli
