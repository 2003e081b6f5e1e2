// Shared helpers for server tests: an in-process server over a FakeEngine on an ephemeral
// port, raw HTTP exchanges, and an SSE parser.
#pragma once

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "fake_engine.h"
#include "server/http/http_server.h"

namespace hearth::test {

class ServerHarness {
 public:
  explicit ServerHarness(FakeEngineConfig engine_config = {},
                         server::ServerOptions options = default_options());
  ~ServerHarness();

  static server::ServerOptions default_options();

  FakeEngine& engine() { return *engine_; }
  server::HttpServer& server() { return *server_; }
  int port() const { return server_->port(); }
  httplib::Client client() const;

  httplib::Result post_json(const std::string& path, const nlohmann::json& body,
                            const httplib::Headers& headers = {}) const;
  httplib::Result post_raw(const std::string& path, const std::string& body,
                           const httplib::Headers& headers = {}) const;
  httplib::Result get(const std::string& path, const httplib::Headers& headers = {}) const;

 private:
  std::unique_ptr<FakeEngine> engine_;
  std::unique_ptr<server::HttpServer> server_;
};

// Sends `bytes` on a fresh TCP connection and returns everything received until the server
// closes the connection or `timeout` passes without data.
std::string raw_exchange(int port, const std::string& bytes,
                         std::chrono::milliseconds timeout = std::chrono::milliseconds(2000));

// A raw client connection, for reading a response bit by bit and hanging up mid-way.
class RawConnection {
 public:
  explicit RawConnection(int port);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool send_all(const std::string& bytes);
  // Reads until done(received so far) holds, the peer closes, or `timeout` passes without
  // data; returns everything received so far.
  const std::string& read_until(const std::function<bool(const std::string&)>& done,
                                std::chrono::milliseconds timeout = std::chrono::seconds(10));
  void close();

 private:
  int fd_ = -1;
  std::string received_;
};

// "POST /path HTTP/1.1" with Host, Content-Type, Content-Length and `extra_headers`
// ("Name: value\r\n" lines).
std::string http_request(const std::string& method, const std::string& path,
                         const std::string& body, const std::string& extra_headers = "");

// The body of a raw response with chunked transfer encoding, de-chunked (as much as arrived).
std::string dechunk(const std::string& body);

// POSTs `body` with Connection: close and returns the whole raw response.
std::string raw_post(int port, const std::string& path, const nlohmann::json& body,
                     const std::string& extra_headers = "");

// The status code of a raw HTTP response ("HTTP/1.1 404 Not Found..." -> 404), or -1.
int raw_status(const std::string& response);
// The body after the header block (not de-chunked).
std::string raw_body(const std::string& response);

struct SseEvent {
  bool comment = false;  // ": keep-alive"
  std::string data;      // payload of "data: ..." (or the comment text)
};

// Splits an SSE body into events (blank-line separated).
std::vector<SseEvent> parse_sse(const std::string& body);

// The JSON payloads of data events, excluding [DONE].
std::vector<nlohmann::json> sse_json_chunks(const std::vector<SseEvent>& events);

// A minimal chat request body.
nlohmann::json chat_body(const std::string& user_text = "Hi");

}  // namespace hearth::test
