#include "support/hostile_client.hpp"

#include <deque>

namespace kwm::test {

std::string close_payload(uint16_t code, std::string_view reason) {
  std::string payload;
  payload += static_cast<char>(code >> 8);
  payload += static_cast<char>(code & 0xFF);
  payload.append(reason);
  return payload;
}

std::string costly_ping(uint64_t id, size_t members, size_t bytes) {
  std::string text = R"({"type":"ping","id":)" + std::to_string(id);
  size_t overhead = text.size() + 1;
  for (size_t i = 0; i < members; ++i) overhead += 8 + std::to_string(i).size();  // ,"kN":""
  const size_t pad = bytes > overhead && members > 0 ? (bytes - overhead) / members : 0;
  const std::string value(pad, 'v');
  for (size_t i = 0; i < members; ++i)
    text += R"(,"k)" + std::to_string(i) + R"(":")" + value + '"';
  return text + "}";
}

attacker_thread::attacker_thread(std::function<bool()> attack, std::chrono::milliseconds duration)
    : thread_([this, attack = std::move(attack), duration] {
        const auto deadline = std::chrono::steady_clock::now() + duration;
        try {
          while (!stop_ && std::chrono::steady_clock::now() < deadline && attack()) ++rounds_;
        } catch (const std::exception& e) {
          ended_by_ = e.what();
        } catch (...) {
          ended_by_ = "a non-standard exception (a doctest assertion must not run on this thread)";
        }
      }) {}

attacker_thread::~attacker_thread() {
  stop();
  join();
}

void attacker_thread::stop() {
  stop_ = true;
}

void attacker_thread::join() {
  if (thread_.joinable()) thread_.join();
}

std::vector<http_reply> http_pipeline(uint16_t port, const std::vector<std::string>& requests,
                                      size_t in_flight) {
  std::vector<http_reply> replies(requests.size());
  size_t next_reply = 0;
  while (next_reply < requests.size()) {
    tcp_socket socket(port, std::chrono::seconds(30));
    std::string buffer;
    size_t sent = next_reply;
    size_t answered_here = 0;
    try {
      while (next_reply < requests.size()) {
        while (sent < requests.size() && sent - next_reply < in_flight)
          socket.send_all(requests[sent++]);
        auto reply = read_http_reply(socket, buffer);
        if (!reply) break;
        const bool closing = reply->header("Connection") == std::optional<std::string>("close");
        replies[next_reply++] = std::move(*reply);
        ++answered_here;
        if (closing) break;
      }
    } catch (const std::exception&) {
      // The server closed while requests were still being sent: the unanswered ones go again.
    }
    if (answered_here == 0) {
      ++next_reply;  // unanswered even alone on a fresh connection: status 0
    } else if (answered_here == 1) {
      in_flight = 1;  // one request per connection: pipelining would only waste uploads
    }
  }
  return replies;
}

std::vector<std::optional<std::chrono::milliseconds>> trickle(std::vector<trickled>& sockets,
                                                              std::chrono::milliseconds interval,
                                                              std::chrono::milliseconds give_up) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::optional<std::chrono::milliseconds>> closed_after(sockets.size());
  size_t open = sockets.size();
  for (size_t at = 0; open > 0 && std::chrono::steady_clock::now() - start < give_up; ++at) {
    for (size_t i = 0; i < sockets.size(); ++i) {
      if (closed_after[i]) continue;
      try {
        const auto& bytes = sockets[i].bytes;
        sockets[i].socket.send_all(at < bytes.size() ? std::string_view(bytes).substr(at, 1)
                                                     : std::string_view("a"));
      } catch (const std::exception&) {
        // A send fails once the server has closed (the first one after its FIN draws an RST).
        closed_after[i] = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - start);
        --open;
      }
    }
    std::this_thread::sleep_for(interval);
  }
  return closed_after;
}

std::vector<std::string> read_until_close(ws_client& client, std::chrono::milliseconds timeout) {
  std::vector<std::string> texts;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!client.closed && std::chrono::steady_clock::now() < deadline) {
    auto text = client.next_text(std::max(std::chrono::milliseconds(1),
                                          std::chrono::duration_cast<std::chrono::milliseconds>(
                                              deadline - std::chrono::steady_clock::now())));
    if (text) texts.push_back(std::move(*text));
  }
  return texts;
}

}  // namespace kwm::test
