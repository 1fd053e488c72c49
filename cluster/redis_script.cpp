#include "cluster/redis_script.hpp"

#include <openssl/sha.h>

#include <memory>

namespace kwm::cluster {
namespace {

std::string hex_sha1(const std::string& text) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * SHA_DIGEST_LENGTH);
  for (const unsigned char byte : digest) {
    out += digits[byte >> 4];
    out += digits[byte & 0x0f];
  }
  return out;
}

}  // namespace

redis_script::redis_script(std::string source)
    : source_(std::move(source)), sha1_(hex_sha1(source_)) {}

void run_script(redis_client& client, const redis_script& script, std::vector<std::string> keys,
                std::vector<std::string> args, reply_callback done) {
  std::vector<std::string> command;
  command.reserve(3 + keys.size() + args.size());
  command.push_back("EVALSHA");
  command.push_back(script.sha1());
  command.push_back(std::to_string(keys.size()));
  for (auto& key : keys) command.push_back(std::move(key));
  for (auto& arg : args) command.push_back(std::move(arg));
  // Kept for the EVAL fallback; the source is referenced, the script outlives the call.
  auto fallback = std::make_shared<std::vector<std::string>>(command);
  client.command(std::move(command),
                 [&client, &script, fallback, done = std::move(done)](result<redis_reply> reply) {
                   if (reply && reply->is_error() && reply->text.starts_with("NOSCRIPT")) {
                     (*fallback)[0] = "EVAL";
                     (*fallback)[1] = script.source();
                     client.command(std::move(*fallback), [done](result<redis_reply> retried) {
                       done(retried ? reject_error_reply(std::move(*retried)) : std::move(retried));
                     });
                     return;
                   }
                   done(reply ? reject_error_reply(std::move(*reply)) : std::move(reply));
                 });
}

const redis_script& get_and_delete_script() {
  static const redis_script script(R"lua(
local value = redis.call('GET', KEYS[1])
if value then redis.call('DEL', KEYS[1]) end
return value
)lua");
  return script;
}

}  // namespace kwm::cluster
