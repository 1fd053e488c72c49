#include "protocol/json_check.hpp"

#include <rapidjson/reader.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "protocol/json_grammar.hpp"

namespace kwm::protocol {

bool is_valid_json_text(std::string_view text) {
  std::string unescaped;
  rapidjson::BaseReaderHandler<> ignore;
  json_grammar::options options;
  options.surrogates = json_grammar::lone_surrogates::reject;
  return !json_grammar::scanner(text, ignore, options, unescaped).run().IsError();
}

void require_valid_json_output(std::string_view where, std::string_view text) {
  if (is_valid_json_text(text)) return;
  constexpr std::size_t shown_bytes = 512;
  const int length = static_cast<int>(std::min(text.size(), shown_bytes));
  std::fprintf(stderr, "D19 violated: %.*s of %zu bytes is not valid UTF-8 JSON: %.*s\n",
               static_cast<int>(where.size()), where.data(), text.size(), length, text.data());
  std::abort();
}

}  // namespace kwm::protocol
