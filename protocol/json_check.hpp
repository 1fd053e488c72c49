#pragma once
// The output check of D19: every frame and body the server writes is valid UTF-8 JSON.
// With the CMake option KWM_CHECK_OUTPUT (on in the test build) the WebSocket and HTTP
// writers abort on a text that fails it.
#include <string_view>

namespace kwm::protocol {

// True when `text` is one JSON value (RFC 8259; whitespace around it allowed) whose strings
// are UTF-8 without raw control characters or lone surrogate escapes, and whose numbers are
// finite doubles: what the hardened reader (json_reader.hpp) accepts, at any depth and size.
bool is_valid_json_text(std::string_view text);

// For the KWM_CHECK_OUTPUT writers: unless `text` is valid, prints `where` and the start of
// `text` to stderr and aborts, so that the test that caused it fails at the cause.
void require_valid_json_output(std::string_view where, std::string_view text);

}  // namespace kwm::protocol
