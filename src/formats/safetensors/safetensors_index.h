// Sharded safetensors: model.safetensors.index.json maps each tensor name to the shard file that
// holds it ({"metadata": {"total_size": N}, "weight_map": {"name": "model-00001-of-00002..."}}).
// Shard names come from an untrusted file, so they must stay inside the model directory.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "formats/safetensors/safetensors_file.h"
#include "formats/weight_store.h"
#include "hearth/status.h"

namespace hearth {

struct SafetensorsIndex {
  std::map<std::string, std::string> weight_map;  // tensor name -> shard file (relative)
  std::vector<std::string> shard_files;           // distinct shard files, sorted
  std::optional<uint64_t> total_size;             // metadata.total_size, when stated
};

// InvalidArgument unless `name` is a relative path that stays inside the directory: not empty,
// not absolute, no ".." or empty components, no backslashes or NUL bytes.
Status check_shard_name(std::string_view name);

// Parses the index JSON text; `what` names it in errors.
Expected<SafetensorsIndex> parse_safetensors_index(std::string_view json_text,
                                                   std::string_view what);

// An index file and every shard it names, opened (mapped) once each.
class ShardedSafetensors {
 public:
  static Expected<ShardedSafetensors> open(const std::string& index_path,
                                           const SafetensorsLimits& limits = {});

  const SafetensorsIndex& index() const { return index_; }
  const std::vector<SafetensorsFile>& shards() const { return shards_; }
  // Exactly the tensors the weight map lists, as zero-copy views; NotFound when a shard lacks a
  // tensor the map promises. Tensors present in shards but not in the map are not exposed.
  Expected<WeightStore> to_weight_store() const;

 private:
  std::string index_path_;
  SafetensorsIndex index_;
  std::vector<SafetensorsFile> shards_;  // parallel to index_.shard_files
};

}  // namespace hearth
