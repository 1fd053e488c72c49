// Unit tests of the auth and TURN parts of protocol/: the JWT and TURN vectors of
// spec §8.2, every rejection case of D2, Basic values, admin API bodies.
#include <doctest/doctest.h>

#include <variant>

#include "protocol/admin_api.hpp"
#include "protocol/admin_token.hpp"
#include "protocol/base64.hpp"
#include "protocol/basic_values.hpp"
#include "protocol/crypto.hpp"
#include "protocol/turn.hpp"
#include "support/forged_tokens.hpp"

using namespace kwm::protocol;

namespace {

const std::string key = "0123456789abcdef0123456789abcdef";
const std::string vector_token =
    "eyJhbGciOiJIUzI1NiIsImtpZCI6IiIsInR5cCI6IkpXVCJ9.eyJleHAiOjE4MjcyMTg1OTgsImlhdCI6MTc5NTY4MjU5OCwic3ViIjoiYWxpY2UifQ."
    "N_186WOjWDoLV9wn0--gum97iXJrD-nHUyQN35ifv9k";
constexpr int64_t vector_now = 1795682598;

std::string forge(std::string_view header, std::string_view claims, std::string_view signing_key = key) {
  return kwm::test::forge_token(header, claims, signing_key);
}

}  // namespace

TEST_CASE("the admin token JWT vector signs and verifies") {
  CHECK(sign_admin_token(key, {"alice", 1795682598, 1827218598}) == vector_token);
  const auto claims = verify_admin_token(vector_token, key, vector_now);
  REQUIRE(claims);
  CHECK(claims->subject == "alice");
  CHECK(claims->issued_at == 1795682598);
  CHECK(claims->expires_at == 1827218598);
  CHECK(verify_admin_token(vector_token, key, 1827218598));      // exp itself still counts
  CHECK_FALSE(verify_admin_token(vector_token, key, 1827218599));  // expired
}

TEST_CASE("forged, malformed and wrongly signed tokens are rejected (D2)") {
  const std::string hs256 = R"({"alg":"HS256","kid":"","typ":"JWT"})";
  const std::string claims = R"({"exp":1827218598,"iat":1795682598,"sub":"mallory"})";
  CHECK(verify_admin_token(forge(hs256, claims), key, vector_now));  // the forging helper works
  const auto rejected = kwm::test::tokens_breaking_d2(key, "mallory", vector_now);
  CHECK(rejected.size() == 21);
  for (const auto& token : rejected) {
    CAPTURE(token);
    CHECK_FALSE(verify_admin_token(token, key, vector_now));
  }
  CHECK(verify_admin_token(forge(R"({"alg":"HS256"})", claims), key, vector_now));  // kid may be absent
}

TEST_CASE("Authorization header parsing splits at the first space") {
  auto parsed = parse_authorization("Token abc def");
  REQUIRE(parsed);
  CHECK(parsed->type == "Token");
  CHECK(parsed->value == "abc def");
  CHECK_FALSE(parse_authorization("Token"));
  CHECK_FALSE(parse_authorization(""));
  parsed = parse_authorization("Basic ");
  REQUIRE(parsed);
  CHECK(parsed->value.empty());
}

TEST_CASE("TURN credentials and the service user header match the vectors") {
  const auto credentials = shared_secret_credentials("supersecret", "alice", {"turn:a", "turns:b"}, 1795686204 - 3600);
  CHECK(credentials.username == "1795686204:alice");
  CHECK(credentials.password == "IOlomRm80rE8yGeFVlPQEmFOD/Q=");
  CHECK(credentials.ttl == 3600);
  CHECK(credentials.uris == std::vector<std::string>{"turn:a", "turns:b"});
  CHECK(turn_service_user_header("alice") == "K9gGyX8OAK8aH8Myj6djqSaXI8jbj6xPk69x2xhtbpA=");
}

TEST_CASE("Basic values: trimmed lines, blank lines and comments ignored (D16)") {
  const auto values = basic_values::parse("  dXNlcjpwYXNz  \n\n# comment\n\t\nb3RoZXI6c2VjcmV0\r\n");
  CHECK(values.size() == 2);
  CHECK(values.allows("dXNlcjpwYXNz"));
  CHECK(values.allows("b3RoZXI6c2VjcmV0"));
  CHECK_FALSE(values.allows(""));
  CHECK_FALSE(values.allows("# comment"));
  CHECK_FALSE(values.allows("dXNlcjpwYXNz "));
}

