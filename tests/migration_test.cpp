// docs/migrating.md against the binaries: every flag the original's `serve --help` lists has a
// row in the guide's flag table, and our `kwmserverd serve` either accepts it (a dry run with a
// usable value exits 0) or refuses it with exactly the message the row gives. Needs the
// original's binary (KWM_ORIGINAL_SERVER, default ../shared/peer/kwmserverd-2.0 beside the
// repository, and the 1.2.0 build next to it); skipped, saying so, where it is absent.
#include <doctest/doctest.h>
#include <unistd.h>

#include <re2/re2.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "support/process.hpp"

using namespace kwm::test;
namespace fs = std::filesystem;

namespace {

struct original_flag {
  std::string name;  // without the dashes
  bool takes_value = false;
};

// The flags of `serve --help` (cobra's layout: "  -h, --help", "      --listen string   …").
std::vector<original_flag> flags_of_help(const std::string& help) {
  std::vector<original_flag> flags;
  std::istringstream lines(help);
  std::string line;
  const RE2 pattern(R"(^\s+(?:-\w, )?--([a-z0-9-]+)(?: (\w+))?\s)");
  while (std::getline(lines, line)) {
    std::string name, type;
    if (!RE2::PartialMatch(line, pattern, &name, &type) || name == "help") continue;
    flags.push_back({name, !type.empty()});
  }
  return flags;
}

// The guide's flag table: `--name` → the cell "here" (the second column).
std::map<std::string, std::string> guide_rows(const std::string& guide) {
  std::map<std::string, std::string> rows;
  std::istringstream lines(guide);
  std::string line, name, here;
  const RE2 row(R"(^\| `--([a-z0-9-]+)`[^|]*\| ([^|]*)\|)");
  while (std::getline(lines, line))
    if (RE2::PartialMatch(line, row, &name, &here)) rows.emplace(name, here);
  return rows;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

struct outcome {
  int status = -1;
  std::string out, err;
};

outcome run_in(const fs::path& directory, const std::vector<std::string>& args) {
  child_process child(args, {{"KOPANO_SURVEYCLIENT_AUTOSURVEY", "no"}}, directory.string());
  const auto status = child.wait_exit(std::chrono::seconds(20));
  REQUIRE_MESSAGE(status.has_value(), "no exit within 20 s: " << args[0] << " " << args[1]);
  return {*status, child.out, child.err};
}

// Working files for the dry runs: ./www and ./docs exist (the original's default roots).
struct scratch {
  scratch() : path(fs::temp_directory_path() / ("kwm-migration-" + std::to_string(::getpid()))) {
    fs::create_directories(path / "www");
    fs::create_directories(path / "docs");
    std::ofstream(path / "admin.key") << std::string(32, 'k');
    std::ofstream(path / "basic.txt") << "cGVlcjpwZWVy\n";
    std::ofstream(path / "turn.secret") << "secret\n";
    std::ofstream(path / "turn.credentials") << "user:password\n";
    std::ofstream(path / "registration.yaml")
        << "clients:\n  - id: web\n    application_type: web\n";
  }
  ~scratch() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
  std::string file(const char* name) const { return (path / name).string(); }
  fs::path path;
};

// A usable value for each flag of the original, with what it needs next to it here. A flag
// the original gains later has none: the test then says which one to add (to the guide too).
std::map<std::string, std::vector<std::string>> accepted_samples(const scratch& s) {
  return {
      {"admin-tokens-key", {"--admin-tokens-key", s.file("admin.key")}},
      {"allow-guest-only-channels", {"--allow-guest-only-channels"}},
      {"auth-basic-values", {"--auth-basic-values", s.file("basic.txt")}},
      {"docs-root", {"--docs-root", s.path.string()}},
      {"enable-auth-basic", {"--enable-auth-basic", "--auth-basic-values", s.file("basic.txt")}},
      {"enable-docs", {"--enable-docs"}},
      {"enable-guest-api", {"--enable-guest-api"}},
      {"enable-mcu-api", {"--enable-mcu-api"}},
      {"enable-rtm-api", {"--enable-rtm-api=false"}},
      {"enable-www", {"--enable-www"}},
      {"insecure", {"--insecure"}},
      {"insecure-auth", {"--insecure-auth"}},
      {"iss", {"--iss", "https://issuer.example"}},
      {"listen", {"--listen", "0.0.0.0:8778"}},
      {"log-level", {"--log-level", "warn"}},
      {"log-timestamp", {"--log-timestamp=false"}},
      {"metrics-listen", {"--metrics-listen", "127.0.0.1:6778"}},
      {"pipeline-forced-regexp", {"--pipeline-forced-regexp", "@conference/.*"}},
      {"public-guest-access-regexp", {"--public-guest-access-regexp", "^group/public/.*"}},
      {"registration-conf", {"--registration-conf", s.file("registration.yaml")}},
      {"rtm-required-scope",
       {"--rtm-required-scope", "kopano/kwm", "--rtm-required-scope", "profile"}},
      {"turn-server-shared-secret",
       {"--turn-server-shared-secret", s.file("turn.secret"), "--turn-uri",
        "turn:turn.example.com:3478"}},
      {"turn-service-credentials", {"--turn-service-credentials", s.file("turn.credentials")}},
      {"turn-service-url",
       {"--turn-service-url", "https://turn.example.com/auth/", "--turn-service-credentials",
        s.file("turn.credentials")}},
      {"turn-uri", {"--turn-uri", "turn:turn.example.com:3478?transport=udp"}},
      {"with-metrics", {"--with-metrics"}},
      {"www-root", {"--www-root", s.path.string()}},
  };
}

// The message of a "refused: `…`" cell, or nothing for a flag that is accepted.
std::optional<std::string> refusal(const std::string& cell) {
  std::string message;
  if (RE2::PartialMatch(cell, R"(^refused: `([^`]+)`)", &message)) return message;
  return std::nullopt;
}

// Checks every flag of `original` against the guide and our binary; returns their names.
std::set<std::string> check_original(const std::string& original) {
  CAPTURE(original);
  const scratch s;
  const auto help = run_in(s.path, {original, "serve", "--help"});
  REQUIRE(help.status == 0);
  const auto flags = flags_of_help(help.out + help.err);
  REQUIRE_MESSAGE(flags.size() >= 25, "could not read the flags of:\n" << help.out << help.err);
  const auto rows = guide_rows(read_text(fs::path(KWM_SOURCE_DIR) / "docs" / "migrating.md"));
  const auto samples = accepted_samples(s);
  std::set<std::string> names;
  for (const auto& flag : flags) {
    CAPTURE(flag.name);
    names.insert(flag.name);
    const auto row = rows.find(flag.name);
    if (row == rows.end()) {
      FAIL_CHECK("docs/migrating.md has no row for --" << flag.name << " in its flag table");
      continue;
    }
    std::vector<std::string> args{KWM_SERVER_BINARY, "serve", "--dry-run"};
    if (const auto message = refusal(row->second)) {
      args.push_back("--" + flag.name);
      if (flag.takes_value) args.push_back("127.0.0.1:6060");
      const auto result = run_in(s.path, args);
      CHECK(result.status == 2);
      CHECK(result.err == *message + "\n");
      continue;
    }
    const auto sample = samples.find(flag.name);
    if (sample == samples.end()) {
      FAIL_CHECK("no usable value for --" << flag.name << " in tests/migration_test.cpp");
      continue;
    }
    args.insert(args.end(), sample->second.begin(), sample->second.end());
    const auto result = run_in(s.path, args);
    CHECK_MESSAGE(result.status == 0, "refused: " << result.err);
    CHECK(result.out == "configuration ok\n");
  }
  return names;
}

}  // namespace

TEST_CASE("every flag of the original is accepted or refused as docs/migrating.md says") {
  const char* configured = std::getenv("KWM_ORIGINAL_SERVER");
  const fs::path newest =
      configured != nullptr ? configured : KWM_SOURCE_DIR "/../shared/peer/kwmserverd-2.0";
  if (!fs::exists(newest)) {
    MESSAGE("skipped: no original server at " << newest.string() << " (set KWM_ORIGINAL_SERVER)");
    return;
  }
  auto known = check_original(newest.string());
  // The 1.2.0 line (with the /api/v1 routes); checked when it is there too.
  const auto older = newest.parent_path() / "kwmserverd-1.2.0";
  if (fs::exists(older)) known.merge(check_original(older.string()));
  // And the table holds nothing else (a row for a flag the original never had misleads).
  for (const auto& [name, here] :
       guide_rows(read_text(fs::path(KWM_SOURCE_DIR) / "docs" / "migrating.md")))
    CHECK_MESSAGE(known.count(name) == 1,
                  "docs/migrating.md lists --" << name << ", which the original does not have");
}

TEST_CASE("the guide's flag table lists each flag once") {
  const auto guide = read_text(fs::path(KWM_SOURCE_DIR) / "docs" / "migrating.md");
  REQUIRE_FALSE(guide.empty());
  std::istringstream lines(guide);
  std::string line, name;
  std::set<std::string> seen;
  const RE2 row(R"(^\| `--([a-z0-9-]+)`[^|]*\|)");
  while (std::getline(lines, line))
    if (RE2::PartialMatch(line, row, &name))
      CHECK_MESSAGE(seen.insert(name).second, "--" << name << " twice");
  CHECK(seen.size() >= 29);
  CHECK(seen.count("listen") == 1);
  CHECK(seen.count("with-pprof") == 1);
}
