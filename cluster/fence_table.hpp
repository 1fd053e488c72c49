#pragma once
// The fencing tokens a node knows per channel (docs/cluster.md, "Fencing"), so that frames
// of an owner that lost its lease (paused or cut off past the node TTL) are dropped by the
// receivers instead of reaching members after the new owner's frames.
//
// * `owned`: the token of this node's own lease; `sending` puts it on the frames it sends.
// * `known`: the newest token of another owner this node has heard of (a proxy's lease).
// * `fresh`: a frame whose token is older than the newest one known for its channel is
//   stale. A newer token is remembered from then on. Frames without token (0) and frames
//   of channels this node keeps no token for pass: the table only holds channels the
//   registry knows, so a sender cannot make it grow.
//
// Not thread-safe: the cluster link uses it on the Redis client's thread only.
#include <algorithm>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace kwm::cluster {

class fence_table {
 public:
  // 0 forgets the token. A known token never goes back: tokens only grow, so an older one
  // (a lease read before a takeover, answered late) is no news.
  void owned(std::string_view channel, uint64_t fence) { set(channel, fence, &tokens::owned); }
  void known(std::string_view channel, uint64_t fence) { set(channel, fence, &tokens::known); }

  // The token for frames this node sends on behalf of the channel (0: none).
  uint64_t sending(std::string_view channel) const {
    const auto it = channels_.find(channel);
    return it == channels_.end() ? 0 : it->second.owned;
  }

  bool fresh(std::string_view channel, uint64_t fence) {
    if (fence == 0) return true;
    const auto it = channels_.find(channel);
    if (it == channels_.end()) return true;
    auto& entry = it->second;
    if (fence < std::max(entry.owned, entry.known)) return false;
    entry.known = std::max(entry.known, fence);
    return true;
  }

  std::size_t size() const { return channels_.size(); }

 private:
  struct tokens {
    uint64_t owned = 0;
    uint64_t known = 0;
  };

  // Looked up by string_view: `sending` and `fresh` run for every deliver message.
  struct channel_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view channel) const {
      return std::hash<std::string_view>{}(channel);
    }
  };

  void set(std::string_view channel, uint64_t fence, uint64_t tokens::*which) {
    if (fence != 0) {
      auto it = channels_.find(channel);
      if (it == channels_.end()) it = channels_.emplace(std::string(channel), tokens{}).first;
      auto& token = it->second.*which;
      token = which == &tokens::known ? std::max(token, fence) : fence;
      return;
    }
    const auto it = channels_.find(channel);
    if (it == channels_.end()) return;
    it->second.*which = 0;
    if (it->second.owned == 0 && it->second.known == 0) channels_.erase(it);
  }

  std::unordered_map<std::string, tokens, channel_hash, std::equal_to<>> channels_;
};

}  // namespace kwm::cluster
