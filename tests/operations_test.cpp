// Operations (issue #8): the Prometheus metrics listener scraped after real traffic, static
// files under --www-root and --docs-root, and the structured log line formats.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <re2/re2.h>

#include <yaml-cpp/yaml.h>

#include "actors/event_log.hpp"
#include "net/static_files.hpp"
#include "protocol/metrics_text.hpp"
#include "support/rtm_peer.hpp"
#include "support/temp_dir.hpp"

using namespace kwm::test;
namespace fs = std::filesystem;

namespace {

// The value of one series line `name{id=""} value` in a scrape; nullopt when absent.
std::optional<double> series(const std::string& scrape, const std::string& name) {
  std::string value;
  if (!RE2::PartialMatch(scrape, "\n" + name + R"(\{id=""\} ([0-9.e+]+)\n)", &value)) return std::nullopt;
  return std::stod(value);
}

// A raw HEAD request: the reply has a Content-Length but no body.
std::string head_request(uint16_t port, const std::string& target) {
  tcp_socket socket(port);
  socket.send_all("HEAD " + target + " HTTP/1.1\r\nHost: kwm\r\nConnection: close\r\n\r\n");
  std::string reply;
  while (reply.find("\r\n\r\n") == std::string::npos && socket.receive_some(reply)) {
  }
  return reply;
}

}  // namespace

TEST_CASE("the Prometheus text format") {
  using namespace kwm::protocol;
  const std::vector<metric_family> families = {
      {"kwmserver_x_total", "Total \\ of\nx", "counter", {{{{"id", ""}}, 3}}},
      {"process_y", "y", "gauge", {{{{"a", "q\"uote"}, {"b", "back\\slash"}}, 0.5}, {{}, 1e20}}},
  };
  CHECK(render_metrics(families) ==
        "# HELP kwmserver_x_total Total \\\\ of\\nx\n# TYPE kwmserver_x_total counter\nkwmserver_x_total{id=\"\"} 3\n"
        "# HELP process_y y\n# TYPE process_y gauge\nprocess_y{a=\"q\\\"uote\",b=\"back\\\\slash\"} 0.5\n"
        "process_y 1e+20\n");
}

TEST_CASE("metrics: every kwmserver series of the spec, counted from real traffic") {
  auto options = test_options();
  options.metrics_listener.emplace();
  options.metrics_listener->host = "127.0.0.1";
  options.metrics_listener->port = 0;
  server_fixture server(options);
  const uint16_t metrics_port = server.runtime->metrics_port();
  REQUIRE(metrics_port != 0);
  {
    rtm_peer alice(server, "alice");
    rtm_peer bob(server, "bob");
    rtm_peer bob_phone(server, "bob");
    alice.send(R"({"type":"webrtc","subtype":"webrtc_group","id":1,"target":"g","group":"g","state":"s","v":20180703})");
    alice.next();
    bob.send(R"({"type":"webrtc","subtype":"webrtc_group","id":1,"target":"g","group":"g","state":"s","v":20180703})");
    bob.next();
    alice.until_pong();
    const auto reply = http_call(metrics_port, "GET", "/metrics");
    REQUIRE(reply.status == 200);
    CHECK(reply.header("Content-Type") == std::optional<std::string>(kwm::protocol::metrics_content_type));
    const auto& text = reply.body;
    CHECK(series(text, "kwmserver_rtm_http_connect_success_total") == 3.0);
    CHECK(series(text, "kwmserver_rtm_http_websocket_success_total") == 3.0);
    CHECK(series(text, "kwmserver_rtm_connections_connected_total") == 3.0);
    CHECK(series(text, "kwmserver_rtm_connections_connected_current") == 3.0);
    CHECK(series(text, "kwmserver_rtm_distinct_users_connected_total") == 2.0);
    CHECK(series(text, "kwmserver_rtm_distinct_users_connected_current") == 2.0);
    CHECK(series(text, "kwmserver_rtm_channels_created_total") == 1.0);
    CHECK(series(text, "kwmserver_rtm_channels_created_current") == 1.0);
    CHECK(series(text, "kwmserver_rtm_group_channels_created_current") == 1.0);
    CHECK(series(text, "kwmserver_rtm_group_channels_connections_connected_current") == 2.0);
    CHECK(series(text, "kwmserver_rtm_channels_connections_added_total") == 2.0);
    CHECK(series(text, "kwmserver_rtm_http_turn_success_total") == 0.0);
    CHECK(text.find("# TYPE kwmserver_rtm_connections_connected_max counter\n") != std::string::npos);
    CHECK(text.find("guest_http_logon") == std::string::npos);  // only with the guest API
    CHECK(text.find("\nprocess_resident_memory_bytes ") != std::string::npos);
    CHECK(text.find("\nprocess_open_fds ") != std::string::npos);
    for (const char* name : {"rtm_channels_cleanedup_total", "rtm_channels_connections_removed_total",
                             "rtm_connections_disconnected_total", "rtm_distinct_users_cleanedup_total",
                             "rtm_channels_created_max", "rtm_group_channels_created_max",
                             "rtm_group_channels_connections_connected_max", "rtm_distinct_users_connected_max"}) {
      CAPTURE(name);
      CHECK(series(text, std::string("kwmserver_") + name).has_value());
    }
  }
  // Everyone left: the current gauges fall, the maxima keep what the last scrape saw. The
  // channels hear of a closed connection after the directory does, so both are waited for
  // (found flaky: 1 of 6 runs scraped between the two).
  std::string text;
  CHECK(eventually([&] {
    text = http_call(metrics_port, "GET", "/metrics").body;
    return series(text, "kwmserver_rtm_connections_connected_current") == 0.0 &&
           series(text, "kwmserver_rtm_group_channels_connections_connected_current") == 0.0 &&
           series(text, "kwmserver_rtm_channels_connections_removed_total") == 2.0;
  }));
  CHECK(series(text, "kwmserver_rtm_connections_disconnected_total") == 3.0);
  CHECK(series(text, "kwmserver_rtm_distinct_users_cleanedup_total") == 2.0);
  CHECK(series(text, "kwmserver_rtm_connections_connected_max") == 3.0);
  CHECK(series(text, "kwmserver_rtm_channels_connections_removed_total") == 2.0);
  CHECK(series(text, "kwmserver_rtm_group_channels_connections_connected_current") == 0.0);
  // The metrics listener serves nothing else, and the main listener has no /metrics.
  CHECK(http_call(metrics_port, "GET", "/api/kwm/v2/rtm/connect").status == 404);
  CHECK(http_call(server.port(), "GET", "/metrics").status == 404);
}