TEST_CASE("admin token bodies parse with Go-like errors and render in key order") {
  auto parsed = parse_admin_token_object(R"({"type":"Token","sub":"wonderful","claims":{"b":1,"a":2}})");
  REQUIRE(std::holds_alternative<admin_token_object>(parsed));
  auto token = std::get<admin_token_object>(parsed);
  CHECK(token.sub == "wonderful");
  CHECK(token.claims.text == R"({"a":2,"b":1})");
  token.value = "v";
  token.exp = 5;
  CHECK(render_admin_token(token) == R"({"sub":"wonderful","type":"Token","value":"v","exp":5,"claims":{"a":2,"b":1}})" "\n");
  CHECK(render_admin_tokens({}) == "[]\n");
  CHECK(render_admin_tokens({admin_token_object{"u", "Basic", "", 0, {}}}) == R"([{"sub":"u","type":"Basic"}])" "\n");

  auto error_of = [](std::string_view body) {
    auto result = parse_admin_token_object(body);
    REQUIRE(std::holds_alternative<std::string>(result));
    return std::get<std::string>(result);
  };
  CHECK(error_of("") == "unexpected end of JSON input");
  CHECK(error_of(R"({"type":"Token","sub":"aaaa)") == "unexpected end of JSON input");
  CHECK(error_of(R"({"type":5})") == "json: cannot unmarshal number into Go struct field AdminAuthToken.type of type string");
  CHECK(error_of(R"({"exp":"1"})") == "json: cannot unmarshal string into Go struct field AdminAuthToken.exp of type int64");
  CHECK(error_of("[]") == "json: cannot unmarshal array into Go value of type admin.AdminAuthToken");
  CHECK_FALSE(error_of("{nope").empty());
}

TEST_CASE("JSON strings holding NUL characters are read whole and never cut at the first one (N1)") {
  const std::string claims = R"({"exp":1827218598,"iat":1795682598,"sub":"mallory"})";
  // "HS256" + NUL + anything is not HS256.
  CHECK_FALSE(verify_admin_token(forge(R"({"alg":"HS256\u0000x","kid":""})", claims), key, vector_now));
  CHECK_FALSE(verify_admin_token(forge(R"({"alg":"HS256\u0000"})", claims), key, vector_now));
  // A subject with a NUL stays that subject: it is not "alice".
  const auto nul_subject =
      verify_admin_token(forge(R"({"alg":"HS256"})", R"({"exp":1827218598,"iat":1795682598,"sub":"alice\u0000x"})"),
                         key, vector_now);
  REQUIRE(nul_subject);
  CHECK(nul_subject->subject == std::string("alice\0x", 7));
  // TURN service answers: every byte of the strings.
  const auto turn = parse_turn_service_response(R"({"username":"u\u0000v","password":"p\u0000q","ttl":600,"uris":["turn:a\u0000b"]})");
  REQUIRE(turn);
  CHECK(turn->username == std::string("u\0v", 3));
  CHECK(turn->password == std::string("p\0q", 3));
  REQUIRE(turn->uris.size() == 1);
  CHECK(turn->uris[0] == std::string("turn:a\0b", 8));
  // Admin bodies: bytes after a raw NUL are not ignored; an escaped NUL is kept.
  CHECK(std::holds_alternative<std::string>(parse_admin_token_object(std::string(R"({"type":"Token"})") + '\0' + "x")));
  CHECK(std::holds_alternative<std::string>(parse_admin_token_object(std::string(R"({"type":"Token"})") + '\0')));
  const auto parsed = parse_admin_token_object(R"({"type":"Token","sub":"a\u0000b"})");
  REQUIRE(std::holds_alternative<admin_token_object>(parsed));
  CHECK(std::get<admin_token_object>(parsed).sub == std::string("a\0b", 3));
}

TEST_CASE("a UTF-8 byte order mark before JSON is invalid JSON as in Go's encoding/json") {
  const std::string bom = "\xEF\xBB\xBF";
  CHECK(std::holds_alternative<std::string>(parse_admin_token_object(bom + R"({"type":"Token"})")));
  CHECK_FALSE(parse_turn_service_response(bom + R"({"username":"u","uris":["turn:a"]})"));
  CHECK_FALSE(verify_admin_token(forge(bom + R"({"alg":"HS256"})", R"({"exp":1827218598,"sub":"a"})"), key, vector_now));
  CHECK_FALSE(verify_admin_token(forge(R"({"alg":"HS256"})", bom + R"({"exp":1827218598,"sub":"a"})"), key, vector_now));
}
