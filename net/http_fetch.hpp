#pragma once
// An asynchronous HTTP(S) client for the server's own outbound requests (OIDC discovery
// and keys, the TURN credential service). Runs on the server's io_context; the callback
// runs on an io thread. Nothing here names Beast.
#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace kwm::net {

struct fetch_options {
  std::string method = "GET";
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::milliseconds timeout{60'000};  // whole exchange (spec §4.1)
  bool insecure = false;                       // skip TLS certificate verification (--insecure)
};

struct fetch_result {
  bool ok = false;  // a response was received (any status)
  unsigned status = 0;
  std::string body;
  std::string error;  // when !ok
};

using fetch_callback = std::function<void(fetch_result)>;
// A fetcher bound to an io_context, handed to actors that need outbound HTTP.
using fetcher = std::function<void(const std::string& url, fetch_options options, fetch_callback done)>;

void fetch(boost::asio::io_context& io, const std::string& url, fetch_options options, fetch_callback done);

}  // namespace kwm::net
