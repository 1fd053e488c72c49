// The binary wire format between nodes (cluster/wire, cluster/bus_messages, the channel
// operations of actors/cluster_ops): round trips, binary safety, truncation, forged counts,
// versions and forward compatibility.
#include <doctest/doctest.h>

#include <limits>
#include <random>

#include "actors/cluster_ops.hpp"
#include "cluster/bus_messages.hpp"
#include "cluster/fence_table.hpp"
#include "cluster/record_codec.hpp"
#include "cluster/wire.hpp"

using namespace kwm::cluster;

TEST_CASE("cluster wire: varints and byte strings round-trip") {
  const std::vector<uint64_t> numbers = {
      0, 1, 127, 128, 300, 16383, 16384, uint64_t{1} << 32, std::numeric_limits<uint64_t>::max()};
  const std::string binary("\0\xff\x80 \"\n", 6);
  wire_writer out;
  for (const uint64_t number : numbers) out.varint(number);
  out.bytes(binary);
  out.bytes("");
  out.byte(7);
  const std::string encoded = out.take();
  CHECK(encoded.substr(0, 4) == std::string("\x00\x01\x7f\x80", 4));

  wire_reader in(encoded);
  for (const uint64_t number : numbers) CHECK(in.varint() == number);
  CHECK(in.bytes() == binary);
  CHECK(in.bytes().empty());
  CHECK(in.byte() == 7);
  CHECK(in.ok());
  CHECK(in.remaining() == 0);
  in.byte();
  CHECK_FALSE(in.ok());
}

