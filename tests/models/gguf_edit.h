// Writes a copy of a GGUF file with some metadata keys or tensors removed, replaced or added:
// the malformed-model tests start from a valid tiny model and break one thing at a time.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "formats/gguf/gguf_types.h"

namespace hearth::test {

struct GgufEdit {
  std::set<std::string> drop_keys;
  std::map<std::string, GgufValue> set_keys;
  std::set<std::string> drop_tensors;
  struct Tensor {
    DType dtype;
    Shape shape;
    std::vector<uint8_t> data;
  };
  std::map<std::string, Tensor> set_tensors;  // replaces or adds
};

GgufValue gguf_uint32(uint32_t v);
GgufValue gguf_float32(float v);
GgufValue gguf_string(std::string v);

// Writes the edited copy of `source` to a fresh temp file named `name` and returns its path
// (fails the test on error).
std::string write_edited_gguf(const std::string& source, const GgufEdit& edit,
                              const std::string& name);

}  // namespace hearth::test
