#include "server/http/http_server.h"

#include <fmt/core.h>
#include <httplib.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <string_view>
#include <thread>

#include "server/http/auth.h"
#include "server/http/cors.h"
#include "server/http/server_context.h"
#include "server/openai/field_reader.h"
#include "server/openai/response_common.h"

namespace hearth::server {
namespace {

using Clock = std::chrono::steady_clock;

struct Route {
  std::string_view path;
  std::string_view method;  // GET routes also answer HEAD
  bool prefix;              // path is a prefix ("/v1/models/" + id)
  bool needs_auth;
  RouteHandler handler;
};

constexpr Route kRoutes[] = {
    {"/v1/chat/completions", "POST", false, true, handle_chat_completions},
    {"/chat/completions", "POST", false, true, handle_chat_completions},
    {"/v1/completions", "POST", false, true, handle_completions},
    {"/completions", "POST", false, true, handle_completions},
    {"/v1/models", "GET", false, true, handle_models},
    {"/models", "GET", false, true, handle_models},
    {"/v1/models/", "GET", true, true, handle_model},
    {"/health", "GET", false, false, handle_health},
    {"/metrics", "GET", false, true, handle_metrics},
    {"/tokenize", "POST", false, true, handle_tokenize},
    {"/detokenize", "POST", false, true, handle_detokenize},
    {"/apply-template", "POST", false, true, handle_apply_template},
};

bool path_matches(const Route& route, const std::string& path) {
  if (!route.prefix) return path == route.path;
  return path.size() > route.path.size() && path.compare(0, route.path.size(), route.path) == 0;
}

// The route label for metrics: the route's path, or "other" (keeps label values bounded).
thread_local std::string_view t_route_label;
thread_local Clock::time_point t_request_start;
thread_local bool t_request_timed = false;

bool carries_body(const httplib::Request& req) {
  if (req.has_header("Transfer-Encoding")) return true;
  if (!req.has_header("Content-Length")) return false;
  return req.get_header_value("Content-Length") != "0";
}

// Sends `res`'s body, then makes httplib close the connection (a content provider that
// reports failure after writing everything). Used when the request body was left unread, so
// its bytes are never taken for the next request on this connection.
void close_after_response(httplib::Response& res) {
  if (res.content_provider_) return;
  auto body = std::make_shared<std::string>(std::move(res.body));
  res.body.clear();
  const std::string content_type = res.get_header_value("Content-Type");
  res.headers.erase("Content-Type");  // set_content_provider sets it again
  res.set_content_provider(body->size(), content_type,
                           [body](size_t offset, size_t length, httplib::DataSink& sink) {
                             sink.write(body->data() + offset, length);
                             return false;
                           });
  res.set_header("Connection", "close");
}

ApiError http_error(int status, std::string type, std::string code, std::string message) {
  ApiError error;
  error.http_status = status;
  error.type = std::move(type);
  error.code = std::move(code);
  error.message = std::move(message);
  return error;
}

// Reads the body through httplib's ContentReader, stopping past `limit` bytes.
enum class BodyRead { kOk, kTooLarge, kFailed };
BodyRead read_body(const httplib::ContentReader& reader, size_t limit, std::string& body) {
  bool too_large = false;
  const bool ok = reader([&](const char* data, size_t length) {
    if (body.size() + length > limit) {
      too_large = true;
      return false;
    }
    body.append(data, length);
    return true;
  });
  if (too_large) return BodyRead::kTooLarge;
  return ok ? BodyRead::kOk : BodyRead::kFailed;
}

}  // namespace

struct HttpServer::Impl {
  Impl(Engine& engine, ServerOptions options)
      : ctx(engine, std::move(options)), cors(ctx.options.allowed_origins) {}

  void install_handlers();
  // Routes a request; `reader` is null when the body has not been read and must not be.
  void dispatch(const httplib::Request& req, httplib::Response& res,
                const httplib::ContentReader* reader);
  void on_logged(const httplib::Request& req, const httplib::Response& res);

