// The architecture registry: the llama family is registered under each name llama.cpp writes,
// and nothing else is.
#include "models/registry.h"

#include <gtest/gtest.h>

namespace hearth {
namespace {

TEST(RegistryTest, LlamaFamilyNamesAreRegistered) {
  for (const char* name : {"llama", "mistral", "qwen2", "smollm"}) {
    const ArchitectureEntry* e = find_architecture(name);
    ASSERT_NE(e, nullptr) << name;
    EXPECT_EQ(e->name, name);
    EXPECT_NE(e->factory, nullptr);
  }
  EXPECT_EQ(registered_architectures().size(), 4u);
}

TEST(RegistryTest, OtherNamesAreNotFound) {
  for (const char* name : {"gemma3", "qwen3", "Llama", "", "llama "}) {
    EXPECT_EQ(find_architecture(name), nullptr) << "'" << name << "'";
  }
}

TEST(RegistryTest, SupportedNamesAreListedForErrorMessages) {
  EXPECT_EQ(supported_architecture_names(), "llama, mistral, qwen2, smollm");
}

}  // namespace
}  // namespace hearth
