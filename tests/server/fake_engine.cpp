#include "fake_engine.h"

#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <string_view>

namespace hearth::test {
namespace {

constexpr std::array<std::pair<int32_t, std::string_view>, 4> kSpecials = {{
    {FakeEngine::kBos, "<s>"},
    {FakeEngine::kImStart, "<|im_start|>"},
    {FakeEngine::kImEnd, "<|im_end|>"},
    {FakeEngine::kEos, "</s>"},
}};

// Length of the longest suffix of `text` that is a proper prefix of some stop string.
size_t partial_stop_suffix(std::string_view text, const std::vector<std::string>& stops) {
  size_t best = 0;
  for (const auto& stop : stops) {
    for (size_t len = std::min(stop.size() - 1, text.size()); len > best; --len) {
      if (text.substr(text.size() - len) == std::string_view(stop).substr(0, len)) {
        best = len;
        break;
      }
    }
  }
  return best;
}

}  // namespace

FakeEngine::FakeEngine(FakeEngineConfig config) : config_(std::move(config)) {
  info_.id = config_.model_id;
  info_.architecture = "fake";
  info_.context_size = config_.context_size;
  info_.vocab_size = kVocabSize;
  info_.chat_template_source = config_.chat_template_source;
  worker_ = std::thread([this] { worker_loop(); });
}

FakeEngine::~FakeEngine() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
    held_ = false;
  }
  wake_.notify_all();
  worker_.join();
  // Requests never started end as cancelled, as a real engine would on shutdown.
  for (auto& job : queue_) {
    GenerationEvent done;
    done.kind = GenerationEvent::Kind::kDone;
    done.finish = FinishReason::kCancelled;
    job.sink(done);
  }
}

Expected<std::vector<int32_t>> FakeEngine::tokenize(const std::string& text, bool add_special,
                                                    bool parse_special) const {
  std::vector<int32_t> tokens;
  if (add_special) tokens.push_back(kBos);
  size_t i = 0;
  while (i < text.size()) {
    bool matched = false;
    if (parse_special) {
      for (const auto& [id, piece] : kSpecials) {
        if (std::string_view(text).substr(i, piece.size()) == piece) {
          tokens.push_back(id);
          i += piece.size();
          matched = true;
          break;
        }
      }
    }
    if (!matched) tokens.push_back(static_cast<unsigned char>(text[i++]));
  }
  return tokens;
}

Expected<std::string> FakeEngine::detokenize(const std::vector<int32_t>& tokens) const {
  std::string text;
  for (const int32_t t : tokens) {
    if (t >= 0 && t < 256) {
      text += static_cast<char>(t);
      continue;
    }
    bool found = false;
    for (const auto& [id, piece] : kSpecials) {
      if (id == t) {
        text += piece;
        found = true;
      }
    }
    if (!found) return invalid_argument(fmt::format("token id {} is not in the vocabulary", t));
  }
  return text;
}

Expected<std::string> FakeEngine::render_chat(const ChatRenderRequest& req) const {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    last_render_ = req;
  }
  std::string out;
  if (req.tools.is_array() && !req.tools.empty()) {
    out += "<|im_start|>system\nTools:";
    for (const auto& tool : req.tools) out += " " + tool["function"]["name"].get<std::string>();
    out += "<|im_end|>\n";
  }
  for (size_t i = 0; i < req.messages.size(); ++i) {
    const auto& m = req.messages[i];
    const std::string role = m["role"].get<std::string>();
    // Like many real templates (raise_exception in Jinja).
    if (role == "system" && i != 0) {
      return invalid_argument("System message must be at the beginning.");
    }
    out += "<|im_start|>" + role + "\n";
    if (m["content"].is_string()) out += m["content"].get<std::string>();
    if (m.contains("tool_calls")) {
      for (const auto& call : m["tool_calls"]) {
        const nlohmann::ordered_json shown = {{"name", call["function"]["name"]},
                                              {"arguments", call["function"]["arguments"]}};
        out += "<tool_call>" + shown.dump() + "</tool_call>";
      }
    }
    out += "<|im_end|>\n";
  }
  if (req.add_generation_prompt) out += "<|im_start|>assistant\n";
  if (req.template_kwargs.is_object() &&
      req.template_kwargs.value("enable_thinking", true) == false) {
    out += "<think>\n\n</think>\n\n";
  }
  return out;
}

