#include "server/http/generation_runner.h"

#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <utility>

#include "server/http/connection.h"
#include "server/http/generation_stream.h"
#include "server/http/perf_log.h"

namespace hearth::server {
namespace {

using Clock = std::chrono::steady_clock;

std::string sse_data(const nlohmann::ordered_json& chunk) {
  return "data: " + dump_json(chunk) + "\n\n";
}
constexpr std::string_view kSseDone = "data: [DONE]\n\n";
constexpr std::string_view kSseKeepAlive = ": keep-alive\n\n";

ApiError generation_failed(const Status& status) {
  ApiError error = api_error_from_status(status);
  if (error.http_status < 500) return error;
  error.message = "generation failed: " + status.message();
  return error;
}

// State shared by the streaming content provider and its releaser.
struct StreamState {
  ServerContext* ctx = nullptr;
  std::shared_ptr<GenerationStream> events;
  std::unique_ptr<ChoiceBuilder> builder;
  uint64_t request_id = 0;
  int socket = -1;
  bool finished = false;  // kDone/kError seen, or cancelled

  void cancel() {
    if (finished) return;
    finished = true;
    events->abandon();
    ctx->engine.cancel(request_id);
  }
};

// Writes one SSE payload; false when the client is gone.
bool write_sse(httplib::DataSink& sink, std::string_view text) {
  return sink.write(text.data(), text.size());
}

bool write_chunks(httplib::DataSink& sink, const std::vector<nlohmann::ordered_json>& chunks) {
  for (const auto& chunk : chunks) {
    if (!write_sse(sink, sse_data(chunk))) return false;
  }
  return true;
}

// The whole stream, in one provider call. Returns false (closing the connection) when the
// client disconnected or the server is stopping.
bool stream_events(StreamState& state, httplib::DataSink& sink) {
  ServerContext& ctx = *state.ctx;
  const auto keepalive = ctx.options.keepalive_interval;
  const auto poll = ctx.options.disconnect_poll_interval;
  auto gone = [&] {
    ctx.metrics.record_client_cancel();
    spdlog::info("client disconnected; cancelled generation {}", state.request_id);
    state.cancel();
    return false;
  };
  if (!write_chunks(sink, state.builder->start())) return gone();
  auto last_write = Clock::now();
  while (true) {
    if (ctx.stopping.load()) {
      state.cancel();
      return false;
    }
    if (peer_closed(state.socket)) return gone();
    const auto until_keepalive = std::chrono::duration_cast<std::chrono::milliseconds>(
        keepalive - (Clock::now() - last_write));
    const auto wait = std::max(std::chrono::milliseconds(1), std::min(poll, until_keepalive));
    for (const GenerationEvent& event : state.events->take(wait)) {
      switch (event.kind) {
        case GenerationEvent::Kind::kProgress:
          if (!write_sse(sink, kSseKeepAlive)) return gone();
          break;
        case GenerationEvent::Kind::kText:
          if (!write_chunks(sink, state.builder->on_text(event))) return gone();
          break;
        case GenerationEvent::Kind::kDone:
          state.finished = true;
          ctx.metrics.record_generation(event.usage, event.timings);
          log_perf(event.usage, event.timings);
          if (!write_chunks(sink, state.builder->finish(event)) || !write_sse(sink, kSseDone)) {
            return false;
          }
          sink.done();
          return true;
        case GenerationEvent::Kind::kError: {
          state.finished = true;
          spdlog::error("generation {} failed: {}", state.request_id, event.status.to_string());
          const ApiError error = generation_failed(event.status);
          if (!write_sse(sink, sse_data(api_error_json(error))) || !write_sse(sink, kSseDone)) {
            return false;
          }
          sink.done();
          return true;
        }
      }
      last_write = Clock::now();
    }
    if (Clock::now() - last_write >= keepalive) {
      if (!write_sse(sink, kSseKeepAlive)) return gone();
      last_write = Clock::now();
    }
  }
}

void respond_whole(ServerContext& ctx, GenerationJob& job,
                   const std::shared_ptr<GenerationStream>& events, uint64_t request_id, int socket,
                   httplib::Response& res) {
  job.builder->start();
  while (true) {
    if (ctx.stopping.load() || peer_closed(socket)) {
      events->abandon();
      ctx.engine.cancel(request_id);
      if (!ctx.stopping.load()) {
        ctx.metrics.record_client_cancel();
        spdlog::info("client disconnected; cancelled generation {}", request_id);
      }
      ApiError error;
      error.http_status = ctx.stopping.load() ? 503 : 499;
      error.type = "server_error";
      error.code = ctx.stopping.load() ? "server_shutting_down" : "client_closed_request";
      error.message =
          ctx.stopping.load() ? "the server is shutting down" : "the client closed the connection";
      send_error(res, error);
      return;
    }
    for (const GenerationEvent& event : events->take(ctx.options.disconnect_poll_interval)) {
      switch (event.kind) {
        case GenerationEvent::Kind::kProgress:
          break;
        case GenerationEvent::Kind::kText:
          job.builder->on_text(event);
          break;
        case GenerationEvent::Kind::kDone:
          ctx.metrics.record_generation(event.usage, event.timings);
          log_perf(event.usage, event.timings);
          job.builder->finish(event);
          send_json(res, 200, job.builder->response(event));
          return;
        case GenerationEvent::Kind::kError:
          spdlog::error("generation {} failed: {}", request_id, event.status.to_string());
          send_error(res, generation_failed(event.status));
          return;
      }
    }
  }
}

}  // namespace

std::optional<ApiError> fit_to_context(int64_t prompt_tokens, int64_t context_size,
                                       GenerationFields& fields) {
  if (context_size <= 0) return std::nullopt;
  if (prompt_tokens >= context_size) {
    return invalid_request(
        "messages",
        fmt::format("this model's maximum context length is {} tokens, but the prompt has {} "
                    "tokens, leaving no room to generate; shorten the prompt",
                    context_size, prompt_tokens),
        "context_length_exceeded");
  }
  if (!fields.max_tokens) return std::nullopt;
  const int64_t room = context_size - prompt_tokens;
  if (*fields.max_tokens <= room) return std::nullopt;
  if (!fields.max_tokens_explicit) {
    fields.max_tokens = room;
    return std::nullopt;
  }
  return invalid_request(
      "max_tokens",
      fmt::format("this model's maximum context length is {} tokens; the prompt has {} tokens "
                  "and max_tokens asks for {} more; lower max_tokens to at most {}",
                  context_size, prompt_tokens, *fields.max_tokens, room),
      "context_length_exceeded");
}

GenerationRequest make_generation_request(std::vector<int32_t> prompt,
                                          const GenerationFields& fields) {
  GenerationRequest request;
  request.prompt = std::move(prompt);
  request.sampling = fields.sampling;
  request.max_tokens = fields.max_tokens.value_or(-1);
  request.stop = fields.stop;
  request.ignore_eos = fields.ignore_eos;
  request.skip_special_tokens = fields.skip_special_tokens;
  return request;
}

TokenTextFn token_text_fn(const Engine& engine) {
  return [&engine](int32_t token) {
    auto text = engine.detokenize({token});
    return text.ok() ? *text : std::string();
  };
}

void run_generation(ServerContext& ctx, const httplib::Request& req, GenerationJob job,
                    httplib::Response& res) {
  auto events = std::make_shared<GenerationStream>();
  auto submitted = ctx.engine.submit(std::move(job.request), GenerationStream::sink_for(events));
  if (!submitted.ok()) {
    send_error(res, generation_failed(submitted.status()));
    return;
  }
  const uint64_t request_id = *submitted;
  const int socket = find_request_socket(req);
  if (!job.stream) {
    respond_whole(ctx, job, events, request_id, socket, res);
    return;
  }
  auto state = std::make_shared<StreamState>();
  state->ctx = &ctx;
  state->events = std::move(events);
  state->builder = std::move(job.builder);
  state->request_id = request_id;
  state->socket = socket;
  res.status = 200;
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");  // tell reverse proxies not to buffer the stream
  res.set_chunked_content_provider(
      "text/event-stream",
      [state](size_t /*offset*/, httplib::DataSink& sink) { return stream_events(*state, sink); },
      [state](bool /*success*/) { state->cancel(); });
}

}  // namespace hearth::server
