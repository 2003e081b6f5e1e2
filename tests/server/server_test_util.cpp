#include "server_test_util.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace hearth::test {

ServerHarness::ServerHarness(FakeEngineConfig engine_config, server::ServerOptions options)
    : engine_(std::make_unique<FakeEngine>(std::move(engine_config))) {
  options.port = 0;
  server_ = std::make_unique<server::HttpServer>(*engine_, std::move(options));
  const Status status = server_->start();
  if (!status.ok()) ADD_FAILURE() << "server failed to start: " << status.to_string();
}

ServerHarness::~ServerHarness() {
  server_->stop();
  server_.reset();
  engine_.reset();
}

server::ServerOptions ServerHarness::default_options() {
  server::ServerOptions options;
  options.host = "127.0.0.1";
  options.port = 0;
  options.max_queue = 4;
  options.max_body_bytes = 1 << 20;
  options.keep_alive_timeout_s = 1;
  options.keepalive_interval = std::chrono::milliseconds(5000);
  options.disconnect_poll_interval = std::chrono::milliseconds(10);
  return options;
}

httplib::Client ServerHarness::client() const {
  httplib::Client cli("127.0.0.1", port());
  cli.set_read_timeout(10, 0);
  cli.set_write_timeout(10, 0);
  return cli;
}

httplib::Result ServerHarness::post_json(const std::string& path, const nlohmann::json& body,
                                         const httplib::Headers& headers) const {
  return post_raw(path, body.dump(), headers);
}

httplib::Result ServerHarness::post_raw(const std::string& path, const std::string& body,
                                        const httplib::Headers& headers) const {
  auto cli = client();
  return cli.Post(path, headers, body, "application/json");
}

httplib::Result ServerHarness::get(const std::string& path, const httplib::Headers& headers) const {
  auto cli = client();
  return cli.Get(path, headers);
}

namespace {

// Whether `response` holds a whole HTTP response (by Content-Length or the last chunk), so a
// test need not wait for the server to close a kept-alive connection.
bool response_complete(const std::string& response) {
  const size_t header_end = response.find("\r\n\r\n");
  if (header_end == std::string::npos) return false;
  const std::string headers = response.substr(0, header_end);
  const size_t cl = headers.find("Content-Length: ");
  if (cl != std::string::npos) {
    const size_t length = std::stoul(headers.substr(cl + 16));
    return response.size() >= header_end + 4 + length;
  }
  if (headers.find("Transfer-Encoding: chunked") != std::string::npos) {
    return response.size() >= 5 && response.compare(response.size() - 5, 5, "0\r\n\r\n") == 0;
  }
  return false;
}

}  // namespace

std::string raw_exchange(int port, const std::string& bytes, std::chrono::milliseconds timeout) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return "";
  }
  size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may answer (413) and close before reading everything
    sent += static_cast<size_t>(n);
  }
  std::string out;
  char buf[65536];
  while (!response_complete(out)) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(timeout.count())) <= 0) break;
    const ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

RawConnection::RawConnection(int port) {
  fd_ = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd_ >= 0 && connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) close();
}

RawConnection::~RawConnection() {
  close();
}

bool RawConnection::send_all(const std::string& bytes) {
  size_t sent = 0;
  while (fd_ >= 0 && sent < bytes.size()) {
    const ssize_t n = send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return fd_ >= 0;
}

const std::string& RawConnection::read_until(const std::function<bool(const std::string&)>& done,
                                             std::chrono::milliseconds timeout) {
  char buf[65536];
  while (fd_ >= 0 && !done(received_)) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(timeout.count())) <= 0) break;
    const ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) break;
    received_.append(buf, static_cast<size_t>(n));
  }
  return received_;
}

void RawConnection::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

std::string http_request(const std::string& method, const std::string& path,
                         const std::string& body, const std::string& extra_headers) {
  return method + " " + path +
         " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
         "Content-Length: " + std::to_string(body.size()) + "\r\n" + extra_headers + "\r\n" + body;
}

std::string dechunk(const std::string& body) {
  std::string out;
  size_t pos = 0;
  while (pos < body.size()) {
    const size_t line_end = body.find("\r\n", pos);
    if (line_end == std::string::npos) break;
    const size_t size = std::stoul(body.substr(pos, line_end - pos), nullptr, 16);
    if (size == 0) break;
    const size_t data = line_end + 2;
    out += body.substr(data, std::min(size, body.size() - std::min(data, body.size())));
    pos = data + size + 2;
  }
  return out;
}

std::string raw_post(int port, const std::string& path, const nlohmann::json& body,
                     const std::string& extra_headers) {
  return raw_exchange(
      port, http_request("POST", path, body.dump(), "Connection: close\r\n" + extra_headers),
      std::chrono::seconds(10));
}

int raw_status(const std::string& response) {
  if (response.rfind("HTTP/1.", 0) != 0 || response.size() < 12) return -1;
  return std::atoi(response.substr(9, 3).c_str());
}

std::string raw_body(const std::string& response) {
  const size_t pos = response.find("\r\n\r\n");
  return pos == std::string::npos ? "" : response.substr(pos + 4);
}

std::vector<SseEvent> parse_sse(const std::string& body) {
  std::vector<SseEvent> events;
  size_t start = 0;
  while (start < body.size()) {
    size_t end = body.find("\n\n", start);
    if (end == std::string::npos) end = body.size();
    const std::string block = body.substr(start, end - start);
    start = end + 2;
    if (block.empty()) continue;
    SseEvent event;
    if (block.rfind(":", 0) == 0) {
      event.comment = true;
      event.data = block.substr(1);
      while (!event.data.empty() && event.data.front() == ' ') event.data.erase(0, 1);
    } else if (block.rfind("data: ", 0) == 0) {
      event.data = block.substr(6);
    } else {
      event.data = "<malformed>" + block;
    }
    events.push_back(std::move(event));
  }
  return events;
}

std::vector<nlohmann::json> sse_json_chunks(const std::vector<SseEvent>& events) {
  std::vector<nlohmann::json> chunks;
  for (const auto& e : events) {
    if (e.comment || e.data == "[DONE]") continue;
    chunks.push_back(nlohmann::json::parse(e.data));
  }
  return chunks;
}

nlohmann::json chat_body(const std::string& user_text) {
  return {{"model", "fake-model"},
          {"messages", nlohmann::json::array({{{"role", "user"}, {"content", user_text}}})}};
}

}  // namespace hearth::test
