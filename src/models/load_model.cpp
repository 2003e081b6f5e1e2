#include "models/load_model.h"

#include <cstdlib>
#include <filesystem>
#include <string>
#include <utility>

#include "backend/backend_factory.h"
#include "backend/cpu/cpu_backend.h"
#include "backend/reference/reference_backend.h"
#include "core/thread_pool.h"
#include "formats/hf/hf_model_dir.h"
#include "models/registry.h"

namespace hearth {

namespace {

Expected<const ArchitectureEntry*> lookup(const std::string& architecture,
                                          const std::string& label) {
  const ArchitectureEntry* entry = find_architecture(architecture);
  if (entry == nullptr) {
    return unsupported("unsupported architecture " + architecture + " in '" + label +
                       "' (supported: " + supported_architecture_names() + ")");
  }
  return entry;
}

// The CPU backend unless LoadOptions or $HEARTH_BACKEND asks for the reference ops.
Expected<std::unique_ptr<Backend>> make_backend(const LoadOptions& options) {
  const int n_threads = options.n_threads > 0 ? options.n_threads : ThreadPool::physical_cores();
  std::string name = options.backend;
  if (name.empty()) {
    const char* env = std::getenv("HEARTH_BACKEND");
    name = env != nullptr && *env != '\0' ? env : "cpu";
  }
  if (name == "reference")
    return std::unique_ptr<Backend>(std::make_unique<ReferenceBackend>(n_threads));
  if (name == "cpu") {
    HEARTH_ASSIGN_OR_RETURN(std::unique_ptr<CpuBackend> cpu, CpuBackend::create(n_threads));
    return std::unique_ptr<Backend>(std::move(cpu));
  }
  if (name == "cuda") return make_cuda_backend();
  return invalid_argument("unknown backend '" + name +
                          "' (LoadOptions.backend or HEARTH_BACKEND): use cpu, cuda or reference");
}

Expected<std::unique_ptr<Model>> build(const ArchitectureEntry& entry, ModelSource source,
                                       const LoadOptions& options) {
  const std::string label = source.path;
  HEARTH_ASSIGN_OR_RETURN(std::unique_ptr<Backend> backend, make_backend(options));
  if (Status fits = backend->reserve_weights(source.weights.total_bytes()); !fits.ok()) {
    return fits.with_context("loading model '" + label + "'");
  }
  auto model = entry.factory(std::move(source), std::move(backend), options);
  if (!model.ok()) return model.status().with_context("loading model '" + label + "'");
  return model;
}

Expected<std::unique_ptr<Model>> load_hf_model(const std::string& dir, const LoadOptions& options) {
  HEARTH_ASSIGN_OR_RETURN(HfModelDir hf, open_hf_model_dir(dir));
  HEARTH_ASSIGN_OR_RETURN(const ArchitectureEntry* entry, lookup(hf.config.model_type, dir));
  ModelSource source;
  source.path = dir;
  source.architecture = hf.config.model_type;
  source.format = WeightFormat::kSafetensors;
  source.hf_config = &hf.config;
  source.weights = std::move(hf.weights);
  return build(*entry, std::move(source), options);
}

}  // namespace

Expected<std::unique_ptr<Model>> load_gguf_model(const GgufFile& file, const std::string& label,
                                                 const LoadOptions& options) {
  auto arch = file.architecture();
  if (!arch.ok()) return arch.status().with_context("loading model '" + label + "'");
  HEARTH_ASSIGN_OR_RETURN(const ArchitectureEntry* entry, lookup(*arch, label));
  HEARTH_ASSIGN_OR_RETURN(WeightStore weights, file.to_weight_store());
  ModelSource source;
  source.path = label;
  source.architecture = *arch;
  source.format = WeightFormat::kGguf;
  source.gguf = &file;
  source.weights = std::move(weights);
  return build(*entry, std::move(source), options);
}

Expected<std::unique_ptr<Model>> load_model_source(ModelSource source, const LoadOptions& options) {
  HEARTH_ASSIGN_OR_RETURN(const ArchitectureEntry* entry, lookup(source.architecture, source.path));
  return build(*entry, std::move(source), options);
}

Expected<std::unique_ptr<Model>> load_model(const std::string& path, const LoadOptions& options) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return not_found("model file '" + path + "' does not exist");
  }
  if (std::filesystem::is_directory(path, ec)) return load_hf_model(path, options);
  HEARTH_ASSIGN_OR_RETURN(GgufFile gguf, GgufFile::open(path));
  return load_gguf_model(gguf, path, options);
}

}  // namespace hearth
