// `pointchain-node keygen`: a partner's first step in joining a coalition (docs/node.md,
// "Joining a coalition"). It makes the keys and nothing else, never overwrites them, and
// `init --genesis` then uses exactly the keys it printed.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "ledger/genesis.hpp"
#include "tests/e2e_support.hpp"
#include "tests/fixtures.hpp"

namespace {

using namespace pc;
using namespace pc::test::e2e;
namespace fs = std::filesystem;

constexpr char passphrase[] = "keygen test passphrase";

RunResult node_command(const std::vector<std::string>& args) {
  std::vector<std::string> command{binary_path("pointchain-node").string()};
  command.insert(command.end(), args.begin(), args.end());
  SpawnOptions options;
  options.environment = {{"POINTCHAIN_PASSPHRASE", std::string(passphrase)}};
  return run(command, options);
}

// The hex after `label` in keygen's or keys' output.
std::string key_after(const std::string& output, const std::string& label) {
  const std::size_t at = output.find(label);
  if (at == std::string::npos) return {};
  std::istringstream rest(output.substr(at + label.size()));
  std::string hex;
  rest >> hex;
  return hex;
}

}  // namespace

TEST_CASE("keygen makes only a partner's keys, refuses to overwrite them, and init --genesis takes them",
          "[node][cli][keygen]") {
  // Proves the joining flow without the draft-genesis detour: keygen writes keys/ alone and
  // prints the public keys; a second keygen changes nothing and says why; a genesis naming the
  // printed keys for partner 2 is accepted by init, which keeps the keys (keys prints the same).
  test::TempDir dir;
  const fs::path data_dir = dir.path() / "partner-2";
  const RunResult made = node_command({"keygen", "--data", data_dir.string()});
  INFO(made.out << made.err);
  REQUIRE(made.status.exited_with(0));
  const std::string validator = key_after(made.out, "validator key");
  const std::string issuer = key_after(made.out, "issuer key");
  REQUIRE(validator.size() == 64);
  REQUIRE(issuer.size() == 64);
  CHECK(fs::exists(data_dir / "keys" / "validator.key"));
  CHECK(fs::exists(data_dir / "keys" / "issuer.key"));
  CHECK_FALSE(fs::exists(data_dir / "chain"));
  CHECK_FALSE(fs::exists(data_dir / "node.json"));
  CHECK_FALSE(fs::exists(data_dir / "genesis.json"));

  const RunResult again = node_command({"keygen", "--data", data_dir.string()});
  CHECK(again.status.exited_with(1));
  CHECK(again.err.find("exists already: keys are never overwritten") != std::string::npos);
  CHECK(key_after(node_command({"keys", "--data", data_dir.string()}).out, "validator key") == validator);

  ledger::Genesis genesis = test::make_genesis({.partners = 2});
  genesis.partners[1].validator_key = *fixed_from_hex<32>(validator);
  genesis.partners[1].issuer_key = *fixed_from_hex<32>(issuer);
  const fs::path genesis_path = dir.path() / "genesis.json";
  std::ofstream(genesis_path) << ledger::genesis_to_json(genesis);
  const RunResult joined =
      node_command({"init", "--data", data_dir.string(), "--genesis", genesis_path.string(), "--partner-id", "2"});
  INFO(joined.out << joined.err);
  CHECK(joined.status.exited_with(0));
  CHECK(fs::exists(data_dir / "chain"));
  CHECK(fs::exists(data_dir / "node.json"));
  CHECK(key_after(joined.out, "validator key") == validator);
}
