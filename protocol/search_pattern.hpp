#pragma once
// An operator-configured regular expression (D22): RE2 syntax and engine, so matching takes
// linear time in the text and no recursion, whatever a client sends. Matching is an
// unanchored search, as Go's regexp MatchString in the original.
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace re2 {
class RE2;
}

namespace kwm::protocol {

class search_pattern {
 public:
  // nullopt, with RE2's message in `error`, when `pattern` is not valid RE2 syntax.
  static std::optional<search_pattern> compile(const std::string& pattern, std::string& error);

  // Whether the pattern matches anywhere in `text`. Safe to call from any thread.
  bool found_in(std::string_view text) const;
  const std::string& pattern() const;

 private:
  explicit search_pattern(std::shared_ptr<const re2::RE2> compiled)
      : compiled_(std::move(compiled)) {}
  std::shared_ptr<const re2::RE2> compiled_;
};

}  // namespace kwm::protocol
