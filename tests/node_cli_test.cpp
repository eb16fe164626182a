// The pointchain-node binary, driven the way an auditor drives it: build the demo chain,
// audit it as text and JSON, damage it through LevelDB, and check the exit codes.
#include <catch2/catch.hpp>
#include <leveldb/db.h>
#include <nlohmann/json.hpp>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <string>

#include "ledger/audit.hpp"
#include "ledger/store.hpp"
#include "node/audit_command.hpp"
#include "tests/e2e_support.hpp"
#include "tests/fixtures.hpp"

namespace {

using namespace pc;
using pc::test::TempDir;

struct Run {
  int exit_code = -1;
  std::string output;  // stdout, and stderr too when asked for
};

const std::filesystem::path& node_binary() {
  static const std::filesystem::path binary = std::filesystem::path(POINTCHAIN_BINARY_DIR) / "pointchain-node";
  return binary;
}

// Runs pointchain-node with `arguments` through the shell and collects its output.
Run run_node(const std::string& arguments, bool with_stderr = false) {
  INFO("pointchain-node is built by the pointchain-node target: " << node_binary().string());
  REQUIRE(std::filesystem::exists(node_binary()));
  // Appended piece by piece: GCC 12 at -O3 (Release) reports a false -Wrestrict on
  // "'" + std::string.
  std::string command = "'";
  command += node_binary().string();
  command += "' ";
  command += arguments;
  command += with_stderr ? " 2>&1" : " 2>/dev/null";
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  Run run;
  char buffer[4096];
  for (std::size_t read = 0; (read = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) run.output.append(buffer, read);
  const int status = pclose(pipe);
  REQUIRE(WIFEXITED(status));
  run.exit_code = WEXITSTATUS(status);
  return run;
}

std::string data_argument(const std::filesystem::path& dir) { return "--data '" + dir.string() + "'"; }

std::string block_key(std::uint64_t height) {
  std::string key = "B";
  for (int shift = 56; shift >= 0; shift -= 8) key.push_back(static_cast<char>(height >> shift));
  return key;
}

ledger::Genesis load_genesis(const std::filesystem::path& data_dir) {
  auto genesis = ledger::load_genesis_file(data_dir / "genesis.json");
  INFO((genesis ? std::string() : genesis.error()));
  REQUIRE(genesis.ok());
  return *genesis;
}

std::unique_ptr<ledger::ChainStore> open_raw(const std::filesystem::path& data_dir) {
  auto store = ledger::ChainStore::open(data_dir / "chain", load_genesis(data_dir), ledger::ChainStore::Mode::raw);
  INFO((store ? std::string() : store.error().message()));
  REQUIRE(store.ok());
  return std::move(store).value();
}

// The first chunk of the block's transactions.
std::string first_chunk_key(std::uint64_t height) { return block_key(height) + std::string(4, '\0'); }

// Flips one byte of the stored record `key` (by default one in the middle; by default the
// block record at `height`: header, count and commit), through LevelDB itself.
void corrupt_block(const std::filesystem::path& data_dir, std::uint64_t height,
                   std::optional<std::size_t> offset = std::nullopt, std::optional<std::string> key = std::nullopt) {
  const auto store = open_raw(data_dir);
  leveldb::DB& db = store->database_for_tests();
  const std::string record_key = key.value_or(block_key(height));
  std::string bytes;
  REQUIRE(db.Get(leveldb::ReadOptions(), record_key, &bytes).ok());
  const std::size_t at = offset.value_or(bytes.size() / 2);
  REQUIRE(at < bytes.size());
  bytes[at] = static_cast<char>(bytes[at] ^ 0x01);
  leveldb::WriteOptions write;
  write.sync = true;
  REQUIRE(db.Put(write, record_key, bytes).ok());
}

nlohmann::json parse_json(const std::string& text) {
  INFO(text);
  REQUIRE(nlohmann::json::accept(text));
  return nlohmann::json::parse(text);
}

}  // namespace

TEST_CASE("pointchain-node demo builds a chain that audits OK, as text and as JSON", "[node][cli]") {
  // Proves the auditor's happy path end to end: exit code 0, the OK line, and a JSON report
  // whose supply balances and which agrees with an in-process audit of the same directory.
  TempDir temp;
  const auto data_dir = temp.path() / "demo";

  const Run demo = run_node("demo " + data_argument(data_dir));
  INFO(demo.output);
  CHECK(demo.exit_code == node::audit_exit_ok);
  CHECK(demo.output.find("audit: OK") != std::string::npos);
  CHECK(demo.output.find("15 blocks") != std::string::npos);

  const Run text = run_node("audit " + data_argument(data_dir));
  INFO(text.output);
  CHECK(text.exit_code == node::audit_exit_ok);
  CHECK(text.output.rfind("audit: OK\n", 0) == 0);

  const Run json_run = run_node("audit " + data_argument(data_dir) + " --json");
  CHECK(json_run.exit_code == node::audit_exit_ok);
  const nlohmann::json report = parse_json(json_run.output);
  CHECK(report.at("ok") == true);
  CHECK(report.at("chain_id") == "demo-coalition");
  CHECK(report.at("blocks") == 15);
  CHECK(report.at("tip").at("height") == 15);
  CHECK_FALSE(report.contains("fault"));
  const nlohmann::json& supply = report.at("supply");
  const auto issued = supply.at("issued").get<std::uint64_t>();
  const auto redeemed = supply.at("redeemed").get<std::uint64_t>();
  const auto expired = supply.at("expired").get<std::uint64_t>();
  const auto reversed = supply.at("reversed").get<std::uint64_t>();
  CHECK(supply.at("outstanding").get<std::uint64_t>() == issued - redeemed - expired - reversed);
  // The demo exercises every way points leave circulation.
  CHECK(redeemed > 0);
  CHECK(expired > 0);
  CHECK(reversed > 0);
  std::uint64_t liability_sum = 0;
  for (const auto& partner : report.at("partners")) liability_sum += partner.at("liability").get<std::uint64_t>();
  CHECK(liability_sum == supply.at("outstanding").get<std::uint64_t>());

  // The binary reports what the library finds in process.
  const auto store = open_raw(data_dir);
  const ledger::AuditReport in_process = ledger::audit_chain(*store);
  REQUIRE(in_process.ok);
  CHECK(report.at("transactions").get<std::uint64_t>() == in_process.transactions);
  CHECK(issued == in_process.totals.issued);
  CHECK(supply.at("outstanding").get<std::uint64_t>() == in_process.totals.balance_sum);
  CHECK(report.at("tip").at("block_hash") == to_hex(in_process.tip.block_hash));
  CHECK(report.at("tip").at("state_hash") == to_hex(in_process.tip.state_hash));
}

TEST_CASE("pointchain-node audit exits 1 and names the height of a corrupted block", "[node][cli]") {
  // Proves the fault path an auditor sees: exit code 1, "FAULT at height N" in the text
  // output and fault.height = N in the JSON, for a block below the tip.
  TempDir temp;
  const auto data_dir = temp.path() / "demo";
  REQUIRE(run_node("demo " + data_argument(data_dir)).exit_code == node::audit_exit_ok);
  corrupt_block(data_dir, 3);

  const Run text = run_node("audit " + data_argument(data_dir));
  INFO(text.output);
  CHECK(text.exit_code == node::audit_exit_fault);
  CHECK(text.output.find("audit: FAULT at height 3: ") != std::string::npos);
  CHECK(text.output.find("verified before the fault: 2 blocks") != std::string::npos);

  const Run json_run = run_node("audit " + data_argument(data_dir) + " --json");
  CHECK(json_run.exit_code == node::audit_exit_fault);
  const nlohmann::json report = parse_json(json_run.output);
  CHECK(report.at("ok") == false);
  CHECK(report.at("fault").at("height") == 3);
  CHECK_FALSE(report.at("fault").at("code").get<std::string>().empty());
  CHECK(report.at("blocks") == 2);
  CHECK_FALSE(report.contains("supply"));
}

TEST_CASE("pointchain-node audit names the tip block when the tip block is corrupted", "[node][cli]") {
  // Proves that damage to the last block is reported at its height like any other block: in
  // its transactions, and in its header, which the store already notices while opening.
  TempDir temp;
  const auto data_dir = temp.path() / "demo";
  REQUIRE(run_node("demo " + data_argument(data_dir)).exit_code == node::audit_exit_ok);
  const std::uint64_t tip_height = 6;

  SECTION("a byte of its transaction") {
    corrupt_block(data_dir, tip_height, 60, first_chunk_key(tip_height));
    const Run text = run_node("audit " + data_argument(data_dir));
    INFO(text.output);
    CHECK(text.exit_code == node::audit_exit_fault);
    CHECK(text.output.find("audit: FAULT at height 6: ") != std::string::npos);
  }
  SECTION("a byte of its header (the previous block's hash)") {
    corrupt_block(data_dir, tip_height, 30);
    const Run text = run_node("audit " + data_argument(data_dir));
    INFO(text.output);
    CHECK(text.exit_code == node::audit_exit_fault);
    CHECK(text.output.find("audit: FAULT at height ") != std::string::npos);
    const Run json_run = run_node("audit " + data_argument(data_dir) + " --json");
    CHECK(json_run.exit_code == node::audit_exit_fault);
    const nlohmann::json report = parse_json(json_run.output);
    CHECK(report.at("ok") == false);
    CHECK(text.output.find("audit: FAULT at height 6: ") != std::string::npos);
    CHECK(report.at("fault").at("height") == 6);
  }
}

TEST_CASE("pointchain-node audit exits 2 when there is nothing it can audit", "[node][cli]") {
  // Proves the 'unusable' exit code for a missing genesis, a missing chain, and bad arguments.
  TempDir temp;
  const Run no_genesis = run_node("audit " + data_argument(temp.path()), true);
  INFO(no_genesis.output);
  CHECK(no_genesis.exit_code == node::audit_exit_unusable);
  CHECK(no_genesis.output.find("audit: ") != std::string::npos);

  const Run no_genesis_json = run_node("audit " + data_argument(temp.path() / "missing") + " --json");
  CHECK(no_genesis_json.exit_code == node::audit_exit_unusable);
  const nlohmann::json unusable = parse_json(no_genesis_json.output);
  CHECK(unusable.at("ok") == false);
  CHECK(unusable.at("unusable").get<std::string>().find("genesis") != std::string::npos);

  // A genesis but no chain directory.
  const auto data_dir = temp.path() / "demo";
  REQUIRE(run_node("demo " + data_argument(data_dir)).exit_code == node::audit_exit_ok);
  std::filesystem::remove_all(data_dir / "chain");
  const Run no_chain = run_node("audit " + data_argument(data_dir), true);
  INFO(no_chain.output);
  CHECK(no_chain.exit_code == node::audit_exit_unusable);
  CHECK(no_chain.output.find("no chain") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(data_dir / "chain"));  // the audit creates nothing

  // An empty chain directory is not an empty chain: there is no store to audit.
  std::filesystem::create_directories(data_dir / "chain");
  const Run empty_chain = run_node("audit " + data_argument(data_dir), true);
  INFO(empty_chain.output);
  CHECK(empty_chain.exit_code == node::audit_exit_unusable);
  CHECK(empty_chain.output.find("missing or empty") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(data_dir / "chain" / "CURRENT"));  // no store was made

  const Run unknown_command = run_node("frobnicate", true);
  INFO(unknown_command.output);
  CHECK(unknown_command.exit_code == 2);
  CHECK(unknown_command.output.find("unknown command frobnicate") != std::string::npos);

  const Run unknown_option = run_node("audit --verbose " + data_argument(data_dir), true);
  CHECK(unknown_option.exit_code == 2);
  CHECK(unknown_option.output.find("unknown option --verbose") != std::string::npos);
}

TEST_CASE("pointchain-node audit refuses a chain without its CURRENT file and deletes nothing", "[node][cli]") {
  // Proves issue 7 §1.2 for the real binary: LevelDB would take such a directory for a new
  // store and delete its tables; the audit names what is missing and leaves every file.
  TempDir temp;
  const auto data_dir = temp.path() / "demo";
  REQUIRE(run_node("demo " + data_argument(data_dir)).exit_code == node::audit_exit_ok);
  std::filesystem::remove(data_dir / "chain" / "CURRENT");
  std::set<std::string> before;
  for (const auto& entry : std::filesystem::directory_iterator(data_dir / "chain")) {
    before.insert(entry.path().filename().string());
  }
  const Run audit = run_node("audit " + data_argument(data_dir), true);
  INFO(audit.output);
  CHECK(audit.exit_code == node::audit_exit_fault);
  CHECK(audit.output.find("no CURRENT file") != std::string::npos);
  std::set<std::string> after;
  for (const auto& entry : std::filesystem::directory_iterator(data_dir / "chain")) {
    const std::string name = entry.path().filename().string();
    if (name != "LOG" && name != "LOG.old") after.insert(name);
  }
  before.erase("LOG");
  before.erase("LOG.old");
  CHECK(after == before);
}

TEST_CASE("pointchain-node audit names the file, member and rule of a genesis missing a member",
          "[node][cli]") {
  // Proves that a genesis.json without issuance_cap_points makes `audit` exit 2 with a message
  // naming the file, the member and the rule, not a raw JSON library message.
  TempDir temp;
  const auto data_dir = temp.path() / "demo";
  REQUIRE(run_node("demo " + data_argument(data_dir)).exit_code == node::audit_exit_ok);
  nlohmann::json genesis = parse_json(test::e2e::read_text_file(data_dir / "genesis.json"));
  genesis["policy"].erase("issuance_cap_points");
  {
    std::ofstream file(data_dir / "genesis.json", std::ios::trunc);
    file << genesis.dump(2);
  }
  const Run missing = run_node("audit " + data_argument(data_dir), true);
  INFO(missing.output);
  CHECK(missing.exit_code == node::audit_exit_unusable);
  CHECK(missing.output == "audit: " + (data_dir / "genesis.json").string() +
                              ": genesis: policy.issuance_cap_points: missing\n");
}
