#include "runtime/engine/local_engine.h"

#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <utility>

#include "core/process_stats.h"
#include "core/thread_pool.h"
#include "core/utf8.h"
#include "formats/gguf/gguf_file.h"
#include "models/load_model.h"
#include "runtime/sampler/sampler.h"
#include "runtime/sampler/stop_matcher.h"
#include "tokenizer/incremental_detokenizer.h"

namespace hearth {
namespace {

std::string model_id_from_path(const std::string& path) {
  std::filesystem::path p(path);
  if (p.has_filename() && p.extension() == ".gguf") return p.stem().string();
  if (!p.has_filename()) p = p.parent_path();
  return p.filename().string();
}

int64_t common_prefix(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  const size_t n = std::min(a.size(), b.size());
  size_t i = 0;
  while (i < n && a[i] == b[i]) ++i;
  return static_cast<int64_t>(i);
}

}  // namespace

Expected<std::unique_ptr<LocalEngine>> LocalEngine::create(const LocalEngineOptions& options) {
  if (options.device != "cpu" && options.device != "cuda") {
    return invalid_argument("unknown device '" + options.device + "': use cpu or cuda");
  }
  std::unique_ptr<LocalEngine> engine(new LocalEngine(options));  // private constructor
  LoadOptions load;
  if (options.device == "cuda") load.backend = "cuda";  // "cpu": $HEARTH_BACKEND or the CPU kernels
  load.n_threads = options.threads > 0 ? options.threads : ThreadPool::physical_cores();
  load.max_batch_tokens = std::max<int64_t>(1, options.prefill_chunk);

  std::error_code ec;
  const bool is_dir = std::filesystem::is_directory(options.model_path, ec);
  if (is_dir) {
    HEARTH_ASSIGN_OR_RETURN(engine->model_, load_model(options.model_path, load));
    HEARTH_ASSIGN_OR_RETURN(engine->tokenizer_, Tokenizer::from_hf_dir(options.model_path));
  } else {
    HEARTH_ASSIGN_OR_RETURN(GgufFile gguf, GgufFile::open(options.model_path));
    HEARTH_ASSIGN_OR_RETURN(engine->model_, load_gguf_model(gguf, options.model_path, load));
    auto tok = Tokenizer::from_gguf(gguf);
    if (!tok.ok())
      return tok.status().with_context("loading the tokenizer of '" + options.model_path + "'");
    engine->tokenizer_ = std::move(tok).value();
  }
  auto tmpl = ChatTemplate::from_model_path(options.model_path, options.chat_template_override);
  if (tmpl.ok()) {
    engine->chat_template_ = std::move(tmpl).value();
  } else if (options.chat_template_override) {
    return tmpl.status();
  } else {
    spdlog::info("no usable chat template: {}", tmpl.status().to_string());
  }

  const ModelInfo& mi = engine->model_->info();
  const int64_t ctx = options.context_size > 0 ? std::min(options.context_size, mi.context_length)
                                               : mi.context_length;
  if (options.context_size > mi.context_length) {
    spdlog::warn("--ctx-size {} exceeds the model's context length {}; using {}",
                 options.context_size, mi.context_length, ctx);
  }
  HEARTH_ASSIGN_OR_RETURN(engine->cache_, engine->model_->new_kv_cache(ctx));
  engine->logits_.assign(static_cast<size_t>(mi.vocab_size), 0.0f);

  EngineModelInfo& info = engine->info_;
  info.id = model_id_from_path(options.model_path);
  info.architecture = mi.architecture;
  info.context_size = ctx;
  info.vocab_size = mi.vocab_size;
  if (engine->chat_template_) {
    if (const std::string* src = engine->chat_template_->source()) info.chat_template_source = *src;
  }
  engine->worker_ = std::thread([e = engine.get()] { e->worker_loop(); });
  return engine;
}

LocalEngine::~LocalEngine() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    if (running_cancelled_) running_cancelled_->store(true);
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

Expected<std::vector<int32_t>> LocalEngine::tokenize(const std::string& text, bool add_special,
                                                     bool parse_special) const {
  // User text enters here (prompts, chat turns): malformed bytes are refused, not silently
  // replaced by the tokenizer's U+FFFD.
  if (const auto bad = find_invalid_utf8(text)) {
    return invalid_argument("the prompt is not valid UTF-8: byte " + std::to_string(*bad) + " (0x" +
                            fmt::format("{:02x}", static_cast<unsigned char>(text[*bad])) +
                            ") starts no valid character");
  }
  EncodeOptions opts;
  opts.add_special = add_special;
  opts.parse_special = parse_special;
  return tokenizer_->encode(text, opts);
}

Expected<std::string> LocalEngine::detokenize(const std::vector<int32_t>& tokens) const {
  for (int32_t t : tokens) {
    if (t < 0 || t >= tokenizer_->vocab_size()) {
      return invalid_argument("token id " + std::to_string(t) + " is outside the vocabulary [0, " +
                              std::to_string(tokenizer_->vocab_size()) + ")");
    }
  }
  return tokenizer_->decode(tokens, /*skip_special=*/false);
}

Expected<std::string> LocalEngine::render_chat(const ChatRenderRequest& req) const {
  if (!chat_template_) {
    return failed_precondition("model '" + info_.id +
                               "' has no chat template; supply one with --chat-template FILE");
  }
  ChatTemplateInput in;
  in.messages = req.messages;
  in.tools = req.tools;
  in.add_generation_prompt = req.add_generation_prompt;
  in.kwargs =
      req.template_kwargs.is_null() ? nlohmann::ordered_json::object() : req.template_kwargs;
  return chat_template_->render(in);
}

Expected<uint64_t> LocalEngine::submit(GenerationRequest req, EventSink sink) {
  if (req.prompt.empty()) return invalid_argument("the prompt is empty");
  for (int32_t t : req.prompt) {
    if (t < 0 || t >= info_.vocab_size) {
      return invalid_argument("prompt token id " + std::to_string(t) +
                              " is outside the vocabulary");
    }
  }
  if (static_cast<int64_t>(req.prompt.size()) >= info_.context_size) {
    return out_of_range("context_length_exceeded: the prompt has " +
                        std::to_string(req.prompt.size()) + " tokens but the context holds " +
                        std::to_string(info_.context_size) +
                        " (at least one position must stay free to generate)");
  }
  HEARTH_RETURN_IF_ERROR(req.sampling.validate(static_cast<int32_t>(info_.vocab_size)));
  if (req.max_tokens == 0 || req.max_tokens < -1) {
    return invalid_argument("max_tokens must be positive (or -1 for no limit), got " +
                            std::to_string(req.max_tokens));
  }
  for (const std::string& s : req.stop) {
    if (s.empty()) return invalid_argument("stop strings must not be empty");
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (static_cast<int>(queue_.size()) >= options_.max_queue) {
    return resource_exhausted("the request queue is full (" + std::to_string(options_.max_queue) +
                              " waiting); retry later");
  }
  Job job;
  job.id = next_id_++;
  job.request = std::move(req);
  job.sink = std::move(sink);
  job.submitted_at = monotonic_seconds();
  job.cancelled = std::make_shared<std::atomic<bool>>(false);
  const uint64_t id = job.id;
  queue_.push_back(std::move(job));
  cv_.notify_one();
  return id;
}

void LocalEngine::cancel(uint64_t request_id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (running_id_ == request_id && running_cancelled_) running_cancelled_->store(true);
  for (Job& j : queue_)
    if (j.id == request_id) j.cancelled->store(true);
}

int LocalEngine::queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int>(queue_.size());
}

int LocalEngine::running() const {
  std::lock_guard<std::mutex> lock(mu_);
  return running_id_ != 0 ? 1 : 0;
}

void LocalEngine::worker_loop() {
  for (;;) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_ && queue_.empty()) return;
      job = std::move(queue_.front());
      queue_.pop_front();
      running_id_ = job.id;
      running_cancelled_ = job.cancelled;
      if (stopping_) job.cancelled->store(true);
    }
    run_job(job);
    std::lock_guard<std::mutex> lock(mu_);
    running_id_ = 0;
    running_cancelled_.reset();
  }
}