Expected<uint64_t> FakeEngine::submit(GenerationRequest req, EventSink sink) {
  if (req.prompt.empty()) return invalid_argument("the prompt is empty");
  if (static_cast<int64_t>(req.prompt.size()) >= config_.context_size) {
    return out_of_range(
        fmt::format("context_length_exceeded: the prompt has {} tokens; the "
                    "context holds {}",
                    req.prompt.size(), config_.context_size));
  }
  std::lock_guard<std::mutex> lock(mutex_);
  if (static_cast<int>(queue_.size()) >= config_.max_queue) {
    return resource_exhausted(
        fmt::format("the engine's queue is full ({} requests waiting)", queue_.size()));
  }
  const uint64_t id = next_id_++;
  records_[id].request = req;
  last_id_ = id;
  queue_.push_back(Job{id, std::move(req), std::move(sink)});
  wake_.notify_all();
  return id;
}

void FakeEngine::cancel(uint64_t request_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  cancel_requested_[request_id] = true;
  if (auto it = records_.find(request_id); it != records_.end()) it->second.cancel_called = true;
}

int FakeEngine::queued() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<int>(queue_.size());
}

int FakeEngine::running() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return running_job_ ? 1 : 0;
}

void FakeEngine::set_script(std::vector<std::string> script) {
  std::lock_guard<std::mutex> lock(mutex_);
  config_.script = std::move(script);
}

void FakeEngine::set_step_delay(std::chrono::milliseconds delay) {
  std::lock_guard<std::mutex> lock(mutex_);
  config_.step_delay = delay;
}

void FakeEngine::set_prefill(int progress_events, std::chrono::milliseconds delay) {
  std::lock_guard<std::mutex> lock(mutex_);
  config_.prefill_progress_events = progress_events;
  config_.prefill_delay = delay;
}

void FakeEngine::set_fail_with(std::optional<std::string> message) {
  std::lock_guard<std::mutex> lock(mutex_);
  config_.fail_with = std::move(message);
}

void FakeEngine::hold() {
  std::lock_guard<std::mutex> lock(mutex_);
  held_ = true;
}

void FakeEngine::release() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    held_ = false;
  }
  wake_.notify_all();
}

bool FakeEngine::wait_idle(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  return wake_.wait_for(lock, timeout, [this] { return queue_.empty() && !running_job_; });
}

std::optional<FakeRequestRecord> FakeEngine::record(uint64_t id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = records_.find(id);
  if (it == records_.end()) return std::nullopt;
  return it->second;
}

std::optional<FakeRequestRecord> FakeEngine::last_record() const {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = records_.find(last_id_);
  if (it == records_.end()) return std::nullopt;
  return it->second;
}

std::optional<ChatRenderRequest> FakeEngine::last_render() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return last_render_;
}

size_t FakeEngine::submitted_count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return records_.size();
}

bool FakeEngine::cancelled(uint64_t id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = cancel_requested_.find(id);
  return it != cancel_requested_.end() && it->second;
}

void FakeEngine::worker_loop() {
  while (true) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stop_ || (!held_ && !queue_.empty()); });
      if (stop_) return;
      job = std::move(queue_.front());
      queue_.pop_front();
      running_job_ = true;
    }
    run_job(job);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      running_job_ = false;
    }
    wake_.notify_all();
  }
}

