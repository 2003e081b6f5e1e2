#include "server/http/generation_stream.h"

#include <utility>

namespace hearth::server {

bool GenerationStream::push(const GenerationEvent& event) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (abandoned_) return false;
    events_.push_back(event);
  }
  ready_.notify_one();
  return true;
}

std::vector<GenerationEvent> GenerationStream::take(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  ready_.wait_for(lock, timeout, [this] { return !events_.empty(); });
  std::vector<GenerationEvent> out(std::make_move_iterator(events_.begin()),
                                   std::make_move_iterator(events_.end()));
  events_.clear();
  return out;
}

void GenerationStream::abandon() {
  std::lock_guard<std::mutex> lock(mutex_);
  abandoned_ = true;
  events_.clear();
}

bool GenerationStream::abandoned() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return abandoned_;
}

EventSink GenerationStream::sink_for(std::shared_ptr<GenerationStream> stream) {
  return [stream = std::move(stream)](const GenerationEvent& event) { return stream->push(event); };
}

}  // namespace hearth::server
