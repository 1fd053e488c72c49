#include "cluster/channel_leases.hpp"

#include <algorithm>

#include "cluster/detail/fan_in.hpp"
#include "cluster/detail/replies.hpp"
#include "cluster/redis_client.hpp"
#include "cluster/redis_script.hpp"

namespace kwm::cluster {
namespace {

constexpr std::size_t renew_batch = 256;

// Whether `node` holds the lease with token `fence` (both as text).
constexpr const char* lua_holds = R"lua(
local function holds(lease, node, fence)
  local held = redis.call('HMGET', lease, 'node', 'fence')
  return held[1] == node and held[2] == fence
end
)lua";

// KEYS: lease, nodes, fence counter. ARGV: node, expiry ms.
// Returns {holder, fence, 0 someone else's | 1 already mine | 2 taken now}.
const redis_script& acquire_script() {
  static const redis_script script(std::string(lua_now_ms) + R"lua(
local now = now_ms()
local held = redis.call('HMGET', KEYS[1], 'node', 'fence')
if held[1] then
  if held[1] == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return {held[1], tonumber(held[2]), 1}
  end
  if alive(KEYS[2], held[1], now) then return {held[1], tonumber(held[2]), 0} end
end
if redis.call('EXISTS', KEYS[3]) == 0 then redis.call('SET', KEYS[3], ms(now * 1000)) end
local fence = redis.call('INCR', KEYS[3])
redis.call('HSET', KEYS[1], 'node', ARGV[1], 'fence', ms(fence))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {ARGV[1], fence, 2}
)lua");
  return script;
}

// KEYS: lease, nodes. Returns {holder, fence} of an alive holder, or {}.
const redis_script& owner_script() {
  static const redis_script script(std::string(lua_now_ms) + R"lua(
local held = redis.call('HMGET', KEYS[1], 'node', 'fence')
if held[1] and alive(KEYS[2], held[1], now_ms()) then return {held[1], tonumber(held[2])} end
return {}
)lua");
  return script;
}

// KEYS: lease, members, lease, members, ... ARGV: node, expiry ms, fence, fence, ...
// Returns the 1-based positions (in leases) of those no longer held with that fence.
const redis_script& renew_script() {
  static const redis_script script(std::string(lua_holds) + R"lua(
local lost = {}
for i = 1, #KEYS / 2 do
  local lease, members = KEYS[2 * i - 1], KEYS[2 * i]
  if holds(lease, ARGV[1], ARGV[i + 2]) then
    redis.call('PEXPIRE', lease, ARGV[2])
    redis.call('PEXPIRE', members, ARGV[2])
  else
    lost[#lost + 1] = i
  end
end
return lost
)lua");
  return script;
}

// KEYS: lease, members. ARGV: node, fence.
const redis_script& release_script() {
  static const redis_script script(std::string(lua_holds) + R"lua(
if not holds(KEYS[1], ARGV[1], ARGV[2]) then return 0 end
redis.call('DEL', KEYS[1], KEYS[2])
return 1
)lua");
  return script;
}

// KEYS: lease, members. ARGV: node, fence, expiry ms, user[, record]. Puts with a record,
// removes without one.
const redis_script& member_script() {
  static const redis_script script(std::string(lua_holds) + R"lua(
if not holds(KEYS[1], ARGV[1], ARGV[2]) then return 0 end
if ARGV[5] then
  redis.call('HSET', KEYS[2], ARGV[4], ARGV[5])
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
else
  redis.call('HDEL', KEYS[2], ARGV[4])
end
return 1
)lua");
  return script;
}

result<lease> lease_of(redis_reply& reply, const std::string& node) {
  if (!reply.is_array()) return error{failure::malformed, "expected a lease"};
  if (reply.elements.empty()) return lease{};
  if (reply.elements.size() < 2 || !reply.elements[0].is_string())
    return error{failure::malformed, "bad lease"};
  const auto fence = reply.elements[1].as_integer();
  if (!fence || *fence < 0) return error{failure::malformed, "bad fencing token"};
  lease out;
  out.owner = std::move(reply.elements[0].text);
  out.fence = static_cast<uint64_t>(*fence);
  out.mine = out.owner == node;
  if (reply.elements.size() >= 3) out.taken = reply.elements[2].as_integer() == 2;
  return out;
}

class redis_channel_leases final : public channel_leases {
 public:
  redis_channel_leases(redis_client& client, key_space keys, std::string node,
                       std::chrono::milliseconds expiry)
      : client_(client),
        keys_(std::move(keys)),
        node_(std::move(node)),
        expiry_(std::to_string(expiry.count())) {}

  void acquire(std::string channel, callback<lease> finished) override {
    run_script(client_, acquire_script(), {keys_.lease(channel), keys_.nodes(), keys_.fence()},
               {node_, expiry_},
               [node = node_, finished = std::move(finished)](result<redis_reply> reply) {
                 if (!reply) return finished(reply.failed());
                 finished(lease_of(*reply, node));
               });
  }

  void owner(std::string channel, callback<lease> finished) override {
    run_script(client_, owner_script(), {keys_.lease(channel), keys_.nodes()}, {},
               [node = node_, finished = std::move(finished)](result<redis_reply> reply) {
                 if (!reply) return finished(reply.failed());
                 finished(lease_of(*reply, node));
               });
  }

  void renew(std::vector<std::pair<std::string, uint64_t>> owned,
             callback<std::vector<std::string>> finished) override {
    auto join = detail::fan_in<std::vector<std::string>>::make(
        (owned.size() + renew_batch - 1) / renew_batch, std::move(finished));
    if (owned.empty()) return join->finish();
    auto channels =
        std::make_shared<std::vector<std::pair<std::string, uint64_t>>>(std::move(owned));
    for (std::size_t start = 0; start < channels->size(); start += renew_batch) {
      const std::size_t end = std::min(channels->size(), start + renew_batch);
      std::vector<std::string> keys;
      std::vector<std::string> args{node_, expiry_};
      for (std::size_t i = start; i < end; ++i) {
        keys.push_back(keys_.lease((*channels)[i].first));
        keys.push_back(keys_.members((*channels)[i].first));
        args.push_back(std::to_string((*channels)[i].second));
      }
      run_script(
          client_, renew_script(), std::move(keys), std::move(args),
          [join, channels, start, end](result<redis_reply> reply) {
            if (!reply) return join->fail(reply.failed());
            if (!reply->is_array())
              return join->fail(error{failure::malformed, "renew answered no list"});
            for (const auto& position : reply->elements) {
              const auto index = position.as_integer();
              if (!index || *index < 1 || start + static_cast<std::size_t>(*index) > end)
                return join->fail(error{failure::malformed, "renew answered a bad position"});
              join->collected().push_back(
                  (*channels)[start + static_cast<std::size_t>(*index) - 1].first);
            }
            join->part_done();
          });
    }
  }

  void release(std::string channel, uint64_t fence, callback<bool> finished) override {
    run_script(client_, release_script(), {keys_.lease(channel), keys_.members(channel)},
               {node_, std::to_string(fence)}, detail::expect_flag(std::move(finished)));
  }

  void put_member(std::string channel, uint64_t fence, std::string user, std::string record,
                  callback<bool> finished) override {
    run_script(client_, member_script(), {keys_.lease(channel), keys_.members(channel)},
               {node_, std::to_string(fence), expiry_, std::move(user), std::move(record)},
               detail::expect_flag(std::move(finished)));
  }

  void remove_member(std::string channel, uint64_t fence, std::string user,
                     callback<bool> finished) override {
    run_script(client_, member_script(), {keys_.lease(channel), keys_.members(channel)},
               {node_, std::to_string(fence), expiry_, std::move(user)},
               detail::expect_flag(std::move(finished)));
  }

  void members(std::string channel, callback<member_records> finished) override {
    client_.command({"HGETALL", keys_.members(channel)},
                    [finished = std::move(finished)](result<redis_reply> reply) {
                      if (!reply) return finished(reply.failed());
                      auto records = detail::field_pairs(*reply);
                      if (records) std::sort(records->begin(), records->end());
                      finished(std::move(records));
                    });
  }

 private:
  redis_client& client_;
  key_space keys_;
  std::string node_;
  std::string expiry_;
};

}  // namespace

std::unique_ptr<channel_leases> make_redis_channel_leases(redis_client& client, key_space keys,
                                                          std::string node,
                                                          std::chrono::milliseconds expiry) {
  return std::make_unique<redis_channel_leases>(client, std::move(keys), std::move(node), expiry);
}

}  // namespace kwm::cluster
