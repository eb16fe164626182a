// node.json's rpc_limits: the RPC server's connection limits, body size, timeouts and threads
// are read with their ranges, and a value out of range stops the node with a message naming it.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "node/node.hpp"

namespace {

using pc::node::parse_node_config;

}  // namespace

TEST_CASE("node.json rpc_limits: defaults, a round trip through init's file, and a lower total lowers the "
          "per-address default",
          "[node][config]") {
  // Proves the defaults docs/node.md lists, that node_config_to_json writes rpc_limits so
  // that it reads back the same, and that setting only connections_max below 64 keeps the
  // per-address limit within it instead of refusing the file.
  const auto defaults = parse_node_config("{}", "/tmp");
  REQUIRE(defaults);
  const pc::node::RpcLimits& limits = defaults->rpc_limits;
  CHECK(limits.connections_max == 256);
  CHECK(limits.connections_per_address_max == 64);
  CHECK(limits.body_bytes_max == 1024 * 1024);
  CHECK(limits.idle_timeout_ms == 30'000);
  CHECK(limits.write_timeout_ms == 30'000);
  CHECK(limits.threads == 4);

  pc::node::NodeConfig custom = *defaults;
  custom.rpc_limits = {1000, 10, 4096, 100, 3'600'000, 64};
  const auto reread = parse_node_config(pc::node::node_config_to_json(custom), "/tmp");
  REQUIRE(reread);
  CHECK(reread->rpc_limits.connections_max == 1000);
  CHECK(reread->rpc_limits.connections_per_address_max == 10);
  CHECK(reread->rpc_limits.body_bytes_max == 4096);
  CHECK(reread->rpc_limits.idle_timeout_ms == 100);
  CHECK(reread->rpc_limits.write_timeout_ms == 3'600'000);
  CHECK(reread->rpc_limits.threads == 64);

  const auto small = parse_node_config(R"({"rpc_limits": {"connections_max": 8}})", "/tmp");
  REQUIRE(small);
  CHECK(small->rpc_limits.connections_per_address_max == 8);
}

TEST_CASE("node.json rpc_limits: each value out of range, of the wrong type or unknown is refused, naming it",
          "[node][config]") {
  // Proves the validation of every rpc_limits field: zero, past the maximum, a string, a
  // per-address limit above the total and an unknown field each give an error that names
  // the field, so the node refuses to start rather than run with a limit it cannot honour.
  const std::vector<std::pair<std::string, std::string>> bad{
      {R"({"rpc_limits": 5})", "rpc_limits must be an object"},
      {R"({"rpc_limits": {"connections_max": 0}})", "rpc_limits.connections_max"},
      {R"({"rpc_limits": {"connections_max": 65537}})", "rpc_limits.connections_max"},
      {R"({"rpc_limits": {"connections_max": 8, "connections_per_address_max": 9}})",
       "rpc_limits.connections_per_address_max"},
      {R"({"rpc_limits": {"connections_per_address_max": 0}})", "rpc_limits.connections_per_address_max"},
      {R"({"rpc_limits": {"body_bytes_max": 100}})", "rpc_limits.body_bytes_max"},
      {R"({"rpc_limits": {"body_bytes_max": 67108865}})", "rpc_limits.body_bytes_max"},
      {R"({"rpc_limits": {"idle_timeout_ms": 99}})", "rpc_limits.idle_timeout_ms"},
      {R"({"rpc_limits": {"write_timeout_ms": "30s"}})", "rpc_limits.write_timeout_ms"},
      {R"({"rpc_limits": {"threads": 0}})", "rpc_limits.threads"},
      {R"({"rpc_limits": {"threads": 65}})", "rpc_limits.threads"},
      {R"({"rpc_limits": {"thread_count": 2}})", "unknown field \"thread_count\" in rpc_limits"},
  };
  for (const auto& [text, names] : bad) {
    INFO(text);
    const auto config = parse_node_config(text, "/tmp");
    REQUIRE_FALSE(config);
    CHECK(config.error().find(names) != std::string::npos);
  }
}