TEST_CASE("cluster wire: truncated, overlong and forged input is refused") {
  {
    const std::string unfinished("\x80\x80", 2);  // continuation without an end
    wire_reader in(unfinished);
    in.varint();
    CHECK_FALSE(in.ok());
  }
  {
    // Eleven bytes, or a tenth byte above 1: more than 64 bits.
    const std::string eleven = std::string(10, '\xff') + '\x01';
    wire_reader too_long(eleven);
    too_long.varint();
    CHECK_FALSE(too_long.ok());
    const std::string above = std::string(9, '\xff') + '\x02';
    wire_reader too_big(above);
    too_big.varint();
    CHECK_FALSE(too_big.ok());
  }
  {
    const std::string short_bytes(
        "\x05"
        "abc",
        4);  // length 5, 3 bytes follow
    wire_reader in(short_bytes);
    CHECK(in.bytes().empty());
    CHECK_FALSE(in.ok());
    CHECK(in.varint() == 0);  // sticky
  }
  {
    wire_writer out;
    out.varint(1'000'000'000);  // a count no input of 3 bytes can hold
    out.bytes("x");
    const std::string encoded = out.take();
    wire_reader in(encoded);
    CHECK(in.count(1) == 0);
    CHECK_FALSE(in.ok());
  }
}

TEST_CASE("cluster wire: every bus message round-trips with binary fields") {
  const std::string frame = std::string("{\"type\":\"webrtc\",\"data\":\"\0\xff\"}", 29);
  const std::string origin("node-a\0b", 8);

  const std::string deliver = encode(
      origin, deliver_message{"@group/\xc3\xa4", 77, frame, {1, 300, 1ull << 40}, 1ull << 50});
  const auto envelope = decode_envelope(deliver);
  REQUIRE(envelope);
  CHECK(envelope->version == bus_wire_version);
  CHECK(envelope->kind == bus_kind::deliver);
  CHECK(envelope->origin == origin);
  const auto decoded = decode_deliver(envelope->body);
  REQUIRE(decoded);
  CHECK(decoded->channel == "@group/\xc3\xa4");
  CHECK(decoded->fence == 77);
  CHECK(decoded->frame == frame);
  CHECK(decoded->connections == std::vector<uint64_t>{1, 300, 1ull << 40});
  CHECK(decoded->replaces == 1ull << 50);

  const std::string users =
      encode(origin, deliver_users_message{frame, {"alice", std::string("b\0b", 3)}, 9});
  const auto users_envelope = decode_envelope(users);
  REQUIRE(users_envelope);
  CHECK(users_envelope->kind == bus_kind::deliver_users);
  const auto users_message = decode_deliver_users(users_envelope->body);
  REQUIRE(users_message);
  CHECK(users_message->frame == frame);
  REQUIRE(users_message->users.size() == 2);
  CHECK(users_message->users[1] == std::string("b\0b", 3));
  CHECK(users_message->except == 9);

  const std::string channel = encode(origin, channel_message{"*abc", 5, 3, "alice", 42, frame});
  const auto channel_envelope = decode_envelope(channel);
  REQUIRE(channel_envelope);
  const auto channel_op = decode_channel(channel_envelope->body);
  REQUIRE(channel_op);
  CHECK(channel_op->channel == "*abc");
  CHECK(channel_op->fence == 5);
  CHECK(channel_op->op == 3);
  CHECK(channel_op->user == "alice");
  CHECK(channel_op->connection == 42);
  CHECK(channel_op->body == frame);

  const std::string request = encode_request(origin, {12345, "question"});
  const auto request_envelope = decode_envelope(request);
  REQUIRE(request_envelope);
  CHECK(request_envelope->kind == bus_kind::request);
  const auto request_body = decode_request(request_envelope->body);
  REQUIRE(request_body);
  CHECK(request_body->id == 12345);
  CHECK(request_body->body == "question");
  const auto reply_envelope = decode_envelope(encode_reply(origin, {12345, "answer"}));
  REQUIRE(reply_envelope);
  CHECK(reply_envelope->kind == bus_kind::reply);

  const std::string event = encode(origin, node_event_message{node_event_kind::draining});
  const auto event_envelope = decode_envelope(event);
  REQUIRE(event_envelope);
  const auto event_body = decode_node_event(event_envelope->body);
  REQUIRE(event_body);
  CHECK(event_body->event == node_event_kind::draining);
}

TEST_CASE("cluster wire: every truncation of a message is refused, appended fields are ignored") {
  const std::vector<std::string> messages = {
      encode("n", deliver_message{"*c", 1, "frame", {1, 2, 3}, 9}),
      encode("n", deliver_users_message{"frame", {"alice", "bob"}, 4}),
      encode("n", channel_message{"@g", 2, 1, "carol", 3, "body"}),
      encode_request("n", {7, "body"}),
  };
  auto decodes = [](const bus_envelope& envelope) {
    switch (envelope.kind) {
      case bus_kind::deliver:
        return decode_deliver(envelope.body).has_value();
      case bus_kind::deliver_users:
        return decode_deliver_users(envelope.body).has_value();
      case bus_kind::channel:
        return decode_channel(envelope.body).has_value();
      default:
        return decode_request(envelope.body).has_value();
    }
  };
  for (const auto& message : messages) {
    const auto whole = decode_envelope(message);
    REQUIRE(whole);
    CHECK(decodes(*whole));
    for (std::size_t size = 0; size < message.size(); ++size) {
      CAPTURE(size);
      const auto cut = decode_envelope(std::string_view(message).substr(0, size));
      if (cut) CHECK_FALSE(decodes(*cut));
    }
    // A newer release appends fields: still readable.
    const std::string extended = message + std::string("\x05newer", 6);
    const auto newer = decode_envelope(extended);
    REQUIRE(newer);
    CHECK(decodes(*newer));
  }
  std::string other_version = messages[0];
  other_version[0] = static_cast<char>(bus_wire_version + 1);
  CHECK_FALSE(decode_envelope(other_version));
}

TEST_CASE("cluster wire: random bytes never decode out of bounds") {
  std::mt19937 random(20240515);  // fixed seed: the same inputs on every run
  for (int round = 0; round < 20000; ++round) {
    std::string payload(random() % 64, '\0');
    for (char& c : payload) c = static_cast<char>(random());
    if (!payload.empty() && random() % 2) payload[0] = static_cast<char>(bus_wire_version);
    const auto envelope = decode_envelope(payload);
    if (!envelope) continue;
    auto inside = [&](std::string_view view) {
      return view.empty() || (view.data() >= payload.data() &&
                              view.data() + view.size() <= payload.data() + payload.size());
    };
    CHECK(inside(envelope->origin));
    if (const auto deliver = decode_deliver(envelope->body)) CHECK(inside(deliver->frame));
    if (const auto users = decode_deliver_users(envelope->body))
      for (const auto user : users->users) CHECK(inside(user));
    if (const auto channel = decode_channel(envelope->body)) CHECK(inside(channel->body));
  }
}

TEST_CASE("cluster records: auth records, chat messages and admin tokens survive the trip, truncations do not") {
  kwm::protocol::auth_record auth;
  auth.kind = kwm::protocol::auth_kind::bearer;
  auth.user_id = std::string("u\0ser", 5);
  auth.subject = "sub";
  auth.display_name = "Zoë";
  auth.credential = "token";
  auth.expires_at = 1'900'000'000;
  auth.issued_at = 1'800'000'000;
  auth.can_create_channels = false;
  auth.group_restriction = std::set<std::string>{"a", "b/c"};
  const auto encoded = kwm::cluster::encode_auth_record(auth);
  const auto decoded = kwm::cluster::decode_auth_record(encoded);
  REQUIRE(decoded);
  CHECK(decoded->user_id == auth.user_id);
  CHECK(decoded->display_name == auth.display_name);
  CHECK(decoded->expires_at == auth.expires_at);
  CHECK(decoded->issued_at == auth.issued_at);
  CHECK_FALSE(decoded->can_create_channels);
  CHECK(decoded->group_restriction == auth.group_restriction);
  for (std::size_t cut = 0; cut < encoded.size(); ++cut)
    CHECK_FALSE(kwm::cluster::decode_auth_record(std::string_view(encoded).substr(0, cut)));

  kwm::protocol::chats_message chat;
  chat.id = 7;
  chat.channel = "@room";
  chat.message.emplace();
  chat.message->text = "hi";
  chat.message->extra.presence = kwm::protocol::json_presence::value;
  chat.message->extra.type = rapidjson::kObjectType;
  chat.message->extra.text = "{}";
  const auto chat_bytes = kwm::cluster::encode_chats_message(chat);
  const auto chat_back = kwm::cluster::decode_chats_message(chat_bytes);
  REQUIRE(chat_back);
  CHECK(chat_back->id == 7);
  CHECK(chat_back->message->text == "hi");
  CHECK(chat_back->message->extra.text == "{}");
  CHECK(chat_back->message->extra.presence == kwm::protocol::json_presence::value);
  CHECK_FALSE(kwm::cluster::decode_chats_message(std::string_view(chat_bytes).substr(0, chat_bytes.size() - 1)));

  kwm::protocol::admin_token_object token;
  token.type = "Token";
  token.sub = "zoe";
  token.value = "jwt";
  const auto token_back = kwm::cluster::decode_admin_token(kwm::cluster::encode_admin_token(token), 42);
  REQUIRE(token_back);
  CHECK(token_back->sub == "zoe");
  CHECK(token_back->exp == 42);
}

TEST_CASE(
    "cluster channel operations: a join request keeps its reply and answer, a join result its "
    "outcome") {
  using namespace kwm::actors;
  const std::string answer("{\"type\":\"webrtc\",\"data\":\"\0\xff\"}", 29);
  join_request group_join(connection_ref{"bob", std::string("B\0b", 3), {}, {}}, false);
  group_join.reply = group_reply{1ull << 40, std::string("h\0sh", 4)};
  join_request call_answer(connection_ref{"carol", "Carol", {}, {}});
  call_answer.answer_target = "alice";
  call_answer.answer = kwm::net::make_frame(answer);
  join_request plain(connection_ref{"dave", "", {}, {}});
  plain.rejoin = true;

  const auto group_bytes = encode_join_request(group_join);
  const auto decoded = decode_join_request(group_bytes);
  REQUIRE(decoded);
  CHECK(decoded->joiner.display_name == std::string("B\0b", 3));
  CHECK(decoded->joiner.user_id.empty());  // travels in the channel message
  CHECK_FALSE(decoded->may_create);
  REQUIRE(decoded->reply);
  CHECK(decoded->reply->reply_to == 1ull << 40);
  CHECK(decoded->reply->hash == std::string("h\0sh", 4));
  CHECK(decoded->answer_target.empty());
  CHECK_FALSE(decoded->answer);
  CHECK_FALSE(decoded->rejoin);

  const auto answer_bytes = encode_join_request(call_answer);
  const auto relayed = decode_join_request(answer_bytes);
  REQUIRE(relayed);
  CHECK(relayed->may_create);
  CHECK_FALSE(relayed->reply);
  CHECK(relayed->answer_target == "alice");
  REQUIRE(relayed->answer);
  CHECK(*relayed->answer == answer);

  const auto plain_bytes = encode_join_request(plain);
  const auto neither = decode_join_request(plain_bytes);
  REQUIRE(neither);
  CHECK_FALSE(neither->reply);
  CHECK_FALSE(neither->answer);  // no answer is not an empty answer
  CHECK(neither->rejoin);
  // An older node's request ends before the rejoin flag: not a rejoin.
  const auto older =
      decode_join_request(std::string_view(plain_bytes).substr(0, plain_bytes.size() - 1));
  REQUIRE(older);
  CHECK_FALSE(older->rejoin);

  for (const auto& bytes : {group_bytes, answer_bytes, plain_bytes}) {
    for (std::size_t cut = 0; cut + 1 < bytes.size(); ++cut) {
      CAPTURE(cut);
      CHECK_FALSE(decode_join_request(std::string_view(bytes).substr(0, cut)));
    }
    CHECK(decode_join_request(bytes + std::string("\x05newer", 6)));
  }

  for (const auto outcome :
       {join_outcome::joined, join_outcome::already_member, join_outcome::replaced,
        join_outcome::closed, join_outcome::create_restricted, join_outcome::id_exists,
        join_outcome::full}) {
    const auto bytes = encode_join_result(join_result{outcome, 300});
    const auto back = decode_join_result(bytes);
    REQUIRE(back);
    CHECK(back->outcome == outcome);
    CHECK(back->membership == 300);
    for (std::size_t cut = 0; cut < bytes.size(); ++cut)
      CHECK_FALSE(decode_join_result(std::string_view(bytes).substr(0, cut)));
  }
  CHECK_FALSE(decode_join_result(encode_join_moved()));
}

TEST_CASE("cluster fences: frames of an older owner are dropped, newer tokens take over") {
  fence_table fences;
  CHECK(fences.fresh("@room", 5));  // a channel this node keeps no token for
  CHECK(fences.size() == 0);

  fences.known("@room", 10);  // a proxy of @room, whose owner holds token 10
  CHECK(fences.sending("@room") == 0);
  CHECK(fences.fresh("@room", 10));
  CHECK(fences.fresh("@room", 0));  // frames without token
  CHECK_FALSE(fences.fresh("@room", 9));

  // A newer owner's frame: its token is the newest known from then on.
  CHECK(fences.fresh("@room", 12));
  CHECK_FALSE(fences.fresh("@room", 10));
  fences.known("@room", 11);  // a lease read before that, answered late
  CHECK_FALSE(fences.fresh("@room", 11));

  // Taken over here: frames go out with the new token; older senders are stale.
  fences.owned("@room", 20);
  CHECK(fences.sending("@room") == 20);
  CHECK_FALSE(fences.fresh("@room", 12));
  CHECK(fences.fresh("@room", 21));
  CHECK(fences.sending("@room") == 20);

  // Other channels keep their own tokens.
  fences.known("@other", 3);
  CHECK(fences.fresh("@other", 3));
  CHECK(fences.size() == 2);

  // Forgotten when neither token remains.
  fences.owned("@room", 0);
  CHECK(fences.size() == 2);
  fences.known("@room", 0);
  CHECK(fences.size() == 1);
  CHECK(fences.fresh("@room", 1));
  fences.known("@nothing", 0);
  CHECK(fences.size() == 1);
}
