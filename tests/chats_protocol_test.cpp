// Unit tests of group and chat output and chat validation (spec §3.14, §3.16).
#include <doctest/doctest.h>

#include <variant>

#include "protocol/chats_output.hpp"
#include "protocol/chats_rules.hpp"
#include "protocol/rtm_parse.hpp"
#include "protocol/webrtc_output.hpp"
#include "support/parsed_frame.hpp"

using namespace kwm::protocol;

namespace {

chats_message parse_chat(const std::string& text) { return kwm::test::parsed_as<chats_message>(text); }

std::string chat_with(const std::string& data) {
  return R"({"type":"chats","subtype":"chats_message","id":11,"channel":"@g","v":20201201,"data":)" + data + "}";
}

std::optional<std::string> data_error(const std::string& data) {
  const auto message = parse_chat(chat_with(data));
  chat_data out;
  auto error = check_chat_data(message, out);
  return error ? std::optional<std::string>(*error) : std::nullopt;
}

}  // namespace

TEST_CASE("chat request checks before the channel lookup") {
  auto error = check_chat_request(parse_chat(R"({"type":"chats","subtype":"chats_system","channel":"@g","data":{}})"));
  CHECK(error == std::optional<std::string_view>("unknown subtype"));
  error = check_chat_request(parse_chat(R"({"type":"chats","subtype":"chats_message","data":{}})"));
  CHECK(error == std::optional<std::string_view>("channel or data is empty"));
  error = check_chat_request(parse_chat(R"({"type":"chats","subtype":"chats_message","channel":"@g"})"));
  CHECK(error == std::optional<std::string_view>("channel or data is empty"));
  error = check_chat_request(parse_chat(R"({"type":"chats","subtype":"chats_message","channel":"@g","data":null})"));
  CHECK(error == std::optional<std::string_view>("channel or data is empty"));
  CHECK_FALSE(check_chat_request(parse_chat(chat_with(R"({"text":"hi"})"))));
}

TEST_CASE("chat data validation texts and limits") {
  CHECK(data_error(R"({"kind":"","sender":"","target":"","text":"hi all","richText":"<b>hi</b>","id":"c"})") ==
        std::nullopt);
  CHECK(data_error(R"("x")") == "message data parse error");
  CHECK(data_error(R"({"text":5})") == "message data parse error");
  CHECK(data_error(R"({"text":"hi","sender":"bob"})") == "message sender must be empty");
  CHECK(data_error(R"({"text":"hi","target":"bob"})") == "message target must be empty");
  CHECK(data_error(R"({"text":"hi","kind":"system"})") == "unknown message kind");
  CHECK(data_error(R"({"text":" \t\n "})") == "message text is empty");
  CHECK(data_error(R"({"text":"hi","extra":{"a":1}})") == "message contains unexpected extra data");
  CHECK(data_error(R"({"text":"hi","extra":null})") == std::nullopt);
  CHECK(data_error(R"({"text":")" + std::string(16384, 'a') + R"("})") == std::nullopt);
  CHECK(data_error(R"({"text":")" + std::string(16385, 'a') + R"("})") == "message text size limit exceeded");
  // The limit counts UTF-8 bytes, before trimming.
  std::string umlauts;
  for (int i = 0; i < 8193; ++i) umlauts += "\xC3\xA4";
  CHECK(data_error(R"({"text":")" + umlauts + R"("})") == "message text size limit exceeded");
  CHECK(data_error(R"({"text":")" + std::string(16380, ' ') + R"(hello"})") == "message text size limit exceeded");
  CHECK(data_error(R"({"text":"x","richText":")" + std::string(18022, 'a') + R"("})") == std::nullopt);
  CHECK(data_error(R"({"text":"x","richText":")" + std::string(18023, 'a') + R"("})") ==
        "message rich text size limit exceeded");

  chat_data out;
  CHECK_FALSE(check_chat_data(parse_chat(chat_with(R"({"text":"  hi \u00a0","richText":"\n<b>x</b> "})")), out));
  CHECK(out.text == "hi");
  CHECK(out.rich_text == "<b>x</b>");
  CHECK(trim_space("\xE3\x80\x80 a b \xE2\x80\x8A") == "a b");  // ideographic and hair spaces
}

TEST_CASE("group channel messages: join reply, member list, replacement") {
  channel_extra join;
  join.group = group_extra{"mygroup", {"alice", "bob"}, true};
  CHECK(render_channel_message(1, "@mygroup", "CBIH43w4lhZ4au0Ftfz2HNqIpoX2uZPHE6PAo8uKYFs=", join) ==
        R"({"type":"webrtc","subtype":"webrtc_channel","reply_to":1,"channel":"@mygroup",)"
        R"("hash":"CBIH43w4lhZ4au0Ftfz2HNqIpoX2uZPHE6PAo8uKYFs=","v":20180703,)"
        R"("data":{"group":{"group":"mygroup","members":["alice","bob"],"reset":true}}})");
  channel_extra update;
  update.group = group_extra{"mygroup", {"alice", "bob"}, false};
  CHECK(render_channel_message(0, "@mygroup", "", update) ==
        R"({"type":"webrtc","subtype":"webrtc_channel","channel":"@mygroup","v":20180703,)"
        R"("data":{"group":{"group":"mygroup","members":["alice","bob"],"reset":false}}})");
  channel_extra replaced;
  replaced.replaced = true;
  CHECK(render_channel_message(0, "@mygroup", "", replaced) ==
        R"({"type":"webrtc","subtype":"webrtc_channel","channel":"@mygroup","v":20180703,"data":{"replaced":true}})");
  channel_extra piped;
  piped.group = group_extra{"conference/room", {"alice"}, true};
  piped.pipeline = pipeline_extra{"@conference/room"};
  CHECK(render_channel_message(0, "@conference/room", "", piped).find(
            R"("pipeline":{"pipeline":"@conference/room","mode":"mcu-forward"})") != std::string::npos);
}

TEST_CASE("chat frames: echo, delivery to others, delivery notice") {
  chat_data data;
  data.sender = "bob";
  data.ts = 1795682651;
  data.text = "hi all";
  data.rich_text = "<b>hi</b>";
  data.id = "J9Io9W41X7eskvmd";
  CHECK(render_chats_reply(11, "chats_message", "@mygroup", data) ==
        R"({"type":"chats","subtype":"chats_message","reply_to":11,"channel":"@mygroup","v":20201201,)"
        R"("data":{"kind":"","sender":"bob","target":"","ts":1795682651,"text":"hi all","richText":"<b>hi</b>","id":"J9Io9W41X7eskvmd"}})");
  CHECK(render_chats("chats_message", "@mygroup", std::string_view(""), data) ==
        R"({"type":"chats","subtype":"chats_message","channel":"@mygroup","profile":{},"v":20201201,)"
        R"("data":{"kind":"","sender":"bob","target":"","ts":1795682651,"text":"hi all","richText":"<b>hi</b>","id":"J9Io9W41X7eskvmd"}})");
  CHECK(render_chats("chats_system", "@mygroup", std::nullopt, delivery_notice("J9Io9W41X7eskvmd")) ==
        R"({"type":"chats","subtype":"chats_system","channel":"@mygroup","v":20201201,)"
        R"("data":{"kind":"delivery_queued","sender":"","target":"","ts":0,"text":"","id":"J9Io9W41X7eskvmd"}})");
}
