// The README's "Run a four-partner coalition on one machine", run exactly as written: the
// test extracts the one ```sh block under that heading and runs it with bash in a temp dir,
// on free loopback ports, with build/bin on PATH; the block drives scripts/cluster.sh. A
// README or script that drifts from the binaries fails here.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include "tests/e2e_support.hpp"
#include "tests/fixtures.hpp"

namespace {

namespace fs = std::filesystem;
using namespace pc::test::e2e;
using pc::test::TempDir;

constexpr char cluster_heading[] = "## Run a four-partner coalition on one machine";
constexpr std::size_t cluster_partners = 4;
// Every wait in the block is bounded (curl's retries, the wallet's commit wait, cluster.sh's
// 60 s waits); this only stops a run that hangs anyway. Starting four nodes costs eight key
// derivations on a loaded machine.
constexpr Milliseconds cluster_timeout = 300s;

std::size_t count_of(const std::string& text, const std::string& part) {
  std::size_t count = 0;
  for (std::size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + part.size())) ++count;
  return count;
}

}  // namespace

TEST_CASE("the README's four-partner coalition runs as written: earn at one node, redeem at another, "
          "a node stopped and caught up, four audits of one tip, and nothing left running",
          "[e2e][cluster]") {
  // Proves the README's promise to an operator: scripts/cluster.sh brings four partners' nodes
  // up on loopback; points earned at partner 1's node are redeemed through partner 3's node
  // and show in partner 2's settlement matrix; with partner 4's node stopped the other three
  // still commit; restarted, it catches up by sync; every data dir audits OK at the same tip;
  // and after `cluster down` no node of the cluster is left running.
  const std::string script =
      readme_shell_block(read_text_file(fs::path(POINTCHAIN_SOURCE_DIR) / "README.md"), cluster_heading);
  TempDir temp;
  const fs::path script_path = temp.path() / "cluster.sh";
  std::ofstream(script_path) << script;
  const fs::path cluster_dir = temp.path() / "cluster";
  const std::uint16_t base_port = free_loopback_ports(2 * cluster_partners);
  const std::string bin_dir = POINTCHAIN_BINARY_DIR;
  const char* parent_path = std::getenv("PATH");

  SpawnOptions options;
  options.working_directory = temp.path();
  options.stderr_to_stdout = true;
  options.environment = {
      {"PC_SOURCE_DIR", std::string(POINTCHAIN_SOURCE_DIR)},
      {"PC_BIN_DIR", bin_dir},
      {"PC_CLUSTER_DIR", cluster_dir.string()},
      {"PC_CLUSTER_BASE_PORT", std::to_string(base_port)},
      {"PATH", bin_dir + ":" + (parent_path != nullptr ? parent_path : "/usr/bin:/bin")},
      {"HOME", temp.path().string()},
      {"PC_CLUSTER_BLOCK_INTERVAL_MS", std::nullopt},
      {"POINTCHAIN_WALLET_PASSPHRASE", std::nullopt},
      {"POINTCHAIN_PASSPHRASE", std::nullopt},
      {"POINTCHAIN_NODE", std::nullopt},
  };
  const ScriptRun run = run_doc_script(script_path, options, cluster_timeout);
  const std::optional<ExitStatus>& status = run.status;
  const bool finished = status.has_value();
  const bool node_left_running = run.left_running;

  const std::string& output = run.output;
  std::string logs;
  for (std::size_t i = 1; i <= cluster_partners; ++i) {
    const fs::path log = cluster_dir / ("p" + std::to_string(i)) / "node.log";
    std::error_code no_log;
    logs += "--- " + log.string() + "\n" + (fs::exists(log, no_log) ? read_text_file(log) : "(none)\n");
  }
  INFO("output:\n" << output << "\nlogs:\n" << logs);
  REQUIRE(finished);
  REQUIRE(status->exited_with(0));

  // Each step shows what the README says, in order.
  const std::size_t up = output.find("partner 4  RPC http://127.0.0.1:");
  const std::size_t earned = output.find("\"points\":42");
  const std::size_t verified = output.find("committed by validators holding");
  const std::size_t balance = output.find("Balance:    12 points");
  const std::size_t settlement = output.find("\"result\":[{\"issuer\":1,\"points\":30,\"redeemed_at\":3}]");
  const std::size_t stopped = output.find("partner 4  stopped");
  const std::size_t audits = output.find("      4 tip: height ");
  REQUIRE(up != std::string::npos);
  REQUIRE(earned != std::string::npos);
  REQUIRE(verified != std::string::npos);
  REQUIRE(balance != std::string::npos);
  REQUIRE(settlement != std::string::npos);
  REQUIRE(stopped != std::string::npos);
  REQUIRE(audits != std::string::npos);
  CHECK(up < earned);
  CHECK(earned < verified);
  CHECK(verified < balance);
  CHECK(balance < settlement);
  CHECK(settlement < stopped);
  CHECK(stopped < audits);
  // Four nodes, each with the three others as peers, before anything else.
  CHECK(output.find("partner 1  height 0  tip ") < earned);
  CHECK(output.find("peers 2,3,4") < earned);
  // With partner 4 down, the redemption at partner 2 committed on three votes.
  CHECK(output.find("Committed in block 3") > settlement);
  CHECK(output.find("Committed in block 3") < stopped);
  // Restarted, partner 4 fetched what it missed and has its three peers back.
  CHECK(count_of(output, "\"direction\":\"out\"") + count_of(output, "\"direction\":\"in\"") == 3);
  CHECK(output.find("\"blocks_synced\":") != std::string::npos);
  CHECK(output.find("\"blocks_synced\":0") == std::string::npos);
  CHECK(output.find("pointchain_peers 3\n") != std::string::npos);
  CHECK(output.find("pointchain_sync_behind_blocks 0\n") != std::string::npos);
  // The four audits each said OK (grep kept only their tip lines, and uniq counted four alike).
  CHECK(count_of(output, " tip: height ") == 1);

  // `cluster down` left nothing running and no pid files.
  CHECK_FALSE(node_left_running);
  for (std::size_t i = 1; i <= cluster_partners; ++i) {
    const fs::path data_dir = cluster_dir / ("p" + std::to_string(i));
    CHECK_FALSE(fs::exists(data_dir / "node.pid"));
    CHECK(read_text_file(data_dir / "node.log").find("pointchain-node: stopped at height ") != std::string::npos);
  }
}
