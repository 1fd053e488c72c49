#include "cluster/node_registry.hpp"

#include "cluster/detail/replies.hpp"
#include "cluster/redis_client.hpp"
#include "cluster/redis_script.hpp"

namespace kwm::cluster {
namespace {

// KEYS: nodes, info. ARGV: node, ttl ms, field, value, ...
const redis_script& join_script() {
  static const redis_script script(std::string(lua_now_ms) + R"lua(
local now = now_ms()
if alive(KEYS[1], ARGV[1], now) then return 0 end
redis.call('ZADD', KEYS[1], ms(now + tonumber(ARGV[2])), ARGV[1])
redis.call('DEL', KEYS[2])
if #ARGV > 2 then redis.call('HSET', KEYS[2], unpack(ARGV, 3)) end
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1
)lua");
  return script;
}

// KEYS: nodes, info. ARGV: node, ttl ms, field, value, ... Returns {was alive 0/1, node, ...}.
const redis_script& heartbeat_script() {
  static const redis_script script(std::string(lua_now_ms) + R"lua(
local now = now_ms()
local was = alive(KEYS[1], ARGV[1], now)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ms(now))
redis.call('ZADD', KEYS[1], ms(now + tonumber(ARGV[2])), ARGV[1])
if not was and #ARGV > 2 then
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[2], unpack(ARGV, 3))
end
redis.call('PEXPIRE', KEYS[2], ARGV[2])
local out = redis.call('ZRANGE', KEYS[1], 0, -1)
table.insert(out, 1, was and 1 or 0)
return out
)lua");
  return script;
}

// KEYS: nodes, info. ARGV: node.
const redis_script& leave_script() {
  static const redis_script script(R"lua(
redis.call('ZREM', KEYS[1], ARGV[1])
return redis.call('DEL', KEYS[2])
)lua");
  return script;
}

// KEYS: nodes.
const redis_script& alive_script() {
  static const redis_script script(std::string(lua_now_ms) + R"lua(
return redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ms(now_ms()), '+inf')
)lua");
  return script;
}

result<std::vector<std::string>> strings_of(redis_reply& reply, std::size_t from) {
  if (!reply.is_array()) return error{failure::malformed, "expected a list of nodes"};
  std::vector<std::string> out;
  for (std::size_t i = from; i < reply.elements.size(); ++i) {
    if (!reply.elements[i].is_string()) return error{failure::malformed, "expected node ids"};
    out.push_back(std::move(reply.elements[i].text));
  }
  return out;
}

class redis_node_registry final : public node_registry {
 public:
  redis_node_registry(redis_client& client, key_space keys, std::string node, node_info info,
                      std::chrono::milliseconds ttl)
      : client_(client),
        keys_(std::move(keys)),
        node_(std::move(node)),
        info_(std::move(info)),
        ttl_(std::to_string(ttl.count())) {}

  void join(node_info info, callback<bool> finished) override {
    info_ = std::move(info);
    run_script(client_, join_script(), {keys_.nodes(), keys_.node_info(node_)}, arguments(),
               [finished = std::move(finished)](result<redis_reply> reply) {
                 if (!reply) return finished(reply.failed());
                 const auto joined = reply->as_integer();
                 if (!joined) return finished(error{failure::malformed, "join answered no number"});
                 finished(*joined == 1);
               });
  }

  void heartbeat(callback<heartbeat_result> finished) override {
    run_script(
        client_, heartbeat_script(), {keys_.nodes(), keys_.node_info(node_)}, arguments(),
        [finished = std::move(finished)](result<redis_reply> reply) {
          if (!reply) return finished(reply.failed());
          if (!reply->is_array() || reply->elements.empty() || !reply->elements[0].is_integer())
            return finished(error{failure::malformed, "heartbeat answered no list"});
          auto alive = strings_of(*reply, 1);
          if (!alive) return finished(alive.failed());
          finished(heartbeat_result{reply->elements[0].integer == 1, std::move(*alive)});
        });
  }

  void leave(callback<done> finished) override {
    run_script(client_, leave_script(), {keys_.nodes(), keys_.node_info(node_)}, {node_},
               detail::expect_done(std::move(finished)));
  }

  void alive(callback<std::vector<std::string>> finished) override {
    run_script(client_, alive_script(), {keys_.nodes()}, {},
               [finished = std::move(finished)](result<redis_reply> reply) {
                 if (!reply) return finished(reply.failed());
                 finished(strings_of(*reply, 0));
               });
  }

  void info(std::string node, callback<node_info> finished) override {
    client_.command({"HGETALL", keys_.node_info(node)},
                    [finished = std::move(finished)](result<redis_reply> reply) {
                      if (!reply) return finished(reply.failed());
                      finished(detail::field_pairs(*reply));
                    });
  }

 private:
  std::vector<std::string> arguments() const {
    std::vector<std::string> args{node_, ttl_};
    for (const auto& [field, value] : info_) {
      args.push_back(field);
      args.push_back(value);
    }
    return args;
  }

  redis_client& client_;
  key_space keys_;
  std::string node_;
  node_info info_;
  std::string ttl_;
};

}  // namespace

std::unique_ptr<node_registry> make_redis_node_registry(redis_client& client, key_space keys,
                                                        std::string node, node_info info,
                                                        std::chrono::milliseconds ttl) {
  return std::make_unique<redis_node_registry>(client, std::move(keys), std::move(node),
                                               std::move(info), ttl);
}

}  // namespace kwm::cluster
