// Owning, 64-byte aligned, zero-initialised memory for activations, scratch and converted weights.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <memory>

#include "hearth/status.h"

namespace hearth {

class AlignedBuffer {
 public:
  static constexpr size_t kAlignment = 64;

  AlignedBuffer() = default;
  // Empty buffer on zero size; error (not abort) when memory is exhausted.
  static Expected<AlignedBuffer> allocate(size_t bytes);

  void* data() const { return ptr_.get(); }
  template <typename T>
  T* as() const {
    return static_cast<T*>(ptr_.get());
  }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

 private:
  struct Free {
    void operator()(void* p) const { std::free(p); }
  };
  std::unique_ptr<void, Free> ptr_;
  size_t size_ = 0;
};

}  // namespace hearth
