#include "cluster/user_connections.hpp"

#include <algorithm>
#include <memory>

#include "cluster/detail/fan_in.hpp"
#include "cluster/detail/replies.hpp"
#include "cluster/redis_client.hpp"
#include "cluster/redis_script.hpp"

namespace kwm::cluster {
namespace {

// Users per resync script call: large enough to be cheap, small enough that one call does
// not hold Redis for long.
constexpr std::size_t resync_batch = 256;

// KEYS: user hash, nodes. ARGV: this node, limit, expiry ms.
// Returns {admitted 0/1, live connections in the cluster}.
const redis_script& admit_script() {
  static const redis_script script(std::string(lua_now_ms) + R"lua(
local now = now_ms()
local fields = redis.call('HGETALL', KEYS[1])
local total = 0
for i = 1, #fields, 2 do
  local node, count = fields[i], tonumber(fields[i + 1])
  if node ~= ARGV[1] and not alive(KEYS[2], node, now) then
    redis.call('HDEL', KEYS[1], node)
  elseif count > 0 then
    total = total + count
  end
end
local limit = tonumber(ARGV[2])
if limit > 0 and total >= limit then return {0, total} end
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {1, total + 1}
)lua");
  return script;
}

// KEYS: user hash. ARGV: this node.
const redis_script& release_script() {
  static const redis_script script(R"lua(
local left = redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
if left <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) end
return left
)lua");
  return script;
}

// KEYS: user hash, nodes. Returns {node, count, node, count, ...} of alive nodes.
const redis_script& locate_script() {
  static const redis_script script(std::string(lua_now_ms) + R"lua(
local now = now_ms()
local fields = redis.call('HGETALL', KEYS[1])
local found = {}
for i = 1, #fields, 2 do
  local node, count = fields[i], tonumber(fields[i + 1])
  if not alive(KEYS[2], node, now) then
    redis.call('HDEL', KEYS[1], node)
  elseif count > 0 then
    found[#found + 1] = node
    found[#found + 1] = count
  end
end
return found
)lua");
  return script;
}

// KEYS: user hashes. ARGV: this node, expiry ms, one count per key.
const redis_script& resync_script() {
  static const redis_script script(R"lua(
for i = 1, #KEYS do
  if tonumber(ARGV[i + 2]) > 0 then
    redis.call('HSET', KEYS[i], ARGV[1], ARGV[i + 2])
    redis.call('PEXPIRE', KEYS[i], ARGV[2])
  else
    redis.call('HDEL', KEYS[i], ARGV[1])
  end
end
return #KEYS
)lua");
  return script;
}

class redis_user_connections final : public user_connections {
 public:
  redis_user_connections(redis_client& client, key_space keys, std::string node,
                         std::chrono::milliseconds expiry)
      : client_(client),
        keys_(std::move(keys)),
        node_(std::move(node)),
        expiry_(std::to_string(expiry.count())) {}

  void admit(std::string user, uint32_t limit, callback<admission> finished) override {
    run_script(client_, admit_script(), {keys_.user(user), keys_.nodes()},
               {node_, std::to_string(limit), expiry_},
               [finished = std::move(finished)](result<redis_reply> reply) {
                 if (!reply) return finished(reply.failed());
                 if (!reply->is_array() || reply->elements.size() != 2)
                   return finished(error{failure::malformed, "admit answered no pair"});
                 const auto admitted = reply->elements[0].as_integer();
                 const auto total = reply->elements[1].as_integer();
                 if (!admitted || !total || *total < 0)
                   return finished(error{failure::malformed, "admit answered no numbers"});
                 finished(admission{*admitted == 1, static_cast<uint64_t>(*total)});
               });
  }

  void release(std::string user, callback<done> finished) override {
    run_script(client_, release_script(), {keys_.user(user)}, {node_},
               detail::expect_done(std::move(finished)));
  }

  void locate(std::string user, callback<std::vector<node_connections>> finished) override {
    run_script(
        client_, locate_script(), {keys_.user(user), keys_.nodes()}, {},
        [finished = std::move(finished)](result<redis_reply> reply) {
          if (!reply) return finished(reply.failed());
          if (!reply->is_array() || reply->elements.size() % 2 != 0)
            return finished(error{failure::malformed, "locate answered no pairs"});
          std::vector<node_connections> nodes;
          for (std::size_t i = 0; i < reply->elements.size(); i += 2) {
            const auto count = reply->elements[i + 1].as_integer();
            if (!reply->elements[i].is_string() || !count || *count < 0)
              return finished(error{failure::malformed, "locate answered a bad pair"});
            nodes.push_back({std::move(reply->elements[i].text), static_cast<uint64_t>(*count)});
          }
          finished(std::move(nodes));
        });
  }

  void resync(std::vector<std::pair<std::string, uint64_t>> counts,
              callback<done> finished) override {
    auto join = detail::fan_in<done>::make((counts.size() + resync_batch - 1) / resync_batch,
                                           std::move(finished));
    if (counts.empty()) return join->finish();
    for (std::size_t start = 0; start < counts.size(); start += resync_batch) {
      std::vector<std::string> user_keys;
      std::vector<std::string> args{node_, expiry_};
      for (std::size_t i = start; i < std::min(counts.size(), start + resync_batch); ++i) {
        user_keys.push_back(keys_.user(counts[i].first));
        args.push_back(std::to_string(counts[i].second));
      }
      run_script(client_, resync_script(), std::move(user_keys), std::move(args),
                 [join](result<redis_reply> reply) {
                   if (!reply) return join->fail(reply.failed());
                   join->part_done();
                 });
    }
  }

 private:
  redis_client& client_;
  key_space keys_;
  std::string node_;
  std::string expiry_;
};

}  // namespace

std::unique_ptr<user_connections> make_redis_user_connections(redis_client& client, key_space keys,
                                                              std::string node,
                                                              std::chrono::milliseconds expiry) {
  return std::make_unique<redis_user_connections>(client, std::move(keys), std::move(node), expiry);
}

}  // namespace kwm::cluster
