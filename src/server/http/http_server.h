// The OpenAI-compatible HTTP server: routes, auth, CORS, body limits and error shapes in
// front of an Engine. The transport is cpp-httplib; nothing here knows about models.
#pragma once

#include <memory>

#include "hearth/status.h"
#include "runtime/engine/engine.h"
#include "server/http/server_options.h"

namespace hearth::server {

class Metrics;

class HttpServer {
 public:
  // `engine` must outlive the server.
  HttpServer(Engine& engine, ServerOptions options);
  ~HttpServer();  // stops, cancelling in-flight generations
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Validates the options and binds host:port (port 0: a free port). Call once.
  Status bind();
  // The bound port (after bind()).
  int port() const;
  // Serves until stop(); binds first if needed.
  Status serve();
  // bind() if needed, then serve() on a background thread; returns once accepting.
  Status start();
  // Stops accepting, cancels in-flight generations and waits for handlers. Idempotent, and
  // safe to call from another thread while serve() runs.
  void stop();

  Metrics& metrics();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hearth::server
