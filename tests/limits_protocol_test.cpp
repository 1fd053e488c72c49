// Pure code of D20 and D22: field limits, UTF-8 truncation, the fan-out bound, RE2 patterns.
#include <doctest/doctest.h>

#include <cstdint>
#include <variant>

#include "protocol/fanout_bound.hpp"
#include "protocol/field_limits.hpp"
#include "protocol/rtm_parse.hpp"
#include "protocol/search_pattern.hpp"
#include "protocol/webrtc_output.hpp"
#include "support/parsed_frame.hpp"

using namespace kwm::protocol;

namespace {

webrtc_message parsed_webrtc(const std::string& text) {
  return kwm::test::parsed_as<webrtc_message>(text);
}

}  // namespace

TEST_CASE("field limits: each webrtc field at its limit passes, one byte more names the field") {
  const field_limits limits;
  CHECK(limits.user_bytes == 256);
  CHECK(limits.field_bytes == 256);
  CHECK(limits.data_bytes == 65536);
  for (const char* field : {"target", "state", "channel", "group", "hash", "transaction", "pcid"}) {
    CAPTURE(field);
    const auto frame = [&](std::size_t length) {
      return R"({"type":"webrtc","subtype":"webrtc_signal",")" + std::string(field) + R"(":")" +
             std::string(length, 'x') + R"("})";
    };
    CHECK_FALSE(check_field_limits(parsed_webrtc(frame(256)), limits).has_value());
    CHECK(check_field_limits(parsed_webrtc(frame(257)), limits) ==
          std::optional<std::string_view>(std::string(field) + " too long"));
  }
  // Escapes count as the bytes they stand for: 128 × "\u00e9" are 256 bytes.
  std::string escaped;
  for (int i = 0; i < 128; ++i) escaped += "\\u00e9";
  CHECK_FALSE(
      check_field_limits(parsed_webrtc(R"({"type":"webrtc","state":")" + escaped + R"("})"), limits)
          .has_value());
  CHECK(check_field_limits(parsed_webrtc(R"({"type":"webrtc","state":")" + escaped + R"(x"})"),
                           limits) == std::optional<std::string_view>("state too long"));

  // Several too long: group first, then the wire order of spec §3.7.
  const std::string long_text(300, 'y');
  CHECK(check_field_limits(parsed_webrtc(R"({"type":"webrtc","target":")" + long_text +
                                         R"(","group":")" + long_text + R"("})"),
                           limits) == std::optional<std::string_view>("group too long"));
  CHECK(check_field_limits(parsed_webrtc(R"({"type":"webrtc","pcid":")" + long_text +
                                         R"(","state":")" + long_text + R"("})"),
                           limits) == std::optional<std::string_view>("state too long"));

  // data serialised: {"a":"…"} of 65536 bytes passes, 65537 does not; also for data the server
  // ignores.
  const auto with_data = [](std::size_t serialised) {
    return R"({"type":"webrtc","subtype":"webrtc_group","data":{"a":")" +
           std::string(serialised - 8, 'd') + R"("}})";
  };
  CHECK_FALSE(check_field_limits(parsed_webrtc(with_data(65536)), limits).has_value());
  CHECK(check_field_limits(parsed_webrtc(with_data(65537)), limits) ==
        std::optional<std::string_view>("data too long"));

  // 0 turns a limit off.
  field_limits off;
  off.field_bytes = 0;
  off.data_bytes = 0;
  CHECK_FALSE(check_field_limits(parsed_webrtc(with_data(70000)), off).has_value());
  CHECK_FALSE(
      check_field_limits(parsed_webrtc(R"({"type":"webrtc","state":")" + long_text + R"("})"), off)
          .has_value());

  chats_message chat;
  chat.channel = std::string(256, 'c');
  CHECK_FALSE(check_field_limits(chat, limits).has_value());
  chat.transaction = std::string(257, 't');
  CHECK(check_field_limits(chat, limits) ==
        std::optional<std::string_view>("transaction too long"));
  chat.group = std::string(257, 'g');
  CHECK(check_field_limits(chat, limits) == std::optional<std::string_view>("group too long"));
}

