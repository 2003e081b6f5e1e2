#include "formats/safetensors/safetensors_index.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include "formats/json_parse.h"

namespace hearth {

Status check_shard_name(std::string_view name) {
  const std::string quoted = "shard file name '" + std::string(name) + "'";
  if (name.empty()) return invalid_argument("shard file name is empty");
  if (name.find('\0') != std::string_view::npos || name.find('\\') != std::string_view::npos) {
    return invalid_argument(quoted + " contains a NUL byte or backslash");
  }
  if (name.front() == '/') {
    return invalid_argument(quoted +
                            " is an absolute path; shards must be inside the model directory");
  }
  size_t start = 0;
  while (start <= name.size()) {
    const size_t slash = std::min(name.find('/', start), name.size());
    const std::string_view part = name.substr(start, slash - start);
    if (part.empty() || part == "." || part == "..") {
      return invalid_argument(quoted + " has a '" + std::string(part) +
                              "' path component; shards must be inside the model directory");
    }
    start = slash + 1;
  }
  return {};
}

Expected<SafetensorsIndex> parse_safetensors_index(std::string_view json_text,
                                                   std::string_view what) {
  HEARTH_ASSIGN_OR_RETURN(nlohmann::json j, parse_json_strict(json_text, what));
  const std::string w(what);
  if (!j.is_object()) return corrupt_data(w + " is not a JSON object");
  SafetensorsIndex index;
  if (const auto meta = j.find("metadata"); meta != j.end() && !meta->is_null()) {
    if (!meta->is_object()) return corrupt_data(w + ": \"metadata\" must be an object");
    if (const auto ts = meta->find("total_size"); ts != meta->end()) {
      index.total_size = json_as_uint(*ts);
      if (!index.total_size) {
        return corrupt_data(w + ": metadata.total_size must be a non-negative integer, got " +
                            json_describe(*ts));
      }
    }
  }
  const auto map = j.find("weight_map");
  if (map == j.end() || !map->is_object()) {
    return corrupt_data(w + " has no \"weight_map\" object");
  }
  std::set<std::string> shards;
  for (const auto& [tensor, file] : map->items()) {
    if (!file.is_string()) {
      return corrupt_data(w + ": weight_map entry for '" + tensor + "' must be a file name, got " +
                          json_describe(file));
    }
    const std::string name = file.get<std::string>();
    const Status st = check_shard_name(name);
    if (!st.ok()) return st.with_context(w + ": weight_map entry for '" + tensor + "'");
    index.weight_map.emplace(tensor, name);
    shards.insert(name);
  }
  if (index.weight_map.empty()) return corrupt_data(w + " has an empty weight_map");
  index.shard_files.assign(shards.begin(), shards.end());
  return index;
}

Expected<ShardedSafetensors> ShardedSafetensors::open(const std::string& index_path,
                                                      const SafetensorsLimits& limits) {
  ShardedSafetensors out;
  out.index_path_ = index_path;
  HEARTH_ASSIGN_OR_RETURN(std::string text, read_text_file(index_path, 64ull << 20));
  HEARTH_ASSIGN_OR_RETURN(out.index_, parse_safetensors_index(text, "'" + index_path + "'"));
  const std::filesystem::path dir = std::filesystem::path(index_path).parent_path();
  for (const std::string& shard : out.index_.shard_files) {
    auto file = SafetensorsFile::open((dir / shard).string(), limits);
    if (!file.ok()) {
      return file.status().with_context("shard '" + shard + "' named by '" + index_path + "'");
    }
    out.shards_.push_back(std::move(file).value());
  }
  return out;
}

Expected<WeightStore> ShardedSafetensors::to_weight_store() const {
  WeightStore store;
  for (const SafetensorsFile& shard : shards_) store.add_owner(shard.mapping());
  for (const auto& [tensor, shard_name] : index_.weight_map) {
    const auto it =
        std::lower_bound(index_.shard_files.begin(), index_.shard_files.end(), shard_name);
    const SafetensorsFile& shard = shards_[static_cast<size_t>(it - index_.shard_files.begin())];
    const SafetensorsTensorInfo* ti = shard.find_tensor(tensor);
    if (!ti) {
      return not_found("'" + index_path_ + "' maps tensor '" + tensor + "' to '" + shard_name +
                       "', but that shard has no such tensor");
    }
    HEARTH_ASSIGN_OR_RETURN(TensorView view, shard.tensor_view(*ti));
    HEARTH_RETURN_IF_ERROR(store.add(tensor, view));
  }
  return store;
}

}  // namespace hearth
