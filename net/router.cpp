#include "net/router.hpp"

namespace kwm::net {

void router::add(std::string path, http_handler handler, route_options options) {
  route r;
  r.type = route::kind::http;
  r.has_parameter = !path.empty() && path.back() == '/';
  r.path = std::move(path);
  r.options = options;
  r.on_http = std::move(handler);
  routes_.push_back(std::move(r));
}

void router::add_websocket(std::string path, websocket_handler handler, route_options options) {
  route r;
  r.type = route::kind::websocket;
  r.has_parameter = !path.empty() && path.back() == '/';
  r.path = std::move(path);
  r.options = options;
  r.on_websocket = std::move(handler);
  routes_.push_back(std::move(r));
}

void router::add_subtree(std::string prefix, http_handler handler, route_options options) {
  route r;
  r.type = route::kind::http;
  r.subtree = true;
  r.path = std::move(prefix);
  r.options = options;
  r.on_http = std::move(handler);
  routes_.push_back(std::move(r));
}

router::match router::find(std::string_view path) const {
  const route* best_subtree = nullptr;
  for (const auto& r : routes_) {
    if (r.subtree) {
      if (path.substr(0, r.path.size()) == r.path && (!best_subtree || r.path.size() > best_subtree->path.size()))
        best_subtree = &r;
      continue;
    }
    if (!r.has_parameter) {
      if (path == r.path) return {&r, {}};
      continue;
    }
    if (path.size() > r.path.size() && path.substr(0, r.path.size()) == r.path) {
      const auto parameter = path.substr(r.path.size());
      if (parameter.find('/') == std::string_view::npos) return {&r, parameter};
    }
  }
  if (best_subtree) return {best_subtree, path.substr(best_subtree->path.size())};
  return {};
}

}  // namespace kwm::net