TEST_CASE("user ids fit or not, display names are cut at a character boundary") {
  const field_limits limits;
  CHECK(limits.user_fits(std::string(256, 'u')));
  CHECK_FALSE(limits.user_fits(std::string(257, 'u')));
  CHECK(truncate_utf8("short", 256) == "short");
  CHECK(truncate_utf8(std::string(300, 'a'), 256) == std::string(256, 'a'));
  // 255 ASCII bytes then "é" (2 bytes): the é does not fit and goes whole.
  CHECK(truncate_utf8(std::string(255, 'a') + "\xC3\xA9", 256) == std::string(255, 'a'));
  // A 4-byte character across the limit.
  CHECK(truncate_utf8(std::string(254, 'a') + "\xF0\x9F\x98\x80", 256) == std::string(254, 'a'));
  CHECK(truncate_utf8(std::string(300, 'a'), 0) == std::string(300, 'a'));
}

TEST_CASE(
    "the largest fan-out frame with the default limits is a member list of 1000 worst-case ids") {
  const field_limits limits;
  const auto largest = largest_fanout_frame(limits, 1000, 1 << 20);
  REQUIRE(largest.has_value());
  CHECK(largest->kind == "group member list");
  // What the bound stands for, rendered for real: 1000 ids of 256 control characters.
  channel_extra extra;
  const std::string group(256, '\x01');
  extra.group = group_extra{group, std::vector<std::string>(1000, std::string(256, '\x01')), true};
  extra.pipeline = pipeline_extra{"@" + group};
  const auto rendered =
      render_channel_message(UINT64_MAX, "@" + group, std::string(44, 'h'), extra);
  CHECK(largest->bytes == rendered.size());
  CHECK(largest->bytes > 1'500'000);
  CHECK(largest->bytes < 4'194'304);  // fits the default queue of 4 MiB

  // Smaller groups: chat messages (text and richText at their limits) become the largest.
  const auto small = largest_fanout_frame(limits, 10, 1 << 20);
  REQUIRE(small.has_value());
  CHECK(small->kind == "chat message");
  CHECK(small->bytes > 6 * (16384 + 18022));
  // A limit that is off leaves no bound.
  field_limits off = limits;
  off.user_bytes = 0;
  CHECK_FALSE(largest_fanout_frame(off, 1000, 1 << 20).has_value());
  CHECK_FALSE(largest_fanout_frame(limits, 0, 1 << 20).has_value());
}

TEST_CASE(
    "RE2 patterns: unanchored search, invalid syntax reported, linear on long and hostile input") {
  std::string error;
  const auto conference = search_pattern::compile("@conference/.*", error);
  REQUIRE(conference.has_value());
  CHECK(conference->found_in("@conference/room"));
  CHECK(conference->found_in("x@conference/"));  // unanchored, as Go's MatchString
  CHECK_FALSE(conference->found_in("@mygroup"));
  CHECK_FALSE(conference->found_in("*abc"));
  // Finding 3: text that made std::regex recurse once per character.
  CHECK(conference->found_in("@conference/" + std::string(1'000'000, 'x')));
  const auto guests = search_pattern::compile("^group/public/.*", error);
  REQUIRE(guests.has_value());
  CHECK(guests->found_in("group/public/" + std::string(40'000, 'x')));
  CHECK_FALSE(guests->found_in("x/group/public/"));
  // A pattern that backtracking engines need exponential time for.
  const auto nested = search_pattern::compile("^(a+)+$", error);
  REQUIRE(nested.has_value());
  CHECK_FALSE(nested->found_in(std::string(100'000, 'a') + "!"));
  // RE2 (Go) syntax: Perl classes work; backreferences do not exist.
  CHECK(search_pattern::compile(R"(^\d+$)", error)->found_in("123"));
  CHECK_FALSE(search_pattern::compile("(", error).has_value());
  CHECK(error.find("missing )") != std::string::npos);
  CHECK_FALSE(search_pattern::compile(R"((a)\1)", error).has_value());
}
