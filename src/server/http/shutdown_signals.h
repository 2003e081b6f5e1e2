// Graceful shutdown on SIGINT/SIGTERM for the server binaries. The signal handler only writes
// a byte to a pipe (async-signal-safe, whichever thread the signal lands on, including threads
// libraries started before main); a watcher thread reads it and runs the reaction as normal
// code.
#pragma once

#include <signal.h>

#include <atomic>
#include <functional>
#include <thread>

namespace hearth::server {

class ShutdownSignalWatcher {
 public:
  // Installs handlers for SIGINT and SIGTERM and calls `on_signal` from a watcher thread each
  // time one arrives. One watcher at a time.
  explicit ShutdownSignalWatcher(std::function<void()> on_signal);
  ~ShutdownSignalWatcher();  // calls stop()
  ShutdownSignalWatcher(const ShutdownSignalWatcher&) = delete;
  ShutdownSignalWatcher& operator=(const ShutdownSignalWatcher&) = delete;

  // Restores the previous handlers and ends the watcher thread, waiting for an on_signal call
  // in progress to return. Call it before destroying whatever on_signal touches.
  void stop();

 private:
  std::atomic<bool> done_{false};
  struct sigaction previous_int_ {};
  struct sigaction previous_term_ {};
  std::thread thread_;
};

}  // namespace hearth::server
