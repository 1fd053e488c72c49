#pragma once
// Plain HTTP request and response values exchanged between the network layer and the
// application's route handlers. No Beast types, so handlers compile without Beast.
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/websocket_link.hpp"

namespace kwm::net {

struct peer_address {
  std::array<uint8_t, 16> bytes{};  // IPv4 peers use the first 4 bytes
  bool is_v4 = true;
  uint16_t port = 0;

  std::string to_string() const;
};

struct http_request {
  std::string method;
  std::string path;   // percent-decoding is not applied
  std::string query;  // without the '?'
  std::vector<std::pair<std::string, std::string>> headers;  // names in lower case
  std::string body;
  bool body_truncated = false;  // set by routes that read a bounded prefix of the body
  peer_address peer;            // the TCP peer, or the client a trusted proxy forwards for

  // The first value of a header (name in lower case), or "" when absent.
  std::string_view header(std::string_view lower_case_name) const;
  bool has_header(std::string_view lower_case_name) const;
};

// An open file descriptor, closed with the last owner (static file bodies).
class open_file {
 public:
  explicit open_file(int descriptor) : descriptor_(descriptor) {}
  ~open_file();
  open_file(const open_file&) = delete;
  open_file& operator=(const open_file&) = delete;
  int descriptor() const { return descriptor_; }

 private:
  int descriptor_;
};

// A byte range of an open file, read in bounded pieces while the response is written, so
// that no file is ever held in memory whole.
struct file_range {
  std::shared_ptr<const open_file> file;
  uint64_t offset = 0;
  uint64_t length = 0;
};

// A body made in pieces while it is written (chunked transfer coding), for generated bodies
// too large to hold whole. `next` is called when the head or the previous piece has been
// written; it answers once, from any thread: the next piece, an empty piece at the end, or
// nullopt when the body cannot be finished (the connection is then closed).
class body_source {
 public:
  using deliver = std::function<void(std::optional<std::string>)>;
  virtual ~body_source() = default;
  virtual void next(deliver piece) = 0;
};

struct http_response {
  unsigned status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::optional<file_range> file_body;  // when set, the body (`body` stays empty)
  std::shared_ptr<body_source> streamed_body;  // when set, the body (`body` stays empty)
  bool close_connection = false;
  // For HEAD: the Content-Length the GET would have had (the body stays empty).
  std::optional<uint64_t> head_content_length;

  // The spec's error shape (§0.3): text/plain, nosniff, body = message + "\n".
  static http_response text_error(unsigned status, std::string_view message);
  static http_response not_found() { return text_error(404, "404 page not found"); }
  // application/json; `body` already ends with "\n".
  static http_response json(std::string body);
  // application/json written piece by piece from `source`.
  static http_response json_stream(std::shared_ptr<body_source> source);
  // No body and no Content-Type.
  static http_response empty(unsigned status);
  // 301 to `location`, with the small HTML body Go's http.Redirect writes.
  static http_response moved_permanently(const std::string& location);
};

// One plain HTTP request waiting for its answer. `respond` may be called from any
// thread, once.
class http_exchange {
 public:
  virtual ~http_exchange() = default;
  virtual const http_request& request() const = 0;
  virtual void respond(http_response response) = 0;
};

// A GET on a WebSocket route, before the upgrade. The application decides: `reject`
// answers with a plain HTTP response and closes; `accept` performs the upgrade. `sink`
// is usable right away; frames sent before the upgrade are written after it.
// All members may be called from any thread; exactly one of reject/accept, once.
class pending_websocket {
 public:
  virtual ~pending_websocket() = default;
  virtual const http_request& request() const = 0;
  virtual std::shared_ptr<frame_sink> sink() = 0;
  virtual void reject(http_response response) = 0;
  virtual void accept(std::unique_ptr<frame_listener> listener, websocket_options options) = 0;
};

}  // namespace kwm::net
