#include "cluster/channel_hash_key.hpp"

#include "cluster/redis_client.hpp"
#include "cluster/redis_script.hpp"

namespace kwm::cluster {
namespace {

const redis_script& ensure_script() {
  static const redis_script script(R"lua(
redis.call('SET', KEYS[1], ARGV[1], 'NX')
return redis.call('GET', KEYS[1])
)lua");
  return script;
}

class redis_channel_hash_key final : public channel_hash_key_store {
 public:
  redis_channel_hash_key(redis_client& client, key_space keys)
      : client_(client), keys_(std::move(keys)) {}

  void ensure(std::string candidate, callback<std::string> finished) override {
    if (candidate.empty()) return finished(error{failure::rejected, "empty channel-hash key"});
    run_script(client_, ensure_script(), {keys_.hash_key()}, {std::move(candidate)},
               [finished = std::move(finished)](result<redis_reply> reply) {
                 if (!reply) return finished(reply.failed());
                 if (!reply->is_string() || reply->text.empty())
                   return finished(error{failure::malformed, "no channel-hash key"});
                 finished(std::move(reply->text));
               });
  }

 private:
  redis_client& client_;
  key_space keys_;
};

}  // namespace

std::unique_ptr<channel_hash_key_store> make_redis_channel_hash_key(redis_client& client,
                                                                    key_space keys) {
  return std::make_unique<redis_channel_hash_key>(client, std::move(keys));
}

}  // namespace kwm::cluster
