// CudaBackend: device setup, weight upload, memory, step inputs and recorded steps. The ops
// themselves are in cuda_ops.cpp.
#include "backend/cuda/cuda_backend.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "backend/reference/dequantize.h"
#include "core/checked_math.h"

namespace hearth::cuda {

cudaError_t matvec_init();                // matvec.cu: lets the kernels use large shared memory
cudaError_t decode_attention_mma_init();  // attention_decode_mma.cu: the same for its rings

namespace {

constexpr size_t kMaxGraphs = 8;

Expected<WeightFormat> weight_format(DType t) {
  switch (t) {
    case DType::kQ4_0:
      return WeightFormat::kQ4_0;
    case DType::kQ4_1:
      return WeightFormat::kQ4_1;
    case DType::kQ8_0:
      return WeightFormat::kQ8_0;
    case DType::kF32:
      return WeightFormat::kF32;
    case DType::kF16:
      return WeightFormat::kF16;
    case DType::kBF16:
      return WeightFormat::kBF16;
    default:
      return unsupported("");
  }
}

size_t element_bytes(WeightFormat f) {
  return f == WeightFormat::kF32 ? 4 : 2;
}

}  // namespace

bool poison_device_allocations() {
  static const bool poison = [] {
    const char* v = std::getenv("HEARTH_CUDA_POISON");
    return v != nullptr && std::string_view(v) == "1";
  }();
  return poison;
}

std::string describe_bytes(size_t bytes) {
  char buf[64];
  const double b = static_cast<double>(bytes);
  if (b >= double(1ull << 30)) {
    std::snprintf(buf, sizeof buf, "%.2f GiB", b / double(1ull << 30));
  } else if (b >= double(1ull << 20)) {
    std::snprintf(buf, sizeof buf, "%.1f MiB", b / double(1ull << 20));
  } else {
    std::snprintf(buf, sizeof buf, "%zu bytes", bytes);
  }
  return buf;
}

std::string gpu_memory_note(size_t needed) {
  size_t free_bytes = 0, total = 0;
  if (cudaMemGetInfo(&free_bytes, &total) != cudaSuccess) {
    (void)cudaGetLastError();
    return describe_bytes(needed) + " needed";
  }
  return describe_bytes(needed) + " needed, " + describe_bytes(free_bytes) + " free of " +
         describe_bytes(total) + " on the GPU";
}

Expected<std::unique_ptr<CudaBackend>> CudaBackend::create(const CudaBackendOptions& options) {
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess || count == 0) {
    (void)cudaGetLastError();
    return failed_precondition(std::string("no usable CUDA GPU: ") +
                               (err != cudaSuccess ? std::string(cudaGetErrorName(err)) + " (" +
                                                         cudaGetErrorString(err) + ")"
                                                   : std::string("the driver reports no device")));
  }
  if (options.device < 0 || options.device >= count) {
    return invalid_argument("CUDA device " + std::to_string(options.device) + " does not exist (" +
                            std::to_string(count) + " found)");
  }
  std::unique_ptr<CudaBackend> backend(new CudaBackend(options));
  HEARTH_RETURN_IF_ERROR(backend->init());
  return backend;
}

