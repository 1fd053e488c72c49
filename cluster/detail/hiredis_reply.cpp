#include "cluster/detail/hiredis_reply.hpp"

#include <hiredis/hiredis.h>

namespace kwm::cluster::detail {

redis_reply to_reply(const redisReply& raw) {
  redis_reply out;
  switch (raw.type) {
    case REDIS_REPLY_STRING:
      out.type = redis_reply::kind::string;
      out.text.assign(raw.str, raw.len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = redis_reply::kind::status;
      out.text.assign(raw.str, raw.len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = redis_reply::kind::error;
      out.text.assign(raw.str, raw.len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = redis_reply::kind::integer;
      out.integer = raw.integer;
      break;
    case REDIS_REPLY_ARRAY:
      // hiredis's reader refuses nesting deeper than 7 levels, so this recursion is bounded.
      out.type = redis_reply::kind::array;
      out.elements.reserve(raw.elements);
      for (std::size_t i = 0; i < raw.elements; ++i)
        out.elements.push_back(raw.element[i] ? to_reply(*raw.element[i]) : redis_reply{});
      break;
    default:  // REDIS_REPLY_NIL (RESP3 types cannot occur: we never send HELLO 3)
      break;
  }
  return out;
}

}  // namespace kwm::cluster::detail
