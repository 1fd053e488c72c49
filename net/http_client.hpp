#pragma once
// A minimal blocking HTTP/1.1 client for the `healthcheck` subcommand.
#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace kwm::net {

struct http_client_response {
  unsigned status = 0;
  std::string body;
};

// Sends one request and reads the answer. `host_port` is "host:port" or "host" (port 80).
// Throws std::runtime_error with a readable message on transport failures.
http_client_response http_request_once(const std::string& method, const std::string& host_port,
                                       const std::string& target,
                                       const std::vector<std::pair<std::string, std::string>>& headers,
                                       std::chrono::milliseconds timeout);

}  // namespace kwm::net