Status CudaBackend::init() {
  HEARTH_CUDA_RETURN_IF_ERROR(cudaSetDevice(options_.device));
  cudaDeviceProp props{};
  HEARTH_CUDA_RETURN_IF_ERROR(cudaGetDeviceProperties(&props, options_.device));
  if (props.major < 7 || (props.major == 7 && props.minor < 5)) {
    return unsupported("GPU " + std::string(props.name) + " (compute capability " +
                       std::to_string(props.major) + "." + std::to_string(props.minor) +
                       ") is older than the 7.5 the CUDA backend needs");
  }
  device_name_ = props.name;
  total_memory_ = props.totalGlobalMem;
  ctx_.sm_count = props.multiProcessorCount;
  // Programmatic dependent launch exists from compute capability 9.0 (Hopper).
  ctx_.pdl = options_.pdl && props.major >= 9;
  ctx_.tuning = options_.tuning;
  HEARTH_CUDA_RETURN_IF_ERROR(cudaStreamCreateWithFlags(&ctx_.stream, cudaStreamNonBlocking));
  HEARTH_CUDA_RETURN_IF_ERROR(cudaEventCreateWithFlags(&staged_copied_, cudaEventDisableTiming));
  HEARTH_CUDA_RETURN_IF_ERROR(matvec_init());
  HEARTH_CUDA_RETURN_IF_ERROR(decode_attention_mma_init());
  HEARTH_RETURN_IF_ERROR(gemm_.init(ctx_.stream));
  HEARTH_RETURN_IF_ERROR(pick_state_.allocate(pick_scratch_bytes(0), "token picking state"));
  HEARTH_CUDA_RETURN_IF_ERROR(
      cudaMemsetAsync(pick_state_.get(), 0, pick_state_.bytes(), ctx_.stream));
  HEARTH_RETURN_IF_ERROR(pick_out_.allocate(sizeof(int32_t), "the picked token"));
  HEARTH_RETURN_IF_ERROR(pick_host_.allocate(sizeof(int32_t), "the picked token"));
  return {};
}

CudaBackend::~CudaBackend() {
  if (ctx_.stream != nullptr) (void)cudaStreamSynchronize(ctx_.stream);
  drop_graphs();
  if (staged_copied_ != nullptr) (void)cudaEventDestroy(staged_copied_);
  matrices_.clear();
  vectors_.clear();
  if (ctx_.stream != nullptr) (void)cudaStreamDestroy(ctx_.stream);
}

Status CudaBackend::reserve_weights(uint64_t bytes) {
  size_t free_bytes = 0, total = 0;
  HEARTH_CUDA_RETURN_IF_ERROR(cudaMemGetInfo(&free_bytes, &total));
  // Room for activations and a small KV cache besides the weights.
  const uint64_t margin = 256ull << 20;
  if (bytes + margin > free_bytes) {
    return resource_exhausted("the model's weights need " + describe_bytes(bytes) + " (+" +
                              describe_bytes(margin) + " for activations) of GPU memory but " +
                              device_name_ + " has " + describe_bytes(free_bytes) + " free of " +
                              describe_bytes(total));
  }
  return {};
}

