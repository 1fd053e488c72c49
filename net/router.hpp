#pragma once
// The route table of the main listener. Paths match exactly and case-sensitively
// (spec §1.1); a WebSocket route may end in one parameter segment ({key}).
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/cors.hpp"
#include "net/http_types.hpp"

namespace kwm::net {

using http_handler = std::function<void(std::shared_ptr<http_exchange>)>;
// `parameter` is the value of the trailing {segment}, or "" for exact routes.
using websocket_handler =
    std::function<void(std::shared_ptr<pending_websocket>, std::string parameter)>;

enum class body_policy {
  reject_oversized,    // larger bodies get 413 and the connection is closed
  truncate_oversized,  // a bounded prefix is read; the connection is closed after answering
};

struct route_options {
  std::optional<cors_config> cors;  // rs/cors behaviour (spec §1.10)
  bool trusted_only = false;  // peers outside the trusted networks get 403 (D9)
  std::size_t max_body_bytes = 0;  // 0 = the server-wide limit
  body_policy oversized_body = body_policy::reject_oversized;
};

struct route {
  enum class kind { http, websocket } type = kind::http;
  std::string path;          // exact path, or the prefix before the parameter segment
  bool has_parameter = false;
  bool subtree = false;      // matches `path` and everything below it (static files)
  route_options options;
  http_handler on_http;
  websocket_handler on_websocket;
};

class router {
 public:
  // A `path` ending in '/' takes one non-empty parameter segment after it.
  void add(std::string path, http_handler handler, route_options options = {});
  void add_websocket(std::string path, websocket_handler handler, route_options options = {});
  // Everything under `prefix` (which ends in '/') that no other route matches; the longest
  // prefix wins. The parameter is the rest of the path after the prefix.
  void add_subtree(std::string prefix, http_handler handler, route_options options = {});

  struct match {
    const route* matched = nullptr;
    std::string_view parameter;
  };
  match find(std::string_view path) const;

 private:
  std::vector<route> routes_;
};

}  // namespace kwm::net