void LocalEngine::run_job(Job& job) {
  GenerationEvent done;
  done.kind = GenerationEvent::Kind::kDone;
  done.timings.queue_s = monotonic_seconds() - job.submitted_at;
  Status st = generate(job, done);
  done.timings.peak_rss_bytes = peak_rss_bytes();
  if (!st.ok()) {
    // A failed step may have left the cache half-written: start the next request afresh.
    (void)cache_->truncate(0);
    cached_tokens_.clear();
    prompt_logits_len_ = 0;
    GenerationEvent err;
    err.kind = GenerationEvent::Kind::kError;
    err.finish = FinishReason::kError;
    err.status = st;
    err.usage = done.usage;
    job.sink(err);
    return;
  }
  job.sink(done);
}

Expected<int64_t> LocalEngine::prefill(Job& job, const std::vector<int32_t>& prompt) {
  const int64_t n = static_cast<int64_t>(prompt.size());
  const int64_t common = common_prefix(cached_tokens_, prompt);
  if (common == n && prompt_logits_len_ == n) {
    // The same prompt again: its K/V and last logits are both at hand.
    HEARTH_RETURN_IF_ERROR(cache_->truncate(n));
    cached_tokens_.resize(static_cast<size_t>(n));
    logits_ = prompt_logits_;
    return n;
  }
  // Reuse the cached prefix, but rerun enough of the prompt's end that every chunk is long
  // enough for the batched kernels (at least the last token, for its logits): the answer must
  // not depend on how much was cached.
  const int64_t min_chunk = std::clamp<int64_t>(model_->batched_kernel_min_tokens(), 1, n);
  const int64_t reuse = std::min(common, n - min_chunk);
  HEARTH_RETURN_IF_ERROR(cache_->truncate(reuse));
  cached_tokens_.resize(static_cast<size_t>(reuse));
  prompt_logits_len_ = 0;
  const int64_t chunk = std::max<int64_t>(1, options_.prefill_chunk);
  for (int64_t pos = reuse, count = 0; pos < n; pos += count) {
    if (job.cancelled->load()) return cancelled("cancelled during prefill");
    const int64_t remaining = n - pos;
    count = std::min(chunk, remaining);
    // Leave no short tail chunk.
    if (remaining > count && remaining - count < min_chunk && remaining - min_chunk > 0) {
      count = remaining - min_chunk;
    }
    std::span<const int32_t> part(prompt.data() + pos, static_cast<size_t>(count));
    HEARTH_RETURN_IF_ERROR(model_->forward(*cache_, part, LogitsFor::kLastToken, logits_));
    cached_tokens_.insert(cached_tokens_.end(), part.begin(), part.end());
    if (pos + count < n) {
      GenerationEvent progress;
      progress.kind = GenerationEvent::Kind::kProgress;
      progress.usage.prompt_tokens = pos + count;
      if (!job.sink(progress)) job.cancelled->store(true);
    }
  }
  prompt_logits_ = logits_;
  prompt_logits_len_ = n;
  return reuse;
}

