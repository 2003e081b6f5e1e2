// Architecture name -> factory. The only place that knows which architectures exist; adding one
// is a file under src/models/ plus one line in registry.cpp.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "models/model_source.h"

namespace hearth {

struct ArchitectureEntry {
  std::string_view name;  // GGUF general.architecture
  ModelFactory factory;
};

std::span<const ArchitectureEntry> registered_architectures();
// nullptr when `name` is not registered.
const ArchitectureEntry* find_architecture(std::string_view name);
// "llama, mistral, qwen2, smollm", for error messages.
std::string supported_architecture_names();

}  // namespace hearth
