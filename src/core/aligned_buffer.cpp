#include "core/aligned_buffer.h"

#include <cstring>
#include <string>

namespace hearth {

Expected<AlignedBuffer> AlignedBuffer::allocate(size_t bytes) {
  AlignedBuffer buf;
  if (bytes == 0) return buf;
  const size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
  if (rounded < bytes) return resource_exhausted("buffer size overflows: " + std::to_string(bytes));
  void* p = std::aligned_alloc(kAlignment, rounded);
  if (p == nullptr) {
    return resource_exhausted("out of memory allocating " + std::to_string(bytes) + " bytes");
  }
  std::memset(p, 0, rounded);
  buf.ptr_.reset(p);
  buf.size_ = bytes;
  return buf;
}

}  // namespace hearth
