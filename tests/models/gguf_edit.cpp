#include "gguf_edit.h"

#include <gtest/gtest.h>

#include "formats/gguf/gguf_file.h"
#include "formats/gguf/gguf_writer.h"
#include "support/test_support.h"

namespace hearth::test {

GgufValue gguf_uint32(uint32_t v) {
  GgufValue g;
  g.type = GgufType::kUint32;
  g.bits = v;
  return g;
}

GgufValue gguf_float32(float v) {
  GgufValue g;
  g.type = GgufType::kFloat32;
  g.f = v;
  return g;
}

GgufValue gguf_string(std::string v) {
  GgufValue g;
  g.type = GgufType::kString;
  g.s = std::move(v);
  return g;
}

std::string write_edited_gguf(const std::string& source, const GgufEdit& edit,
                              const std::string& name) {
  auto file = GgufFile::open(source);
  EXPECT_TRUE(file.ok()) << file.status().to_string();
  if (!file.ok()) return {};
  GgufWriter writer(file->alignment());
  for (const GgufKeyValue& kv : file->metadata()) {
    if (kv.key == "general.alignment" || edit.drop_keys.count(kv.key)) continue;
    writer.set(kv.key, kv.value);
  }
  for (const auto& [key, value] : edit.set_keys) writer.set(key, value);
  for (const GgufTensorInfo& ti : file->tensors()) {
    if (edit.drop_tensors.count(ti.name) || edit.set_tensors.count(ti.name)) continue;
    const TensorView view = file->tensor_view(ti);
    const auto* bytes = static_cast<const uint8_t*>(view.data());
    EXPECT_TRUE(writer.add_tensor(ti.name, ti.dtype, ti.shape, {bytes, ti.nbytes}).ok());
  }
  for (const auto& [tensor_name, t] : edit.set_tensors) {
    const Status st = writer.add_tensor(tensor_name, t.dtype, t.shape, t.data);
    EXPECT_TRUE(st.ok()) << st.to_string();
  }
  const std::string path = temp_path(name);
  const Status st = writer.write(path);
  EXPECT_TRUE(st.ok()) << st.to_string();
  return path;
}

}  // namespace hearth::test