Expected<TensorView> CudaBackend::prepare_matrix(std::string_view name, const TensorView& stored) {
  HEARTH_RETURN_IF_ERROR(flush_pending());
  HEARTH_RETURN_IF_ERROR(fail_if_recording("prepare_matrix"));
  const std::string label = "weight '" + std::string(name) + "'";
  if (stored.shape().rank() != 2 || stored.rows() < 1 || stored.cols() < 1) {
    return invalid_argument(label + " must be a non-empty 2-D tensor, got shape " +
                            stored.shape().to_string());
  }
  auto format = weight_format(stored.dtype());
  if (!format.ok()) {
    return unsupported(label + " has type " + std::string(dtype_name(stored.dtype())) +
                       ", which the CUDA backend cannot multiply by (it supports q4_0, q4_1, "
                       "q8_0, f32, f16 and bf16)");
  }
  const auto row_bytes = dtype_row_bytes(stored.dtype(), static_cast<uint64_t>(stored.cols()));
  if (!row_bytes || (is_quantized(*format) && stored.cols() % 32 != 0)) {
    return invalid_argument(label + " of type " + std::string(dtype_name(stored.dtype())) +
                            " has " + std::to_string(stored.cols()) +
                            " columns, which is not a whole number of its 32-value blocks");
  }
  if (stored.data() == nullptr ||
      stored.nbytes() != *row_bytes * static_cast<uint64_t>(stored.rows())) {
    return invalid_argument(label + " " + stored.shape().to_string() + " holds " +
                            std::to_string(stored.nbytes()) + " bytes, not the " +
                            std::to_string(*row_bytes * static_cast<uint64_t>(stored.rows())) +
                            " its shape needs");
  }
  auto pm = std::make_unique<PreparedMatrix>();
  pm->name = std::string(name);
  DeviceMatrix& m = pm->m;
  m.format = *format;
  m.rows = stored.rows();
  m.cols = stored.cols();
  if (is_quantized(m.format)) {
    const size_t blocks = static_cast<size_t>(m.rows) * static_cast<size_t>(m.cols / 32);
    DeviceBuffer raw;
    HEARTH_RETURN_IF_ERROR(raw.allocate(stored.nbytes(), label + " (upload)"));
    // On this backend's stream, not cudaMemcpy: from pageable memory that returns once the data
    // is staged, before it has landed, and the non-blocking stream would not wait for it.
    HEARTH_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(raw.get(), stored.data(), stored.nbytes(),
                                                cudaMemcpyHostToDevice, ctx_.stream));
    const size_t quant_bytes = m.format == WeightFormat::kQ8_0 ? 32 : 16;
    HEARTH_RETURN_IF_ERROR(pm->quants.allocate(blocks * quant_bytes, label));
    HEARTH_RETURN_IF_ERROR(pm->scales.allocate(blocks * 2, label + " (scales)"));
    if (m.format == WeightFormat::kQ4_1) {
      HEARTH_RETURN_IF_ERROR(pm->mins.allocate(blocks * 2, label + " (mins)"));
    }
    HEARTH_RETURN_IF_ERROR(
        launch_status(repack_quantized(ctx_, raw.get(), m.format, m.rows, m.cols, pm->quants.get(),
                                       pm->scales.as<uint16_t>(), pm->mins.as<uint16_t>()),
                      "repack_quantized"));
    HEARTH_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(ctx_.stream));  // before `raw` is freed
  } else {
    const size_t bytes = static_cast<size_t>(m.rows * m.cols) * element_bytes(m.format);
    HEARTH_RETURN_IF_ERROR(pm->quants.allocate(bytes, label));
    HEARTH_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(pm->quants.get(), stored.data(), bytes,
                                                cudaMemcpyHostToDevice, ctx_.stream));
    HEARTH_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(ctx_.stream));
  }
  m.quants = pm->quants.get();
  m.scales = pm->scales.as<const uint16_t>();
  m.mins = pm->mins.as<const uint16_t>();
  TensorView view(pm->quants.get(), stored.dtype(), stored.shape());
  matrices_[view.data()] = std::move(pm);
  return view;
}

Expected<TensorView> CudaBackend::prepare_vector(std::string_view name, const TensorView& stored) {
  HEARTH_RETURN_IF_ERROR(flush_pending());
  HEARTH_RETURN_IF_ERROR(fail_if_recording("prepare_vector"));
  if (stored.shape().rank() != 1) {
    return invalid_argument("weight '" + std::string(name) + "' must be 1-D, got shape " +
                            stored.shape().to_string());
  }
  if (!reference::can_dequantize(stored.dtype())) {
    return unsupported("weight '" + std::string(name) + "' has type " +
                       std::string(dtype_name(stored.dtype())) + ", which hearth cannot read");
  }
  const int64_t n = stored.numel();
  std::vector<float> host(static_cast<size_t>(n));
  const Status st = reference::dequantize_row(stored.dtype(), stored.data(), host.data(), n);
  if (!st.ok()) return st.with_context("weight '" + std::string(name) + "'");
  DeviceBuffer buf;
  HEARTH_RETURN_IF_ERROR(
      buf.allocate(host.size() * sizeof(float), "weight '" + std::string(name) + "'"));
  HEARTH_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(buf.get(), host.data(), host.size() * sizeof(float),
                                              cudaMemcpyHostToDevice, ctx_.stream));
  HEARTH_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(ctx_.stream));  // before `host` goes
  TensorView view(buf.get(), DType::kF32, Shape{n});
  vectors_.push_back(std::move(buf));
  return view;
}

Expected<BackendBuffer> CudaBackend::allocate(size_t bytes) {
  HEARTH_RETURN_IF_ERROR(flush_pending());
  HEARTH_RETURN_IF_ERROR(fail_if_recording("allocate"));
  if (bytes == 0) return BackendBuffer();
  DeviceBuffer buf;
  HEARTH_RETURN_IF_ERROR(buf.allocate(bytes, "a buffer of " + describe_bytes(bytes)));
  return BackendBuffer(buf.release(), bytes, [](void* ptr) { (void)cudaFree(ptr); });
}

