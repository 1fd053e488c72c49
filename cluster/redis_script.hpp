#pragma once
// A Lua script run atomically by Redis. It is sent by its SHA-1 (EVALSHA); when Redis does
// not know it yet (first use, or after a restart) the same call is repeated as EVAL, which
// runs it and caches it, so the fallback costs one extra round trip once per script and
// Redis lifetime (SCRIPT LOAD + EVALSHA would cost two).
#include <string>
#include <vector>

#include "cluster/redis_client.hpp"

namespace kwm::cluster {

class redis_script {
 public:
  explicit redis_script(std::string source);
  const std::string& source() const { return source_; }
  const std::string& sha1() const { return sha1_; }

 private:
  std::string source_;
  std::string sha1_;  // lowercase hex, as Redis names scripts
};

// Runs `script` with KEYS and ARGV; error replies become failure::rejected.
void run_script(redis_client& client, const redis_script& script, std::vector<std::string> keys,
                std::vector<std::string> args, reply_callback done);

// KEYS: one key. Returns its value and deletes it, or nil: a single-use key redeemed once
// even when several nodes try at the same time (GETDEL needs Redis 6.2; managed services
// still run older ones).
const redis_script& get_and_delete_script();

// Helpers for scripts that deal with liveness: Redis's own clock in milliseconds (so
// deadlines do not depend on the nodes' clocks agreeing), integral numbers as text without
// an exponent, and whether a node's registry deadline lies in the future.
inline constexpr const char* lua_now_ms = R"lua(
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function ms(value)
  return string.format('%.0f', value)
end
local function alive(nodes_key, node, now)
  local deadline = redis.call('ZSCORE', nodes_key, node)
  return deadline ~= false and tonumber(deadline) > now
end
)lua";

}  // namespace kwm::cluster
