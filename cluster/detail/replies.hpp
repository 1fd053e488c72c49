#pragma once
// Turning common reply shapes into the services' results.
#include <string>
#include <utility>
#include <vector>

#include "cluster/redis_reply.hpp"

namespace kwm::cluster::detail {

// Any reply means success (the failure, if any, passes through).
inline reply_callback expect_done(callback<done> finished) {
  return [finished = std::move(finished)](result<redis_reply> reply) {
    if (!reply) return finished(reply.failed());
    finished(done{});
  };
}

// A script's 0 or 1.
inline reply_callback expect_flag(callback<bool> finished) {
  return [finished = std::move(finished)](result<redis_reply> reply) {
    if (!reply) return finished(reply.failed());
    const auto flag = reply->as_integer();
    if (!flag) return finished(error{failure::malformed, "expected 0 or 1"});
    finished(*flag == 1);
  };
}

// HGETALL's field, value, field, value, ...
inline result<std::vector<std::pair<std::string, std::string>>> field_pairs(redis_reply& reply) {
  if (!reply.is_array() || reply.elements.size() % 2 != 0)
    return error{failure::malformed, "expected field pairs"};
  std::vector<std::pair<std::string, std::string>> pairs;
  pairs.reserve(reply.elements.size() / 2);
  for (std::size_t i = 0; i < reply.elements.size(); i += 2)
    pairs.emplace_back(std::move(reply.elements[i].text), std::move(reply.elements[i + 1].text));
  return pairs;
}

}  // namespace kwm::cluster::detail
