// What an architecture's factory receives: the opened container's metadata and its weights.
#pragma once

#include <memory>
#include <string>

#include "backend/backend.h"
#include "formats/gguf/gguf_file.h"
#include "formats/hf/hf_config.h"
#include "formats/weight_store.h"
#include "models/model.h"

namespace hearth {

enum class WeightFormat : uint8_t {
  kGguf,         // llama.cpp tensor names (blk.N.attn_q.weight); metadata in `gguf`
  kSafetensors,  // Hugging Face tensor names (model.layers.N.self_attn.q_proj.weight);
                 // metadata in `hf_config`
};

struct ModelSource {
  std::string path;
  std::string architecture;
  WeightFormat format = WeightFormat::kGguf;
  const GgufFile* gguf = nullptr;            // set when format == kGguf
  const HfModelConfig* hf_config = nullptr;  // set when format == kSafetensors
  WeightStore weights;                       // moved into the model, which keeps the mappings alive
};

using ModelFactory = Expected<std::unique_ptr<Model>> (*)(ModelSource source,
                                                          std::unique_ptr<Backend> backend,
                                                          const LoadOptions& options);

}  // namespace hearth
