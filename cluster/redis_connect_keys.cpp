#include "cluster/connect_keys.hpp"

#include "cluster/redis_client.hpp"
#include "cluster/redis_script.hpp"

namespace kwm::cluster {
namespace {

class redis_connect_keys final : public connect_key_store {
 public:
  redis_connect_keys(redis_client& client, key_space keys, std::chrono::milliseconds lifetime)
      : client_(client), keys_(std::move(keys)), lifetime_(std::to_string(lifetime.count())) {}

  void issue(std::string key, std::string grant, callback<done> finished) override {
    client_.command({"SET", keys_.connect_key(key), std::move(grant), "PX", lifetime_, "NX"},
                    [finished = std::move(finished)](result<redis_reply> reply) {
                      if (!reply) return finished(reply.failed());
                      if (reply->is_status("OK")) return finished(done{});
                      if (reply->is_nil())
                        return finished(error{failure::rejected, "connect key exists"});
                      finished(error{failure::malformed, "SET answered " + reply->text});
                    });
  }

  void redeem(std::string key, callback<std::optional<std::string>> finished) override {
    run_script(client_, get_and_delete_script(), {keys_.connect_key(key)}, {},
               [finished = std::move(finished)](result<redis_reply> reply) {
                 if (!reply) return finished(reply.failed());
                 if (reply->is_nil()) return finished(std::optional<std::string>());
                 if (!reply->is_string())
                   return finished(error{failure::malformed, "redeem answered no string"});
                 finished(std::optional<std::string>(std::move(reply->text)));
               });
  }

 private:
  redis_client& client_;
  key_space keys_;
  std::string lifetime_;
};

}  // namespace

std::unique_ptr<connect_key_store> make_redis_connect_keys(redis_client& client, key_space keys,
                                                           std::chrono::milliseconds lifetime) {
  return std::make_unique<redis_connect_keys>(client, std::move(keys), lifetime);
}

}  // namespace kwm::cluster
