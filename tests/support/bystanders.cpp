#include "support/bystanders.hpp"

#include <doctest/doctest.h>

#include "support/json_check.hpp"

namespace kwm::test {
namespace {

constexpr auto round_interval =
    std::chrono::milliseconds(100);  // 3 frames each: far below any rate limit

std::string member(const rapidjson::Value& value, const char* key) {
  if (!value.IsObject() || !value.HasMember(key) || !value[key].IsString()) return {};
  return value[key].GetString();
}

}  // namespace

rapidjson::Document next_checked(ws_client& ws, const std::string& who) {
  const auto text = ws.next_text(bystander_patience());
  REQUIRE_MESSAGE(text.has_value(),
                  who << ": no frame within " << bystander_patience().count() << " ms");
  std::string why;
  auto doc = parse_checked(*text, why);
  REQUIRE_MESSAGE(doc.has_value(), who << ": " << why);
  return std::move(*doc);
}

call_ids answered_call(ws_client& caller, ws_client& callee, const std::string& callee_user,
                       const std::string& caller_user) {
  caller.send_text(R"({"type":"webrtc","subtype":"webrtc_call","id":1,"target":")" + callee_user +
                   R"(","initiator":true,"state":"bs","v":20180703})");
  const auto reply = next_checked(caller, caller_user);
  call_ids call{member(reply, "channel"), member(reply, "hash")};
  REQUIRE_MESSAGE(!call.channel.empty(), caller_user << "'s call was not answered with a channel");
  REQUIRE(member(next_checked(callee, callee_user), "subtype") == "webrtc_call");
  callee.send_text(R"({"type":"webrtc","subtype":"webrtc_call","id":1,"target":")" + caller_user +
                   R"(","state":"bs","channel":")" + call.channel + R"(","hash":")" + call.hash +
                   R"(","data":{"accept":true,"state":"bs"},"v":20180703})");
  REQUIRE(member(next_checked(caller, caller_user), "subtype") == "webrtc_call");   // the answer
  REQUIRE(member(next_checked(caller, caller_user), "subtype") == "chats_system");  // joined (D21)
  return call;
}

std::string signal_frame(const call_ids& call, const std::string& target, uint64_t id,
                         const std::string& data) {
  return R"({"type":"webrtc","subtype":"webrtc_signal","id":)" + std::to_string(id) +
         R"(,"target":")" + target + R"(","state":"bs","channel":")" + call.channel +
         R"(","hash":")" + call.hash + R"(","data":)" + data + R"(,"v":20180703})";
}

std::string join_frame(const std::string& group, uint64_t id) {
  return R"({"type":"webrtc","subtype":"webrtc_group","id":)" + std::to_string(id) +
         R"(,"target":")" + group + R"(","group":")" + group + R"(","state":"bg","v":20180703})";
}

std::chrono::milliseconds bystander_patience() {
  return sanitized_build() ? std::chrono::seconds(15) : std::chrono::seconds(5);
}

bystanders::bystanders(server_process& server, bool in_group) : in_group_(in_group) {
  carol_.user = "carol";
  dave_.user = "dave";
  carol_.ws = server.open(carol_.user);
  dave_.ws = server.open(dave_.user);

  call_ = answered_call(*carol_.ws, *dave_.ws, dave_.user, carol_.user);
  if (in_group_) {
    carol_.ws->send_text(join_frame(group, 2));
    REQUIRE(member(next_checked(*carol_.ws, carol_.user), "subtype") == "webrtc_channel");
    dave_.ws->send_text(join_frame(group, 2));
    REQUIRE(member(next_checked(*dave_.ws, dave_.user), "subtype") == "webrtc_channel");
    REQUIRE(member(next_checked(*carol_.ws, carol_.user), "subtype") ==
            "chats_system");  // dave joined
    REQUIRE(member(next_checked(*carol_.ws, carol_.user), "subtype") ==
            "webrtc_channel");  // members
  }
  rounds_ = 1;
  const bool first_round = round(1);
  REQUIRE_MESSAGE(first_round, (failures_.empty() ? std::string() : failures_.front()));
}

bystanders::~bystanders() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void bystanders::start() {
  thread_ = std::thread([this] { run(); });
}

void bystanders::run() {
  while (!stop_) {
    const auto begin = std::chrono::steady_clock::now();
    if (!round(++rounds_) || !read_until(begin + round_interval)) return;
  }
}

bool bystanders::fail(const std::string& why) {
  std::lock_guard<std::mutex> guard(mutex_);
  failures_.push_back(why);
  return false;
}

void bystanders::send(peer& self, const std::string& text) {
  try {
    self.ws->send_text(text);
  } catch (const std::exception& e) {
    fail(self.user + ": sending failed (" + e.what() + ")");
  }
}

bool bystanders::round(uint64_t number) {
  const auto r = std::to_string(number);
  for (auto [self, partner] : {std::pair{&carol_, &dave_}, std::pair{&dave_, &carol_}}) {
    send(*self, R"({"type":"ping","id":)" + r + R"(,"ts":1795682651123})");
    send(*self, signal_frame(call_, partner->user, number, R"({"round":)" + r + "}"));
    if (in_group_)
      send(*self, R"({"type":"chats","subtype":"chats_message","id":)" + r + R"(,"channel":"@)" +
                      group + R"(","v":20201201,"data":{"text":")" + self->user + " " + r +
                      R"("}})");
  }
  return await_round(carol_, dave_, number) && await_round(dave_, carol_, number);
}