void FakeEngine::run_job(Job& job) {
  FakeEngineConfig config;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    config = config_;
  }
  const auto started = std::chrono::steady_clock::now();
  Usage usage;
  usage.prompt_tokens = static_cast<int64_t>(job.request.prompt.size());
  usage.cached_tokens = std::min(config.cached_tokens, usage.prompt_tokens);
  bool refused = false;
  auto deliver = [&](const GenerationEvent& event) {
    if (!job.sink(event)) refused = true;
    return !refused;
  };
  auto stop_requested = [&] {
    return refused || cancelled(job.id) || [&] {
      std::lock_guard<std::mutex> lock(mutex_);
      return stop_;
    }();
  };

  FinishReason finish = FinishReason::kStop;
  std::string stop_matched;
  for (int i = 0; i < config.prefill_progress_events && !stop_requested(); ++i) {
    std::this_thread::sleep_for(config.prefill_delay);
    GenerationEvent progress;
    progress.kind = GenerationEvent::Kind::kProgress;
    deliver(progress);
  }
  const double prefill_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  std::string generated;  // all text produced
  size_t emitted = 0;     // bytes of `generated` already sent
  int text_events = 0;
  bool budget_hit = false;
  bool stopped_by_string = false;
  double ttft_s = 0;
  for (const std::string& piece_in : config.script) {
    if (stop_requested()) break;
    std::this_thread::sleep_for(config.step_delay);
    if (stop_requested()) break;
    std::string piece = piece_in;
    if (job.request.max_tokens >= 0) {
      const int64_t room = job.request.max_tokens - usage.completion_tokens;
      if (static_cast<int64_t>(piece.size()) >= room) {
        piece.resize(static_cast<size_t>(std::max<int64_t>(room, 0)));
        budget_hit = true;
      }
    }
    if (ttft_s == 0)
      ttft_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    generated += piece;
    GenerationEvent event;
    event.kind = GenerationEvent::Kind::kText;
    for (const char c : piece) event.tokens.push_back(static_cast<unsigned char>(c));
    usage.completion_tokens += static_cast<int64_t>(piece.size());
    if (job.request.sampling.logprobs) {
      for (size_t k = 0; k < piece.size(); ++k) {
        TokenLogprob lp;
        lp.token = static_cast<unsigned char>(piece[k]);
        lp.piece = std::string(1, piece[k]);
        lp.logprob = -0.25f * static_cast<float>(k + 1);
        for (int32_t alt = 0; alt < job.request.sampling.top_logprobs; ++alt) {
          lp.top.emplace_back(static_cast<int32_t>('a' + alt), -1.0f - static_cast<float>(alt));
        }
        event.logprobs.push_back(std::move(lp));
      }
    }
    // Stop strings: cut at the first match; hold back a possible partial match.
    size_t stop_at = std::string::npos;
    for (const auto& stop : job.request.stop) {
      const size_t pos = generated.find(stop);
      if (pos != std::string::npos && pos < stop_at) {
        stop_at = pos;
        stop_matched = stop;
      }
    }
    size_t safe_end = generated.size();
    if (stop_at != std::string::npos) {
      safe_end = stop_at;
    } else if (!budget_hit) {
      safe_end -= partial_stop_suffix(generated, job.request.stop);
    }
    if (safe_end > emitted) {
      event.text = generated.substr(emitted, safe_end - emitted);
      emitted = safe_end;
    }
    if (deliver(event)) ++text_events;
    if (stop_at != std::string::npos) {
      stopped_by_string = true;
      break;
    }
    if (budget_hit) {
      finish = FinishReason::kLength;
      break;
    }
  }
  const bool was_cancelled = stop_requested();
  if (!was_cancelled && !stopped_by_string && emitted < generated.size()) {
    // The end of generation releases text held back as a possible stop-string prefix.
    GenerationEvent rest;
    rest.kind = GenerationEvent::Kind::kText;
    rest.text = generated.substr(emitted);
    if (deliver(rest)) ++text_events;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto& rec = records_[job.id];
    rec.text_events = text_events;
    rec.sink_refused = refused;
    rec.finished = true;
    rec.finish = was_cancelled ? FinishReason::kCancelled : finish;
  }
  if (!was_cancelled && config.fail_with) {
    GenerationEvent error;
    error.kind = GenerationEvent::Kind::kError;
    error.status = internal_error(*config.fail_with);
    job.sink(error);
    return;
  }
  GenerationEvent done;
  done.kind = GenerationEvent::Kind::kDone;
  done.finish = was_cancelled ? FinishReason::kCancelled : finish;
  done.stop_matched = stop_matched;
  done.usage = usage;
  done.timings.prefill_s = prefill_s;
  done.timings.ttft_s = ttft_s;
  done.timings.decode_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count() - ttft_s;
  done.timings.peak_rss_bytes = 64u << 20;
  job.sink(done);
}

}  // namespace hearth::test
