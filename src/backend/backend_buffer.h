// Memory owned by a backend: host memory for CPU backends, device memory for accelerators (then
// data() is a device pointer that only that backend's ops dereference).
#pragma once

#include <cstddef>
#include <memory>
#include <utility>

#include "core/checked_math.h"
#include "core/tensor.h"

namespace hearth {

class BackendBuffer {
 public:
  using Deleter = void (*)(void*);

  BackendBuffer() = default;
  BackendBuffer(void* data, size_t size, Deleter deleter) : ptr_(data, deleter), size_(size) {}

  void* data() const { return ptr_.get(); }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // A view of the buffer's first bytes as `dtype` with `shape`; empty when it would not fit
  // (callers size buffers for the largest shape they will view).
  TensorView view(DType dtype, const Shape& shape, size_t byte_offset = 0) const {
    const auto row_bytes = dtype_row_bytes(dtype, static_cast<uint64_t>(shape.cols()));
    if (!row_bytes || shape.numel() < 0) return {};
    const auto need = checked_mul(*row_bytes, static_cast<uint64_t>(shape.rows()));
    if (!need || byte_offset > size_ || *need > size_ - byte_offset) return {};
    return TensorView(static_cast<std::byte*>(data()) + byte_offset, dtype, shape);
  }

 private:
  static void no_delete(void*) {}
  std::unique_ptr<void, Deleter> ptr_{nullptr, &no_delete};
  size_t size_ = 0;
};

}  // namespace hearth
