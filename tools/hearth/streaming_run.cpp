#include "streaming_run.h"

#include <csignal>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>

namespace hearth::cli {
namespace {

std::atomic<int> g_interrupts{0};

extern "C" void on_sigint(int) {
  if (g_interrupts.fetch_add(1) >= 1) std::_Exit(130);
}

}  // namespace

void install_interrupt_handler() {
  struct sigaction sa {};
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
}

bool interrupted() {
  return g_interrupts.load() > 0;
}

Expected<GenerationEvent> run_streaming(Engine& engine, GenerationRequest request, std::FILE* out,
                                        std::string* text) {
  g_interrupts.store(0);
  std::mutex mu;
  std::condition_variable cv;
  std::optional<GenerationEvent> final_event;
  auto id = engine.submit(std::move(request), [&](const GenerationEvent& ev) {
    if (ev.kind == GenerationEvent::Kind::kText && !ev.text.empty()) {
      std::fwrite(ev.text.data(), 1, ev.text.size(), out);
      std::fflush(out);
      if (text != nullptr) text->append(ev.text);
    }
    if (ev.kind == GenerationEvent::Kind::kDone || ev.kind == GenerationEvent::Kind::kError) {
      std::lock_guard<std::mutex> lock(mu);
      final_event = ev;
      cv.notify_all();
    }
    return !interrupted();
  });
  if (!id.ok()) return id.status();
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return final_event.has_value(); });
  if (final_event->kind == GenerationEvent::Kind::kError) return final_event->status;
  return *final_event;
}

void print_generation_stats(const GenerationEvent& done, std::FILE* out) {
  const Usage& u = done.usage;
  const Timings& t = done.timings;
  const int64_t processed = u.prompt_tokens - u.cached_tokens;
  const double prompt_tps = t.prefill_s > 0 ? static_cast<double>(processed) / t.prefill_s : 0;
  // The first token comes out of prefill; decode covers the rest.
  const double gen_tps =
      t.decode_s > 0
          ? static_cast<double>(std::max<int64_t>(0, u.completion_tokens - 1)) / t.decode_s
          : 0;
  std::fprintf(out, "==========\n");
  std::fprintf(out, "Prompt: %lld tokens (%lld cached), %.3f tokens-per-sec\n",
               static_cast<long long>(u.prompt_tokens), static_cast<long long>(u.cached_tokens),
               prompt_tps);
  std::fprintf(out, "Generation: %lld tokens, %.3f tokens-per-sec\n",
               static_cast<long long>(u.completion_tokens), gen_tps);
  std::fprintf(out, "Time to first token: %.1f ms\n", t.ttft_s * 1000.0);
  std::fprintf(out, "Peak memory: %.3f GB\n", static_cast<double>(t.peak_rss_bytes) / 1e9);
}

}  // namespace hearth::cli
