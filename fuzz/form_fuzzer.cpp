// libFuzzer target: urlencoded forms, UTF-8 repair, Basic values files.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "protocol/basic_values.hpp"
#include "protocol/chats_rules.hpp"
#include "protocol/http_form.hpp"
#include "protocol/json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kwm::protocol;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  form_values form;
  (void)form.parse(text);
  (void)form.get("user");
  (void)url_unescape(text);
  (void)to_valid_utf8(text);
  (void)trim_space(to_valid_utf8(text));
  (void)basic_values::parse(text).allows(text);
  (void)is_form_content_type(text);
  return 0;
}
