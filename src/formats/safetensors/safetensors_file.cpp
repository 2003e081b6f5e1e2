#include "formats/safetensors/safetensors_file.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

#include "core/checked_math.h"
#include "formats/json_parse.h"

namespace hearth {
namespace {

struct NamedDType {
  std::string_view name;
  DType dtype;
};

constexpr std::array<NamedDType, 15> kDTypes = {{
    {"F64", DType::kF64},
    {"F32", DType::kF32},
    {"F16", DType::kF16},
    {"BF16", DType::kBF16},
    {"I64", DType::kI64},
    {"I32", DType::kI32},
    {"I16", DType::kI16},
    {"I8", DType::kI8},
    {"U64", DType::kU64},
    {"U32", DType::kU32},
    {"U16", DType::kU16},
    {"U8", DType::kU8},
    {"BOOL", DType::kBool},
    {"F8_E4M3", DType::kF8_E4M3},
    {"F8_E5M2", DType::kF8_E5M2},
}};

std::string known_dtype_list() {
  std::string out;
  for (const auto& d : kDTypes) {
    if (!out.empty()) out += ", ";
    out += d.name;
  }
  return out;
}

}  // namespace

std::optional<DType> dtype_from_safetensors_name(std::string_view name) {
  for (const auto& d : kDTypes)
    if (d.name == name) return d.dtype;
  return std::nullopt;
}

std::optional<std::string_view> safetensors_name_of(DType t) {
  for (const auto& d : kDTypes)
    if (d.dtype == t) return d.name;
  return std::nullopt;
}

uint64_t SafetensorsTensorInfo::numel() const {
  uint64_t n = 1;
  for (int64_t d : dims) n *= static_cast<uint64_t>(d);  // validated not to overflow
  return n;
}

std::string SafetensorsTensorInfo::shape_string() const {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(dims[i]);
  }
  return s + "]";
}

// Turns the JSON header into validated tensor infos.
class SafetensorsParser {
 public:
  SafetensorsParser(std::span<const uint8_t> bytes, const SafetensorsLimits& limits)
      : bytes_(bytes), limits_(limits) {}

  Status parse(SafetensorsFile& out);

 private:
  Status parse_metadata(const nlohmann::json& value, SafetensorsFile& out);
  Status parse_tensor(const std::string& name, const nlohmann::json& entry, uint64_t data_size,
                      SafetensorsTensorInfo& ti);
  static Status check_overlaps(const std::vector<SafetensorsTensorInfo>& sorted);

  std::span<const uint8_t> bytes_;
  SafetensorsLimits limits_;
};

Status SafetensorsParser::parse(SafetensorsFile& out) {
  if (bytes_.size() < 8) {
    return corrupt_data("file is " + std::to_string(bytes_.size()) +
                        " bytes, too short for the 8-byte header length");
  }
  uint64_t header_bytes = 0;
  std::memcpy(&header_bytes, bytes_.data(), 8);
  if (header_bytes > limits_.max_header_bytes) {
    return corrupt_data("header length " + std::to_string(header_bytes) + " exceeds the limit of " +
                        std::to_string(limits_.max_header_bytes) + " bytes");
  }
  if (header_bytes > bytes_.size() - 8) {
    return corrupt_data("header length " + std::to_string(header_bytes) +
                        " runs past the end of the file (" + std::to_string(bytes_.size()) +
                        " bytes)");
  }
  out.header_bytes_ = header_bytes;
  const std::string_view text(reinterpret_cast<const char*>(bytes_.data() + 8),
                              static_cast<size_t>(header_bytes));
  if (text.empty() || text.front() != '{') {
    return corrupt_data("header does not start with '{' (not a safetensors file?)");
  }
  HEARTH_ASSIGN_OR_RETURN(nlohmann::json header, parse_json_strict(text, "header"));
  if (!header.is_object()) return corrupt_data("header is not a JSON object");

  const uint64_t data_size = bytes_.size() - 8 - header_bytes;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      HEARTH_RETURN_IF_ERROR(parse_metadata(entry, out));
      continue;
    }
    SafetensorsTensorInfo ti;
    HEARTH_RETURN_IF_ERROR(parse_tensor(name, entry, data_size, ti));
    out.tensors_.push_back(std::move(ti));
  }
  std::stable_sort(out.tensors_.begin(), out.tensors_.end(),
                   [](const auto& a, const auto& b) { return a.begin < b.begin; });
  HEARTH_RETURN_IF_ERROR(check_overlaps(out.tensors_));
  for (size_t i = 0; i < out.tensors_.size(); ++i) out.index_.emplace(out.tensors_[i].name, i);
  return {};
}

Status SafetensorsParser::parse_metadata(const nlohmann::json& value, SafetensorsFile& out) {
  if (!value.is_object()) {
    return corrupt_data("__metadata__ must be an object of strings, got " + json_describe(value));
  }
  for (const auto& [key, v] : value.items()) {
    if (!v.is_string()) {
      return corrupt_data("__metadata__ value for '" + key + "' must be a string, got " +
                          json_describe(v));
    }
    out.metadata_.emplace(key, v.get<std::string>());
  }
  return {};
}

