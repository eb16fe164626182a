// Four real pointchain-node processes, one per partner, each with its own keys made by
// `init` and its own data dir, joined over loopback TCP by node.json's "p2p" section, as a
// coalition runs on one machine: they connect, commit the same chain, and a transaction
// earned at a node that does not propose is committed on every node.
#include <catch2/catch.hpp>

#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "crypto/address.hpp"
#include "ledger/genesis.hpp"
#include "ledger/proposer.hpp"
#include "node/clock.hpp"
#include "tests/e2e_support.hpp"
#include "tests/fixtures.hpp"

namespace {

using namespace pc;
using namespace pc::test::e2e;

constexpr std::size_t partners = 4;
constexpr char passphrase[] = "e2e network key passphrase";

struct Member {
  std::filesystem::path data_dir;
  std::uint16_t rpc_port = 0;
  std::uint16_t p2p_port = 0;
  std::string bearer;
  std::unique_ptr<Process> process;

  nlohmann::json call(const std::string& method, const nlohmann::json& params = nlohmann::json::object(),
                      const std::string& authorization = {}) const {
    return rpc_result(rpc_port, method, params, authorization);
  }
};

// Four data dirs of one coalition genesis, each partner's keys made by its own `init`.
class Cluster {
 public:
  Cluster() {
    ledger::Genesis genesis;
    genesis.protocol_version = ledger::protocol_version_newest;
    genesis.chain_id = "e2e-network";
    genesis.coalition_name = "E2E Network";
    genesis.genesis_time_ms = pc::node::SystemClock().now_ms();
    genesis.policy.point_expiry_days = 365;
    genesis.policy.transfers_allowed = true;
    for (std::size_t i = 1; i <= partners; ++i) {
      ledger::Partner partner;
      partner.id = static_cast<ledger::PartnerId>(i);
      partner.name = "Partner " + std::to_string(i);
      // Placeholders until each node's init has made its keys.
      partner.issuer_key = pc::test::TxFactory::partner_issuer(partner.id).public_key();
      partner.validator_key = pc::test::seeded_key("partner " + std::to_string(i) + " validator").public_key();
      partner.voting_power = 1;
      genesis.partners.push_back(partner);
    }
    genesis.policy.billing = ledger::no_charge_billing(genesis.partners, pc::test::TxFactory::billing_key().public_key());
    const std::filesystem::path genesis_path = dir_.path() / "genesis.json";
    const std::string node = binary_path("pointchain-node").string();
    members_.resize(partners);
    for (std::size_t i = 0; i < partners; ++i) {
      Member& member = members_[i];
      member.data_dir = dir_.path() / ("partner-" + std::to_string(i + 1));
      write(genesis_path, ledger::genesis_to_json(genesis));
      // The first init makes the keys and refuses a genesis without them.
      const RunResult first = run(init(member, genesis_path, i + 1), spawn());
      REQUIRE(first.status.exited_with(1));
      const RunResult keys = run({node, "keys", "--data", member.data_dir.string()}, spawn());
      REQUIRE(keys.status.exited_with(0));
      genesis.partners[i].validator_key = key_after(keys.out, "validator key");
      genesis.partners[i].issuer_key = key_after(keys.out, "issuer key");
    }
    write(genesis_path, ledger::genesis_to_json(genesis));
    for (std::size_t i = 0; i < partners; ++i) {
      const RunResult second = run(init(members_[i], genesis_path, i + 1), spawn());
      INFO(second.out);
      REQUIRE(second.status.exited_with(0));
      members_[i].bearer = "Bearer " + read_api_token(members_[i].data_dir);
      members_[i].rpc_port = distinct_port();
      members_[i].p2p_port = distinct_port();
    }
    genesis_ = genesis;
    for (std::size_t i = 0; i < partners; ++i) {
      nlohmann::json peers = nlohmann::json::array();
      for (std::size_t j = 0; j < partners; ++j) {
        if (j != i) peers.push_back({{"host", "127.0.0.1"}, {"port", members_[j].p2p_port}, {"partner", j + 1}});
      }
      set_node_config(members_[i].data_dir,
                      {{"rpc_address", "127.0.0.1"},
                       {"rpc_port", members_[i].rpc_port},
                       {"block_interval_ms", 100},
                       {"p2p", {{"listen_address", "127.0.0.1"}, {"listen_port", members_[i].p2p_port}, {"peers", peers}}}});
    }
  }
  ~Cluster() {
    for (Member& member : members_) {
      if (member.process) member.process->kill();
    }
  }

  void start_all() {
    for (Member& member : members_) {
      member.process = std::make_unique<Process>(
          std::vector<std::string>{binary_path("pointchain-node").string(), "run", "--data", member.data_dir.string()},
          spawn());
    }
    for (Member& member : members_) {
      if (!wait_for_rpc(member.rpc_port, 30s, member.process.get())) {
        FAIL("a node did not start: " << member.process->stdout_text());
      }
    }
  }

  Member& member(std::size_t partner) { return members_.at(partner - 1); }
  const ledger::Genesis& genesis() const { return genesis_; }

