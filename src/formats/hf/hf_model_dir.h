// A Hugging Face model directory: config.json plus weights in model.safetensors or shards listed
// by model.safetensors.index.json (the layout of HF snapshots and MLX conversions), loaded into
// one WeightStore of zero-copy views.
#pragma once

#include <string>
#include <vector>

#include "formats/hf/hf_config.h"
#include "formats/weight_store.h"
#include "hearth/status.h"

namespace hearth {

inline constexpr const char* kHfConfigFile = "config.json";
inline constexpr const char* kHfSingleWeightsFile = "model.safetensors";
inline constexpr const char* kHfWeightsIndexFile = "model.safetensors.index.json";

struct HfModelDir {
  std::string dir;
  HfModelConfig config;
  std::vector<std::string> weight_files;  // relative to dir
  WeightStore weights;
};

// True when `dir` is a directory holding config.json.
bool is_hf_model_dir(const std::string& dir);

// NotFound naming the directory when config.json or the weights are missing; errors from the
// config or any weight file name that file.
Expected<HfModelDir> open_hf_model_dir(const std::string& dir);

}  // namespace hearth