// Reads `self`'s frames until its pong, the partner's signal (and chat) of `round` arrived.
bool bystanders::await_round(peer& self, const peer& partner, uint64_t round) {
  while (self.pongs < round || self.signals < round || (in_group_ && self.chats < round)) {
    const auto text = self.ws->next_text(bystander_patience());
    if (!text) {
      if (self.ws->closed) return ended(self);
      return fail(self.user + " waited longer than " +
                  std::to_string(bystander_patience().count()) + " ms in round " +
                  std::to_string(round) + " (pongs " + std::to_string(self.pongs) + ", signals " +
                  std::to_string(self.signals) + ", chats " + std::to_string(self.chats) + ")");
    }
    if (!classify(self, partner, *text)) return false;
  }
  return true;
}

// Between rounds both keep reading, as browsers do, so that traffic an attack sends them
// (group notices, chats) never piles up in their queues.
bool bystanders::read_until(std::chrono::steady_clock::time_point deadline) {
  while (std::chrono::steady_clock::now() < deadline) {
    for (auto [self, partner] : {std::pair{&carol_, &dave_}, std::pair{&dave_, &carol_}}) {
      const auto text = self->ws->next_text(std::chrono::milliseconds(5));
      if (!text && self->ws->closed) return ended(*self);
      if (text && !classify(*self, *partner, *text)) return false;
    }
  }
  return true;
}

bool bystanders::ended(const peer& self) {
  if (self.ws->close_code)
    return fail(self.user + " was closed: " + std::to_string(*self.ws->close_code) + " " +
                self.ws->close_reason);
  return fail(self.user + "'s connection ended");
}

// Counts one frame of `self`: its pongs, the partner's signals and chats must come in order;
// its own chat echoes and delivery notices are fine; anything else is an extra.
bool bystanders::classify(peer& self, const peer& partner, const std::string& text) {
  std::string why;
  const auto doc = parse_checked(text, why);
  if (!doc) return fail(self.user + " received " + why);
  const auto type = member(*doc, "type");
  const auto subtype = member(*doc, "subtype");
  const auto in_order = [&](uint64_t& counter, uint64_t got, const char* what) {
    if (got != counter + 1)
      return fail(self.user + ": " + what + " " + std::to_string(got) + " after " +
                  std::to_string(counter));
    ++counter;
    return true;
  };
  const auto uint_member = [](const rapidjson::Value& value, const char* key) -> uint64_t {
    return value.IsObject() && value.HasMember(key) && value[key].IsUint64()
               ? value[key].GetUint64()
               : 0;
  };
  if (type == "pong") return in_order(self.pongs, uint_member(*doc, "id"), "pong");
  if (type == "webrtc" && subtype == "webrtc_signal" && member(*doc, "source") == partner.user)
    return in_order(self.signals, uint_member((*doc)["data"], "round"), "signal");
  const bool reply = (*doc).HasMember("reply_to");
  if (type == "chats" && subtype == "chats_message" && !reply && (*doc).HasMember("data") &&
      member((*doc)["data"], "sender") == partner.user) {
    const auto words = member((*doc)["data"], "text");
    const auto prefix = partner.user + " ";
    const bool ours = words.rfind(prefix, 0) == 0 && words.size() > prefix.size() &&
                      words.find_first_not_of("0123456789", prefix.size()) == std::string::npos;
    if (ours) return in_order(self.chats, std::stoull(words.substr(prefix.size())), "chat");
  }
  const bool own_echo = type == "chats" && subtype == "chats_message" && reply;
  const bool delivery = type == "chats" && subtype == "chats_system" && (*doc).HasMember("data") &&
                        member((*doc)["data"], "kind") == "delivery_queued";
  if (own_echo || delivery) return true;
  std::lock_guard<std::mutex> guard(mutex_);
  extras_.emplace_back(self.user, text);
  return true;
}

std::vector<std::pair<std::string, std::string>> bystanders::extras() {
  std::lock_guard<std::mutex> guard(mutex_);
  return extras_;
}

void bystanders::check(const std::string& attack) {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  bool failed_before;
  {
    std::lock_guard<std::mutex> guard(mutex_);
    failed_before = !failures_.empty();
  }
  if (!failed_before) {
    round(++rounds_);
  }
  std::lock_guard<std::mutex> guard(mutex_);
  MESSAGE(attack << ": bystanders completed " << rounds_.load() << " rounds (carol " << carol_.pongs
                 << " pongs, " << carol_.signals << " signals, " << carol_.chats << " chats; dave "
                 << dave_.pongs << " pongs, " << dave_.signals << " signals, " << dave_.chats
                 << " chats)");
  for (const auto& failure : failures_) FAIL_CHECK(attack << ": bystander " << failure);
  if (!allow_extras)
    for (const auto& [user, text] : extras_)
      FAIL_CHECK(attack << ": unexpected frame for bystander " << user << ": "
                        << excerpt(text, 300));
  CHECK_FALSE(carol_.ws->closed);
  CHECK_FALSE(dave_.ws->closed);
}

}  // namespace kwm::test
