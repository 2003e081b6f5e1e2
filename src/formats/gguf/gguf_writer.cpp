#include "formats/gguf/gguf_writer.h"

#include <cstdio>
#include <cstring>
#include <memory>

namespace hearth {
namespace {

template <typename T>
void put(std::vector<uint8_t>& out, T v) {
  const size_t at = out.size();
  out.resize(at + sizeof(T));
  std::memcpy(out.data() + at, &v, sizeof(T));
}

void put_string(std::vector<uint8_t>& out, const std::string& s) {
  put<uint64_t>(out, s.size());
  out.insert(out.end(), s.begin(), s.end());
}

void put_scalar(std::vector<uint8_t>& out, GgufType t, uint64_t bits, double f) {
  switch (t) {
    case GgufType::kUint8:
    case GgufType::kInt8:
    case GgufType::kBool:
      put<uint8_t>(out, static_cast<uint8_t>(bits));
      break;
    case GgufType::kUint16:
    case GgufType::kInt16:
      put<uint16_t>(out, static_cast<uint16_t>(bits));
      break;
    case GgufType::kUint32:
    case GgufType::kInt32:
      put<uint32_t>(out, static_cast<uint32_t>(bits));
      break;
    case GgufType::kUint64:
    case GgufType::kInt64:
      put<uint64_t>(out, bits);
      break;
    case GgufType::kFloat32:
      put<float>(out, static_cast<float>(f));
      break;
    case GgufType::kFloat64:
      put<double>(out, f);
      break;
    case GgufType::kString:
    case GgufType::kArray:
      break;
  }
}

void put_array(std::vector<uint8_t>& out, const GgufArray& a) {
  put<uint32_t>(out, static_cast<uint32_t>(a.elem_type));
  put<uint64_t>(out, a.size());
  switch (a.elem_type) {
    case GgufType::kString:
      for (const auto& s : a.strings) put_string(out, s);
      break;
    case GgufType::kArray:
      for (const auto& sub : a.arrays) put_array(out, sub);
      break;
    case GgufType::kFloat32:
    case GgufType::kFloat64:
      for (double f : a.floats) put_scalar(out, a.elem_type, 0, f);
      break;
    default:
      for (int64_t i : a.ints) put_scalar(out, a.elem_type, static_cast<uint64_t>(i), 0);
      break;
  }
}

void pad_to(std::vector<uint8_t>& out, uint64_t alignment) {
  while (out.size() % alignment != 0) out.push_back(0);
}

}  // namespace

void GgufWriter::set(std::string key, GgufValue value) {
  for (auto& kv : kv_) {
    if (kv.key == key) {
      kv.value = std::move(value);
      return;
    }
  }
  kv_.push_back({std::move(key), std::move(value)});
}

void GgufWriter::set_string(std::string key, std::string value) {
  GgufValue v;
  v.type = GgufType::kString;
  v.s = std::move(value);
  set(std::move(key), std::move(v));
}

void GgufWriter::set_uint32(std::string key, uint32_t value) {
  GgufValue v;
  v.type = GgufType::kUint32;
  v.bits = value;
  set(std::move(key), std::move(v));
}

void GgufWriter::set_int32(std::string key, int32_t value) {
  GgufValue v;
  v.type = GgufType::kInt32;
  v.bits = static_cast<uint64_t>(static_cast<int64_t>(value));
  set(std::move(key), std::move(v));
}

void GgufWriter::set_uint64(std::string key, uint64_t value) {
  GgufValue v;
  v.type = GgufType::kUint64;
  v.bits = value;
  set(std::move(key), std::move(v));
}

void GgufWriter::set_float32(std::string key, float value) {
  GgufValue v;
  v.type = GgufType::kFloat32;
  v.f = value;
  set(std::move(key), std::move(v));
}

void GgufWriter::set_bool(std::string key, bool value) {
  GgufValue v;
  v.type = GgufType::kBool;
  v.bits = value ? 1 : 0;
  set(std::move(key), std::move(v));
}

void GgufWriter::set_string_array(std::string key, std::vector<std::string> values) {
  GgufValue v;
  v.type = GgufType::kArray;
  v.arr.elem_type = GgufType::kString;
  v.arr.strings = std::move(values);
  set(std::move(key), std::move(v));
}

void GgufWriter::set_float32_array(std::string key, std::vector<float> values) {
  GgufValue v;
  v.type = GgufType::kArray;
  v.arr.elem_type = GgufType::kFloat32;
  v.arr.floats.assign(values.begin(), values.end());
  set(std::move(key), std::move(v));
}

void GgufWriter::set_int32_array(std::string key, std::vector<int32_t> values) {
  GgufValue v;
  v.type = GgufType::kArray;
  v.arr.elem_type = GgufType::kInt32;
  v.arr.ints.assign(values.begin(), values.end());
  set(std::move(key), std::move(v));
}

Status GgufWriter::add_tensor(std::string name, DType dtype, const Shape& shape,
                              std::span<const uint8_t> data) {
  const auto ggml = ggml_type_from_dtype(dtype);
  if (!ggml) return unsupported("dtype " + std::string(dtype_name(dtype)) + " has no GGUF type");
  if (shape.rank() < 1 || shape.rank() > static_cast<int>(kGgufMaxDims)) {
    return invalid_argument("tensor '" + name + "' must have 1 to 4 dimensions");
  }
  const auto row = dtype_row_bytes(dtype, static_cast<uint64_t>(shape.cols()));
  if (!row) return invalid_argument("tensor '" + name + "' rows are not whole blocks");
  if (*row * static_cast<uint64_t>(shape.rows()) != data.size()) {
    return invalid_argument("tensor '" + name + "' data is " + std::to_string(data.size()) +
                            " bytes, expected " +
                            std::to_string(*row * static_cast<uint64_t>(shape.rows())));
  }
  for (const auto& t : tensors_)
    if (t.name == name) return invalid_argument("duplicate tensor '" + name + "'");
  PendingTensor t;
  t.name = std::move(name);
  t.ggml_type = *ggml;
  for (int d = shape.rank() - 1; d >= 0; --d) t.ne.push_back(static_cast<uint64_t>(shape[d]));
  t.data.assign(data.begin(), data.end());
  tensors_.push_back(std::move(t));
  return {};
}

std::vector<uint8_t> GgufWriter::serialize() const {
  std::vector<uint8_t> out;
  put<uint32_t>(out, kGgufMagic);
  put<uint32_t>(out, 3);
  put<uint64_t>(out, tensors_.size());
  const bool needs_alignment_key = alignment_ != kGgufDefaultAlignment;
  put<uint64_t>(out, kv_.size() + (needs_alignment_key ? 1 : 0));
  if (needs_alignment_key) {
    put_string(out, "general.alignment");
    put<uint32_t>(out, static_cast<uint32_t>(GgufType::kUint32));
    put<uint32_t>(out, alignment_);
  }
  for (const auto& kv : kv_) {
    put_string(out, kv.key);
    put<uint32_t>(out, static_cast<uint32_t>(kv.value.type));
    if (kv.value.type == GgufType::kString) {
      put_string(out, kv.value.s);
    } else if (kv.value.type == GgufType::kArray) {
      put_array(out, kv.value.arr);
    } else {
      put_scalar(out, kv.value.type, kv.value.bits, kv.value.f);
    }
  }
  uint64_t offset = 0;
  for (const auto& t : tensors_) {
    put_string(out, t.name);
    put<uint32_t>(out, static_cast<uint32_t>(t.ne.size()));
    for (uint64_t d : t.ne) put<uint64_t>(out, d);
    put<uint32_t>(out, t.ggml_type);
    put<uint64_t>(out, offset);
    offset += (t.data.size() + alignment_ - 1) / alignment_ * alignment_;
  }
  pad_to(out, alignment_);
  for (const auto& t : tensors_) {
    out.insert(out.end(), t.data.begin(), t.data.end());
    pad_to(out, alignment_);
  }
  return out;
}

Status GgufWriter::write(const std::string& path) const {
  const std::vector<uint8_t> bytes = serialize();
  struct Closer {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  std::unique_ptr<std::FILE, Closer> f(std::fopen(path.c_str(), "wb"));
  if (!f) return io_error("cannot create '" + path + "': " + std::strerror(errno));
  if (std::fwrite(bytes.data(), 1, bytes.size(), f.get()) != bytes.size()) {
    return io_error("cannot write '" + path + "': " + std::strerror(errno));
  }
  if (std::fclose(f.release()) != 0) return io_error("cannot close '" + path + "'");
  return {};
}

}  // namespace hearth
