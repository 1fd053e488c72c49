#pragma once
// The one entry for every JSON text the server reads (D18): RTM frames, admin bodies, JWT
// headers and claims, OIDC discovery and JWKS, TURN service replies, MCU frames.
//
// Strict RFC 8259, iterative, into an ordinary RapidJSON DOM:
// * nesting deeper than `max_depth` arrays/objects (the root counts) is invalid;
// * more than `max_elements` members + array elements over all levels is invalid;
// * integers keep RapidJSON's types (Int, Uint, Int64, Uint64); every other number is
//   converted correctly rounded (std::from_chars); one beyond the finite double range is
//   invalid (as in Go's encoding/json); one too small becomes 0 or -0 and a subnormal stays
//   (as Go's strconv.ParseFloat gives): no number is inf or NaN;
// * raw bytes in strings must be UTF-8 and not control characters; an escape that leaves a
//   lone surrogate decodes to U+FFFD, as Go's decoder does;
// * repeated keys are all kept, in order (readers that care take the last).
// RapidJSON's own reader must never see untrusted text (it crashes on some numbers and
// recurses per nesting level).
#include <rapidjson/document.h>
#include <rapidjson/error/error.h>

#include <array>
#include <cstddef>
#include <string_view>

namespace kwm::protocol {

struct json_limits {
  static constexpr std::size_t default_max_depth = 32;
  static constexpr std::size_t default_max_elements = 10000;

  // Arrays and objects open at once, the root included; must be at least 1. Writers of the
  // DOM recurse per level, which is why this stays small.
  std::size_t max_depth = default_max_depth;
  // Members + array elements in the whole text (`--rtm-max-elements` for RTM frames);
  // 0 = no limit.
  std::size_t max_elements = default_max_elements;
};

// A document that takes its stack from a second pool, as with_json's scratch does.
using json_scratch_document =
    rapidjson::GenericDocument<rapidjson::UTF8<>, rapidjson::MemoryPoolAllocator<>,
                               rapidjson::MemoryPoolAllocator<>>;

// Parses `text` into `doc` (replacing what it held). On failure `doc` is null and the result
// carries RapidJSON's error code and the offset where reading stopped (the text's length
// when it ended too early); limits exceeded give kParseErrorTermination.
rapidjson::ParseResult read_json(std::string_view text, rapidjson::Document& doc,
                                 const json_limits& limits = {});
rapidjson::ParseResult read_json(std::string_view text, json_scratch_document& doc,
                                 const json_limits& limits = {});

// True when read_json would accept `text`; builds no DOM. For texts another parser must
// read (jansson inside libcjose), so that it only ever sees what the hardened reader passed.
bool is_acceptable_json(std::string_view text, const json_limits& limits = {});

namespace detail {

// Per-thread memory for with_json, so that a typical frame costs no heap allocation for its
// DOM (larger ones spill over into the heap and release it). RapidJSON's pool puts its
// chunk header at the start of the buffer, hence the alignment.
struct json_scratch {
  alignas(alignof(std::max_align_t)) std::array<char, 16384> values;
  alignas(alignof(std::max_align_t)) std::array<char, 2048> stack;
  bool busy = false;
  // The parse stack starts at half the buffer, so that it and the pool's chunk header fit
  // (a larger start would make the pool take a 64 KiB chunk from the heap on every parse);
  // it grows in place to 1.5 times that.
  static constexpr std::size_t initial_stack_bytes = 1024;
};

inline json_scratch& thread_json_scratch() {
  thread_local json_scratch scratch;
  return scratch;
}

}  // namespace detail

// Parses `text` and calls `use(root)` with the root value, or with nullptr when the text is
// not valid JSON. The value lives only while `use` runs. A call from inside `use` works too
// (it gets heap memory instead of the scratch).
template <class Use>
decltype(auto) with_json(std::string_view text, const json_limits& limits, Use&& use) {
  auto& scratch = detail::thread_json_scratch();
  if (scratch.busy) {
    rapidjson::Document doc;
    const bool ok = !read_json(text, doc, limits).IsError();
    return use(ok ? static_cast<const rapidjson::Value*>(&doc) : nullptr);
  }
  struct release {
    detail::json_scratch& scratch;
    ~release() { scratch.busy = false; }
  } guard{scratch};
  scratch.busy = true;
  rapidjson::MemoryPoolAllocator<> values(scratch.values.data(), scratch.values.size());
  rapidjson::MemoryPoolAllocator<> stack(scratch.stack.data(), scratch.stack.size());
  json_scratch_document doc(&values, detail::json_scratch::initial_stack_bytes, &stack);
  const bool ok = !read_json(text, doc, limits).IsError();
  return use(ok ? static_cast<const rapidjson::Value*>(&doc) : nullptr);
}

}  // namespace kwm::protocol
