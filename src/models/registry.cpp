#include "models/registry.h"

#include <array>

#include "models/llama.h"

namespace hearth {
namespace {

// GGUF llama (and mistral, smollm written as llama or under their own name) has q/k permuted
// for adjacent-pair rope; qwen2 keeps HF's NeoX layout and has q/k/v biases.
constexpr LlamaVariant kLlama{RopeLayout::kAdjacentPairs, false};
constexpr LlamaVariant kQwen2{RopeLayout::kNeox, true};

template <const LlamaVariant& variant>
Expected<std::unique_ptr<Model>> llama_factory(ModelSource source, std::unique_ptr<Backend> backend,
                                               const LoadOptions& options) {
  return load_llama_family(std::move(source), std::move(backend), options, variant);
}

constexpr std::array kArchitectures{
    ArchitectureEntry{"llama", &llama_factory<kLlama>},
    ArchitectureEntry{"mistral", &llama_factory<kLlama>},
    ArchitectureEntry{"qwen2", &llama_factory<kQwen2>},
    ArchitectureEntry{"smollm", &llama_factory<kLlama>},
};

}  // namespace

std::span<const ArchitectureEntry> registered_architectures() {
  return kArchitectures;
}

const ArchitectureEntry* find_architecture(std::string_view name) {
  for (const ArchitectureEntry& e : kArchitectures) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

std::string supported_architecture_names() {
  std::string names;
  for (const ArchitectureEntry& e : kArchitectures) {
    if (!names.empty()) names += ", ";
    names += e.name;
  }
  return names;
}

}  // namespace hearth