Status CudaBackend::ensure_size(DeviceBuffer& buf, size_t bytes, const char* what) {
  if (buf.bytes() >= bytes) return {};
  HEARTH_RETURN_IF_ERROR(fail_if_recording(what));
  HEARTH_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(ctx_.stream));  // the old one may be in use
  return buf.allocate(bytes, what);
}

// Scratch that recorded steps may have baked in: growing it drops the recordings.
Status CudaBackend::ensure_scratch(DeviceBuffer& buf, size_t bytes, const char* what) {
  if (buf.bytes() >= bytes) return {};
  drop_graphs();
  return ensure_size(buf, bytes, what);
}

namespace {

// int8 values, then per 32 a float2 and a float, each part 16-byte aligned.
size_t align16(size_t n) {
  return (n + 15) / 16 * 16;
}
size_t quantized_row_bytes(int64_t n) {
  const auto groups = static_cast<size_t>(n / 32);
  return align16(static_cast<size_t>(n)) + align16(groups * sizeof(float2)) +
         align16(groups * sizeof(float));
}

}  // namespace

QuantizedRow CudaBackend::quantized_row(int slot) const {
  unsigned char* base = static_cast<unsigned char*>(quantized_rows_.get()) +
                        static_cast<size_t>(slot) * quantized_row_bytes(max_inner_);
  const auto groups = static_cast<size_t>(max_inner_ / 32);
  unsigned char* scales = base + align16(static_cast<size_t>(max_inner_));
  return {reinterpret_cast<int8_t*>(base), reinterpret_cast<float2*>(scales),
          reinterpret_cast<float*>(scales + align16(groups * sizeof(float2)))};
}

Status CudaBackend::reserve_scratch(const ScratchPlan& plan) {
  HEARTH_RETURN_IF_ERROR(flush_pending());
  max_tokens_ = std::max(max_tokens_, plan.max_tokens);
  max_inner_ = std::max(max_inner_, plan.max_matmul_inner);
  max_heads_ = std::max(max_heads_, plan.max_heads);
  // Decode attention: partial results of as many splits as any launch may use (one kv head is
  // the most) for kMatvecMaxTokens tokens of every head; n_heads * head_dim <= max_matmul_inner.
  const int64_t tokens = std::min(max_tokens_, kMatvecMaxTokens);
  const int64_t splits =
      decode_attention_splits(ctx_, 1, std::max<int64_t>(plan.max_attention_keys, 1));
  const size_t partial_floats =
      static_cast<size_t>(tokens * splits * (max_inner_ + 2 * max_heads_));
  HEARTH_RETURN_IF_ERROR(ensure_scratch(attention_scratch_, partial_floats * sizeof(float),
                                        "decode attention scratch"));
  const size_t counters =
      static_cast<size_t>(tokens * std::max<int64_t>(max_heads_, 1)) * sizeof(int);
  if (attention_counters_.bytes() < counters) {
    HEARTH_RETURN_IF_ERROR(ensure_scratch(attention_counters_, counters, "attention counters"));
    HEARTH_CUDA_RETURN_IF_ERROR(
        cudaMemsetAsync(attention_counters_.get(), 0, attention_counters_.bytes(), ctx_.stream));
  }
  HEARTH_RETURN_IF_ERROR(ensure_scratch(quantized_rows_, 2 * quantized_row_bytes(max_inner_),
                                        "quantized activations"));
  if (max_tokens_ > kMatvecMaxTokens) {
    HEARTH_RETURN_IF_ERROR(ensure_size(x_bf16_, static_cast<size_t>(max_tokens_ * max_inner_) * 2,
                                       "prefill bf16 activations"));
  }
  return {};
}

Expected<const CudaBackend::PreparedMatrix*> CudaBackend::find_matrix(const TensorView& w,
                                                                      std::string_view op) const {
  const auto it = matrices_.find(w.data());
  if (it == matrices_.end()) {
    return invalid_argument(std::string(op) + ": the weight " + w.shape().to_string() +
                            " was not prepared by this CUDA backend (prepare_matrix)");
  }
  const DeviceMatrix& m = it->second->m;
  if (m.rows != w.rows() || m.cols != w.cols()) {
    return invalid_argument(std::string(op) + ": weight view " + w.shape().to_string() +
                            " differs from the prepared [" + std::to_string(m.rows) + ", " +
                            std::to_string(m.cols) + "]");
  }
  return it->second.get();
}

