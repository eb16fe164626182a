#include "tests/e2e_cluster.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <thread>

#include "crypto/address.hpp"
#include "node/clock.hpp"

namespace pc::test::e2e {
namespace {

constexpr char passphrase[] = "e2e network key passphrase";

void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream file(path, std::ios::trunc);
  file << text;
  REQUIRE(file.good());
}

crypto::PublicKey key_after(const std::string& text, const std::string& label) {
  const std::size_t at = text.find(label);
  INFO(text);
  REQUIRE(at != std::string::npos);
  std::istringstream rest(text.substr(at + label.size()));
  std::string hex;
  rest >> hex;
  auto key = fixed_from_hex<32>(hex);
  REQUIRE(key.has_value());
  return *key;
}

}  // namespace

Cluster::Cluster(const ClusterOptions& options) : genesis_path_(dir_.path() / "genesis.json") {
  ledger::Genesis genesis;
  genesis.protocol_version = ledger::protocol_version_newest;
  genesis.chain_id = "e2e-network";
  genesis.coalition_name = "E2E Network";
  genesis.genesis_time_ms = pc::node::SystemClock().now_ms();
  genesis.policy.point_expiry_days = 365;
  genesis.policy.transfers_allowed = true;
  for (std::size_t i = 1; i <= cluster_partners; ++i) {
    ledger::Partner partner;
    partner.id = static_cast<ledger::PartnerId>(i);
    partner.name = "Partner " + std::to_string(i);
    // Placeholders until each node's init has made its keys.
    partner.issuer_key = TxFactory::partner_issuer(partner.id).public_key();
    partner.validator_key = seeded_key("partner " + std::to_string(i) + " validator").public_key();
    partner.voting_power = 1;
    genesis.partners.push_back(partner);
  }
  genesis.policy.billing = ledger::no_charge_billing(genesis.partners, TxFactory::billing_key().public_key());
  const std::string node = binary_path("pointchain-node").string();
  members_.resize(cluster_partners + options.observers);
  for (std::size_t i = 0; i < members_.size(); ++i) {
    members_[i].data_dir = dir_.path() / (i < cluster_partners ? "partner-" + std::to_string(i + 1)
                                                               : "observer-" + std::to_string(i + 1 - cluster_partners));
    members_[i].observer = i >= cluster_partners;
  }
  write_file(genesis_path_, ledger::genesis_to_json(genesis));
  for (std::size_t i = 0; i < cluster_partners; ++i) {
    ClusterMember& member = members_[i];
    // The first init makes the keys and refuses a genesis without them.
    const RunResult first = run(init(member, i + 1), spawn());
    REQUIRE(first.status.exited_with(1));
    const RunResult keys = run({node, "keys", "--data", member.data_dir.string()}, spawn());
    REQUIRE(keys.status.exited_with(0));
    genesis.partners[i].validator_key = key_after(keys.out, "validator key");
    genesis.partners[i].issuer_key = key_after(keys.out, "issuer key");
    member.key = genesis.partners[i].validator_key;
  }
  write_file(genesis_path_, ledger::genesis_to_json(genesis));
  genesis_ = genesis;
  std::vector<crypto::PublicKey> listed = options.extra_observer_keys;
  for (std::size_t i = 0; i < members_.size(); ++i) {
    ClusterMember& member = members_[i];
    const RunResult made = run(init(member, i + 1), spawn());
    INFO(made.out);
    REQUIRE(made.status.exited_with(0));
    if (member.observer) {
      member.key = key_after(made.out, "observer key");
      if (i - cluster_partners < options.listed_observers) listed.push_back(member.key);
    } else {
      member.bearer = "Bearer " + read_api_token(member.data_dir);
    }
    member.rpc_port = distinct_port();
    member.p2p_port = distinct_port();
  }
  nlohmann::json observer_keys = nlohmann::json::array();
  for (const crypto::PublicKey& key : listed) observer_keys.push_back(to_hex(key));
  for (std::size_t i = 0; i < members_.size(); ++i) {
    ClusterMember& member = members_[i];
    nlohmann::json peers = nlohmann::json::array();
    for (std::size_t j = 0; j < cluster_partners; ++j) {
      if (j != i) peers.push_back({{"host", "127.0.0.1"}, {"port", members_[j].p2p_port}, {"partner", j + 1}});
    }
    nlohmann::json p2p = {{"listen_address", "127.0.0.1"}, {"listen_port", member.p2p_port}, {"peers", peers},
                          {"observer_keys", member.observer ? nlohmann::json::array() : observer_keys}};
    if (!options.p2p_limits.empty()) p2p["limits"] = options.p2p_limits;
    set_node_config(member.data_dir, {{"rpc_address", "127.0.0.1"},
                                      {"rpc_port", member.rpc_port},
                                      {"block_interval_ms", options.block_interval_ms},
                                      {"p2p", p2p}});
  }
}

Cluster::~Cluster() {
  for (ClusterMember& member : members_) {
    if (member.process) member.process->kill();
  }
}

