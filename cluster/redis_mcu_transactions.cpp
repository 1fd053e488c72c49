#include "cluster/mcu_transactions.hpp"

#include "cluster/redis_client.hpp"
#include "cluster/redis_script.hpp"

namespace kwm::cluster {
namespace {

class redis_mcu_transactions final : public mcu_transaction_store {
 public:
  redis_mcu_transactions(redis_client& client, key_space keys, std::string node,
                         std::chrono::milliseconds lifetime)
      : client_(client),
        keys_(std::move(keys)),
        node_(std::move(node)),
        lifetime_(std::to_string(lifetime.count())) {}

  void issue(std::string transaction, callback<done> finished) override {
    client_.command({"SET", keys_.mcu_transaction(transaction), node_, "PX", lifetime_, "NX"},
                    [finished = std::move(finished)](result<redis_reply> reply) {
                      if (!reply) return finished(reply.failed());
                      if (reply->is_status("OK")) return finished(done{});
                      if (reply->is_nil())
                        return finished(error{failure::rejected, "transaction exists"});
                      finished(error{failure::malformed, "SET answered " + reply->text});
                    });
  }

  void find(std::string transaction, bool take,
            callback<std::optional<std::string>> finished) override {
    auto answer = [finished = std::move(finished)](result<redis_reply> reply) {
      if (!reply) return finished(reply.failed());
      if (reply->is_nil()) return finished(std::optional<std::string>());
      if (!reply->is_string()) return finished(error{failure::malformed, "no node named"});
      finished(std::optional<std::string>(std::move(reply->text)));
    };
    auto key = keys_.mcu_transaction(transaction);
    if (take) return run_script(client_, get_and_delete_script(), {std::move(key)}, {}, std::move(answer));
    client_.command({"GET", std::move(key)}, std::move(answer));
  }

  void next_handle(callback<int64_t> finished) override {
    client_.command({"INCR", keys_.mcu_handle()},
                    [finished = std::move(finished)](result<redis_reply> reply) {
                      if (!reply) return finished(reply.failed());
                      const auto handle = reply->as_integer();
                      if (!handle || *handle <= 0)
                        return finished(error{failure::malformed, "INCR answered " + reply->text});
                      finished(*handle);
                    });
  }

 private:
  redis_client& client_;
  key_space keys_;
  std::string node_;
  std::string lifetime_;
};

}  // namespace

std::unique_ptr<mcu_transaction_store> make_redis_mcu_transactions(
    redis_client& client, key_space keys, std::string node, std::chrono::milliseconds lifetime) {
  return std::make_unique<redis_mcu_transactions>(client, std::move(keys), std::move(node),
                                                  lifetime);
}

}  // namespace kwm::cluster