  ServerContext ctx;
  CorsPolicy cors;
  httplib::Server http;
  std::thread thread;
  int port = -1;
  bool bound = false;
  std::atomic<bool> serve_returned{false};
};

void HttpServer::Impl::install_handlers() {
  const int threads = http_thread_count(ctx.options);
  // httplib owns the queue it is given.
  http.new_task_queue = [threads] { return new httplib::ThreadPool(size_t(threads)); };
  // httplib's own limit covers Content-Length; chunked bodies are capped in read_body().
  http.set_payload_max_length(ctx.options.max_body_bytes);
  http.set_tcp_nodelay(true);
  http.set_keep_alive_timeout(ctx.options.keep_alive_timeout_s);

  http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    t_request_start = Clock::now();
    t_request_timed = true;
    t_route_label = "other";
    const std::string& method = req.method;
    const bool body_method = method == "POST" || method == "PUT" || method == "PATCH" ||
                             (method == "DELETE" && req.has_header("Content-Length"));
    if (body_method) {
      if (!req.has_header("Content-Length") && !req.has_header("Transfer-Encoding")) {
        send_error(res, http_error(411, "invalid_request_error", "length_required",
                                   "the request has no Content-Length (or chunked "
                                   "Transfer-Encoding)"));
        close_after_response(res);
        return httplib::Server::HandlerResponse::Handled;
      }
      return httplib::Server::HandlerResponse::Unhandled;  // to the content-reader handlers
    }
    dispatch(req, res, nullptr);
    return httplib::Server::HandlerResponse::Handled;
  });
  auto with_body = [this](const httplib::Request& req, httplib::Response& res,
                          const httplib::ContentReader& reader) { dispatch(req, res, &reader); };
  http.Post(".*", with_body);
  http.Put(".*", with_body);
  http.Patch(".*", with_body);
  http.Delete(".*", with_body);

  // Errors httplib produces itself (malformed requests, 413 by Content-Length, 414, ...).
  http.set_error_handler(httplib::Server::HandlerWithResponse(
      [](const httplib::Request& /*req*/, httplib::Response& res) {
        if (!res.body.empty() || res.content_provider_) {
          return httplib::Server::HandlerResponse::Unhandled;
        }
        const int status = res.status;
        std::string message = fmt::format("HTTP error {}", status);
        std::string code = "http_error";
        if (status == 413) {
          message = "the request body is larger than the server's limit (see --max-body-mb)";
          code = "request_too_large";
        } else if (status == 414) {
          message = "the request URI is too long";
          code = "uri_too_long";
        } else if (status == 400) {
          message = "malformed HTTP request";
          code = "bad_http_request";
        } else if (status == 415) {
          message = "unsupported Content-Encoding";
          code = "unsupported_encoding";
        }
        send_error(res, http_error(status, status >= 500 ? "server_error" : "invalid_request_error",
                                   code, message));
        return httplib::Server::HandlerResponse::Handled;
      }));
  http.set_exception_handler([](const httplib::Request& req, httplib::Response& res,
                                std::exception_ptr ep) {
    std::string what = "unknown exception";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    spdlog::error("{} {}: unhandled exception: {}", req.method, req.path, what);
    send_error(res,
               http_error(500, "server_error", "internal_error", "internal server error: " + what));
  });
  http.set_logger(
      [this](const httplib::Request& req, const httplib::Response& res) { on_logged(req, res); });
}

void HttpServer::Impl::on_logged(const httplib::Request& req, const httplib::Response& res) {
  const double seconds =
      t_request_timed ? std::chrono::duration<double>(Clock::now() - t_request_start).count() : 0.0;
  const std::string_view route = t_request_timed ? t_route_label : std::string_view("other");
  ctx.metrics.record_request(route, res.status, seconds);
  spdlog::debug("{} {} -> {} ({:.3f}s)", req.method, req.path, res.status, seconds);
  t_request_timed = false;
}