std::vector<std::string> Cluster::init(const ClusterMember& member, std::size_t index) const {
  std::vector<std::string> args{binary_path("pointchain-node").string(), "init", "--data", member.data_dir.string(),
                                "--genesis", genesis_path_.string()};
  if (member.observer) {
    args.push_back("--observer");
  } else {
    args.insert(args.end(), {"--partner-id", std::to_string(index)});
  }
  return args;
}

SpawnOptions Cluster::spawn() const {
  return SpawnOptions{{{"POINTCHAIN_PASSPHRASE", std::string(passphrase)}}, dir_.path(), true, std::nullopt};
}

std::uint16_t Cluster::distinct_port() {
  for (;;) {
    const std::uint16_t port = free_loopback_port();
    if (ports_.insert(port).second) return port;
  }
}

void Cluster::start(std::size_t index) {
  ClusterMember& m = member(index);
  REQUIRE((!m.process || !m.process->running()));
  m.process = std::make_unique<Process>(
      std::vector<std::string>{binary_path("pointchain-node").string(), "run", "--data", m.data_dir.string()}, spawn());
  if (!wait_for_rpc(m.rpc_port, 30s, m.process.get())) FAIL("member " << index << " did not start: " << m.output());
}

void Cluster::start_partners() {
  for (std::size_t i = 1; i <= cluster_partners; ++i) {
    ClusterMember& m = member(i);
    m.process = std::make_unique<Process>(
        std::vector<std::string>{binary_path("pointchain-node").string(), "run", "--data", m.data_dir.string()},
        spawn());
  }
  for (std::size_t i = 1; i <= cluster_partners; ++i) {
    if (!wait_for_rpc(member(i).rpc_port, 30s, member(i).process.get())) {
      FAIL("partner " << i << " did not start: " << member(i).output());
    }
  }
}

void Cluster::kill(std::size_t index) { (void)member(index).process->kill(); }

bool Cluster::stop(std::size_t index) { return member(index).process->stop().exited_with(0); }

RunResult Cluster::audit(std::size_t index) const {
  return run({binary_path("pointchain-node").string(), "audit", "--data", members_.at(index - 1).data_dir.string()},
             SpawnOptions{{}, {}, true, std::nullopt});
}

std::string Cluster::earn_at(std::size_t partner, const std::string& order_id) {
  const ClusterMember& m = member(partner);
  const std::string customer =
      crypto::encode_address(seeded_key("e2e network customer " + std::to_string(++orders_)).public_key());
  const nlohmann::json earned = m.call(
      "earn", {{"customer", customer}, {"amount_minor", 1'000 + orders_}, {"currency", "EUR"}, {"order_id", order_id}},
      m.bearer);
  return earned.at("id").get<std::string>();
}

std::vector<std::string> Cluster::earn_batch_at(std::size_t partner, std::size_t count, const std::string& prefix) {
  const ClusterMember& m = member(partner);
  const std::string customer =
      crypto::encode_address(seeded_key("e2e network customer " + std::to_string(++orders_)).public_key());
  nlohmann::json purchases = nlohmann::json::array();
  for (std::size_t i = 0; i < count; ++i) {
    purchases.push_back({{"customer", customer},
                         {"amount_minor", 1'000 + i},
                         {"currency", "EUR"},
                         {"order_id", prefix + "-" + std::to_string(i)}});
  }
  const nlohmann::json results = m.call("earn_batch", {{"purchases", purchases}}, m.bearer).at("results");
  std::vector<std::string> ids;
  for (const nlohmann::json& result : results) {
    if (result.contains("id")) ids.push_back(result.at("id").get<std::string>());
  }
  return ids;
}

bool Cluster::committed_on(const std::vector<std::size_t>& indexes, const std::string& tx_id) {
  for (std::size_t index : indexes) {
    const nlohmann::json answer = rpc_response(member(index).rpc_port, "get_transaction", {{"id", tx_id}});
    if (!answer.contains("result") || answer.at("result").at("status") != "committed") return false;
  }
  return true;
}

std::uint64_t Cluster::check_identical_chains(const std::vector<std::size_t>& indexes) {
  std::uint64_t common = UINT64_MAX;
  for (std::size_t index : indexes) common = std::min(common, member(index).height());
  for (std::uint64_t height = 1; height <= common; ++height) {
    const nlohmann::json first = member(indexes.front()).call("get_block", {{"height", height}});
    for (std::size_t index : indexes) {
      const nlohmann::json block = member(index).call("get_block", {{"height", height}});
      INFO("height " << height << ", member " << index);
      CHECK(block.at("hash") == first.at("hash"));
      CHECK(block.at("state_hash") == first.at("state_hash"));
    }
  }
  return common;
}

bool eventually(const std::function<bool()>& condition, Milliseconds timeout) {
  for (const Deadline deadline(timeout); !deadline.passed();) {
    if (condition()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return condition();
}

}  // namespace pc::test::e2e
