#pragma once
// A client frame parsed into the message type a test expects.
#include <doctest/doctest.h>

#include <string_view>
#include <utility>
#include <variant>

#include "protocol/rtm_parse.hpp"

namespace kwm::test {

// Fails the test when `text` parses as anything but `Message`.
template <class Message>
Message parsed_as(std::string_view text) {
  auto frame = protocol::parse_client_frame(text);
  REQUIRE(std::holds_alternative<Message>(frame));
  return std::get<Message>(std::move(frame));
}

}  // namespace kwm::test
