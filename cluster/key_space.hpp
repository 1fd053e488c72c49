#pragma once
// Every Redis key and pub/sub channel of the cluster, in one place. All start with a
// prefix ("kwm:" by default), so several clusters can share one Redis (one prefix each)
// and an operator can see at a glance what belongs to kwmserverd. Ids are used as they
// are: Redis keys are binary-safe, and each kind has its own fixed infix, so no id can
// make one kind of key collide with another.
#include <string>
#include <string_view>

namespace kwm::cluster {

class key_space {
 public:
  explicit key_space(std::string prefix = "kwm:") : prefix_(std::move(prefix)) {}

  // string, PX 30 s: one connect key's grant (spec §2)
  std::string connect_key(std::string_view key) const { return join("ck:", key); }
  // hash node → live connection count of one user (cap D17 and presence)
  std::string user(std::string_view user_id) const { return join(user_infix_, user_id); }
  // sorted set node → liveness deadline (Redis time, ms)
  std::string nodes() const { return prefix_ + "nodes"; }
  // hash: what a node says about itself (name, start time, version)
  std::string node_info(std::string_view node) const { return join("node:", node); }
  // hash {node, fence}: which node sequences a channel
  std::string lease(std::string_view channel) const { return join("lease:", channel); }
  // hash user → member record, written by the owner only (fenced)
  std::string members(std::string_view channel) const { return join("members:", channel); }
  // integer: the last fencing token handed out
  std::string fence() const { return prefix_ + "fence"; }
  // string: the channel-hash key (spec §3.8), made once
  std::string hash_key() const { return prefix_ + "hash-key"; }
  // sorted set record id → expiry (ms); hashes record id → record body, → token exp (spec §1.6)
  std::string admin_records() const { return prefix_ + "admin:records"; }
  std::string admin_data() const { return prefix_ + "admin:data"; }
  std::string admin_expiry() const { return prefix_ + "admin:exp"; }
  // sorted set subject → revocation time (unix seconds, D9)
  std::string revocations() const { return prefix_ + "admin:revoked"; }

  // string, PX 30 s: the node whose MCU pipeline waits for an attach transaction (§3.17)
  std::string mcu_transaction(std::string_view transaction) const {
    return join("mcu:tx:", transaction);
  }
  // integer: the last MCU handle handed out
  std::string mcu_handle() const { return prefix_ + "mcu:handle"; }
  // The key space of the MCU's control sockets: counted per node like a user's connections
  // (cluster/user_connections.hpp), under the one id mcu_control_holder, in a hash of their
  // own (no user id can name it); every other key is this one's.
  key_space mcu_controls() const {
    key_space controls(*this);
    controls.user_infix_ = "mcu:u:";
    return controls;
  }
  static constexpr std::string_view mcu_control_holder = "control";

  // pub/sub: one inbox per node, one channel to all nodes, one probe per client
  std::string inbox(std::string_view node) const { return join("inbox:", node); }
  std::string everyone() const { return prefix_ + "all"; }
  std::string probe(std::string_view node) const { return join("probe:", node); }

  const std::string& prefix() const { return prefix_; }

 private:
  std::string join(std::string_view infix, std::string_view id) const {
    std::string key;
    key.reserve(prefix_.size() + infix.size() + id.size());
    key.append(prefix_).append(infix).append(id);
    return key;
  }

  std::string prefix_;
  std::string_view user_infix_ = "u:";
};

}  // namespace kwm::cluster
