#include "app/limit_checks.hpp"

#include <algorithm>

#include "protocol/fanout_bound.hpp"

namespace kwm::app {

limit_check check_limits(const runtime_options& options) {
  const auto& ws = options.server.websocket;
  const auto& http = options.server.http;
  const auto& connection = options.rtm.connection;
  limit_check result;
  if (ws.send_queue_messages == 0) {
    result.error = "--ws-send-queue-messages must be at least 1";
    return result;
  }
  const auto& rate = connection.rate_limit;
  if (rate.bytes_per_second != 0 && rate.burst_bytes < ws.max_message_bytes) {
    result.error = "--rtm-rate-burst-bytes " + std::to_string(rate.burst_bytes) +
                   " is smaller than the largest message (" + std::to_string(ws.max_message_bytes) +
                   " bytes): such messages could never pass the rate limit";
    return result;
  }
  const auto max_input =
      std::max({ws.max_message_bytes, http.max_body_bytes, http.max_header_bytes});
  const auto largest = protocol::largest_fanout_frame(
      connection.fields, options.channels.max_group_members, max_input);
  if (!largest) {
    result.warning =
        "a field or group size limit is off: frames sent to many receivers are not bounded by the "
        "outgoing queue";
    return result;
  }
  if (largest->bytes > ws.send_queue_bytes)
    result.error = "--ws-send-queue-bytes " + std::to_string(ws.send_queue_bytes) +
                   " cannot hold the largest frame the server may send to other connections (" +
                   std::string(largest->kind) + ", up to " + std::to_string(largest->bytes) +
                   " bytes with --rtm-max-user-bytes " +
                   std::to_string(connection.fields.user_bytes) + ", --rtm-max-field-bytes " +
                   std::to_string(connection.fields.field_bytes) + ", --rtm-max-data-bytes " +
                   std::to_string(connection.fields.data_bytes) + " and --rtm-max-group-members " +
                   std::to_string(options.channels.max_group_members) +
                   "); raise it or lower those limits";
  return result;
}

}  // namespace kwm::app