void HttpServer::Impl::dispatch(const httplib::Request& req, httplib::Response& res,
                                const httplib::ContentReader* reader) {
  bool body_read = false;
  auto finish = [&] {
    if (!body_read && carries_body(req)) close_after_response(res);
  };
  const std::string origin = req.get_header_value("Origin");
  const std::string allowed_origin = cors.allow_origin(origin);
  if (!allowed_origin.empty()) {
    res.set_header("Access-Control-Allow-Origin", allowed_origin);
    res.set_header("Vary", "Origin");
  }

  std::string allow;  // methods this path answers
  const Route* route = nullptr;
  const std::string method = req.method == "HEAD" ? "GET" : req.method;
  for (const Route& r : kRoutes) {
    if (!path_matches(r, req.path)) continue;
    if (!allow.empty()) allow += ", ";
    allow += r.method;
    if (r.method == "GET") allow += ", HEAD";
    if (r.method == method) route = &r;
  }
  if (allow.empty()) {
    send_error(res,
               http_error(404, "invalid_request_error", "not_found",
                          fmt::format("no route for {} {}", req.method, text_preview(req.path))));
    return finish();
  }
  t_route_label = route ? route->path : std::string_view("other");
  allow += ", OPTIONS";
  if (req.method == "OPTIONS") {
    if (!origin.empty() && allowed_origin.empty()) {
      send_error(res, http_error(403, "invalid_request_error", "origin_not_allowed",
                                 fmt::format("origin '{}' is not in --allowed-origins",
                                             text_preview(origin))));
      return finish();
    }
    res.status = 204;
    res.set_header("Allow", allow);
    if (!allowed_origin.empty()) {
      res.set_header("Access-Control-Allow-Methods", allow);
      res.set_header(
          "Access-Control-Allow-Headers",
          CorsPolicy::allow_headers(req.get_header_value("Access-Control-Request-Headers")));
      res.set_header("Access-Control-Max-Age", "600");
    }
    return finish();
  }
  if (!route) {
    res.set_header("Allow", allow);
    send_error(res, http_error(405, "invalid_request_error", "method_not_allowed",
                               fmt::format("{} is not allowed on {}; use {}", req.method, req.path,
                                           allow)));
    return finish();
  }
  if (route->needs_auth && !ctx.options.api_key.empty() &&
      !bearer_token_matches(req.get_header_value("Authorization"), ctx.options.api_key)) {
    res.set_header("WWW-Authenticate", "Bearer");
    send_error(res, http_error(401, "invalid_request_error", "invalid_api_key",
                               req.has_header("Authorization")
                                   ? "the API key is not valid"
                                   : "an API key is required: send 'Authorization: Bearer KEY'"));
    return finish();
  }
  auto too_large = [this] {
    return http_error(413, "invalid_request_error", "request_too_large",
                      fmt::format("the request body is larger than the server's limit of {} "
                                  "bytes",
                                  ctx.options.max_body_bytes));
  };
  std::string body;
  if (reader) {
    switch (read_body(*reader, ctx.options.max_body_bytes, body)) {
      case BodyRead::kOk:
        body_read = true;
        break;
      case BodyRead::kTooLarge:  // a chunked body past the limit: left unread, connection closed
        send_error(res, too_large());
        return finish();
      case BodyRead::kFailed:
        if (res.status == 413) {
          // httplib saw Content-Length over the limit and skipped the body; the connection
          // stays usable and the client gets the answer after sending.
          body_read = true;
          send_error(res, too_large());
        } else {
          send_error(res, http_error(400, "invalid_request_error", "bad_http_request",
                                     "could not read the request body"));
        }
        return finish();
    }
  }
  route->handler(ctx, req, body, res);
  finish();
}

HttpServer::HttpServer(Engine& engine, ServerOptions options)
    : impl_(std::make_unique<Impl>(engine, std::move(options))) {
  impl_->install_handlers();
}

HttpServer::~HttpServer() {
  stop();
}

Status HttpServer::bind() {
  HEARTH_RETURN_IF_ERROR(validate_server_options(impl_->ctx.options));
  if (impl_->bound) return failed_precondition("the server is already bound");
  const ServerOptions& o = impl_->ctx.options;
  if (o.port == 0) {
    impl_->port = impl_->http.bind_to_any_port(o.host);
  } else {
    impl_->port = impl_->http.bind_to_port(o.host, o.port) ? o.port : -1;
  }
  if (impl_->port <= 0) {
    return io_error(
        fmt::format("could not listen on {}:{} (address in use, or not an address "
                    "of this machine?)",
                    o.host, o.port));
  }
  impl_->bound = true;
  return Status();
}

int HttpServer::port() const {
  return impl_->port;
}

Status HttpServer::serve() {
  if (!impl_->bound) HEARTH_RETURN_IF_ERROR(bind());
  if (!impl_->http.listen_after_bind() && !impl_->ctx.stopping.load()) {
    return io_error("the HTTP server stopped unexpectedly");
  }
  return Status();
}

Status HttpServer::start() {
  if (!impl_->bound) HEARTH_RETURN_IF_ERROR(bind());
  impl_->thread = std::thread([this] {
    Status status = serve();
    if (!status.ok()) spdlog::error("{}", status.to_string());
    impl_->serve_returned.store(true);
  });
  while (!impl_->http.is_running() && !impl_->serve_returned.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (!impl_->http.is_running()) return io_error("the HTTP server failed to start");
  return Status();
}

void HttpServer::stop() {
  impl_->ctx.stopping.store(true);
  impl_->http.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

Metrics& HttpServer::metrics() {
  return impl_->ctx.metrics;
}

}  // namespace hearth::server
