// Unit tests of the hardened JSON entry (protocol/json_reader.hpp, D18) and the output check
// (protocol/json_check.hpp, D19): numbers, nesting, element counts, strings, escapes.
#include <doctest/doctest.h>

#include <rapidjson/document.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>

#include "protocol/json.hpp"
#include "protocol/json_check.hpp"
#include "protocol/json_reader.hpp"

using namespace kwm::protocol;

namespace {

bool parse(std::string_view text, rapidjson::Document& doc, const json_limits& limits = {}) {
  return !read_json(text, doc, limits).IsError();
}

bool valid(std::string_view text, const json_limits& limits = {}) {
  rapidjson::Document doc;
  const bool ok = parse(text, doc, limits);
  CHECK(is_acceptable_json(text, limits) == ok);
  return ok;
}

double number(std::string_view text) {
  rapidjson::Document doc;
  REQUIRE(parse(text, doc));
  REQUIRE(doc.IsNumber());
  return doc.GetDouble();
}

std::string string_of(std::string_view text) {
  rapidjson::Document doc;
  REQUIRE(parse(text, doc));
  REQUIRE(doc.IsString());
  return std::string(doc.GetString(), doc.GetStringLength());
}

std::string nested(std::size_t depth, char open = '[') {
  const char close = open == '[' ? ']' : '}';
  std::string text;
  for (std::size_t i = 0; i < depth; ++i) text += open == '[' ? "[" : R"({"k":)";
  if (open == '{') text += "1";
  text += std::string(depth, close);
  return text;
}

std::string array_of(std::size_t elements) {
  std::string text = "[";
  for (std::size_t i = 0; i < elements; ++i) text += i == 0 ? "0" : ",0";
  return text + "]";
}

const std::string replacement = "\xEF\xBF\xBD";

}  // namespace

TEST_CASE("json reader: integers get the types RapidJSON's reader gives them") {
  // Compared with RapidJSON's own reader on these (trusted, harmless) texts.
  for (const char* text : {"0", "-0", "1", "-1", "2147483647", "2147483648", "-2147483648",
                           "-2147483649", "4294967295", "4294967296", "9223372036854775807",
                           "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
                           "18446744073709551615", "18446744073709551616", "1.0", "1e3", "-0.0"}) {
    CAPTURE(text);
    rapidjson::Document mine;
    rapidjson::Document theirs;
    REQUIRE(parse(text, mine));
    theirs.Parse(text);
    REQUIRE_FALSE(theirs.HasParseError());
    CHECK(mine.IsInt() == theirs.IsInt());
    CHECK(mine.IsUint() == theirs.IsUint());
    CHECK(mine.IsInt64() == theirs.IsInt64());
    CHECK(mine.IsUint64() == theirs.IsUint64());
    CHECK(mine.IsDouble() == theirs.IsDouble());
    CHECK(mine == theirs);
  }
  rapidjson::Document doc;
  REQUIRE(parse("18446744073709551615", doc));
  CHECK(doc.GetUint64() == std::numeric_limits<uint64_t>::max());
  REQUIRE(parse("-9223372036854775808", doc));
  CHECK(doc.GetInt64() == std::numeric_limits<int64_t>::min());
  REQUIRE(parse("9007199254740993", doc));
  CHECK(doc.GetUint64() == 9007199254740993ULL);
}

TEST_CASE("json reader: other numbers are correctly rounded doubles") {
  CHECK(number("1.5") == 1.5);
  CHECK(number("0.1") == 0.1);
  CHECK(number("1E+2") == 100.0);
  CHECK(number("-2.5e-3") == -0.0025);
  CHECK(number("9007199254740993.0") == 9007199254740992.0);  // halfway: to even
  CHECK(number("2.2250738585072011e-308") == 2.2250738585072011e-308);
  CHECK(number("2.2250738585072014e-308") == std::numeric_limits<double>::min());
  CHECK(number("1.7976931348623157e308") == std::numeric_limits<double>::max());
  CHECK(number("1.7976931348623158e308") == std::numeric_limits<double>::max());
  CHECK(number("18446744073709551616") == 18446744073709551616.0);
  CHECK(number("0." + std::string(300, '0') + "1") == 1e-301);
  CHECK(number("1." + std::string(100000, '0')) == 1.0);
  CHECK(number(std::string(300, '9')) == 1e300);
  CHECK(number("0e99999999999999999999") == 0.0);
  const double negative_zero = number("-0.0");
  CHECK(negative_zero == 0.0);
  CHECK(std::signbit(negative_zero));
}

