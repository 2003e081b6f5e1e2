// Hands one request's engine events from the engine thread to the HTTP thread serving it.
// Shared by both (the engine may call the sink after the HTTP side has given up), so it lives
// in a shared_ptr captured by the sink.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

#include "hearth/request.h"
#include "runtime/engine/engine.h"

namespace hearth::server {

class GenerationStream {
 public:
  // Engine side: queue an event. Returns false once the HTTP side has abandoned the request,
  // which tells the engine to cancel before its next step.
  bool push(const GenerationEvent& event);

  // HTTP side: waits up to `timeout` for events and takes all that are queued.
  std::vector<GenerationEvent> take(std::chrono::milliseconds timeout);
  // The client is gone; the engine's next push() returns false.
  void abandon();
  bool abandoned() const;

  // An EventSink feeding `stream`.
  static EventSink sink_for(std::shared_ptr<GenerationStream> stream);

 private:
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<GenerationEvent> events_;
  bool abandoned_ = false;
};

}  // namespace hearth::server
