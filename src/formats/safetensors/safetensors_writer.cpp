#include "formats/safetensors/safetensors_writer.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>

#include "core/checked_math.h"
#include "formats/safetensors/safetensors_file.h"

namespace hearth {

void SafetensorsWriter::set_metadata(std::string key, std::string value) {
  metadata_[std::move(key)] = std::move(value);
}

Status SafetensorsWriter::add_tensor(std::string name, DType dtype, std::vector<int64_t> dims,
                                     std::span<const uint8_t> data) {
  if (!safetensors_name_of(dtype)) {
    return unsupported("tensor '" + name + "': safetensors has no dtype for " +
                       std::string(dtype_name(dtype)));
  }
  if (name.empty() || name == "__metadata__") {
    return invalid_argument("'" + name + "' cannot be a safetensors tensor name");
  }
  std::optional<uint64_t> numel = 1;
  for (int64_t d : dims) {
    if (d < 0) return invalid_argument("tensor '" + name + "' has a negative dimension");
    numel = numel ? checked_mul(*numel, static_cast<uint64_t>(d)) : std::nullopt;
  }
  const auto bytes = numel ? checked_mul(*numel, dtype_traits(dtype).block_bytes) : std::nullopt;
  if (!bytes || *bytes != data.size()) {
    return invalid_argument("tensor '" + name + "' data is " + std::to_string(data.size()) +
                            " bytes, which does not match its shape and dtype");
  }
  for (const auto& t : tensors_)
    if (t.name == name) return invalid_argument("duplicate tensor '" + name + "'");
  tensors_.push_back({std::move(name), dtype, std::move(dims), {data.begin(), data.end()}});
  return {};
}

std::vector<uint8_t> SafetensorsWriter::serialize() const {
  std::vector<const PendingTensor*> order;
  for (const auto& t : tensors_) order.push_back(&t);
  std::stable_sort(order.begin(), order.end(), [](const auto* a, const auto* b) {
    return dtype_traits(a->dtype).block_bytes > dtype_traits(b->dtype).block_bytes;
  });
  nlohmann::json header = nlohmann::json::object();
  if (!metadata_.empty()) header["__metadata__"] = metadata_;
  uint64_t offset = 0;
  for (const PendingTensor* t : order) {
    header[t->name] = {{"dtype", std::string(*safetensors_name_of(t->dtype))},
                       {"shape", t->dims},
                       {"data_offsets", {offset, offset + t->data.size()}}};
    offset += t->data.size();
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  const uint64_t n = text.size();
  std::vector<uint8_t> out(static_cast<size_t>(8 + n + offset));
  std::memcpy(out.data(), &n, 8);
  std::memcpy(out.data() + 8, text.data(), text.size());
  size_t at = static_cast<size_t>(8 + n);
  for (const PendingTensor* t : order) {
    if (!t->data.empty()) std::memcpy(out.data() + at, t->data.data(), t->data.size());
    at += t->data.size();
  }
  return out;
}

Status SafetensorsWriter::write(const std::string& path) const {
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