Status CudaBackend::fail_if_recording(const char* op) const {
  if (!recording_) return {};
  return failed_precondition(std::string(op) +
                             " cannot run while a step is being recorded (run_step)");
}

// ---- step inputs and recorded steps ------------------------------------------------------------

Status CudaBackend::begin_step(std::span<const int32_t> tokens,
                               std::span<const int32_t> positions) {
  HEARTH_RETURN_IF_ERROR(flush_pending());
  HEARTH_RETURN_IF_ERROR(fail_if_recording("begin_step"));
  const auto n = static_cast<int64_t>(std::max(tokens.size(), positions.size()));
  if (n > staged_capacity_) {
    const int64_t cap = std::max<int64_t>(n, std::max<int64_t>(max_tokens_, 64));
    HEARTH_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(ctx_.stream));
    HEARTH_RETURN_IF_ERROR(
        staged_.allocate(static_cast<size_t>(2 * cap) * sizeof(int32_t), "step inputs"));
    drop_graphs();  // they read the old device copy
    HEARTH_RETURN_IF_ERROR(
        step_ids_.allocate(static_cast<size_t>(2 * cap) * sizeof(int32_t), "step inputs"));
    staged_capacity_ = cap;
  }
  // The previous step's copy must have left the pinned buffer before it is overwritten.
  HEARTH_CUDA_RETURN_IF_ERROR(cudaEventSynchronize(staged_copied_));
  int32_t* host = staged_.as<int32_t>();
  std::memcpy(host, tokens.data(), tokens.size_bytes());
  std::memcpy(host + staged_capacity_, positions.data(), positions.size_bytes());
  step_tokens_ = static_cast<int64_t>(tokens.size());
  step_positions_ = static_cast<int64_t>(positions.size());
  int32_t* device = step_ids_.as<int32_t>();
  HEARTH_CUDA_RETURN_IF_ERROR(
      cudaMemcpyAsync(device, host, tokens.size_bytes(), cudaMemcpyHostToDevice, ctx_.stream));
  HEARTH_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(device + staged_capacity_, host + staged_capacity_,
                                              positions.size_bytes(), cudaMemcpyHostToDevice,
                                              ctx_.stream));
  HEARTH_CUDA_RETURN_IF_ERROR(cudaEventRecord(staged_copied_, ctx_.stream));
  return {};
}

Expected<const int32_t*> CudaBackend::device_ids(std::span<const int32_t> ids, IdKind kind) {
  const bool tokens = kind == IdKind::kTokens;
  const int64_t declared = tokens ? step_tokens_ : step_positions_;
  if (declared == static_cast<int64_t>(ids.size()) && staged_capacity_ > 0) {
    const int32_t* host = staged_.as<int32_t>() + (tokens ? 0 : staged_capacity_);
    if (std::memcmp(host, ids.data(), ids.size_bytes()) == 0) {
      return step_ids_.as<const int32_t>() + (tokens ? 0 : staged_capacity_);
    }
  }
  if (recording_) {
    return failed_precondition(std::string(tokens ? "token ids" : "positions") +
                               " differ from those given to begin_step while a step is recorded");
  }
  DeviceBuffer& buf = tokens ? adhoc_tokens_ : adhoc_positions_;
  HEARTH_RETURN_IF_ERROR(ensure_size(buf, std::max<size_t>(ids.size_bytes(), 4), "op ids"));
  // From pageable memory: returns once the ids are staged, so the span may change afterwards.
  HEARTH_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(buf.get(), ids.data(), ids.size_bytes(),
                                              cudaMemcpyHostToDevice, ctx_.stream));
  return buf.as<const int32_t>();
}

void CudaBackend::drop_graphs() {
  for (auto& [key, exec] : graphs_) (void)cudaGraphExecDestroy(exec);
  graphs_.clear();
}