TEST_CASE("static files: index, listing, redirects, ranges, conditional GET, no escape from the root") {
  temp_dir www;
  www.write("index.html", "<h1>kwm</h1>");
  www.write("app.js", "console.log(1);");
  www.write("data.bin", "0123456789");
  www.write("sub dir/note.txt", "note");
  temp_dir outside;
  outside.write("secret.txt", "secret");
  fs::create_symlink(outside.path / "secret.txt", www.path / "link.txt");
  temp_dir docs;
  docs.write("openapi.yaml", "openapi: 3.0.3\n");

  auto options = test_options();
  options.www_root = www.path.string();
  options.docs_root = docs.path.string();
  server_fixture server(options);
  const auto port = server.port();

  auto reply = http_call(port, "GET", "/");
  CHECK(reply.status == 200);
  CHECK(reply.body == "<h1>kwm</h1>");
  CHECK(reply.header("Content-Type") == std::optional<std::string>("text/html; charset=utf-8"));
  CHECK(http_call(port, "GET", "/app.js").header("Content-Type") ==
        std::optional<std::string>("text/javascript; charset=utf-8"));
  reply = http_call(port, "GET", "/index.html");
  CHECK(reply.status == 301);
  CHECK(reply.header("Location") == std::optional<std::string>("./"));
  reply = http_call(port, "GET", "/sub%20dir");
  CHECK(reply.status == 301);
  CHECK(reply.header("Location") == std::optional<std::string>("sub%20dir/"));
  reply = http_call(port, "GET", "/sub%20dir/");
  CHECK(reply.status == 200);
  CHECK(reply.body.find("<a href=\"note.txt\">note.txt</a>") != std::string::npos);

  reply = http_call(port, "GET", "/data.bin", {{"Range", "bytes=2-4"}});
  CHECK(reply.status == 206);
  CHECK(reply.body == "234");
  CHECK(reply.header("Content-Range") == std::optional<std::string>("bytes 2-4/10"));
  CHECK(http_call(port, "GET", "/data.bin", {{"Range", "bytes=-3"}}).body == "789");
  CHECK(http_call(port, "GET", "/data.bin", {{"Range", "bytes=7-"}}).body == "789");
  reply = http_call(port, "GET", "/data.bin", {{"Range", "bytes=10-"}});
  CHECK(reply.status == 416);
  CHECK(reply.header("Content-Range") == std::optional<std::string>("bytes */10"));
  CHECK(http_call(port, "GET", "/data.bin", {{"Range", "bytes=0-1,3-4"}}).status == 200);

  const auto last_modified = http_call(port, "GET", "/data.bin").header("Last-Modified");
  REQUIRE(last_modified.has_value());
  reply = http_call(port, "GET", "/data.bin", {{"If-Modified-Since", *last_modified}});
  CHECK(reply.status == 304);
  CHECK(reply.body.empty());
  CHECK(http_call(port, "GET", "/data.bin", {{"If-Modified-Since", "Mon, 01 Jan 2001 00:00:00 GMT"}}).status == 200);
  // If-Range (RFC 7233 §3.2): the range only for the current copy; otherwise the whole file.
  reply =
      http_call(port, "GET", "/data.bin", {{"Range", "bytes=2-4"}, {"If-Range", *last_modified}});
  CHECK(reply.status == 206);
  CHECK(reply.body == "234");
  for (const char* stale : {"Mon, 01 Jan 2001 00:00:00 GMT", "\"some-tag\"", "not a date"}) {
    reply = http_call(port, "GET", "/data.bin", {{"Range", "bytes=2-4"}, {"If-Range", stale}});
    CHECK_MESSAGE(reply.status == 200, stale);
    CHECK(reply.body == "0123456789");
    CHECK_FALSE(reply.header("Content-Range").has_value());
  }

  const auto head = head_request(port, "/data.bin");
  CHECK(head.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(head.find("Content-Length: 10\r\n") != std::string::npos);

  for (const char* escape : {"/../etc/passwd", "/%2e%2e/etc/passwd", "/sub%20dir/..%2f..%2fetc/passwd", "/link.txt",
                             "/%00", "/nothing-here"}) {
    CAPTURE(escape);
    reply = http_call(port, "GET", escape);
    CHECK(reply.status == 404);
    CHECK(reply.body == "404 page not found\n");
  }
  CHECK(http_call(port, "POST", "/app.js").status == 405);
  // API routes still win over the files at /.
  CHECK(http_call(port, "GET", "/health-check").status == 200);

  reply = http_call(port, "GET", "/docs");
  CHECK(reply.status == 301);
  CHECK(reply.header("Location") == std::optional<std::string>("/docs/"));
  reply = http_call(port, "GET", "/docs/openapi.yaml");
  CHECK(reply.status == 200);
  CHECK(reply.body == "openapi: 3.0.3\n");
  CHECK(reply.header("Content-Type") == std::optional<std::string>("application/yaml"));
  CHECK(http_call(port, "GET", "/docs/").body.find("openapi.yaml") != std::string::npos);
}

TEST_CASE("log events render as logrus-like text or as JSON") {
  using kwm::log::line_format;
  CHECK(kwm::log::render_event(line_format::text, "closing connection",
                               {{"connection", "12"}, {"user", "alice smith"}, {"reason", ""}}) ==
        R"(msg="closing connection" connection=12 user="alice smith" reason="")");
  CHECK(kwm::log::render_event(line_format::json, "say \"hi\"\n", {{"user", "b\\c"}}) ==
        R"("msg":"say \"hi\"\n","user":"b\\c")");
}

TEST_CASE("the OpenAPI description covers every HTTP path and is served under /docs") {
  const std::string file = std::string(KWM_SOURCE_DIR) + "/docs/openapi.yaml";
  const auto spec = YAML::LoadFile(file);
  CHECK(spec["openapi"].as<std::string>() == "3.0.3");
  for (const char* path : {"/health-check", "/api/kwm/v2/rtm/connect", "/api/v1/rtm.connect", "/api/kwm/v2/rtm/turn",
                           "/api/v1/rtm.turn", "/api/kwm/v2/rtm/websocket/{key}", "/api/v1/websocket/{key}",
                           "/api/kwm/v2/admin/auth/tokens", "/api/v1/admin/auth/tokens", "/api/kwm/v2/guest/logon",
                           "/api/kwm/v2/mcu/websocket", "/api/v1/mcu/websocket", "/metrics"}) {
    CAPTURE(path);
    CHECK(spec["paths"][path].IsMap());
  }
  auto options = test_options();
  options.docs_root = std::string(KWM_SOURCE_DIR) + "/docs";
  server_fixture server(options);
  const auto reply = http_call(server.port(), "GET", "/docs/openapi.yaml");
  CHECK(reply.status == 200);
  CHECK(YAML::Load(reply.body)["info"]["title"].as<std::string>() == "kwmserverd HTTP API");
}
