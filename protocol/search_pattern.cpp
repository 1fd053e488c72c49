#include "protocol/search_pattern.hpp"

#include <re2/re2.h>

namespace kwm::protocol {

std::optional<search_pattern> search_pattern::compile(const std::string& pattern,
                                                      std::string& error) {
  RE2::Options options;  // UTF-8, Perl classes, leftmost-first: Go's regexp syntax
  options.set_log_errors(false);
  auto compiled = std::make_shared<const re2::RE2>(pattern, options);
  if (!compiled->ok()) {
    error = compiled->error();
    return std::nullopt;
  }
  return search_pattern(std::move(compiled));
}

bool search_pattern::found_in(std::string_view text) const {
  return RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), *compiled_);
}

const std::string& search_pattern::pattern() const {
  return compiled_->pattern();
}

}  // namespace kwm::protocol
