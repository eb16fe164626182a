// rpc::serialize, which writes every JSON-RPC answer and WebSocket notification: byte for byte
// what nlohmann's dump(-1, ' ', false, replace) writes, for the values answers hold and for
// the strings and numbers that take nlohmann's escaping and number rules.
#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <random>
#include <string>

#include "rpc/errors.hpp"

namespace pc::test {
namespace {

using nlohmann::json;

std::string reference_dump(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }

// A string of `length` bytes drawn mostly from printable ASCII, sometimes from everything
// nlohmann escapes or checks: control bytes, DEL, quotes, backslashes, UTF-8 and invalid UTF-8.
std::string random_text(std::mt19937& random, std::size_t length) {
  static const std::vector<std::string> awkward = {"\"",    "\\",       "\x01", "\b",   "\f",       "\n",
                                                   "\r",    "\t",       "\x1f", "\x7f", "\xc3\xa9", "\xe2\x82\xac",
                                                   "\xf0\x9f\x98\x80",  "\xff", "\xc3", "\xe2\x82", "/"};
  std::string text;
  for (std::size_t i = 0; i < length; ++i) {
    if (std::uniform_int_distribution<int>(0, 9)(random) == 0) {
      text += awkward[std::uniform_int_distribution<std::size_t>(0, awkward.size() - 1)(random)];
    } else {
      text += static_cast<char>(std::uniform_int_distribution<int>(0x20, 0x7e)(random));
    }
  }
  return text;
}

json random_value(std::mt19937& random, int depth) {
  const int kind = std::uniform_int_distribution<int>(0, depth > 3 ? 6 : 8)(random);
  switch (kind) {
    case 0: return nullptr;
    case 1: return std::uniform_int_distribution<int>(0, 1)(random) == 1;
    case 2: return std::uniform_int_distribution<std::int64_t>(std::numeric_limits<std::int64_t>::min(),
                                                                std::numeric_limits<std::int64_t>::max())(random);
    case 3: return std::uniform_int_distribution<std::uint64_t>(0, std::numeric_limits<std::uint64_t>::max())(random);
    case 4: return std::uniform_real_distribution<double>(-1e6, 1e6)(random);
    case 5:
    case 6: return random_text(random, std::uniform_int_distribution<std::size_t>(0, 40)(random));
    case 7: {
      json array = json::array();
      const int count = std::uniform_int_distribution<int>(0, 4)(random);
      for (int i = 0; i < count; ++i) array.push_back(random_value(random, depth + 1));
      return array;
    }
    default: {
      json object = json::object();
      const int count = std::uniform_int_distribution<int>(0, 4)(random);
      for (int i = 0; i < count; ++i) {
        object[random_text(random, std::uniform_int_distribution<std::size_t>(0, 8)(random))] = random_value(random, depth + 1);
      }
      return object;
    }
  }
}

TEST_CASE("serialize writes what nlohmann's dump writes for every kind of value", "[rpc][serialize]") {
  // Proves the edge cases one by one: escapes, DEL, UTF-8 kept as it is, invalid UTF-8
  // replaced, integer extremes, floats, empty and nested containers, keys that need escaping.
  const std::vector<json> cases = {
      nullptr,
      true,
      false,
      0,
      -1,
      std::numeric_limits<std::int64_t>::min(),
      std::numeric_limits<std::int64_t>::max(),
      std::numeric_limits<std::uint64_t>::max(),
      1.5,
      -0.0,
      1e300,
      std::numeric_limits<double>::quiet_NaN(),
      std::numeric_limits<double>::infinity(),
      "",
      "plain text, with / and spaces",
      "quote \" and backslash \\",
      std::string("nul \x00 byte", 10),
      "controls \b\f\n\r\t\x01\x1f and DEL \x7f",
      "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
      "invalid \xff and cut \xc3",
      json::object(),
      json::array(),
      json{{"b", 1}, {"a", json::array({1, "x", nullptr, json::object()})}, {"k\"ey\n", "v"}},
      json::array({json::array({json::array()}), json::object({{"", ""}})}),
      json::binary({1, 2, 3}),
  };
  for (const json& value : cases) {
    INFO(reference_dump(value));
    CHECK(rpc::serialize(value) == reference_dump(value));
  }
}

TEST_CASE("serialize agrees with nlohmann's dump on random JSON values", "[rpc][serialize]") {
  // Proves the agreement on many nested values mixing every kind, from a fixed seed.
  const std::uint32_t seed = 20261130;
  std::mt19937 random(seed);
  for (int i = 0; i < 2'000; ++i) {
    const json value = random_value(random, 0);
    INFO("seed " << seed << ", value " << i << ": " << reference_dump(value));
    REQUIRE(rpc::serialize(value) == reference_dump(value));
  }
}

}  // namespace
}  // namespace pc::test
