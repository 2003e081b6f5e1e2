#include "server/http/shutdown_signals.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace hearth::server {
namespace {

int g_pipe[2] = {-1, -1};

extern "C" void on_shutdown_signal(int /*signo*/) {
  const int saved_errno = errno;
  const char byte = 1;
  [[maybe_unused]] const ssize_t n = write(g_pipe[1], &byte, 1);
  errno = saved_errno;
}

}  // namespace

ShutdownSignalWatcher::ShutdownSignalWatcher(std::function<void()> on_signal) {
  if (pipe2(g_pipe, O_CLOEXEC | O_NONBLOCK) != 0) return;
  struct sigaction action {};
  action.sa_handler = on_shutdown_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGINT, &action, &previous_int_);
  sigaction(SIGTERM, &action, &previous_term_);
  thread_ = std::thread([this, on_signal = std::move(on_signal)] {
    while (!done_.load()) {
      pollfd p{g_pipe[0], POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      char bytes[16];
      const ssize_t n = read(g_pipe[0], bytes, sizeof(bytes));
      for (ssize_t i = 0; i < n; ++i) on_signal();
    }
  });
}

ShutdownSignalWatcher::~ShutdownSignalWatcher() {
  stop();
}

void ShutdownSignalWatcher::stop() {
  if (!thread_.joinable()) return;
  sigaction(SIGINT, &previous_int_, nullptr);
  sigaction(SIGTERM, &previous_term_, nullptr);
  done_.store(true);
  thread_.join();
  close(g_pipe[0]);
  close(g_pipe[1]);
  g_pipe[0] = g_pipe[1] = -1;
}

}  // namespace hearth::server