Status LocalEngine::generate(Job& job, GenerationEvent& done) {
  const GenerationRequest& req = job.request;
  const double start = monotonic_seconds();
  done.usage.prompt_tokens = static_cast<int64_t>(req.prompt.size());

  // Scripted output (tests) replaces sampling with a fixed token sequence.
  std::vector<int32_t> script;
  const bool scripted = !options_.scripted_outputs.empty();
  if (scripted) {
    const std::string& text =
        options_.scripted_outputs[scripted_index_++ % options_.scripted_outputs.size()];
    EncodeOptions eo;
    eo.add_special = false;
    eo.parse_special = true;
    script = tokenizer_->encode(text, eo);
    if (tokenizer_->eos_id() >= 0) script.push_back(tokenizer_->eos_id());
  }

  auto reused = prefill(job, req.prompt);
  if (!reused.ok()) {
    if (reused.status().code() == StatusCode::kCancelled) {
      done.finish = FinishReason::kCancelled;
      return {};
    }
    return reused.status();
  }
  done.usage.cached_tokens = *reused;
  const double prefill_end = monotonic_seconds();
  done.timings.prefill_s = prefill_end - start;

  HEARTH_ASSIGN_OR_RETURN(Sampler sampler,
                          Sampler::create(req.sampling, static_cast<int32_t>(info_.vocab_size)));
  HEARTH_RETURN_IF_ERROR(sampler.accept(req.prompt));

  StopConfig stop_cfg;
  if (!req.ignore_eos) stop_cfg.stop_token_ids = tokenizer_->special_ids().eog;
  stop_cfg.stop_strings = req.stop;
  const int64_t room = info_.context_size - static_cast<int64_t>(req.prompt.size());
  stop_cfg.max_tokens = req.max_tokens > 0 ? std::min(req.max_tokens, room) : room;
  HEARTH_ASSIGN_OR_RETURN(StopMatcher stop, StopMatcher::create(std::move(stop_cfg)));
  IncrementalDetokenizer detok(*tokenizer_, req.skip_special_tokens);

  const bool want_logprobs = req.sampling.logprobs || req.sampling.top_logprobs > 0;
  int64_t generated = 0;
  for (;;) {
    if (job.cancelled->load()) {
      done.finish = FinishReason::kCancelled;
      break;
    }
    int32_t token = 0;
    GenerationEvent ev;
    ev.kind = GenerationEvent::Kind::kText;
    if (scripted) {
      token = static_cast<size_t>(generated) < script.size()
                  ? script[static_cast<size_t>(generated)]
                  : tokenizer_->eos_id();
    } else {
      HEARTH_ASSIGN_OR_RETURN(SampledToken s, sampler.sample(logits_));
      token = s.token;
      if (want_logprobs) {
        TokenLogprob lp;
        lp.token = s.token;
        lp.piece = tokenizer_->token_to_piece(s.token);
        lp.logprob = s.logprob;
        for (const RankedLogprob& r : s.top_logprobs()) lp.top.emplace_back(r.token, r.logprob);
        ev.logprobs.push_back(std::move(lp));
      }
    }
    if (generated == 0) done.timings.ttft_s = monotonic_seconds() - job.submitted_at;
    ++generated;
    HEARTH_RETURN_IF_ERROR(sampler.accept(token));
    const bool is_stop_token =
        std::find(tokenizer_->special_ids().eog.begin(), tokenizer_->special_ids().eog.end(),
                  token) != tokenizer_->special_ids().eog.end() &&
        !req.ignore_eos;
    const std::string piece = is_stop_token ? std::string() : detok.push(token);
    StopStep step = stop.on_token(token, piece);
    if (step.finished && step.reason == FinishReason::kLength) {
      step.text += detok.finish();
    }
    ev.text = std::move(step.text);
    ev.tokens.push_back(token);
    if (!ev.text.empty() || !ev.logprobs.empty() || step.finished) {
      if (!job.sink(ev)) job.cancelled->store(true);
    }
    if (step.finished) {
      done.finish = step.reason;
      done.stop_matched = step.matched_stop_string;
      break;
    }
    // Feed the token back; the cache is full exactly when the stop matcher's limit says so.
    const int32_t one[1] = {token};
    HEARTH_RETURN_IF_ERROR(model_->forward(*cache_, one, LogitsFor::kLastToken, logits_));
    cached_tokens_.push_back(token);
  }
  if (done.finish == FinishReason::kCancelled) {
    StopStep rest = stop.flush();
    (void)rest;  // a cancelled client receives nothing more
  }
  done.usage.completion_tokens = generated;
  done.timings.decode_s = monotonic_seconds() - prefill_end;
  return {};
}

}  // namespace hearth
