#include "cluster/admin_token_store.hpp"

#include <algorithm>

#include "cluster/detail/replies.hpp"
#include "cluster/redis_client.hpp"
#include "cluster/redis_script.hpp"

namespace kwm::cluster {
namespace {

// Whether one more record fits under the bound ARGV[limit_arg] (KEYS: records, bodies,
// expiries); expired records are dropped first when the store is full (N4, as on one node).
constexpr const char* lua_record_room = R"lua(
local function room(id, now, limit)
  if limit == 0 or redis.call('ZSCORE', KEYS[1], id) then return true end
  if redis.call('ZCARD', KEYS[1]) < limit then return true end
  local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ms(now))
  for i = 1, #expired do
    redis.call('HDEL', KEYS[2], expired[i])
    redis.call('HDEL', KEYS[3], expired[i])
  end
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ms(now))
  return redis.call('ZCARD', KEYS[1]) < limit
end
)lua";

// KEYS: records, bodies, expiries. ARGV: id, body, exp, lifetime ms, max records. Returns 0
// when the store is full (the record is not kept).
const redis_script& put_script() {
  static const redis_script script(std::string(lua_now_ms) + lua_record_room + R"lua(
local now = now_ms()
if not room(ARGV[1], now, tonumber(ARGV[5])) then return 0 end
redis.call('ZADD', KEYS[1], ms(now + tonumber(ARGV[4])), ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
return 1
)lua");
  return script;
}

// KEYS: records, bodies, expiries, revocations. ARGV: id, body, exp, lifetime ms, subject,
// iat, max records. A record the full store has no room for is not made (the token is fine).
const redis_script& touch_script() {
  static const redis_script script(std::string(lua_now_ms) + lua_record_room + R"lua(
local now = now_ms()
if ARGV[5] ~= '' then
  local revoked = redis.call('ZSCORE', KEYS[4], ARGV[5])
  if revoked and tonumber(revoked) >= tonumber(ARGV[6]) then return 0 end
end
if not room(ARGV[1], now, tonumber(ARGV[7])) then return 1 end
local deadline = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not deadline or tonumber(deadline) <= now then
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
  redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
elseif ARGV[3] ~= '0' then
  redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
end
redis.call('ZADD', KEYS[1], ms(now + tonumber(ARGV[4])), ARGV[1])
return 1
)lua");
  return script;
}

// KEYS: records, bodies, expiries. ARGV: id. Returns 1 when an unexpired record existed.
const redis_script& remove_script() {
  static const redis_script script(std::string(lua_now_ms) + R"lua(
local deadline = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
if deadline and tonumber(deadline) > now_ms() then return 1 end
return 0
)lua");
  return script;
}

// KEYS: records, bodies, expiries. Drops expired records; returns the ids of the others.
const redis_script& live_ids_script() {
  static const redis_script script(std::string(lua_now_ms) + R"lua(
local now = ms(now_ms())
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
for i = 1, #expired do
  redis.call('HDEL', KEYS[2], expired[i])
  redis.call('HDEL', KEYS[3], expired[i])
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZRANGE', KEYS[1], 0, -1)
)lua");
  return script;
}

// KEYS: bodies, expiries. ARGV: ids. Returns {body, exp, body, exp, ...} (false when gone).
const redis_script& fetch_script() {
  static const redis_script script(R"lua(
local out = {}
for i = 1, #ARGV do
  out[#out + 1] = redis.call('HGET', KEYS[1], ARGV[i])
  out[#out + 1] = redis.call('HGET', KEYS[2], ARGV[i])
end
return out
)lua");
  return script;
}

// KEYS: revocations. ARGV: subject, at, keep seconds, max revocations. Returns -1 when a new
// subject finds the store full even after forgetting the old revocations.
const redis_script& revoke_script() {
  static const redis_script script(std::string(lua_now_ms) + R"lua(
local at = tonumber(ARGV[2])
local limit = tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ms(at - tonumber(ARGV[3])))
local current = redis.call('ZSCORE', KEYS[1], ARGV[1])
if current and tonumber(current) >= at then
  return tonumber(current)
end
if not current and limit ~= 0 and redis.call('ZCARD', KEYS[1]) >= limit then return -1 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
return at
)lua");
  return script;
}

std::optional<int64_t> integer_text(const redis_reply& reply) {
  if (reply.is_nil()) return int64_t{0};
  return reply.as_integer();
}

class redis_admin_token_store final : public admin_token_store {
 public:
  redis_admin_token_store(redis_client& client, key_space keys, std::chrono::milliseconds lifetime,
                          std::size_t max_records)
      : client_(client),
        keys_(std::move(keys)),
        lifetime_(std::to_string(lifetime.count())),
        max_records_(std::to_string(max_records)) {}

  void put(admin_record record, callback<done> finished) override {
    run_script(client_, put_script(), record_keys(),
               {std::move(record.id), std::move(record.body), std::to_string(record.exp), lifetime_,
                max_records_},
               detail::expect_done(std::move(finished)));
  }

  void touch(admin_record record, std::string subject, int64_t issued_at,
             callback<bool> finished) override {
    auto keys = record_keys();
    keys.push_back(keys_.revocations());
    run_script(client_, touch_script(), std::move(keys),
               {std::move(record.id), std::move(record.body), std::to_string(record.exp), lifetime_,
                std::move(subject), std::to_string(issued_at), max_records_},
               detail::expect_flag(std::move(finished)));
  }

  void remove(std::string id, callback<bool> finished) override {
    run_script(client_, remove_script(), record_keys(), {std::move(id)},
               detail::expect_flag(std::move(finished)));
  }

  void list(std::size_t limit, callback<std::vector<admin_record>> finished) override {
    run_script(client_, live_ids_script(), record_keys(), {},
               [this, limit, finished = std::move(finished)](result<redis_reply> reply) mutable {
                 if (!reply) return finished(reply.failed());
                 if (!reply->is_array())
                   return finished(error{failure::malformed, "expected record ids"});
                 std::vector<std::string> ids;
                 for (auto& id : reply->elements) ids.push_back(std::move(id.text));
                 std::sort(ids.begin(), ids.end());  // byte order, as one server lists them
                 if (ids.size() > limit) ids.resize(limit);
                 fetch(std::move(ids), std::move(finished));
               });
  }

  void revoke(std::string subject, int64_t at, std::chrono::seconds keep,
              std::size_t max_revocations, callback<int64_t> finished) override {
    run_script(client_, revoke_script(), {keys_.revocations()},
               {std::move(subject), std::to_string(at), std::to_string(keep.count()),
                std::to_string(max_revocations)},
               [finished = std::move(finished)](result<redis_reply> reply) {
                 if (!reply) return finished(reply.failed());
                 const auto effective = reply->as_integer();
                 if (!effective)
                   return finished(error{failure::malformed, "revoke answered no time"});
                 if (*effective < 0) return finished(error{failure::rejected, revocations_full});
                 finished(*effective);
               });
  }

  void revoked_at(std::string subject, callback<std::optional<int64_t>> finished) override {
    client_.command({"ZSCORE", keys_.revocations(), std::move(subject)},
                    [finished = std::move(finished)](result<redis_reply> reply) {
                      if (!reply) return finished(reply.failed());
                      if (reply->is_nil()) return finished(std::optional<int64_t>());
                      const auto at = reply->as_integer();
                      if (!at)
                        return finished(error{failure::malformed, "revocation time is no integer"});
                      finished(std::optional<int64_t>(*at));
                    });
  }

 private:
  std::vector<std::string> record_keys() const {
    return {keys_.admin_records(), keys_.admin_data(), keys_.admin_expiry()};
  }

  void fetch(std::vector<std::string> ids, callback<std::vector<admin_record>> finished) {
    if (ids.empty()) return finished(std::vector<admin_record>());
    auto wanted = std::make_shared<std::vector<std::string>>(ids);
    run_script(
        client_, fetch_script(), {keys_.admin_data(), keys_.admin_expiry()}, std::move(ids),
        [wanted, finished = std::move(finished)](result<redis_reply> reply) {
          if (!reply) return finished(reply.failed());
          if (!reply->is_array() || reply->elements.size() != 2 * wanted->size())
            return finished(error{failure::malformed, "expected record bodies"});
          std::vector<admin_record> records;
          for (std::size_t i = 0; i < wanted->size(); ++i) {
            auto& body = reply->elements[2 * i];
            const auto exp = integer_text(reply->elements[2 * i + 1]);
            if (body.is_nil()) continue;  // removed between the two calls
            records.push_back({std::move((*wanted)[i]), std::move(body.text), exp.value_or(0)});
          }
          finished(std::move(records));
        });
  }

  redis_client& client_;
  key_space keys_;
  std::string lifetime_;
  std::string max_records_;
};

}  // namespace

std::unique_ptr<admin_token_store> make_redis_admin_tokens(
    redis_client& client, key_space keys, std::chrono::milliseconds record_lifetime,
    std::size_t max_records) {
  return std::make_unique<redis_admin_token_store>(client, std::move(keys), record_lifetime,
                                                   max_records);
}

}  // namespace kwm::cluster