 private:
  std::vector<std::string> init(const Member& member, const std::filesystem::path& genesis_path, std::size_t partner) {
    return {binary_path("pointchain-node").string(), "init", "--data", member.data_dir.string(), "--genesis",
            genesis_path.string(), "--partner-id", std::to_string(partner)};
  }
  SpawnOptions spawn() const { return SpawnOptions{{{"POINTCHAIN_PASSPHRASE", std::string(passphrase)}}, dir_.path(), true, std::nullopt}; }
  static void write(const std::filesystem::path& path, const std::string& text) {
    std::ofstream file(path, std::ios::trunc);
    file << text;
    REQUIRE(file.good());
  }
  static crypto::PublicKey key_after(const std::string& text, const std::string& label) {
    const std::size_t at = text.find(label);
    REQUIRE(at != std::string::npos);
    std::istringstream rest(text.substr(at + label.size()));
    std::string hex;
    rest >> hex;
    auto key = fixed_from_hex<32>(hex);
    REQUIRE(key.has_value());
    return *key;
  }

  // A free loopback port not handed out before in this cluster.
  std::uint16_t distinct_port() {
    for (;;) {
      const std::uint16_t port = free_loopback_port();
      if (ports_.insert(port).second) return port;
    }
  }

  pc::test::TempDir dir_;
  std::set<std::uint16_t> ports_;
  ledger::Genesis genesis_;
  std::vector<Member> members_;
};

bool committed_everywhere(Cluster& cluster, const std::string& id) {
  for (std::size_t partner = 1; partner <= partners; ++partner) {
    const nlohmann::json answer = rpc_response(cluster.member(partner).rpc_port, "get_transaction", {{"id", id}});
    if (!answer.contains("result") || answer.at("result").at("status") != "committed") return false;
  }
  return true;
}

bool eventually(const std::function<bool()>& condition, Milliseconds timeout = 60s) {
  for (const Deadline deadline(timeout); !deadline.passed();) {
    if (condition()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return condition();
}

}  // namespace

TEST_CASE("four pointchain-node processes on loopback commit identical chains, and an earn at a non-proposer commits",
          "[e2e][network]") {
  // Proves the wiring of `run` with a "p2p" section: four processes with their own keys
  // connect (each sees three peers), an earn at a node that is not height 1's round-0
  // proposer is committed on all four, and after earns at every node each height holds the
  // same block id and state hash on every node; each stops cleanly on SIGTERM.
  Cluster cluster;
  cluster.start_all();
  REQUIRE(eventually([&] {
    for (std::size_t partner = 1; partner <= partners; ++partner) {
      if (cluster.member(partner).call("chain_info").at("consensus").at("peers") != partners - 1) return false;
    }
    return true;
  }));

  const ledger::PartnerId proposer = ledger::ProposerSchedule::for_height(cluster.genesis(), 1).proposer(0);
  const std::size_t other = proposer == 4 ? 3 : 4;
  std::vector<std::string> ids;
  const auto earn_at = [&](std::size_t partner, int n) {
    const std::string customer =
        crypto::encode_address(pc::test::seeded_key("e2e network customer " + std::to_string(n)).public_key());
    const Member& member = cluster.member(partner);
    const nlohmann::json earned = member.call(
        "earn",
        {{"customer", customer}, {"amount_minor", 1'000 + n}, {"currency", "EUR"}, {"order_id", "order-" + std::to_string(n)}},
        member.bearer);
    ids.push_back(earned.at("id").get<std::string>());
  };
  earn_at(other, 0);
  INFO("height 1's round-0 proposer is partner " << proposer << "; the first earn went to partner " << other);
  REQUIRE(eventually([&] { return committed_everywhere(cluster, ids.front()); }));

  for (std::size_t partner = 1; partner <= partners; ++partner) earn_at(partner, static_cast<int>(partner));
  REQUIRE(eventually([&] {
    for (const std::string& id : ids) {
      if (!committed_everywhere(cluster, id)) return false;
    }
    return true;
  }));

  std::uint64_t common = UINT64_MAX;
  for (std::size_t partner = 1; partner <= partners; ++partner) {
    common = std::min<std::uint64_t>(common, cluster.member(partner).call("chain_info").at("height").get<std::uint64_t>());
  }
  REQUIRE(common >= 1);
  for (std::uint64_t height = 1; height <= common; ++height) {
    const nlohmann::json first = cluster.member(1).call("get_block", {{"height", height}});
    for (std::size_t partner = 2; partner <= partners; ++partner) {
      const nlohmann::json block = cluster.member(partner).call("get_block", {{"height", height}});
      INFO("height " << height << ", partner " << partner);
      CHECK(block.at("hash") == first.at("hash"));
      CHECK(block.at("state_hash") == first.at("state_hash"));
    }
  }
  for (std::size_t partner = 1; partner <= partners; ++partner) {
    const ExitStatus stopped = cluster.member(partner).process->stop();
    INFO(cluster.member(partner).process->stdout_text());
    CHECK(stopped.exited_with(0));
  }
}
