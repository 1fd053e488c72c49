// The demo page in a real browser (issue #8): two headless Chromium pages with fake media
// devices call each other through the server and must decode each other's video frames.
// Chromium, node and puppeteer-core come from scripts/browser-setup.sh (run by the test
// command); where they cannot be installed the test says so and passes without running.
// Once over plain HTTP, once over built-in TLS (D24).
#include <doctest/doctest.h>

#include <filesystem>

#include "net/tls_context.hpp"
#include "support/process.hpp"
#include "support/server_fixture.hpp"
#include "support/temp_dir.hpp"
#include "support/tls_client.hpp"

using namespace kwm::test;

namespace {

// Runs tests/browser/call.mjs against `page` and checks its report.
void run_call(const std::string& page, bool secure) {
  const std::string source = KWM_SOURCE_DIR;
  const std::string modules = source + "/build/browser";
  const auto result = run_binary(
      {"/usr/bin/node", source + "/tests/browser/call.mjs", page, "/usr/bin/chromium", modules},
      std::chrono::seconds(120));
  INFO("browser script: " << result.out << result.err);
  CHECK(result.status == 0);
  const auto report = parse_json(result.out.substr(0, result.out.find('\n')));
  REQUIRE(report.IsObject());
  CHECK(report["ok"].GetBool());
  CHECK(report["secure"].GetBool() == secure);
  CHECK(report["aliceFrames"].GetInt() > 10);
  CHECK(report["bobFrames"].GetInt() > 10);
  CHECK(report["hungUp"].GetBool());
  CHECK(report["groupMembers"].Size() == 2);
}

bool tools_present() {
  const std::string modules = std::string(KWM_SOURCE_DIR) + "/build/browser";
  for (const auto& needed : {std::string("/usr/bin/chromium"), std::string("/usr/bin/node"),
                             modules + "/node_modules/puppeteer-core/package.json"})
    if (!std::filesystem::exists(needed)) {
      MESSAGE("skipped: " << needed << " is missing (scripts/browser-setup.sh installs it)");
      return false;
    }
  return true;
}

}  // namespace

TEST_CASE("browser: two Chromium tabs call each other through the demo page, then join a group") {
  if (!tools_present()) return;
  auto options = test_options();
  options.www_root = std::string(KWM_SOURCE_DIR) + "/www";
  server_fixture server(options);
  run_call("http://127.0.0.1:" + std::to_string(server.port()) + "/", false);
}

// D24: the same over HTTPS and WSS, with a certificate made by the test (Chromium is told to
// accept it); the page is a secure context, as a real deployment's would be.
TEST_CASE("browser: the demo page over HTTPS and WSS with built-in TLS") {
  if (!tools_present()) return;
  temp_dir dir;
  const auto certificate = make_test_certificate("kwm-browser-test");
  dir.write("cert.pem", certificate.certificate_pem);
  dir.write("key.pem", certificate.key_pem);
  auto options = test_options();
  options.www_root = std::string(KWM_SOURCE_DIR) + "/www";
  std::string error;
  options.server.tls =
      kwm::net::tls_context::open({(dir.path / "cert.pem").string(), (dir.path / "key.pem").string()}, error);
  REQUIRE_MESSAGE(options.server.tls, error);
  server_fixture server(options);
  run_call("https://127.0.0.1:" + std::to_string(server.port()) + "/", true);
}
