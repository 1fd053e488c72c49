// The demo page in a real browser (issue #8): two headless Chromium pages with fake media
// devices call each other through the server and must decode each other's video frames.
// Chromium, node and puppeteer-core come from scripts/browser-setup.sh (run by the test
// command); where they cannot be installed the test says so and passes without running.
#include <doctest/doctest.h>

#include <filesystem>

#include "support/process.hpp"
#include "support/server_fixture.hpp"

using namespace kwm::test;

TEST_CASE("browser: two Chromium tabs call each other through the demo page, then join a group") {
  const std::string source = KWM_SOURCE_DIR;
  const std::string modules = source + "/build/browser";
  for (const auto& needed : {std::string("/usr/bin/chromium"), std::string("/usr/bin/node"),
                             modules + "/node_modules/puppeteer-core/package.json"})
    if (!std::filesystem::exists(needed)) {
      MESSAGE("skipped: " << needed << " is missing (scripts/browser-setup.sh installs it)");
      return;
    }
  auto options = test_options();
  options.www_root = source + "/www";
  server_fixture server(options);
  const auto result =
      run_binary({"/usr/bin/node", source + "/tests/browser/call.mjs",
                  "http://127.0.0.1:" + std::to_string(server.port()) + "/", "/usr/bin/chromium", modules},
                 std::chrono::seconds(120));
  INFO("browser script: " << result.out << result.err);
  CHECK(result.status == 0);
  const auto report = parse_json(result.out.substr(0, result.out.find('\n')));
  REQUIRE(report.IsObject());
  CHECK(report["ok"].GetBool());
  CHECK(report["aliceFrames"].GetInt() > 10);
  CHECK(report["bobFrames"].GetInt() > 10);
  CHECK(report["hungUp"].GetBool());
  CHECK(report["groupMembers"].Size() == 2);
}
