#pragma once
// Checks of a request head that Beast 1.74 leaves to the server: the message framing rules of
// RFC 7230 §3.3.3 (only a lone `Transfer-Encoding: chunked` is understood, never together with
// Content-Length; several Content-Length fields must agree) and the Host rules of §5.4 (exactly
// one on HTTP/1.1, at most one on HTTP/1.0). A request that fails them could be read another
// way by a proxy in front of the server (request smuggling), so it is answered 400 and the
// connection closed. Free of Beast, so that it is unit-tested on its own.
#include <string_view>
#include <utility>
#include <vector>

namespace kwm::net {

struct request_head_view {
  unsigned version = 11;  // 10 = HTTP/1.0, 11 = HTTP/1.1
  // Every field of the head in arrival order, names as sent (compared case-insensitively).
  std::vector<std::pair<std::string_view, std::string_view>> fields;
};

// True when the head's framing and Host fields are unambiguous.
bool has_unambiguous_framing(const request_head_view& head);

// The path and query of a request target. An absolute-form target ("http://host/path?q"),
// which a server must accept (RFC 7230 §5.3.2), loses its scheme and authority; an empty path
// becomes "/" (a query right after the authority goes with it). Other targets are returned
// as they are.
std::string_view origin_form_of(std::string_view target);

// What an `Expect` field asks for.
enum class expectation { none, continue_100, unsupported };
expectation expectation_of(const request_head_view& head);

}  // namespace kwm::net
