#include "protocol/json_reader.hpp"

#include <rapidjson/reader.h>

#include <string>

#include "protocol/json_grammar.hpp"

namespace kwm::protocol {
namespace {

json_grammar::options grammar_options(const json_limits& limits) {
  json_grammar::options options;
  options.max_depth = limits.max_depth;
  if (limits.max_elements != 0) options.max_elements = limits.max_elements;
  options.surrogates = json_grammar::lone_surrogates::replace;
  return options;
}

// Escaped strings are assembled here; the thread's next parse reuses the memory, unless one
// huge string made it large.
std::string& unescape_buffer() {
  thread_local std::string buffer;
  return buffer;
}

void trim_unescape_buffer() {
  constexpr std::size_t kept_bytes = 64 * 1024;
  auto& buffer = unescape_buffer();
  if (buffer.capacity() > kept_bytes) std::string().swap(buffer);
}

template <class Document>
rapidjson::ParseResult populate(std::string_view text, Document& doc, const json_limits& limits) {
  const auto options = grammar_options(limits);
  rapidjson::ParseResult result;
  auto generate = [&](Document& handler) {
    json_grammar::scanner<Document> scanner(text, handler, options, unescape_buffer());
    result = scanner.run();
    return !result.IsError();
  };
  doc.Populate(generate);
  trim_unescape_buffer();
  if (result.IsError()) doc.SetNull();
  return result;
}

}  // namespace

rapidjson::ParseResult read_json(std::string_view text, rapidjson::Document& doc,
                                 const json_limits& limits) {
  return populate(text, doc, limits);
}

rapidjson::ParseResult read_json(std::string_view text, json_scratch_document& doc,
                                 const json_limits& limits) {
  return populate(text, doc, limits);
}

bool is_acceptable_json(std::string_view text, const json_limits& limits) {
  rapidjson::BaseReaderHandler<> ignore;
  const auto options = grammar_options(limits);
  const bool ok = !json_grammar::scanner(text, ignore, options, unescape_buffer()).run().IsError();
  trim_unescape_buffer();
  return ok;
}

}  // namespace kwm::protocol
