// The README's "Five-minute walkthrough", run exactly as written: the test extracts the one
// ```sh block under that heading and runs it with bash in a temp dir, on a free loopback port,
// with build/bin on PATH. A README that drifts from the binaries fails here.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include "node/audit_command.hpp"
#include "tests/e2e_support.hpp"
#include "tests/fixtures.hpp"

namespace {

namespace fs = std::filesystem;
using namespace pc::test::e2e;
using pc::test::TempDir;

constexpr char walkthrough_heading[] = "## Five-minute walkthrough";
// The block's own waits are bounded (curl's retries, the wallet's 30 s commit wait); this
// only stops a run that hangs anyway.
constexpr Milliseconds walkthrough_timeout = 180s;
constexpr char walkthrough_node_passphrase[] = "e2e walkthrough node keys";

std::string text_between(const std::string& text, const std::string& before, const std::string& after) {
  const std::size_t start = text.find(before);
  if (start == std::string::npos) return {};
  const std::size_t from = start + before.size();
  return text.substr(from, text.find(after, from) - from);
}

}  // namespace

TEST_CASE("the README walkthrough runs as written, its node stops on SIGTERM and restarts at the same tip",
          "[e2e]") {
  // Proves the README's promise to a new user: the block exits 0 having earned 42 points,
  // shown them in the wallet, redeemed 30 and audited the chain OK; the node it started in the
  // background is gone afterwards, stopped by SIGTERM; and a restart of that node on the same
  // data dir serves the very tip the audit verified.
  const std::string script =
      readme_shell_block(read_text_file(fs::path(POINTCHAIN_SOURCE_DIR) / "README.md"), walkthrough_heading);
  TempDir temp;
  const fs::path script_path = temp.path() / "walkthrough.sh";
  std::ofstream(script_path) << script;
  const fs::path walkthrough_dir = temp.path() / "walkthrough";
  const fs::path data_dir = walkthrough_dir / "data";
  const std::uint16_t port = free_loopback_port();
  const std::string bin_dir = POINTCHAIN_BINARY_DIR;
  const char* parent_path = std::getenv("PATH");

  SpawnOptions options;
  options.working_directory = temp.path();
  options.stderr_to_stdout = true;
  options.environment = {
      {"PC_BIN_DIR", bin_dir},
      {"PC_DIR", walkthrough_dir.string()},
      {"PC_PORT", std::to_string(port)},
      {"PATH", bin_dir + ":" + (parent_path != nullptr ? parent_path : "/usr/bin:/bin")},
      {"HOME", temp.path().string()},
      {"POINTCHAIN_PASSPHRASE", std::string(walkthrough_node_passphrase)},
      {"POINTCHAIN_WALLET_PASSPHRASE", std::nullopt},
      {"POINTCHAIN_NODE", std::nullopt},
  };
  const ScriptRun walkthrough = run_doc_script(script_path, options, walkthrough_timeout);
  const std::optional<ExitStatus>& status = walkthrough.status;
  const bool finished = status.has_value();
  const bool node_left_running = walkthrough.left_running;

  const std::string& output = walkthrough.output;
  std::error_code no_log;
  const std::string node_log =
      fs::exists(walkthrough_dir / "node.log", no_log) ? read_text_file(walkthrough_dir / "node.log") : "(no log)";
  INFO("walkthrough output:\n" << output << "\nnode.log:\n" << node_log);
  REQUIRE(finished);
  REQUIRE(status->exited_with(0));

  // Each step shows what the README says it shows, in order.
  const std::size_t earned = output.find("\"points\":42");
  const std::size_t balance_after_earn = output.find("Balance:    42 points");
  const std::size_t redeemed = output.find("Committed in block");
  const std::size_t balance_after_redeem = output.find("Balance:    12 points");
  const std::size_t audit_ok = output.find("audit: OK\n");
  REQUIRE(earned != std::string::npos);
  REQUIRE(balance_after_earn != std::string::npos);
  REQUIRE(redeemed != std::string::npos);
  REQUIRE(balance_after_redeem != std::string::npos);
  REQUIRE(audit_ok != std::string::npos);
  CHECK(earned < balance_after_earn);
  CHECK(balance_after_earn < redeemed);
  CHECK(redeemed < balance_after_redeem);
  CHECK(balance_after_redeem < audit_ok);
  CHECK(output.find("redeemed                 30  Corner Cafe") != std::string::npos);
  CHECK(output.find("supply: issued 42, redeemed 30, expired 0, reversed 0, outstanding 12") != std::string::npos);

  // The node stopped on SIGTERM, by itself, after saying where.
  CHECK_FALSE(node_left_running);
  CHECK(node_log.find("pointchain-node: stopping (SIGTERM)") != std::string::npos);
  const std::string stopped_height = text_between(node_log, "pointchain-node: stopped at height ", "\n");
  const std::string audited_height = text_between(output, "tip: height ", ",");
  const std::string audited_block = text_between(output, ", block ", "\n");
  REQUIRE_FALSE(stopped_height.empty());
  CHECK(stopped_height == audited_height);
  REQUIRE(audited_block.size() == 64);

  // Restarted on the same data dir (on a fresh free port), it serves the audited tip.
  const std::uint16_t restart_port = free_loopback_port();
  set_node_config(data_dir, {{"rpc_port", restart_port}});
  SpawnOptions node_options;
  node_options.stderr_to_stdout = true;
  node_options.environment = {{"POINTCHAIN_PASSPHRASE", std::string(walkthrough_node_passphrase)}};
  Process node({binary_path("pointchain-node").string(), "run", "--data", data_dir.string()}, node_options);
  const bool answered = wait_for_rpc(restart_port, 30s, &node);
  INFO("restarted node:\n" << node.stdout_text());
  REQUIRE(answered);
  const nlohmann::json info = rpc_result(restart_port, "chain_info");
  CHECK(std::to_string(info.at("height").get<std::uint64_t>()) == audited_height);
  CHECK(info.at("block_hash") == audited_block);
  CHECK(info.at("supply").at("outstanding") == 12);
  const ExitStatus restart_stop = node.stop();
  INFO("restarted node after stop:\n" << node.stdout_text());
  CHECK(restart_stop.exited_with(0));
  CHECK(node.stdout_text().find("stopped at height " + audited_height + "\n") != std::string::npos);
}

TEST_CASE("auditing a data dir that a running node holds exits 2 and says why, without claiming a fault",
          "[e2e]") {
  // Proves the audit step's failure a walkthrough reader meets when the node still runs:
  // LevelDB's lock keeps the auditor out, and the message says so instead of reporting a
  // "FAULT at height 0" that would send them looking for damage in a sound chain.
  LiveNode node;
  const RunResult audit = node.audit();
  INFO(audit.out);
  CHECK(audit.status.exited_with(pc::node::audit_exit_unusable));
  CHECK(audit.out.find("is a node running on this data dir? stop it first") != std::string::npos);
  CHECK(audit.out.find("FAULT") == std::string::npos);

  // Once the node has stopped, the same command audits the chain.
  REQUIRE(node.stop().exited_with(0));
  const RunResult after = node.audit();
  INFO(after.out);
  CHECK(after.status.exited_with(pc::node::audit_exit_ok));
  CHECK(after.out.rfind("audit: OK\n", 0) == 0);
}
