// Opening a model file: container format, architecture lookup, backend choice.
#pragma once

#include <memory>
#include <string>

#include "formats/gguf/gguf_file.h"
#include "models/model.h"
#include "models/model_source.h"

namespace hearth {

// Loads a GGUF file, or a Hugging Face model directory (config.json + safetensors), on the
// backend LoadOptions::backend names (the fast CPU backend by default). NotFound / IoError /
// CorruptData name the file; Unsupported names an architecture (listing the supported ones) or a
// weight type the backend cannot run; InvalidArgument names a metadata key or tensor whose value or
// shape is wrong.
Expected<std::unique_ptr<Model>> load_model(const std::string& path,
                                            const LoadOptions& options = {});

// The same for a GGUF already opened or parsed; `file`'s bytes must outlive the model (a file
// from GgufFile::open keeps its mapping alive by itself). `label` names it in errors.
Expected<std::unique_ptr<Model>> load_gguf_model(const GgufFile& file, const std::string& label,
                                                 const LoadOptions& options = {});

// The same for weights and metadata assembled by the caller (synthetic models): the container
// `source.gguf` / `source.hf_config` points to must outlive the call.
Expected<std::unique_ptr<Model>> load_model_source(ModelSource source,
                                                   const LoadOptions& options = {});

}  // namespace hearth