TEST_CASE("json reader: underflow gives zero or a subnormal, never a change of sign or scale") {
  // Go's strconv.ParseFloat returns these without an error; encoding/json accepts them.
  for (const std::string& text :
       {std::string("1e-400"), std::string("2.4703282292062327e-324"),
        std::string("1111111111111111111e-343"), std::string("999112.50356684760857e-330"),
        std::string(
            "99999999909099000.000007777777777777777777777777777777777770000000000928e-390"),
        "0." + std::string(350, '0') + "1", std::string("1e-99999999999999999999999"),
        "0." + std::string(100000, '0') + "7"}) {
    CAPTURE(text);
    const double value = number(text);
    CHECK(value == 0.0);
    CHECK_FALSE(std::signbit(value));
    CHECK(std::signbit(number("-" + text)));
    CHECK(number("-" + text) == 0.0);
  }
  CHECK(number("2.4703282292062328e-324") == std::numeric_limits<double>::denorm_min());
  CHECK(number("5e-324") == std::numeric_limits<double>::denorm_min());
  CHECK(number("-4e-320") == -4e-320);
}

TEST_CASE("json reader: numbers beyond the finite double range are invalid") {
  for (const std::string& text :
       {std::string("1e309"), std::string("1.7976931348623159e308"), std::string("-1e400"),
        std::string("1e99999999999999999999999"), "1" + std::string(400, '0'),
        "-1" + std::string(400, '0') + ".5", std::string("0.1e310")}) {
    CAPTURE(text);
    CHECK_FALSE(valid(text));
    CHECK_FALSE(valid(R"({"a":[)" + text + "]}"));
    CHECK_FALSE(is_valid_json_text(text));
  }
  rapidjson::Document doc;
  const auto result = read_json("[1e400]", doc);
  CHECK(result.Code() == rapidjson::kParseErrorNumberTooBig);
  CHECK(result.Offset() == 1);
  CHECK(doc.IsNull());
}

TEST_CASE("json reader: the grammar is strict RFC 8259") {
  for (const char* text : {"",
                           " ",
                           "01",
                           "-",
                           "-a",
                           "1.",
                           ".5",
                           "1e",
                           "1e+",
                           "+1",
                           "0x10",
                           "NaN",
                           "Infinity",
                           "-Infinity",
                           "1.e3",
                           "--1",
                           "[1,]",
                           "{,}",
                           R"({"a"})",
                           R"({"a":})",
                           R"({"a" 1})",
                           "[1 2]",
                           "'a'",
                           "/* c */ 1",
                           "1 // c",
                           "tru",
                           "nul",
                           "True",
                           "[",
                           "]",
                           "{",
                           "}",
                           R"({"a":1,})",
                           R"({1:2})",
                           "[,1]",
                           "\f1",
                           "[\"a\"",
                           "\"abc",
                           "{\"a\":1}}",
                           "[]]",
                           "\xEF\xBB\xBF{}"}) {
    CAPTURE(text);
    CHECK_FALSE(valid(text));
  }
  CHECK_FALSE(valid(std::string("1\0", 2)));
  CHECK_FALSE(valid(std::string("\0", 1)));
  CHECK_FALSE(valid(std::string("[1,\0]", 5)));
  for (const char* text : {"0", "-0", "\"x\"", "null", "true", "false", "[]", "{}", " \t\r\n{}\n ",
                           R"([1,{"a":[true,false,null]},"s",-1.5e-7])", R"({"":""})"}) {
    CAPTURE(text);
    CHECK(valid(text));
    CHECK(is_valid_json_text(text));
  }
}

