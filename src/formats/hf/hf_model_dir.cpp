#include "formats/hf/hf_model_dir.h"

#include <filesystem>

#include "formats/safetensors/safetensors_file.h"
#include "formats/safetensors/safetensors_index.h"

namespace hearth {

namespace fs = std::filesystem;

bool is_hf_model_dir(const std::string& dir) {
  std::error_code ec;
  return fs::is_directory(dir, ec) && fs::is_regular_file(fs::path(dir) / kHfConfigFile, ec);
}

Expected<HfModelDir> open_hf_model_dir(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return not_found("'" + dir + "' is not a directory");
  const fs::path root(dir);
  if (!fs::is_regular_file(root / kHfConfigFile, ec)) {
    return not_found("'" + dir + "' has no config.json (not a Hugging Face model directory)");
  }
  HfModelDir out;
  out.dir = dir;
  HEARTH_ASSIGN_OR_RETURN(out.config, load_hf_config((root / kHfConfigFile).string()));

  if (fs::is_regular_file(root / kHfWeightsIndexFile, ec)) {
    HEARTH_ASSIGN_OR_RETURN(ShardedSafetensors sharded,
                            ShardedSafetensors::open((root / kHfWeightsIndexFile).string()));
    HEARTH_ASSIGN_OR_RETURN(out.weights, sharded.to_weight_store());
    out.weight_files.push_back(kHfWeightsIndexFile);
    for (const std::string& shard : sharded.index().shard_files) out.weight_files.push_back(shard);
    return out;
  }
  if (fs::is_regular_file(root / kHfSingleWeightsFile, ec)) {
    HEARTH_ASSIGN_OR_RETURN(SafetensorsFile file,
                            SafetensorsFile::open((root / kHfSingleWeightsFile).string()));
    HEARTH_ASSIGN_OR_RETURN(out.weights, file.to_weight_store());
    out.weight_files.push_back(kHfSingleWeightsFile);
    return out;
  }
  return not_found("'" + dir + "' has neither " + kHfSingleWeightsFile + " nor " +
                   kHfWeightsIndexFile);
}

}  // namespace hearth
