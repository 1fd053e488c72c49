#pragma once
// hiredis's reply objects → our owned redis_reply.
#include "cluster/redis_reply.hpp"

struct redisReply;

namespace kwm::cluster::detail {

redis_reply to_reply(const redisReply& raw);

}  // namespace kwm::cluster::detail