TEST_CASE("json reader: error codes and offsets keep RapidJSON's meaning") {
  rapidjson::Document doc;
  auto result = read_json(R"({"a":)", doc);
  CHECK(result.Code() == rapidjson::kParseErrorValueInvalid);
  CHECK(result.Offset() == 5);
  result = read_json("", doc);
  CHECK(result.Code() == rapidjson::kParseErrorDocumentEmpty);
  result = read_json("{} x", doc);
  CHECK(result.Code() == rapidjson::kParseErrorDocumentRootNotSingular);
  CHECK(result.Offset() == 3);
  result = read_json(R"({"a" 1})", doc);
  CHECK(result.Code() == rapidjson::kParseErrorObjectMissColon);
  result = read_json(R"({"a":1 "b":2})", doc);
  CHECK(result.Code() == rapidjson::kParseErrorObjectMissCommaOrCurlyBracket);
  result = read_json("[1 2]", doc);
  CHECK(result.Code() == rapidjson::kParseErrorArrayMissCommaOrSquareBracket);
  result = read_json("{1:2}", doc);
  CHECK(result.Code() == rapidjson::kParseErrorObjectMissName);
  result = read_json(R"("abc)", doc);
  CHECK(result.Code() == rapidjson::kParseErrorStringMissQuotationMark);
  CHECK(result.Offset() == 4);
  result = read_json(R"("\x")", doc);
  CHECK(result.Code() == rapidjson::kParseErrorStringEscapeInvalid);
  result = read_json(R"("\u12")", doc);
  CHECK(result.Code() == rapidjson::kParseErrorStringUnicodeEscapeInvalidHex);
  result = read_json("\"\xC0\x80\"", doc);
  CHECK(result.Code() == rapidjson::kParseErrorStringInvalidEncoding);
  CHECK(result.Offset() == 1);
  result = read_json(nested(33), doc);
  CHECK(result.Code() == rapidjson::kParseErrorTermination);
  // A document that held a value before a failed parse is null afterwards.
  REQUIRE(parse("[1]", doc));
  CHECK_FALSE(parse("[1", doc));
  CHECK(doc.IsNull());
}

TEST_CASE("json reader: nesting of 32 is fine, 33 is invalid, at any size") {
  CHECK(valid(nested(32)));
  CHECK_FALSE(valid(nested(33)));
  CHECK(valid(nested(32, '{')));
  CHECK_FALSE(valid(nested(33, '{')));
  CHECK_FALSE(valid("[" + nested(32, '{') + "]"));
  CHECK_FALSE(valid(R"({"a":)" + nested(32) + "}"));
  CHECK_FALSE(valid(R"({"a":)" + std::string(31, '[') + "[]" + std::string(31, ']') + "}"));
  CHECK_FALSE(valid(std::string(1000000, '[')));
  CHECK_FALSE(valid(nested(100000)));
  CHECK_FALSE(valid(nested(100000, '{')));
  // The limit is a parameter.
  json_limits two;
  two.max_depth = 2;
  CHECK(valid("[[1]]", two));
  CHECK(valid("[[],{}]", two));
  CHECK_FALSE(valid("[[[]]]", two));
  CHECK_FALSE(valid("[{\"a\":{}}]", two));
  // The output check has no depth limit and does not recurse.
  CHECK(is_valid_json_text(nested(200000)));
  CHECK(is_valid_json_text(nested(200000, '{')));
  CHECK_FALSE(is_valid_json_text(std::string(200000, '[')));
}

TEST_CASE("json reader: members and array elements are counted over all levels") {
  CHECK(valid(array_of(10000)));
  CHECK_FALSE(valid(array_of(10001)));
  std::string members = "{";
  for (int i = 0; i < 10001; ++i) members += (i == 0 ? "\"k" : ",\"k") + std::to_string(i) + "\":1";
  members += "}";
  CHECK_FALSE(valid(members));
  // {"a":[1,2],"b":{"c":3}}: a, 1, 2, b, c.
  const std::string five = R"({"a":[1,2],"b":{"c":3}})";
  json_limits limits;
  limits.max_elements = 5;
  CHECK(valid(five, limits));
  limits.max_elements = 4;
  CHECK_FALSE(valid(five, limits));
  // Empty containers add nothing; the root is no element.
  limits.max_elements = 1;
  CHECK(valid("[[]]", limits));
  CHECK(valid("{}", limits));
  CHECK_FALSE(valid("[[],[]]", limits));
  // Split across levels, the sum counts.
  CHECK_FALSE(valid("[" + array_of(5000) + "," + array_of(4999) + "]"));
  CHECK(valid("[" + array_of(5000) + "," + array_of(4998) + "]"));
  // 0 = no limit.
  limits.max_elements = 0;
  CHECK(valid(array_of(50000), limits));
}

