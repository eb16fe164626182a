// The analytics report the way a partner's accountant gets it: get_report from the running
// node, then `pointchain-node report` on the stopped node's data dir (docs/analytics.md).
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <string>

#include "crypto/address.hpp"
#include "node/analytics_report.hpp"
#include "node/report_command.hpp"
#include "tests/e2e_support.hpp"
#include "tests/fixtures.hpp"

namespace {

using namespace pc::test::e2e;

pc::crypto::SecretKey customer_key(int n) { return pc::test::seeded_key("e2e report customer " + std::to_string(n)); }
std::string customer_address(int n) { return pc::crypto::encode_address(customer_key(n).public_key()); }

RunResult report(const LiveNode& node, std::vector<std::string> options) {
  std::vector<std::string> args{binary_path("pointchain-node").string(), "report", "--data", node.data_dir().string()};
  args.insert(args.end(), options.begin(), options.end());
  return run(args);
}

}  // namespace

TEST_CASE("report: get_report on a running node, then the CLI on its stopped data dir, rebuilt or not",
          "[e2e][analytics]") {
  // Proves that the figures of purchases and a redemption made through the real node come back
  // from get_report, that the CLI refuses a data dir a node is running on, and that after the
  // node stops the CLI prints the same CSV as the RPC, also after the index is deleted; and
  // that bad arguments get the documented exit codes.
  LiveNode node;
  node.earn_and_commit(customer_address(1), 4'250, "till-1");  // 42 points
  node.earn_and_commit(customer_address(2), 1'000, "till-2");  // 10 points
  const nlohmann::json info = node.call("chain_info");
  pc::test::TxFactory factory(info["chain_id"].get<std::string>());
  const pc::ledger::Transaction redeem = factory.redeem(customer_key(1), 1, 30, "Coffee, large");
  const nlohmann::json submitted = node.call("submit_transaction", {{"hex", pc::to_hex(redeem.bytes())}});
  node.wait_until_committed(submitted["id"].get<std::string>());

  const pc::node::Day today = pc::node::day_of_ms(node.call("chain_info")["time_ms"].get<std::uint64_t>());
  const std::string from = pc::node::iso_date(today - 1);
  const std::string to = pc::node::iso_date(today + 1);
  const nlohmann::json params = {{"from", from}, {"to", to}, {"period", "day"}, {"point_value", "EUR:0.01"}};
  const nlohmann::json result = node.call("get_report", params);
  INFO(result.dump(2));
  CHECK(result["total"]["issued"] == 52);
  CHECK(result["total"]["issued_by_reason"]["purchase"] == 52);
  CHECK(result["total"]["purchase_count"] == 2);
  CHECK(result["total"]["average_points_per_purchase"] == "26.00");
  CHECK(result["total"]["redeemed_at"] == 30);
  CHECK(result["total"]["liability"] == 22);
  CHECK(result["total"]["liability_money"] == "0.22");
  CHECK(result["total"]["redemption_rate_bp"] == 5'769);
  CHECK(result["total"]["new_members"] == 2);
  CHECK(result["total"]["active_members"] == 2);
  CHECK(result["rows"].size() == 3);
  REQUIRE(result["top_rewards"].size() == 1);
  CHECK(result["top_rewards"][0]["reward"] == "Coffee, large");
  const nlohmann::json unknown = node.response("get_report", {{"from", from}, {"to", to}, {"partner", 9}});
  CHECK(unknown["error"]["code"] == 1202);
  const nlohmann::json bad_date = node.response("get_report", {{"from", "2026-02-30"}, {"to", to}});
  CHECK(bad_date["error"]["code"] == 1106);
  nlohmann::json csv_params = params;
  csv_params["format"] = "csv";
  const std::string rpc_csv = node.call("get_report", csv_params)["csv"].get<std::string>();

  const RunResult while_running = report(node, {"--from", from, "--to", to});
  CHECK(while_running.status.exited_with(pc::node::report_exit_unusable));
  CHECK(while_running.err.find("is a node running") != std::string::npos);

  REQUIRE(node.stop().exited_with(0));
  const std::vector<std::string> csv_options{"--from", from, "--to", to, "--period", "day", "--format", "csv",
                                             "--point-value", "EUR:0.01"};
  const RunResult stopped = report(node, csv_options);
  INFO(stopped.err);
  CHECK(stopped.status.exited_with(pc::node::report_exit_ok));
  CHECK(stopped.out == rpc_csv);
  std::filesystem::remove_all(node.data_dir() / "analytics");
  const RunResult rebuilt = report(node, csv_options);
  CHECK(rebuilt.status.exited_with(pc::node::report_exit_ok));
  CHECK(rebuilt.out == rpc_csv);
  CHECK(std::filesystem::exists(node.data_dir() / "analytics" / "CURRENT"));

  const RunResult table = report(node, {"--from", from, "--to", to});
  CHECK(table.status.exited_with(pc::node::report_exit_ok));
  CHECK(table.out.find("Coffee, large") != std::string::npos);
  const RunResult rewards = report(node, {"--from", from, "--to", to, "--format", "csv", "--rewards"});
  CHECK(rewards.out == "reward,other,count,points,kind,partner,reward_id\r\n\"Coffee, large\",false,1,30,redeem,,\r\n");
  const RunResult json = report(node, {"--from", from, "--to", to, "--format", "json", "--partner", "1"});
  CHECK(nlohmann::json::parse(json.out)["total"]["liability"] == 22);

  CHECK(report(node, {"--from", "2026-13-01", "--to", to}).status.exited_with(pc::node::report_exit_refused));
  CHECK(report(node, {"--from", from, "--to", to, "--partner", "9"}).status.exited_with(pc::node::report_exit_refused));
  CHECK(report(node, {"--from", from}).status.exited_with(pc::node::report_exit_unusable));
  CHECK(report(node, {"--from", from, "--to", to, "--format", "xml"}).status.exited_with(pc::node::report_exit_unusable));
}
