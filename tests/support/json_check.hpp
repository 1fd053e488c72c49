#pragma once
// A strict, self-contained check of what the server writes (D19): RFC 8259 JSON text whose raw
// bytes are valid UTF-8 and whose escapes never decode to a lone surrogate. Hostile tests run
// it on every frame before anything else looks at it: the server's output is not trusted
// either, and RapidJSON 1.1.0 must never see a number shape that could crash the test itself.
#include <rapidjson/document.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kwm::test {

struct json_verdict {
  bool valid = false;
  std::string error;                 // why not, with the byte offset
  std::vector<std::string> numbers;  // every number lexeme, in document order
  size_t max_depth = 0;
};

json_verdict check_json(std::string_view text);

// check_json, then RapidJSON on text that passed it and holds no number longer than a
// double's shortest form could be; nullopt (with `why`) otherwise.
std::optional<rapidjson::Document> parse_checked(std::string_view text, std::string& why);

// Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF.
bool is_valid_utf8(std::string_view bytes);

// A printable excerpt for failure messages: non-ASCII and control bytes as \xNN.
std::string excerpt(std::string_view bytes, size_t limit = 160);

}  // namespace kwm::test