Status CudaBackend::run_step(const StepKey& key, FunctionRef<Status()> ops) {
  HEARTH_RETURN_IF_ERROR(flush_pending());
  if (key.id == 0 || !options_.graphs || recording_) {
    HEARTH_RETURN_IF_ERROR(ops());
    return flush_pending();
  }
  for (auto it = graphs_.begin(); it != graphs_.end(); ++it) {
    if (it->first != key.id) continue;
    graphs_.splice(graphs_.end(), graphs_, it);  // most recently used last
    ++graph_replays_;
    return cuda_status(cudaGraphLaunch(graphs_.back().second, ctx_.stream), "cudaGraphLaunch");
  }
  HEARTH_CUDA_RETURN_IF_ERROR(
      cudaStreamBeginCapture(ctx_.stream, cudaStreamCaptureModeThreadLocal));
  recording_ = true;
  Status st = ops();
  if (st.ok()) {
    st = flush_pending();  // inside the recording
  } else {
    drop_pending();
  }
  recording_ = false;
  cudaGraph_t graph = nullptr;
  const cudaError_t end = cudaStreamEndCapture(ctx_.stream, &graph);
  if (!st.ok() || end != cudaSuccess) {
    if (graph != nullptr) (void)cudaGraphDestroy(graph);
    (void)cudaGetLastError();
    HEARTH_RETURN_IF_ERROR(st);
    return cuda_status(end, "cudaStreamEndCapture");
  }
  cudaGraphExec_t exec = nullptr;
  const cudaError_t inst = cudaGraphInstantiate(&exec, graph, 0);
  (void)cudaGraphDestroy(graph);
  HEARTH_RETURN_IF_ERROR(cuda_status(inst, "cudaGraphInstantiate"));
  if (graphs_.size() >= kMaxGraphs) {
    (void)cudaGraphExecDestroy(graphs_.front().second);
    graphs_.pop_front();
  }
  graphs_.emplace_back(key.id, exec);
  ++graphs_recorded_;
  return cuda_status(cudaGraphLaunch(exec, ctx_.stream), "cudaGraphLaunch");
}

// ---- host transfers ----------------------------------------------------------------------------

Status CudaBackend::upload(std::span<const float> src, const TensorView& dst) {
  HEARTH_RETURN_IF_ERROR(flush_pending());
  HEARTH_RETURN_IF_ERROR(fail_if_recording("upload"));
  if (dst.dtype() != DType::kF32 || static_cast<int64_t>(src.size()) != dst.numel()) {
    return invalid_argument("upload: " + std::to_string(src.size()) +
                            " host floats for a tensor of shape " + dst.shape().to_string());
  }
  HEARTH_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(dst.data(), src.data(), src.size_bytes(),
                                              cudaMemcpyHostToDevice, ctx_.stream));
  return cuda_status(cudaStreamSynchronize(ctx_.stream), "upload");
}

Status CudaBackend::read(const TensorView& src, std::span<float> dst) {
  HEARTH_RETURN_IF_ERROR(flush_pending());
  HEARTH_RETURN_IF_ERROR(fail_if_recording("read"));
  if (src.dtype() != DType::kF32 || static_cast<int64_t>(dst.size()) != src.numel()) {
    return invalid_argument("read: " + std::to_string(dst.size()) +
                            " host floats for a tensor of shape " + src.shape().to_string());
  }
  if (dst.empty()) return {};
  if (read_staging_.bytes() < dst.size_bytes()) {
    HEARTH_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(ctx_.stream));
    HEARTH_RETURN_IF_ERROR(read_staging_.allocate(dst.size_bytes(), "read staging"));
  }
  HEARTH_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(read_staging_.get(), src.data(), dst.size_bytes(),
                                              cudaMemcpyDeviceToHost, ctx_.stream));
  HEARTH_RETURN_IF_ERROR(
      cuda_status(cudaStreamSynchronize(ctx_.stream), "read (the step's kernels)"));
  std::memcpy(dst.data(), read_staging_.get(), dst.size_bytes());
  return {};
}

Status CudaBackend::synchronize() {
  HEARTH_RETURN_IF_ERROR(flush_pending());
  HEARTH_RETURN_IF_ERROR(fail_if_recording("synchronize"));
  return cuda_status(cudaStreamSynchronize(ctx_.stream), "cudaStreamSynchronize");
}

}  // namespace hearth::cuda
