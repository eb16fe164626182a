// node.json (node/config.cpp): what a node accepts at start-up, and how it says what is wrong.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fstream>
#include <string>

#include "node/node.hpp"
#include "tests/fixtures.hpp"

namespace {

// Writes `json` as DIR/node.json and loads it: the error message, or "" when it loads.
std::string load_error(const pc::test::TempDir& dir, const std::string& json) {
  const auto path = dir.path() / "node.json";
  std::ofstream(path, std::ios::trunc) << json;
  auto loaded = pc::node::load_node_config(path);
  return loaded ? std::string() : loaded.error();
}

}  // namespace

TEST_CASE("node.json errors name the file, the member and the rule, missing members keep defaults",
          "[node][config]") {
  // Proves the node.json contract in docs/node.md: a member left out keeps its default, and an
  // unknown member, a wrong JSON type or a value out of range is refused with a message that
  // starts with the file's path and names the member and the rule.
  pc::test::TempDir dir;
  const std::string path = (dir.path() / "node.json").string();

  CHECK(load_error(dir, "{}").empty());
  auto defaults = pc::node::load_node_config(dir.path() / "node.json");
  REQUIRE(defaults.ok());
  CHECK(defaults->rpc_port == pc::node::NodeConfig{}.rpc_port);

  CHECK(load_error(dir, R"({"rpc_prot": 8645})") == path + ": unknown field \"rpc_prot\"");
  CHECK(load_error(dir, R"({"rpc_port": "8645"})") == path + ": rpc_port must be a non-negative integer");
  CHECK(load_error(dir, R"({"rpc_port": 70000})") == path + ": rpc_port must be between 1 and 65535");
  CHECK(load_error(dir, R"({"api_token": 5})") == path + ": api_token must be a string");
  CHECK(load_error(dir, R"({"mempool": {"tx_count_max": 0}})") ==
        path + ": mempool.tx_count_max must be between 1 and 4294967295");
  CHECK(load_error(dir, R"({"mempool": {"bytes": 1}})") == path + ": unknown field \"bytes\" in mempool");
  CHECK(load_error(dir, R"({"earn_rates": [{"currency": "EUR"}]})") ==
        path + ": each earn rate needs currency and points_per_unit");
  CHECK(load_error(dir, "[]") == path + ": the top level must be an object");
  CHECK(load_error(dir, "{").rfind(path + ": not valid JSON: ", 0) == 0);
}

TEST_CASE("a number too large even for a double is a node.json error, not an exception", "[node][config]") {
  // Proves the JSON parser's range error (the earning-rules file had the same defect) comes
  // back as a message like any other bad JSON.
  pc::test::TempDir dir;
  const std::string path = (dir.path() / "node.json").string();
  CHECK(load_error(dir, R"({"rpc_port": 1e999})").rfind(path + ": not valid JSON: ", 0) == 0);
}
