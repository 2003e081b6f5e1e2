#include "formats/gguf/gguf_file.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

#include "core/checked_math.h"
#include "formats/weight_store.h"

namespace hearth {

// Reads the header, metadata and tensor infos with a bounds-checked cursor.
class GgufParser {
 public:
  GgufParser(std::span<const uint8_t> bytes, const GgufLimits& limits)
      : bytes_(bytes), limits_(limits) {}

  Status parse(GgufFile& out);

 private:
  uint64_t remaining() const { return bytes_.size() - pos_; }

  Status need(uint64_t n, std::string_view what) const {
    if (n > remaining()) {
      return corrupt_data("file is truncated: " + std::string(what) + " needs " +
                          std::to_string(n) + " bytes at offset " + std::to_string(pos_) +
                          " but only " + std::to_string(remaining()) + " remain");
    }
    return {};
  }

  template <typename T>
  Status read_pod(T& v, std::string_view what) {
    HEARTH_RETURN_IF_ERROR(need(sizeof(T), what));
    std::memcpy(&v, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return {};
  }

  Status read_string(std::string& s, uint64_t max_bytes, std::string_view what) {
    uint64_t len = 0;
    HEARTH_RETURN_IF_ERROR(read_pod(len, std::string(what) + " length"));
    if (len > max_bytes) {
      return corrupt_data(std::string(what) + " length " + std::to_string(len) +
                          " exceeds the limit of " + std::to_string(max_bytes) + " bytes");
    }
    HEARTH_RETURN_IF_ERROR(need(len, what));
    s.assign(reinterpret_cast<const char*>(bytes_.data() + pos_), static_cast<size_t>(len));
    pos_ += len;
    return {};
  }

  Status read_type(GgufType& t, std::string_view what) {
    uint32_t raw = 0;
    HEARTH_RETURN_IF_ERROR(read_pod(raw, what));
    if (raw > static_cast<uint32_t>(GgufType::kFloat64)) {
      return corrupt_data(std::string(what) + " has unknown value type " + std::to_string(raw));
    }
    t = static_cast<GgufType>(raw);
    return {};
  }

  Status read_scalar(GgufType t, uint64_t& bits, double& f, const std::string& what);
  Status read_value(GgufType t, GgufValue& v, uint32_t depth, const std::string& what);
  Status read_array(GgufArray& a, uint32_t depth, const std::string& what);
  Status read_tensor_info(GgufTensorInfo& ti, size_t index);
  Status check_tensor_ranges(const GgufFile& out, uint64_t data_size);

  std::span<const uint8_t> bytes_;
  GgufLimits limits_;
  uint64_t pos_ = 0;
};

Status GgufParser::read_scalar(GgufType t, uint64_t& bits, double& f, const std::string& what) {
  switch (t) {
    case GgufType::kUint8: {
      uint8_t v = 0;
      HEARTH_RETURN_IF_ERROR(read_pod(v, what));
      bits = v;
      return {};
    }
    case GgufType::kInt8: {
      int8_t v = 0;
      HEARTH_RETURN_IF_ERROR(read_pod(v, what));
      bits = static_cast<uint64_t>(static_cast<int64_t>(v));
      return {};
    }
    case GgufType::kUint16: {
      uint16_t v = 0;
      HEARTH_RETURN_IF_ERROR(read_pod(v, what));
      bits = v;
      return {};
    }
    case GgufType::kInt16: {
      int16_t v = 0;
      HEARTH_RETURN_IF_ERROR(read_pod(v, what));
      bits = static_cast<uint64_t>(static_cast<int64_t>(v));
      return {};
    }
    case GgufType::kUint32: {
      uint32_t v = 0;
      HEARTH_RETURN_IF_ERROR(read_pod(v, what));
      bits = v;
      return {};
    }
    case GgufType::kInt32: {
      int32_t v = 0;
      HEARTH_RETURN_IF_ERROR(read_pod(v, what));
      bits = static_cast<uint64_t>(static_cast<int64_t>(v));
      return {};
    }
    case GgufType::kUint64:
    case GgufType::kInt64:
      return read_pod(bits, what);
    case GgufType::kFloat32: {
      float v = 0;
      HEARTH_RETURN_IF_ERROR(read_pod(v, what));
      f = v;
      return {};
    }
    case GgufType::kFloat64:
      return read_pod(f, what);
    case GgufType::kBool: {
      uint8_t v = 0;
      HEARTH_RETURN_IF_ERROR(read_pod(v, what));
      if (v > 1) return corrupt_data(what + " is a bool with invalid byte " + std::to_string(v));
      bits = v;
      return {};
    }
    case GgufType::kString:
    case GgufType::kArray:
      break;
  }
  return internal_error("read_scalar called with a non-scalar type");
}

Status GgufParser::read_value(GgufType t, GgufValue& v, uint32_t depth, const std::string& what) {
  v.type = t;
  if (t == GgufType::kString) return read_string(v.s, limits_.max_string_bytes, what);
  if (t == GgufType::kArray) return read_array(v.arr, depth + 1, what);
  return read_scalar(t, v.bits, v.f, what);
}

Status GgufParser::read_array(GgufArray& a, uint32_t depth, const std::string& what) {
  if (depth > limits_.max_array_depth) {
    return corrupt_data(what + " nests arrays deeper than " +
                        std::to_string(limits_.max_array_depth) + " levels");
  }
  HEARTH_RETURN_IF_ERROR(read_type(a.elem_type, what + " element type"));
  uint64_t count = 0;
  HEARTH_RETURN_IF_ERROR(read_pod(count, what + " element count"));
  if (count > limits_.max_array_elems) {
    return corrupt_data(what + " has " + std::to_string(count) + " elements, over the limit of " +
                        std::to_string(limits_.max_array_elems));
  }
  // Every element takes at least this many bytes, so a count the file cannot hold is rejected
  // before anything is allocated for it.
  uint64_t min_elem = gguf_type_fixed_size(a.elem_type);
  if (a.elem_type == GgufType::kString) min_elem = 8;
  if (a.elem_type == GgufType::kArray) min_elem = 12;
  const auto min_total = checked_mul(count, min_elem);
  if (!min_total || *min_total > remaining()) {
    return corrupt_data(what + " claims " + std::to_string(count) + " elements of type " +
                        std::string(gguf_type_name(a.elem_type)) + " but only " +
                        std::to_string(remaining()) + " bytes remain in the file");
  }
  const auto n = static_cast<size_t>(count);
  switch (a.elem_type) {
    case GgufType::kString:
      a.strings.resize(n);
      for (size_t i = 0; i < n; ++i) {
        HEARTH_RETURN_IF_ERROR(read_string(a.strings[i], limits_.max_string_bytes,
                                           what + "[" + std::to_string(i) + "]"));
      }
      return {};
    case GgufType::kArray:
      a.arrays.resize(n);
      for (size_t i = 0; i < n; ++i) {
        HEARTH_RETURN_IF_ERROR(
            read_array(a.arrays[i], depth + 1, what + "[" + std::to_string(i) + "]"));
      }
      return {};
    case GgufType::kFloat32:
    case GgufType::kFloat64: {
      a.floats.resize(n);
      uint64_t bits = 0;
      for (size_t i = 0; i < n; ++i)
        HEARTH_RETURN_IF_ERROR(read_scalar(a.elem_type, bits, a.floats[i], what));
      return {};
    }
    default: {
      a.ints.resize(n);
      double f = 0;
      for (size_t i = 0; i < n; ++i) {
        uint64_t bits = 0;
        HEARTH_RETURN_IF_ERROR(read_scalar(a.elem_type, bits, f, what));
        a.ints[i] = static_cast<int64_t>(bits);
      }
      return {};
    }
  }
}

Status GgufParser::read_tensor_info(GgufTensorInfo& ti, size_t index) {
  const std::string where = "tensor info #" + std::to_string(index);
  HEARTH_RETURN_IF_ERROR(read_string(ti.name, limits_.max_name_bytes, where + " name"));
  if (ti.name.empty()) return corrupt_data(where + " has an empty name");
  const std::string what = "tensor '" + ti.name + "'";
  uint32_t n_dims = 0;
  HEARTH_RETURN_IF_ERROR(read_pod(n_dims, what + " n_dims"));
  if (n_dims == 0 || n_dims > kGgufMaxDims) {
    return corrupt_data(what + " has " + std::to_string(n_dims) + " dimensions (must be 1.." +
                        std::to_string(kGgufMaxDims) + ")");
  }
  ti.ne.resize(n_dims);
  uint64_t numel = 1;
  for (uint32_t d = 0; d < n_dims; ++d) {
    HEARTH_RETURN_IF_ERROR(read_pod(ti.ne[d], what + " dimension"));
    if (ti.ne[d] == 0 || ti.ne[d] > static_cast<uint64_t>(INT64_MAX)) {
      return corrupt_data(what + " has invalid dimension " + std::to_string(d) + " = " +
                          std::to_string(ti.ne[d]));
    }
    const auto prod = checked_mul(numel, ti.ne[d]);
    if (!prod || *prod > static_cast<uint64_t>(INT64_MAX)) {
      return corrupt_data(what + " element count overflows 63 bits");
    }
    numel = *prod;
  }
  HEARTH_RETURN_IF_ERROR(read_pod(ti.ggml_type, what + " type"));
  const auto dtype = dtype_from_ggml_type(ti.ggml_type);
  if (!dtype) {
    return corrupt_data(what + " has unknown ggml type id " + std::to_string(ti.ggml_type));
  }
  ti.dtype = *dtype;
  const DTypeTraits& tr = dtype_traits(ti.dtype);
  if (ti.ne[0] % tr.block_elems != 0) {
    return corrupt_data(what + " row length " + std::to_string(ti.ne[0]) +
                        " is not a multiple of the " + ggml_type_display_name(ti.ggml_type) +
                        " block size " + std::to_string(tr.block_elems));
  }
  const auto row_bytes = dtype_row_bytes(ti.dtype, ti.ne[0]);
  const auto nbytes = row_bytes ? checked_mul(*row_bytes, numel / ti.ne[0]) : std::nullopt;
  if (!nbytes) return corrupt_data(what + " byte size overflows 64 bits");
  ti.nbytes = *nbytes;
  HEARTH_RETURN_IF_ERROR(read_pod(ti.offset, what + " data offset"));

  int64_t dims[kMaxRank];
  for (uint32_t d = 0; d < n_dims; ++d) dims[n_dims - 1 - d] = static_cast<int64_t>(ti.ne[d]);
  ti.shape = Shape::from_dims(dims, static_cast<int>(n_dims));
  return {};
}

Status GgufParser::parse(GgufFile& out) {
  uint32_t magic = 0;
  HEARTH_RETURN_IF_ERROR(read_pod(magic, "magic"));
  if (magic != kGgufMagic) {
    return corrupt_data("not a GGUF file (magic bytes are not 'GGUF')");
  }
  HEARTH_RETURN_IF_ERROR(read_pod(out.version_, "version"));
  if (out.version_ == 1) {
    return unsupported("GGUF version 1 is not supported (re-convert the model; v2 and v3 are)");
  }
  if (out.version_ != 2 && out.version_ != 3) {
    if ((out.version_ & 0xffff) == 0 && out.version_ != 0) {
      return unsupported("this GGUF file is big-endian; only little-endian files are supported");
    }
    return unsupported("unknown GGUF version " + std::to_string(out.version_) +
                       " (supported: 2, 3)");
  }
  uint64_t n_tensors = 0, n_kv = 0;
  HEARTH_RETURN_IF_ERROR(read_pod(n_tensors, "tensor count"));
  HEARTH_RETURN_IF_ERROR(read_pod(n_kv, "metadata count"));
  if (n_tensors > limits_.max_tensor_count) {
    return corrupt_data("tensor count " + std::to_string(n_tensors) + " exceeds the limit of " +
                        std::to_string(limits_.max_tensor_count));
  }
  if (n_kv > limits_.max_kv_count) {
    return corrupt_data("metadata count " + std::to_string(n_kv) + " exceeds the limit of " +
                        std::to_string(limits_.max_kv_count));
  }
  // Minimal on-disk sizes: a key-value is >= 13 bytes, a tensor info >= 32 bytes. Checked
  // before anything is allocated for them (llama.cpp's CVE-2024-21836 / CVE-2024-23605).
  const auto kv_bytes = checked_mul(n_kv, 13);
  const auto tensor_bytes = checked_mul(n_tensors, 32);
  const auto min_meta =
      kv_bytes && tensor_bytes ? checked_add(*kv_bytes, *tensor_bytes) : std::nullopt;
  if (!min_meta || *min_meta > remaining()) {
    return corrupt_data("header claims " + std::to_string(n_kv) + " metadata entries and " +
                        std::to_string(n_tensors) + " tensors, more than the file can hold");
  }

  out.kv_.resize(static_cast<size_t>(n_kv));
  for (size_t i = 0; i < out.kv_.size(); ++i) {
    GgufKeyValue& kv = out.kv_[i];
    HEARTH_RETURN_IF_ERROR(
        read_string(kv.key, limits_.max_name_bytes, "metadata key #" + std::to_string(i)));
    const std::string what = "metadata '" + kv.key + "'";
    GgufType t{};
    HEARTH_RETURN_IF_ERROR(read_type(t, what));
    HEARTH_RETURN_IF_ERROR(read_value(t, kv.value, 0, what));
    if (!out.kv_index_.emplace(kv.key, i).second) {
      return corrupt_data("duplicate metadata key '" + kv.key + "'");
    }
  }

  if (const GgufValue* a = out.find("general.alignment")) {
    const auto v = a->as_uint();
    if (a->type != GgufType::kUint32 || !v || !is_power_of_two(*v)) {
      return corrupt_data("general.alignment must be a uint32 power of two, got " + a->summary());
    }
    out.alignment_ = static_cast<uint32_t>(*v);
  }

  out.tensors_.resize(static_cast<size_t>(n_tensors));
  for (size_t i = 0; i < out.tensors_.size(); ++i) {
    HEARTH_RETURN_IF_ERROR(read_tensor_info(out.tensors_[i], i));
    if (!out.tensor_index_.emplace(out.tensors_[i].name, i).second) {
      return corrupt_data("duplicate tensor name '" + out.tensors_[i].name + "'");
    }
  }

  const auto data_offset = checked_align_up(pos_, out.alignment_);
  if (!data_offset || (n_tensors > 0 && *data_offset > bytes_.size())) {
    return corrupt_data("file is truncated before the tensor data section");
  }
  out.data_offset_ = *data_offset;
  const uint64_t data_size = n_tensors > 0 ? bytes_.size() - out.data_offset_ : 0;
  return check_tensor_ranges(out, data_size);
}

// Every tensor's bytes lie inside the data section (offset + size computed without wrapping,
// llama.cpp's CVE-2025-53630) and no two tensors share bytes.
Status GgufParser::check_tensor_ranges(const GgufFile& out, uint64_t data_size) {
  for (const GgufTensorInfo& ti : out.tensors_) {
    if (ti.offset % out.alignment_ != 0) {
      return corrupt_data("tensor '" + ti.name + "' data offset " + std::to_string(ti.offset) +
                          " is not a multiple of the alignment " + std::to_string(out.alignment_));
    }
    const auto end = checked_add(ti.offset, ti.nbytes);
    if (!end || *end > data_size) {
      return corrupt_data("tensor '" + ti.name + "' data [" + std::to_string(ti.offset) + ", +" +
                          std::to_string(ti.nbytes) + ") lies outside the file's data section (" +
                          std::to_string(data_size) + " bytes); the file may be truncated");
    }
  }
  std::vector<const GgufTensorInfo*> by_offset;
  by_offset.reserve(out.tensors_.size());
  for (const GgufTensorInfo& ti : out.tensors_) by_offset.push_back(&ti);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const auto* a, const auto* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const GgufTensorInfo& prev = *by_offset[i - 1];
    const GgufTensorInfo& cur = *by_offset[i];
    if (cur.offset < prev.offset + prev.nbytes) {  // no overflow: checked above
      return corrupt_data("tensors '" + prev.name + "' [" + std::to_string(prev.offset) + ", +" +
                          std::to_string(prev.nbytes) + ") and '" + cur.name + "' [" +
                          std::to_string(cur.offset) + ", +" + std::to_string(cur.nbytes) +
                          ") overlap in the data section");
    }
  }
  return {};
}

Expected<GgufFile> GgufFile::parse(std::span<const uint8_t> bytes, const GgufLimits& limits) {
  GgufFile f;
  f.bytes_ = bytes;
  GgufParser parser(bytes, limits);
  HEARTH_RETURN_IF_ERROR(parser.parse(f));
  return f;
}

Expected<GgufFile> GgufFile::open(const std::string& path, const GgufLimits& limits) {
  auto mapped = MappedFile::open(path);
  if (!mapped.ok()) return mapped.status();
  auto file = std::make_shared<MappedFile>(std::move(mapped).value());
  auto parsed = parse(file->bytes(), limits);
  if (!parsed.ok()) return parsed.status().with_context("reading GGUF '" + path + "'");
  GgufFile f = std::move(parsed).value();
  f.file_ = std::move(file);
  f.path_ = path;
  return f;
}

const GgufValue* GgufFile::find(std::string_view key) const {
  const auto it = kv_index_.find(key);
  return it == kv_index_.end() ? nullptr : &kv_[it->second].value;
}

namespace {
Status type_mismatch(std::string_view key, std::string_view want, const GgufValue& v) {
  return invalid_argument("metadata '" + std::string(key) + "' should be " + std::string(want) +
                          " but is " + std::string(gguf_type_name(v.type)) + " " + v.summary());
}
Status missing_key(std::string_view key) {
  return not_found("metadata key '" + std::string(key) + "' is missing");
}
}  // namespace

Expected<std::string> GgufFile::get_string(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return missing_key(key);
  if (v->type != GgufType::kString) return type_mismatch(key, "a string", *v);
  return v->s;
}

Expected<uint64_t> GgufFile::get_uint(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return missing_key(key);
  const auto u = v->as_uint();
  if (!u) return type_mismatch(key, "a non-negative integer", *v);
  return *u;
}

Expected<double> GgufFile::get_float(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return missing_key(key);
  const auto f = v->as_float();
  if (!f) return type_mismatch(key, "a number", *v);
  return *f;
}

Expected<bool> GgufFile::get_bool(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return missing_key(key);
  const auto b = v->as_bool();
  if (!b) return type_mismatch(key, "a bool", *v);
  return *b;
}

Expected<const GgufArray*> GgufFile::get_array(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return missing_key(key);
  if (v->type != GgufType::kArray) return type_mismatch(key, "an array", *v);
  return &v->arr;
}

Expected<std::string> GgufFile::architecture() const {
  auto arch = get_string("general.architecture");
  if (!arch.ok()) return arch.status().with_context("GGUF file does not name its architecture");
  return arch;
}

const GgufTensorInfo* GgufFile::find_tensor(std::string_view name) const {
  const auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

TensorView GgufFile::tensor_view(const GgufTensorInfo& info) const {
  auto* p = const_cast<uint8_t*>(bytes_.data() + data_offset_ + info.offset);
  return TensorView(p, info.dtype, info.shape);
}

Expected<WeightStore> GgufFile::to_weight_store() const {
  WeightStore store;
  if (file_) store.add_owner(file_);
  for (const GgufTensorInfo& ti : tensors_)
    HEARTH_RETURN_IF_ERROR(store.add(ti.name, tensor_view(ti)));
  return store;
}

}  // namespace hearth