Status SafetensorsParser::parse_tensor(const std::string& name, const nlohmann::json& entry,
                                       uint64_t data_size, SafetensorsTensorInfo& ti) {
  const std::string what = "tensor '" + name + "'";
  ti.name = name;
  if (!entry.is_object()) return corrupt_data(what + " entry must be an object");
  const auto dtype_it = entry.find("dtype");
  if (dtype_it == entry.end() || !dtype_it->is_string()) {
    return corrupt_data(what + " has no \"dtype\" string");
  }
  const std::string dtype_name = dtype_it->get<std::string>();
  const auto dtype = dtype_from_safetensors_name(dtype_name);
  if (!dtype) {
    return unsupported(what + " has dtype '" + dtype_name + "', which hearth does not read (" +
                       known_dtype_list() + ")");
  }
  ti.dtype = *dtype;

  const auto shape_it = entry.find("shape");
  if (shape_it == entry.end() || !shape_it->is_array()) {
    return corrupt_data(what + " has no \"shape\" array");
  }
  uint64_t numel = 1;
  for (const auto& d : *shape_it) {
    const auto dim = json_as_uint(d);
    if (!dim || *dim > static_cast<uint64_t>(INT64_MAX)) {
      return corrupt_data(what + " shape has " + json_describe(d) +
                          " where a non-negative integer belongs");
    }
    const auto prod = checked_mul(numel, *dim);
    if (!prod || *prod > static_cast<uint64_t>(INT64_MAX)) {
      return corrupt_data(what + " element count overflows 63 bits");
    }
    numel = *prod;
    ti.dims.push_back(static_cast<int64_t>(*dim));
  }

  const auto offsets_it = entry.find("data_offsets");
  if (offsets_it == entry.end() || !offsets_it->is_array() || offsets_it->size() != 2) {
    return corrupt_data(what + " needs \"data_offsets\": [begin, end]");
  }
  const auto begin = json_as_uint((*offsets_it)[0]);
  const auto end = json_as_uint((*offsets_it)[1]);
  if (!begin || !end) {
    return corrupt_data(what + " data_offsets must be non-negative integers, got " +
                        offsets_it->dump());
  }
  if (*begin > *end) {
    return corrupt_data(what + " data_offsets [" + std::to_string(*begin) + ", " +
                        std::to_string(*end) + "] are reversed (begin > end)");
  }
  if (*end > data_size) {
    return corrupt_data(what + " data_offsets [" + std::to_string(*begin) + ", " +
                        std::to_string(*end) + "] lie outside the data section (" +
                        std::to_string(data_size) + " bytes); the file may be truncated");
  }
  ti.begin = *begin;
  ti.end = *end;
  const auto needed = checked_mul(numel, dtype_traits(ti.dtype).block_bytes);
  if (!needed || *needed != ti.nbytes()) {
    return corrupt_data(what + " has " + std::to_string(ti.nbytes()) + " bytes of data but " +
                        dtype_name + " shape " + ti.shape_string() + " needs " +
                        (needed ? std::to_string(*needed) : std::string("more than 2^64")));
  }
  return {};
}

Status SafetensorsParser::check_overlaps(const std::vector<SafetensorsTensorInfo>& sorted) {
  for (size_t i = 1; i < sorted.size(); ++i) {
    const auto& prev = sorted[i - 1];
    const auto& cur = sorted[i];
    if (cur.begin < prev.end) {
      return corrupt_data("tensors '" + prev.name + "' [" + std::to_string(prev.begin) + ", " +
                          std::to_string(prev.end) + ") and '" + cur.name + "' [" +
                          std::to_string(cur.begin) + ", " + std::to_string(cur.end) +
                          ") overlap in the data section");
    }
  }
  return {};
}

Expected<SafetensorsFile> SafetensorsFile::parse(std::span<const uint8_t> bytes,
                                                 const SafetensorsLimits& limits) {
  SafetensorsFile f;
  f.bytes_ = bytes;
  SafetensorsParser parser(bytes, limits);
  HEARTH_RETURN_IF_ERROR(parser.parse(f));
  return f;
}

Expected<SafetensorsFile> SafetensorsFile::open(const std::string& path,
                                                const SafetensorsLimits& limits) {
  auto mapped = MappedFile::open(path);
  if (!mapped.ok()) return mapped.status();
  auto file = std::make_shared<MappedFile>(std::move(mapped).value());
  auto parsed = parse(file->bytes(), limits);
  if (!parsed.ok()) return parsed.status().with_context("reading safetensors '" + path + "'");
  SafetensorsFile f = std::move(parsed).value();
  f.file_ = std::move(file);
  f.path_ = path;
  return f;
}

const SafetensorsTensorInfo* SafetensorsFile::find_tensor(std::string_view name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

std::span<const uint8_t> SafetensorsFile::tensor_bytes(const SafetensorsTensorInfo& info) const {
  return bytes_.subspan(static_cast<size_t>(data_offset() + info.begin),
                        static_cast<size_t>(info.nbytes()));
}

Expected<TensorView> SafetensorsFile::tensor_view(const SafetensorsTensorInfo& info) const {
  if (info.dims.size() > static_cast<size_t>(kMaxRank)) {
    return unsupported("tensor '" + info.name + "' has " + std::to_string(info.dims.size()) +
                       " dimensions; hearth handles at most " + std::to_string(kMaxRank));
  }
  auto* p = const_cast<uint8_t*>(bytes_.data() + data_offset() + info.begin);
  return TensorView(p, info.dtype,
                    Shape::from_dims(info.dims.data(), static_cast<int>(info.dims.size())));
}

Status SafetensorsFile::add_to(WeightStore& store) const {
  if (file_) store.add_owner(file_);
  for (const SafetensorsTensorInfo& ti : tensors_) {
    HEARTH_ASSIGN_OR_RETURN(TensorView view, tensor_view(ti));
    HEARTH_RETURN_IF_ERROR(store.add(ti.name, view));
  }
  return {};
}

Expected<WeightStore> SafetensorsFile::to_weight_store() const {
  WeightStore store;
  HEARTH_RETURN_IF_ERROR(add_to(store));
  return store;
}

}  // namespace hearth
