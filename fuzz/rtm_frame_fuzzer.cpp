// libFuzzer target: one RTM text frame as raw bytes through the decoder and every validation
// and rendering a connection applies to it. Must never crash, hang, leak or write invalid
// JSON. Run with -dict=fuzz/rtm.dict (scripts/fuzz.sh does).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz/rtm_exercise.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  kwm::fuzz::exercise_rtm_frame(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