TEST_CASE("json reader: lone surrogate escapes decode to U+FFFD as in Go") {
  CHECK(string_of(R"("\udc00")") == replacement);
  CHECK(string_of(R"("\ud800")") == replacement);
  CHECK(string_of(R"("\ud800x")") == replacement + "x");
  CHECK(string_of(R"("\ud800\u0041")") == replacement + "A");
  CHECK(string_of(R"("\ud800\ud800")") == replacement + replacement);
  CHECK(string_of(R"("\udc00\udc00")") == replacement + replacement);
  CHECK(string_of(R"("\udc00\ud800\udc00")") == replacement + "\xF0\x90\x80\x80");
  CHECK(string_of(R"("\ud800\\udc00")") == replacement + "\\udc00");
  CHECK(string_of(R"("\ud83d\ude00")") == "\xF0\x9F\x98\x80");
  CHECK(string_of(R"("\uD83D\uDE00")") == "\xF0\x9F\x98\x80");
  CHECK(string_of(R"("\udbff\udfff")") == "\xF4\x8F\xBF\xBF");
  CHECK_FALSE(valid(R"("\ud800\u00")"));
  CHECK_FALSE(valid(R"("\ud800\uZZZZ")"));
  // Keys decode the same way.
  rapidjson::Document doc;
  REQUIRE(parse(R"({"\udc00":1})", doc));
  CHECK(std::string(doc.MemberBegin()->name.GetString()) == replacement);
  // The output check refuses them: the server never writes one.
  CHECK_FALSE(is_valid_json_text(R"("\udc00")"));
  CHECK_FALSE(is_valid_json_text(R"("\ud800\u0041")"));
  CHECK(is_valid_json_text(R"("\ud83d\ude00")"));
}

TEST_CASE("json reader: escapes decode, raw strings must be UTF-8 without control characters") {
  CHECK(string_of(R"("\"\\\/\b\f\n\r\t")") == "\"\\/\b\f\n\r\t");
  CHECK(string_of(R"("\u0000")") == std::string(1, '\0'));
  CHECK(string_of(R"("\u00e9\u20AC")") == "\xC3\xA9\xE2\x82\xAC");
  CHECK(string_of("\"\x7F\"") == "\x7F");
  CHECK(string_of("\"\xE2\x82\xAC \xF0\x9F\x98\x80 \xC3\xA9\"") ==
        "\xE2\x82\xAC \xF0\x9F\x98\x80 \xC3\xA9");
  CHECK(string_of("\"\xEF\xBF\xBF\xF4\x8F\xBF\xBF\xED\x9F\xBF\xEE\x80\x80\"") ==
        "\xEF\xBF\xBF\xF4\x8F\xBF\xBF\xED\x9F\xBF\xEE\x80\x80");
  for (const char* bytes :
       {"\xC0\x80", "\xC1\xBF", "\xE0\x80\x80", "\xE0\x9F\xBF", "\xED\xA0\x80", "\xED\xBF\xBF",
        "\xF0\x80\x80\x80", "\xF0\x8F\xBF\xBF", "\xF4\x90\x80\x80", "\xF5\x80\x80\x80", "\xFF",
        "\xFE", "\x80", "\xBF", "\xE2\x82", "\xF0\x9F\x98", "\xC3", "\xC3\x28", "\xE2\x28\xA1"}) {
    CAPTURE(bytes);
    const std::string text = std::string("\"a") + bytes + "b\"";
    CHECK_FALSE(valid(text));
    CHECK_FALSE(valid(std::string("\"a\\n") + bytes + "b\""));  // after an escape too
    CHECK_FALSE(valid(std::string("{\"") + bytes + "\":1}"));   // in a key
    CHECK_FALSE(is_valid_json_text(text));
  }
  for (int c = 0; c < 0x20; ++c) {
    CAPTURE(c);
    CHECK_FALSE(valid(std::string("\"a") + static_cast<char>(c) + "\""));
    CHECK_FALSE(valid(std::string("\"\\t") + static_cast<char>(c) + "\""));
  }
  for (const char* text : {R"("\x")", R"("\U0041")", R"("\u12")", R"("\u12G4")", R"("\)", R"("\')",
                           "\"\xE2\x82\xAC\\"}) {
    CAPTURE(text);
    CHECK_FALSE(valid(text));
  }
  CHECK_FALSE(valid("\xC3\xA9"));  // non-ASCII outside a string
}

