// Non-owning tensor views. Shapes are outermost-first (numpy order): a weight of shape
// [rows, cols] stores each row contiguously; quantized rows are whole blocks.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>

#include "core/dtype.h"

namespace hearth {

inline constexpr int kMaxRank = 4;

class Shape {
 public:
  Shape() = default;
  Shape(std::initializer_list<int64_t> dims);
  static Shape from_dims(const int64_t* dims, int rank);

  int rank() const { return rank_; }
  int64_t operator[](int i) const { return dims_[static_cast<size_t>(i)]; }
  int64_t& operator[](int i) { return dims_[static_cast<size_t>(i)]; }
  int64_t numel() const;
  // Innermost dimension (elements per row); 1 for a scalar.
  int64_t cols() const { return rank_ == 0 ? 1 : dims_[static_cast<size_t>(rank_ - 1)]; }
  // Product of all but the innermost dimension.
  int64_t rows() const;
  std::string to_string() const;  // "[49152, 576]"
  bool operator==(const Shape& o) const;

 private:
  int rank_ = 0;
  std::array<int64_t, kMaxRank> dims_{};
};

// A view of contiguous tensor data owned elsewhere (an mmap'd file, an AlignedBuffer).
class TensorView {
 public:
  TensorView() = default;
  TensorView(void* data, DType dtype, Shape shape);

  void* data() const { return data_; }
  template <typename T>
  T* data_as() const {
    return static_cast<T*>(data_);
  }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t numel() const { return shape_.numel(); }
  int64_t rows() const { return shape_.rows(); }
  int64_t cols() const { return shape_.cols(); }
  // Bytes per row (whole blocks for quantized types).
  uint64_t row_bytes() const { return row_bytes_; }
  uint64_t nbytes() const { return row_bytes_ * static_cast<uint64_t>(rows()); }
  const std::byte* row_ptr(int64_t r) const {
    return static_cast<const std::byte*>(data_) + static_cast<uint64_t>(r) * row_bytes_;
  }
  std::byte* mutable_row_ptr(int64_t r) const {
    return static_cast<std::byte*>(data_) + static_cast<uint64_t>(r) * row_bytes_;
  }
  bool empty() const { return data_ == nullptr; }

 private:
  void* data_ = nullptr;
  DType dtype_ = DType::kF32;
  Shape shape_;
  uint64_t row_bytes_ = 0;
};

}  // namespace hearth
