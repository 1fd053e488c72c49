#pragma once
// A Redis reply (RESP2) owned by us, so it can outlive hiredis's reply object and travel to
// other threads. Redis error replies are replies (kind::error), not failures: whether an
// error reply is a failure is the caller's business.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/result.hpp"

namespace kwm::cluster {

struct redis_reply {
  enum class kind : unsigned char { nil, status, error, integer, string, array };

  kind type = kind::nil;
  int64_t integer = 0;
  std::string text;  // status, error and string replies
  std::vector<redis_reply> elements;

  bool is_nil() const { return type == kind::nil; }
  bool is_error() const { return type == kind::error; }
  bool is_string() const { return type == kind::string; }
  bool is_integer() const { return type == kind::integer; }
  bool is_array() const { return type == kind::array; }
  bool is_status(std::string_view expected) const {
    return type == kind::status && text == expected;
  }

  // An integer reply, or a string reply holding a decimal integer (Lua returns both).
  std::optional<int64_t> as_integer() const;
};

using reply_callback = callback<redis_reply>;

// An error reply becomes failure::rejected; anything else passes through.
result<redis_reply> reject_error_reply(redis_reply reply);

}  // namespace kwm::cluster
