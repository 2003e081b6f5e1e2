// Serves a FakeEngine over HTTP so real clients (the openai Python SDK) can be tested against
// the server before a real engine exists. Prints "PORT <n>" once listening; stops on
// SIGINT/SIGTERM.
//   hearth_fake_server [--port N] [--api-key K] [--script JSON] [--scripted-parser]
//                      [--step-delay-ms N] [--context-size N]
#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "fake_engine.h"
#include "scripted_output_parser.h"
#include "server/http/http_server.h"
#include "server/http/shutdown_signals.h"

int main(int argc, char** argv) {
  hearth::test::FakeEngineConfig config;
  hearth::server::ServerOptions options;
  options.port = 0;
  options.keepalive_interval = std::chrono::milliseconds(1000);
  options.keep_alive_timeout_s = 1;  // quick shutdown between tests
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << arg << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--port") {
      options.port = std::stoi(next());
    } else if (arg == "--api-key") {
      options.api_key = next();
    } else if (arg == "--script") {
      config.script = nlohmann::json::parse(next()).get<std::vector<std::string>>();
    } else if (arg == "--scripted-parser") {
      options.output_parser_factory = hearth::test::scripted_output_parser_factory();
    } else if (arg == "--step-delay-ms") {
      config.step_delay = std::chrono::milliseconds(std::stoi(next()));
    } else if (arg == "--context-size") {
      config.context_size = std::stoll(next());
    } else {
      std::cerr << "unknown argument " << arg << "\n";
      return 2;
    }
  }
  std::atomic<hearth::server::HttpServer*> server_ptr{nullptr};
  hearth::server::ShutdownSignalWatcher signals([&server_ptr] {
    auto* server = server_ptr.load();
    if (!server) std::_Exit(130);
    server->stop();
  });
  hearth::test::FakeEngine engine(config);
  hearth::server::HttpServer server(engine, options);
  server_ptr.store(&server);
  if (const auto status = server.bind(); !status.ok()) {
    std::cerr << status.to_string() << "\n";
    return 1;
  }
  std::printf("PORT %d\n", server.port());
  std::fflush(stdout);
  const auto status = server.serve();
  signals.stop();  // the watcher may still be inside server.stop()
  if (!status.ok()) {
    std::cerr << status.to_string() << "\n";
    return 1;
  }
  return 0;
}