TEST_CASE("json reader: every byte at every position of a plain string run") {
  // The scanner skips plain bytes a word at a time; each byte value must still be seen.
  for (int byte = 0; byte < 256; ++byte) {
    for (std::size_t position = 0; position < 17; ++position) {
      std::string content(17, 'a');
      content[position] = static_cast<char>(byte);
      const bool plain = byte >= 0x20 && byte < 0x80 && byte != '"' && byte != '\\';
      rapidjson::Document doc;
      const bool ok = parse("\"" + content + "\"", doc);
      if (ok != plain) {
        CAPTURE(byte);
        CAPTURE(position);
        CHECK(ok == plain);
      }
      if (ok) CHECK(std::string(doc.GetString(), doc.GetStringLength()) == content);
    }
  }
}

TEST_CASE("json reader: huge strings, duplicate keys, reuse of the scratch memory") {
  const std::string big(1 << 20, 'x');
  CHECK(string_of("\"" + big + "\"") == big);
  std::string escaped;
  for (int i = 0; i < 100000; ++i) escaped += "\\n\xC3\xA9";
  CHECK(string_of("\"" + escaped + "\"").size() == 300000);

  rapidjson::Document doc;
  REQUIRE(parse(R"({"a":1,"b":2,"a":3})", doc));
  REQUIRE(doc.MemberCount() == 3);
  auto it = doc.MemberBegin();
  CHECK(std::string(it->name.GetString()) == "a");
  CHECK(it->value.GetInt() == 1);
  it += 2;
  CHECK(std::string(it->name.GetString()) == "a");
  CHECK(it->value.GetInt() == 3);

  // with_json: the same results with the per-thread scratch, also beyond its size and from
  // inside another call.
  const json_limits limits;
  const std::string large =
      "[" + std::string(100000, ' ') + "\"" + big + "\"," + array_of(9000) + "]";
  CHECK(with_json(large, limits, [&](const rapidjson::Value* root) {
    return root != nullptr && root->Size() == 2 &&
           root->GetArray()[0].GetStringLength() == big.size();
  }));
  CHECK(with_json("[1", limits, [](const rapidjson::Value* root) { return root == nullptr; }));
  CHECK(with_json(R"({"a":"b"})", limits, [&](const rapidjson::Value* outer) {
    return with_json("[2]", limits, [&](const rapidjson::Value* inner) {
      return outer != nullptr && inner != nullptr &&
             std::string((*outer)["a"].GetString()) == "b" && inner->GetArray()[0].GetInt() == 2;
    });
  }));
  // RapidJSON's pool keeps its chunk header at the start of the buffer.
  const auto& scratch = detail::thread_json_scratch();
  CHECK(reinterpret_cast<std::uintptr_t>(scratch.values.data()) % alignof(std::max_align_t) == 0);
  CHECK(reinterpret_cast<std::uintptr_t>(scratch.stack.data()) % alignof(std::max_align_t) == 0);
}

TEST_CASE("json writer: a non-finite double is written as null, never left out") {
  rapidjson::StringBuffer buffer;
  json_writer out(buffer);
  rapidjson::Value array(rapidjson::kArrayType);
  rapidjson::MemoryPoolAllocator<> allocator;
  array.PushBack(std::numeric_limits<double>::infinity(), allocator);
  array.PushBack(std::nan(""), allocator);
  array.PushBack(1.5, allocator);
  write_sorted(out, array);
  CHECK(take_string(buffer) == "[null,null,1.5]");
  CHECK(is_valid_json_text("[null,null,1.5]"));
}
