// Micro-benchmark of the JSON entry on typical RTM frames: the hardened reader (D18) into
// the per-thread scratch, against RapidJSON's own reader set up as protocol/rtm_parse.cpp
// did before D18 (same fixed, trusted frames; RapidJSON never sees untrusted text).
// Reports the best thread CPU time per parse of seven interleaved repetitions, which is
// steadier than wall time on a shared machine.
//   cmake --build build/test --target kwm_json_bench && build/test/kwm_json_bench
#include <time.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <string>

#include "protocol/json_reader.hpp"

namespace {

using allocator = rapidjson::MemoryPoolAllocator<>;
using document = rapidjson::GenericDocument<rapidjson::UTF8<>, allocator, allocator>;

double cpu_ns() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e9 + static_cast<double>(t.tv_nsec);
}

// The scratch layout and parse call of rtm_parse.cpp before D18.
size_t rapidjson_reader(std::string_view text) {
  struct parse_scratch {
    std::array<char, 8192> value_memory;
    std::array<char, 2048> stack_memory;
  };
  thread_local parse_scratch scratch;
  allocator values(scratch.value_memory.data(), scratch.value_memory.size());
  allocator stack(scratch.stack_memory.data(), scratch.stack_memory.size());
  document doc(&values, scratch.stack_memory.size(), &stack);
  doc.Parse<rapidjson::kParseFullPrecisionFlag>(text.data(), text.size());
  return doc.HasParseError() ? 0 : doc.MemberCount();
}

size_t hardened_reader(std::string_view text) {
  static const kwm::protocol::json_limits limits;
  return kwm::protocol::with_json(text, limits, [](const rapidjson::Value* root) -> size_t {
    return root != nullptr ? root->MemberCount() : 0;
  });
}

template <class Parse>
double ns_per_parse(const std::string& frame, Parse parse) {
  constexpr int rounds = 100000;
  size_t members = 0;
  const double start = cpu_ns();
  for (int i = 0; i < rounds; ++i) members += parse(frame);
  const double elapsed = cpu_ns() - start;
  if (members == 0) std::puts("parse failed");
  return elapsed / rounds;
}

// The best of several interleaved repetitions: other load on the machine only adds time.
struct costs {
  double rapidjson = 1e18;
  double hardened = 1e18;
};

costs measure(const std::string& frame) {
  costs best;
  for (int repetition = 0; repetition < 7; ++repetition) {
    best.rapidjson = std::min(best.rapidjson, ns_per_parse(frame, rapidjson_reader));
    best.hardened = std::min(best.hardened, ns_per_parse(frame, hardened_reader));
  }
  return best;
}

}  // namespace

int main() {
  std::string sdp = "v=0\\r\\no=- 4611731400430051336 2 IN IP4 127.0.0.1\\r\\ns=-\\r\\nt=0 0\\r\\n";
  while (sdp.size() < 3000)
    sdp +=
        "a=candidate:842163049 1 udp 1677729535 192.0.2.1 54400 typ srflx raddr 0.0.0.0 rport "
        "0\\r\\n";
  const std::string frames[][2] = {
      {"ping", R"({"type":"ping","id":12345,"ts":1795682651123})"},
      {"chat",
       R"({"type":"chats","subtype":"chats_message","id":11,"channel":"@mygroup","transaction":"","v":20201201,"data":{"kind":"","sender":"","target":"","text":"hi all, \u00e9 a longer chat text","richText":"<b>hi</b>","id":"client-id"}})"},
      {"signal with SDP",
       R"({"type":"webrtc","subtype":"webrtc_signal","id":42,"target":"bob","channel":"*6uswzKyJS4QDZJzyyZA-OwzQWtNU4wNi","hash":"WVlipRWKIqPdkG5ezL+77B7yx/o1OaW5y3kCcLLtxn4=","v":20180703,"pcid":"abc","data":{"type":"offer","sdp":")" +
           sdp + R"("}})"}};
  std::printf("%-16s %7s %16s %16s\n", "frame", "bytes", "RapidJSON ns", "hardened ns");
  for (const auto& [name, frame] : frames) {
    const auto best = measure(frame);
    std::printf("%-16s %7zu %16.0f %16.0f\n", name.c_str(), frame.size(), best.rapidjson,
                best.hardened);
  }
}
