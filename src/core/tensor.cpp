#include "core/tensor.h"

#include <cassert>

namespace hearth {

Shape::Shape(std::initializer_list<int64_t> dims) {
  assert(dims.size() <= kMaxRank);
  for (int64_t d : dims) dims_[static_cast<size_t>(rank_++)] = d;
}

Shape Shape::from_dims(const int64_t* dims, int rank) {
  assert(rank >= 0 && rank <= kMaxRank);
  Shape s;
  s.rank_ = rank;
  for (int i = 0; i < rank; ++i) s.dims_[static_cast<size_t>(i)] = dims[i];
  return s;
}

int64_t Shape::numel() const {
  int64_t n = 1;
  for (int i = 0; i < rank_; ++i) n *= dims_[static_cast<size_t>(i)];
  return n;
}

int64_t Shape::rows() const {
  int64_t n = 1;
  for (int i = 0; i + 1 < rank_; ++i) n *= dims_[static_cast<size_t>(i)];
  return n;
}

std::string Shape::to_string() const {
  std::string s = "[";
  for (int i = 0; i < rank_; ++i) {
    if (i) s += ", ";
    s += std::to_string(dims_[static_cast<size_t>(i)]);
  }
  return s + "]";
}

bool Shape::operator==(const Shape& o) const {
  if (rank_ != o.rank_) return false;
  for (int i = 0; i < rank_; ++i)
    if (dims_[static_cast<size_t>(i)] != o.dims_[static_cast<size_t>(i)]) return false;
  return true;
}

TensorView::TensorView(void* data, DType dtype, Shape shape)
    : data_(data), dtype_(dtype), shape_(shape) {
  const auto rb = dtype_row_bytes(dtype, static_cast<uint64_t>(shape_.cols()));
  assert(rb && "row is not a whole number of blocks");
  row_bytes_ = rb ? *rb : 0;
}

}  // namespace hearth
