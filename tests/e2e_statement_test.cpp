// The settlement statement the way a partner's finance team or an auditor gets it:
// get_statement from the running node, then `pointchain-node statement` on the stopped node's
// data dir, with the same content hash (docs/billing.md).
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <string>

#include "crypto/address.hpp"
#include "crypto/hash.hpp"
#include "node/analytics_report.hpp"
#include "node/statement.hpp"
#include "tests/e2e_support.hpp"
#include "tests/fixtures.hpp"

namespace {

using namespace pc::test::e2e;

std::string customer_address(int n) {
  return pc::crypto::encode_address(pc::test::seeded_key("e2e statement customer " + std::to_string(n)).public_key());
}

RunResult statement(const LiveNode& node, std::vector<std::string> options) {
  std::vector<std::string> args{binary_path("pointchain-node").string(), "statement", "--data", node.data_dir().string()};
  args.insert(args.end(), options.begin(), options.end());
  return run(args);
}

}  // namespace

TEST_CASE("statement: get_statement on a running node, then the CLI on its stopped data dir", "[e2e][statement]") {
  // Proves that a statement of points issued through the real node (a chain `init` made, of
  // the newest protocol version) comes back from get_statement, that the CLI on the stopped
  // data dir prints the same statement at the same height (JSON and CSV, one content hash),
  // that the hash is SHA-256 of the canonical JSON without it, and the documented exit codes.
  LiveNode node;
  node.earn_and_commit(customer_address(1), 4'250, "till-1");  // 42 points
  const nlohmann::json info = node.call("chain_info");
  const std::uint64_t height = info["height"].get<std::uint64_t>();
  const std::string month = pc::node::iso_date(pc::node::day_of_ms(info["time_ms"].get<std::uint64_t>())).substr(0, 7);
  const nlohmann::json params = {{"partner", 1}, {"period", month}, {"height", height}};
  const nlohmann::json result = node.call("get_statement", params);
  INFO(result.dump(2));
  CHECK(result["points"]["issued"] == 42);
  CHECK(result["fees"]["plan"] == "postpaid");
  CHECK(result["fees"]["total_minor"] == 0);
  CHECK(result["computed_at"]["height"] == height);
  nlohmann::json canonical = result;
  canonical.erase("content_hash");
  CHECK(result["content_hash"] == pc::to_hex(pc::crypto::sha256(pc::as_bytes(canonical.dump()))));
  nlohmann::json csv_params = params;
  csv_params["format"] = "csv";
  const nlohmann::json csv = node.call("get_statement", csv_params);
  CHECK(csv["content_hash"] == result["content_hash"]);
  CHECK(node.response("get_statement", {{"partner", 9}, {"period", month}})["error"]["code"] == 1202);
  CHECK(node.response("get_statement", {{"partner", 1}, {"period", "2026-13"}})["error"]["code"] == 1106);

  REQUIRE(node.stop().exited_with(0));
  const std::vector<std::string> at_height{"--partner", "1", "--period", month, "--height", std::to_string(height)};
  const RunResult json = statement(node, at_height);
  INFO(json.err);
  REQUIRE(json.status.exited_with(pc::node::statement_exit_ok));
  CHECK(json.out == result.dump() + "\n");
  std::vector<std::string> as_csv = at_height;
  as_csv.insert(as_csv.end(), {"--format", "csv"});
  const RunResult csv_out = statement(node, as_csv);
  CHECK(csv_out.out == csv["csv"].get<std::string>());

  CHECK(statement(node, {"--partner", "9", "--period", month}).status.exited_with(pc::node::statement_exit_refused));
  CHECK(statement(node, {"--partner", "1", "--period", "2026-1"}).status.exited_with(pc::node::statement_exit_refused));
  CHECK(statement(node, {"--partner", "1"}).status.exited_with(pc::node::statement_exit_unusable));
  CHECK(statement(node, {"--partner", "1", "--period", month, "--format", "xml"})
            .status.exited_with(pc::node::statement_exit_unusable));
}
